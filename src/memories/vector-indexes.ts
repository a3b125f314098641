import { createHash } from 'node:crypto';
import type { EmbeddingSettings } from '../config/settings';
import type { Database } from '../db/database';
import type { Logger } from '../logger';
import { periodicRounds } from './periodic-rounds';

/**
 * An HNSW index per organization (migration 20261205230000_vector_index_per_organization). One
 * index shared by every organization let another organization's vectors near the query slow a
 * search and, past pgvector's scan limit, change its answer: its scan reads the nearest vectors
 * of the whole store and drops the other organizations' only afterwards. A partial index whose
 * predicate names the organization holds its vectors alone, so its search reads nothing else.
 * An organization gets one once it has `ownIndexFrom` embeddings; until then its search is exact,
 * reading its own rows only (src/memories/vector-search.ts), and it stays exact while the index
 * is being built.
 */

/**
 * Where the indexes are built: the database's owner (every organization's rows, and the right to
 * make indexes) and whether it can build without blocking writes. The server's Database is one;
 * a benchmark's own connection can be another.
 */
export interface VectorIndexDatabase {
  kind: Database['kind'];
  owner: {
    $queryRawUnsafe<T>(query: string, ...values: unknown[]): Promise<T>;
    $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  };
}

/** What decides which indexes are due. */
type IndexSettings = Pick<EmbeddingSettings, 'dimensions' | 'ownIndexFrom'>;

/** The index of one organization's embeddings of one length: the md5 of its id keeps the name short and safe. */
export function vectorIndexName(organizationId: string, dimensions: number): string {
  const digest = createHash('md5').update(organizationId).digest('hex').slice(0, 16);
  return `idx_memories_embedding_hnsw_${Math.trunc(dimensions)}_${digest}`;
}

/**
 * SQL that is true when the index named by `name` (an SQL expression: a bound value) exists and
 * can be used: built, not left invalid by a failed concurrent build. What a search's gate and the
 * keeper both ask.
 */
export function indexReady(name: string): string {
  return `coalesce((SELECT bool_and(i.indisvalid AND i.indisready) FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid WHERE c.relname = ${name}), false)`;
}

/**
 * The organizations that have reached `ownIndexFrom` embeddings of the configured length and have
 * no usable index yet, as the database's owner sees them (every organization).
 */
async function organizationsDue(database: VectorIndexDatabase, settings: IndexSettings): Promise<string[]> {
  const rows = await database.owner.$queryRawUnsafe<Array<{ organization_id: string }>>(
    `SELECT m.organization_id FROM memories m
     WHERE m.embedding_dimensions = $1 AND NOT m.is_deleted
     GROUP BY m.organization_id HAVING count(*) >= $2`,
    settings.dimensions,
    settings.ownIndexFrom,
  );
  const due: string[] = [];
  for (const { organization_id: organizationId } of rows) {
    if (!(await isUsableOrBeingBuilt(database, vectorIndexName(organizationId, settings.dimensions))))
      due.push(organizationId);
  }
  return due;
}

/**
 * Whether the index is there and usable, or another process (a replica, a cluster worker) is
 * building it now: dropping that one as a failed build's leftover would only start over.
 */
async function isUsableOrBeingBuilt(database: VectorIndexDatabase, name: string): Promise<boolean> {
  const [row] = await database.owner.$queryRawUnsafe<Array<{ usable: boolean; building: boolean }>>(
    `SELECT ${indexReady('$1')} AS usable,
       EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p
               JOIN pg_catalog.pg_class c ON c.oid = p.index_relid WHERE c.relname = $1) AS building`,
    name,
  );
  return row?.usable === true || row?.building === true;
}

/**
 * Builds the index of one organization, with the graph that reached issue 19's recall at 100,000
 * embeddings (migration 20261205220000_hnsw_recall_at_scale). On PostgreSQL without blocking its writes (CONCURRENTLY,
 * which cannot run in a transaction); what such a build leaves when it fails is an invalid index,
 * dropped here before the next attempt. PGlite has one connection and builds it in place.
 */
async function buildIndex(
  database: VectorIndexDatabase,
  settings: IndexSettings,
  organizationId: string,
): Promise<void> {
  const concurrently = database.kind === 'postgres' ? 'CONCURRENTLY ' : '';
  const name = vectorIndexName(organizationId, settings.dimensions);
  await database.owner.$executeRawUnsafe(`DROP INDEX ${concurrently}IF EXISTS ${name}`);
  // format() quotes the organization's id as a literal: the predicate must hold it as a constant.
  const [statement] = await database.owner.$queryRawUnsafe<Array<{ text: string }>>(
    `SELECT format('CREATE INDEX ${concurrently}IF NOT EXISTS %I ON memories ' ||
       'USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WITH (m = 32, ef_construction = 200) ' ||
       'WHERE organization_id = %L AND embedding_dimensions = %s AND NOT is_deleted',
       $1::text, $2::int, $3::text, $2::int) AS text`,
    name,
    settings.dimensions,
    organizationId,
  );
  await database.owner.$executeRawUnsafe(statement!.text);
}

/** Builds the indexes that are due, one at a time; the organizations it built them for. */
export async function buildDueVectorIndexes(
  database: VectorIndexDatabase,
  settings: IndexSettings,
  stopped: () => boolean = () => false,
): Promise<string[]> {
  const built: string[] = [];
  for (const organizationId of await organizationsDue(database, settings)) {
    if (stopped()) break;
    await buildIndex(database, settings, organizationId);
    built.push(organizationId);
  }
  return built;
}

/**
 * Looks for indexes due every `indexSweepSeconds` (never when 0 or when semantic recall is off),
 * and builds them (src/memories/periodic-rounds.ts). Several processes may look at once: a build
 * that another has started is skipped, and the next round sees it.
 */
export function createVectorIndexKeeper(database: VectorIndexDatabase, settings: EmbeddingSettings, logger: Logger) {
  const intervalSeconds = settings.semanticRecall === false ? 0 : settings.indexSweepSeconds;
  return periodicRounds(intervalSeconds, (stopped) =>
    buildDueVectorIndexes(database, settings, stopped)
      .then((built) => {
        if (built.length > 0) logger.info({ organizations: built.length }, 'built vector indexes of organizations');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'building the vector indexes of organizations failed')),
  );
}
