import type { RankingSettings } from '../config/settings';
import type { ScopedSql } from '../db/row-level-security';
import { type Bind, type Statement, statement } from '../db/statements';
import { SemanticRecallUnavailableError, ValidationError } from '../errors';
import { isMissingVector } from './embeddings';
import { type MemoryFilterInput, memoryFilterConditions } from './filter';
import { scoreParts, textRelevance, weightedScore } from './ranking';
import { instantOf, notExpired, presentRows, type ValidityChoice } from './validity';
import { nearestMemories, type VectorQuery } from './vector-search';

/**
 * How a search finds and ranks: by the words (TEXT), by meaning, the memories' embeddings
 * nearest to a vector (VECTOR), or both fused by reciprocal rank fusion (HYBRID).
 */
export type SearchMode = 'TEXT' | 'VECTOR' | 'HYBRID';

interface SearchBase {
  organizationId: string;
  limit: number;
  filter?: MemoryFilterInput | null;
  /** Hits scoring less are left out. */
  minScore?: number | null;
  ranking: RankingSettings;
  /** Whether to compute each hit's ts_headline snippet (it reads the whole content again). */
  snippet?: boolean;
  /** Which facts, by validity: valid now by default; recency is computed as of `asOf` when given. */
  validity?: ValidityChoice;
}

/** A search, with what its mode needs: the query's text, its vector, or both. */
export type MemorySearch =
  | (SearchBase & { mode: 'TEXT'; query: string; vector?: null })
  | (SearchBase & { mode: 'VECTOR'; query?: null; vector: VectorQuery })
  | (SearchBase & { mode: 'HYBRID'; query: string; vector: VectorQuery });

/**
 * How many memories each ranking of a VECTOR or HYBRID search brings: the page, and room for
 * importance, recency and use to reorder it. Both rankings are cut at the same length, as
 * hybrid search engines do, so that neither swamps the fusion.
 */
