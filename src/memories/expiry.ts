import { withOrganization, withWorkQueue } from '../db/row-level-security';
import type { PrismaClient } from '../generated/prisma/client';
import type { LiveBus } from '../live/bus';
import type { Logger } from '../logger';
import { newHistoryId, snapshotOf } from './history';
import { periodicRounds } from './periodic-rounds';

/**
 * The sweep of expired memories (issue 17). Reads stop returning a memory at its expires_at by
 * themselves (src/memories/validity.ts, `notExpired`); the sweep only tidies up afterwards: it
 * moves the organization's expired memories to the trash (soft-deleted, restorable by an admin),
 * records each in its history as `expire`, and tells the subscribers (EXPIRED). In batches of
 * `batchSize`, each its own short transaction that skips rows another transaction holds, so that
 * it never holds many locks, nor for long, nor waits for a writer.
 */
const sweepStatement = `WITH doomed AS (
    SELECT m.id, ${snapshotOf('m')} AS before
    FROM memories m
    WHERE m.organization_id = $1 AND NOT m.is_deleted AND m.expires_at IS NOT NULL
      AND m.expires_at <= clock_timestamp()
    ORDER BY m.expires_at, m.id
    LIMIT $2
    FOR UPDATE OF m SKIP LOCKED
  ), expired AS (
    UPDATE memories m SET is_deleted = true, deleted_at = now(), deleted_by_id = NULL, updated_at = now()
    FROM doomed d WHERE m.id = d.id AND NOT m.is_deleted
    RETURNING m.id, m.agent_id, m.organization_id, d.before, ${snapshotOf('m')} AS after
  ), recorded AS (
    INSERT INTO memory_history (id, organization_id, memory_id, event, before, after)
    SELECT ${newHistoryId}, e.organization_id, e.id, 'expire', e.before, e.after FROM expired e
  )
  SELECT e.id, e.agent_id AS "agentId" FROM expired e`;

const DEFAULT_BATCH = 500;

/** Sweeps one organization's expired memories; how many it moved to the trash. */
export async function sweepExpiredMemories(
  prisma: PrismaClient,
  live: LiveBus,
  organizationId: string,
  batchSize = DEFAULT_BATCH,
): Promise<number> {
  let swept = 0;
  for (;;) {
    const rows = await withOrganization(organizationId, () =>
      prisma.$transaction((tx) =>
        tx.$queryRawUnsafe<Array<{ id: string; agentId: string }>>(sweepStatement, organizationId, batchSize),
      ),
    );
    const byAgent = new Map<string, string[]>();
    for (const { id, agentId } of rows) byAgent.set(agentId, [...(byAgent.get(agentId) ?? []), id]);
    for (const [agentId, memoryIds] of byAgent)
      live.publish({ kind: 'memoryChanged', change: 'expired', organizationId, agentId, memoryIds });
    swept += rows.length;
    if (rows.length < batchSize) return swept;
  }
}

/**
 * The organizations that have expired memories still live, at most `limit`: read in the `expiry`
 * work queue's scope, as the sweep's role, which sees of memories only these three columns of the
 * expired live rows, of every organization (migration 20261203161700_memory_validity_follow_up),
 * through the partial index idx_memories_organization_id_expires_at_live.
 */
async function organizationsWithExpiredMemories(prisma: PrismaClient, limit: number): Promise<string[]> {
  const rows = await withWorkQueue('expiry', () =>
    prisma.$queryRawUnsafe<Array<{ organizationId: string }>>(
      `SELECT DISTINCT organization_id AS "organizationId" FROM memories
       WHERE expires_at IS NOT NULL AND NOT is_deleted AND expires_at <= clock_timestamp()
       LIMIT $1`,
      limit,
    ),
  );
  return rows.map((row) => row.organizationId);
}

/** How many organizations one listing of a round brings; a round lists again until fewer come. */
const ORGANIZATIONS_PER_LISTING = 100;

/**
 * Sweeps every organization's expired memories, whether it sends requests or not; how many it
 * moved to the trash. Each organization is swept in its own scope, in short batches (see
 * `sweepExpiredMemories`): two processes sweeping at once skip each other's locked rows, and a
 * row is moved once. `stopping` ends the round between batches.
 */
async function sweepAllExpiredMemories(
  prisma: PrismaClient,
  live: LiveBus,
  stopping: () => boolean = () => false,
  batchSize = DEFAULT_BATCH,
): Promise<number> {
  let swept = 0;
  const done = new Set<string>();
  while (!stopping()) {
    // An organization whose rows another process holds may be listed again: swept once per round.
    const organizations = (await organizationsWithExpiredMemories(prisma, ORGANIZATIONS_PER_LISTING)).filter(
      (organizationId) => !done.has(organizationId),
    );
    for (const organizationId of organizations) {
      if (stopping()) break;
      swept += await sweepExpiredMemories(prisma, live, organizationId, batchSize);
      done.add(organizationId);
    }
    if (organizations.length === 0) break;
  }
  return swept;
}

/**
 * The background sweep of every server process: every `intervalSeconds`
 * (MEMORY_EXPIRY_SWEEP_SECONDS; 0: never), a round over every organization with expired memories
 * (`sweepAllExpiredMemories`, ended between batches by `stop()`). A failed round is logged and the
 * next comes as usual (src/memories/periodic-rounds.ts).
 */
export function createExpiredMemorySweeper(
  prisma: PrismaClient,
  live: LiveBus,
  logger: Logger,
  intervalSeconds: number,
) {
  return periodicRounds(intervalSeconds, (stopped) =>
    sweepAllExpiredMemories(prisma, live, stopped)
      .then((swept) => {
        if (swept > 0) logger.info({ swept }, 'moved expired memories to the trash');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'the sweep of expired memories failed')),
  );
}
