import type { Bind } from '../db/statements';
import type { Prisma } from '../generated/prisma/client';

/**
 * Memories that change (issue 17). A memory is a fact that holds from `valid_from` until
 * `valid_until` (null: still holds); a superseded memory names its successor; a memory with
 * `expires_at` is forgotten from then on.
 *
 * Two conditions, written once here for SQL (the planner, the list, search) and for Prisma (the
 * general path):
 * - expiry: a memory past its `expires_at` is as good as deleted. No read returns it from that
 *   instant on, whatever the arguments (`asOf`, `includeInvalid`), without a job having run; the
 *   sweep (src/memories/expiry.ts) later moves it to the trash, which changes nothing a reader sees.
 * - validity: `memories` and `searchMemories` return by default the facts valid now, or, with
 *   `asOf`, those valid at that instant; `includeInvalid: true` drops this condition.
 */

/** How `memories` and `searchMemories` choose by validity (their `asOf` and `includeInvalid`). */
export interface ValidityChoice {
  asOf?: Date | null;
  includeInvalid?: boolean | null;
}

/**
 * The instant the choice is about, as SQL: `asOf` bound, or the statement's now(). Bound when first
 * asked for, once: a statement must not carry a value its text does not use (PostgreSQL cannot type
 * it), as one with `includeInvalid` and no recency would.
 */
export function instantOf(choice: ValidityChoice | undefined, bind: Bind): () => string {
  let bound: string | undefined;
  return () => (bound ??= choice?.asOf ? `${bind(choice.asOf.toISOString())}::timestamptz` : 'now()');
}

/**
 * Not expired, on `row` (an alias of memories or of the search's view): compared with the clock
 * as the row is read (clock_timestamp), not with the transaction's start (now()), so that a
 * statement that runs long, or a transaction that began before, never returns a memory read
 * after its expires_at.
 */
export function notExpired(row: string): string {
  return `(${row}.expires_at IS NULL OR ${row}.expires_at > clock_timestamp())`;
}

/** Valid at `instant` (SQL, from `instantOf`): the fact had begun and not yet ended. */
function validAt(row: string, instant: () => string): string[] {
  return [`${row}.valid_from <= ${instant()}`, `(${row}.valid_until IS NULL OR ${row}.valid_until > ${instant()})`];
}

/**
 * The conditions of a choice on `row`: valid at its instant unless `includeInvalid`. (Expiry is
 * part of what is visible at all: `notExpired`, in src/memories/visibility.ts.) `instant` is what
 * `instantOf` gave, so that a statement binds `asOf` once.
 */
export function validityConditions(choice: ValidityChoice | undefined, row: string, instant: () => string): string[] {
  return choice?.includeInvalid ? [] : validAt(row, instant);
}

/**
 * What a reader sees by default of a memory's time, on `row`: not expired, and valid at the
 * choice's instant (unless `includeInvalid`). The one condition that the root `memories`, the
 * relations and counts that list memories (Agent.memories, memoryCount, memoryStats) and every
 * candidate selection of search apply (the SQL functions of search repeat it, migration
 * 20261203161700_memory_validity_follow_up). `instant` is what `instantOf` gave.
 */
export function presentRows(choice: ValidityChoice | undefined, row: string, instant: () => string): string[] {
  return [notExpired(row), ...validityConditions(choice, row, instant)];
}

/** `presentRows` for Prisma (the general path), with `now` for the clock. */
export function presentWhere(choice: ValidityChoice | undefined, now = new Date()): Prisma.MemoryWhereInput {
  const at = choice?.asOf ?? now;
  const valid: Prisma.MemoryWhereInput[] = choice?.includeInvalid
    ? []
    : [{ validFrom: { lte: at } }, { OR: [{ validUntil: null }, { validUntil: { gt: at } }] }];
  return { AND: [notExpiredWhere(now), ...valid] };
}

/** `notExpired` for Prisma, at `now` (the general path's clock). */
export function notExpiredWhere(now = new Date()): Prisma.MemoryWhereInput {
  return { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
}

/**
 * The memories deduplication may merge into, and that new content is checked against: facts that
 * still hold or are yet to begin (never superseded, not ended, not expired). Storing "lives in
 * Paris" again after the move to Lyon is a new fact: the superseded Paris is never revived.
 */
export function dedupeCandidates(now = new Date()): Prisma.MemoryWhereInput {
  return {
    supersededById: null,
    AND: [{ OR: [{ validUntil: null }, { validUntil: { gt: now } }] }, notExpiredWhere(now)],
  };
}

/** Whether a dedupe candidate is one of `dedupeCandidates` (it holds, or is yet to begin) at `now`. */
export function holdsAt(memory: { supersededById: string | null; validUntil: Date | null }, now: Date): boolean {
  return memory.supersededById === null && (memory.validUntil === null || memory.validUntil > now);
}

/**
 * The memories deduplication may merge into when the client asks to revive (`dedupe:
 * { reviveSuperseded: true }`): `dedupeCandidates` and also the facts that no longer hold,
 * superseded or ended; never an expired one, which is as good as deleted.
 */
export function revivableCandidates(now = new Date()): Prisma.MemoryWhereInput {
  return notExpiredWhere(now);
}

/**
 * The memories whose ids make `memory`'s lineage (an SQL expression of its id): every memory it
 * replaced, directly or not, itself, and every successor after it. Walked through every memory of
 * the organization, deleted ones included, so that a deleted link does not cut the chain; which
 * of them a reader sees is the caller's condition. UNION stops at a row already found.
 */
export function lineageIds(memoryId: string, organization: string): string {
  return `WITH RECURSIVE earlier(id) AS (
      SELECT l.id FROM memories l WHERE l.id = ${memoryId} AND l.organization_id = ${organization}
      UNION
      SELECT l.id FROM memories l JOIN earlier e ON l.superseded_by_id = e.id WHERE l.organization_id = ${organization}
    ), later(id, next) AS (
      SELECT l.id, l.superseded_by_id FROM memories l WHERE l.id = ${memoryId} AND l.organization_id = ${organization}
      UNION
      SELECT l.id, l.superseded_by_id FROM memories l JOIN later n ON l.id = n.next
        WHERE l.organization_id = ${organization}
    )
    SELECT id FROM earlier UNION SELECT id FROM later`;
}

/** The order of a chain's memories, oldest first: by when each began, then creation, then id. */
export const CHAIN_ORDER = ['valid_from', 'created_at', 'id'];
export const chainOrderBy: Prisma.MemoryOrderByWithRelationInput[] = [
  { validFrom: 'asc' },
  { createdAt: 'asc' },
  { id: 'asc' },
];