function rankedCandidates(limit: number): number {
  return Math.min(Math.max(100, 5 * limit), 1000);
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
const SNIPPET_OPTIONS = 'StartSel=**, StopSel=**, MaxWords=30, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "';

const tsquery = (text: string, bind: Bind) => `websearch_to_tsquery('english', ${bind(text)})`;

/**
 * The statement of a TEXT search: the caller's live memories (of live agents) whose content
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
 *
 * When no memory has every word, the memories with a word near one of the query's follow
 * (`nearWordMatches`: "trians" finds trains), with text relevance 0 and their `fuzzy` similarity.
 */
function rankedTextMatches(search: MemorySearch & { mode: 'TEXT' }, bind: Bind): string {
  const instant = instantOf(search.validity, bind);
  const parts = scoreParts(search.ranking, 'q.query', bind, instant());
  const words = tsquery(search.query, bind);
  const conditions = textConditions(search, bind, instant);
  // TEXT is the exact mode: near words only when no memory has every word (a misspelling).
  const near = nearWordMatches(
    search,
    rankedCandidates(search.limit),
    1,
    `0::float8 AS text, f.similarity AS fuzzy, ${parts.importance} AS importance, ${parts.recency} AS recency,
          ${parts.use} AS use`,
    bind,
    instant,
  );
  const score = weightedScore(search.ranking, 'c', 'text', bind);
  const minScore = search.minScore != null ? `WHERE ${score} >= ${bind(search.minScore)}::float8` : '';
  return `
    WITH exact AS (
      SELECT m.id, m.created_at, ${parts.text} AS text, NULL::float8 AS fuzzy, ${parts.importance} AS importance,
        ${parts.recency} AS recency, ${parts.use} AS use
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
    )
    SELECT c.id, c.created_at, c.text AS relevance, c.text, NULL::float8 AS similarity, NULL::int AS text_rank,
      NULL::int AS vector_rank, NULL::int AS matched_words, c.fuzzy,
           c.importance, c.recency, c.use, ${score} AS score
    FROM (SELECT id, created_at, text, fuzzy, importance, recency, use FROM exact${near}) c
    ${minScore}
    ORDER BY score DESC, c.created_at DESC, c.id DESC
    LIMIT ${bind(search.limit)}`;
}

/** A text search's conditions on `m`, the view's row: `words`, a tsquery, among them. */
function textConditions(search: MemorySearch, bind: Bind, instant: () => string, words = 'q.query'): string[] {
  return [
    `m.organization_id = ${bind(search.organizationId)}`,
    'NOT a.is_deleted',
    `to_tsvector('english', m.content) @@ ${words}`,
    ...validRows(search, instant),
    ...memoryFilterConditions(search.filter, ['filter'], bind),
  ];
}

/**
 * The search's conditions of expiry and validity on `m` (a row of the view): filters on the rows
 * the index finds, which keep the index search (test/memories/search-plan.test.ts).
 */
function validRows(search: MemorySearch, instant: () => string): string[] {
  return presentRows(search.validity, 'm', instant);
}

/**
 * The query's words for the typo-tolerant part of a search: lower case, of at least 4
 * characters (a shorter one's few trigrams make any word sharing its first letters "near"), each
 * once, at most 8.
 */
function fuzzyWords(query: string): string[] {
  const words = query.toLowerCase().split(/[^\p{L}\p{N}]+/u);
  return [...new Set(words.filter((word) => word.length >= 4))].slice(0, 8);
}

/**
 * Typo tolerance, after the exact matches (a CTE named `exact`, with an `id` column): a `UNION
 * ALL` branch of the memories with a word trigram-similar to one of the query's words ("trians"
 * for "trains"), at most `candidates`, best `fuzzy` similarity first, through the trigram index
 * (`agentmem_fuzzy_memories`, migration 20261203130000_typo_tolerant_search, organization first).
 * It runs only when the exact matches are fewer than `fewerThan` (PostgreSQL's one-time filter), and
 * selects `m.id, m.created_at` and `columns` (over `m`, the view's row, and `f.similarity`).
 * Empty when the query has no word long enough to be near another.
 */
function nearWordMatches(
  search: MemorySearch & { query: string },
  candidates: number,
  fewerThan: number,
  columns: string,
  bind: Bind,
  instant: () => string,
): string {
  const words = fuzzyWords(search.query);
  if (words.length === 0) return '';
  // Valid candidates only, chosen inside the function (as the vector ranking's): see validRows.
  const found = `agentmem_fuzzy_memories(${bind(words)}::text[], ${bind(candidates)}::int,
      ${instant()}, ${bind(search.validity?.includeInvalid === true)}::boolean)`;
  const organization = bind(search.organizationId);
  const filter = memoryFilterConditions(search.filter, ['filter'], bind);
  const tooFew = bind(fewerThan);
  const conditions = [
    `m.organization_id = ${organization}`,
    'NOT a.is_deleted',
    ...validRows(search, instant),
    ...filter,
  ];
  // Each near word's memory is looked up by its id (a LATERAL with LIMIT 1 is never flattened):
  // joined as a set, the join's method followed the table's statistics, which other organizations'
  // rows move, and the plan of a search must not depend on them (test/memories/search-tenants.test.ts).
  return `
        UNION ALL
        SELECT m.id, m.created_at, ${columns}
        FROM ${found} f
        CROSS JOIN LATERAL (
          SELECT m.*
          FROM ${SEARCH_VIEW} m
          JOIN agents a ON a.id = m.agent_id
          WHERE m.id = f.id AND ${conditions.join(' AND ')}
          LIMIT 1
        ) m
        WHERE f.id NOT IN (SELECT id FROM exact)
          AND (SELECT count(*) FROM exact) < ${tooFew}`;
}

/**
 * The text ranking of a HYBRID search: its best `rankedCandidates` matches, each with its rank
 * (1 best), typo-tolerant.
 *
 * - Any of the query's words matches (through the full-text index as TEXT's are), ranked first by
 *   how many of them the memory has (`matched_words`), then by text relevance: a misspelled or
 *   missing word lowers a memory's rank instead of emptying the result, as TEXT's
 *   every-word-required search does.
 * - Only the best `rankedCandidates` of them are ranked, and the fusion needs no more. The
 *   memories with every word come first, so they are found first, by the query's AND (as many as
 *   TEXT's matches, through the same index), and only when they are fewer than the candidates are
 *   the memories with some of the words read, by its OR. A query's OR matches several times more
 *   memories than its AND ("project deadline": 19,850 and 5,440 at 200,000 memories), and
 *   counting each one's words took most of HYBRID's time (docs/performance.md, "Ranked search").
 * - When those find fewer memories than the page, memories with a word trigram-similar to one
 *   of the query's words ("trians" for "trains") follow them, best `fuzzy` similarity first,
 *   through the trigram index (`agentmem_fuzzy_memories`, migration
 *   20261203130000_typo_tolerant_search). PostgreSQL runs that branch only when its condition
 *   holds (a one-time filter).
 */
function textRanking(search: MemorySearch & { mode: 'HYBRID' }, bind: Bind): string {
  // Bound in the order they appear in the text; each value once, its placeholder used where needed.
  const text = textRelevance('q.query');
  const plain = bind(search.query);
  const instant = instantOf(search.validity, bind);
  const every = textConditions(search, bind, instant, 'q.every').join(' AND ');
  const candidates = bind(rankedCandidates(search.limit));
  const some = textConditions(search, bind, instant, 'q.query').join(' AND ');
  const fuzzy = nearWordMatches(
    search,
    rankedCandidates(search.limit),
    search.limit,
    '0::float8 AS text, 0 AS matched_words, f.similarity AS fuzzy',
    bind,
    instant,
  );
  // The query's OR (its lexemes are quoted, so ' & ' is only ever plainto_tsquery's operator), its
  // AND and its stemmed words; in a fence, as TEXT's query (rankedTextMatches).
  const words = `(
          SELECT replace(plainto_tsquery('english', ${plain})::text, ' & ', ' | ')::tsquery,
                 plainto_tsquery('english', ${plain}),
                 tsvector_to_array(to_tsvector('english', ${plain}))
          OFFSET 0
        ) AS q(query, every, words)`;
  return `
    SELECT r.id, r.text, r.matched_words, r.fuzzy,
           row_number() OVER (ORDER BY r.matched_words DESC, r.fuzzy DESC NULLS LAST, r.text DESC, r.created_at DESC,
             r.id DESC)::int AS text_rank
    FROM (
      WITH every_word AS (
        -- The AND's matches, each with all of q.words; ranked by the OR, as some_words' are.
        SELECT m.id, m.created_at, ${text} AS text, cardinality(q.words) AS matched_words
        FROM ${SEARCH_VIEW} m
        JOIN agents a ON a.id = m.agent_id
        CROSS JOIN ${words}
        WHERE ${every}
        ORDER BY text DESC, m.created_at DESC, m.id DESC
        LIMIT ${candidates}
      ),
      some_words AS (
        SELECT m.id, m.created_at, ${text} AS text,
               (SELECT count(DISTINCT w)::int FROM unnest(tsvector_to_array(to_tsvector('english', m.content))) AS w
                WHERE w = ANY(q.words)) AS matched_words
        FROM ${SEARCH_VIEW} m
        JOIN agents a ON a.id = m.agent_id
        CROSS JOIN ${words}
        WHERE ${some} AND NOT to_tsvector('english', m.content) @@ q.every
        ORDER BY matched_words DESC, text DESC, m.created_at DESC, m.id DESC
        -- Only what every_word leaves of the candidates: at 0, PostgreSQL's Limit reads nothing.
        LIMIT ${candidates} - (SELECT count(*) FROM every_word)
      ),
      exact AS (
        SELECT id, created_at, text, matched_words, NULL::float8 AS fuzzy FROM every_word
        UNION ALL
        SELECT id, created_at, text, matched_words, NULL::float8 FROM some_words
      )
      SELECT id, created_at, text, matched_words, fuzzy FROM exact${fuzzy}
    ) r`;
}

/**
 * The vector ranking of a VECTOR or HYBRID search: the `rankedCandidates` memories nearest to the
 * query's vector among the embeddings of its model (src/memories/vector-search.ts), each with its
 * cosine similarity (1 - distance) and its rank (1 nearest).
 */
function vectorRanking(search: MemorySearch & { vector: VectorQuery }, bind: Bind): string {
  const instant = instantOf(search.validity, bind);
  const nearest = nearestMemories(
    {
      organizationId: search.organizationId,
      query: search.vector,
      filter: search.filter,
      candidates: rankedCandidates(search.limit),
      validity: search.validity,
      instant,
    },
    bind,
  );
  const conditions = [
    `m.organization_id = ${bind(search.organizationId)}`,
    'NOT a.is_deleted',
    ...validRows(search, instant),
  ];
  return `
    SELECT n.id, 1 - n.distance AS similarity, row_number() OVER (ORDER BY n.distance, n.id)::int AS vector_rank
    FROM (${nearest}) n
    JOIN ${SEARCH_VIEW} m ON m.id = n.id
    JOIN agents a ON a.id = m.agent_id
    WHERE ${conditions.join(' AND ')}`;
}

/**
 * The statement of a VECTOR or HYBRID search, with the same columns as TEXT's.
 *
 * - VECTOR: a memory's relevance is its cosine similarity to the query, below 0 counted as 0.
 * - HYBRID: reciprocal rank fusion of the text and the vector rankings,
 *   1 / (k + text rank) + 1 / (k + vector rank), a ranking a memory is missing from adding
 *   nothing; scaled by (k + 1) / 2 so that a memory first in both has relevance 1.
 *
 * The relevance then takes the text part's place in the score, with importance, recency and use
 * weighed in as a TEXT search does (SEARCH_WEIGHT_TEXT weighs it).
 */
function rankedFusedMatches(search: MemorySearch & { vector: VectorQuery }, bind: Bind): string {
  // Bound in the order they appear in the text; the fusion's k once, read where it is used.
  const score = weightedScore(search.ranking, 'c', 'relevance', bind);
  const parts = scoreParts(search.ranking, 'NULL', bind, instantOf(search.validity, bind)());
  let fused: string;
  if (search.mode === 'HYBRID') {
    const k = bind(search.ranking.fusionK);
    fused = `
        SELECT coalesce(t.id, v.id) AS id, coalesce(t.text, 0) AS text, v.similarity, t.text_rank, v.vector_rank,
               t.matched_words, t.fuzzy,
               (coalesce(1.0::float8 / (${k}::float8 + t.text_rank), 0) + coalesce(1.0::float8 / (${k}::float8 +
                 v.vector_rank), 0))
                 * (${k}::float8 + 1) / 2 AS relevance
        FROM (${textRanking(search, bind)}) t
        FULL JOIN (${vectorRanking(search, bind)}) v ON v.id = t.id`;
  } else {
    fused = `
        SELECT v.id, 0::float8 AS text, v.similarity, NULL::int AS text_rank, v.vector_rank,
          NULL::int AS matched_words, NULL::float8 AS fuzzy,
          greatest(v.similarity, 0) AS relevance
        FROM (${vectorRanking(search, bind)}) v`;
  }
  const organization = bind(search.organizationId);
  const minScore = search.minScore != null ? `WHERE ${score} >= ${bind(search.minScore)}::float8` : '';
  return `
    SELECT c.id, c.created_at, c.relevance, c.text, c.similarity, c.text_rank, c.vector_rank, c.matched_words,
      c.fuzzy, c.importance, c.recency, c.use, ${score} AS score
    FROM (
      SELECT m.id, m.created_at, f.relevance, f.text, f.similarity, f.text_rank, f.vector_rank, f.matched_words,
             f.fuzzy,
             ${parts.importance} AS importance, ${parts.recency} AS recency, ${parts.use} AS use
      FROM (${fused}) f
      JOIN ${SEARCH_VIEW} m ON m.id = f.id
      WHERE m.organization_id = ${organization}
      OFFSET 0
    ) c
    ${minScore}
    ORDER BY score DESC, c.created_at DESC, c.id DESC
    LIMIT ${bind(search.limit)}`;
}

function rankedMatches(search: MemorySearch, bind: Bind): string {
  return search.mode === 'TEXT' ? rankedTextMatches(search, bind) : rankedFusedMatches(search, bind);
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
    const snippet =
      search.snippet && search.query != null
        ? `, ts_headline('english', m.content, ${tsquery(search.query, bind)}, ${bind(SNIPPET_OPTIONS)}) AS hit_snippet`
        : '';
    const planned = memory ? `, ${memory(bind)} AS hit_memory` : '';
    return `
    SELECT m.id, s.score AS hit_score, s.relevance AS hit_relevance, s.text AS hit_text, s.similarity AS hit_similarity,
           s.text_rank AS hit_text_rank, s.vector_rank AS hit_vector_rank, s.matched_words AS hit_matched_words,
           s.fuzzy AS hit_fuzzy,
           s.importance AS hit_importance, s.recency AS hit_recency, s.use AS hit_use${snippet}${planned}
    FROM (${rankedMatches(search, bind)}) s
    -- Each hit's row by its id (a LATERAL with LIMIT 1 is never flattened into a join whose method
    -- follows the table's statistics, which other organizations' rows move: see nearWordMatches).
    CROSS JOIN LATERAL (SELECT * FROM memories m WHERE m.id = s.id LIMIT 1) m
    -- Again as the hits leave: a memory that expired while the search ran is not among them.
    WHERE ${notExpired('m')}
    ORDER BY s.score DESC, s.created_at DESC, s.id DESC`;
  });
}

