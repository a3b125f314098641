import { z } from 'zod';
import { MAX_EMBEDDING_DIMENSIONS } from '../config/settings';
import type { Context } from '../context/types';
import { AlreadySupersededError, ConflictError, NotFoundError, SemanticRecallUnavailableError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { builder } from '../schema/builder';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { maxItems } from '../schema/list-caps';
import { payloadRow } from '../schema/payloads';
import { label, MAX_MEMORY_CONTENT, name, real, storedEnum, text } from '../schema/rules';
import { allRowsOf, liveRowsOf, updatedBy } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { contentHash } from './content-hash';
import { type CreatedMemory, createMemories, lockContent } from './creation';
import { checkDimensions, clearEmbedding, embeddingInput, embeddingModel, storeEmbeddings } from './embeddings';
import { withHistory } from './history';
import { MemoryTypeEnum, memoryTypes } from './memory-type';
import { announceChanges } from './subscriptions';
import { invalidateMemory } from './supersession';
import { MemoryType } from './type';
import { dedupeCandidates } from './validity';
import { visibleMemories } from './visibility';

/**
 * Refuses to give memory `id` content (its `hash`) that another fact of its agent that still holds
 * already has, with CONFLICT naming that memory. Takes the content's lock first, as creation does.
 */
async function requireUniqueContent(
  context: Context,
  tx: Prisma.TransactionClient,
  id: string,
  hash: string,
  field: string[],
): Promise<void> {
  const memory = await tx.memory.findFirst({ where: { id, ...allRowsOf(context) }, select: { agentId: true } });
  if (!memory) return; // the change itself answers NOT_FOUND
  await lockContent(tx, memory.agentId, hash);
  const same = await tx.memory.findFirst({
    where: { ...liveRowsOf(context), ...dedupeCandidates(), agentId: memory.agentId, hash, id: { not: id } },
    select: { id: true },
  });
  if (same)
    throw new ConflictError(`memory ${JSON.stringify(same.id)} of the same agent already has this content`, field);
}

// What creation requires is non-null here; a memory's agent and user never change. The content
// hash is the server's (src/memories/content-hash.ts), never a client's.
/** A memory write with a vector meets pgvector, or its absence. */
const memoryWriteErrors = [...commonMutationErrors, SemanticRecallUnavailableError];
/** One that supersedes may find its memory superseded already. */
const supersedingWriteErrors = [...memoryWriteErrors, AlreadySupersededError];

const EMBEDDING_DESCRIPTION =
  "The content's embedding, EMBEDDINGS_DIMENSIONS finite numbers, stored with pgvector. " +
  'SEMANTIC_RECALL_UNAVAILABLE where the server has no pgvector.';
const EMBEDDING_MODEL_DESCRIPTION =
  'The model that made `embedding`, up to 255 characters. Default: the EMBEDDINGS_MODEL setting.';

const DedupeInput = builder.inputType('DedupeInput', {
  description: 'How createMemory and createMemories deduplicate an input by its content.',
  fields: (t) => ({
    reviveSuperseded: t.boolean({
      defaultValue: false,
      description:
        'Also merge into a fact of the agent that no longer holds (superseded or ended, not expired nor deleted) ' +
        'when none that holds has the same content: that memory is returned, deduplicated, its period unchanged. ' +
        'Default false: storing a superseded fact again creates a new fact.',
    }),
  }),
});

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
    embedding: t.floatList({ description: EMBEDDING_DESCRIPTION, extensions: maxItems(MAX_EMBEDDING_DIMENSIONS) }),
    embeddingModel: t.string({ description: EMBEDDING_MODEL_DESCRIPTION }),
    ...validityInputFields(t),
    supersedes: t.idList({
      description:
        `The memories this one replaces, at most ${MAX_SUPERSEDED}: in the same transaction each gets validUntil = ` +
        "this one's validFrom and supersededBy = this one, and its history a SUPERSEDE entry. One already " +
        'superseded is an AlreadySupersededError naming its successor.',
      extensions: maxItems(MAX_SUPERSEDED),
    }),
    dedupe: t.field({ type: DedupeInput, description: 'How this input is deduplicated; default: never revive.' }),
  }),
});

