import type { ScopedSql } from '../db/row-level-security';
import { Prisma } from '../generated/prisma/client';

/** The columns a MemoryFilter narrows, for Prisma's `where` and for the search's SQL alike. */
export interface MemoryColumns {
  agentId?: string;
  userId?: string;
  memoryType?: string;
  scope?: string;
  level?: string;
}

export interface MemorySearch extends MemoryColumns {
  organizationId: string;
  /** What the caller typed, in web-search syntax: words, "quoted phrases", or, -excluded. */
  query: string;
  limit: number;
}

/**
 * The view the search reads: the live memories of the organization in scope (migration
 * 20261125100000_memory_search_view). Through it, unlike through the policies of `memories`, the
 * search's `@@` can be an index condition: see the migration for why, and for where it cannot.
 */
export const SEARCH_VIEW = 'live_memories_in_scope';

/**
 * The statement of the search itself: the caller's live memories (of live agents) whose content
 * matches `search.query`, best first, as ids and ranks.
 *
 * `to_tsvector('english', content)` is written exactly as the expression of the GIN index
 * `idx_memories_content_fts`, so that PostgreSQL can use it. `websearch_to_tsquery` accepts any
 * text without a syntax error, and every value reaches PostgreSQL as a bound parameter. The view
 * holds no deleted memory. The organization is filtered twice: by the view (the scope's, as the
 * policies would) and by the caller's own id, so that a statement whose two disagreed would find
 * nothing. Agents are read through their policy, as everywhere else.
 */
function matchingMemories(search: MemorySearch): Prisma.Sql {
  const conditions = [
    Prisma.sql`m.organization_id = ${search.organizationId}`,
    Prisma.sql`NOT a.is_deleted`,
    Prisma.sql`to_tsvector('english', m.content) @@ q.query`,
    ...(search.agentId !== undefined ? [Prisma.sql`m.agent_id = ${search.agentId}`] : []),
    ...(search.userId !== undefined ? [Prisma.sql`m.user_id = ${search.userId}`] : []),
    ...(search.memoryType !== undefined ? [Prisma.sql`m.memory_type = ${search.memoryType}`] : []),
    ...(search.scope !== undefined ? [Prisma.sql`m.scope = ${search.scope}`] : []),
    ...(search.level !== undefined ? [Prisma.sql`m.level = ${search.level}`] : []),
  ];
  return Prisma.sql`
    SELECT m.id, m.created_at, ts_rank(to_tsvector('english', m.content), q.query) AS rank
    FROM ${Prisma.raw(SEARCH_VIEW)} m
    JOIN agents a ON a.id = m.agent_id
    CROSS JOIN websearch_to_tsquery('english', ${search.query}) AS q(query)
    WHERE ${Prisma.join(conditions, ' AND ')}
    ORDER BY rank DESC, m.created_at DESC, m.id DESC
    LIMIT ${search.limit}`;
}

/**
 * The one statement `searchMemories` sends: the matches, best first, with their rank and the
 * memory's `columns` (the `[field, expression]` pairs of src/memories/columns.ts that the request
 * selects; the id at least). Exported so that a test can EXPLAIN exactly it.
 */
export function memorySearchStatement(search: MemorySearch, columns: Array<[string, string]> = [['id', 'm.id']]): Prisma.Sql {
  const selected = columns.map(([field, expression]) => `${expression} AS "${field}"`).join(', ');
  return Prisma.sql`
    SELECT s.rank, ${Prisma.raw(selected)}
    FROM (${matchingMemories(search)}) s
    JOIN memories m ON m.id = s.id
    ORDER BY s.rank DESC, s.created_at DESC, s.id DESC`;
}

/** A memory's selected columns, and how well it matched. */
export type MemorySearchRow = { rank: number } & Record<string, unknown>;

/** Runs `memorySearchStatement` over `sql`: the best matches, with the memory columns asked for. */
export function findMatchingMemories(sql: ScopedSql, search: MemorySearch, columns?: Array<[string, string]>): Promise<MemorySearchRow[]> {
  const statement = memorySearchStatement(search, columns);
  return sql.query<MemorySearchRow>(statement.text, statement.values);
}
