import pino from 'pino';
import type { DatabaseSettings } from '../../src/config/settings';
import { graphql } from '../generated';
import { holdTable } from '../support/held-table';
import { throughTestPooler } from '../support/pgbouncer';
import { startTestApp, type TestApp } from '../support/test-app';
import { cloneMigratedDatabase, testDatabaseKind } from '../support/test-databases';
import {
  createThrowawayPostgres,
  type ThrowawayPostgres,
  throwawayPostgresAvailable,
} from '../support/throwaway-postgres';

// PGlite has no pool to run dry and no server to stop: those two tests are reported as skipped
// there (docs/testing.md); admission control runs on both databases.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;
const onThrowawayPostgres = testDatabaseKind() === 'postgres' && throwawayPostgresAvailable() ? it : it.skip;

const METRICS_TOKEN = 'overload-test-metrics-token';

const AgentNames = graphql(`
  query OverloadAgentNames { agents { nodes { name } } }
`);

interface Answer {
  status: number;
  retryAfter: string | null;
  code: unknown;
  data: unknown;
}

async function ask(url: string, key: string): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify({ query: AgentNames.toString() }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: unknown } }> };
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    code: body.errors?.[0]?.extensions?.code,
    data: body.data,
  };
}

/** `count` concurrent requests, and how many of them have been answered so far. */
function burst(url: string, key: string, count: number): { answers: Promise<Answer[]>; settled: () => Answer[] } {
  const settled: Answer[] = [];
  const answers = Promise.all(
    Array.from({ length: count }, () =>
      ask(url, key).then((answer) => {
        settled.push(answer);
        return answer;
      }),
    ),
  );
  return { answers, settled: () => settled };
}

/** Polls `condition` (a count reaching a value) every 20 ms for up to 20 s; what it saw last. */
async function until(condition: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < 20_000; waited += 20) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

async function metricValue(app: TestApp, name: string): Promise<number> {
  const text = await (
    await fetch(new URL('/metrics', app.url), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('overload told apart from outage', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it(
    'admits ADMISSION_MAX_IN_FLIGHT + ADMISSION_MAX_QUEUED requests, ' +
      'refuses the rest at once with 503 OVERLOADED, counts them, and /health answers throughout',
    async () => {
      const [maxInFlight, maxQueued, sent] = [2, 3, 12];
      app = await startTestApp('overload-admission', {
        admission: { maxInFlight, maxQueued, queueTimeoutMs: 120_000 },
        metricsToken: METRICS_TOKEN,
      });
      const { key } = await app.seedDemo();
      expect(await ask(app.url, key)).toMatchObject({ status: 200 });

      const release = await holdTable(app, 'agents');
      let answers: Answer[];
      try {
        const requests = burst(app.url, key, sent);
        // The refused are answered while the admitted wait on the held table.
        expect(await until(() => requests.settled().length >= sent - maxInFlight - maxQueued)).toBe(true);
        const health = await fetch(new URL('/health', app.url));
        expect(health.status).toBe(200);
        expect(requests.settled()).toHaveLength(sent - maxInFlight - maxQueued);
        for (const refused of requests.settled())
          expect(refused).toEqual({ status: 503, retryAfter: '1', code: 'OVERLOADED' });
        await release();
        answers = await requests.answers;
      } catch (error) {
        await release();
        throw error;
      }
      const answered = answers.filter((answer) => answer.status === 200);
      expect(answered).toHaveLength(maxInFlight + maxQueued);
      for (const answer of answered) expect(answer.data).toEqual({ agents: { nodes: [{ name: 'Demo Assistant' }] } });
      // Counted when each response ended: the refusals, and nothing else.
      expect(await metricValue(app, 'agentmem_overload_refusals_total')).toBe(sent - maxInFlight - maxQueued);
      expect(await ask(app.url, key)).toMatchObject({ status: 200 });
    },
  );

  onPostgres(
    'a pool that stays full while the database answers gives 503 OVERLOADED with Retry-After, logged at warn, ' +
      'never DATABASE_UNAVAILABLE',
    async () => {
      const lines: Array<{ level: number; msg: string; code?: string }> = [];
      const logger = pino(
        { level: 'info', base: undefined },
        { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) },
      );
      const clone = await cloneMigratedDatabase('overload-pool');
      const poolSize = 2;
      const sent = 6;
      try {
        const database = {
          ...(clone.settings as Extract<DatabaseSettings, { kind: 'postgres' }>),
          poolSize,
          connectTimeoutMs: 500,
        };
        app = await startTestApp(
          'overload-pool',
          { database: throughTestPooler(database), metricsToken: METRICS_TOKEN },
          logger,
        );
        const { key } = await app.seedDemo();
        expect(await ask(app.url, key)).toMatchObject({ status: 200 });

        const release = await holdTable(app, 'agents');
        let answers: Answer[];
        try {
          const requests = burst(app.url, key, sent);
          // At most `poolSize` requests hold a connection on the held table; the others' checkouts
          // give up after DATABASE_CONNECT_TIMEOUT_MS.
          expect(await until(() => requests.settled().length >= sent - poolSize)).toBe(true);
          await release();
          answers = await requests.answers;
        } catch (error) {
          await release();
          throw error;
        }
        const refused = answers.filter((answer) => answer.status !== 200);
        expect(refused.length).toBeGreaterThanOrEqual(sent - poolSize);
        for (const answer of refused)
          expect(answer).toMatchObject({ status: 503, retryAfter: '1', code: 'OVERLOADED' });
        expect(await metricValue(app, 'agentmem_overload_refusals_total')).toBe(refused.length);
        const overloadLines = lines.filter((line) => line.code === 'OVERLOADED' && line.msg.startsWith('overloaded'));
        expect(overloadLines.length).toBeGreaterThanOrEqual(refused.length);
        expect(overloadLines.every((line) => line.level === 40)).toBe(true); // warn
        expect(lines.filter((line) => line.level >= 50)).toEqual([]); // nothing at error
      } finally {
        await app?.close();
        app = undefined;
        await clone.drop();
      }
    },
  );

  describe('a database that is down', () => {
    let cluster: ThrowawayPostgres | undefined;
    afterAll(async () => {
      await cluster?.remove();
    });

    onThrowawayPostgres('still gives 503 DATABASE_UNAVAILABLE, not OVERLOADED', async () => {
      cluster = await createThrowawayPostgres();
      await cluster.query('postgres', 'CREATE DATABASE agentmem');
      const url = cluster.url.replace(/\/postgres$/, '/agentmem');
      app = await startTestApp('overload-outage', {
        database: { kind: 'postgres', url, poolSize: 2, connectTimeoutMs: 500 },
        migrateOnStart: true,
        metricsToken: METRICS_TOKEN,
      });
      const { key } = await app.seedDemo();
      expect(await ask(app.url, key)).toMatchObject({ status: 200 });
      await cluster.stop();
      const answers = await Promise.all(Array.from({ length: 4 }, () => ask(app!.url, key)));
      for (const answer of answers)
        expect(answer).toMatchObject({ status: 503, retryAfter: '1', code: 'DATABASE_UNAVAILABLE' });
      expect((await fetch(new URL('/health', app.url))).status).toBe(200);
      expect(await metricValue(app, 'agentmem_overload_refusals_total')).toBe(0);
      await cluster.start();
    });
  });
});
