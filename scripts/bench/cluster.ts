import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Cleanup } from './cleanup';
import { freePort, startProcess, waitUntilReady } from './processes';

const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const DIRECTORY_PREFIX = 'agentmem-bench-';
/** The file in a run's directory that names the benchmark process owning it. */
const OWNER_FILE = 'bench.pid';

export interface Cluster {
  port: number;
  /** A superuser connection string for `database` (trust authentication, loopback only). */
  url(database: string): string;
  /** Runs `work` with a superuser client on `database`, closed afterwards. */
  withClient<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T>;
  /** The directory of this run: the cluster's data and every process's log. */
  directory: string;
  version: string;
}

/** The OS user PostgreSQL runs as: ourselves, or `postgres` when we are root (initdb refuses root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0)
    throw new Error('running as root, PostgreSQL needs an OS user `postgres` to run as');
  return { uid, gid };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the clusters of earlier runs that were killed before they could clean up (their
 * benchmark process is gone): their postmaster is stopped, their directory removed. A cluster
 * whose benchmark still runs is left alone.
 */
function removeAbandonedRuns(): void {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(DIRECTORY_PREFIX)) continue;
    const directory = path.join(os.tmpdir(), entry);
    const ownerFile = path.join(directory, OWNER_FILE);
    // Not ours, or just being created: left alone.
    if (!fs.existsSync(ownerFile)) continue;
    const owner = Number(fs.readFileSync(ownerFile, 'utf8').trim());
    if (!Number.isInteger(owner) || isAlive(owner)) continue;
    const postmaster = path.join(directory, 'data', 'postmaster.pid');
    if (fs.existsSync(postmaster)) {
      const pid = Number(fs.readFileSync(postmaster, 'utf8').split('\n')[0]);
      // SIGQUIT: immediate shutdown; the data is thrown away anyway.
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) process.kill(pid, 'SIGQUIT');
    }
    fs.rmSync(directory, { recursive: true, force: true });
    process.stderr.write(`bench: removed the cluster of an interrupted earlier run (${directory})\n`);
  }
}

function run(command: string, args: string[], user: { uid: number; gid: number } | undefined): void {
  const result = spawnSync(command, args, { encoding: 'utf8', uid: user?.uid, gid: user?.gid });
  if (result.status !== 0)
    throw new Error(
      `${path.basename(command)} failed: ${(result.stderr || result.stdout || String(result.error)).trim()}`,
    );
}

/**
 * A throwaway PostgreSQL 15 cluster of our own: initdb into a temporary directory, a free port on
 * the loopback interface, no Unix socket, pg_stat_statements loaded (to count each server's
 * statements). The machine's own PostgreSQL is never touched. Stopped and removed by `cleanup`.
 */
export async function startCluster(cleanup: Cleanup): Promise<Cluster> {
  try {
    removeAbandonedRuns();
  } catch (error) {
    process.stderr.write(
      `bench: could not sweep earlier runs: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), DIRECTORY_PREFIX));
  fs.writeFileSync(path.join(directory, OWNER_FILE), `${process.pid}\n`);
  cleanup.add('the run directory', async () => fs.rmSync(directory, { recursive: true, force: true }));
  // The directory is readable by the postgres user, which writes only in data/.
  fs.chmodSync(directory, 0o755);

  const user = postgresUser();
  const data = path.join(directory, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  if (user) fs.chownSync(data, user.uid, user.gid);
  run(
    path.join(POSTGRES_BIN, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8'],
    user,
  );

  const port = await freePort();
  const postgres = startProcess({
    name: 'PostgreSQL',
    command: path.join(POSTGRES_BIN, 'postgres'),
    args: [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'pg_stat_statements.max=10000',
    ],
    env: { PATH: process.env.PATH, LANG: 'C.UTF-8' },
    logFile: path.join(directory, 'postgres.log'),
    uid: user?.uid,
    gid: user?.gid,
  });
  // SIGINT is PostgreSQL's fast shutdown: it ends the sessions and stops at once.
  cleanup.add('PostgreSQL', () => postgres.stop('SIGINT', 30_000));

  const url = (database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const withClient = async <T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  await waitUntilReady(postgres, () => withClient('postgres', async () => true), 60_000);
  const version = await withClient('postgres', async (client) => {
    await client.query('CREATE EXTENSION pg_stat_statements');
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  });
  return { port, url, withClient, directory, version };
}

/**
 * One statement's entry of pg_stat_statements: its normalized text, how often it completed, and in
 * how many ms all told.
 */
export interface StatementCalls {
  query: string;
  calls: number;
  execMs: number;
}

/** Every statement PostgreSQL has completed in `database` so far, by statement (pg_stat_statements). */
export function statementsOf(cluster: Cluster, database: string): Promise<Map<string, StatementCalls>> {
  return cluster.withClient('postgres', async (client) => {
    const result = await client.query<{ id: string; query: string; calls: string; exec_ms: number }>(
      `SELECT s.userid::text || ':' || s.queryid::text || ':' || s.toplevel::text AS id, s.query,
        s.calls::text AS calls, s.total_exec_time AS exec_ms
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
       WHERE d.datname = $1`,
      [database],
    );
    return new Map(
      result.rows.map((row) => [row.id, { query: row.query, calls: Number(row.calls), execMs: row.exec_ms }]),
    );
  });
}
