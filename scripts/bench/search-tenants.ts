import os from 'node:os';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { loadSettings } from '../../src/config/settings';
import { migrateDeploy } from '../../src/db/migrate';
import { indexReady, vectorIndexName } from '../../src/memories/vector-indexes';
import { type Cleanup, runBenchmark } from './cleanup';
import { type Cluster, startCluster } from './cluster';
import { issueKey } from './databases';
import { startAgentMem } from './servers';
import {
  clusterAtPhase,
  clusterVectorSql,
  queryVector,
  SYNTHETIC_DIMENSIONS,
  SYNTHETIC_MODEL,
} from './synthetic-embeddings';

// `npm run bench:search-tenants`: does one organization's search time depend on what another
// organization writes? (issue 21, item 7). A has 10,000 memories, 20 of which hold the word
// LOADED and 20 the word CONTROL; B has none, then 50,000 that hold LOADED. A searches for the
// two words in turn over HTTP; if B's rows reached A's search, LOADED would be the slower one.
// One throwaway PostgreSQL 15 cluster (as `npm run bench`, with the machine's pgvector), AgentMem
// in production mode, requests one at a time. `--old-index` puts back the index before migration
// 20261202160000_memory_search_index_by_organization (words of all organizations together), to
// see the difference.
// `--vector`: semantic recall under the same rule. Every memory carries a synthetic embedding
// (scripts/bench/synthetic-embeddings.ts): A's 20 LOADED memories near cluster 0's centre, its 20
// CONTROL ones near the opposite cluster, the rest between the two; B's 50,000 all near
// cluster 0, where A's LOADED query vector is. A searches in TEXT, VECTOR (the client's `vector:`
// alone) and HYBRID (word and vector) mode. `--own N` gives A N memories: below
// VECTOR_INDEX_MIN_EMBEDDINGS (10,000) its vector search is exact (only A's rows), from there on it
// goes through an HNSW index of A's own (src/memories/vector-indexes.ts), which the server builds;
// so does B's 50,000. Each phase is timed once the indexes due are built.
// See docs/performance.md, "Search time and other organizations".

const progress = (line: string) => process.stderr.write(`search-tenants: ${line}\n`);

const { values: options } = parseArgs({
  options: {
    'old-index': { type: 'boolean', default: false },
    vector: { type: 'boolean', default: false },
    own: { type: 'string', default: '10000' },
  },
});
const oldIndex = options['old-index'];
const withVectors = options.vector;

const DATABASE = 'bench_search_tenants';
const OWN_MEMORIES = Number(options.own);
const OWN_MATCHES = 20;
const OTHER_MEMORIES = 50_000;
const LOADED = 'zephyr';
const CONTROL = 'quokka';
/**
 * The clusters of the embeddings that go with each word, opposite in phase; A's other memories
 * lie around the two phases between (scripts/bench/synthetic-embeddings.ts), far from both, so
 * that the nearest 20 to a word's query vector are A's 20 memories of that word.
 */
const CLUSTER_OF = { [LOADED]: clusterAtPhase(0), [CONTROL]: clusterAtPhase(Math.PI) } as const;
const OTHER_CLUSTER_SQL = `${clusterAtPhase(Math.PI / 2)} + ${clusterAtPhase(Math.PI)} * (i % 2)
  + ${clusterAtPhase(0.5)} * ((i % 31) / 31.0 - 0.5)`;
const WARMUP_PAIRS = 30;
const MEASURED_PAIRS = 150;
/** The issue's bound on the ratio of the medians. */
const TARGET = { low: 0.8, high: 1.25 };
/** Every `EVERY`th memory of A holds LOADED, every `EVERY`th offset by half CONTROL. */
const EVERY = OWN_MEMORIES / OWN_MATCHES;
if (!Number.isInteger(EVERY) || EVERY % 2 !== 0) throw new Error(`--own ${options.own}: not a multiple of 40`);

type Mode = 'TEXT' | 'VECTOR' | 'HYBRID';
type Word = typeof LOADED | typeof CONTROL;
const MODES: Mode[] = withVectors ? ['TEXT', 'VECTOR', 'HYBRID'] : ['TEXT'];

