import { openDatabase } from '../../src/db/database';
import { startTestApp, type TestApp } from '../support/test-app';
import { testDatabaseKind } from '../support/test-databases';
import { createThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres';

// A primary and a streaming replica of it (pg_basebackup -R), both clusters of their own; the
// embedded database has no replicas: on PGlite this test is reported as skipped, not passed.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

const DATABASE = 'agentmem';
/** src/db/postgres/replicas.ts REPLICA_RETRY_AFTER_MS, and a margin. */
const REPLICA_RETRY_WAIT_MS = 2500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const createAgent = `mutation ($name: String!) {
  createAgent(input: { name: $name }) { __typename ... on AgentPayload { agent { id name } } }
}`;
const agentNames = `{ agents(first: 100) { edges { node { name } } } }`;
const createKey = `mutation { createApiKey(input: { name: "made during the pause", scopes: [READ] }) {
  ... on CreatedApiKey { key } } }`;

describe('read replicas (DATABASE_REPLICA_URLS)', () => {
  let primary: ThrowawayPostgres | undefined;
  let replica: ThrowawayPostgres | undefined;
  let app: TestApp | undefined;

  afterAll(async () => {
    await app?.close();
    await primary?.remove(); // and its standby
  });

  /** Waits until the replica has replayed everything the primary has written so far. */
  async function replicaCaughtUp(): Promise<void> {
    const [current] = await primary!.query<{ lsn: string }>('postgres', 'SELECT pg_current_wal_lsn()::text AS lsn');
    const lsn = current?.lsn;
    for (let waited = 0; waited < 30_000; waited += 50) {
      const [row] = await replica!.query<{ replayed: boolean }>(
        'postgres',
        'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS replayed',
        [lsn],
      );
      if (row?.replayed) return;
      await sleep(50);
    }
    throw new Error('the replica did not catch up within 30 s');
  }

  async function names(): Promise<string[]> {
    const response = await app!.graphqlUntyped(agentNames);
    expect(response.status).toBe(200);
    const agents = response.data?.agents as { edges: Array<{ node: { name: string } }> };
    return agents.edges.map((edge) => edge.node.name);
  }

  /** A mutation, answered from the primary: its payload is its own write, read back. */
  async function created(name: string): Promise<string> {
    const response = await app!.graphqlUntyped(createAgent, { name });
    const result = response.data?.createAgent as { __typename: string; agent: { name: string } };
    expect(result.__typename).toBe('AgentPayload');
    return result.agent.name;
  }

  const pauseReplay = () => replica!.query('postgres', 'SELECT pg_wal_replay_pause()');
  const resumeReplay = () => replica!.query('postgres', 'SELECT pg_wal_replay_resume()');

  onPostgres(
    'serves reads from the replica and writes from the primary; a request that wrote reads its own writes; ' +
      'a replica that is down is skipped and comes back',
    async () => {
      primary = await createThrowawayPostgres();
      await primary.query('postgres', `CREATE DATABASE ${DATABASE}`);
      const primaryUrl = primary.url.replace(/\/postgres$/, `/${DATABASE}`);
      const migrating = await openDatabase({ kind: 'postgres', url: primaryUrl, poolSize: 2, connectTimeoutMs: 5000 });
      await migrating.migrate();
      await migrating.close();
      replica = await primary.createStandby();
      const [standby] = await replica.query<{ standby: boolean }>('postgres', 'SELECT pg_is_in_recovery() AS standby');
      expect(standby?.standby).toBe(true);

      const replicaUrl = replica.url.replace(/\/postgres$/, `/${DATABASE}`);
      app = await startTestApp('replicas', {
        database: { kind: 'postgres', url: primaryUrl, poolSize: 3, connectTimeoutMs: 5000, replicaUrls: [replicaUrl] },
      });
      await app.seedDemo(); // outside any request: on the primary
      await names(); // the key's first use records it (a write): later requests only read
      await replicaCaughtUp();
      const before = await names();

      // With the replica's replay paused, what the primary gets next is not on the replica.
      await pauseReplay();
      // The mutation succeeds (a replica refuses writes), and its payload shows the new agent: the
      // request that wrote read it back from the primary.
      expect(await created('written while the replica is paused')).toBe('written while the replica is paused');
      // A query, a later request, reads from the replica: the agent is not there yet.
      expect(await names()).toEqual(before);
      // A key created now is not on the replica either: its first request is authenticated by the
      // primary, and (having written its first use there) reads from the primary too.
      const minted = await app.graphqlUntyped(createKey);
      const newKey = (minted.data!.createApiKey as { key: string }).key;
      const asNewKey = await app.graphqlAs(newKey, { toString: () => agentNames });
      expect(asNewKey.status).toBe(200);
      expect(JSON.stringify(asNewKey.data)).toContain('written while the replica is paused');
      await resumeReplay();
      await replicaCaughtUp();
      expect(await names()).toContain('written while the replica is paused');

      // The replica stops: reads go to the primary, without an error.
      await replica.stop();
      expect(await created('written while the replica is down')).toBe('written while the replica is down');
      expect(await names()).toContain('written while the replica is down');

      // It starts again: once its pause is over, reads go to it again.
      await replica.start();
      await replicaCaughtUp();
      await sleep(REPLICA_RETRY_WAIT_MS);
      await pauseReplay();
      await created('written after the replica came back');
      const served = await names();
      expect(served).toContain('written while the replica is down');
      expect(served).not.toContain('written after the replica came back');
      await resumeReplay();
    },
    120_000,
  );
});
