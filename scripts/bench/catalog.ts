import * as matrix from './matrix';
import {
  appendMessages,
  nestedAgents,
  nestedAgentsByWorkers,
  oneAgent,
  recallOverMcp,
  type Shape,
  type ShapeContext,
  searchMemories,
} from './shapes';

// Every shape `npm run bench` knows, in the order it runs them: the ids `--shapes` takes and
// `--help` lists. The matrix of issue 22 (matrix.ts) and the shapes of issues 8 to 12 (shapes.ts).

export interface CatalogEntry {
  id: string;
  /** One line for --help: what is asked, and of whom besides AgentMem. */
  summary: string;
  build(context: ShapeContext): Shape;
}

export const CATALOG: readonly CatalogEntry[] = [
  {
    id: 'typename',
    summary: '{ __typename } with a key; PostGraphile; bare graphql-yoga (the peer)',
    build: matrix.typename,
  },
  { id: 'agent-name', summary: 'agent(id) { id name }', build: matrix.agentName },
  { id: 'agent-by-id', summary: 'agent(id) { blocks tools recentMessages(limit: 10) }', build: oneAgent },
  { id: 'agent-by-id-memories', summary: 'agent(id) nested + memories(first: 10)', build: matrix.agentWithMemories },
  {
    id: 'agent-messages',
    summary: 'agent(id) { messages(first: 50) { totalCount pageInfo nodes } }',
    build: matrix.agentMessages,
  },
  {
    id: 'messages-page',
    summary: 'messages(agentId, first: 50) { totalCount pageInfo nodes }',
    build: matrix.messagesPage,
  },
  {
    id: 'messages-content',
    summary: 'messages(agentId, first: 50) { id role content createdAt } (content: JSON)',
    build: matrix.messagesContent,
  },
  { id: 'messages-backwards', summary: 'messages(agentId, last: 20, before: cursor)', build: matrix.messagesBackwards },
  {
    id: 'agents-filtered',
    summary: 'agents(first: 50, filter: { agentType }, orderBy: UPDATED_AT DESC) with totalCount',
    build: matrix.agentsFiltered,
  },
  {
    id: 'memories-filtered',
    summary: 'memories(first: 50, filter: { userId, scope }, orderBy: IMPORTANCE DESC) with totalCount',
    build: matrix.memoriesFiltered,
  },
  {
    id: 'agents-config',
    summary: 'agents(first: 50) { id name llmConfig embeddingConfig } (JSON)',
    build: matrix.agentsConfig,
  },
  { id: 'agents-blocks', summary: 'agents(first: 50) { blocks } (m:n, agent to blocks)', build: matrix.agentsBlocks },
  {
    id: 'blocks-agents',
    summary: 'blocks(first: 50) { agents { id name } } (m:n, block to agents)',
    build: matrix.blocksAgents,
  },
  { id: 'agents-counts', summary: 'agents(first: 50) { id messageCount memoryCount }', build: matrix.agentsCounts },
  {
    id: 'agents-messages-user',
    summary: 'agents(first: 10) { messages(first: 10) { user { id name } } } (3 levels)',
    build: matrix.agentsMessagesUser,
  },
  {
    id: 'agents-blocks-agents',
    summary: 'agents(first: 50) { blocks { agents { id name } } } (3 levels)',
    build: matrix.agentsBlocksAgents,
  },
  {
    id: 'agents-50',
    summary: 'agents(first: 50) { blocks tools recentMessages(limit: 10) }; also a plain json_agg statement',
    build: (c) => nestedAgents(c, 50),
  },
  {
    id: 'agents-50-message-count',
    summary: 'agents-50 + messageCount on each agent',
    build: matrix.agentsWithMessageCount,
  },
  {
    id: 'agents-100',
    summary: 'agents(first: 100), as agents-50; also a plain json_agg statement',
    build: (c) => nestedAgents(c, 100),
  },
  {
    id: 'search',
    summary: 'searchMemories("project deadline", limit: 20); peer: a plain full-text statement',
    build: searchMemories,
  },
  {
    id: 'recall-mcp',
    summary: 'the MCP tool recall at /mcp; peer: the GraphQL document it runs, at /graphql (the same process)',
    build: recallOverMcp,
  },
  { id: 'append', summary: 'appendMessages of one message (AgentMem only)', build: appendMessages },
  {
    id: 'workers-agents-50',
    summary: 'agents-50 to start:cluster with 1 worker (peer) and 2 workers',
    build: (c) => nestedAgentsByWorkers(c, 50),
  },
];

export const SHAPE_IDS: readonly string[] = CATALOG.map((entry) => entry.id);

/** The shapes whose ids are `wanted` (all when empty), in the catalog's order. */
export function buildShapes(context: ShapeContext, wanted: readonly string[]): Shape[] {
  return CATALOG.filter((entry) => wanted.length === 0 || wanted.includes(entry.id)).map((entry) => {
    const shape = entry.build(context);
    if (shape.id !== entry.id) throw new Error(`catalog entry ${entry.id} builds the shape ${shape.id}`);
    return shape;
  });
}
