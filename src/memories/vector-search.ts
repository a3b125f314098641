import type { Bind } from '../db/statements';
import { type MemoryFilterInput, memoryFilterConditions } from './filter';
import { presentRows, type ValidityChoice } from './validity';

/**
 * The view vector search reads: the live, embedded memories of the organization in scope, made
 * with the `embedding` column by `agentmem_enable_semantic_recall` (migration
 * 20261202200000_semantic_recall_storage) where pgvector is installed.
 */
const VECTOR_VIEW = 'live_memory_vectors_in_scope';

/**
 * Up to this many embeddings (of the model searched) an organization's vector search is exact:
 * every distance is computed, so nothing is missed and no other organization's rows are read.
 * Beyond it, the HNSW index finds the nearest (`agentmem_nearest_memories`): exact search grows
 * with the organization, the index does not. 10,000 distances of 1,536 numbers take a few
 * milliseconds.
 */
export const EXACT_VECTOR_SEARCH_LIMIT = 10_000;

/** The vector a search compares memories with, and which of their embeddings it compares. */
export interface VectorQuery {
  vector: readonly number[];
  /** Only embeddings of this model are compared: two models' vectors mean nothing to each other. */
  model: string;
  dimensions: number;
}

export interface VectorCandidates {
  organizationId: string;
  query: VectorQuery;
  filter?: MemoryFilterInput | null;
  /** How many nearest memories to rank: the search's page and room for the score to reorder it. */
  candidates: number;
  /**
   * Which facts may be candidates (valid at `instant`, from `instantOf`, unless includeInvalid;
   * never expired): chosen while picking the nearest, so that invalid facts nearer the query than
   * the valid ones never leave the page short.
   */
  validity?: ValidityChoice;
  instant: () => string;
}

/** The text form of a vector, `[0.1,0.2]`, that `::vector` reads. */
function vectorLiteral(vector: readonly number[]): string {
  return JSON.stringify(vector);
}

/** `v.embedding` at its length, the expression of the HNSW index of that length. */
function embeddingAt(dimensions: number): string {
  return `v.embedding::vector(${Math.trunc(dimensions)})`;
}

function queryAt(search: VectorCandidates, bind: Bind): string {
  return `${bind(vectorLiteral(search.query.vector))}::vector(${String(Math.trunc(search.query.dimensions))})`;
}

/**
 * Every live memory of the organization (of a live agent, valid, passing the filter) with an
 * embedding of the model, and its cosine distance to the query: computed for each behind a fence
 * (OFFSET 0), so that PostgreSQL cannot turn the ordering into an HNSW index scan that the
 * organization's condition would then thin out. The memories' other columns are read only for a
 * filter.
 */
function exactNearest(search: VectorCandidates, bind: Bind): string {
  // Bound in the order they appear in the text.
  const query = queryAt(search, bind);
  const conditions = [
    `v.organization_id = ${bind(search.organizationId)}`,
    `v.embedding_dimensions = ${bind(search.query.dimensions)}::int`,
    `v.embedding_model = ${bind(search.query.model)}`,
    'NOT a.is_deleted',
    ...presentRows(search.validity, 'v', search.instant),
  ];
  const filtered = search.filter ? memoryFilterConditions(search.filter, ['filter'], bind) : [];
  const memories = filtered.length > 0 ? 'JOIN live_memories_in_scope m ON m.id = v.id' : '';
  if (filtered.length > 0) conditions.push(`m.organization_id = ${bind(search.organizationId)}`, ...filtered);
  return `
    SELECT e.id, e.distance FROM (
      SELECT v.id, (${embeddingAt(search.query.dimensions)} <=> ${query})::float8 AS distance
      FROM ${VECTOR_VIEW} v
      JOIN agents a ON a.id = v.agent_id
      ${memories}
      WHERE ${conditions.join(' AND ')}
      OFFSET 0
    ) e
    ORDER BY e.distance, e.id
    LIMIT ${bind(search.candidates)}`;
}

/**
 * The nearest valid ones through the HNSW index, with pgvector's iterative scan (see the
 * migrations 20261202200000_semantic_recall_storage and 20261203161700_memory_validity_follow_up).
 */
function indexedNearest(search: VectorCandidates, bind: Bind): string {
  return `
    SELECT n.id, n.distance
    FROM agentmem_nearest_memories(${bind(vectorLiteral(search.query.vector))},
      ${bind(search.query.dimensions)}::int, ${bind(search.query.model)}, ${bind(search.candidates)}::int,
      ${search.instant()}, ${bind(search.validity?.includeInvalid === true)}::boolean) n`;
}

/**
 * The `candidates` memories nearest to the query, as `(id, distance)`: exact for an organization
 * of at most EXACT_VECTOR_SEARCH_LIMIT embeddings of the model, and for any filtered search (the
 * filter may leave few memories, which an index scan would find only by reading past many);
 * through the HNSW index otherwise. One statement either way: the organization's count, read
 * from an index and stopped at the limit, gates the two branches, and PostgreSQL runs only the
 * one whose condition holds (a one-time filter).
 */
export function nearestMemories(search: VectorCandidates, bind: Bind): string {
  if (search.filter) return `SELECT x.id, x.distance FROM (${exactNearest(search, bind)}) x`;
  // Bound in the order they appear in the text.
  const scopeSize = `
        SELECT 1 FROM ${VECTOR_VIEW} v
        WHERE v.organization_id = ${bind(search.organizationId)} AND v.embedding_model = ${bind(search.query.model)}
          AND v.embedding_dimensions = ${bind(search.query.dimensions)}::int
        LIMIT ${bind(EXACT_VECTOR_SEARCH_LIMIT + 1)}`;
  const indexed = indexedNearest(search, bind);
  const overLimit = bind(EXACT_VECTOR_SEARCH_LIMIT);
  const exact = exactNearest(search, bind);
  const withinLimit = bind(EXACT_VECTOR_SEARCH_LIMIT);
  return `
    WITH scope_size AS (
      SELECT count(*) AS embeddings FROM (${scopeSize}
      ) s
    )
    SELECT x.id, x.distance FROM (${indexed}) x
    WHERE (SELECT embeddings FROM scope_size) > ${overLimit}
    UNION ALL
    SELECT y.id, y.distance FROM (${exact}) y
    WHERE (SELECT embeddings FROM scope_size) <= ${withinLimit}`;
}
