import { z } from 'zod';
import { instantiateTemplate } from '../blocks/templates';
import { BlockType, createBlockSchema, CreateBlockInput, prepareBlock } from '../blocks/types';
import { recordNewBlocks } from '../blocks/versions';
import type { Context } from '../context/types';
import { BlockLimitExceededError, ConflictError, NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { MemoryType } from '../memories/types';
import { conversationOrder, MessageType } from '../messages/types';
import { column, connection, count, fallback, list, liveRowById, liveRows, object, orderBy, organizationRows, relatedRows, timestamp } from '../planner/declarations';
import { builder } from '../schema/builder';
import { maxItems } from '../schema/list-caps';
import { addDeletionFields } from '../schema/deletion-fields';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { SortDirection } from '../schema/ordering';
import { assertPageSize, connectionOptions, listLimit, MAX_PAGE_SIZE } from '../schema/pagination';
import { payloadRow } from '../schema/payloads';
import { json, longText, text } from '../schema/rules';
import { createdBy, listedRowsOf, live, liveRowsOf, requireLiveAgent, updatedBy } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { ToolType } from '../tools/types';
import { assertContextWindow, MAX_CONTEXT_WINDOW } from './context-window';

const DEFAULT_RECENT_MESSAGES = 10;

/** An agent's live messages. */
const agentMessages = relatedRows('messages', 'agent_id', 'id', liveRows);

/** A list's size when it is one `limit` allows; otherwise the field refuses it itself. */
function pageSizeOf(limit: unknown): number | undefined {
  return typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE ? limit : undefined;
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
    topic: t.exposeString('topic', { sql: column('topic'), nullable: true, description: 'The current conversation topic.' }),
    messageIds: t.expose('messageIds', { sql: column('message_ids'), type: 'JSON', nullable: true, description: 'In-context message ids (the context window: see setContextWindow).' }),
    metadata: t.expose('metadata', { sql: column('metadata_'), type: 'JSON', nullable: true }),
    llmConfig: t.expose('llmConfig', { sql: column('llm_config'), type: 'JSON', nullable: true }),
    embeddingConfig: t.expose('embeddingConfig', { sql: column('embedding_config'), type: 'JSON', nullable: true }),
    toolRules: t.expose('toolRules', { sql: column('tool_rules'), type: 'JSON', nullable: true }),
    mcpTools: t.expose('mcpTools', { sql: column('mcp_tools'), type: 'JSON', nullable: true, description: 'MCP server names.' }),
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
          through: { table: 'blocks_agents', on: (link, row) => `${row}.id = ${link}.block_id AND ${row}.label = ${link}.block_label` },
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
          where: (scope) => [`${scope.link}.agent_id = ${scope.parent}.id`, `${scope.row}.organization_id = ${scope.bind(scope.organizationId)}`, ...liveRows(scope)],
        },
        orderBy(['id'], 'ASC'),
      ),
      resolve: (agent, _args, context) => context.loaders.agents.toolsOf(agent),
    }),
    recentMessages: t.field({
      type: [MessageType],
      description: `The last messages of the conversation, newest last (default ${DEFAULT_RECENT_MESSAGES}, at most ${MAX_PAGE_SIZE}).`,
      args: { limit: t.arg.int({ defaultValue: DEFAULT_RECENT_MESSAGES }) },
      // The last `limit`, newest first through idx_messages_agent_created_at, given oldest first.
      sql: list(agentMessages, orderBy(['created_at', 'seq'], 'ASC'), { order: orderBy(['created_at', 'seq'], 'DESC'), limit: ({ limit }) => pageSizeOf(limit) }),
      resolve: (agent, args, context) => context.loaders.agents.recentMessagesOf(agent, listLimit(args.limit, DEFAULT_RECENT_MESSAGES)),
    }),
    contextMessages: t.field({
      type: [MessageType],
      description: 'The context window: the messages of messageIds, in that order (see setContextWindow). A message deleted since it was put there is left out.',
      sql: fallback('the order of a JSON list of ids: one loader statement per page', { messageIds: 'message_ids' }),
      resolve: (agent, _args, context) => context.loaders.agents.contextMessagesOf(agent),
    }),

    messages: t.relatedConnection('messages', {
      ...connectionOptions,
      description: 'The whole conversation, oldest first.',
      totalCount: true,
      sql: connection(agentMessages, () => orderBy(['created_at', 'seq'], 'ASC'), connectionOptions),
      query: (args) => {
        assertPageSize(args);
        return { where: live, orderBy: conversationOrder };
      },
    }),
    memories: t.relatedConnection('memories', {
      ...connectionOptions,
      description: 'Long-term memories, newest first.',
      totalCount: true,
      sql: connection(relatedRows('memories', 'agent_id', 'id', liveRows), () => orderBy(['created_at', 'id'], 'DESC'), connectionOptions),
      query: (args) => {
        assertPageSize(args);
        return { where: live, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] };
      },
    }),
    messageCount: t.relationCount('messages', { where: live, sql: count(agentMessages) }),
    memoryCount: t.relationCount('memories', { where: live, sql: count(relatedRows('memories', 'agent_id', 'id', liveRows)) }),
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
        where: (scope) => [`${scope.link}.tool_id = ${scope.parent}.id`, `${scope.row}.organization_id = ${scope.bind(scope.organizationId)}`, ...liveRows(scope)],
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
builder.prismaObjectField(MessageType, 'agent', (t) => t.relation('agent', { sql: object(relatedRows('agents', 'id', 'agent_id')) }));
builder.prismaObjectField(MemoryType, 'agent', (t) => t.relation('agent', { sql: object(relatedRows('agents', 'id', 'agent_id')) }));

