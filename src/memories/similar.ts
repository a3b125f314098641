import { z } from 'zod';
import type { ScopedSql } from '../db/row-level-security';
import { type Bind, type Statement, statement } from '../db/statements';
import { NotFoundError, SemanticRecallUnavailableError, ValidationError } from '../errors';
import { parseInput } from '../schema/validation';
import { isMissingVector } from './embeddings';
import { type MemoryFilterInput, type MemorySimilarToInput, SIMILAR_TO_LIMIT } from './filter';
import type { MemoryListPage } from './list';
import { instantOf, notExpired, type ValidityChoice } from './validity';
import { nearestMemories } from './vector-search';

/**
 * `memories(filter: { similarTo: { memoryId, minSimilarity } })` (issue 19): a memory's nearest
 * neighbours. The memory's own embedding is the query of a vector search (src/memories/vector-search.ts,
 * the same choice between exact search and the HNSW index, the same organization, validity and
 * filter conditions), which picks the SIMILAR_TO_LIMIT nearest; the list's pages are keyset pages
 * over them, by (distance, id): a cursor is a memory among them, and its place is its distance.
 * Bounded so that every page, however far, costs one bounded search, and a page and totalCount
 * read the same set.
 */

const FIELD = ['filter', 'similarTo'];

/** The memory compared with: its embedding (pgvector's text form), and which model made it. */
export interface SimilarTarget {
  id: string;
  vector: number[];
  model: string;
  dimensions: number;
  /** Cosine similarity at least this (-1 to 1); null: no bound. */
  minSimilarity: number | null;
}

const similarityBound = z
  .number()
  .finite('must be a finite number')
  .min(-1, 'must be from -1 to 1 (cosine similarity)')
  .max(1, 'must be from -1 to 1 (cosine similarity)');

/**
 * The memory `similarTo` names, read in the caller's organization (row-level security and the
 * organization's condition): NOT_FOUND, the same words as an unknown id, when it is another
 * organization's, deleted, of a deleted agent or expired; VALIDATION naming `memoryId` when it has
 * no embedding (yet: PENDING, or FAILED); SEMANTIC_RECALL_UNAVAILABLE without pgvector. A memory
 * no longer valid (superseded, ended) may be compared with: its neighbours are chosen by the
 * list's own validity.
 */
export async function similarTarget(
  sql: ScopedSql,
  organizationId: string,
  similarTo: MemorySimilarToInput,
  semanticRecall: boolean | undefined,
): Promise<SimilarTarget> {
  const minSimilarity =
    similarTo.minSimilarity == null
      ? null
      : parseInput(similarityBound, similarTo.minSimilarity, [...FIELD, 'minSimilarity']);
  if (semanticRecall === false) throw new SemanticRecallUnavailableError(FIELD);
  const id = String(similarTo.memoryId);
  const read = statement(
    (bind) => `
    SELECT m.embedding::text AS embedding, m.embedding_model AS model, m.embedding_dimensions AS dimensions,
      m.embedding_status AS status, m.embedding_error AS error
    FROM memories m JOIN agents a ON a.id = m.agent_id
    WHERE m.id = ${bind(id)} AND m.organization_id = ${bind(organizationId)}
      AND NOT m.is_deleted AND NOT a.is_deleted AND ${notExpired('m')}`,
  );
  let rows: Array<{
    embedding: string | null;
    model: string | null;
    dimensions: number | null;
    status: string | null;
    error: string | null;
  }>;
  try {
    rows = await sql.query(read.text, read.values);
  } catch (error) {
    if (isMissingVector(error)) throw new SemanticRecallUnavailableError(FIELD);
    throw error;
  }
  const [row] = rows;
  if (!row) throw new NotFoundError('Memory', id, [...FIELD, 'memoryId']);
  if (row.embedding === null || row.model === null || row.dimensions === null) {
    const why =
      row.status === 'PENDING'
        ? 'it is waiting for the embedding provider (embeddingStatus PENDING); ask again once it is READY'
        : row.status === 'FAILED'
          ? `embedding it failed (embeddingStatus FAILED: ${row.error ?? 'no reason given'})`
          : 'none was given (createMemory or updateMemory `embedding`) and no embedding provider is set';
    throw new ValidationError(
      `${[...FIELD, 'memoryId'].join('.')}: memory ${JSON.stringify(id)} has no embedding to compare with: ${why}`,
      [...FIELD, 'memoryId'],
    );
  }
  return {
    id,
    vector: JSON.parse(row.embedding) as number[],
    model: row.model,
    dimensions: Number(row.dimensions),
    minSimilarity,
  };
}

export interface SimilarList {
  organizationId: string;
  target: SimilarTarget;
  filter?: MemoryFilterInput | null;
  validity?: ValidityChoice;
}

