import type { Context } from '../context/types';
import { NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { createdBy, liveRowsOf } from '../schema/tenancy';
import { contentHash } from './content-hash';
import { enqueueEmbeddings } from './embedding-worker';
import { checkDimensions, embeddingModel, storeEmbeddings } from './embeddings';
import { type HistoryEntry, lockSnapshots, recordHistory } from './history';
import { findNearDuplicates } from './near-duplicates';
import { closeSuperseded, lockSuperseded, periodOf, type Supersession } from './supersession';
import { dedupeCandidates, holdsAt, revivableCandidates } from './validity';

/** One memory to create, validated (src/memories/mutations.ts). */
export interface MemoryToCreate {
  agentId: string;
  userId?: string | null;
  content: string;
  metadata?: Record<string, unknown>;
  score?: number | null;
  memoryType: string;
  scope: string;
  level: string;
  importance?: number;
  /** Its embedding, checked for finite numbers but not yet for the deployment's dimensions. */
  embedding?: number[] | null;
  embeddingModel?: string | null;
  /** When the fact became true: now (the transaction's) by default, never before what it supersedes. */
  validFrom?: Date | null;
  /** When it stopped being true: a fact of the past. */
  validUntil?: Date | null;
  expiresAt?: Date | null;
  /** The memories it replaces: each is closed in the same transaction (src/memories/supersession.ts). */
  supersedes?: string[] | null;
  /** `reviveSuperseded`: may merge into a fact that no longer holds when none that holds matches. */
  dedupe?: { reviveSuperseded?: boolean | null } | null;
}

/** Whether an input says anything of its period: such a fact is its own, never merged into another. */
function hasValidity(input: MemoryToCreate): boolean {
  return (
    (input.supersedes?.length ?? 0) > 0 ||
    input.validFrom != null ||
    input.validUntil != null ||
    input.expiresAt != null
  );
}

/** What became of one input: a new memory, or an existing one it was the same as. */
export interface CreatedMemory {
  memoryId: string;
  deduplicated: boolean;
}

const sameContentKey = (agentId: string, hash: string) => `${agentId}:${hash}`;

/**
 * Takes the transaction's advisory lock on each (agent, content hash) of a batch, in one order
 * for every caller, so that two requests creating the same memory take turns: the second finds
 * the first's (PostgreSQL makes a commit visible before it releases the lock). Different
 * contents, or agents, never wait for each other.
 */
async function lockContents(tx: Prisma.TransactionClient, keys: string[]): Promise<void> {
  const sorted = [...new Set(keys)].sort();
  await tx.$queryRawUnsafe(
    `SELECT count(pg_advisory_xact_lock(hashtextextended('memory-content:' || k, 0)))::int AS locked
     FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n OFFSET 0) AS s`,
    sorted,
  );
}

/** `lockContents` for one memory's content. */
export function lockContent(tx: Prisma.TransactionClient, agentId: string, hash: string): Promise<void> {
  return lockContents(tx, [sameContentKey(agentId, hash)]);
}

/** Checks a batch's agents and users, one query each, and NOT_FOUND names the first bad item. */
async function checkOwners(
  context: Context,
  tx: Prisma.TransactionClient,
  inputs: MemoryToCreate[],
  path: (index: number) => string[],
): Promise<void> {
  const agentIds = new Set(
    (
      await tx.agent.findMany({
        where: { id: { in: inputs.map((input) => input.agentId) }, ...liveRowsOf(context) },
        select: { id: true },
      })
    ).map((agent) => agent.id),
  );
  const wantedUsers = inputs.flatMap((input) => (input.userId ? [input.userId] : []));
  const userIds = new Set(
    (await tx.user.findMany({ where: { id: { in: wantedUsers }, ...liveRowsOf(context) }, select: { id: true } })).map(
      (user) => user.id,
    ),
  );
  inputs.forEach((input, index) => {
    if (!agentIds.has(input.agentId)) throw new NotFoundError('Agent', input.agentId, [...path(index), 'agentId']);
    if (input.userId && !userIds.has(input.userId))
      throw new NotFoundError('User', input.userId, [...path(index), 'userId']);
  });
}

/** What createMemories did: each input's memory, and the memories it superseded. */
export interface CreatedMemories {
  results: CreatedMemory[];
  superseded: Array<{ id: string; agentId: string }>;
}

/**
 * Creates memories in `tx`, deduplicated by content: an input whose content hash a fact of its
 * agent that still holds already has (or an earlier input of the same batch) creates nothing; it
 * returns that memory, marked deduplicated, and raises its importance to the input's if that is
 * higher. An input that says anything of its period (supersedes, validFrom, validUntil,
 * expiresAt) is never merged. The memories an input supersedes are locked first, and closed
 * once it exists (valid_until = its valid_from, superseded_by_id = it). Every creation, merge
 * and supersession is recorded in memory_history. `supersedesPath` names where an input's
 * `supersedes[j]` came from, for errors.
 */
export async function createMemories(
  context: Context,
  tx: Prisma.TransactionClient,
  inputs: MemoryToCreate[],
  path: (index: number) => string[],
  supersedesPath: (index: number, position: number) => string[] = (index, position) => [
    ...path(index),
    'supersedes',
    String(position),
  ],
): Promise<CreatedMemories> {
  const caller = context.caller;
  inputs.forEach((input, index) => {
    if (input.embedding) checkDimensions(input.embedding, context.embeddings, [...path(index), 'embedding']);
  });
  await checkOwners(context, tx, inputs, path);
  // Row locks on what is superseded before the content locks: a second writer superseding the same
  // memory waits here, then finds it superseded (CONFLICT naming the winner).
  const supersessions = await lockSuperseded(context, tx, inputs, supersedesPath);
  const periods = inputs.map((input, index) =>
    periodOf(input, supersessions.now, supersessions.byInput[index]!, path(index)),
  );
  const hashes = inputs.map((input) => contentHash(input.content));
  const keys = inputs.map((input, index) => sameContentKey(input.agentId, hashes[index]!));
  await lockContents(tx, keys);

  const mergeable = inputs.filter((input) => !hasValidity(input));
  const now = new Date();
  // Facts that no longer hold are read only when an input asks to revive one.
  const revives = mergeable.some((input) => input.dedupe?.reviveSuperseded === true);
  const existing = await tx.memory.findMany({
    where: {
      ...liveRowsOf(context),
      ...(revives ? revivableCandidates(now) : dedupeCandidates(now)),
      agentId: { in: mergeable.map((input) => input.agentId) },
      hash: { in: mergeable.map((input) => contentHash(input.content)) },
    },
    select: { id: true, agentId: true, hash: true, importance: true, supersededById: true, validUntil: true },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
  // The memory each content key stands for: the oldest live one that holds, or the batch's first;
  // for an input that revives, failing those, the oldest that no longer holds.
  const byKey = new Map<string, { id: string; importance: number; isNew: boolean }>();
  const revivable = new Map<string, { id: string; importance: number; isNew: boolean }>();
  for (const memory of existing) {
    const key = sameContentKey(memory.agentId, memory.hash!);
    const chosen = holdsAt(memory, now) ? byKey : revivable;
    if (!chosen.has(key)) chosen.set(key, { id: memory.id, importance: memory.importance, isNew: false });
  }

  // Near duplicates (MEMORY_DEDUPE_SIMILARITY, off by default): an input with a vector and no
  // stored twin by content merges into its agent's memory nearest in meaning, if near enough.
  const near = await findNearDuplicates(
    tx,
    caller.organizationId,
    inputs.flatMap((input, index) =>
      input.embedding && !hasValidity(input) && !byKey.has(keys[index]!)
        ? [
            {
              index,
              agentId: input.agentId,
              vector: input.embedding,
              model: embeddingModel(input.embeddingModel, context.embeddings),
            },
          ]
        : [],
    ),
    context.embeddings,
    (index) => [...path(index), 'embedding'],
  );

  const rows: Prisma.MemoryCreateManyInput[] = [];
  const successors: Supersession[] = [];
  const results = inputs.map((input, index): CreatedMemory => {
    const key = keys[index]!;
    const importance = input.importance ?? 0;
    const own = hasValidity(input);
    const same = own
      ? undefined
      : (byKey.get(key) ??
        (input.dedupe?.reviveSuperseded === true ? revivable.get(key) : undefined) ??
        near.get(index));
    if (same) {
      same.importance = Math.max(same.importance, importance);
      return { memoryId: same.id, deduplicated: true };
    }
    const {
      metadata,
      userId,
      embedding: _embedding,
      embeddingModel: _model,
      supersedes: _supersedes,
      dedupe: _dedupe,
      validFrom: _validFrom,
      validUntil,
      expiresAt,
      ...columns
    } = input;
    const period = periods[index]!;
    const row = {
      ...columns,
      id: newId('memory'),
      organizationId: caller.organizationId,
      userId: userId ?? caller.userId,
      hash: hashes[index]!,
      metadata: (metadata ?? {}) as Prisma.InputJsonValue,
      ...(period.validFrom && { validFrom: period.validFrom }),
      validUntil: validUntil ?? null,
      expiresAt: expiresAt ?? null,
      ...createdBy(context),
    };
    rows.push(row);
    if (!own) byKey.set(key, { id: row.id, importance, isNew: true });
    for (const old of supersessions.byInput[index]!)
      successors.push({ ...old, successorId: row.id, validFrom: period.validFrom });
    return { memoryId: row.id, deduplicated: false };
  });

  if (rows.length > 0) await tx.memory.createMany({ data: rows });
  await closeSuperseded(context, tx, successors);
  const merged = new Set(results.filter((result) => result.deduplicated).map((result) => result.memoryId));
  const before = await lockSnapshots(tx, [...merged]);
  // Raised where an input was more important than the memory it merged into (the UPDATE compares).
  const raisedTo = new Map<string, number>();
  for (const memory of [...byKey.values(), ...near.values()])
    if (merged.has(memory.id)) raisedTo.set(memory.id, Math.max(raisedTo.get(memory.id) ?? 0, memory.importance));
  const raised = [...raisedTo].map(([id, importance]) => ({ id, importance }));
  if (raised.length > 0) {
    await tx.$executeRawUnsafe(
      `UPDATE memories m SET importance = r.importance, updated_at = now(), last_updated_by_id = $3
       FROM unnest($1::text[], $2::real[]) AS r(id, importance)
       WHERE m.id = r.id AND r.importance > m.importance`,
      raised.map((memory) => memory.id),
      raised.map((memory) => memory.importance),
      caller.userId,
    );
  }
  const entries = results.map(
    (result): HistoryEntry =>
      result.deduplicated
        ? { memoryId: result.memoryId, event: 'dedupe', before: before.get(result.memoryId) ?? null }
        : { memoryId: result.memoryId, event: 'create', before: null },
  );
  for (const old of successors) entries.push({ memoryId: old.id, event: 'supersede', before: old.before });
  await recordHistory(tx, context, entries);
  // A deduplicated input's vector goes to the memory it was the same as: same content, same meaning.
  // One merged by meaning leaves that memory its own vector (and its own words).
  const embedded = inputs.flatMap((input, index) =>
    input.embedding && !(near.has(index) && results[index]!.memoryId === near.get(index)!.id) ? [{ input, index }] : [],
  );
  if (embedded.length > 0) {
    const embeddings = embedded.map(({ input, index }) => ({
      memoryId: results[index]!.memoryId,
      vector: input.embedding!,
      model: embeddingModel(input.embeddingModel, context.embeddings),
    }));
    await storeEmbeddings(tx, embeddings, [...path(embedded[0]!.index), 'embedding']);
  }
  // With a provider, every new memory without a client's vector waits for the worker's, from
  // this same transaction: committed, it is never forgotten.
  if (context.embeddings.provider) {
    const given = new Set(embedded.map(({ index }) => results[index]!.memoryId));
    const toEmbed = results.filter((result) => !result.deduplicated && !given.has(result.memoryId));
    await enqueueEmbeddings(
      tx,
      caller.organizationId,
      toEmbed.map((result) => result.memoryId),
    );
  }
  return { results, superseded: successors.map((old) => ({ id: old.id, agentId: old.agentId })) };
}
