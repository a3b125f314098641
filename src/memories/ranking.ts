import type { RankingSettings } from '../config/settings';
import type { Bind } from '../db/statements';

/**
 * The one score memory search ranks by (README, "Ranked recall"):
 *
 *   score = wText * text + wImportance * importance + wRecency * recency + wUse * use
 *
 * - text: ts_rank_cd of the content for the query, every occurrence weighted 1 (to_tsvector gives
 *   every word weight D, whose default 0.1 would make text matter little), normalized by
 *   PostgreSQL's option 32 to rank / (rank + 1): in [0, 1).
 * - importance: the memory's importance, clamped to [0, 1].
 * - recency: 0.5 ^ (age / half-life), the age counted from the last access or, for a memory never
 *   accessed, its creation; 1 now, 0.5 after one half-life; a future instant counts as now.
 * - use: access_count / (access_count + useHalfCount): 0 never read, 0.5 at useHalfCount reads,
 *   towards 1 beyond.
 *
 * Each part is written so that it cannot raise on any row (no underflow, no division by zero):
 * the search's view may compute them on rows before their organization is checked.
 */
export interface ScoreParts {
  text: string;
  importance: string;
  recency: string;
  use: string;
}

/** The half-lives beyond which recency is taken as 0 (2^-1000 is already far below any weight). */
const MAX_HALF_LIVES = 1000;

/**
 * The parts of the score for `m` (a row with content, importance, access_count, last_accessed,
 * created_at) and `query` (a tsquery), with recency as of `at` (SQL: now(), or a search's asOf).
 */
export function scoreParts(settings: RankingSettings, query: string, bind: Bind, at = 'now()'): ScoreParts {
  const halfLifeSeconds = bind(settings.recencyHalfLifeDays * 86_400);
  return {
    text: textRelevance(query),
    importance: `least(greatest(m.importance::float8, 0), 1)`,
    // date_part gives float8; extract gives numeric, whose arithmetic cost as much as the text rank.
    recency: `CASE WHEN date_part('epoch', ${at} - coalesce(m.last_accessed, m.created_at)) /
      ${halfLifeSeconds}::float8 >= ${bind(MAX_HALF_LIVES)} THEN 0::float8
      ELSE power(0.5::float8, greatest(date_part('epoch', ${at} - coalesce(m.last_accessed, m.created_at)) /
        ${halfLifeSeconds}::float8, 0)) END`,
    use: `greatest(m.access_count, 0)::float8 / (greatest(m.access_count, 0)::float8 +
      ${bind(settings.useHalfCount)}::float8)`,
  };
}

/**
 * The text part alone, which binds nothing: for a ranking by text relevance only (a HYBRID
 * search's text ranking), whose statement must not bind the other parts' values unused.
 */
export function textRelevance(query: string): string {
  return `ts_rank_cd('{1,1,1,1}'::float4[], to_tsvector('english', m.content), ${query}, 32)::float8`;
}

/**
 * The weighted sum of the parts, given as the columns `importance`, `recency`, `use` of `row` and
 * `relevance`, the column that the text weight applies to: `text` in a TEXT search, the fused or
 * vector relevance otherwise (src/memories/search.ts).
 */
export function weightedScore(
  settings: RankingSettings,
  row: string,
  relevance: 'text' | 'relevance',
  bind: Bind,
): string {
  const { text, importance, recency, use } = settings.weights;
  const part = (name: string, weight: number) => `${bind(weight)}::float8 * ${row}.${name}`;
  const weighted = [part(relevance, text), part('importance', importance), part('recency', recency), part('use', use)];
  return `(${weighted.join(' + ')})`;
}
