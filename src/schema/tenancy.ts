import type { Caller, Context } from '../context';
import { grantedScopes } from '../auth/scopes';
import { ForbiddenError, NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';

/**
 * The one tenancy filter: every read and write of a tenant table goes through it, so a caller
 * only ever sees and changes live rows of its own organization.
 */
export function requireCaller(context: Context): Caller {
  return context.caller;
}

/** Rows not soft-deleted: for relations, whose other side is already the caller's. */
export const live = { isDeleted: false } as const;

export function liveRowsOf(context: Context): { organizationId: string; isDeleted: false } {
  return { organizationId: requireCaller(context).organizationId, ...live };
}

/** Rows of the caller's organization whatever their deletion state: for restore and purge. */
export function allRowsOf(context: Context): { organizationId: string } {
  return { organizationId: requireCaller(context).organizationId };
}

/** created_by_id / last_updated_by_id of a new row. */
export function createdBy(context: Context): { createdById: string; lastUpdatedById: string } {
  const { userId } = requireCaller(context);
  return { createdById: userId, lastUpdatedById: userId };
}

/** last_updated_by_id of a changed row (updated_at is set by Prisma's @updatedAt). */
export function updatedBy(context: Context): { lastUpdatedById: string } {
  return { lastUpdatedById: requireCaller(context).userId };
}

/** The caller's live agent `id`, or NOT_FOUND on `field` (the same for another tenant's id). */
export async function requireLiveAgent(context: Context, tx: Prisma.TransactionClient, id: string, field: string[]): Promise<void> {
  if (!(await tx.agent.findFirst({ where: { id, ...liveRowsOf(context) }, select: { id: true } }))) {
    throw new NotFoundError('Agent', id, field);
  }
}

/** The caller's live user `id`, or NOT_FOUND on `field`. */
export async function requireLiveUser(context: Context, tx: Prisma.TransactionClient, id: string, field: string[]): Promise<void> {
  if (!(await tx.user.findFirst({ where: { id, ...liveRowsOf(context) }, select: { id: true } }))) {
    throw new NotFoundError('User', id, field);
  }
}

/**
 * The rows a list shows: the live rows of the caller's organization, or, with `deleted: true`,
 * only its soft-deleted ones (the trash), which only admin keys may see (FORBIDDEN otherwise),
 * since only they may restore or purge them.
 */
export function listedRowsOf(context: Context, deleted: boolean | null | undefined): { organizationId: string; isDeleted: boolean } {
  if (!deleted) return liveRowsOf(context);
  if (!grantedScopes(requireCaller(context).scopes).admin) throw new ForbiddenError(['deleted']);
  return { ...allRowsOf(context), isDeleted: true };
}

/** Who soft-deleted a row: a user of the caller's organization, deleted or not, or null. */
export function deletedByUser<Query extends object>(context: Context, query: Query, deletedById: string | null) {
  return deletedById === null ? null : context.prisma.user.findFirst({ ...query, where: { id: deletedById, ...allRowsOf(context) } });
}
