import type { WithCaller } from '../auth/caller';
import type { Prisma } from '../generated/prisma/client';
import { liveRows, organizationRows, type RowsScope } from '../planner/declarations';
import { live, liveRowsOf } from '../schema/tenancy';
import { notExpired, notExpiredWhere } from './validity';

/** Memories the caller may read: live, not expired, of its organization, of a live agent. */
export function visibleMemories(context: WithCaller, now = new Date()): Prisma.MemoryWhereInput {
  return { ...liveRowsOf(context), agent: live, ...notExpiredWhere(now) };
}

/** Memories the caller may read, as conditions on a planned row (visibleMemories, in SQL). */
export function visibleMemoryRows(scope: RowsScope): string[] {
  return [
    ...organizationRows(scope),
    ...liveRows(scope),
    notExpired(scope.row),
    `EXISTS (SELECT 1 FROM agents a WHERE a.id = ${scope.row}.agent_id AND NOT a.is_deleted)`,
  ];
}
