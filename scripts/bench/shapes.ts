import { z } from 'zod';
import { RECALL_QUERY } from '../../src/mcp/tools';
import type { DatasetFacts } from './dataset';

// The requests the benchmark times, as each server is asked for them, and how each server's answer
// is read back into one common form, so that the answers can be compared before anything is timed.

export type ServerId =
  | 'agentmem'
  | 'agentmem-1-worker'
  | 'agentmem-2-workers'
  | 'postgraphile'
  | 'json-agg'
  | 'full-text'
  | 'yoga'
  | 'agentmem-mcp';

export const SERVER_NAMES: Record<ServerId, string> = {
  agentmem: 'AgentMem',
  'agentmem-1-worker': 'AgentMem, start:cluster, 1 worker',
  'agentmem-2-workers': 'AgentMem, start:cluster, 2 workers',
  postgraphile: 'PostGraphile',
  'json-agg': 'plain json_agg statement',
  'full-text': 'plain full-text statement',
  yoga: 'bare graphql-yoga',
  'agentmem-mcp': 'AgentMem over MCP (/mcp)',
};

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** One server's part in a shape: what it is sent, and its answer in the common form. */
export interface Participant {
  server: ServerId;
  /** Called for every request: appends send a different message each time. */
  request(): HttpRequest;
  /** The answer in the common form; throws when it is not the expected shape (an error, say). */
  read(body: unknown): unknown;
  /**
   * Called once before the answers are compared (verifyShapes), with a way to ask this
   * participant's server: for requests that need something only the server knows, a cursor say.
   */
  prepare?(ask: (request: HttpRequest) => Promise<unknown>): Promise<void>;
}

export interface Shape {
  id: string;
  title: string;
  participants: Participant[];
  /** Whose req/s the others are divided by in the table; none: no peer to compare with. */
  peer?: ServerId;
  /** Whether the participants' answers must be identical (in the common form) before timing. */
  compared: boolean;
  /** How many rows (agents, hits) a right answer has. */
  expectedRows: number;
  /** The rows of an answer in the common form; default: its length if a list, else 1. */
  rowsOf?(answer: unknown): number;
}

// ---- the common forms --------------------------------------------------------------------------

export const iso = (value: string) => new Date(value).toISOString();

export const commonAgent = z.object({
  id: z.string(),
  name: z.string().nullable(),
  blocks: z.array(z.object({ id: z.string(), label: z.string(), value: z.string() })),
  tools: z.array(z.object({ id: z.string(), name: z.string() })),
  recentMessages: z.array(
    z.object({ id: z.string(), role: z.string(), text: z.string().nullable(), createdAt: z.string() }),
  ),
});
export type CommonAgent = z.infer<typeof commonAgent>;

/** Roles are enums in AgentMem (USER), text elsewhere (user); instants compared as instants. */
export function normalized(agent: CommonAgent): CommonAgent {
  return {
    ...agent,
    recentMessages: agent.recentMessages.map((message) => ({
      ...message,
      role: message.role.toLowerCase(),
      createdAt: iso(message.createdAt),
    })),
  };
}

const graphqlErrors = z.array(z.object({ message: z.string() }).loose()).optional();

/** `data` of a GraphQL answer, or an error naming the first GraphQL error. */
export function dataOf<T extends z.ZodType>(body: unknown, data: T): z.infer<T> {
  const answer = z.object({ data: data.nullish(), errors: graphqlErrors }).parse(body);
  if (answer.errors?.length) throw new Error(`GraphQL error: ${answer.errors[0]!.message}`);
  if (answer.data == null) throw new Error('no data in the answer');
  return answer.data;
}

// ---- AgentMem ----------------------------------------------------------------------------------

export const AGENT_SELECTION =
  'id name blocks { id label value } tools { id name } recentMessages(limit: 10) { id role text createdAt }';

