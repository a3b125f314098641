import { z } from 'zod';
import {
  AGENT_SELECTION,
  commonAgent,
  dataOf,
  fromPostGraphile,
  graphqlRequest,
  type HttpRequest,
  iso,
  normalized,
  type Participant,
  POSTGRAPHILE_AGENT_FRAGMENT,
  postgraphileAgent,
  type Shape,
  type ShapeContext,
} from './shapes';

// The matrix of request shapes (issue 22): each kind of field of each entity, asked of AgentMem
// and, for the same rows, of PostGraphile v5 (Amber preset), both answers read into one common
// form. AgentMem's orders are matched on PostGraphile's side: agents by (created_at, id), a
// conversation oldest first by (created_at, seq), which is (created_at, id) in this dataset (the
// messages of an agent are 37 s apart), an agent's blocks by (label, id), its tools by id,
// an agent's memories newest first by (created_at, id), a block's agents by id, the root blocks by
// (created_at, id). PostGraphile has no tenancy: its requests carry the organization and
// `isDeleted: false` as conditions where AgentMem's key and its `live` filters do the same.
//
// What PostGraphile cannot express is said where it happens: a condition on a related row (the
// agent of a block or of a memory), and `hasNextPage` when paging backwards (see each shape).

// ---- common forms ------------------------------------------------------------------------------

const message = z.object({ id: z.string(), role: z.string(), text: z.string().nullable(), createdAt: z.string() });
const pgMessage = z.object({ rowId: z.string(), role: z.string(), text: z.string().nullable(), createdAt: z.string() });
type CommonMessage = z.infer<typeof message>;

/** Roles are an enum in AgentMem (USER), text in PostGraphile (user); instants as instants. */
const commonMessage = (m: CommonMessage) => ({
  id: m.id,
  role: m.role.toLowerCase(),
  text: m.text,
  createdAt: iso(m.createdAt),
});
const commonPgMessage = (m: z.infer<typeof pgMessage>) =>
  commonMessage({ id: m.rowId, role: m.role, text: m.text, createdAt: m.createdAt });

const memory = z.object({
  id: z.string(),
  content: z.string(),
  importance: z.number(),
  memoryType: z.string(),
  scope: z.string(),
  createdAt: z.string(),
});
const pgMemory = z.object({
  rowId: z.string(),
  content: z.string(),
  importance: z.number(),
  memoryType: z.string(),
  scope: z.string(),
  createdAt: z.string(),
});
type CommonMemory = z.infer<typeof memory>;

/** Memory types are an enum in AgentMem (FACTUAL), text in PostGraphile (factual). */
const commonMemory = (m: CommonMemory) => ({
  ...m,
  memoryType: m.memoryType.toLowerCase(),
  createdAt: iso(m.createdAt),
});
const commonPgMemory = ({ rowId, ...m }: z.infer<typeof pgMemory>) => commonMemory({ id: rowId, ...m });

const MESSAGE_FIELDS = 'id role text createdAt';
const PG_MESSAGE_FIELDS = 'rowId role text createdAt';
const MEMORY_FIELDS = 'id content importance memoryType scope createdAt';
const PG_MEMORY_FIELDS = 'rowId content importance memoryType scope createdAt';

/** Cursors are each server's own: only the booleans are compared. */
const pageInfo = z.object({ hasNextPage: z.boolean(), hasPreviousPage: z.boolean() });
const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage }';

/** A conversation ordered as AgentMem orders it, live messages only (PostGraphile's arguments). */
const PG_CONVERSATION = 'orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: { isDeleted: false }';
/** AgentMem's organization agents: oldest first, live, of the key's organization. */
const PG_AGENTS =
  'orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: { organizationId: $organizationId, isDeleted: false }';

// ---- building a shape --------------------------------------------------------------------------

interface Side {
  query: string;
  variables: Record<string, unknown>;
  /** The `data` of the answer read into the common form (zod checks the shape on the way). */
  read(body: unknown): unknown;
  prepare?: Participant['prepare'];
}

/** A shape of two participants, AgentMem and PostGraphile (the peer), compared. */
function versus(
  context: ShapeContext,
  shape: { id: string; title: string; expectedRows: number; rowsOf?: Shape['rowsOf'] },
  agentmem: Side,
  postgraphile: Side,
): Shape {
  const agentmemRequest = graphqlRequest(context.agentmemKey, agentmem.query, agentmem.variables);
  const postgraphileRequest = graphqlRequest(undefined, postgraphile.query, postgraphile.variables);
  return {
    ...shape,
    peer: 'postgraphile',
    compared: true,
    participants: [
      { server: 'agentmem', request: () => agentmemRequest, read: agentmem.read },
      { server: 'postgraphile', request: () => postgraphileRequest, read: postgraphile.read },
    ],
  };
}

