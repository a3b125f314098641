import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { type Cluster, type StatementCalls, statementsOf } from './cluster';
import { type ProcessSample, sampleProcess, sampleProcessTree } from './processes';
import type { BenchServer } from './servers';
import type { Participant } from './shapes';
import { answerOf } from './verify';

export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** What one measured window of one server on one shape gave. */
export interface Measurement {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** NaN for a server without a database. */
  statementsPerRequest: number;
  /** The statements of one request, most frequent first: what statementsPerRequest sums. */
  statements: StatementCalls[];
  /** PostgreSQL's execution time of those statements per request (one request at a time); NaN without a database. */
  sqlMsPerRequest: number;
  cpuMsPerRequest: number;
  rssMb: number;
}

/** Requests sent one at a time, each answer checked, to count statements exactly. */
const COUNTED_REQUESTS = 20;

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.max(0, Math.ceil(sorted.length * fraction) - 1)] ?? Number.NaN;
}

interface Window {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  cpu: { before: ProcessSample; after: ProcessSample };
}

/**
 * One autocannon run of warm-up plus measured window, every request built by the participant
 * (appends differ each time). The measured window starts when the warm-up ends, without a pause:
 * the server is in its steady state at both edges of the window, so the work of the requests in
 * flight at its start (not counted) balances that of those in flight at its end (not counted
 * either), and CPU time over the window divided by the responses within it is the cost of one.
 */
async function drive(server: BenchServer, participant: Participant, settings: LoadSettings): Promise<Window> {
  const first = participant.request();
  let start: { at: number; cpu: ProcessSample } | undefined;
  const latenciesMs: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    // The callback form: it returns the instance, whose 'response' events time the window.
    const instance = autocannon(
      {
        url: server.baseUrl,
        connections: settings.connections,
        duration: settings.warmupSeconds + settings.durationSeconds,
        requests: [
          {
            method: first.method,
            path: first.path,
            headers: first.headers,
            body: first.body,
            setupRequest: (request) => {
              const next = participant.request();
              return { ...request, method: next.method, path: next.path, headers: next.headers, body: next.body };
            },
          },
        ],
      },
      (error: unknown, finished) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(finished),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (start) latenciesMs.push(responseTime);
    });
    timer = setTimeout(() => {
      start = { at: performance.now(), cpu: sample(server) };
    }, settings.warmupSeconds * 1000);
  });
  const end = { at: performance.now(), cpu: sample(server) };
  clearTimeout(timer);
  if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0) {
    throw new Error(
      `${server.name}: ${result.errors} connection errors, ${result.timeouts} timeouts and ${result.non2xx} ` +
        `non-2xx answers ` +
        `out of ${result.requests.total} requests under load:\n${server.process.tail()}`,
    );
  }
  if (!start || latenciesMs.length === 0)
    throw new Error(`${server.name}: no request completed in the measured ${settings.durationSeconds} s`);
  return {
    requests: latenciesMs.length,
    seconds: (end.at - start.at) / 1000,
    latenciesMs,
    cpu: { before: start.cpu, after: end.cpu },
  };
}

function sample(server: BenchServer): ProcessSample {
  return server.processTree ? sampleProcessTree(server.process.pid) : sampleProcess(server.process.pid);
}

const totalCalls = (statements: ReadonlyMap<string, StatementCalls>) =>
  [...statements.values()].reduce((sum, entry) => sum + entry.calls, 0);

/**
 * The statements of `database` once nothing runs there any more: statements a server sends after
 * answering (a connection's scope cleared on release, say) still belong to that request.
 */
async function settledStatements(cluster: Cluster, database: string): Promise<Map<string, StatementCalls>> {
  let previous = await statementsOf(cluster, database);
  const deadline = Date.now() + 10_000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const current = await statementsOf(cluster, database);
    if (totalCalls(current) === totalCalls(previous) || Date.now() > deadline) return current;
    previous = current;
  }
}

/**
 * Statements per request, exactly: a few requests one at a time, between two quiet moments.
 * Undefined for a server without a database (bare yoga), whose answers are checked all the same.
 */
async function countStatements(
  cluster: Cluster,
  server: BenchServer,
  participant: Participant,
): Promise<StatementCalls[] | undefined> {
  const database = server.database;
  const ask = () => answerOf(participant, new Map([[server.id, server]]));
  if (database === undefined) {
    for (let sent = 0; sent < COUNTED_REQUESTS; sent += 1) await ask();
    return undefined;
  }
  const before = await settledStatements(cluster, database);
  for (let sent = 0; sent < COUNTED_REQUESTS; sent += 1) await ask();
  const after = await settledStatements(cluster, database);
  return [...after.entries()]
    .map(([id, entry]) => ({
      query: entry.query,
      calls: (entry.calls - (before.get(id)?.calls ?? 0)) / COUNTED_REQUESTS,
      execMs: (entry.execMs - (before.get(id)?.execMs ?? 0)) / COUNTED_REQUESTS,
    }))
    .filter((entry) => entry.calls > 0)
    .sort((a, b) => b.calls - a.calls);
}

/**
 * One turn of one server: warm-up and measured window under load (throughput, latency, CPU,
 * RSS), then a counted pass (statements per request, and every answer checked again).
 */
export async function measure(
  cluster: Cluster,
  server: BenchServer,
  participant: Participant,
  settings: LoadSettings,
): Promise<Measurement> {
  const window = await drive(server, participant, settings);
  const sorted = [...window.latenciesMs].sort((a, b) => a - b);
  const statements = await countStatements(cluster, server, participant);
  return {
    requests: window.requests,
    requestsPerSecond: window.requests / window.seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    statementsPerRequest: statements ? statements.reduce((sum, entry) => sum + entry.calls, 0) : Number.NaN,
    statements: statements ?? [],
    sqlMsPerRequest: statements ? statements.reduce((sum, entry) => sum + entry.execMs, 0) : Number.NaN,
    cpuMsPerRequest: (window.cpu.after.cpuMs - window.cpu.before.cpuMs) / window.requests,
    rssMb: window.cpu.after.rssMb,
  };
}
