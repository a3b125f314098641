import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseSettings } from '../../src/config/settings';
import { freePort, serverAccount } from './throwaway-postgres';

/**
 * `TEST_POOLER=pgbouncer` (with DATABASE_URL): the test servers (test-app.ts) reach PostgreSQL
 * through a PgBouncer in transaction mode that global-setup.ts starts on a port of its own, as
 * CI's PostgreSQL half does (.ci/run). Databases are still made, migrated and dropped directly.
 */
const TEST_POOLER_ENV = 'TEST_POOLER';
/** Where global-setup.ts leaves the running PgBouncer's port and pid, for the workers and teardown. */
export const PGBOUNCER_ENV = 'AGENTMEM_TEST_PGBOUNCER';

/** Debian's package (`apt-get install pgbouncer`); PGBOUNCER_BIN names another. */
const binary = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

export function testPoolerWanted(): boolean {
  return process.env[TEST_POOLER_ENV] === 'pgbouncer';
}

/** Whether this run's test servers go through PgBouncer (their row scope is then per transaction). */
export function testPoolerRunning(): boolean {
  return process.env[PGBOUNCER_ENV] !== undefined;
}

/** `settings` of a test server, through the run's PgBouncer when there is one. */
export function throughTestPooler(settings: DatabaseSettings): DatabaseSettings {
  const running = process.env[PGBOUNCER_ENV];
  if (!running || settings.kind !== 'postgres') return settings;
  const url = new URL(settings.url);
  url.host = `127.0.0.1:${running.split(' ')[0]}`;
  return { ...settings, url: url.toString(), pooler: 'transaction' };
}

export interface RunningPgBouncer {
  port: number;
  pid: number;
  directory: string;
}

/**
 * PgBouncer (which refuses to run as root: then as `postgres`) in transaction mode in front of the
 * server of `serverUrl`, on a free loopback port: every database of that server, logged in as that
 * URL's user (clients' own credentials are not checked: `auth_type = any`, loopback only).
 */
export async function startPgBouncer(
  serverUrl: string,
  options: { poolSize?: number } = {},
): Promise<RunningPgBouncer> {
  if (!fs.existsSync(binary))
    throw new Error(`${TEST_POOLER_ENV}=pgbouncer needs PgBouncer at ${binary} (apt-get install pgbouncer)`);
  const server = new URL(serverUrl);
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-pgbouncer-'));
  const account = serverAccount();
  const port = await freePort();
  const login = [
    `user=${decodeURIComponent(server.username || 'postgres')}`,
    server.password && `password=${decodeURIComponent(server.password)}`,
  ]
    .filter(Boolean)
    .join(' ');
  fs.writeFileSync(
    path.join(directory, 'pgbouncer.ini'),
    `[databases]
* = host=${server.hostname} port=${server.port || 5432} ${login}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 500
default_pool_size = ${options.poolSize ?? 10}
; test databases come and go: their server connections should not outlive them for long
server_idle_timeout = 10
ignore_startup_parameters = extra_float_digits
logfile = ${path.join(directory, 'pgbouncer.log')}
`,
  );
  if (account) fs.chownSync(directory, account.uid, account.gid);
  const child = spawn(binary, [path.join(directory, 'pgbouncer.ini')], {
    stdio: 'ignore',
    uid: account?.uid,
    gid: account?.gid,
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  for (let waited = 0; ; waited += 100) {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: server.username || 'postgres',
      database: 'postgres',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (exited || waited > 15_000) {
        const log = fs.readFileSync(path.join(directory, 'pgbouncer.log'), { encoding: 'utf8', flag: 'a+' });
        throw new Error(`PgBouncer did not start: ${String(error)}\n${log.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { port, pid: child.pid!, directory };
}

/** Stops a PgBouncer by its pid and removes its directory. */
export async function stopPgBouncer(pgbouncer: RunningPgBouncer): Promise<void> {
  let running = true;
  try {
    process.kill(pgbouncer.pid, 'SIGTERM');
  } catch {
    running = false; // already gone
  }
  for (let waited = 0; running && waited < 5000; waited += 50) {
    try {
      process.kill(pgbouncer.pid, 0);
    } catch {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  fs.rmSync(pgbouncer.directory, { recursive: true, force: true });
}

/** Stops the PgBouncer global-setup.ts started for this run, if it did. */
export async function stopTestPgBouncer(): Promise<void> {
  const running = process.env[PGBOUNCER_ENV];
  if (!running) return;
  const [port, pid, directory] = running.split(' ');
  await stopPgBouncer({ port: Number(port), pid: Number(pid), directory: directory ?? '' });
}