/** Rows of a connection in the common form: its nodes. */
const nodesOf = (answer: unknown) => (answer as { nodes: unknown[] }).nodes.length;

// ---- by id -------------------------------------------------------------------------------------

/** The smallest read of a row: `agent(id) { id name }`. */
export function agentName(context: ShapeContext): Shape {
  const id = context.facts.agentId;
  const common = z.object({ id: z.string(), name: z.string().nullable() });
  return versus(
    context,
    { id: 'agent-name', title: 'agent(id) { id name }', expectedRows: 1 },
    {
      query: 'query AgentName($id: ID!) { agent(id: $id) { id name } }',
      variables: { id },
      read: (body) => dataOf(body, z.object({ agent: common })).agent,
    },
    {
      query: 'query AgentName($id: String!) { agentByRowId(rowId: $id) { rowId name } }',
      variables: { id },
      read: (body) => {
        const agent = dataOf(
          body,
          z.object({ agentByRowId: z.object({ rowId: z.string(), name: z.string().nullable() }) }),
        ).agentByRowId;
        return { id: agent.rowId, name: agent.name };
      },
    },
  );
}

/** `agent(id)` with blocks, tools, recent messages and its 10 newest memories. */
export function agentWithMemories(context: ShapeContext): Shape {
  const id = context.facts.agentId;
  const memories = z.object({ memories: z.object({ nodes: z.array(memory) }) });
  const pgMemories = z.object({ memoriesByAgentId: z.object({ nodes: z.array(pgMemory) }) });
  return versus(
    context,
    { id: 'agent-by-id-memories', title: 'agent(id) nested + memories(first: 10)', expectedRows: 1 },
    {
      query: `query AgentWithMemories($id: ID!) { agent(id: $id) { ${AGENT_SELECTION} memories(first: 10) { nodes {
        ${MEMORY_FIELDS} } } } }`,
      variables: { id },
      read: (body) => {
        const agent = dataOf(body, z.object({ agent: commonAgent.extend(memories.shape) })).agent;
        const { memories: page, ...rest } = agent;
        return { ...normalized(rest), memories: page.nodes.map(commonMemory) };
      },
    },
    {
      // AgentMem's Agent.memories: live, newest first, the id breaking ties.
      query: `query AgentWithMemories($id: String!) {
  agentByRowId(rowId: $id) {
    ...AgentWithRelations
    memoriesByAgentId(first: 10, orderBy: [CREATED_AT_DESC, ROW_ID_DESC], condition: { isDeleted: false }) { nodes {
      ${PG_MEMORY_FIELDS} } }
  }
}
${POSTGRAPHILE_AGENT_FRAGMENT}`,
      variables: { id },
      read: (body) => {
        const agent = dataOf(body, z.object({ agentByRowId: postgraphileAgent.extend(pgMemories.shape) })).agentByRowId;
        return { ...fromPostGraphile(agent), memories: agent.memoriesByAgentId.nodes.map(commonPgMemory) };
      },
    },
  );
}

// ---- root lists with a filter and an order -----------------------------------------------------

/** `agents` filtered and ordered otherwise than by default: most recently updated first. */
export function agentsFiltered(context: ShapeContext): Shape {
  const agentType = 'memgpt_agent';
  const row = z.object({ id: z.string(), name: z.string().nullable(), updatedAt: z.string() });
  const pgRow = z.object({ rowId: z.string(), name: z.string().nullable(), updatedAt: z.string() });
  const connection = <T extends z.ZodType>(node: T) => z.object({ totalCount: z.number(), nodes: z.array(node) });
  return versus(
    context,
    {
      id: 'agents-filtered',
      title: 'agents(first: 50, filter, orderBy: UPDATED_AT DESC)',
      expectedRows: 50,
      rowsOf: nodesOf,
    },
    {
      query: `query AgentsFiltered($agentType: String!) {
  agents(first: 50, filter: { agentType: $agentType }, orderBy: { field: UPDATED_AT, direction: DESC }) {
    totalCount nodes { id name updatedAt } }
}`,
      variables: { agentType },
      read: (body) => {
        const page = dataOf(body, z.object({ agents: connection(row) })).agents;
        return {
          totalCount: page.totalCount,
          nodes: page.nodes.map((agent) => ({ ...agent, updatedAt: iso(agent.updatedAt) })),
        };
      },
    },
    {
      // AgentMem breaks ties by id in the order's direction.
      query: `query AgentsFiltered($organizationId: String!, $agentType: String!) {
  allAgents(first: 50, orderBy: [UPDATED_AT_DESC, ROW_ID_DESC], condition: {
    organizationId: $organizationId, agentType: $agentType, isDeleted: false }) {
    totalCount nodes { rowId name updatedAt }
  }
}`,
      variables: { organizationId: context.facts.organizationId, agentType },
      read: (body) => {
        const page = dataOf(body, z.object({ allAgents: connection(pgRow) })).allAgents;
        return {
          totalCount: page.totalCount,
          nodes: page.nodes.map((agent) => ({ id: agent.rowId, name: agent.name, updatedAt: iso(agent.updatedAt) })),
        };
      },
    },
  );
}

