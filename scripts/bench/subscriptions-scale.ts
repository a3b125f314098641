import os from 'node:os';
import { parseArgs } from 'node:util';
import { openDatabase } from '../../src/db/database';
import { migrateDeploy } from '../../src/db/migrate';
import { type DemoData, seedDemoData } from '../../src/demo/seed';
import { createLogger } from '../../src/logger';
import { type Cleanup, runBenchmark } from './cleanup';
import { startCluster } from './cluster';
import { sampleProcess, sampleProcessTree } from './processes';
import { profileReport } from './profile';
import { retryDelayMs } from './retry-after';
import { startAgentMem } from './servers';
import { now, Subscribers } from './subscribers';

// `npm run bench:subscriptions`: issue 21's target for live updates. 2,000 open subscriptions
// (40 on each of 50 agents, in 2 organizations) while 50 clients append at full speed, against
// AgentMem in production mode (one process, a 10-connection pool) on a throwaway PostgreSQL 15
// cluster (as `npm run bench`). Appends are first timed with no subscriber, then with them.
// Prints events delivered/expected, ended subscriptions, delivery p50/p99 (from sending an append
// to a subscriber's receiving it, the append's own round trip included) and both append rates.
// The subscribers are read by a worker thread of this process (scripts/bench/subscribers.ts), on
// the same machine: their parsing is part of the load, but not of the appenders' event loop.
// Every client does as the API asks: a 503 OVERLOADED (admission control) is sent again after its
// Retry-After, with jitter; the refusals are counted and printed.
//
//   npm run bench:subscriptions -- [--profile <directory>] [--workers 1|2]
//
// With --profile, the server writes a V8 CPU profile there, summarized by self time at the end.
// With --workers, AgentMem runs as `npm run start:cluster` with that many workers (no Redis: the
// events go from worker to worker through the primary), each with its own 10-connection pool.
const { values: options } = parseArgs({ options: { profile: { type: 'string' }, workers: { type: 'string' } } });
if (options.workers !== undefined && options.workers !== '1' && options.workers !== '2') {
  throw new Error('--workers: 1 or 2');
}
const workers = options.workers === undefined ? undefined : options.workers === '1' ? 1 : 2;

const progress = (line: string) => process.stderr.write(`subscriptions-scale: ${line}\n`);

const DATABASE = 'bench_live';
const ORGANIZATIONS = 2;
const AGENTS = 50;
const SUBSCRIBERS_PER_AGENT = 40;
const APPENDERS = 50;
const APPENDS_PER_APPENDER = 20;
/** Subscriptions opened at once while setting up (each is authenticated and checks its agent). */
const OPENING = 50;
/** How long the run waits for the last deliveries before counting what is missing. */
const DRAIN_MS = 60_000;

const SUBSCRIPTION = 'subscription Bench($agentId: ID!) { messageAdded(agentId: $agentId) { id text createdAt } }';
const APPEND =
  'mutation BenchAppend($agentId: ID!, $text: String!) { ' +
  'appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) { __typename } }';
const CREATE_AGENT =
  'mutation BenchAgent($name: String!) { createAgent(input: { name: $name }) { __typename ... on AgentPayload { ' +
  'agent { id } } } }';

interface Agent {
  id: string;
  key: string;
}

/** 503 OVERLOADED answers, sent again after their Retry-After. */
let refusals = 0;

/** `send`, sent again after Retry-After (plus up to half again) for as long as it is refused with a 503. */
async function admitted(send: () => Promise<Response>): Promise<Response> {
  for (;;) {
    const response = await send();
    if (response.status !== 503) return response;
    refusals += 1;
    await response.arrayBuffer();
    const retryAfter = Number(response.headers.get('retry-after') ?? 1);
    await new Promise((resolve) => setTimeout(resolve, retryDelayMs(retryAfter)));
  }
}

