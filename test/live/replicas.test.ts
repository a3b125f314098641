import type { ResultOf } from '@graphql-typed-document-node/core';
import { openDatabase } from '../../src/db/database';
import { type DemoData, seedDemoData } from '../../src/demo/seed';
import { createLogger } from '../../src/logger';
import { graphql } from '../generated';
import { type LiveResult, subscribe } from '../support/live-client';
import { type ServerProcess, startServerProcess } from '../support/server-process';
import type { TypedDocument } from '../support/test-app';
import { cloneMigratedDatabase, testDatabaseKind } from '../support/test-databases';
import { startThrowawayRedis, type ThrowawayRedis, throwawayRedisAvailable } from '../support/throwaway-redis';

// Two replicas (src/server.ts as two processes) on one PostgreSQL database and one Redis of the
// test's own. Replicas share a database server, which the embedded database cannot be: on PGlite
// this file is reported as skipped, not passed. Without redis-server (.ci/run installs it) it fails.
const onPostgres = testDatabaseKind() === 'postgres' ? describe : describe.skip;

const MESSAGES = 100;
/** Per API key, shared by both replicas through Redis. */
const RATE_LIMIT = 120;
const AUTH_FAILURES = 4;

const MessageAdded = graphql(`
  subscription ReplicaMessageAdded($agentId: ID!) { messageAdded(agentId: $agentId) { id text } }
`);
const Append = graphql(`
  mutation ReplicaAppend($agentId: ID!, $text: String!) {
    appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) { __typename ... on MessagesPayload {
      messages { id } } }
  }
`);
const AgentName = graphql(`
  query ReplicaAgentName($id: ID!) { agent(id: $id) { name } }
`);
const IssueKey = graphql(`
  mutation ReplicaIssueKey($name: String!) { createApiKey(input: { name: $name, scopes: [WRITE] }) {
    __typename ... on CreatedApiKey { key } } }
`);

interface Answer<TData> {
  status: number;
  data?: TData;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

async function post<TData, TVariables>(
  server: ServerProcess,
  key: string,
  document: TypedDocument<TData, TVariables>,
  variables: TVariables,
  headers: Record<string, string> = {},
): Promise<Answer<TData>> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer<TData>, 'status'>) };
}

/** Turns a hang into a failure with a message (before jest's own timeout): not a bound on delivery. */
const HANG_GUARD_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