/**
 * `memories` filtered by user and scope, the most important first. AgentMem lists only the
 * memories of live agents, a condition on the agent that PostGraphile cannot express: the user
 * is one with no deleted agent (DatasetFacts.memoryUserId), so both select the same rows.
 */
export function memoriesFiltered(context: ShapeContext): Shape {
  const scope = 'user';
  const userId = context.facts.memoryUserId;
  const connection = <T extends z.ZodType>(node: T) => z.object({ totalCount: z.number(), nodes: z.array(node) });
  return versus(
    context,
    {
      id: 'memories-filtered',
      title: 'memories(first: 50, filter, orderBy: IMPORTANCE DESC)',
      expectedRows: 50,
      rowsOf: nodesOf,
    },
    {
      // Not counted as reads (track: false): counting would write on every request.
      query: `query MemoriesFiltered($userId: ID!, $scope: String!) {
  memories(first: 50, filter: { userId: $userId, scope: $scope }, orderBy: {
    field: IMPORTANCE, direction: DESC }, track: false) {
    totalCount nodes { ${MEMORY_FIELDS} }
  }
}`,
      variables: { userId, scope },
      read: (body) => {
        const page = dataOf(body, z.object({ memories: connection(memory) })).memories;
        return { totalCount: page.totalCount, nodes: page.nodes.map(commonMemory) };
      },
    },
    {
      query: `query MemoriesFiltered($organizationId: String!, $userId: String!, $scope: String!) {
  allMemories(first: 50, orderBy: [IMPORTANCE_DESC, ROW_ID_DESC], condition: {
    organizationId: $organizationId, userId: $userId, scope: $scope, isDeleted: false }) {
    totalCount nodes { ${PG_MEMORY_FIELDS} }
  }
}`,
      variables: { organizationId: context.facts.organizationId, userId, scope },
      read: (body) => {
        const page = dataOf(body, z.object({ allMemories: connection(pgMemory) })).allMemories;
        return { totalCount: page.totalCount, nodes: page.nodes.map(commonPgMemory) };
      },
    },
  );
}

// ---- connections: totalCount, pageInfo, backwards ----------------------------------------------

const messagePage = z.object({ totalCount: z.number(), pageInfo, nodes: z.array(message) });
const pgMessagePage = z.object({ totalCount: z.number(), pageInfo, nodes: z.array(pgMessage) });
const commonPage = (page: z.infer<typeof messagePage>) => ({
  totalCount: page.totalCount,
  pageInfo: page.pageInfo,
  nodes: page.nodes.map(commonMessage),
});
const commonPgPage = (page: z.infer<typeof pgMessagePage>) => ({
  totalCount: page.totalCount,
  pageInfo: page.pageInfo,
  nodes: page.nodes.map(commonPgMessage),
});

/** A relation connection: an agent's first 50 messages with totalCount and pageInfo. */
export function agentMessages(context: ShapeContext): Shape {
  const id = context.facts.agentId;
  return versus(
    context,
    {
      id: 'agent-messages',
      title: 'agent(id) { messages(first: 50) } with totalCount, pageInfo',
      expectedRows: 50,
      rowsOf: nodesOf,
    },
    {
      query: `query AgentMessages($id: ID!) { agent(id: $id) { messages(first: 50) { totalCount ${PAGE_INFO} nodes {
        ${MESSAGE_FIELDS} } } } }`,
      variables: { id },
      read: (body) => commonPage(dataOf(body, z.object({ agent: z.object({ messages: messagePage }) })).agent.messages),
    },
    {
      query: `query AgentMessages($id: String!) {
  agentByRowId(rowId: $id) { messagesByAgentId(first: 50, ${PG_CONVERSATION}) { totalCount ${PAGE_INFO} nodes {
    ${PG_MESSAGE_FIELDS} } } }
}`,
      variables: { id },
      read: (body) =>
        commonPgPage(
          dataOf(body, z.object({ agentByRowId: z.object({ messagesByAgentId: pgMessagePage }) })).agentByRowId
            .messagesByAgentId,
        ),
    },
  );
}