export function graphqlRequest(
  key: string | undefined,
  query: string,
  variables: Record<string, unknown>,
): HttpRequest {
  return {
    method: 'POST',
    path: '/graphql',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(key && { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ query, variables }),
  };
}

// ---- PostGraphile ------------------------------------------------------------------------------

// The same selection over the schema document's tables as PostGraphile v5 (Amber preset) exposes
// them: columns named `id` become `rowId`; blocks and tools are reached through the junction
// tables; the 10 most recent live messages are `last: 10` in conversation order.
export const POSTGRAPHILE_AGENT_FRAGMENT = `fragment AgentWithRelations on Agent {
  rowId name
  blocksAgentsByAgentId(orderBy: [BLOCK_LABEL_ASC, BLOCK_ID_ASC]) { nodes { blockByBlockIdAndBlockLabel {
    rowId label value } } }
  toolsAgentsByAgentId(orderBy: TOOL_ID_ASC) { nodes { toolByToolId { rowId name } } }
  messagesByAgentId(last: 10, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: { isDeleted: false }) { nodes {
    rowId role text createdAt } }
}`;

export const postgraphileAgent = z.object({
  rowId: z.string(),
  name: z.string().nullable(),
  blocksAgentsByAgentId: z.object({
    nodes: z.array(
      z.object({ blockByBlockIdAndBlockLabel: z.object({ rowId: z.string(), label: z.string(), value: z.string() }) }),
    ),
  }),
  toolsAgentsByAgentId: z.object({
    nodes: z.array(z.object({ toolByToolId: z.object({ rowId: z.string(), name: z.string() }) })),
  }),
  messagesByAgentId: z.object({
    nodes: z.array(
      z.object({ rowId: z.string(), role: z.string(), text: z.string().nullable(), createdAt: z.string() }),
    ),
  }),
});

export function fromPostGraphile(agent: z.infer<typeof postgraphileAgent>): CommonAgent {
  return normalized({
    id: agent.rowId,
    name: agent.name,
    blocks: agent.blocksAgentsByAgentId.nodes.map(({ blockByBlockIdAndBlockLabel: block }) => ({
      id: block.rowId,
      label: block.label,
      value: block.value,
    })),
    tools: agent.toolsAgentsByAgentId.nodes.map(({ toolByToolId: tool }) => ({ id: tool.rowId, name: tool.name })),
    recentMessages: agent.messagesByAgentId.nodes.map((message) => ({
      id: message.rowId,
      role: message.role,
      text: message.text,
      createdAt: message.createdAt,
    })),
  });
}

// ---- search ------------------------------------------------------------------------------------

export const SEARCH_QUERY = 'project deadline';
export const SEARCH_LIMIT = 20;

const searchHits = z.array(z.object({ score: z.number(), memory: z.object({ id: z.string(), content: z.string() }) }));

/**
 * The score's recency part is computed at each statement's now(): two servers asked a moment
 * apart differ in its last digits (about 1e-11 a second with this dataset), so scores are
 * compared to 1e-6.
 */
function readSearchHits(body: unknown): unknown {
  return dataOf(body, z.object({ searchMemories: searchHits })).searchMemories.map((hit) => ({
    ...hit,
    score: Math.round(hit.score * 1e6) / 1e6,
  }));
}

// ---- the shapes --------------------------------------------------------------------------------

export interface ShapeContext {
  facts: DatasetFacts;
  agentmemKey: string;
  agentmemAppendKey: string;
}

