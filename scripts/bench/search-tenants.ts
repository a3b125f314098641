import { migrateDeploy } from '../../src/db/migrate';
import { type Cleanup, runBenchmark } from './cleanup';
import { type Cluster, startCluster } from './cluster';
import { issueKey } from './databases';
import { startAgentMem } from './servers';

// `npm run bench:search-tenants`: does one organization's search time depend on what another
// organization writes? (issue 21, item 7). A has 10,000 memories, 20 of which hold the word
// LOADED and 20 the word CONTROL; B has none, then 50,000 that hold LOADED. A searches for the
// two words in turn over HTTP; if B's rows reached A's search, LOADED would be the slower one.
// One throwaway PostgreSQL 15 cluster (as `npm run bench`), AgentMem in production mode, requests
// one at a time. `--old-index` puts back the index before migration
// 20261202160000_memory_search_index_by_organization (words of all organizations together), to
// see the difference. See docs/performance.md, "Search time and other organizations".

const progress = (line: string) => process.stderr.write(`search-tenants: ${line}\n`);

const DATABASE = 'bench_search_tenants';
const OWN_MEMORIES = 10_000;
const OWN_MATCHES = 20;
const OTHER_MEMORIES = 50_000;
const LOADED = 'zephyr';
const CONTROL = 'quokka';
const WARMUP_PAIRS = 30;
const MEASURED_PAIRS = 150;
/** The issue's bound on the ratio of the medians. */
const TARGET = { low: 0.8, high: 1.25 };

const SEARCH = `query Search($query: String!) { searchMemories(query: $query, limit: 20, track: false) {
  score memory { id } } }`;

const oldIndex = process.argv.includes('--old-index');

/** A and B, each an organization with a user and an agent; A's 10,000 memories; a key for A. */
async function prepare(cluster: Cluster): Promise<string> {
  await cluster.withClient('postgres', (client) => client.query(`CREATE DATABASE ${DATABASE}`));
  await migrateDeploy(cluster.url(DATABASE));
  return cluster.withClient(DATABASE, async (client) => {
    for (const tenant of ['a', 'b']) {
      await client.query(`INSERT INTO organizations (id, name) VALUES ($1, $2)`, [
        `org-${tenant}`,
        `Organization ${tenant}`,
      ]);
      await client.query(`INSERT INTO users (id, organization_id, name) VALUES ($1, $2, $3)`, [
        `user-${tenant}`,
        `org-${tenant}`,
        `User ${tenant}`,
      ]);
      await client.query(`INSERT INTO agents (id, organization_id, name) VALUES ($1, $2, $3)`, [
        `agent-${tenant}`,
        `org-${tenant}`,
        `Agent ${tenant}`,
      ]);
    }
    // Every 500th holds LOADED, every 500th (offset by 250) CONTROL: the same count, spread alike.
    const every = OWN_MEMORIES / OWN_MATCHES;
    await client.query(
      `INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level)
       SELECT 'memory-a-' || i, 'org-a', 'user-a', 'agent-a',
              CASE WHEN i % $1 = 0 THEN 'a note about ' || $2 || ' number ' || i
                   WHEN i % $1 = $1 / 2 THEN 'a note about ' || $3 || ' number ' || i
                   ELSE 'an ordinary note number ' || i END,
              'factual', 'user', 'long_term'
       FROM generate_series(1, $4::int) AS i`,
      [every, LOADED, CONTROL, OWN_MEMORIES],
    );
    if (oldIndex) {
      await client.query(`DROP INDEX idx_memories_organization_id_content_fts`);
      await client.query(
        `CREATE INDEX idx_memories_content_fts ON memories USING GIN (to_tsvector('english', content))`,
      );
    }
    await client.query('VACUUM ANALYZE');
    return issueKey(client, 'org-a', 'user-a', 'search tenants');
  });
}

/** B's memories, every one holding LOADED. */
async function loadOther(cluster: Cluster): Promise<void> {
  await cluster.withClient(DATABASE, async (client) => {
    await client.query(
      `INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level)
       SELECT 'memory-b-' || i, 'org-b', 'user-b', 'agent-b', 'their note about ' || $1 || ' number ' || i,
         'factual', 'user', 'long_term'
       FROM generate_series(1, $2::int) AS i`,
      [LOADED, OTHER_MEMORIES],
    );
    await client.query('VACUUM ANALYZE');
  });
}

/** One search, timed from request to parsed answer; the answer must be A's 20 matches. */
async function timedSearch(baseUrl: string, key: string, word: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: SEARCH, variables: { query: word } }),
  });
  const body = (await response.json()) as {
    data?: { searchMemories: Array<{ memory: { id: string } }> };
    errors?: unknown;
  };
  const elapsed = performance.now() - started;
  const hits = body.data?.searchMemories ?? [];
  if (
    !response.ok ||
    body.errors ||
    hits.length !== OWN_MATCHES ||
    hits.some((hit) => !hit.memory.id.startsWith('memory-a-'))
  ) {
    throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
  }
  return elapsed;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