/** The root conversation connection: `messages(agentId, first: 50)` with totalCount and pageInfo. */
export function messagesPage(context: ShapeContext): Shape {
  const agentId = context.facts.agentId;
  return versus(
    context,
    {
      id: 'messages-page',
      title: 'messages(agentId, first: 50) with totalCount, pageInfo',
      expectedRows: 50,
      rowsOf: nodesOf,
    },
    {
      query: `query MessagesPage($agentId: ID!) { messages(agentId: $agentId, first: 50) {
        totalCount ${PAGE_INFO} nodes { ${MESSAGE_FIELDS} } } }`,
      variables: { agentId },
      read: (body) => commonPage(dataOf(body, z.object({ messages: messagePage })).messages),
    },
    {
      query: `query MessagesPage($agentId: String!) {
  allMessages(first: 50, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: { agentId: $agentId, isDeleted: false }) {
    totalCount ${PAGE_INFO} nodes { ${PG_MESSAGE_FIELDS} } }
}`,
      variables: { agentId },
      read: (body) => commonPgPage(dataOf(body, z.object({ allMessages: pgMessagePage })).allMessages),
    },
  );
}

/**
 * A chat screen's page: the conversation's messages with their `content` parts, a JSON column, as
 * a client renders them (not the plain `text` the other message shapes read).
 */
export function messagesContent(context: ShapeContext): Shape {
  const agentId = context.facts.agentId;
  const row = z.object({ id: z.string(), role: z.string(), content: z.unknown(), createdAt: z.string() });
  const pgRow = z.object({ rowId: z.string(), role: z.string(), content: z.unknown(), createdAt: z.string() });
  const common = (m: z.infer<typeof row>) => ({ ...m, role: m.role.toLowerCase(), createdAt: iso(m.createdAt) });
  return versus(
    context,
    { id: 'messages-content', title: 'messages(agentId, first: 50) { content } (JSON)', expectedRows: 50 },
    {
      query: `query MessagesContent($agentId: ID!) { messages(agentId: $agentId, first: 50) {
        nodes { id role content createdAt } } }`,
      variables: { agentId },
      read: (body) =>
        dataOf(body, z.object({ messages: z.object({ nodes: z.array(row) }) })).messages.nodes.map(common),
    },
    {
      query: `query MessagesContent($agentId: String!) {
  allMessages(first: 50, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: { agentId: $agentId, isDeleted: false }) {
    nodes { rowId role content createdAt } }
}`,
      variables: { agentId },
      read: (body) =>
        dataOf(body, z.object({ allMessages: z.object({ nodes: z.array(pgRow) }) })).allMessages.nodes.map(
          ({ rowId, ...m }) => common({ id: rowId, ...m }),
        ),
    },
  );
}

/** Agents with their configuration, two JSON columns: `agents(first: 50) { llmConfig embeddingConfig }`. */
export function agentsConfig(context: ShapeContext): Shape {
  const row = z.object({
    id: z.string(),
    name: z.string().nullable(),
    llmConfig: z.unknown(),
    embeddingConfig: z.unknown(),
  });
  const pgRow = z.object({
    rowId: z.string(),
    name: z.string().nullable(),
    llmConfig: z.unknown(),
    embeddingConfig: z.unknown(),
  });
  return versus(
    context,
    { id: 'agents-config', title: 'agents(first: 50) { llmConfig embeddingConfig } (JSON)', expectedRows: 50 },
    {
      query: 'query AgentsConfig { agents(first: 50) { nodes { id name llmConfig embeddingConfig } } }',
      variables: {},
      read: (body) => dataOf(body, z.object({ agents: z.object({ nodes: z.array(row) }) })).agents.nodes,
    },
    {
      query: `query AgentsConfig($organizationId: String!) {
  allAgents(first: 50, ${PG_AGENTS}) { nodes { rowId name llmConfig embeddingConfig } }
}`,
      variables: { organizationId: context.facts.organizationId },
      read: (body) =>
        dataOf(body, z.object({ allAgents: z.object({ nodes: z.array(pgRow) }) })).allAgents.nodes.map(
          ({ rowId, ...agent }) => ({ id: rowId, ...agent }),
        ),
    },
  );
}

