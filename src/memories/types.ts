import { queryFromInfo } from '@pothos/plugin-prisma';
import { z } from 'zod';
import type { Context } from '../context';
import { ConflictError, NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import type { MemoryChange } from '../live/events';
import { rowsOf } from '../live/rows';
import { builder } from '../schema/builder';
import { addDeletionFields } from '../schema/deletion-fields';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { SortDirection } from '../schema/ordering';
import { assertPageSize, connectionOptions, listLimit, MAX_PAGE_SIZE } from '../schema/pagination';
import { label, MAX_MEMORY_CONTENT, real, storedEnum, text } from '../schema/rules';
import { allRowsOf, listedRowsOf, live, liveRowsOf, requireCaller, requireLiveAgent, updatedBy } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { selectedColumns, selectionOf } from '../schema/selection';
import { memoryColumns } from './columns';
import { contentHash } from './content-hash';
import { createMemories, lockContent, type CreatedMemory } from './creation';
import { withHistory } from './history';
import { findMatchingMemories, type MemoryColumns } from './search';

const memoryTypes = {
  FACTUAL: { value: 'factual' },
  EPISODIC: { value: 'episodic' },
  PROCEDURAL: { value: 'procedural' },
  SEMANTIC: { value: 'semantic' },
  WORKING: { value: 'working' },
} as const;

export const MemoryTypeEnum = builder.enumType('MemoryType', { values: memoryTypes });

export const MemoryType = builder.prismaObject('Memory', {
  description: 'A long-term memory of an agent about a user.',
  fields: (t) => ({
    id: t.exposeID('id'),
    organizationId: t.exposeID('organizationId'),
    userId: t.exposeID('userId'),
    agentId: t.exposeID('agentId'),
    content: t.exposeString('content'),
    hash: t.exposeString('hash', {
      nullable: true,
      description: 'SHA-256 (hex) of the normalized content (NFKC, lower case, whitespace collapsed and trimmed): memories of an agent are deduplicated by it.',
    }),
    metadata: t.expose('metadata', { type: 'JSON' }),
    score: t.exposeFloat('score', { nullable: true }),
    memoryType: t.field({ type: MemoryTypeEnum, resolve: (memory) => memory.memoryType as typeof MemoryTypeEnum.$inferType }),
    scope: t.exposeString('scope'),
    level: t.exposeString('level'),
    importance: t.exposeFloat('importance'),
    accessCount: t.int({ resolve: (memory) => Number(memory.accessCount) }),
    lastAccessed: t.expose('lastAccessed', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    createdById: t.exposeID('createdById', { nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { nullable: true }),
    user: t.relation('user'),
  }),
});
addDeletionFields('Memory');

/**
 * Refuses to give memory `id` content (its `hash`) that another live memory of its agent already
 * has, with CONFLICT naming that memory. Takes the content's lock first, as creation does.
 */
async function requireUniqueContent(context: Context, tx: Prisma.TransactionClient, id: string, hash: string, field: string[]): Promise<void> {
  const memory = await tx.memory.findFirst({ where: { id, ...allRowsOf(context) }, select: { agentId: true } });
  if (!memory) return; // the change itself answers NOT_FOUND
  await lockContent(tx, memory.agentId, hash);
  const same = await tx.memory.findFirst({ where: { ...liveRowsOf(context), agentId: memory.agentId, hash, id: { not: id } }, select: { id: true } });
  if (same) throw new ConflictError(`memory ${JSON.stringify(same.id)} of the same agent already has this content`, field);
}

/** Memories the caller may read: live, of its organization, of a live agent. */
export function visibleMemories(context: Context): Prisma.MemoryWhereInput {
  return { ...liveRowsOf(context), agent: live };
}

const MemoryFilter = builder.inputType('MemoryFilter', {
  fields: (t) => ({
    agentId: t.id(),
    userId: t.id(),
    memoryType: t.field({ type: MemoryTypeEnum }),
    scope: t.string(),
    level: t.string(),
  }),
});

const MemoryOrderField = builder.enumType('MemoryOrderField', {
  values: { IMPORTANCE: { value: 'importance' }, CREATED_AT: { value: 'createdAt' }, LAST_ACCESSED: { value: 'lastAccessed' } } as const,
});

const MemoryOrder = builder.inputType('MemoryOrder', {
  fields: (t) => ({
    field: t.field({ type: MemoryOrderField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: 'desc' }),
  }),
});

function filteredColumns(filter: typeof MemoryFilter.$inferInput | null | undefined): MemoryColumns {
  return {
    ...(filter?.agentId != null && { agentId: String(filter.agentId) }),
    ...(filter?.userId != null && { userId: String(filter.userId) }),
    ...(filter?.memoryType != null && { memoryType: filter.memoryType }),
    ...(filter?.scope != null && { scope: filter.scope }),
    ...(filter?.level != null && { level: filter.level }),
  };
}

function memoryWhere(context: Context, filter: typeof MemoryFilter.$inferInput | null | undefined, deleted: boolean | null | undefined): Prisma.MemoryWhereInput {
  // The trash holds the memories deleted one by one; those of a deleted agent come back with it.
  return { ...(deleted ? listedRowsOf(context, deleted) : visibleMemories(context)), ...filteredColumns(filter) };
}

function memoryOrder(order: typeof MemoryOrder.$inferInput | null | undefined): Prisma.MemoryOrderByWithRelationInput[] {
  const direction = order?.direction ?? 'desc';
  if (!order) return [{ createdAt: 'asc' }, { id: 'asc' }];
  // Never-accessed memories come last whichever the direction.
  const primary = order.field === 'lastAccessed' ? { lastAccessed: { sort: direction, nulls: 'last' as const } } : { [order.field]: direction };
  return [primary, { id: direction }];
}

builder.queryFields((t) => ({
  memories: t.prismaConnection({
    type: MemoryType,
    ...connectionOptions,
    description: 'Memories by agent, user, type, scope and level; the most important or most recently accessed first.',
    args: { filter: t.arg({ type: MemoryFilter }), orderBy: t.arg({ type: MemoryOrder }), deleted: t.arg.boolean({ defaultValue: false, description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.' }) },
    totalCount: (_root, args, context) => context.prisma.memory.count({ where: memoryWhere(context, args.filter, args.deleted) }),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.memory.findMany({ ...query, where: memoryWhere(context, args.filter, args.deleted), orderBy: memoryOrder(args.orderBy) });
    },
  }),
  memory: t.prismaField({
    type: MemoryType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => context.prisma.memory.findFirst({ ...query, where: { ...visibleMemories(context), id: String(args.id) } }),
  }),
}));

/** A search hit: the memory, and how well it matched. */
interface MemorySearchHitShape {
  memory: Prisma.MemoryGetPayload<object>;
  rank: number;
}

const MemorySearchHit = builder.objectRef<MemorySearchHitShape>('MemorySearchHit').implement({
  description: 'A memory that matched a search.',
  fields: (t) => ({
    memory: t.field({ type: MemoryType, resolve: (hit) => hit.memory }),
    rank: t.exposeFloat('rank', { description: 'How well it matched (ts_rank): higher is better, comparable within one search.' }),
  }),
});

const DEFAULT_SEARCH_RESULTS = 10;

const searchText = z.string().trim().min(1, 'must not be empty').pipe(text(1000));

builder.queryField('searchMemories', (t) =>
  t.field({
    type: [MemorySearchHit],
    description:
      'Full-text search of memory content (English stemming; web-search syntax: words, "quoted phrases", or, -excluded), best matches first.',
    args: {
      query: t.arg.string({ required: true }),
      filter: t.arg({ type: MemoryFilter }),
      limit: t.arg.int({ defaultValue: DEFAULT_SEARCH_RESULTS, description: `At most ${MAX_PAGE_SIZE}.` }),
    },
    resolve: async (_root, args, context, info) => {
      const query = parseInput(searchText, args.query, ['query']);
      const limit = listLimit(args.limit, DEFAULT_SEARCH_RESULTS);
      const search = { organizationId: requireCaller(context).organizationId, query, limit, ...filteredColumns(args.filter) };
      // One statement when the selection under `memory` is made of its columns: the matches and
      // the memories together (src/memories/search.ts).
      const hit = selectionOf(info.fieldNodes, 'MemorySearchHit', info);
      const columns = context.fastReads ? selectedColumns(selectionOf(hit.get('memory') ?? [], 'Memory', info), memoryColumns) : undefined;
      if (columns) {
        const rows = await findMatchingMemories(context.sql, search, columns);
        return rows.map((row) => ({ memory: row as unknown as MemorySearchHitShape['memory'], rank: row.rank }));
      }
      const matches = await findMatchingMemories(context.sql, search);
      // Loaded with what the selection under `memory` needs, so its relations cost no more queries.
      const memories = await context.prisma.memory.findMany({
        ...queryFromInfo({ context, info, typeName: 'Memory', path: ['memory'] }),
        where: { ...visibleMemories(context), id: { in: matches.map((match) => String(match.id)) } },
      });
      const byId = new Map(memories.map((memory) => [memory.id, memory]));
      return matches.flatMap((match) => {
        const memory = byId.get(String(match.id));
        return memory ? [{ memory, rank: match.rank }] : [];
      });
    },
  }),
);

// What creation requires is non-null here; a memory's agent and user never change. The content
// hash is the server's (src/memories/content-hash.ts), never a client's.
const CreateMemoryInput = builder.inputType('CreateMemoryInput', {
  fields: (t) => ({
    agentId: t.id({ required: true }),
    userId: t.id({ description: 'Default: the caller.' }),
    content: t.string({ required: true, description: `1 to ${MAX_MEMORY_CONTENT} characters.` }),
    metadata: t.field({ type: 'JSON', description: 'A JSON object; default {}.' }),
    score: t.float(),
    memoryType: t.field({ type: MemoryTypeEnum, required: true }),
    scope: t.string({ required: true, description: '1 to 50 characters, e.g. user.' }),
    level: t.string({ required: true, description: '1 to 50 characters, e.g. core.' }),
    importance: t.float({ description: 'Default 0.' }),
  }),
});

const UpdateMemoryInput = builder.inputType('UpdateMemoryInput', {
  description: 'The fields to change. A memory cannot move to another agent or user.',
  fields: (t) => ({
    content: t.string(),
    metadata: t.field({ type: 'JSON' }),
    score: t.float(),
    memoryType: t.field({ type: MemoryTypeEnum }),
    scope: t.string(),
    level: t.string(),
    importance: t.float(),
  }),
});

const memoryFields = z.object({
  content: text(MAX_MEMORY_CONTENT).refine((value) => value.trim() !== '', 'must not be empty'),
  metadata: z.record(z.string(), z.unknown(), 'must be a JSON object'),
  score: real.nullable(),
  memoryType: storedEnum(memoryTypes),
  scope: label,
  level: label,
  importance: real,
});
const createMemorySchema = memoryFields
  .extend({ agentId: z.string(), userId: z.string().nullish() })
  .partial({ metadata: true, score: true, importance: true });
const updateMemorySchema = memoryFields.partial();

export const MAX_MEMORIES_PER_BATCH = 500;

const DEDUPLICATED =
  'True when the agent already had a live memory with the same normalized content (or an earlier input of the same batch had it): that memory was returned, its importance raised to the new one if higher, and nothing was created.';

const CreatedMemoryResult = builder.objectRef<CreatedMemory>('CreatedMemory').implement({
  description: 'What became of one input of createMemories.',
  fields: (t) => ({
    memory: t.prismaField({
      type: MemoryType,
      resolve: (query, result, _args, context) => context.prisma.memory.findFirstOrThrow({ ...query, where: { id: result.memoryId } }),
    }),
    deduplicated: t.exposeBoolean('deduplicated', { description: DEDUPLICATED }),
  }),
});

const MemoriesPayload = builder.objectRef<{ results: CreatedMemory[] }>('MemoriesPayload').implement({
  fields: (t) => ({
    memories: t.prismaField({
      type: [MemoryType],
      description: 'In the order given; a deduplicated input gives the memory it was the same as.',
      resolve: async (query, payload, _args, context) => {
        const rows = await context.prisma.memory.findMany({ ...query, where: { id: { in: payload.results.map((result) => result.memoryId) } } });
        const byId = new Map(rows.map((row) => [row.id, row]));
        return payload.results.flatMap((result) => byId.get(result.memoryId) ?? []);
      },
    }),
    results: t.field({ type: [CreatedMemoryResult], description: 'Each input in the order given: its memory, and whether it was deduplicated.', resolve: (payload) => payload.results }),
  }),
});

const MemoryPayload = builder.objectRef<{ memoryId: string; deduplicated?: boolean }>('MemoryPayload').implement({
  fields: (t) => ({
    memory: t.prismaField({
      type: MemoryType,
      resolve: (query, payload, _args, context) => context.prisma.memory.findFirstOrThrow({ ...query, where: { id: payload.memoryId } }),
    }),
    deduplicated: t.boolean({ description: `On createMemory: ${DEDUPLICATED} Always false on other mutations.`, resolve: (payload) => payload.deduplicated ?? false }),
  }),
});

builder.mutationFields((t) => ({
  createMemory: t.field({
    type: MemoryPayload,
    errors: { types: commonMutationErrors },
    args: { input: t.arg({ type: CreateMemoryInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(createMemorySchema, args.input, ['input']);
      const [created] = await context.prisma.$transaction((tx) => createMemories(context, tx, [input], () => ['input']));
      // A deduplicated memory may have had its importance raised: its subscribers hear of a change.
      announceChanges(context, created!.deduplicated ? 'updated' : 'created', [{ id: created!.memoryId, agentId: input.agentId }]);
      return created!;
    },
  }),
  createMemories: t.field({
    type: MemoriesPayload,
    description: `Creates up to ${MAX_MEMORIES_PER_BATCH} memories, all or none, deduplicated by content as createMemory is.`,
    errors: { types: commonMutationErrors },
    args: { inputs: t.arg({ type: [CreateMemoryInput], required: true }) },
    resolve: async (_root, args, context) => {
      const inputs = parseInput(z.array(createMemorySchema).min(1).max(MAX_MEMORIES_PER_BATCH), args.inputs, ['inputs']);
      const results = await context.prisma.$transaction((tx) => createMemories(context, tx, inputs, (index) => ['inputs', String(index)]));
      for (const change of ['created', 'updated'] as const) {
        const changed = results.flatMap((result, index) => ((result.deduplicated ? 'updated' : 'created') === change ? [{ id: result.memoryId, agentId: inputs[index]!.agentId }] : []));
        if (changed.length > 0) announceChanges(context, change, changed);
      }
      return { results };
    },
  }),
  updateMemory: t.field({
    type: MemoryPayload,
    description: 'Changes a memory. New content that another live memory of the agent already has is a CONFLICT.',
    errors: { types: commonMutationErrors },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateMemoryInput, required: true }) },
    resolve: async (_root, args, context) => {
      const { metadata, ...input } = parseInput(updateMemorySchema, args.input, ['input']);
      const id = String(args.id);
      await context.prisma.$transaction(async (tx) => {
        const hash = input.content === undefined ? undefined : contentHash(input.content);
        if (hash !== undefined) await requireUniqueContent(context, tx, id, hash, ['input', 'content']);
        const count = await withHistory(tx, context, [id], 'update', async () => {
          const changed = await tx.memory.updateMany({
            where: { id, ...visibleMemories(context) },
            data: { ...input, ...(hash !== undefined && { hash }), ...(metadata !== undefined && { metadata: metadata as Prisma.InputJsonValue }), ...updatedBy(context) },
          });
          return changed.count;
        });
        if (count === 0) throw new NotFoundError('Memory', id, ['id']);
      });
      // Purged since by someone else: its PURGED event tells the subscribers.
      const updated = await context.prisma.memory.findFirst({ where: { id, ...allRowsOf(context) }, select: { agentId: true } });
      if (updated) announceChanges(context, 'updated', [{ id, agentId: updated.agentId }]);
      return { memoryId: id };
    },
  }),
}));

addLifecycleMutations({
  entity: 'Memory',
  table: (prisma) => prisma.memory,
  payload: MemoryPayload,
  toPayload: (id) => ({ memoryId: id }),
  // Deleting and restoring a memory are in its history; a restored memory must not duplicate a live one.
  recordChange: async (context, tx, id, isDeleted, change) => {
    if (!isDeleted) {
      const memory = await tx.memory.findFirst({ where: { id, ...allRowsOf(context), isDeleted: true }, select: { hash: true } });
      if (memory?.hash) await requireUniqueContent(context, tx, id, memory.hash, ['id']);
    }
    return withHistory(tx, context, [id], isDeleted ? 'delete' : 'restore', change);
  },
  beforeChange: async (context, change, id) => {
    const memory = await context.prisma.memory.findFirst({ where: { id, ...allRowsOf(context) }, select: { agentId: true } });
    return () => memory && announceChanges(context, change, [{ id, agentId: memory.agentId }]);
  },
});

/** Tells the subscribers of each memory's agent (one event per agent, in the given order). */
export function announceChanges(context: Context, change: MemoryChange, memories: Array<{ id: string; agentId: string }>): void {
  const { organizationId } = requireCaller(context);
  const byAgent = new Map<string, string[]>();
  for (const { id, agentId } of memories) byAgent.set(agentId, [...(byAgent.get(agentId) ?? []), id]);
  for (const [agentId, memoryIds] of byAgent) context.live.publish({ kind: 'memoryChanged', change, organizationId, agentId, memoryIds });
}

const MemoryChangeKind = builder.enumType('MemoryChangeKind', {
  values: {
    CREATED: { value: 'created' },
    UPDATED: { value: 'updated' },
    DELETED: { value: 'deleted', description: 'Soft-deleted: hidden from every read, but restorable.' },
    RESTORED: { value: 'restored' },
    PURGED: { value: 'purged', description: 'Deleted for good: `memory` is null.' },
  } as const satisfies Record<string, { value: MemoryChange; description?: string }>,
});

interface MemoryChangeShape {
  change: MemoryChange;
  memoryId: string;
  memory: Prisma.MemoryGetPayload<object> | null;
}

const MemoryChangeType = builder.objectRef<MemoryChangeShape>('MemoryChange').implement({
  description: "A change to one of an agent's memories.",
  fields: (t) => ({
    kind: t.field({ type: MemoryChangeKind, resolve: (event) => event.change }),
    memoryId: t.exposeID('memoryId'),
    memory: t.field({
      type: MemoryType,
      nullable: true,
      description: 'The memory as it is after the change (after DELETED too, soft-deleted); null after PURGED.',
      resolve: (event) => event.memory,
    }),
  }),
});

builder.subscriptionField('memoryChanged', (t) =>
  t.field({
    type: MemoryChangeType,
    description:
      "Each change to the agent's memories from now on: created, updated, deleted, restored, purged (over Server-Sent Events: POST with Accept: text/event-stream).",
    args: { agentId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, context, info) => {
      const agentId = String(args.agentId);
      await requireLiveAgent(context, context.prisma, agentId, ['agentId']);
      const { organizationId } = requireCaller(context);
      const events = await context.live.listen('memoryChanged', organizationId, agentId);
      const query = queryFromInfo({ context, info, typeName: 'Memory', path: ['memory'] });
      return rowsOf(events, async ({ change, memoryIds }): Promise<MemoryChangeShape[]> => {
        if (change === 'purged') return memoryIds.map((memoryId) => ({ change, memoryId, memory: null }));
        // Read by the subscriber, under its own scope (as messageAdded's); deleted ones too (their
        // change is the news).
        const memories = await context.prisma.memory.findMany({ ...query, where: { ...allRowsOf(context), agentId, id: { in: memoryIds } } });
        const byId = new Map(memories.map((memory) => [memory.id, memory]));
        // A memory purged since its change is not there any more: its PURGED event follows.
        return memoryIds.flatMap((memoryId) => {
          const memory = byId.get(memoryId);
          return memory ? [{ change, memoryId, memory }] : [];
        });
      });
    },
    resolve: (event) => event,
  }),
);
