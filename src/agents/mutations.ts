import { z } from 'zod';
import { CreateBlockInput, createBlockSchema, prepareBlock } from '../blocks/mutations';
import { instantiateTemplate } from '../blocks/templates';
import { recordNewBlocks } from '../blocks/versions';
import type { Context } from '../context/types';
import { BlockLimitExceededError, ConflictError, NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { builder } from '../schema/builder';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { maxItems } from '../schema/list-caps';
import { payloadRow } from '../schema/payloads';
import { json, longText, text } from '../schema/rules';
import { createdBy, live, liveRowsOf, requireLiveAgent, updatedBy } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { assertContextWindow, MAX_CONTEXT_WINDOW } from './context-window';
import { AgentType } from './type';

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
      messageIds: t.stringList({
        extensions: maxItems(MAX_CONTEXT_WINDOW),
        description:
          'The context window: live messages of this agent, each once (as setContextWindow); ' +
          `at most ${MAX_CONTEXT_WINDOW}.`,
      }),
      metadata: t.field({ type: 'JSON' }),
      llmConfig: t.field({ type: 'JSON' }),
      embeddingConfig: t.field({ type: 'JSON' }),
      toolRules: t.field({ type: 'JSON' }),
      mcpTools: t.field({ type: 'JSON' }),
      ...(withRelations && {
        blocks: t.field({
          type: [CreateBlockInput],
          extensions: maxItems(50),
          description: 'New blocks to create and attach; at most 50.',
        }),
        blockIds: t.idList({ extensions: maxItems(50), description: 'Existing blocks to attach; at most 50.' }),
        toolIds: t.idList({ extensions: maxItems(200), description: 'Existing tools to attach; at most 200.' }),
      }),
    }),
  });

const CreateAgentInput = AgentFieldsInput('CreateAgentInput', true);
const UpdateAgentInput = AgentFieldsInput('UpdateAgentInput', false);

const createAgentSchema = z
  .object({
    ...agentFields,
    blocks: z.array(createBlockSchema).max(50),
    blockIds: z.array(z.string()).max(50),
    toolIds: z.array(z.string()).max(200),
  })
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
async function assertLabelFree(
  tx: Prisma.TransactionClient,
  agentId: string,
  blockId: string,
  label: string,
  field: string[],
) {
  const taken = await tx.blockAgent.findFirst({
    where: { agentId, blockLabel: label, blockId: { not: blockId }, block: live },
    select: { blockId: true },
  });
  if (taken)
    throw new ConflictError(`the agent already has a ${JSON.stringify(label)} block (${taken.blockId})`, field);
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
async function updateAgentColumns(
  context: Context,
  id: string,
  input: AgentColumns,
  fields: { id: string[]; window: string[] },
): Promise<{ agentId: string }> {
  const update = (prisma: Prisma.TransactionClient) =>
    prisma.agent.updateMany({
      where: { id, ...liveRowsOf(context) },
      data: { ...agentData(input), ...updatedBy(context) } as Prisma.AgentUpdateManyMutationInput,
    });
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
    description:
      'Creates an agent with its new blocks, and attaches existing blocks and tools: all in one transaction.',
    errors: { types: agentErrors },
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    resolve: async (_root, args, context) => {
      const {
        blocks = [],
        blockIds = [],
        toolIds = [],
        ...columns
      } = parseInput(createAgentSchema, args.input, ['input']);
      const agentId = newId('agent');
      const { organizationId } = context.caller;
      await context.prisma.$transaction(async (tx) => {
        const newBlocks = [];
        for (const [index, block] of blocks.entries())
          newBlocks.push(await prepareBlock(context, tx, block, ['input', 'blocks', String(index)]));
        const existing = await tx.block.findMany({
          where: { id: { in: blockIds }, ...liveRowsOf(context) },
          select: { id: true, label: true },
        });
        blockIds.forEach((id, index) => {
          if (!existing.some((block) => block.id === id))
            throw new NotFoundError('Block', id, ['input', 'blockIds', String(index)]);
        });
        const tools = await tx.tool.findMany({
          where: { id: { in: toolIds }, ...liveRowsOf(context) },
          select: { id: true },
        });
        toolIds.forEach((id, index) => {
          if (!tools.some((tool) => tool.id === id))
            throw new NotFoundError('Tool', id, ['input', 'toolIds', String(index)]);
        });
        const links = [...newBlocks.map((block) => ({ id: block.id!, label: block.label })), ...existing];
        const labels = new Set<string>();
        for (const link of links) {
          if (labels.has(link.label))
            throw new ConflictError(`two blocks are labelled ${JSON.stringify(link.label)}`, ['input', 'blocks']);
          labels.add(link.label);
        }

        // A new agent has no messages yet: any id in its window is refused.
        if (columns.messageIds)
          await assertContextWindow(context, tx, agentId, columns.messageIds, ['input', 'messageIds']);
        await tx.agent.create({
          data: {
            id: agentId,
            organizationId,
            ...agentData(columns),
            ...createdBy(context),
          } as Prisma.AgentUncheckedCreateInput,
        });
        if (newBlocks.length > 0) await tx.block.createMany({ data: newBlocks });
        await recordNewBlocks(context, tx, newBlocks);
        if (links.length > 0)
          await tx.blockAgent.createMany({
            data: links.map((block) => ({ blockId: block.id, blockLabel: block.label, agentId, organizationId })),
          });
        if (toolIds.length > 0)
          await tx.toolAgent.createMany({
            data: [...new Set(toolIds)].map((toolId) => ({ toolId, agentId, organizationId })),
          });
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
    description:
      "Sets the agent's context window (messageIds): live messages of this agent, each once, in order, " +
      `at most ${MAX_CONTEXT_WINDOW}. An empty list empties it.`,
    errors: { types: agentErrors },
    args: {
      agentId: t.arg.id({ required: true }),
      messageIds: t.arg.idList({
        required: true,
        extensions: maxItems(MAX_CONTEXT_WINDOW),
        description: `At most ${MAX_CONTEXT_WINDOW}.`,
      }),
    },
    resolve: (_root, args, context) =>
      updateAgentColumns(
        context,
        String(args.agentId),
        { messageIds: args.messageIds.map(String) },
        { id: ['agentId'], window: ['messageIds'] },
      ),
  }),
  instantiateTemplate: t.field({
    type: AgentPayload,
    description:
      'Copies the blocks of a template (the template blocks with this templateName) to the agent and attaches ' +
      'them, in one transaction. The copies are not templates; they keep the templateName.',
    errors: { types: agentErrors },
    args: {
      name: t.arg.string({ required: true, description: 'The templateName of the template blocks.' }),
      agentId: t.arg.id({ required: true }),
    },
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
        await tx.blockAgent.createMany({
          data: [
            { blockId: block.id, blockLabel: block.label, agentId, organizationId: context.caller.organizationId },
          ],
          skipDuplicates: true,
        });
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
        await tx.toolAgent.createMany({
          data: [{ toolId, agentId, organizationId: context.caller.organizationId }],
          skipDuplicates: true,
        });
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

addLifecycleMutations({
  entity: 'Agent',
  table: (prisma) => prisma.agent,
  payload: AgentPayload,
  toPayload: (id) => ({ agentId: id }),
});
