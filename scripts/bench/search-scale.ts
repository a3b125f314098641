import os from 'node:os';
import type pg from 'pg';
import { loadSettings } from '../../src/config/settings';
import { migrateDeploy } from '../../src/db/migrate';
import { buildDueVectorIndexes, type VectorIndexDatabase } from '../../src/memories/vector-indexes';
import { type Cleanup, runBenchmark } from './cleanup';
import { type Cluster, startCluster } from './cluster';
import { issueKey } from './databases';
import { DATASET, fillDataset, readDatasetFacts } from './dataset';
import { startAgentMem } from './servers';
import { SEARCH_LIMIT, SEARCH_QUERY } from './shapes';
import { clusterVectorSql, queryVector, SYNTHETIC_DIMENSIONS, SYNTHETIC_MODEL } from './synthetic-embeddings';

// `npm run bench:search-scale`: ranked memory search latency at 20,000 and at 200,000 memories
// (issue 10), by text and HYBRID (issue 19: every memory has a synthetic 384-dimension embedding,
// and the HNSW index's recall@10 against exact search is measured). One throwaway PostgreSQL 15
// cluster (as `npm run bench`, with the machine's pgvector), one database per size, AgentMem in
// production mode; requests one at a time, so the figures are latencies, not throughput. See
// docs/performance.md.

const progress = (line: string) => process.stderr.write(`search-scale: ${line}\n`);

/** SEARCH_SCALE_SIZES (comma-separated multiples of 20,000) measures other sizes, e.g. "60000". */
const SIZES = (process.env.SEARCH_SCALE_SIZES ?? '20000,200000').split(',').map((size) => Number(size.trim()));
/**
 * `--keep`: once measured, the throwaway cluster stays up (its URL printed) until Ctrl-C, so that
 * the 200,000-memory database, minutes to build, can be studied with EXPLAIN (ANALYZE, BUFFERS).
 */
const KEEP = process.argv.slice(2).includes('--keep');
const WARMUP_REQUESTS = 30;
const MEASURED_REQUESTS = 300;

/** The whole hit: score, its parts, the snippet and the memory, with the ranking on. */
const SEARCH = `query Search($query: String!, $vector: [Float!], $limit: Int!, $track: Boolean!) {
  searchMemories(query: $query, vector: $vector, limit: $limit, track: $track) {
    score breakdown { relevance text similarity textRank vectorRank importance recency use } snippet memory { id
      content importance }
  }
}`;

/** Around one of 64 centres (scripts/bench/synthetic-embeddings.ts). */
const DIMENSIONS = SYNTHETIC_DIMENSIONS;
const CLUSTERS = 64;
const MODEL = SYNTHETIC_MODEL;
const RECALL_QUERIES = 20;

/**
 * The benchmark's dataset (20,000 memories), and for larger sizes copies of its memories with
 * other ids and instants: the same texts in the same proportions, so that a search matches ten
 * times as many memories at ten times the size, as it would in a real store.
 */