/**
 * Backwards pagination: the 20 messages before the last 50 (`last: 20, before:` the first cursor
 * of `last: 50`). Cursors are each server's own, so each participant asks its server for its
 * cursor once, before the answers are compared. Paging backwards, the Relay specification leaves
 * `hasNextPage` to the server (AgentMem says true, PostGraphile false): only `hasPreviousPage`
 * is compared.
 */
export function messagesBackwards(context: ShapeContext): Shape {
  const agentId = context.facts.agentId;
  const backPage = z.object({
    totalCount: z.number(),
    pageInfo: z.object({ hasPreviousPage: z.boolean() }),
    nodes: z.array(message),
  });
  const pgBackPage = z.object({
    totalCount: z.number(),
    pageInfo: z.object({ hasPreviousPage: z.boolean() }),
    nodes: z.array(pgMessage),
  });
  const startCursor = z.object({ pageInfo: z.object({ startCursor: z.string() }) });

  /** A participant whose request is made once its server has given the cursor. */
  const withCursor = (
    server: 'agentmem' | 'postgraphile',
    anchor: HttpRequest,
    cursorOf: (body: unknown) => string,
    requestFor: (cursor: string) => HttpRequest,
    read: (body: unknown) => unknown,
  ): Participant => {
    let request: HttpRequest | undefined;
    return {
      server,
      prepare: async (ask) => {
        request = requestFor(cursorOf(await ask(anchor)));
      },
      request: () => {
        if (!request) throw new Error('messages-backwards: the cursor was not asked for (prepare)');
        return request;
      },
      read,
    };
  };
  const key = context.agentmemKey;
  return {
    id: 'messages-backwards',
    title: 'messages(agentId, last: 20, before: cursor)',
    peer: 'postgraphile',
    compared: true,
    expectedRows: 20,
    rowsOf: nodesOf,
    participants: [
      withCursor(
        'agentmem',
        graphqlRequest(
          key,
          'query Anchor($agentId: ID!) { messages(agentId: $agentId, last: 50) { pageInfo { startCursor } } }',
          { agentId },
        ),
        (body) => dataOf(body, z.object({ messages: startCursor })).messages.pageInfo.startCursor,
        (before) =>
          graphqlRequest(
            key,
            `query MessagesBackwards($agentId: ID!, $before: String!) {
  messages(agentId: $agentId, last: 20, before: $before) { totalCount pageInfo { hasPreviousPage } nodes {
    ${MESSAGE_FIELDS} } }
}`,
            { agentId, before },
          ),
        (body) => {
          const page = dataOf(body, z.object({ messages: backPage })).messages;
          return { totalCount: page.totalCount, pageInfo: page.pageInfo, nodes: page.nodes.map(commonMessage) };
        },
      ),
      withCursor(
        'postgraphile',
        graphqlRequest(
          undefined,
          `query Anchor($agentId: String!) {
  allMessages(last: 50, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: { agentId: $agentId, isDeleted: false }) {
    pageInfo { startCursor } }
}`,
          { agentId },
        ),
        (body) => dataOf(body, z.object({ allMessages: startCursor })).allMessages.pageInfo.startCursor,
        (before) =>
          graphqlRequest(
            undefined,
            `query MessagesBackwards($agentId: String!, $before: Cursor!) {
  allMessages(last: 20, before: $before, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: {
    agentId: $agentId, isDeleted: false }) {
    totalCount pageInfo { hasPreviousPage } nodes { ${PG_MESSAGE_FIELDS} }
  }
}`,
            { agentId, before },
          ),
        (body) => {
          const page = dataOf(body, z.object({ allMessages: pgBackPage })).allMessages;
          return { totalCount: page.totalCount, pageInfo: page.pageInfo, nodes: page.nodes.map(commonPgMessage) };
        },
      ),
    ],
  };
}

// ---- relations: both directions of a junction, counts, three levels ----------------------------

