import type { WithCaller } from '../auth/caller';
import { grantedScopes } from '../auth/scopes';
import { ForbiddenError, NotFoundError } from '../errors';
import type { Prisma, PrismaClient } from '../generated/prisma/client';

/**
 * The tenancy filter: the conditions that hold every read and write of a tenant table to the
 * caller's organization (`liveRowsOf`, `allRowsOf`, `listedRowsOf`, the `require…` checks), so
 * that a caller only ever sees and changes rows of its own. Row-level security holds the same
 * line again in the database (src/db/row-level-security.ts). They take only what they read of a
 * request's context: its caller.
 */

/** Rows not soft-deleted: for relations, whose other side is already the caller's. */
export const live = { isDeleted: false } as const;

export function liveRowsOf(context: WithCaller): { organizationId: string; isDeleted: false } {
  return { organizationId: context.caller.organizationId, ...live };
}

/** Rows of the caller's organization whatever their deletion state: for restore and purge. */
export function allRowsOf(context: WithCaller): { organizationId: string } {
  return { organizationId: context.caller.organizationId };
}

/** created_by_id / last_updated_by_id of a new row. */
export function createdBy(context: WithCaller): { createdById: string; lastUpdatedById: string } {
  const { userId } = context.caller;
  return { createdById: userId, lastUpdatedById: userId };
}

/** last_updated_by_id of a changed row (updated_at is set by Prisma's @updatedAt). */
export function updatedBy(context: WithCaller): { lastUpdatedById: string } {
  return { lastUpdatedById: context.caller.userId };
}

/** The caller's live agent `id`, or NOT_FOUND on `field` (the same for another tenant's id). */
export async function requireLiveAgent(
  context: WithCaller,
  tx: Prisma.TransactionClient,
  id: string,
  field: string[],
): Promise<void> {
  if (!(await tx.agent.findFirst({ where: { id, ...liveRowsOf(context) }, select: { id: true } }))) {
    throw new NotFoundError('Agent', id, field);
  }
}

/**
 * The caller's live agent `id`, locked until the transaction ends (appends to one agent take
 * turns), or NOT_FOUND on `field`: the check and the lock in one statement, the check made on the
 * row as it is once locked (a deletion committed meanwhile is seen).
 */
export async function lockLiveAgent(
  context: WithCaller,
  tx: Prisma.TransactionClient,
  id: string,
  field: string[],
): Promise<void> {
  const { organizationId } = liveRowsOf(context);
  const locked = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM agents WHERE id = ${id} AND organization_id = ${organizationId} AND NOT is_deleted FOR UPDATE`;
  if (locked.length === 0) throw new NotFoundError('Agent', id, field);
}

/** The caller's live user `id`, or NOT_FOUND on `field`. */
export async function requireLiveUser(
  context: WithCaller,
  tx: Prisma.TransactionClient,
  id: string,
  field: string[],
): Promise<void> {
  if (!(await tx.user.findFirst({ where: { id, ...liveRowsOf(context) }, select: { id: true } }))) {
    throw new NotFoundError('User', id, field);
  }
}

/**
 * The rows a list shows: the live rows of the caller's organization, or, with `deleted: true`,
 * only its soft-deleted ones (the trash), which only admin keys may see (FORBIDDEN otherwise),
 * since only they may restore or purge them.
 */
export function listedRowsOf(
  context: WithCaller,
  deleted: boolean | null | undefined,
): { organizationId: string; isDeleted: boolean } {
  if (!deleted) return liveRowsOf(context);
  if (!grantedScopes(context.caller.scopes).admin) throw new ForbiddenError(['deleted']);
  return { ...allRowsOf(context), isDeleted: true };
}

/** Who soft-deleted a row: a user of the caller's organization, deleted or not, or null. */
export function deletedByUser<Query extends object>(
  context: WithCaller & { prisma: PrismaClient },
  query: Query,
  deletedById: string | null,
) {
  return deletedById === null
    ? null
    : context.prisma.user.findFirst({ ...query, where: { id: deletedById, ...allRowsOf(context) } });
}
