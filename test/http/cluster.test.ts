import { spawn } from 'node:child_process';
import path from 'node:path';
import { openDatabase } from '../../src/db/database';
import { seedDemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { subscribe } from '../support/live-client';
import { cloneMigratedDatabase, testDatabaseKind } from '../support/test-databases';

const projectRoot = path.resolve(__dirname, '..', '..');

const ClusterMessageAdded = graphql(`
  subscription ClusterMessageAdded($agentId: ID!) { messageAdded(agentId: $agentId) { text } }
`);
const ClusterAppend = graphql(`
  mutation ClusterAppend($agentId: ID!, $text: String!) {
    appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) { __typename }
  }
`);
const tsxCli = require.resolve('tsx/cli');

// Several processes share one database: PostgreSQL's. On PGlite the cluster refuses to start
// (tested there); the cluster itself runs in the PostgreSQL half only, reported skipped on PGlite.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;
const onPglite = testDatabaseKind() === 'pglite' ? it : it.skip;

/** `npm run start:cluster` as a process of its own, with only the given settings. */
function startCluster(env: Record<string, string>) {
  const child = spawn(process.execPath, [tsxCli, 'src/cluster.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    // A process group of its own: tsx's CLI runs the primary as its child, which forks the
    // workers, and a failed test must be able to kill them all (SIGKILL is not passed on).
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  /** The pids of the workers that said they were ready, in order. */
  const readyWorkers = () =>
    [...stdout.matchAll(/"pid":(\d+),"msg":"AgentMem is ready: GraphiQL/g)].map((match) => Number(match[1]));
  /** What `found` finds in the output, checked as each chunk is printed (not on a timer). */
  const until = <T>(found: () => T | undefined, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.off('exit', exited);
      };
      const check = () => {
        const value = found();
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const exited = () => {
        done();
        reject(new Error(`the cluster exited: ${stderr}${stdout}`));
      };
      // A guard against a hang, not a bound on how fast the cluster is.
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what} did not happen:\n${stdout}`));
      }, 90_000);
      child.stdout.on('data', check);
      child.once('exit', exited);
      check();
      if (child.exitCode !== null) exited();
    });
  return { child, exited, readyWorkers, until, output: () => stdout };
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run start:cluster', () => {
  onPglite('refuses the embedded database in one line: PGlite belongs to one process', async () => {
    const exit = await startCluster({ WORKERS: '2' }).exited;
    expect(exit.code).toBe(1);
    expect(exit.stderr.trim().split('\n')).toHaveLength(1);
    expect(exit.stderr).toMatch(/^agentmem: cannot start: npm run start:cluster needs PostgreSQL \(set DATABASE_URL\)/);
  });

  onPostgres(
    'runs WORKERS processes on one port, replaces one that dies, and stops them all gracefully',
    async () => {
      const database = await cloneMigratedDatabase('cluster');
      const url = database.settings.kind === 'postgres' ? database.settings.url : '';
      const owner = await openDatabase(database.settings);
      const { key, agentId } = await seedDemoData(owner.prisma);
      await owner.close();
      const cluster = startCluster({
        DATABASE_URL: url,
        WORKERS: '2',
        PORT: '0',
        MIGRATE_ON_START: 'false',
        RATE_LIMIT_REQUESTS: '0',
      });
      try {
        const endpoint = await cluster.until(
          () => /with 2 workers: GraphiQL at (\S+)"/.exec(cluster.output())?.[1],
          'the cluster start',
        );
        // The primary's line and the workers' lines reach the pipe from three processes, in any
        // order: wait for both workers' own.
        const workers = await cluster.until(() => {
          const ready = cluster.readyWorkers();
          return new Set(ready).size >= 2 ? ready : undefined;
        }, 'both workers ready');
        expect(new Set(workers).size).toBe(2);
        expect(workers).not.toContain(cluster.child.pid);

        const ask = async () => {
          const response = await fetch(endpoint, {
            method: 'POST',
            // A new connection each time: the primary hands connections to the workers in turn.
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, connection: 'close' },
            body: JSON.stringify({ query: '{ agents(first: 5) { nodes { id } } }' }),
            // A request that hangs fails here, by name, rather than as the whole test's timeout.
            signal: AbortSignal.timeout(15_000),
          });
          const body = (await response.json()) as { data?: { agents: { nodes: unknown[] } } };
          return { status: response.status, agents: body.data?.agents.nodes.length };
        };
        const answers = await Promise.all(Array.from({ length: 10 }, ask));
        expect(answers.every((answer) => answer.status === 200 && answer.agents !== undefined)).toBe(true);

        // A worker killed outright is replaced; once the primary has seen it go, the port keeps
        // answering (a connection handed to the worker in the instant it dies dies with it: the
        // operating system's answer, not the cluster's).
        process.kill(workers[0]!, 'SIGKILL');
        await cluster.until(
          () => (/a worker died: starting another/.test(cluster.output()) ? true : undefined),
          'the primary noticing the dead worker',
        );
        expect((await ask()).status).toBe(200);
        const replacement = await cluster.until(() => cluster.readyWorkers()[2], 'a replacement worker');
        expect((await ask()).status).toBe(200);

        // A subscriber on one worker hears the writes every worker serves (through the primary:
        // there is no Redis here), in the order they were made. Without the relay, half were lost.
        const live = await subscribe(endpoint, key, ClusterMessageAdded, { agentId });
        expect(live.status).toBe(200);
        const texts = Array.from({ length: 10 }, (_unused, index) => `relayed ${index}`);
        for (const text of texts) {
          const response = await fetch(endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, connection: 'close' },
            body: JSON.stringify({ query: ClusterAppend.toString(), variables: { agentId, text } }),
          });
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        }
        const received: Array<string | null | undefined> = [];
        // next()'s guard turns a lost event into a failure, not a hang; it bounds no delivery time.
        for (const _text of texts) received.push((await live.next(15_000))?.data?.messageAdded.text);
        live.close();
        expect(received).toEqual(texts);

        cluster.child.kill('SIGTERM');
        let deadline: NodeJS.Timeout | undefined;
        const exit = await Promise.race([
          cluster.exited,
          new Promise<never>((_resolve, reject) => {
            deadline = setTimeout(
              () => reject(new Error(`the cluster did not stop within 30 s of SIGTERM:\n${cluster.output()}`)),
              30_000,
            );
          }),
        ]).finally(() => clearTimeout(deadline));
        expect(exit.code).toBe(0);
        expect(cluster.output()).toMatch(/shutting down the workers/);
        expect([workers[1]!, replacement].filter(isAlive)).toEqual([]);
      } finally {
        if (cluster.child.exitCode === null) process.kill(-cluster.child.pid!, 'SIGKILL');
        await database.drop();
      }
    },
    120_000,
  );
});