const SupersedeMemoryInput = builder.inputType('SupersedeMemoryInput', {
  description:
    "The memory that replaces another. Every field but content defaults to the superseded memory's (its agent, " +
    'user, type, scope, level, metadata, importance), not its embedding or period.',
  fields: (t) => ({
    content: t.string({ required: true, description: `1 to ${MAX_MEMORY_CONTENT} characters.` }),
    userId: t.id(),
    metadata: t.field({ type: 'JSON' }),
    score: t.float(),
    memoryType: t.field({ type: MemoryTypeEnum }),
    scope: t.string(),
    level: t.string(),
    importance: t.float(),
    embedding: t.floatList({ description: EMBEDDING_DESCRIPTION, extensions: maxItems(MAX_EMBEDDING_DIMENSIONS) }),
    embeddingModel: t.string({ description: EMBEDDING_MODEL_DESCRIPTION }),
    ...validityInputFields(t),
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
    embedding: t.floatList({
      description: `${EMBEDDING_DESCRIPTION} New content without a new embedding drops the old one.`,
      extensions: maxItems(MAX_EMBEDDING_DIMENSIONS),
    }),
    embeddingModel: t.string({ description: EMBEDDING_MODEL_DESCRIPTION }),
  }),
});

/** The most memories one input may supersede. */
const MAX_SUPERSEDED = 100;

type InputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];

/** When a new memory's fact holds, and for how long the memory is kept. */
function validityInputFields(t: InputFieldBuilder) {
  return {
    validFrom: t.field({
      type: 'DateTime',
      description:
        'When the fact became true. Default: now (when superseding: never before the superseded ones became true).',
    }),
    validUntil: t.field({
      type: 'DateTime',
      description: 'When it stopped being true, for a fact of the past; not before validFrom. Default: it holds.',
    }),
    expiresAt: t.field({
      type: 'DateTime',
      description:
        'A time to live, in the future: from then on no read returns the memory, and a sweep later moves it to the ' +
        'trash. Default: never.',
    }),
  };
}

const validityFields = {
  validFrom: z.date().nullish(),
  validUntil: z.date().nullish(),
  expiresAt: z.date().nullish(),
};

const memoryFields = z.object({
  content: text(MAX_MEMORY_CONTENT).refine((value) => value.trim() !== '', 'must not be empty'),
  metadata: z.record(z.string(), z.unknown(), 'must be a JSON object'),
  score: real.nullable(),
  memoryType: storedEnum(memoryTypes),
  scope: label,
  level: label,
  importance: real,
});
const embeddingFields = { embedding: embeddingInput.nullish(), embeddingModel: name.nullish() };
const createMemorySchema = memoryFields
  .extend({
    agentId: z.string(),
    userId: z.string().nullish(),
    ...embeddingFields,
    ...validityFields,
    supersedes: z.array(z.string()).max(MAX_SUPERSEDED).nullish(),
    dedupe: z.object({ reviveSuperseded: z.boolean().nullish() }).nullish(),
  })
  .partial({ metadata: true, score: true, importance: true });
const supersedeMemorySchema = memoryFields
  .partial()
  .extend({ content: memoryFields.shape.content, userId: z.string().nullish(), ...embeddingFields, ...validityFields });
const invalidateReason = text(1000).nullish();
const updateMemorySchema = memoryFields.partial().extend(embeddingFields);

const MAX_MEMORIES_PER_BATCH = 500;

const DEDUPLICATED =
  'True when the agent already had a live memory with the same normalized content (or an earlier input of the ' +
  'same batch had it): that memory was returned, its importance raised to the new one if higher, and nothing was ' +
  'created.';

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
        const rows = await context.prisma.memory.findMany({
          ...query,
          where: { id: { in: payload.results.map((result) => result.memoryId) } },
        });
        const byId = new Map(rows.map((row) => [row.id, row]));
        return payload.results.flatMap((result) => byId.get(result.memoryId) ?? []);
      },
    }),
    results: t.field({
      type: [CreatedMemoryResult],
      description: 'Each input in the order given: its memory, and whether it was deduplicated.',
      resolve: (payload) => payload.results,
    }),
  }),
});

