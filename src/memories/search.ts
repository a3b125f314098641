import type { RankingSettings } from '../config/settings';
import type { ScopedSql } from '../db/row-level-security';
import { ValidationError } from '../errors';
import { statement, type Bind, type Statement } from '../db/statements';
import { memoryFilterConditions, type MemoryFilterInput } from './filter';
import { scoreParts, weightedScore } from './ranking';

export interface MemorySearch {
  organizationId: string;
  /** What the caller typed, in web-search syntax: words, "quoted phrases", or, -excluded. */
  query: string;
  limit: number;
  filter?: MemoryFilterInput | null;
  /** Hits scoring less are left out. */
  minScore?: number | null;
  ranking: RankingSettings;
  /** Whether to compute each hit's ts_headline snippet (it reads the whole content again). */
  snippet?: boolean;
}

/**
 * The view the search reads: the live memories of the organization in scope (migration
 * 20261125100000_memory_search_view, extended by 20261127100000_memory_search_view_ranking with
 * the columns the score and the metadata filter read). Through it, unlike through the policies of
 * `memories`, the search's `@@` can be an index condition: see the migration for why, and for
 * where it cannot.
 */
export const SEARCH_VIEW = 'live_memories_in_scope';

/**
 * The full-text index the search reads: GIN over `(organization_id, to_tsvector('english',
 * content))` (migration 20261202160000_memory_search_index_by_organization), so that a scan returns
 * only the caller's organization's matches, however many other organizations have.
 */
export const SEARCH_INDEX = 'idx_memories_organization_id_content_fts';

/**
 * How snippets mark the matched words: Markdown's bold, since hits mostly go into prompts and
 * Markdown views. The content is not escaped: a snippet is text, not HTML.
 */
export const SNIPPET_OPTIONS = 'StartSel=**, StopSel=**, MaxWords=30, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "';

const query = (search: MemorySearch, bind: Bind) => `websearch_to_tsquery('english', ${bind(search.query)})`;

/**
 * The statement of the search itself: the caller's live memories (of live agents) whose content
 * matches `search.query` and its filter, best score first, as ids, the score and its parts.
 *
 * `to_tsvector('english', content)` is written exactly as the expression of the GIN index
 * `SEARCH_INDEX`, and the caller's organization is an equality on `organization_id`, the index's
 * other column, so that PostgreSQL reads in the index only the caller's matches.
 * `websearch_to_tsquery` accepts any text without a syntax error, and every value reaches
 * PostgreSQL as a bound parameter. The view holds no deleted memory. The organization is filtered
 * twice: by the view (the scope's, as the policies would) and by the caller's own id, so that a
 * statement whose two disagreed would find nothing; the second is the one the index can use (the
 * view's is a subquery's value). Agents are read through their policy, as everywhere else. The
 * filter's conditions and the score's parts cannot raise on any row
 * (src/memories/metadata-filter.ts, ranking.ts).
 */
function rankedMatches(search: MemorySearch, bind: Bind): string {
  // Bound in the order they appear in the text.
  const score = weightedScore(search.ranking, 'c', bind);
  const parts = scoreParts(search.ranking, 'q.query', bind);
  const words = query(search, bind);
  const conditions = [
    `m.organization_id = ${bind(search.organizationId)}`,
    'NOT a.is_deleted',
    "to_tsvector('english', m.content) @@ q.query",
    ...memoryFilterConditions(search.filter, ['filter'], bind),
  ];
  const minScore = search.minScore != null ? `WHERE ${score} >= ${bind(search.minScore)}::float8` : '';
  return `
    SELECT c.id, c.created_at, c.text, c.importance, c.recency, c.use, ${score} AS score
    FROM (
      SELECT m.id, m.created_at, ${parts.text} AS text, ${parts.importance} AS importance, ${parts.recency} AS recency, ${parts.use} AS use
      FROM ${SEARCH_VIEW} m
      JOIN agents a ON a.id = m.agent_id
      -- A fence (OFFSET 0) around the query, so that the planner estimates its matches without its
      -- words, the same for every word: estimated by the words' frequency in all organizations, a
      -- search for a word another organization writes often would be planned as a scan of all the
      -- caller's memories instead of the index, and take time by another organization's rows.
      CROSS JOIN (SELECT ${words} OFFSET 0) AS q(query)
      WHERE ${conditions.join(' AND ')}
      -- A fence: each part is computed once per match here, not again in the score and the ordering.
      OFFSET 0
    ) c
    ${minScore}
    ORDER BY score DESC, c.created_at DESC, c.id DESC
    LIMIT ${bind(search.limit)}`;
}

/**
 * The one statement `searchMemories` sends: the hits, best first, with their score, its parts,
 * the snippet if asked for, the memory's id, and `memory`: the planned memory object the read
 * planner built for what the request selects of it (src/planner/compile.ts, `planObject`), over
 * the row `m`, its values bound in this statement. Exported so that a test can EXPLAIN exactly it.
 */
export function memorySearchStatement(search: MemorySearch, memory?: PlannedMemory): Statement {
  return statement((bind) => {
    // The snippet is computed for the `limit` hits only, after the ranking.
    const snippet = search.snippet ? `, ts_headline('english', m.content, ${query(search, bind)}, ${bind(SNIPPET_OPTIONS)}) AS hit_snippet` : '';
    const planned = memory ? `, ${memory(bind)} AS hit_memory` : '';
    return `
    SELECT m.id, s.score AS hit_score, s.text AS hit_text, s.importance AS hit_importance, s.recency AS hit_recency, s.use AS hit_use${snippet}${planned}
    FROM (${rankedMatches(search, bind)}) s
    JOIN memories m ON m.id = s.id
    ORDER BY s.score DESC, s.created_at DESC, s.id DESC`;
  });
}

/** A hit's planned memory object over the row `m`, written with the search statement's `bind`. */
export type PlannedMemory = (bind: Bind) => string;

/** A hit: the memory's id, its score and the score's parts, and what was asked for beside them. */
export interface MemorySearchRow {
  id: string;
  hit_score: number;
  hit_text: number;
  hit_importance: number;
  hit_recency: number;
  hit_use: number;
  hit_snippet?: string;
  hit_memory?: unknown;
}

/**
 * Runs `memorySearchStatement` over `sql`: the best hits, with the planned memory if given. A
 * query with no words to search for (empty, or only stop words and punctuation: PostgreSQL's own
 * parser decides) is VALIDATION; it is asked only when nothing was found, so that a search with
 * hits costs one statement.
 */
export async function findMatchingMemories(sql: ScopedSql, search: MemorySearch, memory?: PlannedMemory): Promise<MemorySearchRow[]> {
  const searched = memorySearchStatement(search, memory);
  const rows = await sql.query<MemorySearchRow>(searched.text, searched.values);
  if (rows.length === 0) await assertSearchableQuery(sql, search.query);
  return rows;
}

/** VALIDATION on `query` when PostgreSQL finds no word in it to search for. */
export async function assertSearchableQuery(sql: ScopedSql, text: string): Promise<void> {
  const check = statement((bind) => `SELECT numnode(websearch_to_tsquery('english', ${bind(text)})) AS nodes`);
  const [row] = await sql.query<{ nodes: number }>(check.text, check.values);
  if (Number(row?.nodes ?? 0) === 0) {
    throw new ValidationError('query: has no words to search for (it is empty, or only stop words and punctuation)', ['query']);
  }
}