const AgentFilter = builder.inputType('AgentFilter', {
  fields: (t) => ({
    nameContains: t.string({ description: 'Case-insensitive.' }),
    agentType: t.string(),
  }),
});

const AgentOrderField = builder.enumType('AgentOrderField', {
  values: { CREATED_AT: { value: 'createdAt' }, UPDATED_AT: { value: 'updatedAt' }, NAME: { value: 'name' } } as const,
});

const AgentOrder = builder.inputType('AgentOrder', {
  fields: (t) => ({
    field: t.field({ type: AgentOrderField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: 'asc' }),
  }),
});

function agentWhere(context: Context, filter: typeof AgentFilter.$inferInput | null | undefined, deleted: boolean | null | undefined): Prisma.AgentWhereInput {
  return {
    ...listedRowsOf(context, deleted),
    ...(filter?.nameContains != null && { name: { contains: filter.nameContains, mode: 'insensitive' } }),
    ...(filter?.agentType != null && { agentType: filter.agentType }),
  };
}

function agentOrder(order: typeof AgentOrder.$inferInput | null | undefined): Prisma.AgentOrderByWithRelationInput[] {
  const direction = order?.direction ?? 'asc';
  // The id breaks ties, so that cursors are stable.
  return [{ [order?.field ?? 'createdAt']: direction }, { id: direction }];
}

