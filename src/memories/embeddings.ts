import { z } from 'zod';
import type { EmbeddingSettings } from '../config/settings';
import { SemanticRecallUnavailableError, ValidationError } from '../errors';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { Logger } from '../logger';
import { enqueueEmbeddings } from './embedding-worker';

/** The largest 4-byte float. */
const FLOAT4_MAX = 3.4028234663852886e38;

/**
 * A memory's embedding as a client sends it: checked here for what GraphQL's `[Float!]` does not
 * say (a length, finite numbers), and against the deployment's dimensions when it is stored.
 * GraphQL's Float already refuses NaN and Infinity; the check repeats it for any other caller.
 */
export const embeddingInput = z
  .array(
    z
      .number()
      .finite('must be a finite number')
      // pgvector keeps 4-byte floats: a number beyond their range would fail in the database.
      .refine(
        (value) => Math.abs(value) <= FLOAT4_MAX,
        'must be within ±3.4e38 (a 4-byte float, as pgvector stores it)',
      ),
  )
  .min(1, 'must have at least one number');

/** The embedding a write gives a memory, with the model that made it. */
export interface EmbeddingToStore {
  memoryId: string;
  vector: number[];
  model: string;
}

/** VALIDATION, naming the field, unless `vector` has the deployment's number of dimensions. */
export function checkDimensions(vector: readonly number[], settings: EmbeddingSettings, field: string[]): void {
  if (vector.length !== settings.dimensions) {
    throw new ValidationError(
      `must have ${settings.dimensions} numbers (EMBEDDINGS_DIMENSIONS), got ${vector.length}`,
      field,
    );
  }
}

/** The model an embedding is recorded with: the write's, else the deployment's. */
export function embeddingModel(named: string | null | undefined, settings: EmbeddingSettings): string {
  return named ?? settings.model;
}

// 42703: undefined column (no `embedding`), 42704: undefined object (no type `vector`), 42P01:
// undefined table (no view live_memory_vectors_in_scope), 42883: undefined function (no
// vector_dims): each, about one of pgvector's objects, means the extension never reached this
// database. The code alone would also match an unrelated mistake, so the object is checked too.
const MISSING_VECTOR_CODES = new Set(['42703', '42704', '42P01', '42883']);
const MISSING_VECTOR_MESSAGE = new RegExp(
  '(column "embedding"(?: of relation "memories")?|type "vector"|relation "live_memory_vectors_in_scope"|' +
    'function vector_dims\\(.*\\)) does not exist',
);

/** Whether `error` is a statement's failure for want of pgvector (its type, column or view). */
export function isMissingVector(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    // A driver's error has the SQLSTATE as `code`; Prisma's has its own code there (P2010) and
    // the SQLSTATE in `meta.code`.
    const meta = (cause as { meta?: { code?: unknown } }).meta;
    const code = meta ? meta.code : (cause as { code?: unknown }).code;
    const sqlState = typeof code === 'string' ? code : undefined;
    const aboutVectors = MISSING_VECTOR_MESSAGE.test(cause.message);
    if (aboutVectors && (sqlState === undefined || MISSING_VECTOR_CODES.has(sqlState))) return true;
  }
  return false;
}

/**
 * Sets each memory's embedding in `tx`, the write's transaction, in one statement: READY, and any
 * job the provider had for it dropped (the client's vector wins). Where pgvector is missing the
 * statement fails, and so does the write, whole: SEMANTIC_RECALL_UNAVAILABLE.
 */
export async function storeEmbeddings(
  tx: Prisma.TransactionClient,
  embeddings: EmbeddingToStore[],
  field: string[],
): Promise<void> {
  if (embeddings.length === 0) return;
  try {
    await tx.$executeRawUnsafe(
      `WITH dropped AS (DELETE FROM embedding_jobs WHERE memory_id = ANY($1::text[]))
       UPDATE memories m SET embedding = e.vector::vector, embedding_model = e.model, embedding_dimensions =
        vector_dims(e.vector::vector), embedding_status = 'READY', embedding_error = NULL
       FROM unnest($1::text[], $2::text[], $3::text[]) AS e(id, vector, model)
       WHERE m.id = e.id`,
      embeddings.map((embedding) => embedding.memoryId),
      embeddings.map((embedding) => JSON.stringify(embedding.vector)),
      embeddings.map((embedding) => embedding.model),
    );
  } catch (error) {
    if (isMissingVector(error)) throw new SemanticRecallUnavailableError(field);
    throw error;
  }
}

/**
 * Drops a memory's embedding: its content changed and the vector no longer describes it. Only a
 * memory that has one is touched, so where pgvector is missing (no memory has one) this reads and
 * writes nothing more. With a provider, the memory is queued to be embedded again (PENDING).
 */
export async function clearEmbedding(
  tx: Prisma.TransactionClient,
  organizationId: string,
  memoryId: string,
  settings: EmbeddingSettings,
): Promise<void> {
  if (settings.provider) {
    const [row] = await tx.$queryRawUnsafe<Array<{ embedded: boolean }>>(
      'SELECT embedding_dimensions IS NOT NULL AS embedded FROM memories WHERE id = $1',
      memoryId,
    );
    if (row?.embedded) await dropVector(tx, memoryId);
    await enqueueEmbeddings(tx, organizationId, [memoryId]);
    return;
  }
  const embedded = await tx.memory.count({ where: { id: memoryId, embeddingDimensions: { not: null } } });
  if (embedded === 0) return;
  await dropVector(tx, memoryId);
}

function dropVector(tx: Prisma.TransactionClient, memoryId: string): Promise<number> {
  return tx.$executeRawUnsafe(
    `UPDATE memories SET embedding = NULL, embedding_model = NULL, embedding_dimensions = NULL,
       embedding_status = NULL, embedding_error = NULL WHERE id = $1`,
    memoryId,
  );
}

export type SemanticRecallState = { on: true } | { on: false; reason: string };

/**
 * Turns semantic recall on where pgvector can be had, and makes the HNSW index for the configured
 * dimensions (migration 20261202200000_semantic_recall_storage, `agentmem_enable_semantic_recall`).
 * Run at start and by `npm run db:migrate`, as the database's owner: installing pgvector later and
 * starting again turns it on. Says once, in the log, when it stays off and why.
 */
export async function prepareSemanticRecall(
  owner: PrismaClient,
  settings: EmbeddingSettings,
  logger?: Logger,
): Promise<SemanticRecallState> {
  let reason: string | null;
  try {
    const [row] = await owner.$queryRawUnsafe<Array<{ reason: string | null }>>(
      'SELECT agentmem_enable_semantic_recall($1::int) AS reason',
      settings.dimensions,
    );
    reason = row?.reason ?? null;
  } catch (error) {
    reason = `it could not be prepared: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (reason === null) {
    logger?.info({ dimensions: settings.dimensions, model: settings.model }, 'semantic recall is on (pgvector)');
    return { on: true };
  }
  logger?.warn(
    { reason },
    `semantic recall is off: ${reason}. Memories are stored and searched by text as before; a write or search ` +
      'with a vector gets SEMANTIC_RECALL_UNAVAILABLE. ' +
      'Install pgvector (docs/recall.md "Semantic recall") and start again.',
  );
  return { on: false, reason };
}
