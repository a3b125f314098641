import { BlockType } from '../blocks/type';
import { MemoryType } from '../memories/type';
import { presentWhere } from '../memories/validity';
import { presentRowsOf, validityArguments, validityOf } from '../memories/validity-arguments';
import { conversationOrder, MessageType } from '../messages/type';
import {
  column,
  connection,
  count,
  fallback,
  list,
  liveRows,
  object,
  orderBy,
  relatedRows,
  timestamp,
} from '../planner/declarations';
import { builder } from '../schema/builder';
import { addDeletionFields } from '../schema/deletion-fields';
import { assertPageSize, connectionOptions, listLimit, MAX_PAGE_SIZE, type PageArguments } from '../schema/pagination';
import { live } from '../schema/tenancy';
import { ToolType } from '../tools/types';

const DEFAULT_RECENT_MESSAGES = 10;

/** An agent's live messages. */
const agentMessages = relatedRows('messages', 'agent_id', 'id', liveRows);

/**
 * How many live messages the agent has: its own column, kept by the database's triggers
 * (migration 20261207000000_agent_live_message_count), since counting them per request was half
 * of a list's SQL time. Prisma's path still counts the rows, so the property test that compares
 * the two paths checks the triggers too.
 */
const liveMessageCount = column('live_message_count');

/**
 * An agent's live memories as its lists and counts show them: as the root `memories` does, the
 * facts valid now (or at `asOf`, or all with `includeInvalid`), never expired ones.
 */
const agentMemories = relatedRows('memories', 'agent_id', 'id', (scope) => [
  ...liveRows(scope),
  ...presentRowsOf(scope),
]);

/** A list's size when it is one `limit` allows; otherwise the field refuses it itself. */
function pageSizeOf(limit: unknown): number | undefined {
  return typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE
    ? limit
    : undefined;
}

export const AgentType = builder.prismaObject('Agent', {
  description: 'An AI agent with its configuration and core memory.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    name: t.exposeString('name', { sql: column('name'), nullable: true }),
    agentType: t.exposeString('agentType', { sql: column('agent_type'), nullable: true }),
    description: t.exposeString('description', { sql: column('description'), nullable: true }),
    system: t.exposeString('system', { sql: column('system'), nullable: true, description: 'The system prompt.' }),
    topic: t.exposeString('topic', {
      sql: column('topic'),
      nullable: true,
      description: 'The current conversation topic.',
    }),
    messageIds: t.expose('messageIds', {
      sql: column('message_ids'),
      type: 'JSON',
      nullable: true,
      description: 'In-context message ids (the context window: see setContextWindow).',
    }),
    metadata: t.expose('metadata', { sql: column('metadata_'), type: 'JSON', nullable: true }),
    llmConfig: t.expose('llmConfig', { sql: column('llm_config'), type: 'JSON', nullable: true }),
    embeddingConfig: t.expose('embeddingConfig', { sql: column('embedding_config'), type: 'JSON', nullable: true }),
    toolRules: t.expose('toolRules', { sql: column('tool_rules'), type: 'JSON', nullable: true }),
    mcpTools: t.expose('mcpTools', {
      sql: column('mcp_tools'),
      type: 'JSON',
      nullable: true,
      description: 'MCP server names.',
    }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    createdById: t.exposeID('createdById', { sql: column('created_by_id'), nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { sql: column('last_updated_by_id'), nullable: true }),

    // Batched: one statement for all the agents of a request (src/agents/loaders.ts).
    blocks: t.field({
      type: [BlockType],
      description: 'The core-memory blocks attached to this agent, by label.',
      args: { label: t.arg.string() },
      sql: list(
        {
          table: 'blocks',
          through: {
            table: 'blocks_agents',
            on: (link, row) => `${row}.id = ${link}.block_id AND ${row}.label = ${link}.block_label`,
          },
          where: (scope) => [
            `${scope.link}.agent_id = ${scope.parent}.id`,
            `${scope.row}.organization_id = ${scope.bind(scope.organizationId)}`,
            ...liveRows(scope),
            ...(scope.args.label == null ? [] : [`${scope.row}.label = ${scope.bind(scope.args.label)}`]),
          ],
        },
        // The link's (block_label, block_id) are the block's own (label, id).
        orderBy(['label', 'id'], 'ASC'),
      ),
      resolve: async (agent, args, context) => {
        const blocks = await context.loaders.agents.blocksOf(agent);
        return args.label == null ? blocks : blocks.filter((block) => block.label === args.label);
      },
    }),
    tools: t.field({
      type: [ToolType],
      description: 'The tools this agent may call.',
      sql: list(
        {
          table: 'tools',
          through: { table: 'tools_agents', on: (link, row) => `${row}.id = ${link}.tool_id` },
          where: (scope) => [
            `${scope.link}.agent_id = ${scope.parent}.id`,
            `${scope.row}.organization_id = ${scope.bind(scope.organizationId)}`,
            ...liveRows(scope),
          ],
        },
        orderBy(['id'], 'ASC'),
      ),
      resolve: (agent, _args, context) => context.loaders.agents.toolsOf(agent),
    }),
    recentMessages: t.field({
      type: [MessageType],
      description:
        `The last messages of the conversation, newest last (default ${DEFAULT_RECENT_MESSAGES}, ` +
        `at most ${MAX_PAGE_SIZE}).`,
      args: { limit: t.arg.int({ defaultValue: DEFAULT_RECENT_MESSAGES }) },
      // The last `limit`, newest first through idx_messages_agent_id_live (agent, created_at, seq), given oldest first.
      sql: list(agentMessages, orderBy(['created_at', 'seq'], 'ASC'), {
        order: orderBy(['created_at', 'seq'], 'DESC'),
        limit: ({ limit }) => pageSizeOf(limit),
      }),
      resolve: (agent, args, context) =>
        context.loaders.agents.recentMessagesOf(agent, listLimit(args.limit, DEFAULT_RECENT_MESSAGES)),
    }),
    contextMessages: t.field({
      type: [MessageType],
      description:
        'The context window: the messages of messageIds, in that order (see setContextWindow). A message ' +
        'deleted since it was put there is left out.',
      sql: fallback('the order of a JSON list of ids: one loader statement per page', { messageIds: 'message_ids' }),
      resolve: (agent, _args, context) => context.loaders.agents.contextMessagesOf(agent),
    }),

    messages: t.relatedConnection('messages', {
      ...connectionOptions,
      description: 'The whole conversation, oldest first.',
      totalCount: true,
      // Its totalCount is messageCount's column (below): the connection's arguments only page.
      sql: connection(agentMessages, () => orderBy(['created_at', 'seq'], 'ASC'), connectionOptions, {
        totalCount: liveMessageCount,
      }),
      query: (args) => {
        assertPageSize(args);
        return { where: live, orderBy: conversationOrder };
      },
    }),
    memories: t.relatedConnection('memories', {
      ...connectionOptions,
      description:
        'Long-term memories, newest first: the facts valid now unless asOf or includeInvalid says otherwise; ' +
        'never expired ones.',
      totalCount: true,
      args: validityArguments,
      sql: connection(agentMemories, () => orderBy(['created_at', 'id'], 'DESC'), connectionOptions),
      query: (args) => {
        // Pothos types `args` as the field's own arguments; the connection's come beside them.
        assertPageSize(args as typeof args & PageArguments);
        return {
          where: { ...live, ...presentWhere(validityOf(args)) },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        };
      },
    }),
    messageCount: t.relationCount('messages', { where: live, sql: liveMessageCount }),
    memoryCount: t.relationCount('memories', {
      description: 'How many memories Agent.memories lists by default: the facts valid now, not expired.',
      where: () => ({ ...live, ...presentWhere(undefined) }),
      sql: count(agentMemories),
    }),
  }),
});
addDeletionFields('Agent');

