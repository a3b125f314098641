import { runBenchmark, type Cleanup } from './cleanup';
import { startCluster, type Cluster } from './cluster';
import { issueKey } from './databases';
import { DATASET, fillDataset, readDatasetFacts } from './dataset';
import { migrateDeploy } from '../../src/db/migrate';
import { startAgentMem } from './servers';
import { SEARCH_QUERY, SEARCH_LIMIT } from './shapes';

// `npm run bench:search-scale`: ranked memory search latency at 20,000 and at 200,000 memories
// (issue 10). One throwaway PostgreSQL 15 cluster (as `npm run bench`), one database per size,
// AgentMem in production mode; requests one at a time, so the figures are latencies, not
// throughput. See docs/performance.md.

const progress = (line: string) => process.stderr.write(`search-scale: ${line}\n`);

const SIZES = [20_000, 200_000];
const WARMUP_REQUESTS = 30;
const MEASURED_REQUESTS = 300;

/** The whole hit: score, its parts, the snippet and the memory, with the ranking on. */
const SEARCH = `query Search($query: String!, $limit: Int!, $track: Boolean!) {
  searchMemories(query: $query, limit: $limit, track: $track) {
    score breakdown { text importance recency use } snippet memory { id content importance }
  }
}`;

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
        `INSERT INTO memories (id, organization_id, user_id, agent_id, content, hash, memory_type, scope, level, importance,
                               created_at, updated_at, is_deleted, created_by_id, last_updated_by_id)
         SELECT m.id || '-' || k, organization_id, user_id, agent_id, content, hash, memory_type, scope, level, importance,
                created_at - k * interval '1 day', updated_at - k * interval '1 day', is_deleted, created_by_id, last_updated_by_id
         FROM memories m, generate_series(1, $1::int) AS k`,
        [copies],
      );
    }
    await client.query('VACUUM ANALYZE');
    const facts = await readDatasetFacts(client);
    const { rows } = await client.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM memories m JOIN agents a ON a.id = m.agent_id
       WHERE m.organization_id = $1 AND NOT m.is_deleted AND NOT a.is_deleted
         AND to_tsvector('english', m.content) @@ websearch_to_tsquery('english', $2)`,
      [facts.organizationId, SEARCH_QUERY],
    );
    return { key: await issueKey(client, facts.organizationId, facts.userId, 'search scale'), matches: rows[0]!.count };
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Latencies of `MEASURED_REQUESTS` searches sent one at a time, after a warm-up; every answer checked. */
async function latencies(baseUrl: string, key: string, track: boolean): Promise<{ p50: number; p99: number; mean: number }> {
  const send = async () => {
    const started = performance.now();
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: SEARCH, variables: { query: SEARCH_QUERY, limit: SEARCH_LIMIT, track } }),
    });
    const body = (await response.json()) as { data?: { searchMemories: unknown[] }; errors?: unknown };
    const elapsed = performance.now() - started;
    if (!response.ok || body.errors || body.data?.searchMemories.length !== SEARCH_LIMIT) throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
    return elapsed;
  };
  for (let index = 0; index < WARMUP_REQUESTS; index += 1) await send();
  const measured: number[] = [];
  for (let index = 0; index < MEASURED_REQUESTS; index += 1) measured.push(await send());
  measured.sort((x, y) => x - y);
  return { p50: percentile(measured, 50), p99: percentile(measured, 99), mean: measured.reduce((sum, value) => sum + value, 0) / measured.length };
}

async function run(cleanup: Cleanup): Promise<void> {
  const cluster = await startCluster(cleanup);
  progress(`throwaway PostgreSQL ${cluster.version} on port ${cluster.port}, in ${cluster.directory}`);
  const lines: string[] = [];
  for (const size of SIZES) {
    progress(`building ${size} memories`);
    const { key, matches } = await prepare(cluster, size);
    const server = await startAgentMem(cluster, cleanup, `bench_search_${size}`);
    for (const track of [false, true]) {
      progress(`timing ${size} memories, track: ${track}`);
      const figures = await latencies(server.baseUrl, key, track);
      lines.push(
        `| ${size.toLocaleString('en-US').padStart(7)} | ${String(matches).padStart(7)} | ${String(track).padEnd(5)} | ${figures.p50.toFixed(1).padStart(6)} | ${figures.p99.toFixed(1).padStart(6)} | ${figures.mean.toFixed(1).padStart(6)} |`,
      );
    }
    await server.process.stop('SIGTERM', 10_000);
  }
  process.stdout.write(
    `\nsearchMemories("${SEARCH_QUERY}", limit: ${SEARCH_LIMIT}) with score, breakdown, snippet; ${MEASURED_REQUESTS} requests one at a time after ${WARMUP_REQUESTS}; ` +
      `PostgreSQL ${cluster.version}, Node ${process.version}, ${new Date().toISOString()}\n\n` +
      `| memories | matches (organization 1) | track | p50 ms | p99 ms | mean ms |\n|---:|---:|---|---:|---:|---:|\n${lines.join('\n')}\n`,
  );
}

void runBenchmark('search-scale', run);