async function prepare(cluster: Cluster, size: number): Promise<{ key: string; matches: number }> {
  const database = `bench_search_${size}`;
  await cluster.withClient('postgres', (client) => client.query(`CREATE DATABASE ${database}`));
  await migrateDeploy(cluster.url(database));
  return cluster.withClient(database, async (client) => {
    await fillDataset(client);
    const base = DATASET.agents * DATASET.memoriesPerAgent;
    const copies = size / base - 1;
    if (!Number.isInteger(copies) || copies < 0) throw new Error(`size ${size} is not a multiple of ${base}`);
    if (copies > 0) {
      await client.query(
        `INSERT INTO memories (id, organization_id, user_id, agent_id, content, hash, memory_type, scope, level,
          importance,
                               created_at, updated_at, is_deleted, created_by_id, last_updated_by_id)
         SELECT m.id || '-' || k, organization_id, user_id, agent_id, content, hash, memory_type, scope, level,
           importance,
                created_at - k * interval '1 day', updated_at - k * interval '1 day', is_deleted, created_by_id,
                  last_updated_by_id
         FROM memories m, generate_series(1, $1::int) AS k`,
        [copies],
      );
    }
    // Every memory gets an embedding near its cluster's centre (the cluster from its id), with
    // seeded noise, as a real store's embeddings cluster by topic.
    await client.query('SELECT setseed(0.42)');
    await client.query(
      `UPDATE memories m SET embedding = e.vector, embedding_model = $1, embedding_dimensions = $2
       FROM (
         SELECT id, ${clusterVectorSql('abs(hashtext(id)) % $3', '$2')} AS vector
         FROM memories
       ) e
       WHERE m.id = e.id`,
      [MODEL, DIMENSIONS, CLUSTERS],
    );
    // The index build's memory and a parallel worker, as an operator would give it (an earlier build
    // at 200,000 took 21 minutes under load with the defaults): the graph fits in memory.
    await client.query("SET maintenance_work_mem = '2GB'");
    await client.query('SET max_parallel_maintenance_workers = 1');
    // Organization 1's own HNSW index where it has enough embeddings, built as the server's keeper
    // builds it (src/memories/vector-indexes.ts); with fewer its search is exact, and so is the
    // "recall" below.
    const started = performance.now();
    const built = await buildDueVectorIndexes(ownerOn(client), {
      dimensions: DIMENSIONS,
      ownIndexFrom: OWN_INDEX_FROM,
    });
    indexSeconds.set(size, built.length > 0 ? (performance.now() - started) / 1000 : undefined);
    await client.query('VACUUM ANALYZE');
    const facts = await readDatasetFacts(client);
    recalls.set(size, await hnswRecall(client, facts.organizationId));
    const { rows } = await client.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM memories m JOIN agents a ON a.id = m.agent_id
       WHERE m.organization_id = $1 AND NOT m.is_deleted AND NOT a.is_deleted
         AND to_tsvector('english', m.content) @@ websearch_to_tsquery('english', $2)`,
      [facts.organizationId, SEARCH_QUERY],
    );
    return { key: await issueKey(client, facts.organizationId, facts.userId, 'search scale'), matches: rows[0]!.count };
  });
}

/** Seconds the HNSW index took to build, and its recall@10, by size. */
const indexSeconds = new Map<number, number | undefined>();

/** The server's threshold for an organization's own HNSW index (VECTOR_INDEX_MIN_EMBEDDINGS). */
const OWN_INDEX_FROM = loadSettings({}).embeddings.ownIndexFrom;

/** The benchmark's superuser connection, as the keeper's database owner. */
function ownerOn(client: pg.Client): VectorIndexDatabase {
  return {
    kind: 'postgres',
    owner: {
      $queryRawUnsafe: async <T>(query: string, ...values: unknown[]) => (await client.query(query, values)).rows as T,
      $executeRawUnsafe: async (query: string, ...values: unknown[]) =>
        (await client.query(query, values)).rowCount ?? 0,
    },
  };
}
const recalls = new Map<number, { recall: number; embeddings: number }>();

/**
 * recall@10 of the organization's own HNSW index (agentmem_nearest_memories, as a search runs it
 * once the index is there) against exact search, over RECALL_QUERIES queries, in its scope.
 */
async function hnswRecall(client: pg.Client, organizationId: string): Promise<{ recall: number; embeddings: number }> {
  await client.query(`SELECT set_config('app.organization_id', $1, false)`, [organizationId]);
  let found = 0;
  for (let cluster = 0; cluster < RECALL_QUERIES; cluster += 1) {
    const vector = JSON.stringify(queryVector(cluster * 3));
    // As a search asks: rankedCandidates(20) = 100 candidates, of which the nearest 10 count.
    const indexed = await client.query<{ id: string }>(
      'SELECT id FROM agentmem_nearest_memories($1, $2, $3, 100, now(), false) ORDER BY distance, id LIMIT 10',
      [vector, DIMENSIONS, MODEL],
    );
    const exact = await client.query<{ id: string }>(
      `SELECT id FROM memories WHERE organization_id = $1 AND embedding_model = $2 AND NOT is_deleted
       ORDER BY (embedding::vector(${DIMENSIONS}) <=> $3::vector(${DIMENSIONS})) + 0, id LIMIT 10`,
      [organizationId, MODEL, vector],
    );
    const expected = new Set(exact.rows.map((row) => row.id));
    found += indexed.rows.filter((row) => expected.has(row.id)).length;
  }
  const { rows } = await client.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM memories ' +
      'WHERE organization_id = $1 AND embedding_model = $2 AND NOT is_deleted',
    [organizationId, MODEL],
  );
  return { recall: found / (10 * RECALL_QUERIES), embeddings: rows[0]!.count };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Latencies of `MEASURED_REQUESTS` searches sent one at a time, after a warm-up; every answer checked. */
async function latencies(
  baseUrl: string,
  key: string,
  track: boolean,
  vector: number[] | null,
): Promise<{ p50: number; p99: number; mean: number }> {
  const send = async () => {
    const started = performance.now();
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: SEARCH, variables: { query: SEARCH_QUERY, vector, limit: SEARCH_LIMIT, track } }),
    });
    const body = (await response.json()) as { data?: { searchMemories: unknown[] }; errors?: unknown };
    const elapsed = performance.now() - started;
    if (!response.ok || body.errors || body.data?.searchMemories.length !== SEARCH_LIMIT)
      throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
    return elapsed;
  };
  for (let index = 0; index < WARMUP_REQUESTS; index += 1) await send();
  const measured: number[] = [];
  for (let index = 0; index < MEASURED_REQUESTS; index += 1) measured.push(await send());
  measured.sort((x, y) => x - y);
  return {
    p50: percentile(measured, 50),
    p99: percentile(measured, 99),
    mean: measured.reduce((sum, value) => sum + value, 0) / measured.length,
  };
}

async function run(cleanup: Cleanup): Promise<void> {
  const cluster = await startCluster(cleanup);
  progress(`throwaway PostgreSQL ${cluster.version} on port ${cluster.port}, in ${cluster.directory}`);
  const lines: string[] = [];
  for (const size of SIZES) {
    progress(`building ${size} memories`);
    const { key, matches } = await prepare(cluster, size);
    const server = await startAgentMem(cluster, cleanup, `bench_search_${size}`, {
      settings: { EMBEDDINGS_DIMENSIONS: String(DIMENSIONS), EMBEDDINGS_MODEL: MODEL },
    });
    for (const mode of ['TEXT', 'HYBRID'] as const) {
      for (const track of [false, true]) {
        progress(`timing ${size} memories, ${mode}, track: ${track}`);
        const figures = await latencies(server.baseUrl, key, track, mode === 'HYBRID' ? queryVector(5) : null);
        const cells = [
          size.toLocaleString('en-US').padStart(7),
          String(matches).padStart(7),
          mode.padEnd(6),
          String(track).padEnd(5),
          ...[figures.p50, figures.p99, figures.mean].map((value) => value.toFixed(1).padStart(6)),
          // The machine's 1-minute load average as the measurement ends: on a shared machine,
          // figures of one run compare with each other better than with another run's.
          os.loadavg()[0]!.toFixed(1).padStart(4),
        ];
        lines.push(`| ${cells.join(' | ')} |`);
      }
    }
    await server.process.stop('SIGTERM', 10_000);
  }
  const indexLines = SIZES.map((size) => {
    const recall = recalls.get(size)!;
    const cells = [
      size.toLocaleString('en-US').padStart(7),
      recall.embeddings.toLocaleString('en-US'),
      recall.recall.toFixed(3),
      indexSeconds.get(size)?.toFixed(1) ?? `none (exact, under ${OWN_INDEX_FROM.toLocaleString('en-US')})`,
    ];
    return `| ${cells.join(' | ')} |`;
  });
  process.stdout.write(
    `\nsearchMemories("${SEARCH_QUERY}", limit: ${SEARCH_LIMIT}) with score, breakdown, snippet; ` +
      `${MEASURED_REQUESTS} requests one at a time after ${WARMUP_REQUESTS}; ` +
      `PostgreSQL ${cluster.version}, Node ${process.version}, ${new Date().toISOString()}\n\n` +
      '| memories | matches (organization 1) | mode | track | p50 ms | p99 ms | mean ms | load |\n' +
      `|---:|---:|---|---|---:|---:|---:|---:|\n${lines.join('\n')}\n\n` +
      `HYBRID: the same words and a ${DIMENSIONS}-dimension vector near one of ${CLUSTERS} clusters; ` +
      'every memory has a synthetic embedding. ' +
      `HNSW recall@10 against exact search over ${RECALL_QUERIES} queries, in organization 1:\n\n` +
      "| memories | organization 1's embeddings | recall@10 | index build s |\n" +
      `|---:|---:|---:|---:|\n${indexLines.join('\n')}\n`,
  );
  if (KEEP) {
    progress(`--keep: the databases bench_search_<size> stay at ${cluster.url('postgres')}; Ctrl-C ends the run`);
    // Until a signal: the cleanup registered on it stops the cluster and removes its directory.
    await new Promise<never>(() => {
      setInterval(() => undefined, 60_000);
    });
  }
}

void runBenchmark('search-scale', run);
