import { z } from 'zod';
import { BlockLimitExceededError, ConflictError, VersionConflictError } from '../errors';
import { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { column, connection, liveRowById, liveRows, object, orderBy, organizationRows, relatedRows, timestamp } from '../planner/declarations';
import { builder } from '../schema/builder';
import { addDeletionFields } from '../schema/deletion-fields';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { payloadRow } from '../schema/payloads';
import { characterCount, json, label, longText, MAX_LONG_TEXT, text } from '../schema/rules';
import { createdBy, listedRowsOf, liveRowsOf, requireLiveUser } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import type { Context } from '../context/types';
import { changeBlock, recordNewBlocks } from './versions';


export const BlockType = builder.prismaObject('Block', {
  description: 'A core-memory block (persona, human, system, or a label of your own).',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    userId: t.exposeID('userId', { sql: column('user_id') }),
    label: t.exposeString('label', { sql: column('label') }),
    value: t.exposeString('value', { sql: column('value') }),
    limit: t.int({
      sql: column('limit'),
      description: 'The most characters (Unicode code points) `value` may hold.',
      resolve: (block) => Number(block.limit),
    }),
    description: t.exposeString('description', { sql: column('description'), nullable: true }),
    templateName: t.exposeString('templateName', { sql: column('template_name'), nullable: true }),
    isTemplate: t.exposeBoolean('isTemplate', { sql: column('is_template') }),
    metadata: t.expose('metadata', { sql: column('metadata_'), type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    createdById: t.exposeID('createdById', { sql: column('created_by_id'), nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { sql: column('last_updated_by_id'), nullable: true }),
    version: t.exposeInt('version', { sql: column('version'),
      description: 'Starts at 1; every change makes the next. Pass it to updateBlock as expectedVersion so that no other change is overwritten.',
    }),
    user: t.relation('user', { sql: object(relatedRows('users', 'id', 'user_id')) }),
  }),
});
addDeletionFields('Block');

const BlockFilter = builder.inputType('BlockFilter', {
  fields: (t) => ({
    label: t.string(),
    userId: t.id(),
    isTemplate: t.boolean({ description: 'true: only template blocks; false or unset: only blocks that are not templates (templates are listed by blockTemplates).' }),
    templateName: t.string({ description: 'Blocks made from one template by instantiateTemplate (with isTemplate: true, the template itself).' }),
  }),
});

function blockWhere(context: Context, filter: typeof BlockFilter.$inferInput | null | undefined, deleted: boolean | null | undefined): Prisma.BlockWhereInput {
  return {
    ...listedRowsOf(context, deleted),
    ...(filter?.label != null && { label: filter.label }),
    ...(filter?.userId != null && { userId: String(filter.userId) }),
    // Templates are not core memory of any agent: listed apart unless asked for.
    isTemplate: filter?.isTemplate ?? false,
    ...(filter?.templateName != null && { templateName: filter.templateName }),
  };
}

function templateWhere(context: Context, name: string | null | undefined): Prisma.BlockWhereInput {
  return { ...liveRowsOf(context), isTemplate: true, ...(name != null && { templateName: name }) };
}

builder.queryFields((t) => ({
  blocks: t.prismaConnection({
    type: BlockType,
    ...connectionOptions,
    args: { filter: t.arg({ type: BlockFilter }), deleted: t.arg.boolean({ defaultValue: false, description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.' }) },
    totalCount: (_root, args, context) => context.prisma.block.count({ where: blockWhere(context, args.filter, args.deleted) }),
    // The trash (admin only) is read by the resolver.
    sql: connection(
      {
        table: 'blocks',
        where: (scope) => {
          const filter = scope.args.filter as typeof BlockFilter.$inferInput | null | undefined;
          if (scope.args.deleted) return undefined;
          const equal = (name: string, value: unknown) => (value == null ? [] : [`${scope.row}.${name} = ${scope.bind(value)}`]);
          return [
            ...organizationRows(scope),
            ...liveRows(scope),
            ...equal('label', filter?.label),
            ...equal('user_id', filter?.userId == null ? null : String(filter.userId)),
            `${scope.row}.is_template = ${scope.bind(filter?.isTemplate ?? false)}`,
            ...equal('template_name', filter?.templateName),
          ];
        },
      },
      () => orderBy(['created_at', 'id'], 'ASC'),
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.block.findMany({ ...query, where: blockWhere(context, args.filter, args.deleted), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },
  }),
  blockTemplates: t.prismaConnection({
    type: BlockType,
    ...connectionOptions,
    description: 'Template blocks (isTemplate), by template name and label: what instantiateTemplate copies to an agent.',
    args: { name: t.arg.string({ description: 'The blocks of this template only.' }) },
    totalCount: (_root, args, context) => context.prisma.block.count({ where: templateWhere(context, args.name) }),
    sql: connection(
      {
        table: 'blocks',
        where: (scope) => [
          ...organizationRows(scope),
          ...liveRows(scope),
          `${scope.row}.is_template`,
          ...(scope.args.name == null ? [] : [`${scope.row}.template_name = ${scope.bind(scope.args.name)}`]),
        ],
      },
      // NULLS LAST, in expressions that are never null, so that the cursor's row comparison holds.
      () => ({ columns: (row) => [`(${row}.template_name IS NULL)`, `coalesce(${row}.template_name, '')`, `${row}.label`, `${row}.id`], direction: 'ASC' }),
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.block.findMany({
        ...query,
        where: templateWhere(context, args.name),
        orderBy: [{ templateName: { sort: 'asc', nulls: 'last' } }, { label: 'asc' }, { id: 'asc' }],
      });
    },
  }),
  block: t.prismaField({
    type: BlockType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    sql: object(liveRowById('blocks')),
    resolve: (query, _root, args, context) =>
      context.prisma.block.findFirst({ ...query, where: { ...liveRowsOf(context), id: String(args.id) } }),
  }),
}));

export const CreateBlockInput = builder.inputType('CreateBlockInput', {
  fields: (t) => ({
    label: t.string({ required: true, description: 'persona, human, system, or a label of your own (1–50 characters).' }),
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
  description: 'The label is part of the block\'s key and cannot change.',
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

export const DEFAULT_BLOCK_LIMIT = 2000;

/** A block version number, as updateBlock and revertBlock take it. */
export const versionNumber = z.number().int().min(1, 'must be at least 1');

/** A value may not be longer than its block's limit, on create, on update and when lowering the limit. */
export function assertWithinLimit(value: string, blockLimit: number, field: string[]): void {
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
      description: 'The version this mutation made. `block` is read after it, so another change may already have followed.',
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
  'The version this change is based on: when the block is at another one, the change is refused with VersionConflictError and nothing changes. Unset: the change applies to whatever version is current.';

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
      const expectedVersion = parseInput(versionNumber.optional().nullable(), args.expectedVersion, ['expectedVersion']) ?? undefined;
      const id = String(args.id);
      const changed = await context.prisma.$transaction((tx) =>
        changeBlock(context, tx, id, expectedVersion, (block) => {
          const field = input.value !== undefined ? ['input', 'value'] : ['input', 'limit'];
          assertWithinLimit(input.value ?? block.value, input.limit ?? Number(block.limit), field);
          const { metadata, ...columns } = input;
          return { ...columns, ...(metadata !== undefined && { metadata: metadata === null ? Prisma.DbNull : (metadata as Prisma.InputJsonValue) }) };
        }),
      );
      return { blockId: id, version: changed.version };
    },
  }),
}));

/**
 * A restored block comes back attached to the agents it was attached to; an agent that took
 * another block with its label meanwhile would then hold two: a CONFLICT naming the label.
 */
async function assertLabelsFreeOnRestore(_context: Context, tx: Prisma.TransactionClient, id: string): Promise<void> {
  const links = await tx.blockAgent.findMany({ where: { blockId: id, agent: { isDeleted: false } }, select: { agentId: true, blockLabel: true } });
  for (const link of links) {
    const taken = await tx.blockAgent.findFirst({
      where: { agentId: link.agentId, blockLabel: link.blockLabel, blockId: { not: id }, block: { isDeleted: false } },
      select: { blockId: true },
    });
    if (taken) throw new ConflictError(`agent ${link.agentId} holds another ${JSON.stringify(link.blockLabel)} block now (${taken.blockId})`, ['id']);
  }
}

addLifecycleMutations({
  entity: 'Block',
  table: (prisma) => prisma.block,
  payload: BlockPayload,
  // A restore changes no content, so the block keeps its version.
  toPayload: async (id, tx) => ({ blockId: id, version: (await tx.block.findFirstOrThrow({ where: { id }, select: { version: true } })).version }),
  assertRestorable: assertLabelsFreeOnRestore,
});
