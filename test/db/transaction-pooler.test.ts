import pg from 'pg';
import type { DemoData } from '../../src/demo/seed';
import { type RunningPgBouncer, startPgBouncer, stopPgBouncer } from '../support/pgbouncer';
import { startTestApp, type TestApp, type TypedDocument } from '../support/test-app';
import { cloneMigratedDatabase, testDatabaseKind } from '../support/test-databases';

// PgBouncer sits in front of a PostgreSQL server; the embedded database has none: on PGlite this
// test is reported as skipped, not passed.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

// Written out rather than generated: this file reads no field codegen would add anything to.
const agentNames = { toString: () => `{ agents(first: 100) { nodes { name } } }` } as TypedDocument<
  { agents: { nodes: Array<{ name: string }> } },
  Record<string, never>
>;
const createAgent = {
  toString: () => `mutation ($name: String!) { createAgent(input: { name: $name }) { __typename } }`,
} as TypedDocument<{ createAgent: { __typename: string } }, { name: string }>;

/**
 * DATABASE_POOLER=transaction behind a PgBouncer whose pool has ONE server connection: every
 * client's transactions run on it, so whatever one request left on the connection the next
 * would find. After requests of two organizations, the connection holds no role, no scope and no
 * prepared statement, and each organization saw only its own rows.
 */
describe('DATABASE_POOLER=transaction through PgBouncer (transaction mode)', () => {
  let pgbouncer: RunningPgBouncer | undefined;
  let app: TestApp | undefined;
  let drop: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await app?.close();
    await drop?.();
    if (pgbouncer) await stopPgBouncer(pgbouncer);
  });

  onPostgres(
    'leaves no session state on the server connection between transactions',
    async () => {
      const database = await cloneMigratedDatabase('pooler');
      drop = database.drop;
      if (database.settings.kind !== 'postgres') throw new Error('unreachable');
      pgbouncer = await startPgBouncer(database.settings.url, { poolSize: 1 });
      const pooled = new URL(database.settings.url);
      pooled.host = `127.0.0.1:${pgbouncer.port}`;
      app = await startTestApp('pooler', {
        database: { ...database.settings, url: pooled.toString(), pooler: 'transaction' },
      });
      const first: DemoData = await app.seedDemo();
      const second: DemoData = await app.seedDemo();

      const names = async (key: string) => {
        const response = await app!.graphqlAs(key, agentNames);
        expect(response.status).toBe(200);
        return (response.data?.agents.nodes ?? []).map((node) => node.name);
      };
      const created = await app.graphqlAs(first.key, createAgent, { name: 'first organization only' });
      expect(created.data?.createAgent.__typename).toBe('AgentPayload');
      // Interleaved, many at once, over the one server connection.
      const [firstSees, secondSees] = await Promise.all([
        Promise.all(Array.from({ length: 5 }, () => names(first.key))),
        Promise.all(Array.from({ length: 5 }, () => names(second.key))),
      ]);
      for (const seen of firstSees) expect(seen).toContain('first organization only');
      for (const seen of secondSees) expect(seen).not.toContain('first organization only');

      // The same server connection, asked through PgBouncer by a plain client.
      const client = new pg.Client({ connectionString: pooled.toString() });
      await client.connect();
      try {
        const { rows } = await client.query<{
          login: string;
          role: string;
          organization: string | null;
          apiKey: string | null;
          prepared: string;
        }>(
          `SELECT current_user AS login, current_setting('role') AS role,
                current_setting('app.organization_id', true) AS organization,
                current_setting('app.api_key_hash', true) AS "apiKey",
                (SELECT count(*) FROM pg_prepared_statements)::text AS prepared`,
        );
        const [state] = rows;
        expect({ login: state?.login, role: state?.role, prepared: state?.prepared }).toEqual({
          login: 'postgres',
          role: 'none',
          prepared: '0',
        });
        // Never set on this connection (null), or set and reset ('').
        expect(['', null]).toContain(rows[0]?.organization);
        expect(['', null]).toContain(rows[0]?.apiKey);
      } finally {
        await client.end();
      }
    },
    120_000,
  );
});