builder.queryFields((t) => ({
  agents: t.prismaConnection({
    type: AgentType,
    ...connectionOptions,
    description: "The organization's agents (oldest first unless ordered otherwise).",
    args: { filter: t.arg({ type: AgentFilter }), orderBy: t.arg({ type: AgentOrder }), deleted: t.arg.boolean({ defaultValue: false, description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.' }) },
    totalCount: (_root, args, context) => context.prisma.agent.count({ where: agentWhere(context, args.filter, args.deleted) }),
    // The trash (admin only) and a name filter or order are read by the resolver.
    sql: connection(
      {
        table: 'agents',
        where: (scope) => {
          const filter = scope.args.filter as typeof AgentFilter.$inferInput | null | undefined;
          if (scope.args.deleted || filter?.nameContains != null) return undefined;
          return [...organizationRows(scope), ...liveRows(scope), ...(filter?.agentType == null ? [] : [`${scope.row}.agent_type = ${scope.bind(filter.agentType)}`])];
        },
      },
      (args) => {
        const order = args.orderBy as typeof AgentOrder.$inferInput | null | undefined;
        const field = order?.field ?? 'createdAt';
        if (field === 'name') return undefined;
        return orderBy([field === 'createdAt' ? 'created_at' : 'updated_at', 'id'], order?.direction === 'desc' ? 'DESC' : 'ASC');
      },
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.agent.findMany({ ...query, where: agentWhere(context, args.filter, args.deleted), orderBy: agentOrder(args.orderBy) });
    },
  }),
  agent: t.prismaField({
    type: AgentType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    sql: object(liveRowById('agents')),
    resolve: (query, _root, args, context) => context.prisma.agent.findFirst({ ...query, where: { ...liveRowsOf(context), id: String(args.id) } }),
  }),
}));

const agentFields = {
  name: text(255).nullable(),
  agentType: text(100).nullable(),
  description: longText.nullable(),
  system: longText.nullable(),
  topic: longText.nullable(),
  messageIds: z.array(z.string()).max(MAX_CONTEXT_WINDOW, `must hold at most ${MAX_CONTEXT_WINDOW} ids`).nullable(),
  metadata: json,
  llmConfig: json,
  embeddingConfig: json,
  toolRules: json,
  mcpTools: json,
};

const AgentFieldsInput = (name: string, withRelations: boolean) =>
  builder.inputType(name, {
    fields: (t) => ({
      name: t.string(),
      agentType: t.string(),
      description: t.string(),
      system: t.string({ description: 'The system prompt.' }),
      topic: t.string(),
      messageIds: t.stringList({ extensions: maxItems(MAX_CONTEXT_WINDOW), description: `The context window: live messages of this agent, each once (as setContextWindow); at most ${MAX_CONTEXT_WINDOW}.` }),
      metadata: t.field({ type: 'JSON' }),
      llmConfig: t.field({ type: 'JSON' }),
      embeddingConfig: t.field({ type: 'JSON' }),
      toolRules: t.field({ type: 'JSON' }),
      mcpTools: t.field({ type: 'JSON' }),
      ...(withRelations && {
        blocks: t.field({ type: [CreateBlockInput], extensions: maxItems(50), description: 'New blocks to create and attach; at most 50.' }),
        blockIds: t.idList({ extensions: maxItems(50), description: 'Existing blocks to attach; at most 50.' }),
        toolIds: t.idList({ extensions: maxItems(200), description: 'Existing tools to attach; at most 200.' }),
      }),
    }),
  });

const CreateAgentInput = AgentFieldsInput('CreateAgentInput', true);
const UpdateAgentInput = AgentFieldsInput('UpdateAgentInput', false);

const createAgentSchema = z
  .object({ ...agentFields, blocks: z.array(createBlockSchema).max(50), blockIds: z.array(z.string()).max(50), toolIds: z.array(z.string()).max(200) })
  .partial();
const updateAgentSchema = z.object(agentFields).partial();

type AgentColumns = z.infer<typeof updateAgentSchema>;

function agentData(input: AgentColumns) {
  const jsonColumns = ['messageIds', 'metadata', 'llmConfig', 'embeddingConfig', 'toolRules', 'mcpTools'] as const;
  const data: Record<string, unknown> = { ...input };
  for (const column of jsonColumns) if (data[column] === undefined) delete data[column];
  return data as Omit<Prisma.AgentUncheckedUpdateInput, 'id'>;
}

/** An agent may not hold two live blocks with one label: the label names a core-memory section. */
async function assertLabelFree(tx: Prisma.TransactionClient, agentId: string, blockId: string, label: string, field: string[]) {
  const taken = await tx.blockAgent.findFirst({
    where: { agentId, blockLabel: label, blockId: { not: blockId }, block: live },
    select: { blockId: true },
  });
  if (taken) throw new ConflictError(`the agent already has a ${JSON.stringify(label)} block (${taken.blockId})`, field);
}

async function findLiveBlock(context: Context, tx: Prisma.TransactionClient, id: string) {
  const block = await tx.block.findFirst({ where: { id, ...liveRowsOf(context) }, select: { id: true, label: true } });
  if (!block) throw new NotFoundError('Block', id, ['blockId']);
  return block;
}

async function findLiveToolId(context: Context, tx: Prisma.TransactionClient, id: string): Promise<string> {
  const tool = await tx.tool.findFirst({ where: { id, ...liveRowsOf(context) }, select: { id: true } });
  if (!tool) throw new NotFoundError('Tool', id, ['toolId']);
  return tool.id;
}

/** One transaction for a change of an agent's links: the agent must be live, and it is marked updated. */
async function changeAgentLinks(
  context: Context,
  agentId: string,
  change: (tx: Prisma.TransactionClient, agentId: string) => Promise<void>,
): Promise<{ agentId: string }> {
  await context.prisma.$transaction(async (tx) => {
    await requireLiveAgent(context, tx, agentId, ['agentId']);
    await change(tx, agentId);
    await tx.agent.update({ where: { id: agentId }, data: updatedBy(context) });
  });
  return { agentId };
}

/**
 * Changes an agent's columns; a new context window (messageIds) is checked against the agent's
 * messages in the same transaction, on the agent's row as the UPDATE holds it.
 */
async function updateAgentColumns(context: Context, id: string, input: AgentColumns, fields: { id: string[]; window: string[] }): Promise<{ agentId: string }> {
  const update = (prisma: Prisma.TransactionClient) =>
    prisma.agent.updateMany({ where: { id, ...liveRowsOf(context) }, data: { ...agentData(input), ...updatedBy(context) } as Prisma.AgentUpdateManyMutationInput });
  const { messageIds } = input;
  const { count } = messageIds
    ? await context.prisma.$transaction(async (tx) => {
        const updated = await update(tx);
        if (updated.count > 0) await assertContextWindow(context, tx, id, messageIds, fields.window);
        return updated;
      })
    : await update(context.prisma);
  if (count === 0) throw new NotFoundError('Agent', id, fields.id);
  return { agentId: id };
}

/** A template's name, as instantiateTemplate takes it: exactly as stored, not trimmed. */
const templateName = z.string().min(1, 'must not be empty').pipe(text(255));

export const AgentPayload = builder.objectRef<{ agentId: string }>('AgentPayload').implement({
  fields: (t) => ({
    agent: t.prismaField({
      type: AgentType,
      resolve: (query, payload, _args, context) => payloadRow(context.prisma.agent, query, payload.agentId),
    }),
  }),
});

const agentErrors = [...commonMutationErrors, BlockLimitExceededError];

builder.mutationFields((t) => ({
  createAgent: t.field({
    type: AgentPayload,
    description: 'Creates an agent with its new blocks, and attaches existing blocks and tools: all in one transaction.',
    errors: { types: agentErrors },
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    resolve: async (_root, args, context) => {
      const { blocks = [], blockIds = [], toolIds = [], ...columns } = parseInput(createAgentSchema, args.input, ['input']);
      const agentId = newId('agent');
      await context.prisma.$transaction(async (tx) => {
        const newBlocks = [];
        for (const [index, block] of blocks.entries()) newBlocks.push(await prepareBlock(context, tx, block, ['input', 'blocks', String(index)]));
        const existing = await tx.block.findMany({ where: { id: { in: blockIds }, ...liveRowsOf(context) }, select: { id: true, label: true } });
        blockIds.forEach((id, index) => {
          if (!existing.some((block) => block.id === id)) throw new NotFoundError('Block', id, ['input', 'blockIds', String(index)]);
        });
        const tools = await tx.tool.findMany({ where: { id: { in: toolIds }, ...liveRowsOf(context) }, select: { id: true } });
        toolIds.forEach((id, index) => {
          if (!tools.some((tool) => tool.id === id)) throw new NotFoundError('Tool', id, ['input', 'toolIds', String(index)]);
        });
        const links = [...newBlocks.map((block) => ({ id: block.id!, label: block.label })), ...existing];
        const labels = new Set<string>();
        for (const link of links) {
          if (labels.has(link.label)) throw new ConflictError(`two blocks are labelled ${JSON.stringify(link.label)}`, ['input', 'blocks']);
          labels.add(link.label);
        }

        // A new agent has no messages yet: any id in its window is refused.
        if (columns.messageIds) await assertContextWindow(context, tx, agentId, columns.messageIds, ['input', 'messageIds']);
        await tx.agent.create({
          data: { id: agentId, organizationId: liveRowsOf(context).organizationId, ...agentData(columns), ...createdBy(context) } as Prisma.AgentUncheckedCreateInput,
        });
        if (newBlocks.length > 0) await tx.block.createMany({ data: newBlocks });
        await recordNewBlocks(context, tx, newBlocks);
        if (links.length > 0) await tx.blockAgent.createMany({ data: links.map((block) => ({ blockId: block.id, blockLabel: block.label, agentId })) });
        if (toolIds.length > 0) await tx.toolAgent.createMany({ data: [...new Set(toolIds)].map((toolId) => ({ toolId, agentId })) });
      });
      return { agentId };
    },
  }),
  updateAgent: t.field({
    type: AgentPayload,
    errors: { types: agentErrors },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateAgentInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(updateAgentSchema, args.input, ['input']);
      return updateAgentColumns(context, String(args.id), input, { id: ['id'], window: ['input', 'messageIds'] });
    },
  }),
  setContextWindow: t.field({
    type: AgentPayload,
    description: `Sets the agent's context window (messageIds): live messages of this agent, each once, in order, at most ${MAX_CONTEXT_WINDOW}. An empty list empties it.`,
    errors: { types: agentErrors },
    args: { agentId: t.arg.id({ required: true }), messageIds: t.arg.idList({ required: true, extensions: maxItems(MAX_CONTEXT_WINDOW), description: `At most ${MAX_CONTEXT_WINDOW}.` }) },
    resolve: (_root, args, context) => updateAgentColumns(context, String(args.agentId), { messageIds: args.messageIds.map(String) }, { id: ['agentId'], window: ['messageIds'] }),
  }),
  instantiateTemplate: t.field({
    type: AgentPayload,
    description:
      'Copies the blocks of a template (the template blocks with this templateName) to the agent and attaches them, in one transaction. The copies are not templates; they keep the templateName.',
    errors: { types: agentErrors },
    args: { name: t.arg.string({ required: true, description: 'The templateName of the template blocks.' }), agentId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const name = parseInput(templateName, args.name, ['name']);
      const agentId = String(args.agentId);
      await context.prisma.$transaction((tx) => instantiateTemplate(context, tx, name, agentId));
      return { agentId };
    },
  }),
  attachBlock: t.field({
    type: AgentPayload,
    description: "Attaches a block to an agent (the link takes the block's label). Attaching twice changes nothing.",
    errors: { types: agentErrors },
    args: { agentId: t.arg.id({ required: true }), blockId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) =>
      changeAgentLinks(context, String(args.agentId), async (tx, agentId) => {
        const block = await findLiveBlock(context, tx, String(args.blockId));
        await assertLabelFree(tx, agentId, block.id, block.label, ['blockId']);
        await tx.blockAgent.createMany({ data: [{ blockId: block.id, blockLabel: block.label, agentId }], skipDuplicates: true });
      }),
  }),
  detachBlock: t.field({
    type: AgentPayload,
    description: 'Detaches a block from an agent; the block itself stays. Detaching a detached block changes nothing.',
    errors: { types: agentErrors },
    args: { agentId: t.arg.id({ required: true }), blockId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) =>
      changeAgentLinks(context, String(args.agentId), async (tx, agentId) => {
        const block = await findLiveBlock(context, tx, String(args.blockId));
        await tx.blockAgent.deleteMany({ where: { agentId, blockId: block.id } });
      }),
  }),
  attachTool: t.field({
    type: AgentPayload,
    description: 'Lets an agent call a tool. Attaching twice changes nothing.',
    errors: { types: agentErrors },
    args: { agentId: t.arg.id({ required: true }), toolId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) =>
      changeAgentLinks(context, String(args.agentId), async (tx, agentId) => {
        const toolId = await findLiveToolId(context, tx, String(args.toolId));
        await tx.toolAgent.createMany({ data: [{ toolId, agentId }], skipDuplicates: true });
      }),
  }),
  detachTool: t.field({
    type: AgentPayload,
    description: 'Stops an agent from calling a tool; the tool itself stays.',
    errors: { types: agentErrors },
    args: { agentId: t.arg.id({ required: true }), toolId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) =>
      changeAgentLinks(context, String(args.agentId), async (tx, agentId) => {
        const toolId = await findLiveToolId(context, tx, String(args.toolId));
        await tx.toolAgent.deleteMany({ where: { agentId, toolId } });
      }),
  }),
}));

addLifecycleMutations({ entity: 'Agent', table: (prisma) => prisma.agent, payload: AgentPayload, toPayload: (id) => ({ agentId: id }) });
