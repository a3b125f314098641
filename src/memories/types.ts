import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLObjectType } from 'graphql';
import { z } from 'zod';
import type { Context } from '../context/types';
import { ConflictError, NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { currentRequestFacts } from '../http/request-id';
import type { MemoryChange } from '../live/events';
import { rowsOf } from '../live/rows';
import { readOnce } from '../live/shared-reads';
import { planObject, SHOWN } from '../planner/compile';
import { column, connection, liveRows, object, organizationRows, prismaFragment, relatedRows, timestamp, type RowsScope } from '../planner/declarations';
import { builder } from '../schema/builder';
import { maxItems } from '../schema/list-caps';
import { addDeletionFields } from '../schema/deletion-fields';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { SortDirection } from '../schema/ordering';
import { assertPageSize, connectionOptions, listLimit, MAX_PAGE_SIZE } from '../schema/pagination';
import { payloadRow } from '../schema/payloads';
import { label, MAX_MEMORY_CONTENT, real, storedEnum, text } from '../schema/rules';
import { allRowsOf, listedRowsOf, live, liveRowsOf, requireLiveAgent, updatedBy } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { selectionOf } from '../schema/selection';
import { contentHash } from './content-hash';
import { createMemories, lockContent, type CreatedMemory } from './creation';
import { MemoryFilter, memoryFilterConditions, type MemoryFilterInput } from './filter';
import { withHistory } from './history';
import { countMemories, memoryPageIds, sortKey, type MemoryListOrder, type MemoryListPage } from './list';
import { MemoryTypeEnum, memoryTypes } from './memory-type';
import { findMatchingMemories, type MemorySearch, type MemorySearchRow } from './search';

export { MemoryTypeEnum };

export const MemoryType = builder.prismaObject('Memory', {
  description: 'A long-term memory of an agent about a user.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    userId: t.exposeID('userId', { sql: column('user_id') }),
    agentId: t.exposeID('agentId', { sql: column('agent_id') }),
    content: t.exposeString('content', { sql: column('content') }),
    hash: t.exposeString('hash', { sql: column('hash'),
      nullable: true,
      description: 'SHA-256 (hex) of the normalized content (NFKC, lower case, whitespace collapsed and trimmed): memories of an agent are deduplicated by it.',
    }),
    metadata: t.expose('metadata', { sql: column('metadata'), type: 'JSON' }),
    score: t.exposeFloat('score', { sql: column('score'), nullable: true }),
    memoryType: t.field({ type: MemoryTypeEnum, sql: column('memory_type'), resolve: (memory) => memory.memoryType as typeof MemoryTypeEnum.$inferType }),
    scope: t.exposeString('scope', { sql: column('scope') }),
    level: t.exposeString('level', { sql: column('level') }),
    importance: t.exposeFloat('importance', { sql: column('importance') }),
    accessCount: t.int({ sql: column('access_count'), resolve: (memory) => Number(memory.accessCount) }),
    lastAccessed: t.expose('lastAccessed', { sql: timestamp('last_accessed'), type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    createdById: t.exposeID('createdById', { sql: column('created_by_id'), nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { sql: column('last_updated_by_id'), nullable: true }),
    user: t.relation('user', { sql: object(relatedRows('users', 'id', 'user_id')) }),
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

const MemoryOrderField = builder.enumType('MemoryOrderField', {
  values: { IMPORTANCE: { value: 'importance' }, CREATED_AT: { value: 'createdAt' }, LAST_ACCESSED: { value: 'lastAccessed' } } as const,
});

const MemoryOrder = builder.inputType('MemoryOrder', {
  fields: (t) => ({
    field: t.field({ type: MemoryOrderField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: 'desc' }),
  }),
});

const trackArgument = {
  type: 'Boolean',
  defaultValue: true,
  description: 'Count what this returns as accessed (access_count + 1, last_accessed = now), once the response is settled; false: only look.',
} as const;

/** Memories the caller may read, as conditions on a planned row (visibleMemories, in SQL). */
function visibleMemoryRows(scope: RowsScope): string[] {
  return [...organizationRows(scope), ...liveRows(scope), `EXISTS (SELECT 1 FROM agents a WHERE a.id = ${scope.row}.agent_id AND NOT a.is_deleted)`];
}

/** The ids of the memories a planned page shows. */
function shownIdsOf(answer: unknown): string[] {
  return ((answer as Record<string, unknown> | null)?.[SHOWN] as string[] | undefined) ?? [];
}

/** Whether a read counts: `track` unless false, and never inside a mutation's payload. */
function countAsRead(context: Context, track: boolean | null | undefined, ids: Iterable<string>): void {
  if (track !== false) context.memoryAccesses.record(ids);
}

/** The rows a connection shows of those read for Pothos's `take`: it reads one more, to tell whether there is a next page. */
function shownRows<T>(rows: T[], take: number): T[] {
  if (rows.length < Math.abs(take)) return rows;
  return take < 0 ? rows.slice(1) : rows.slice(0, -1);
}

builder.queryFields((t) => ({
  memories: t.prismaConnection({
    type: MemoryType,
    ...connectionOptions,
    description: 'Memories by agent, user, types, scopes, levels, metadata and creation time; the most important or most recently accessed first.',
    args: {
      filter: t.arg({ type: MemoryFilter }),
      orderBy: t.arg({ type: MemoryOrder }),
      track: t.arg(trackArgument),
      deleted: t.arg.boolean({ defaultValue: false, description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only (never counted as accessed).' }),
    },
    totalCount: (_root, args, context) => {
      listedRowsOf(context, args.deleted); // the trash is for admin keys: FORBIDDEN otherwise
      return countMemories(context.sql, { organizationId: context.caller.organizationId, filter: args.filter, deleted: args.deleted });
    },
    // The trash (admin only) is read by the resolver. Keyset pages, as memoryListStatement reads them.
    sql: connection(
      {
        table: 'memories',
        where: (scope) => {
          if (scope.args.deleted) return undefined;
          const filter = scope.args.filter as MemoryFilterInput | null | undefined;
          return [...visibleMemoryRows(scope), ...memoryFilterConditions(filter, ['filter'], scope.row).map((condition) => prismaFragment(condition, scope.bind))];
        },
      },
      (args) => {
        const order = args.orderBy as MemoryListOrder | null | undefined;
        return { columns: (row) => [sortKey(order, row), `${row}.id`], direction: (order?.direction ?? 'asc') === 'asc' ? 'ASC' : 'DESC' };
      },
      connectionOptions,
      { cursor: 'strict', shownIds: true, onAnswer: (answer, args, context) => countAsRead(context, args.track as boolean | null, shownIdsOf(answer)) },
    ),
    resolve: async (query, _root, args, context) => {
      assertPageSize(args);
      // The trash holds the memories deleted one by one; those of a deleted agent come back with it.
      const rowsWhere = args.deleted ? listedRowsOf(context, args.deleted) : visibleMemories(context);
      const { take, skip, cursor, ...selection } = query as typeof query & MemoryListPage;
      const list = { organizationId: context.caller.organizationId, filter: args.filter, orderBy: args.orderBy, deleted: args.deleted };
      const ids = await memoryPageIds(context.sql, list, { take, skip, cursor });
      if (ids.length === 0) return [];
      const rows = await context.prisma.memory.findMany({ ...selection, where: { ...rowsWhere, id: { in: ids } } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      const page = ids.flatMap((id) => byId.get(id) ?? []);
      if (!args.deleted) countAsRead(context, args.track, shownRows(page, take).map((row) => row.id));
      return page;
    },
  }),
  memory: t.prismaField({
    type: MemoryType,
    nullable: true,
    args: { id: t.arg.id({ required: true }), track: t.arg(trackArgument) },
    sql: object(
      { table: 'memories', where: (scope) => [`${scope.row}.id = ${scope.bind(String(scope.args.id))}`, ...visibleMemoryRows(scope)] },
      (answer, args, context) => {
        if (answer !== null) countAsRead(context, args.track as boolean | null, [(answer as { id: string }).id]);
      },
    ),
    resolve: async (query, _root, args, context) => {
      const memory = await context.prisma.memory.findFirst({ ...query, where: { ...visibleMemories(context), id: String(args.id) } });
      if (memory) countAsRead(context, args.track, [memory.id]);
      return memory;
    },
  }),
}));

/** How a hit's score is made (README, "Ranked recall"): each part from 0 to 1, before its weight. */
interface ScoreBreakdownShape {
  text: number;
  importance: number;
  recency: number;
  use: number;
}

/** A search hit: the memory, its score and the score's parts, and a snippet if asked for. */
interface MemorySearchHitShape {
  memory: Prisma.MemoryGetPayload<object>;
  score: number;
  breakdown: ScoreBreakdownShape;
  snippet: string | null;
}

const ScoreBreakdown = builder.objectRef<ScoreBreakdownShape>('ScoreBreakdown').implement({
  description: 'The parts of a search score, each from 0 to 1 before its weight (the SEARCH_WEIGHT_* settings).',
  fields: (t) => ({
    text: t.exposeFloat('text', { description: 'Text relevance: ts_rank_cd, normalized to rank / (rank + 1).' }),
    importance: t.exposeFloat('importance', { description: 'The memory\'s importance, clamped to 0..1.' }),
    recency: t.exposeFloat('recency', { description: '0.5 ^ (age / SEARCH_RECENCY_HALF_LIFE_DAYS), from the last access, or the creation if never accessed.' }),
    use: t.exposeFloat('use', { description: 'access_count / (access_count + SEARCH_USE_HALF_COUNT).' }),
  }),
});

const MemorySearchHit = builder.objectRef<MemorySearchHitShape>('MemorySearchHit').implement({
  description: 'A memory that matched a search.',
  fields: (t) => ({
    memory: t.field({ type: MemoryType, resolve: (hit) => hit.memory }),
    score: t.exposeFloat('score', { description: 'The weighted sum of the breakdown: hits come highest first.' }),
    breakdown: t.field({ type: ScoreBreakdown, resolve: (hit) => hit.breakdown }),
    snippet: t.string({
      description: 'The content around the matched words, which are marked **like this** (ts_headline; fragments joined by " … "). Text, not HTML.',
      resolve: (hit) => hit.snippet ?? '',
    }),
    rank: t.float({ deprecationReason: 'Use score (and breakdown.text for the text relevance alone).', resolve: (hit) => hit.score }),
  }),
});

const DEFAULT_SEARCH_RESULTS = 10;

const searchText = z.string().trim().min(1, 'must not be empty').pipe(text(1000));
const minScoreRule = z.number().finite('must be a finite number');

function hitOf(row: MemorySearchRow, memory: Prisma.MemoryGetPayload<object>): MemorySearchHitShape {
  return {
    memory,
    score: row.hit_score,
    breakdown: { text: row.hit_text, importance: row.hit_importance, recency: row.hit_recency, use: row.hit_use },
    snippet: row.hit_snippet ?? null,
  };
}

builder.queryField('searchMemories', (t) =>
  t.field({
    type: [MemorySearchHit],
    description:
      'Full-text search of memory content (English stemming; web-search syntax: words, "quoted phrases", or, -excluded), ' +
      'ranked by one score of text relevance, importance, recency and use (see ScoreBreakdown). A query with no words to ' +
      'search for (empty, or only stop words) is a VALIDATION error.',
    args: {
      query: t.arg.string({ required: true }),
      filter: t.arg({ type: MemoryFilter }),
      minScore: t.arg.float({ description: 'Leave out hits scoring less.' }),
      limit: t.arg.int({ defaultValue: DEFAULT_SEARCH_RESULTS, description: `At most ${MAX_PAGE_SIZE}.` }),
      track: t.arg(trackArgument),
    },
    resolve: async (_root, args, context, info) => {
      const query = parseInput(searchText, args.query, ['query']);
      const limit = listLimit(args.limit, DEFAULT_SEARCH_RESULTS);
      const minScore = args.minScore == null ? null : parseInput(minScoreRule, args.minScore, ['minScore']);
      const hit = selectionOf(info.fieldNodes, 'MemorySearchHit', info);
      const caller = context.caller;
      const search: MemorySearch = {
        organizationId: caller.organizationId,
        query,
        limit,
        filter: args.filter,
        minScore,
        ranking: context.ranking,
        snippet: hit.has('snippet'),
      };
      if (context.fastReads) {
        // One statement: the hits, each with its memory planned for what the request selects of it.
        const memory = planObject(info.schema.getType('Memory') as GraphQLObjectType, hit.get('memory') ?? [], 'm', {
          fragments: info.fragments,
          variableValues: info.variableValues,
          organizationId: caller.organizationId,
          userId: caller.userId,
        });
        currentRequestFacts()?.planFallbacks.push(...memory.fallbacks);
        const rows = await findMatchingMemories(context.sql, search, memory.sql);
        countAsRead(context, args.track, rows.map((row) => row.id));
        // A planned object, which Memory's fields answer from (src/planner/plugin.ts).
        return rows.map((row) => hitOf(row, row.hit_memory as MemorySearchHitShape['memory']));
      }
      const matches = await findMatchingMemories(context.sql, search);
      // Loaded with what the selection under `memory` needs, so its relations cost no more queries.
      const memories = await context.prisma.memory.findMany({
        ...queryFromInfo({ context, info, typeName: 'Memory', path: ['memory'] }),
        where: { ...visibleMemories(context), id: { in: matches.map((match) => String(match.id)) } },
      });
      const byId = new Map(memories.map((memory) => [memory.id, memory]));
      const hits = matches.flatMap((match) => {
        const memory = byId.get(String(match.id));
        return memory ? [hitOf(match, memory)] : [];
      });
      countAsRead(context, args.track, hits.map((found) => found.memory.id));
      return hits;
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
      resolve: (query, result, _args, context) => payloadRow(context.prisma.memory, query, result.memoryId),
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
      resolve: (query, payload, _args, context) => payloadRow(context.prisma.memory, query, payload.memoryId),
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
    args: { inputs: t.arg({ type: [CreateMemoryInput], required: true, extensions: maxItems(MAX_MEMORIES_PER_BATCH), description: `At most ${MAX_MEMORIES_PER_BATCH}.` }) },
    resolve: async (_root, args, context) => {
      const inputs = parseInput(z.array(createMemorySchema).min(1).max(MAX_MEMORIES_PER_BATCH), args.inputs, ['inputs']);
      const results = await context.prisma.$transaction((tx) => createMemories(context, tx, inputs, (index) => ['inputs', String(index)]));
      const memories = results.map((result, index) => ({ id: result.memoryId, agentId: inputs[index]!.agentId, deduplicated: result.deduplicated }));
      // A deduplicated memory may have had its importance raised: its subscribers hear of a change.
      announceChanges(context, 'created', memories.filter((memory) => !memory.deduplicated));
      announceChanges(context, 'updated', memories.filter((memory) => memory.deduplicated));
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
  const { organizationId } = context.caller;
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
      const { organizationId } = context.caller;
      const events = await context.live.listen('memoryChanged', organizationId, agentId);
      const query = queryFromInfo({ context, info, typeName: 'Memory', path: ['memory'] });
      return rowsOf(events, async (event): Promise<MemoryChangeShape[]> => {
        const { change, memoryIds } = event;
        if (change === 'purged') return memoryIds.map((memoryId) => ({ change, memoryId, memory: null }));
        // Read once per event for every subscriber sharing its organization, agent and relations
        // (as messageAdded's); deleted ones too (their change is the news).
        const memories = await readOnce(event, { organizationId, agentId, query }, () =>
          context.prisma.memory.findMany({ ...query, where: { ...allRowsOf(context), agentId, id: { in: memoryIds } } }),
        );
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
