import type { Context } from '../context/types';
import { AlreadySupersededError, ConflictError, NotFoundError, ValidationError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { recordHistory, snapshotOf } from './history';

/**
 * Superseding (issue 17): a new memory replaces others in one transaction. Each memory it
 * supersedes is locked (SELECT … FOR UPDATE) before anything is written, and closed once the new
 * one exists: `valid_until` = the new one's `valid_from`, `superseded_by_id` = it. Two writers
 * superseding the same memory take turns on its row lock; the second, reading it again once the
 * first has committed, finds it superseded and gets AlreadySupersededError naming the winner. So a
 * chain never forks, and since a successor is always a memory created in the same transaction,
 * the mutations never make a cycle (the trigger memories_supersession refuses one made any other
 * way).
 */

/** A memory locked to be superseded or ended, as it was when locked. */
interface LockedMemory {
  id: string;
  agentId: string;
  /** Its valid_from, rounded up to the millisecond: a successor never begins before it. */
  validFrom: Date;
  validUntil: Date | null;
  supersededById: string | null;
  /** Its history snapshot before the change. */
  before: string;
  /** The transaction's now(), rounded up to the millisecond. */
  now: Date;
}

/** A memory to close, and the successor that closes it. */
export interface Supersession {
  id: string;
  agentId: string;
  before: string;
  successorId: string;
  /** The successor's valid_from: the old one's valid_until. */
  validFrom: Date | undefined;
}

interface LockedSupersessions {
  /** Per input, in order, the memories it supersedes. */
  byInput: Array<Array<{ id: string; agentId: string; validFrom: Date; before: string }>>;
  /** The transaction's now(), rounded up to the millisecond; null when nothing needed it. */
  now: Date | null;
}

/** Rounded up to the millisecond, the precision of a DateTime, so that a successor never begins before. */
const ceilMs = (expression: string) => `date_trunc('milliseconds', ${expression} + interval '999 microseconds')`;

/**
 * Locks the caller's memories `ids` (live, not expired, of a live agent) in id order, the order
 * every writer takes, so that two never wait for each other in a cycle.
 */
async function lockMemories(context: Context, tx: Prisma.TransactionClient, ids: string[]): Promise<LockedMemory[]> {
  return tx.$queryRawUnsafe<LockedMemory[]>(
    `SELECT m.id, m.agent_id AS "agentId", ${ceilMs('m.valid_from')} AS "validFrom", m.valid_until AS "validUntil",
       m.superseded_by_id AS "supersededById", (${snapshotOf('m')})::text AS before, ${ceilMs('now()')} AS now
     FROM memories m
     WHERE m.id = ANY($1::text[]) AND m.organization_id = $2 AND NOT m.is_deleted
       AND (m.expires_at IS NULL OR m.expires_at > now())
       AND EXISTS (SELECT 1 FROM agents a WHERE a.id = m.agent_id AND NOT a.is_deleted)
     ORDER BY m.id
     FOR UPDATE OF m`,
    [...new Set(ids)],
    context.caller.organizationId,
  );
}

/** The memory `id` as it may be closed, or the typed error that says why not (at `field`). */
function closable(locked: Map<string, LockedMemory>, id: string, field: string[]): LockedMemory {
  const memory = locked.get(id);
  // Another organization's memory, a deleted or an expired one: the same answer as an unknown id.
  if (!memory) throw new NotFoundError('Memory', id, field);
  if (memory.supersededById !== null) throw new AlreadySupersededError(id, memory.supersededById, field);
  if (memory.validUntil !== null)
    throw new ConflictError(
      `memory ${JSON.stringify(id)} already ended at ${memory.validUntil.toISOString()} (invalidated): ` +
        'there is nothing left to end',
      field,
    );
  return memory;
}

/** The inputs' `supersedes`, checked and locked: NOT_FOUND, CONFLICT or VALIDATION at the id at fault. */
export async function lockSuperseded(
  context: Context,
  tx: Prisma.TransactionClient,
  inputs: ReadonlyArray<{ supersedes?: string[] | null; validFrom?: Date | null; validUntil?: Date | null }>,
  field: (index: number, position: number) => string[],
): Promise<LockedSupersessions> {
  const seen = new Set<string>();
  inputs.forEach((input, index) => {
    for (const [position, id] of (input.supersedes ?? []).entries()) {
      if (seen.has(id))
        throw new ValidationError(
          `${field(index, position).join('.')}: memory ${JSON.stringify(id)} is superseded twice in this request`,
          field(index, position),
        );
      seen.add(id);
    }
  });
  const needsNow = inputs.some((input) => input.validUntil != null && input.validFrom == null);
  if (seen.size === 0) {
    if (!needsNow) return { byInput: inputs.map(() => []), now: null };
    const [row] = await tx.$queryRawUnsafe<Array<{ now: Date }>>(`SELECT ${ceilMs('now()')} AS now`);
    return { byInput: inputs.map(() => []), now: row!.now };
  }
  const rows = await lockMemories(context, tx, [...seen]);
  const locked = new Map(rows.map((row) => [row.id, row]));
  const byInput = inputs.map((input, index) =>
    (input.supersedes ?? []).map((id, position) => {
      const memory = closable(locked, id, field(index, position));
      return { id, agentId: memory.agentId, validFrom: memory.validFrom, before: memory.before };
    }),
  );
  return { byInput, now: rows[0]!.now };
}

/**
 * An input's valid_from, checked: given, never before what it supersedes; otherwise, when it
 * supersedes, now or the latest start of what it supersedes, whichever is later (a transaction
 * that began before its predecessor was written must not end that one before it began); else
 * the database's default (now()). VALIDATION when validUntil comes before it.
 */
export function periodOf(
  input: { validFrom?: Date | null; validUntil?: Date | null; expiresAt?: Date | null },
  now: Date | null,
  superseded: ReadonlyArray<{ id: string; validFrom: Date }>,
  path: string[],
): { validFrom: Date | undefined } {
  const latest = superseded.reduce<{ id: string; validFrom: Date } | undefined>(
    (found, memory) => (found && found.validFrom >= memory.validFrom ? found : memory),
    undefined,
  );
  let validFrom: Date | undefined;
  if (input.validFrom != null) {
    if (latest && input.validFrom < latest.validFrom)
      throw new ValidationError(
        `${[...path, 'validFrom'].join('.')}: must not be before ${latest.validFrom.toISOString()}, when memory ` +
          `${JSON.stringify(latest.id)} that it supersedes became valid`,
        [...path, 'validFrom'],
      );
    validFrom = input.validFrom;
  } else if (latest) {
    validFrom = now! > latest.validFrom ? now! : latest.validFrom;
  }
  if (input.validUntil != null) {
    validFrom ??= now!;
    if (input.validUntil < validFrom)
      throw new ValidationError(
        `${[...path, 'validUntil'].join('.')}: must not be before validFrom (${validFrom.toISOString()})`,
        [...path, 'validUntil'],
      );
  }
  if (input.expiresAt != null && input.expiresAt <= new Date())
    throw new ValidationError(`${[...path, 'expiresAt'].join('.')}: must be in the future`, [...path, 'expiresAt']);
  return { validFrom };
}

/** Closes each superseded memory with its successor, in one statement. They are locked: each changes. */
export async function closeSuperseded(
  context: Context,
  tx: Prisma.TransactionClient,
  supersessions: Supersession[],
): Promise<void> {
  if (supersessions.length === 0) return;
  await tx.$executeRawUnsafe(
    `UPDATE memories m SET valid_until = s.valid_from, superseded_by_id = s.successor, updated_at = now(),
       last_updated_by_id = $4
     FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS s(id, successor, valid_from)
     WHERE m.id = s.id AND m.superseded_by_id IS NULL AND m.valid_until IS NULL`,
    supersessions.map((old) => old.id),
    supersessions.map((old) => old.successorId),
    supersessions.map((old) => old.validFrom!.toISOString()),
    context.caller.userId,
  );
}

/**
 * Ends the memory `id` without a successor (invalidateMemory): valid_until = `at`, or now (never
 * before it began), recorded in its history with `reason`. Returns its agent.
 */
export async function invalidateMemory(
  context: Context,
  tx: Prisma.TransactionClient,
  id: string,
  at: Date | null,
  reason: string | null,
): Promise<{ agentId: string }> {
  const [row] = await lockMemories(context, tx, [id]);
  const memory = closable(new Map(row ? [[row.id, row]] : []), id, ['id']);
  if (at !== null && at < memory.validFrom)
    throw new ValidationError(
      `at: must not be before ${memory.validFrom.toISOString()}, when the memory became valid`,
      ['at'],
    );
  await tx.$executeRawUnsafe(
    `UPDATE memories SET valid_until = coalesce($2::timestamptz, greatest(now(), valid_from)), updated_at = now(),
       last_updated_by_id = $3
     WHERE id = $1`,
    id,
    at?.toISOString() ?? null,
    context.caller.userId,
  );
  await recordHistory(tx, context, [{ memoryId: id, event: 'invalidate', before: memory.before, reason }]);
  return { agentId: memory.agentId };
}
