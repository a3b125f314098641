import { z } from 'zod';
import type { Context } from '../context/types';
import { BlockLimitExceededError, ConflictError, VersionConflictError } from '../errors';
import { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { builder } from '../schema/builder';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { payloadRow } from '../schema/payloads';
import { characterCount, json, label, longText, MAX_LONG_TEXT, text } from '../schema/rules';
import { createdBy, requireLiveUser } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { announceBlockChange, attachedAgents } from './subscriptions';
import { BlockType } from './type';
import { changeBlock, recordNewBlocks } from './versions';

export const CreateBlockInput = builder.inputType('CreateBlockInput', {
  fields: (t) => ({
    label: t.string({
      required: true,
      description: 'persona, human, system, or a label of your own (1–50 characters).',
    }),
    value: t.string({ required: true }),
    limit: t.int({ description: 'The most characters `value` may hold. Default 2000.' }),
    description: t.string(),
    templateName: t.string(),
    isTemplate: t.boolean(),
    metadata: t.field({ type: 'JSON' }),
    userId: t.id({ description: 'The owner; default: the caller.' }),
  }),
});

const UpdateBlockInput = builder.inputType('UpdateBlockInput', {
  description: "The label is part of the block's key and cannot change.",
  fields: (t) => ({
    value: t.string(),
    limit: t.int(),
    description: t.string(),
    templateName: t.string(),
    isTemplate: t.boolean(),
    metadata: t.field({ type: 'JSON' }),
  }),
});

// A value holds at most MAX_LONG_TEXT characters, so no limit needs to be higher.
const limit = z.number().int().min(1, 'must be at least 1').max(MAX_LONG_TEXT, `must be at most ${MAX_LONG_TEXT}`);
const blockFields = {
  value: longText,
  limit,
  description: longText.nullable(),
  templateName: text(255).nullable(),
  isTemplate: z.boolean(),
  metadata: json,
};
export const createBlockSchema = z.object({ label, userId: z.string().optional().nullable(), ...blockFields }).partial({
  limit: true,
  description: true,
  templateName: true,
  isTemplate: true,
  metadata: true,
});
const updateBlockSchema = z.object(blockFields).partial();

const DEFAULT_BLOCK_LIMIT = 2000;

/** A block version number, as updateBlock and revertBlock take it. */
export const versionNumber = z.number().int().min(1, 'must be at least 1');

/** A value may not be longer than its block's limit, on create, on update and when lowering the limit. */
function assertWithinLimit(value: string, blockLimit: number, field: string[]): void {
  const length = characterCount(value);
  if (length > blockLimit) throw new BlockLimitExceededError(length, blockLimit, field);
}

/** The data to create one block in the caller's organization, after validation. */
export async function prepareBlock(
  context: Context,
  prisma: Prisma.TransactionClient,
  input: z.infer<typeof createBlockSchema>,
  path: string[],
): Promise<Prisma.BlockUncheckedCreateInput> {
  const blockLimit = input.limit ?? DEFAULT_BLOCK_LIMIT;
  assertWithinLimit(input.value, blockLimit, [...path, 'value']);
  const caller = context.caller;
  const userId = input.userId ?? caller.userId;
  if (input.userId) await requireLiveUser(context, prisma, userId, [...path, 'userId']);
  const { userId: _owner, limit: _limit, metadata, ...columns } = input;
  return {
    id: newId('block'),
    organizationId: caller.organizationId,
    userId,
    ...columns,
    limit: blockLimit,
    metadata: metadata as Prisma.InputJsonValue | undefined,
    ...createdBy(context),
  };
}

export const BlockPayload = builder.objectRef<{ blockId: string; version: number }>('BlockPayload').implement({
  fields: (t) => ({
    version: t.exposeInt('version', {
      description:
        'The version this mutation made. `block` is read after it, so another change may already have followed.',
    }),
    block: t.prismaField({
      type: BlockType,
      resolve: (query, payload, _args, context) => payloadRow(context.prisma.block, query, payload.blockId),
    }),
  }),
});

export const blockErrors = [...commonMutationErrors, BlockLimitExceededError, VersionConflictError];

/** updateBlock's and revertBlock's argument: the version the caller last read. */
export const expectedVersionDescription =
  'The version this change is based on: when the block is at another one, the change is refused with ' +
  'VersionConflictError and nothing changes. Unset: the change applies to whatever version is current.';

builder.mutationFields((t) => ({
  createBlock: t.field({
    type: BlockPayload,
    errors: { types: blockErrors },
    args: { input: t.arg({ type: CreateBlockInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(createBlockSchema, args.input, ['input']);
      const blockId = await context.prisma.$transaction(async (tx) => {
        const data = await prepareBlock(context, tx, input, ['input']);
        await tx.block.create({ data });
        await recordNewBlocks(context, tx, [data]);
        return data.id!;
      });
      return { blockId, version: 1 };
    },
  }),
  updateBlock: t.field({
    type: BlockPayload,
    errors: { types: blockErrors },
    description: 'Changes a block as a new version (kept in its history).',
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateBlockInput, required: true }),
      expectedVersion: t.arg.int({ description: expectedVersionDescription }),
    },
    resolve: async (_root, args, context) => {
      const input = parseInput(updateBlockSchema, args.input, ['input']);
      const expectedVersion =
        parseInput(versionNumber.optional().nullable(), args.expectedVersion, ['expectedVersion']) ?? undefined;
      const id = String(args.id);
      const { changed, agentIds } = await context.prisma.$transaction(async (tx) => {
        const changed = await changeBlock(context, tx, id, expectedVersion, (block) => {
          const field = input.value !== undefined ? ['input', 'value'] : ['input', 'limit'];
          assertWithinLimit(input.value ?? block.value, input.limit ?? Number(block.limit), field);
          const { metadata, ...columns } = input;
          return {
            ...columns,
            ...(metadata !== undefined && {
              metadata: metadata === null ? Prisma.DbNull : (metadata as Prisma.InputJsonValue),
            }),
          };
        });
        return { changed, agentIds: await attachedAgents(tx, id) };
      });
      announceBlockChange(context, id, agentIds);
      return { blockId: id, version: changed.version };
    },
  }),
}));

/**
 * A restored block comes back attached to the agents it was attached to; an agent that took
 * another block with its label meanwhile would then hold two: a CONFLICT naming the label.
 */
async function assertLabelsFreeOnRestore(_context: Context, tx: Prisma.TransactionClient, id: string): Promise<void> {
  const links = await tx.blockAgent.findMany({
    where: { blockId: id, agent: { isDeleted: false } },
    select: { agentId: true, blockLabel: true },
  });
  for (const link of links) {
    const taken = await tx.blockAgent.findFirst({
      where: { agentId: link.agentId, blockLabel: link.blockLabel, blockId: { not: id }, block: { isDeleted: false } },
      select: { blockId: true },
    });
    if (taken)
      throw new ConflictError(
        `agent ${link.agentId} holds another ${JSON.stringify(link.blockLabel)} block now (${taken.blockId})`,
        ['id'],
      );
  }
}

addLifecycleMutations({
  entity: 'Block',
  table: (prisma) => prisma.block,
  payload: BlockPayload,
  // A restore changes no content, so the block keeps its version.
  toPayload: async (id, tx) => ({
    blockId: id,
    version: (await tx.block.findFirstOrThrow({ where: { id }, select: { version: true } })).version,
  }),
  assertRestorable: assertLabelsFreeOnRestore,
});
