import { GraphQLError } from 'graphql';
import type { Caller, Context } from '../context';

/**
 * The one tenancy filter: every read of a tenant table goes through it, so a caller only ever
 * sees live rows of its own organization.
 */
export function requireCaller(context: Context): Caller {
  if (!context.caller) {
    throw new GraphQLError('no caller: the database has no user yet', { extensions: { code: 'UNAUTHENTICATED' } });
  }
  return context.caller;
}

export function liveRowsOf(context: Context): { organizationId: string; isDeleted: false } {
  return { organizationId: requireCaller(context).organizationId, isDeleted: false };
}