onPostgres('two replicas sharing PostgreSQL and Redis', () => {
  let redis: ThrowawayRedis;
  let database: Awaited<ReturnType<typeof cloneMigratedDatabase>>;
  let demo: DemoData;
  let first: ServerProcess;
  let second: ServerProcess;

  const appendThrough = async (server: ServerProcess, key: string, text: string): Promise<string> => {
    const answer = await post(server, key, Append, { agentId: demo.agentId, text });
    const payload = answer.data?.appendMessages;
    if (payload?.__typename !== 'MessagesPayload') throw new Error(`appendMessages: ${JSON.stringify(answer)}`);
    return payload.messages[0]!.id;
  };
  const newKey = async (name: string): Promise<string> => {
    const issued = (await post(first, demo.key, IssueKey, { name })).data?.createApiKey;
    if (issued?.__typename !== 'CreatedApiKey') throw new Error('createApiKey failed');
    return issued.key;
  };

  beforeAll(async () => {
    if (!throwawayRedisAvailable())
      throw new Error('redis-server is not installed (apt-get install redis-server; .ci/run does it)');
    redis = await startThrowawayRedis();
    database = await cloneMigratedDatabase('replicas');
    if (database.settings.kind !== 'postgres') throw new Error('PostgreSQL only');
    const seeding = await openDatabase(database.settings, createLogger('silent'));
    try {
      demo = await seedDemoData(seeding.prisma);
    } finally {
      await seeding.close();
    }
    const env = {
      DATABASE_URL: database.settings.url,
      REDIS_URL: redis.url,
      MIGRATE_ON_START: 'false',
      RATE_LIMIT_REQUESTS: String(RATE_LIMIT),
      RATE_LIMIT_WINDOW_SECONDS: '3600',
      AUTH_FAILURE_LIMIT: String(AUTH_FAILURES),
      AUTH_FAILURE_WINDOW_SECONDS: '3600',
      // The throttle test names its client's address; the others come from the loopback peer.
      TRUSTED_PROXIES: '1',
      SHUTDOWN_TIMEOUT_MS: '2000',
    };
    [first, second] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await redis?.remove();
    await database?.drop();
  });

  it(
    `delivers ${MESSAGES} messages appended through the second replica to a subscriber of the first, ` +
      `all and in order`,
    async () => {
      const key = await newKey('live');
      const live = await subscribe(first.url, key, MessageAdded, { agentId: demo.agentId });
      expect(live.status).toBe(200);

      const acknowledged: string[] = [];
      const received: LiveResult<ResultOf<typeof MessageAdded>>[] = [];
      const receiving = (async () => {
        for (let index = 0; index < MESSAGES; index += 1) {
          const result = await live.next(HANG_GUARD_MS);
          if (!result) return;
          received.push(result);
        }
      })();
      for (let index = 1; index <= MESSAGES; index += 1)
        acknowledged.push(await appendThrough(second, key, `message ${index}`));
      await receiving;
      live.close();

      // All, in order, each once: how fast they arrive is measured by `npm run bench:subscriptions`,
      // not asserted here.
      expect(received.map((result) => result.errors)).toEqual(acknowledged.map(() => undefined));
      expect(received.map((result) => result.data?.messageAdded.id)).toEqual(acknowledged);
      expect(received.map((result) => result.data?.messageAdded.text)).toEqual(
        acknowledged.map((_id, index) => `message ${index + 1}`),
      );
    },
  );

  it('enforces one rate-limit budget per key across both replicas', async () => {
    const key = await newKey('budget');
    const half = RATE_LIMIT / 2;
    const statuses: number[] = [];
    for (let index = 0; index < half; index += 1) {
      statuses.push((await post(first, key, AgentName, { id: demo.agentId })).status);
      statuses.push((await post(second, key, AgentName, { id: demo.agentId })).status);
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(RATE_LIMIT);
    // Each replica alone has seen half its budget: only a shared count refuses now.
    const overFirst = await post(first, key, AgentName, { id: demo.agentId });
    const overSecond = await post(second, key, AgentName, { id: demo.agentId });
    expect([overFirst.status, overSecond.status]).toEqual([429, 429]);
    expect(overFirst.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('counts failed authentications of one address across both replicas', async () => {
    const from = { 'x-forwarded-for': '203.0.113.7' };
    const bad = `amk_${'x'.repeat(43)}`;
    const statuses: number[] = [];
    for (let index = 0; index < AUTH_FAILURES / 2; index += 1) {
      statuses.push((await post(first, bad, AgentName, { id: demo.agentId }, from)).status);
      statuses.push((await post(second, bad, AgentName, { id: demo.agentId }, from)).status);
    }
    expect(statuses).toEqual(Array.from({ length: AUTH_FAILURES }, () => 401));
    // Now even a valid key from that address is refused, on either replica; other addresses are not.
    expect((await post(first, demo.key, AgentName, { id: demo.agentId }, from)).status).toBe(429);
    expect((await post(second, demo.key, AgentName, { id: demo.agentId }, from)).status).toBe(429);
    expect(
      (await post(second, demo.key, AgentName, { id: demo.agentId }, { 'x-forwarded-for': '203.0.113.8' })).status,
    ).toBe(200);
  });

  it(
    'when Redis goes away: subscriptions end with a clear error, queries and mutations go on, ' +
      'and subscriptions work again when it returns',
    async () => {
      const key = await newKey('outage');
      const live = await subscribe(first.url, key, MessageAdded, { agentId: demo.agentId });
      expect(live.status).toBe(200);

      await redis.kill();
      const ended = await live.rest(HANG_GUARD_MS);
      expect(ended).toHaveLength(1);
      expect(ended[0]?.errors?.[0]?.extensions).toMatchObject({ code: 'LIVE_UPDATES_UNAVAILABLE' });
      expect(ended[0]?.errors?.[0]?.message).toMatch(/live updates are unavailable.*subscribe again/);

      // Reads and writes on both replicas, the rate limit counting in memory meanwhile.
      expect((await post(first, key, AgentName, { id: demo.agentId })).data?.agent?.name).toBe('Demo Assistant');
      expect((await post(second, key, AgentName, { id: demo.agentId })).data?.agent?.name).toBe('Demo Assistant');
      await appendThrough(second, key, 'written while Redis is away');
      await appendThrough(first, key, 'also written while Redis is away');

      // A new subscription is refused at once, with the same error.
      const refused = await (await subscribe(first.url, key, MessageAdded, { agentId: demo.agentId })).rest(
        HANG_GUARD_MS,
      );
      expect(refused).toHaveLength(1);
      expect(refused[0]?.errors?.[0]?.extensions).toMatchObject({ code: 'LIVE_UPDATES_UNAVAILABLE' });

      await redis.start();
      // Subscriptions work again once the replicas have reconnected. The contract (docs/live-updates.md, "Live
      // updates"): they reconnect every 100 ms to 1 s, so within about a second; the 15 s bound is
      // that contract with a margin a loaded CI machine cannot break. A refused attempt is tried
      // again after 300 ms: a pace (each attempt counts against the key's rate limit), not a wait
      // for the outcome, which each attempt checks itself.
      let delivered: string | undefined;
      let attempts = 0;
      for (const deadline = Date.now() + 15_000; !delivered && Date.now() < deadline; attempts += 1) {
        const again = await subscribe(first.url, key, MessageAdded, { agentId: demo.agentId });
        const sent = await appendThrough(second, key, `after Redis returned (${attempts})`);
        const result = await again.next(5_000).catch(() => undefined);
        again.close();
        if (result?.data?.messageAdded.id === sent) delivered = sent;
        else await sleep(300);
      }
      expect(delivered).toBeDefined();

      // Neither replica stopped at any point.
      expect([first.exits, second.exits]).toEqual([[], []]);
    },
  );

  it('stops cleanly (exit code 0) while Redis is away, with subscriptions open', async () => {
    const key = await newKey('stop');
    const live = await subscribe(first.url, key, MessageAdded, { agentId: demo.agentId });
    expect(live.status).toBe(200);
    await redis.kill();
    expect((await live.rest(HANG_GUARD_MS))[0]?.errors?.[0]?.extensions).toMatchObject({
      code: 'LIVE_UPDATES_UNAVAILABLE',
    });
    await first.stop();
    expect(first.exits).toEqual([{ code: 0, signal: null }]);
    expect(first.output()).not.toMatch(/Unhandled|unhandled/);
  });
});