/** The filter's own conditions (all but similarTo), or null when it has none. */
function otherConditions(filter: MemoryFilterInput | null | undefined): MemoryFilterInput | null {
  if (!filter) return null;
  const { similarTo: _similarTo, ...rest } = filter;
  return Object.values(rest).some((value) => value != null) ? rest : null;
}

/**
 * `shown`: the neighbours the list may show, as (id, distance), with `near` before it: the
 * SIMILAR_TO_LIMIT + 1 nearest (the target itself among them, most likely), through the search of
 * src/memories/vector-search.ts; then the target left out, each memory's agent live (the HNSW
 * branch does not check it), and the similarity bound.
 */
function neighbours(list: SimilarList, bind: Bind, candidates = SIMILAR_TO_LIMIT + 1): string {
  const validity = list.validity;
  const nearest = nearestMemories(
    {
      organizationId: list.organizationId,
      query: { vector: list.target.vector, model: list.target.model, dimensions: list.target.dimensions },
      filter: otherConditions(list.filter),
      candidates,
      ...(validity && { validity }),
      instant: instantOf(validity, bind),
    },
    bind,
  );
  const conditions = [
    `m.organization_id = ${bind(list.organizationId)}`,
    'NOT m.is_deleted',
    'NOT a.is_deleted',
    `nb.id <> ${bind(list.target.id)}`,
  ];
  if (list.target.minSimilarity !== null)
    conditions.push(`1 - nb.distance >= ${bind(list.target.minSimilarity)}::float8`);
  return `near AS MATERIALIZED (${nearest}),
    shown AS (
      SELECT nb.id, nb.distance FROM near nb JOIN memories m ON m.id = nb.id JOIN agents a ON a.id = m.agent_id
      WHERE ${conditions.join(' AND ')}
    )`;
}

/**
 * One page of neighbours, as Pothos asks for it (`take`, negative backwards; `skip` 1 past the
 * cursor), nearest first: keyset by (distance, id) from the cursor's own place among them. A
 * cursor that is not among them (another list's, another organization's) gives an empty page.
 */
export function similarPageStatement(list: SimilarList, page: MemoryListPage, candidates?: number): Statement {
  const forward = page.take >= 0;
  const direction = forward ? 'ASC' : 'DESC';
  return statement((bind) => {
    const rows = neighbours(list, bind, candidates);
    const after = page.cursor
      ? `WHERE (s.distance, s.id) ${forward ? '>' : '<'}${page.skip === 0 ? '=' : ''}
          (SELECT c.distance, c.id FROM shown c WHERE c.id = ${bind(page.cursor.id)})`
      : '';
    return `
    WITH ${rows}
    SELECT s.id, (1 - s.distance)::float8 AS similarity FROM shown s
    ${after}
    ORDER BY s.distance ${direction}, s.id ${direction}
    LIMIT ${bind(Math.abs(page.take))}`;
  });
}

/** The page's ids and similarities, in the list's order (nearest first). */
export async function similarPage(
  sql: ScopedSql,
  list: SimilarList,
  page: MemoryListPage,
): Promise<Array<{ id: string; similarity: number }>> {
  // The first page forwards, the one most asked for, first searches only twice its size (and the
  // memory itself): exact search gives the same page; the HNSW index searches a narrower graph
  // (ef_search 600, not 1000), the recall of searchMemories. 24 ms instead of 59 (p50) on 20,000
  // embeddings of 384 dimensions (measured at ef_search 400, before migration
  // 20261205220000_hnsw_recall_at_scale). Short (memories of deleted agents among the candidates, or too
  // few neighbours), it is read again from the full window, so that it is never short.
  const quick = page.cursor === undefined && page.take > 0 ? 2 * page.take + 1 : undefined;
  let rows: Array<{ id: string; similarity: number }> = [];
  if (quick !== undefined && quick < SIMILAR_TO_LIMIT + 1) {
    const read = similarPageStatement(list, page, quick);
    rows = await sql.query(read.text, read.values);
  }
  if (quick === undefined || quick >= SIMILAR_TO_LIMIT + 1 || rows.length < page.take) {
    const read = similarPageStatement(list, page);
    rows = await sql.query(read.text, read.values);
  }
  const ordered = rows.map((row) => ({ id: row.id, similarity: Number(row.similarity) }));
  return page.take >= 0 ? ordered : ordered.reverse();
}

/** How many neighbours the list has over all its pages: at most SIMILAR_TO_LIMIT. */
export async function countSimilar(sql: ScopedSql, list: SimilarList): Promise<number> {
  const count = statement((bind) => `WITH ${neighbours(list, bind)} SELECT count(*)::int AS count FROM shown`);
  const [row] = await sql.query<{ count: number }>(count.text, count.values);
  return Number(row?.count ?? 0);
}
