import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Cleanup } from './cleanup';
import type { Cluster } from './cluster';
import type { PostGraphileInstall } from './postgraphile';
import { freePort, type Started, startProcess, waitUntilReady } from './processes';
import { BENCH_PROCESS_NODE, type NodeRuntime } from './runtime';
import { SERVER_NAMES, type ServerId } from './shapes';

const REPOSITORY = path.resolve(__dirname, '..', '..');
const POOL_SIZE = 10;
/** `node` arguments that load TypeScript and stop the server with the benchmark (exit-with-parent.ts). */
const NODE_PRELOADS = ['--import', 'tsx', '--import', pathToFileURL(path.join(__dirname, 'exit-with-parent.ts')).href];

export interface BenchServer {
  id: ServerId;
  name: string;
  baseUrl: string;
  process: Started;
  /** The database whose statements are this server's (pg_stat_statements); none: it has none. */
  database?: string;
  nodeVersion: string;
  /** Its CPU and memory are those of its process and its children (the cluster's workers). */
  processTree?: boolean;
}

/** The environment a server starts with: only what it needs, nothing of the caller's settings. */
function baseEnvironment(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG ?? 'C.UTF-8' };
}

async function answers(url: string, init?: RequestInit): Promise<boolean> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.ok;
}

async function launch(
  cleanup: Cleanup,
  directory: string,
  server: Omit<BenchServer, 'process' | 'baseUrl' | 'name'> & {
    command: string;
    args: string[];
    env: NodeJS.ProcessEnv;
    port: number;
  },
  ready: (baseUrl: string) => Promise<boolean>,
): Promise<BenchServer> {
  const started = startProcess({
    name: SERVER_NAMES[server.id],
    command: server.command,
    args: server.args,
    env: server.env,
    cwd: REPOSITORY,
    logFile: path.join(directory, `${server.id}.log`),
    ipc: true,
  });
  cleanup.add(SERVER_NAMES[server.id], () => started.stop('SIGTERM', 10_000));
  const baseUrl = `http://127.0.0.1:${server.port}`;
  await waitUntilReady(started, () => ready(baseUrl), 120_000);
  return {
    id: server.id,
    name: SERVER_NAMES[server.id],
    baseUrl,
    process: started,
    database: server.database,
    nodeVersion: server.nodeVersion,
    processTree: server.processTree,
  };
}

/**
 * AgentMem from this repository, in production mode, on its migrated database: one process
 * (src/server.ts), or with `workers`, `npm run start:cluster`'s primary and that many workers.
 * With `profileDirectory`, the one process writes a V8 CPU profile there when it stops.
 */
export interface AgentMemStart {
  workers?: 1 | 2;
  profileDirectory?: string;
  /** Settings beside the bench's own. */
  settings?: NodeJS.ProcessEnv;
  /** The Node it runs on (default: the one running the bench). */
  runtime?: NodeRuntime;
}

export async function startAgentMem(
  cluster: Cluster,
  cleanup: Cleanup,
  database: string,
  { workers, profileDirectory, settings = {}, runtime = BENCH_PROCESS_NODE }: AgentMemStart = {},
): Promise<BenchServer> {
  const port = await freePort();
  return launch(
    cleanup,
    cluster.directory,
    {
      id: workers === undefined ? 'agentmem' : workers === 1 ? 'agentmem-1-worker' : 'agentmem-2-workers',
      database,
      nodeVersion: runtime.version,
      port,
      processTree: workers !== undefined,
      // `node --import tsx` rather than the tsx CLI: the measured process is the server itself.
      command: runtime.binary,
      args: [
        ...NODE_PRELOADS,
        ...(profileDirectory ? ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`] : []),
        workers === undefined ? 'src/server.ts' : 'src/cluster.ts',
      ],
      env: {
        ...(workers !== undefined && { WORKERS: String(workers) }),
        ...baseEnvironment(),
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_REQUESTS: '0',
        // Metrics on, as a deployment that is watched runs (nobody scrapes them during the bench).
        METRICS_TOKEN: 'bench-metrics-token-not-secret',
        DATABASE_URL: cluster.url(database),
        DATABASE_POOL_SIZE: String(POOL_SIZE),
        MIGRATE_ON_START: 'false',
        DEMO_DATA: 'false',
        HOST: '127.0.0.1',
        PORT: String(port),
        ...settings,
      },
    },
    (baseUrl) => answers(`${baseUrl}/ready`),
  );
}

/** PostGraphile v5 with Node 22 from the cache, on the schema document's database. */
export async function startPostGraphile(
  cluster: Cluster,
  cleanup: Cleanup,
  database: string,
  install: PostGraphileInstall,
): Promise<BenchServer> {
  const port = await freePort();
  return launch(
    cleanup,
    cluster.directory,
    {
      id: 'postgraphile',
      database,
      nodeVersion: install.nodeVersion,
      port,
      command: install.nodeBinary,
      args: [install.serverScript],
      env: {
        ...baseEnvironment(),
        NODE_ENV: 'production',
        GRAPHILE_ENV: 'production',
        DATABASE_URL: cluster.url(database),
        POOL_SIZE: String(POOL_SIZE),
        PORT: String(port),
      },
    },
    (baseUrl) =>
      answers(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      }),
  );
}

/** A bare graphql-yoga server (yoga-server.ts): one field, default plugins, no database. */
export async function startYoga(
  cluster: Cluster,
  cleanup: Cleanup,
  runtime: NodeRuntime = BENCH_PROCESS_NODE,
): Promise<BenchServer> {
  const port = await freePort();
  return launch(
    cleanup,
    cluster.directory,
    {
      id: 'yoga',
      nodeVersion: runtime.version,
      port,
      command: runtime.binary,
      args: [...NODE_PRELOADS, path.join('scripts', 'bench', 'yoga-server.ts')],
      env: { ...baseEnvironment(), NODE_ENV: 'production', PORT: String(port) },
    },
    (baseUrl) =>
      answers(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      }),
  );
}

/** A plain statement server (reference-server.ts): `json-agg` for the nested request, `full-text` for search. */
export async function startReference(
  cluster: Cluster,
  cleanup: Cleanup,
  id: Extract<ServerId, 'json-agg' | 'full-text'>,
  database: string,
  organizationId: string,
  runtime: NodeRuntime = BENCH_PROCESS_NODE,
): Promise<BenchServer> {
  const port = await freePort();
  return launch(
    cleanup,
    cluster.directory,
    {
      id,
      database,
      nodeVersion: runtime.version,
      port,
      command: runtime.binary,
      args: [...NODE_PRELOADS, path.join('scripts', 'bench', 'reference-server.ts')],
      env: {
        ...baseEnvironment(),
        NODE_ENV: 'production',
        REFERENCE: id === 'json-agg' ? 'nested' : 'search',
        DATABASE_URL: cluster.url(database),
        ORGANIZATION_ID: organizationId,
        POOL_SIZE: String(POOL_SIZE),
        PORT: String(port),
      },
    },
    (baseUrl) => answers(`${baseUrl}/health`),
  );
}
