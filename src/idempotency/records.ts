import { createHash } from 'node:crypto';
import { withOrganization } from '../db/row-level-security';
import type { Prisma, PrismaClient } from '../generated/prisma/client';

/** The first outcome of a request sent with an idempotency key: what its retries get again. */
export interface KeptOutcome {
  requestHash: string;
  status: number;
  body: string;
}

/** One API key's idempotency key. Keys are per API key: two keys never share outcomes. */
export interface IdempotencyKeyId {
  apiKeyId: string;
  key: string;
}

/**
 * The advisory lock that marks a key as in flight: 64 bits of SHA-256 over the API key's id and
 * the key. Two distinct keys share a lock with a chance of 2^-64; they would then only take turns.
 */
function lockId({ apiKeyId, key }: IdempotencyKeyId): string {
  return createHash('sha256').update(`${apiKeyId}\n${key}`).digest().readBigInt64BE(0).toString();
}

/**
 * Takes the key for the length of the transaction `tx`, or answers false at once when another
 * transaction holds it: a request with that key is still in flight. A lock, not the row, marks
 * it, because the row is written only with the outcome, in the same transaction as the writes,
 * and is invisible to everyone else until that commits. PostgreSQL publishes the commit before
 * it releases the lock, so whoever takes the lock next sees the committed row.
 */
export async function claimKey(tx: Prisma.TransactionClient, id: IdempotencyKeyId): Promise<boolean> {
  const [row] = await tx.$queryRaw<
    Array<{ claimed: boolean }>
  >`SELECT pg_try_advisory_xact_lock(${lockId(id)}::bigint) AS claimed`;
  return row?.claimed === true;
}

/** The outcome kept for a key that has not expired; an expired one is removed, and the key is free again. */
export async function findKeptOutcome(
  tx: Prisma.TransactionClient,
  id: IdempotencyKeyId,
  now: Date,
): Promise<KeptOutcome | null> {
  await tx.idempotencyKey.deleteMany({ where: { ...id, expiresAt: { lte: now } } });
  const row = await tx.idempotencyKey.findUnique({
    where: { apiKeyId_key: id },
    select: { requestHash: true, responseStatus: true, responseBody: true },
  });
  return row && { requestHash: row.requestHash, status: row.responseStatus, body: row.responseBody };
}

export async function keepOutcome(
  tx: Prisma.TransactionClient,
  id: IdempotencyKeyId & { organizationId: string; expiresAt: Date },
  outcome: KeptOutcome,
): Promise<void> {
  await tx.idempotencyKey.create({
    data: { ...id, requestHash: outcome.requestHash, responseStatus: outcome.status, responseBody: outcome.body },
  });
}

/** How often, at most, one organization's expired keys are swept: not on every request. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Removes an organization's expired keys, at most once a minute per organization, outside any
 * request's transaction so that a sweep never holds one up. Most keys are never retried, so
 * waiting for their reuse would keep them forever.
 */
export function createExpiredKeySweeper(prisma: PrismaClient) {
  const lastSweeps = new Map<string, number>();
  return async function sweepExpiredKeys(organizationId: string, now: Date): Promise<void> {
    if (now.getTime() - (lastSweeps.get(organizationId) ?? 0) < SWEEP_INTERVAL_MS) return;
    lastSweeps.set(organizationId, now.getTime());
    await withOrganization(organizationId, () =>
      prisma.idempotencyKey.deleteMany({ where: { organizationId, expiresAt: { lte: now } } }),
    );
  };
}