/** m:n, agent to blocks, alone: `agents(first: 50) { nodes { id name blocks { id label value } } }`. */
export function agentsBlocks(context: ShapeContext): Shape {
  const block = z.object({ id: z.string(), label: z.string(), value: z.string() });
  const agent = z.object({ id: z.string(), name: z.string().nullable(), blocks: z.array(block) });
  const pgAgent = z.object({
    rowId: z.string(),
    name: z.string().nullable(),
    blocksAgentsByAgentId: z.object({
      nodes: z.array(
        z.object({
          blockByBlockIdAndBlockLabel: z.object({ rowId: z.string(), label: z.string(), value: z.string() }),
        }),
      ),
    }),
  });
  return versus(
    context,
    { id: 'agents-blocks', title: 'agents(first: 50) { blocks } (m:n, agent to blocks)', expectedRows: 50 },
    {
      query: 'query AgentsBlocks { agents(first: 50) { nodes { id name blocks { id label value } } } }',
      variables: {},
      read: (body) => dataOf(body, z.object({ agents: z.object({ nodes: z.array(agent) }) })).agents.nodes,
    },
    {
      query: `query AgentsBlocks($organizationId: String!) {
  allAgents(first: 50, ${PG_AGENTS}) {
    nodes { rowId name blocksAgentsByAgentId(orderBy: [BLOCK_LABEL_ASC, BLOCK_ID_ASC]) { nodes {
      blockByBlockIdAndBlockLabel { rowId label value } } } }
  }
}`,
      variables: { organizationId: context.facts.organizationId },
      read: (body) =>
        dataOf(body, z.object({ allAgents: z.object({ nodes: z.array(pgAgent) }) })).allAgents.nodes.map((row) => ({
          id: row.rowId,
          name: row.name,
          blocks: row.blocksAgentsByAgentId.nodes.map(({ blockByBlockIdAndBlockLabel: b }) => ({
            id: b.rowId,
            label: b.label,
            value: b.value,
          })),
        })),
    },
  );
}

/**
 * m:n, block to agents: `blocks(first: 50) { nodes { id label agents { id name } } }`. AgentMem
 * lists a block's live agents only; PostGraphile cannot put a condition on the agent across the
 * junction, so it also returns each agent's isDeleted and the common form leaves the deleted ones
 * out (the first 50 blocks include those of a deleted agent: its block has no agents).
 */
export function blocksAgents(context: ShapeContext): Shape {
  const block = z.object({
    id: z.string(),
    label: z.string(),
    agents: z.array(z.object({ id: z.string(), name: z.string().nullable() })),
  });
  const pgBlock = z.object({
    rowId: z.string(),
    label: z.string(),
    blocksAgentsByBlockIdAndBlockLabel: z.object({
      nodes: z.array(
        z.object({
          agentByAgentId: z.object({
            rowId: z.string(),
            name: z.string().nullable(),
            isDeleted: z.boolean().nullable(),
          }),
        }),
      ),
    }),
  });
  return versus(
    context,
    { id: 'blocks-agents', title: 'blocks(first: 50) { agents } (m:n, block to agents)', expectedRows: 50 },
    {
      query: 'query BlocksAgents { blocks(first: 50) { nodes { id label agents { id name } } } }',
      variables: {},
      read: (body) => dataOf(body, z.object({ blocks: z.object({ nodes: z.array(block) }) })).blocks.nodes,
    },
    {
      // AgentMem's root blocks: live, not templates, oldest first; a block's agents by id.
      query: `query BlocksAgents($organizationId: String!) {
  allBlocks(first: 50, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: {
    organizationId: $organizationId, isTemplate: false, isDeleted: false }) {
    nodes { rowId label blocksAgentsByBlockIdAndBlockLabel(orderBy: AGENT_ID_ASC) { nodes { agentByAgentId {
      rowId name isDeleted } } } }
  }
}`,
      variables: { organizationId: context.facts.organizationId },
      read: (body) =>
        dataOf(body, z.object({ allBlocks: z.object({ nodes: z.array(pgBlock) }) })).allBlocks.nodes.map((row) => ({
          id: row.rowId,
          label: row.label,
          agents: row.blocksAgentsByBlockIdAndBlockLabel.nodes
            .map((link) => link.agentByAgentId)
            .filter((agent) => !agent.isDeleted)
            .map((agent) => ({ id: agent.rowId, name: agent.name })),
        })),
    },
  );
}