export function nestedAgents(context: ShapeContext, first: number): Shape {
  const agentmem = graphqlRequest(
    context.agentmemKey,
    `query NestedAgents($first: Int!) { agents(first: $first) { nodes { ${AGENT_SELECTION} } } }`,
    { first },
  );
  const postgraphile = graphqlRequest(
    undefined,
    `query NestedAgents($first: Int!, $organizationId: String!) {
  allAgents(first: $first, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: {
    organizationId: $organizationId, isDeleted: false }) {
    nodes { ...AgentWithRelations }
  }
}
${POSTGRAPHILE_AGENT_FRAGMENT}`,
    { first, organizationId: context.facts.organizationId },
  );
  const reference: HttpRequest = { method: 'GET', path: `/agents?first=${first}`, headers: {} };
  const agents = z.object({ agents: z.object({ nodes: z.array(commonAgent) }) });
  return {
    id: `agents-${first}`,
    title: `agents(first: ${first}) nested`,
    peer: 'postgraphile',
    compared: true,
    expectedRows: first,
    participants: [
      {
        server: 'agentmem',
        request: () => agentmem,
        read: (body) => dataOf(body, agents).agents.nodes.map(normalized),
      },
      {
        server: 'postgraphile',
        request: () => postgraphile,
        read: (body) =>
          dataOf(body, z.object({ allAgents: z.object({ nodes: z.array(postgraphileAgent) }) })).allAgents.nodes.map(
            fromPostGraphile,
          ),
      },
      {
        server: 'json-agg',
        request: () => reference,
        read: (body) => dataOf(body, agents).agents.nodes.map(normalized),
      },
    ],
  };
}

/**
 * The nested request of `nestedAgents`, to `npm run start:cluster` with WORKERS=1 and WORKERS=2:
 * what a second process per core buys (issue 12). The 1-worker cluster is the peer.
 */
export function nestedAgentsByWorkers(context: ShapeContext, first: number): Shape {
  const request = graphqlRequest(
    context.agentmemKey,
    `query NestedAgents($first: Int!) { agents(first: $first) { nodes { ${AGENT_SELECTION} } } }`,
    { first },
  );
  const agents = z.object({ agents: z.object({ nodes: z.array(commonAgent) }) });
  const read = (body: unknown) => dataOf(body, agents).agents.nodes.map(normalized);
  return {
    id: `workers-agents-${first}`,
    title: `agents(first: ${first}) nested, by workers`,
    peer: 'agentmem-1-worker',
    compared: true,
    expectedRows: first,
    participants: [
      { server: 'agentmem-1-worker', request: () => request, read },
      { server: 'agentmem-2-workers', request: () => request, read },
    ],
  };
}

export function oneAgent(context: ShapeContext): Shape {
  const id = context.facts.agentId;
  const agentmem = graphqlRequest(
    context.agentmemKey,
    `query OneAgent($id: ID!) { agent(id: $id) { ${AGENT_SELECTION} } }`,
    { id },
  );
  const postgraphile = graphqlRequest(
    undefined,
    `query OneAgent($id: String!) { agentByRowId(rowId: $id) {
    ...AgentWithRelations } }\n${POSTGRAPHILE_AGENT_FRAGMENT}`,
    {
      id,
    },
  );
  return {
    id: 'agent-by-id',
    title: 'agent(id) nested',
    peer: 'postgraphile',
    compared: true,
    expectedRows: 1,
    participants: [
      {
        server: 'agentmem',
        request: () => agentmem,
        read: (body) => [normalized(dataOf(body, z.object({ agent: commonAgent })).agent)],
      },
      {
        server: 'postgraphile',
        request: () => postgraphile,
        read: (body) => [fromPostGraphile(dataOf(body, z.object({ agentByRowId: postgraphileAgent })).agentByRowId)],
      },
    ],
  };
}

export function searchMemories(context: ShapeContext): Shape {
  const agentmem = graphqlRequest(
    context.agentmemKey,
    // Not counted as accesses: counting would change the scores from request to request.
    `query Search($query: String!, $limit: Int!) { searchMemories(query: $query, limit: $limit, track: false) {
      score memory { id content } } }`,
    { query: SEARCH_QUERY, limit: SEARCH_LIMIT },
  );
  const reference: HttpRequest = {
    method: 'GET',
    path: `/search?query=${encodeURIComponent(SEARCH_QUERY)}&limit=${SEARCH_LIMIT}`,
    headers: {},
  };
  return {
    id: 'search',
    title: `searchMemories("${SEARCH_QUERY}", ${SEARCH_LIMIT})`,
    peer: 'full-text',
    compared: true,
    expectedRows: SEARCH_LIMIT,
    participants: [
      { server: 'agentmem', request: () => agentmem, read: readSearchHits },
      { server: 'full-text', request: () => reference, read: readSearchHits },
    ],
  };
}

