import type { Context } from '../context/types';
import type { Prisma } from '../generated/prisma/client';

/**
 * memory_history: what happened to each memory, by whom and when, with the memory's fields
 * before and after (issue 10; mem0 keeps the same). Every write of a memory records its events
 * here in the same transaction as the change, so the history never tells of a change that did
 * not happen, nor misses one. The snapshots are built by PostgreSQL from the rows themselves,
 * the same way for every event (`snapshotOf`), so that before and after always compare.
 */
export type MemoryEvent =
  | 'create'
  | 'update'
  | 'delete'
  | 'restore'
  | 'dedupe'
  | 'prune'
  | 'supersede'
  | 'invalidate'
  | 'expire';

/** A memory's fields as history keeps them, with their columns: what a client wrote, and whether it is deleted. */
export const SNAPSHOT_FIELDS = {
  content: 'content',
  hash: 'hash',
  metadata: 'metadata',
  score: 'score',
  memoryType: 'memory_type',
  scope: 'scope',
  level: 'level',
  importance: 'importance',
  isDeleted: 'is_deleted',
  validFrom: 'valid_from',
  validUntil: 'valid_until',
  supersededById: 'superseded_by_id',
  expiresAt: 'expires_at',
} as const;

/** The snapshot of the memory row `alias`, as JSONB. */
export function snapshotOf(alias: string): string {
  return `jsonb_build_object(${Object.entries(SNAPSHOT_FIELDS)
    .map(([field, column]) => `'${field}', ${alias}.${column}`)
    .join(', ')})`;
}

// History ids are made by PostgreSQL, in the statement that records the event: the prune's one
// statement cannot take ids from the server, since it learns what it removed only as it does.
export const newHistoryId = `'history-' || gen_random_uuid()::text`;

/** The snapshots of `ids` as they are now, locked until the transaction ends: the "before" of a change. */
export async function lockSnapshots(tx: Prisma.TransactionClient, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.$queryRawUnsafe<Array<{ id: string; snapshot: string }>>(
    `SELECT m.id, (${snapshotOf('m')})::text AS snapshot FROM memories m WHERE m.id = ANY($1::text[])
      ORDER BY m.id FOR UPDATE`,
    [...new Set(ids)],
  );
  return new Map(rows.map((row) => [row.id, row.snapshot]));
}

export interface HistoryEntry {
  memoryId: string;
  event: MemoryEvent;
  /** The snapshot before the change (from `lockSnapshots`); none for a creation. */
  before: string | null;
  /** Why (invalidateMemory's reason). */
  reason?: string | null;
}

/** Records `entries`, in their order, with each memory's fields as they are now as "after". */
export async function recordHistory(
  tx: Prisma.TransactionClient,
  context: Context,
  entries: HistoryEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const { userId, apiKeyId } = context.caller;
  await tx.$executeRawUnsafe(
    `INSERT INTO memory_history (id, organization_id, memory_id, event, before, after, actor_user_id, api_key_id,
       reason)
     SELECT ${newHistoryId}, m.organization_id, e.memory_id, e.event, e.before::jsonb, ${snapshotOf('m')}, $4, $5,
       e.reason
     FROM unnest($1::text[], $2::text[], $3::text[], $6::text[])
       WITH ORDINALITY AS e(memory_id, event, before, reason, n)
     JOIN memories m ON m.id = e.memory_id
     ORDER BY e.n`,
    entries.map((entry) => entry.memoryId),
    entries.map((entry) => entry.event),
    entries.map((entry) => entry.before),
    userId,
    apiKeyId,
    entries.map((entry) => entry.reason ?? null),
  );
}

/**
 * Runs `change` (which changes the memories `ids` and says how many it changed) and records
 * `event` for each of them, in `tx`. Nothing is recorded when nothing changed.
 */
export async function withHistory(
  tx: Prisma.TransactionClient,
  context: Context,
  ids: string[],
  event: MemoryEvent,
  change: () => Promise<number>,
): Promise<number> {
  const before = await lockSnapshots(tx, ids);
  const count = await change();
  if (count > 0)
    await recordHistory(
      tx,
      context,
      [...before.keys()].map((memoryId) => ({ memoryId, event, before: before.get(memoryId) ?? null })),
    );
  return count;
}
