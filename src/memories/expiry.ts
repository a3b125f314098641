import { withOrganization } from '../db/row-level-security';
import type { PrismaClient } from '../generated/prisma/client';
import type { LiveBus } from '../live/bus';
import type { Logger } from '../logger';
import { newHistoryId, snapshotOf } from './history';

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
 * Runs the sweep for an organization when one of its requests comes, at most once per
 * `intervalSeconds` (MEMORY_EXPIRY_SWEEP_SECONDS; 0: never), beside the request rather than in
 * it: the request neither waits for it nor fails with it. Under row-level security the server
 * cannot list the organizations, so their requests are what brings the sweep to each. `idle()`
 * waits for the sweeps under way, before the database closes.
 */
export function createExpiredMemorySweeper(
  prisma: PrismaClient,
  live: LiveBus,
  logger: Logger,
  intervalSeconds: number,
) {
  const lastSweeps = new Map<string, number>();
  const running = new Set<Promise<void>>();
  return {
    poke(organizationId: string): void {
      if (intervalSeconds <= 0) return;
      const now = Date.now();
      if (now - (lastSweeps.get(organizationId) ?? 0) < intervalSeconds * 1000) return;
      lastSweeps.set(organizationId, now);
      const sweep = sweepExpiredMemories(prisma, live, organizationId)
        .then((swept) => {
          if (swept > 0) logger.info({ organizationId, swept }, 'moved expired memories to the trash');
        })
        .catch((error: unknown) => logger.warn({ err: error, organizationId }, 'the sweep of expired memories failed'))
        .finally(() => running.delete(sweep));
      running.add(sweep);
    },
    async idle(): Promise<void> {
      await Promise.all([...running]);
    },
  };
}

export type ExpiredMemorySweeper = ReturnType<typeof createExpiredMemorySweeper>;