const MemoryPayload = builder.objectRef<{ memoryId: string; deduplicated?: boolean }>('MemoryPayload').implement({
  fields: (t) => ({
    memory: t.prismaField({
      type: MemoryType,
      resolve: (query, payload, _args, context) => payloadRow(context.prisma.memory, query, payload.memoryId),
    }),
    deduplicated: t.boolean({
      description: `On createMemory: ${DEDUPLICATED} Always false on other mutations.`,
      resolve: (payload) => payload.deduplicated ?? false,
    }),
  }),
});

builder.mutationFields((t) => ({
  createMemory: t.field({
    type: MemoryPayload,
    errors: { types: supersedingWriteErrors },
    args: { input: t.arg({ type: CreateMemoryInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(createMemorySchema, args.input, ['input']);
      const { results, superseded } = await context.prisma.$transaction((tx) =>
        createMemories(context, tx, [input], () => ['input']),
      );
      const created = results[0]!;
      // A deduplicated memory may have had its importance raised: its subscribers hear of a change.
      announceChanges(context, created.deduplicated ? 'updated' : 'created', [
        { id: created.memoryId, agentId: input.agentId },
      ]);
      announceChanges(context, 'superseded', superseded);
      return created;
    },
  }),
  createMemories: t.field({
    type: MemoriesPayload,
    description: [
      `Creates up to ${MAX_MEMORIES_PER_BATCH} memories, all or none,`,
      'deduplicated by content as createMemory is.',
    ].join(' '),
    errors: { types: supersedingWriteErrors },
    args: {
      inputs: t.arg({
        type: [CreateMemoryInput],
        required: true,
        extensions: maxItems(MAX_MEMORIES_PER_BATCH),
        description: `At most ${MAX_MEMORIES_PER_BATCH}.`,
      }),
    },
    resolve: async (_root, args, context) => {
      const inputs = parseInput(z.array(createMemorySchema).min(1).max(MAX_MEMORIES_PER_BATCH), args.inputs, [
        'inputs',
      ]);
      const { results, superseded } = await context.prisma.$transaction((tx) =>
        createMemories(context, tx, inputs, (index) => ['inputs', String(index)]),
      );
      const memories = results.map((result, index) => ({
        id: result.memoryId,
        agentId: inputs[index]!.agentId,
        deduplicated: result.deduplicated,
      }));
      // A deduplicated memory may have had its importance raised: its subscribers hear of a change.
      announceChanges(
        context,
        'created',
        memories.filter((memory) => !memory.deduplicated),
      );
      announceChanges(
        context,
        'updated',
        memories.filter((memory) => memory.deduplicated),
      );
      announceChanges(context, 'superseded', superseded);
      return { results };
    },
  }),
  supersedeMemory: t.field({
    type: MemoryPayload,
    description:
      'Replaces memory `id` with a new memory, in one transaction: the new one is created (never deduplicated), ' +
      "the old one ends (validUntil = the new one's validFrom, supersededBy = the new one), and both are recorded " +
      'in their history. `memory` is the new one. An old one already superseded is an AlreadySupersededError ' +
      "naming its successor (of two concurrent writers, one wins); another organization's id is NOT_FOUND.",
    errors: { types: supersedingWriteErrors },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: SupersedeMemoryInput, required: true }) },
    resolve: async (_root, args, context) => {
      const id = String(args.id);
      const input = parseInput(supersedeMemorySchema, args.input, ['input']);
      const { results, superseded } = await context.prisma.$transaction(async (tx) => {
        // What the new memory inherits; locked, and checked again, by createMemories.
        const old = await tx.memory.findFirst({ where: { id, ...visibleMemories(context) } });
        if (!old) throw new NotFoundError('Memory', id, ['id']);
        const inherited = {
          agentId: old.agentId,
          userId: old.userId,
          metadata: old.metadata as Record<string, unknown>,
          score: old.score,
          memoryType: old.memoryType,
          scope: old.scope,
          level: old.level,
          importance: old.importance,
        };
        const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
        return createMemories(
          context,
          tx,
          [{ ...inherited, ...defined, content: input.content, supersedes: [id] }],
          () => ['input'],
          () => ['id'],
        );
      });
      const created = results[0]!;
      announceChanges(context, 'created', [{ id: created.memoryId, agentId: superseded[0]!.agentId }]);
      announceChanges(context, 'superseded', superseded);
      return { memoryId: created.memoryId };
    },
  }),
  invalidateMemory: t.field({
    type: MemoryPayload,
    description:
      'Ends a fact without a replacement: validUntil = `at` (default now), recorded in its history as ' +
      'INVALIDATE with `reason`. Reads stop returning it from `at` on (asOf before `at` still does). One already ' +
      'superseded is an AlreadySupersededError; one already ended, a CONFLICT.',
    errors: { types: [...commonMutationErrors, AlreadySupersededError] },
    args: {
      id: t.arg.id({ required: true }),
      at: t.arg({ type: 'DateTime', description: 'When it stopped being true; not before validFrom. Default: now.' }),
      reason: t.arg.string({ description: 'Why, up to 1000 characters: kept in its history.' }),
    },
    resolve: async (_root, args, context) => {
      const id = String(args.id);
      const reason = parseInput(invalidateReason, args.reason, ['reason']) ?? null;
      const { agentId } = await context.prisma.$transaction((tx) =>
        invalidateMemory(context, tx, id, args.at ?? null, reason),
      );
      announceChanges(context, 'invalidated', [{ id, agentId }]);
      return { memoryId: id };
    },
  }),
  updateMemory: t.field({
    type: MemoryPayload,
    description: 'Changes a memory. New content that another live memory of the agent already has is a CONFLICT.',
    errors: { types: memoryWriteErrors },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateMemoryInput, required: true }) },
    resolve: async (_root, args, context) => {
      const {
        metadata,
        embedding,
        embeddingModel: namedModel,
        ...input
      } = parseInput(updateMemorySchema, args.input, ['input']);
      const id = String(args.id);
      if (embedding) checkDimensions(embedding, context.embeddings, ['input', 'embedding']);
      await context.prisma.$transaction(async (tx) => {
        const hash = input.content === undefined ? undefined : contentHash(input.content);
        if (hash !== undefined) await requireUniqueContent(context, tx, id, hash, ['input', 'content']);
        const count = await withHistory(tx, context, [id], 'update', async () => {
          const changed = await tx.memory.updateMany({
            where: { id, ...visibleMemories(context) },
            data: {
              ...input,
              ...(hash !== undefined && { hash }),
              ...(metadata !== undefined && { metadata: metadata as Prisma.InputJsonValue }),
              ...updatedBy(context),
            },
          });
          return changed.count;
        });
        if (count === 0) throw new NotFoundError('Memory', id, ['id']);
        if (embedding)
          await storeEmbeddings(
            tx,
            [{ memoryId: id, vector: embedding, model: embeddingModel(namedModel, context.embeddings) }],
            ['input', 'embedding'],
          );
        else if (input.content !== undefined)
          await clearEmbedding(tx, context.caller.organizationId, id, context.embeddings);
      });
      // Purged since by someone else: its PURGED event tells the subscribers.
      const updated = await context.prisma.memory.findFirst({
        where: { id, ...allRowsOf(context) },
        select: { agentId: true },
      });
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
      const memory = await tx.memory.findFirst({
        where: { id, ...allRowsOf(context), isDeleted: true },
        select: { hash: true },
      });
      if (memory?.hash) await requireUniqueContent(context, tx, id, memory.hash, ['id']);
    }
    if (isDeleted) return withHistory(tx, context, [id], 'delete', change);
    // A memory the sweep moved to the trash comes back without its past expiry: it would stay hidden.
    return withHistory(tx, context, [id], 'restore', async () => {
      const count = await change();
      if (count > 0)
        await tx.memory.updateMany({ where: { id, expiresAt: { lte: new Date() } }, data: { expiresAt: null } });
      return count;
    });
  },
  beforeChange: async (context, change, id) => {
    const memory = await context.prisma.memory.findFirst({
      where: { id, ...allRowsOf(context) },
      select: { agentId: true },
    });
    return () => memory && announceChanges(context, change, [{ id, agentId: memory.agentId }]);
  },
});