const SEARCH = `query Search($query: String, $vector: [Float!], $mode: SearchMode) {
  searchMemories(query: $query, vector: $vector, mode: $mode, limit: 20, track: false) { score memory { id } } }`;

/** A's memories that hold `word` (and, with --vector, whose embeddings are near its cluster). */
function ownMatches(word: Word): string[] {
  const offset = word === LOADED ? 0 : EVERY / 2;
  return Array.from({ length: OWN_MEMORIES }, (_, index) => index + 1)
    .filter((i) => i % EVERY === offset)
    .map((i) => `memory-a-${i}`)
    .sort();
}
const EXPECTED = { [LOADED]: ownMatches(LOADED), [CONTROL]: ownMatches(CONTROL) };

/** The variables of A's search for `word` in `mode`: the word, its cluster's query vector, or both. */
function variablesOf(mode: Mode, word: Word): Record<string, unknown> {
  const vector = queryVector(CLUSTER_OF[word]);
  if (mode === 'TEXT') return { query: word, mode };
  if (mode === 'VECTOR') return { vector, mode };
  return { query: word, vector, mode };
}

/** The embedding columns of an INSERT … SELECT, and their values: near the cluster `clusterSql` gives. */
function embeddingColumns(clusterSql: string): { columns: string; values: string } {
  return {
    columns: ', embedding, embedding_model, embedding_dimensions',
    values:
      `, ${clusterVectorSql(clusterSql, String(SYNTHETIC_DIMENSIONS))}, ` +
      `'${SYNTHETIC_MODEL}', ${SYNTHETIC_DIMENSIONS}`,
  };
}

/** `agentmem_enable_semantic_recall`: the embedding column and the vector view. */
async function enableSemanticRecall(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ reason: string | null }>(
    'SELECT agentmem_enable_semantic_recall($1) AS reason',
    [SYNTHETIC_DIMENSIONS],
  );
  if (rows[0]?.reason) throw new Error(`semantic recall is off: ${rows[0].reason}`);
}

/** The server's threshold for an organization's own HNSW index (VECTOR_INDEX_MIN_EMBEDDINGS). */
const OWN_INDEX_FROM = loadSettings({}).embeddings.ownIndexFrom;

/**
 * Waits until the server's keeper (every second here) has built the own index of each
 * organization with at least OWN_INDEX_FROM embeddings, so that no build runs while a phase is
 * timed.
 */