async function post(
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await admitted(() =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    }),
  );
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
  if (!response.ok || body.errors) throw new Error(`${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.data!;
}

interface Sent {
  agent: Agent;
  /** When the append was sent, and when its answer (after the commit) arrived. */
  at: number;
  answeredAt: number;
}

/** APPENDERS clients appending at full speed to agents in turn; each text's append, timed. */
async function appendAll(
  url: string,
  agents: Agent[],
  round: string,
): Promise<{ sentAt: Map<string, Sent>; seconds: number; failed: number }> {
  const sentAt = new Map<string, Sent>();
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: APPENDERS }, async (_unused, appender) => {
      for (let k = 0; k < APPENDS_PER_APPENDER; k += 1) {
        const agent = agents[(appender + k) % agents.length]!;
        const text = `${round} ${appender}.${k}`;
        const sent: Sent = { agent, at: now(), answeredAt: Number.NaN };
        sentAt.set(text, sent);
        await post(url, agent.key, APPEND, { agentId: agent.id, text }).catch(() => (failed += 1));
        sent.answeredAt = now();
      }
    }),
  );
  return { sentAt, seconds: (performance.now() - started) / 1000, failed };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function run(cleanup: Cleanup): Promise<void> {
  const loadAtStart = os.loadavg()[0]!;
  const cluster = await startCluster(cleanup);
  progress(`throwaway PostgreSQL ${cluster.version} on port ${cluster.port}`);
  await cluster.withClient('postgres', (client) => client.query(`CREATE DATABASE ${DATABASE}`));
  await migrateDeploy(cluster.url(DATABASE));
  const seeding = await openDatabase(
    { kind: 'postgres', url: cluster.url(DATABASE), poolSize: 2, connectTimeoutMs: 10_000 },
    createLogger('silent'),
  );
  const organizations: DemoData[] = [];
  try {
    for (let index = 0; index < ORGANIZATIONS; index += 1) organizations.push(await seedDemoData(seeding.prisma));
  } finally {
    await seeding.close();
  }
  const server = await startAgentMem(cluster, cleanup, DATABASE, { profileDirectory: options.profile, workers });
  const url = `${server.baseUrl}/graphql`;

  const agents: Agent[] = organizations.map((organization) => ({ id: organization.agentId, key: organization.key }));
  for (let index = agents.length; index < AGENTS; index += 1) {
    const organization = organizations[index % ORGANIZATIONS]!;
    const data = (await post(url, organization.key, CREATE_AGENT, { name: `bench agent ${index}` })) as {
      createAgent: { agent: { id: string } };
    };
    agents.push({ id: data.createAgent.agent.id, key: organization.key });
  }

  // CPU time of a phase: the server's (from /proc) and this process's, whose clients share the cores.
  const serverCpuMs = () =>
    (server.processTree ? sampleProcessTree(server.process.pid) : sampleProcess(server.process.pid)).cpuMs;
  const cpu = () => ({ server: serverCpuMs(), clients: process.cpuUsage() });
  const cpuSince = (start: ReturnType<typeof cpu>) => {
    const clients = process.cpuUsage(start.clients);
    return {
      server: (serverCpuMs() - start.server) / 1000,
      clients: (clients.user + clients.system) / 1e6,
    };
  };

  progress(`${APPENDERS} appenders, ${APPENDERS * APPENDS_PER_APPENDER} appends, no subscriber`);
  refusals = 0;
  const aloneCpu = cpu();
  const alone = await appendAll(url, agents, 'alone');
  const aloneCpuUsed = cpuSince(aloneCpu);
  const aloneRefusals = refusals;

  progress(`opening ${AGENTS * SUBSCRIBERS_PER_AGENT} subscriptions`);
  const subscribers = await Subscribers.open({
    url,
    query: SUBSCRIPTION,
    agents,
    perAgent: SUBSCRIBERS_PER_AGENT,
    opening: OPENING,
  });
  cleanup.add('the subscriptions', () => subscribers.close());

  progress(`${APPENDERS} appenders, ${APPENDERS * APPENDS_PER_APPENDER} appends, ${subscribers.count} subscribers`);
  const watchedCpu = cpu();
  const watchedStarted = now();
  refusals = 0;
  const watched = await appendAll(url, agents, 'watched');
  const watchedRefusals = refusals;
  const expected = watched.sentAt.size * SUBSCRIBERS_PER_AGENT;
  const received = await subscribers.wait(expected, now() + DRAIN_MS);

  const watchedCpuUsed = cpuSince(watchedCpu);
  const watchedSeconds = (now() - watchedStarted) / 1000;

  // Delivered: the messages of a subscriber's agent that reached it. In order: which of several
  // appenders' appends to one agent committed first only the server knows, so every subscriber of
  // an agent must have received them in the same order (test/live/shared-reads.test.ts compares
  // that order with the conversation's).
  const latencies: number[] = [];
  const afterAnswer: number[] = [];
  let delivered = 0;
  let outOfOrder = 0;
  const orderOf = new Map<string, string>();
  for (const subscriber of received) {
    for (const [text, at] of subscriber.arrivals) {
      const sent = watched.sentAt.get(text);
      if (!sent || sent.agent.id !== subscriber.agentId) continue;
      delivered += 1;
      latencies.push(at - sent.at);
      afterAnswer.push(at - sent.answeredAt);
    }
    const order = subscriber.arrivals.map(([text]) => text).join('|');
    const first = orderOf.get(subscriber.agentId);
    if (first === undefined) orderOf.set(subscriber.agentId, order);
    else if (first !== order) outOfOrder += 1;
  }
  latencies.sort((x, y) => x - y);
  afterAnswer.sort((x, y) => x - y);
  const appendTimesOf = (round: typeof watched) =>
    [...round.sentAt.values()].map((sent) => sent.answeredAt - sent.at).sort((x, y) => x - y);
  const [appendTimes, aloneAppendTimes] = [appendTimesOf(watched), appendTimesOf(alone)];
  const ended = received.filter((subscriber) => subscriber.ended).length;
  const aloneRate = (APPENDERS * APPENDS_PER_APPENDER) / alone.seconds;
  const watchedRate = (APPENDERS * APPENDS_PER_APPENDER) / watched.seconds;
  process.stdout.write(
    `\nmessageAdded at scale: ${subscribers.count} subscriptions on ${AGENTS} agents (${ORGANIZATIONS} ` +
      `organizations), ${APPENDERS} appenders x ${APPENDS_PER_APPENDER} appends; ` +
      `PostgreSQL ${cluster.version}, ${workers === undefined ? 'one process' : `${workers} workers`}, pool 10 each, ` +
      `Node ${process.version}, ${new Date().toISOString()}\n\n` +
      `events delivered/expected: ${delivered}/${expected}\n` +
      `subscriptions ended: ${ended} of ${subscribers.count}; ` +
      `subscribers whose order differs from another's of the same agent: ${outOfOrder}\n` +
      `delivery (append sent to subscriber received): ` +
      `p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, ` +
      `max ${percentile(latencies, 100).toFixed(0)} ms\n` +
      `delivery after the append's answer arrived (negative: before it): ` +
      `p50 ${percentile(afterAnswer, 50).toFixed(0)} ms, p99 ${percentile(afterAnswer, 99).toFixed(0)} ms; ` +
      `the appends themselves: p50 ${percentile(appendTimes, 50).toFixed(0)} ms, ` +
      `p99 ${percentile(appendTimes, 99).toFixed(0)} ms ` +
      `(without subscribers: p50 ${percentile(aloneAppendTimes, 50).toFixed(0)} ms, ` +
      `p99 ${percentile(aloneAppendTimes, 99).toFixed(0)} ms)\n` +
      `appends/s: ${aloneRate.toFixed(0)} without subscribers, ` +
      `${watchedRate.toFixed(0)} with them (${((100 * watchedRate) / aloneRate).toFixed(0)}%); ` +
      `failed appends: ${alone.failed} and ${watched.failed}; ` +
      `refused (503, sent again after Retry-After): ${aloneRefusals} and ${watchedRefusals}, ` +
      `${subscribers.refusals} subscriptions while opening\n` +
      `CPU seconds (server / this process's clients): ` +
      `${aloneCpuUsed.server.toFixed(1)} / ${aloneCpuUsed.clients.toFixed(1)} for the appends alone ` +
      `(${alone.seconds.toFixed(1)} s), ` +
      `${watchedCpuUsed.server.toFixed(1)} / ${watchedCpuUsed.clients.toFixed(1)} ` +
      `for the appends with subscribers and their delivery (${watchedSeconds.toFixed(1)} s)\n` +
      `load average (1 min) on ${os.cpus().length} cores: ` +
      `${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end (other work on the ` +
      `machine counts)\n` +
      `target: p99 <= 1000 ms, appends >= 80% of their rate without subscribers, all delivered, none ended\n`,
  );
  if (options.profile) {
    // V8 writes the profile as the process exits; it covers the setup too (seeding, the subscriptions' start).
    await subscribers.close();
    await server.process.stop('SIGTERM', 10_000);
    process.stdout.write(`\n${profileReport(options.profile)}\n`);
  }
}

void runBenchmark('subscriptions-scale', run);