// The other side of the agent relations lives here, next to the agent.
builder.prismaObjectFields(BlockType, (t) => ({
  agents: t.field({
    type: [AgentType],
    description: 'The agents this block is attached to.',
    sql: list(
      {
        table: 'agents',
        through: { table: 'blocks_agents', on: (link, row) => `${row}.id = ${link}.agent_id` },
        where: (scope) => [
          `${scope.link}.block_id = ${scope.parent}.id`,
          `${scope.link}.block_label = ${scope.parent}.label`,
          `${scope.row}.organization_id = ${scope.bind(scope.organizationId)}`,
          ...liveRows(scope),
        ],
      },
      orderBy(['id'], 'ASC'),
    ),
    select: (_args, _context, nestedSelection) => ({
      agentLinks: { where: { agent: live }, orderBy: { agentId: 'asc' }, select: { agent: nestedSelection(true) } },
    }),
    resolve: (block) => block.agentLinks.map((link) => link.agent),
  }),
}));
builder.prismaObjectFields(ToolType, (t) => ({
  agents: t.field({
    type: [AgentType],
    description: 'The agents that may call this tool.',
    sql: list(
      {
        table: 'agents',
        through: { table: 'tools_agents', on: (link, row) => `${row}.id = ${link}.agent_id` },
        where: (scope) => [
          `${scope.link}.tool_id = ${scope.parent}.id`,
          `${scope.row}.organization_id = ${scope.bind(scope.organizationId)}`,
          ...liveRows(scope),
        ],
      },
      orderBy(['id'], 'ASC'),
    ),
    select: (_args, _context, nestedSelection) => ({
      agentLinks: { where: { agent: live }, orderBy: { agentId: 'asc' }, select: { agent: nestedSelection(true) } },
    }),
    resolve: (tool) => tool.agentLinks.map((link) => link.agent),
  }),
}));
// As Prisma's relation: the agent even when it is deleted.
builder.prismaObjectField(MessageType, 'agent', (t) =>
  t.relation('agent', { sql: object(relatedRows('agents', 'id', 'agent_id')) }),
);
builder.prismaObjectField(MemoryType, 'agent', (t) =>
  t.relation('agent', { sql: object(relatedRows('agents', 'id', 'agent_id')) }),
);