/** Counts of two 1:n relations per agent: `agents(first: 50) { nodes { id messageCount memoryCount } }`. */
export function agentsCounts(context: ShapeContext): Shape {
  const row = z.object({ id: z.string(), messageCount: z.number(), memoryCount: z.number() });
  const pgRow = z.object({
    rowId: z.string(),
    messages: z.object({ totalCount: z.number() }),
    memories: z.object({ totalCount: z.number() }),
  });
  return versus(
    context,
    { id: 'agents-counts', title: 'agents(first: 50) { messageCount memoryCount }', expectedRows: 50 },
    {
      query: 'query AgentsCounts { agents(first: 50) { nodes { id messageCount memoryCount } } }',
      variables: {},
      read: (body) => dataOf(body, z.object({ agents: z.object({ nodes: z.array(row) }) })).agents.nodes,
    },
    {
      query: `query AgentsCounts($organizationId: String!) {
  allAgents(first: 50, ${PG_AGENTS}) {
    nodes {
      rowId
      messages: messagesByAgentId(condition: { isDeleted: false }) { totalCount }
      memories: memoriesByAgentId(condition: { isDeleted: false }) { totalCount }
    }
  }
}`,
      variables: { organizationId: context.facts.organizationId },
      read: (body) =>
        dataOf(body, z.object({ allAgents: z.object({ nodes: z.array(pgRow) }) })).allAgents.nodes.map((agent) => ({
          id: agent.rowId,
          messageCount: agent.messages.totalCount,
          memoryCount: agent.memories.totalCount,
        })),
    },
  );
}

/** The nested request of agents-50 plus a count per agent: `messageCount`. */
export function agentsWithMessageCount(context: ShapeContext): Shape {
  const agent = commonAgent.extend({ messageCount: z.number() });
  const pgAgent = postgraphileAgent.extend({ liveMessages: z.object({ totalCount: z.number() }) });
  return versus(
    context,
    { id: 'agents-50-message-count', title: 'agents(first: 50) nested + messageCount', expectedRows: 50 },
    {
      query: `query NestedAgentsCounted { agents(first: 50) { nodes { ${AGENT_SELECTION} messageCount } } }`,
      variables: {},
      read: (body) =>
        dataOf(body, z.object({ agents: z.object({ nodes: z.array(agent) }) })).agents.nodes.map(
          ({ messageCount, ...rest }) => ({
            ...normalized(rest),
            messageCount,
          }),
        ),
    },
    {
      query: `query NestedAgentsCounted($organizationId: String!) {
  allAgents(first: 50, ${PG_AGENTS}) {
    nodes { ...AgentWithRelations liveMessages: messagesByAgentId(condition: { isDeleted: false }) { totalCount } }
  }
}
${POSTGRAPHILE_AGENT_FRAGMENT}`,
      variables: { organizationId: context.facts.organizationId },
      read: (body) =>
        dataOf(body, z.object({ allAgents: z.object({ nodes: z.array(pgAgent) }) })).allAgents.nodes.map((row) => ({
          ...fromPostGraphile(row),
          messageCount: row.liveMessages.totalCount,
        })),
    },
  );
}

/**
 * Three levels: agents, their first 10 messages, each message's user. 10 agents: 20 would cost
 * more than AgentMem's default MAX_QUERY_COST (5000) allows.
 */
export function agentsMessagesUser(context: ShapeContext): Shape {
  const user = z.object({ id: z.string(), name: z.string() });
  const agent = z.object({
    id: z.string(),
    name: z.string().nullable(),
    messages: z.object({ nodes: z.array(z.object({ id: z.string(), text: z.string().nullable(), user })) }),
  });
  const pgAgent = z.object({
    rowId: z.string(),
    name: z.string().nullable(),
    messagesByAgentId: z.object({
      nodes: z.array(
        z.object({
          rowId: z.string(),
          text: z.string().nullable(),
          userByUserId: z.object({ rowId: z.string(), name: z.string() }),
        }),
      ),
    }),
  });
  return versus(
    context,
    {
      id: 'agents-messages-user',
      title: 'agents(first: 10) { messages(first: 10) { user } } (3 levels)',
      expectedRows: 10,
    },
    {
      query:
        'query AgentsMessagesUser { agents(first: 10) { nodes { id name messages(first: 10) { nodes { ' +
        'id text user { id name } } } } } }',
      variables: {},
      read: (body) =>
        dataOf(body, z.object({ agents: z.object({ nodes: z.array(agent) }) })).agents.nodes.map((row) => ({
          id: row.id,
          name: row.name,
          messages: row.messages.nodes,
        })),
    },
    {
      query: `query AgentsMessagesUser($organizationId: String!) {
  allAgents(first: 10, ${PG_AGENTS}) {
    nodes { rowId name messagesByAgentId(first: 10, ${PG_CONVERSATION}) { nodes { rowId text userByUserId {
      rowId name } } } }
  }
}`,
      variables: { organizationId: context.facts.organizationId },
      read: (body) =>
        dataOf(body, z.object({ allAgents: z.object({ nodes: z.array(pgAgent) }) })).allAgents.nodes.map((row) => ({
          id: row.rowId,
          name: row.name,
          messages: row.messagesByAgentId.nodes.map((m) => ({
            id: m.rowId,
            text: m.text,
            user: { id: m.userByUserId.rowId, name: m.userByUserId.name },
          })),
        })),
    },
  );
}