const mcpHits = z.object({
  result: z.object({
    isError: z.boolean().optional(),
    structuredContent: z.object({ hits: searchHits }),
  }),
});

/**
 * The MCP tool recall beside the GraphQL document it runs (RECALL_QUERY, the same variables), on
 * the same server: what MCP adds (the JSON-RPC request, answered by /mcp itself for a plain
 * tools/call like this one, the argument checks, the in-process GraphQL request, the result's JSON
 * twice) over GraphQL alone.
 */
export function recallOverMcp(context: ShapeContext): Shape {
  const variables = {
    agentId: '',
    withAgent: false,
    query: SEARCH_QUERY,
    filter: {},
    limit: SEARCH_LIMIT,
    track: false,
  };
  const graphql = graphqlRequest(context.agentmemKey, RECALL_QUERY, variables);
  const mcp: HttpRequest = {
    method: 'POST',
    path: '/mcp',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${context.agentmemKey}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'recall', arguments: { query: SEARCH_QUERY, limit: SEARCH_LIMIT, track: false } },
    }),
  };
  const rounded = (hits: z.infer<typeof searchHits>) =>
    hits.map((hit) => ({
      score: Math.round(hit.score * 1e6) / 1e6,
      memory: { id: hit.memory.id, content: hit.memory.content },
    }));
  return {
    id: 'recall-mcp',
    title: `recall over MCP beside its searchMemories over GraphQL ("${SEARCH_QUERY}", ${SEARCH_LIMIT})`,
    peer: 'agentmem',
    compared: true,
    expectedRows: SEARCH_LIMIT,
    participants: [
      {
        server: 'agentmem',
        request: () => graphql,
        read: (body) => rounded(dataOf(body, z.object({ searchMemories: searchHits })).searchMemories),
      },
      {
        server: 'agentmem-mcp',
        request: () => mcp,
        read: (body) => {
          const { result } = mcpHits.parse(body);
          if (result.isError) throw new Error(`recall failed: ${JSON.stringify(body)}`);
          return rounded(result.structuredContent.hits);
        },
      },
    ],
  };
}

/** One message per request, to organization 2's agents in turn (organization 1's rows stay as they are). */
export function appendMessages(context: ShapeContext): Shape {
  const agents = context.facts.otherAgentIds;
  let sent = 0;
  const query = `mutation Append($agentId: ID!, $messages: [MessageInput!]!) {
  appendMessages(agentId: $agentId, messages: $messages) {
    __typename
    ... on MessagesPayload { messages { id } }
    ... on Error { code message }
  }
}`;
  const appended = z.object({
    appendMessages: z.object({
      __typename: z.string(),
      messages: z.array(z.object({ id: z.string() })).optional(),
      message: z.string().optional(),
    }),
  });
  return {
    id: 'append',
    title: 'appendMessages (1 message)',
    compared: false,
    expectedRows: 1,
    participants: [
      {
        server: 'agentmem',
        request: () => {
          sent += 1;
          return graphqlRequest(context.agentmemAppendKey, query, {
            agentId: agents[sent % agents.length],
            messages: [
              { role: 'USER', text: `Benchmark message ${sent}: please move the review to Thursday afternoon.` },
            ],
          });
        },
        read: (body) => {
          const result = dataOf(body, appended).appendMessages;
          if (result.__typename !== 'MessagesPayload' || result.messages?.length !== 1) {
            throw new Error(
              `appendMessages answered ${result.__typename}${result.message ? `: ${result.message}` : ''}`,
            );
          }
          return result.messages;
        },
      },
    ],
  };
}