/** A hit's planned memory object over the row `m`, written with the search statement's `bind`. */
export type PlannedMemory = (bind: Bind) => string;

/** A hit: the memory's id, its score and the score's parts, and what was asked for beside them. */
export interface MemorySearchRow {
  id: string;
  hit_score: number;
  hit_relevance: number;
  hit_text: number;
  hit_similarity: number | null;
  hit_text_rank: number | null;
  hit_vector_rank: number | null;
  hit_matched_words: number | null;
  hit_fuzzy: number | null;
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
export async function findMatchingMemories(
  sql: ScopedSql,
  search: MemorySearch,
  memory?: PlannedMemory,
): Promise<MemorySearchRow[]> {
  const searched = memorySearchStatement(search, memory);
  let rows: MemorySearchRow[];
  try {
    rows = await sql.query<MemorySearchRow>(searched.text, searched.values);
  } catch (error) {
    if (search.vector && isMissingVector(error)) throw new SemanticRecallUnavailableError(['vector']);
    throw error;
  }
  if (rows.length === 0 && search.query != null) await assertSearchableQuery(sql, search.query);
  return rows;
}

/** VALIDATION on `query` when PostgreSQL finds no word in it to search for. */
async function assertSearchableQuery(sql: ScopedSql, text: string): Promise<void> {
  const check = statement((bind) => `SELECT numnode(websearch_to_tsquery('english', ${bind(text)})) AS nodes`);
  const [row] = await sql.query<{ nodes: number }>(check.text, check.values);
  if (Number(row?.nodes ?? 0) === 0) {
    throw new ValidationError('query: has no words to search for (it is empty, or only stop words and punctuation)', [
      'query',
    ]);
  }
}
