import type { Bind } from '../db/statements';
import { type MemoryFilterInput, memoryFilterConditions } from './filter';
import { presentRows, type ValidityChoice } from './validity';
import { indexReady, vectorIndexName } from './vector-indexes';

/**
 * The view vector search reads: the live, embedded memories of the organization in scope, made
 * with the `embedding` column by `agentmem_enable_semantic_recall` (migration
 * 20261202200000_semantic_recall_storage) where pgvector is installed.
 */
const VECTOR_VIEW = 'live_memory_vectors_in_scope';

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
 * The nearest valid ones through the organization's own HNSW index, with pgvector's iterative
 * scan (migrations 20261202200000_semantic_recall_storage, 20261203161700_memory_validity_follow_up
 * and 20261205230000_vector_index_per_organization).
 */
function indexedNearest(search: VectorCandidates, bind: Bind): string {
  return `
    SELECT n.id, n.distance
    FROM agentmem_nearest_memories(${bind(vectorLiteral(search.query.vector))},
      ${bind(search.query.dimensions)}::int, ${bind(search.query.model)}, ${bind(search.candidates)}::int,
      ${search.instant()}, ${bind(search.validity?.includeInvalid === true)}::boolean) n`;
}

/**
 * The `candidates` memories nearest to the query, as `(id, distance)`: through the
 * organization's own HNSW index where it has one that is ready (src/memories/vector-indexes.ts:
 * an organization with many embeddings), exact otherwise, and exact for any filtered search (the
 * filter may leave few memories, which an index scan would find only by reading past many).
 * Either way only the organization's rows are read: another organization's vectors can change
 * neither the answer nor the time it takes. One statement: whether the index is there gates the
 * two branches, and PostgreSQL runs only the one whose condition holds (a one-time filter).
 */
export function nearestMemories(search: VectorCandidates, bind: Bind): string {
  if (search.filter) return `SELECT x.id, x.distance FROM (${exactNearest(search, bind)}) x`;
  // Bound in the order they appear in the text.
  const ownIndex = bind(vectorIndexName(search.organizationId, search.query.dimensions));
  const indexed = indexedNearest(search, bind);
  const exact = exactNearest(search, bind);
  return `
    WITH own_index AS (SELECT ${indexReady(ownIndex)} AS ready)
    SELECT x.id, x.distance FROM (${indexed}) x
    WHERE (SELECT ready FROM own_index)
    UNION ALL
    SELECT y.id, y.distance FROM (${exact}) y
    WHERE NOT (SELECT ready FROM own_index)`;
}