async function indexesBuilt(cluster: Cluster, organizations: Record<string, number>): Promise<void> {
  const due = Object.entries(organizations)
    .filter(([, embeddings]) => embeddings >= OWN_INDEX_FROM)
    .map(([organization]) => vectorIndexName(organization, SYNTHETIC_DIMENSIONS));
  const started = performance.now();
  for (;;) {
    const { rows } = await cluster.withClient(DATABASE, (client) =>
      client.query<{ ready: boolean }>(
        `SELECT coalesce(bool_and(${indexReady('n')}), true) AS ready FROM unnest($1::text[]) n`,
        [due],
      ),
    );
    if (rows[0]?.ready === true) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (due.length > 0) progress(`own vector indexes ready after ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

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
    // The embedding column and the vector view; the indexes come from the server.
    if (withVectors) await enableSemanticRecall(client);
    // Every 500th holds LOADED, every 500th (offset by 250) CONTROL: the same count, spread alike.
    // With --vector each has an embedding near its word's cluster, the others near one of the rest.
    const embedding = withVectors
      ? embeddingColumns(
          `CASE WHEN i % $1 = 0 THEN ${CLUSTER_OF[LOADED]} WHEN i % $1 = $1 / 2 THEN ${CLUSTER_OF[CONTROL]}
             ELSE ${OTHER_CLUSTER_SQL} END`,
        )
      : { columns: '', values: '' };
    await client.query('SELECT setseed(0.21)');
    await client.query(
      `INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope,
         level${embedding.columns})
       SELECT 'memory-a-' || i, 'org-a', 'user-a', 'agent-a',
              CASE WHEN i % $1 = 0 THEN 'a note about ' || $2 || ' number ' || i
                   WHEN i % $1 = $1 / 2 THEN 'a note about ' || $3 || ' number ' || i
                   ELSE 'an ordinary note number ' || i END,
              'factual', 'user', 'long_term'${embedding.values}
       FROM generate_series(1, $4::int) AS i`,
      [EVERY, LOADED, CONTROL, OWN_MEMORIES],
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

/** B's memories, every one holding LOADED (and, with --vector, near LOADED's query vector). */
async function loadOther(cluster: Cluster): Promise<void> {
  await cluster.withClient(DATABASE, async (client) => {
    const embedding = withVectors ? embeddingColumns(String(CLUSTER_OF[LOADED])) : { columns: '', values: '' };
    await client.query('SELECT setseed(0.22)');
    await client.query(
      `INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope,
         level${embedding.columns})
       SELECT 'memory-b-' || i, 'org-b', 'user-b', 'agent-b', 'their note about ' || $1 || ' number ' || i,
         'factual', 'user', 'long_term'${embedding.values}
       FROM generate_series(1, $2::int) AS i`,
      [LOADED, OTHER_MEMORIES],
    );
    await client.query('VACUUM ANALYZE');
  });
}

/** A search's time, from request to parsed answer, and whether it answered A's 20 matches of its word. */
interface Timed {
  elapsed: number;
  right: boolean;
}

async function timedSearch(baseUrl: string, key: string, mode: Mode, word: Word) {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: SEARCH, variables: variablesOf(mode, word) }),
  });
  const body = (await response.json()) as {
    data?: { searchMemories: Array<{ memory: { id: string } }> };
    errors?: unknown;
  };
  const elapsed = performance.now() - started;
  if (!response.ok || body.errors || !body.data) {
    throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
  }
  const ids = body.data.searchMemories.map((hit) => hit.memory.id).sort();
  // Another organization's memory in A's answer is a tenancy failure, not a figure.
  if (ids.some((id) => !id.startsWith('memory-a-'))) throw new Error(`another organization's memory: ${ids}`);
  // A short or wrong page is counted, not thrown: it is what another organization's rows can do
  // to an approximate (HNSW) search, and the bench reports it.
  return { elapsed, right: JSON.stringify(ids) === JSON.stringify(EXPECTED[word]) } satisfies Timed;
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

interface Measured {
  loaded: number[];
  control: number[];
  /** Answers that were not A's 20 matches of the word searched, of each word. */
  wrong: { loaded: number; control: number };
}

/** LOADED and CONTROL in turn (which goes first alternates too), after a warm-up. */
async function measure(baseUrl: string, key: string, mode: Mode): Promise<Measured> {
  const measured: Measured = { loaded: [], control: [], wrong: { loaded: 0, control: 0 } };
  for (let pair = 0; pair < WARMUP_PAIRS + MEASURED_PAIRS; pair += 1) {
    const order = pair % 2 === 0 ? ([LOADED, CONTROL] as const) : ([CONTROL, LOADED] as const);
    for (const word of order) {
      const { elapsed, right } = await timedSearch(baseUrl, key, mode, word);
      if (pair < WARMUP_PAIRS) continue;
      const side = word === LOADED ? 'loaded' : 'control';
      measured[side].push(elapsed);
      if (!right) measured.wrong[side] += 1;
    }
  }
  return measured;
}

function summary(phase: string, mode: Mode, { loaded, control, wrong }: Measured): { rows: string; ratio: string } {
  const describe = (word: string, values: number[], wrongAnswers: number) => {
    const sorted = [...values].sort((x, y) => x - y);
    const figures = [0.25, 0.5, 0.75, 0.95].map((q) => quantile(sorted, q).toFixed(2).padStart(6));
    const cells = [
      phase.padEnd(22),
      mode.padEnd(6),
      word.padEnd(7),
      String(values.length).padStart(3),
      ...figures,
      String(wrongAnswers).padStart(3),
    ];
    return `| ${cells.join(' | ')} |`;
  };
  const ratio = median(loaded) / median(control);
  const [low, high] = ratioInterval(loaded, control);
  // How often the loaded word was the slower of a pair: 0.5 when neither is.
  const slower = loaded.filter((value, index) => value > control[index]!).length / loaded.length;
  const verdict = ratio >= TARGET.low && ratio <= TARGET.high ? 'within' : 'OUTSIDE';
  return {
    rows: `${describe(LOADED, loaded, wrong.loaded)}\n${describe(CONTROL, control, wrong.control)}`,
    ratio:
      `${phase}, ${mode}: median ${LOADED} / median ${CONTROL} = ${ratio.toFixed(3)} ` +
      `(95% bootstrap interval ${low.toFixed(3)}–${high.toFixed(3)}), ` +
      `${LOADED} the slower in ${(slower * 100).toFixed(0)}% of pairs: ${verdict} ${TARGET.low}–${TARGET.high}`,
  };
}

const count = (value: number) => value.toLocaleString('en-US');

const loadAverage = () =>
  os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

async function run(cleanup: Cleanup): Promise<void> {
  const cluster = await startCluster(cleanup);
  progress(`throwaway PostgreSQL ${cluster.version} on port ${cluster.port}, in ${cluster.directory}`);
  const key = await prepare(cluster);
  const server = await startAgentMem(cluster, cleanup, DATABASE, {
    settings: withVectors
      ? {
          EMBEDDINGS_DIMENSIONS: String(SYNTHETIC_DIMENSIONS),
          EMBEDDINGS_MODEL: SYNTHETIC_MODEL,
          VECTOR_INDEX_SWEEP_SECONDS: '1',
        }
      : {},
  });
  if (withVectors) await indexesBuilt(cluster, { 'org-a': OWN_MEMORIES });
  const loads = [loadAverage()];
  const phases: Array<{ rows: string; ratio: string }> = [];
  const timePhase = async (phase: string) => {
    for (const mode of MODES) {
      progress(`timing ${mode}, ${phase}`);
      phases.push(summary(phase, mode, await measure(server.baseUrl, key, mode)));
    }
  };
  await timePhase('B: none');
  progress(`writing ${OTHER_MEMORIES} memories of B holding "${LOADED}"${withVectors ? ' and near its vector' : ''}`);
  const writing = performance.now();
  await loadOther(cluster);
  progress(`written in ${((performance.now() - writing) / 1000).toFixed(1)} s`);
  if (withVectors) await indexesBuilt(cluster, { 'org-a': OWN_MEMORIES, 'org-b': OTHER_MEMORIES });
  loads.push(loadAverage());
  await timePhase(`B: ${OTHER_MEMORIES.toLocaleString('en-US')} with ${LOADED}`);
  loads.push(loadAverage());
  await server.process.stop('SIGTERM', 10_000);
  const vectorBranch =
    OWN_MEMORIES < OWN_INDEX_FROM
      ? `exact (A's ${count(OWN_MEMORIES)} embeddings, under ${count(OWN_INDEX_FROM)})`
      : `A's own HNSW index (A's ${count(OWN_MEMORIES)} embeddings, at least ${count(OWN_INDEX_FROM)})`;
  process.stdout.write(
    `\nA (${OWN_MEMORIES.toLocaleString('en-US')} memories, ` +
      `${OWN_MATCHES} per word) searches "${LOADED}" and "${CONTROL}" in turn, ` +
      `${MEASURED_PAIRS} pairs after ${WARMUP_PAIRS}, ` +
      `one request at a time; index: ${oldIndex ? 'the old one (all organizations)' : 'by organization'}; ` +
      (withVectors ? `${SYNTHETIC_DIMENSIONS}-dimension embeddings, vector search: ${vectorBranch}; ` : '') +
      `PostgreSQL ${cluster.version}, Node ${process.version}, ${new Date().toISOString()}; ` +
      `load average (1, 5, 15 min) at the start, after B's writes, at the end: ${loads.join(' / ')}\n\n` +
      `| phase | mode | word | n | p25 ms | p50 ms | p75 ms | p95 ms | wrong answers ` +
      `|\n|---|---|---|---:|---:|---:|---:|---:|---:|\n${phases.map((phase) => phase.rows).join('\n')}\n\n` +
      `${phases.map((phase) => phase.ratio).join('\n')}\n`,
  );
}

void runBenchmark('search-tenants', run);