const median = (values: number[]) =>
  quantile(
    [...values].sort((x, y) => x - y),
    0.5,
  );

/** A small seeded generator (mulberry32): the bootstrap's interval is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 95% bootstrap interval of median(loaded) / median(control), resampling each side. */
function ratioInterval(loaded: number[], control: number[]): [number, number] {
  const random = seededRandom(21);
  const resample = (values: number[]) => values.map(() => values[Math.floor(random() * values.length)]!);
  const ratios: number[] = [];
  for (let round = 0; round < 2_000; round += 1) ratios.push(median(resample(loaded)) / median(resample(control)));
  ratios.sort((x, y) => x - y);
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)];
}

/** LOADED and CONTROL in turn (which goes first alternates too), after a warm-up. */
async function measure(baseUrl: string, key: string): Promise<{ loaded: number[]; control: number[] }> {
  const loaded: number[] = [];
  const control: number[] = [];
  for (let pair = 0; pair < WARMUP_PAIRS + MEASURED_PAIRS; pair += 1) {
    const order = pair % 2 === 0 ? [LOADED, CONTROL] : [CONTROL, LOADED];
    for (const word of order) {
      const elapsed = await timedSearch(baseUrl, key, word);
      if (pair >= WARMUP_PAIRS) (word === LOADED ? loaded : control).push(elapsed);
    }
  }
  return { loaded, control };
}

function summary(
  phase: string,
  { loaded, control }: { loaded: number[]; control: number[] },
): { rows: string; ratio: string } {
  const describe = (word: string, values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    const figures = [0.25, 0.5, 0.75, 0.95].map((q) => quantile(sorted, q).toFixed(2).padStart(6));
    const cells = [phase.padEnd(22), word.padEnd(7), String(values.length).padStart(3), ...figures];
    return `| ${cells.join(' | ')} |`;
  };
  const ratio = median(loaded) / median(control);
  const [low, high] = ratioInterval(loaded, control);
  // How often the loaded word was the slower of a pair: 0.5 when neither is.
  const slower = loaded.filter((value, index) => value > control[index]!).length / loaded.length;
  const verdict = ratio >= TARGET.low && ratio <= TARGET.high ? 'within' : 'OUTSIDE';
  return {
    rows: `${describe(LOADED, loaded)}\n${describe(CONTROL, control)}`,
    ratio:
      `${phase}: median ${LOADED} / median ${CONTROL} = ${ratio.toFixed(3)} ` +
      `(95% bootstrap interval ${low.toFixed(3)}–${high.toFixed(3)}), ` +
      `${LOADED} the slower in ${(slower * 100).toFixed(0)}% of pairs: ${verdict} ${TARGET.low}–${TARGET.high}`,
  };
}

async function run(cleanup: Cleanup): Promise<void> {
  const cluster = await startCluster(cleanup);
  progress(`throwaway PostgreSQL ${cluster.version} on port ${cluster.port}, in ${cluster.directory}`);
  const key = await prepare(cluster);
  const server = await startAgentMem(cluster, cleanup, DATABASE);
  const phases: Array<{ rows: string; ratio: string }> = [];
  progress(`timing with no memory of B`);
  phases.push(summary('B: none', await measure(server.baseUrl, key)));
  progress(`writing ${OTHER_MEMORIES} memories of B holding "${LOADED}"`);
  await loadOther(cluster);
  progress(`timing with B's memories`);
  phases.push(
    summary(`B: ${OTHER_MEMORIES.toLocaleString('en-US')} with ${LOADED}`, await measure(server.baseUrl, key)),
  );
  await server.process.stop('SIGTERM', 10_000);
  process.stdout.write(
    `\nA (${OWN_MEMORIES.toLocaleString('en-US')} memories, ` +
      `${OWN_MATCHES} per word) searches "${LOADED}" and "${CONTROL}" in turn, ` +
      `${MEASURED_PAIRS} pairs after ${WARMUP_PAIRS}, ` +
      `one request at a time; index: ${oldIndex ? 'the old one (all organizations)' : 'by organization'}; ` +
      `PostgreSQL ${cluster.version}, Node ${process.version}, ${new Date().toISOString()}\n\n` +
      `| phase | word | n | p25 ms | p50 ms | p75 ms | p95 ms ` +
      `|\n|---|---|---:|---:|---:|---:|---:|\n${phases.map((phase) => phase.rows).join('\n')}\n\n` +
      `${phases.map((phase) => phase.ratio).join('\n')}\n`,
  );
}

void runBenchmark('search-tenants', run);