/**
 * Three levels across the junction and back: agents, their blocks, each block's agents. As in
 * blocks-agents, PostGraphile also returns isDeleted and the common form leaves deleted agents out.
 */
export function agentsBlocksAgents(context: ShapeContext): Shape {
  const agent = z.object({
    id: z.string(),
    blocks: z.array(
      z.object({
        id: z.string(),
        label: z.string(),
        agents: z.array(z.object({ id: z.string(), name: z.string().nullable() })),
      }),
    ),
  });
  const pgAgent = z.object({
    rowId: z.string(),
    blocksAgentsByAgentId: z.object({
      nodes: z.array(
        z.object({
          blockByBlockIdAndBlockLabel: z.object({
            rowId: z.string(),
            label: z.string(),
            blocksAgentsByBlockIdAndBlockLabel: z.object({
              nodes: z.array(
                z.object({
                  agentByAgentId: z.object({
                    rowId: z.string(),
                    name: z.string().nullable(),
                    isDeleted: z.boolean().nullable(),
                  }),
                }),
              ),
            }),
          }),
        }),
      ),
    }),
  });
  return versus(
    context,
    { id: 'agents-blocks-agents', title: 'agents(first: 50) { blocks { agents } } (3 levels)', expectedRows: 50 },
    {
      query: 'query AgentsBlocksAgents { agents(first: 50) { nodes { id blocks { id label agents { id name } } } } }',
      variables: {},
      read: (body) => dataOf(body, z.object({ agents: z.object({ nodes: z.array(agent) }) })).agents.nodes,
    },
    {
      query: `query AgentsBlocksAgents($organizationId: String!) {
  allAgents(first: 50, ${PG_AGENTS}) {
    nodes {
      rowId
      blocksAgentsByAgentId(orderBy: [BLOCK_LABEL_ASC, BLOCK_ID_ASC]) {
        nodes { blockByBlockIdAndBlockLabel { rowId label blocksAgentsByBlockIdAndBlockLabel(orderBy: AGENT_ID_ASC) {
          nodes { agentByAgentId { rowId name isDeleted } } } } }
      }
    }
  }
}`,
      variables: { organizationId: context.facts.organizationId },
      read: (body) =>
        dataOf(body, z.object({ allAgents: z.object({ nodes: z.array(pgAgent) }) })).allAgents.nodes.map((row) => ({
          id: row.rowId,
          blocks: row.blocksAgentsByAgentId.nodes.map(({ blockByBlockIdAndBlockLabel: block }) => ({
            id: block.rowId,
            label: block.label,
            agents: block.blocksAgentsByBlockIdAndBlockLabel.nodes
              .map((link) => link.agentByAgentId)
              .filter((linked) => !linked.isDeleted)
              .map((linked) => ({ id: linked.rowId, name: linked.name })),
          })),
        })),
    },
  );
}

// ---- tiny --------------------------------------------------------------------------------------

/**
 * `{ __typename }`: the fixed cost of a request. AgentMem with its key (the key check is part of
 * the cost), PostGraphile, and a bare graphql-yoga server (one field, default plugins, no
 * database), the peer: what AgentMem adds to yoga itself.
 */
export function typename(context: ShapeContext): Shape {
  const read = (body: unknown) => dataOf(body, z.object({ __typename: z.literal('Query') }));
  const query = 'query Typename { __typename }';
  const withKey = graphqlRequest(context.agentmemKey, query, {});
  const anonymous = graphqlRequest(undefined, query, {});
  return {
    id: 'typename',
    title: '{ __typename }',
    peer: 'yoga',
    compared: true,
    expectedRows: 1,
    participants: [
      { server: 'agentmem', request: () => withKey, read },
      { server: 'postgraphile', request: () => anonymous, read },
      { server: 'yoga', request: () => anonymous, read },
    ],
  };
}
