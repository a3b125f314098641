import type { ScopedSql } from '../db/row-level-security';
import { type Bind, type Statement, statement } from '../db/statements';
import type { SortOrder } from '../schema/ordering';
import { type MemoryFilterInput, memoryFilterConditions } from './filter';
import { instantOf, notExpired, type ValidityChoice, validityConditions } from './validity';

/** How `memories` is ordered; the id follows in the same direction, so that pages are stable. */
export interface MemoryListOrder {
  field: 'importance' | 'createdAt' | 'lastAccessed';
  direction?: SortOrder | null;
}

/** The page Pothos asks for: Prisma's `take` (negative: backwards, from the end or the cursor), `skip` and `cursor`. */
export interface MemoryListPage {
  take: number;
  skip: number;
  cursor?: { id: string };
}

export interface MemoryList {
  organizationId: string;
  filter?: MemoryFilterInput | null;
  orderBy?: MemoryListOrder | null;
  /** The trash instead: the memories deleted one by one (those of a deleted agent come back with it). */
  deleted?: boolean | null;
  /** Which facts, by validity (not for the trash): valid now by default. */
  validity?: ValidityChoice;
}

/**
 * The sort key of `row` (an alias of memories) for `order`. Never-accessed memories come last
 * whichever the direction: NULL is replaced by the end the direction reaches last, so that a
 * row comparison can continue from a cursor.
 */
export function sortKey(order: MemoryListOrder | null | undefined, row: string): string {
  if (!order) return `${row}.created_at`;
  if (order.field === 'importance') return `${row}.importance`;
  if (order.field === 'createdAt') return `${row}.created_at`;
  return `coalesce(${row}.last_accessed, '${order.direction === 'desc' ? '-infinity' : 'infinity'}'::timestamptz)`;
}

/**
 * The caller's live, unexpired memories of live agents, valid as `list.validity` says (or its
 * trash), that `list.filter` selects, as conditions on `m` joined to its agent `a`.
 */
function listConditions(list: MemoryList, bind: Bind): string[] {
  return [
    `m.organization_id = ${bind(list.organizationId)}`,
    ...(list.deleted
      ? ['m.is_deleted']
      : [
          'NOT m.is_deleted',
          'NOT a.is_deleted',
          notExpired('m'),
          ...validityConditions(list.validity, 'm', instantOf(list.validity, bind)),
        ]),
    ...memoryFilterConditions(list.filter, ['filter'], bind),
  ];
}

/**
 * The ids of one page of `memories`, in the page's order, as Prisma would read them for Pothos's
 * `take`/`skip`/`cursor`: from the cursor on (without it when `skip` is 1), backwards when `take`
 * is negative. The filter, whose metadata conditions Prisma cannot express, is compiled by the
 * same code as the search's (src/memories/filter.ts). Keyset paging: the cursor's own sort key is
 * read in the same statement.
 */
function memoryListStatement(list: MemoryList, page: MemoryListPage): Statement {
  const ascending = (list.orderBy?.direction ?? 'asc') === 'asc';
  const forward = page.take >= 0;
  const readAscending = ascending === forward;
  const direction = readAscending ? 'ASC' : 'DESC';
  return statement((bind) => {
    const conditions = listConditions(list, bind);
    if (page.cursor) {
      const comparison = `${readAscending ? '>' : '<'}${page.skip === 0 ? '=' : ''}`;
      conditions.push(`(${sortKey(list.orderBy, 'm')}, m.id) ${comparison}
      (SELECT ${sortKey(list.orderBy, 'c')}, c.id FROM memories c WHERE c.id = ${bind(page.cursor.id)})`);
    }
    return `
    SELECT m.id FROM memories m JOIN agents a ON a.id = m.agent_id
    WHERE ${conditions.join(' AND ')}
    ORDER BY ${sortKey(list.orderBy, 'm')} ${direction}, m.id ${direction}
    LIMIT ${bind(Math.abs(page.take))}`;
  });
}

/** The ids of the page, in order (a backward page read backwards, then turned around). */
export async function memoryPageIds(sql: ScopedSql, list: MemoryList, page: MemoryListPage): Promise<string[]> {
  const pageRead = memoryListStatement(list, page);
  const rows = await sql.query<{ id: string }>(pageRead.text, pageRead.values);
  const ids = rows.map((row) => row.id);
  return page.take >= 0 ? ids : ids.reverse();
}

/** How many memories the list's filter selects, over all pages. */
export async function countMemories(sql: ScopedSql, list: MemoryList): Promise<number> {
  const count = statement(
    (bind) => `
    SELECT count(*)::int AS count FROM memories m JOIN agents a ON a.id = m.agent_id
    WHERE ${listConditions(list, bind).join(' AND ')}`,
  );
  const [row] = await sql.query<{ count: number }>(count.text, count.values);
  return Number(row?.count ?? 0);
}
