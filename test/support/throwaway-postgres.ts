import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/** Where Debian's PostgreSQL 15 keeps its server binaries; PG_BIN_DIR names another. */
const defaultBinDir = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of its own, for tests that stop, restart and kill the server: made with
 * initdb in a temporary directory, listening on a free loopback port, removed by `remove()`.
 * The shared server on 5432 is never touched.
 */
export interface ThrowawayPostgres {
  /** The superuser's URL of its `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** `pg_ctl stop -m fast`: sessions are ended, then the server shuts down. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** `pg_ctl restart -m immediate`: the server dies without a shutdown checkpoint and recovers. */
  restartImmediately(): Promise<void>;
  /** `pg_terminate_backend` of every session of `database` but the caller's; how many were ended. */
  terminateBackends(database: string): Promise<number>;
  /** Runs one statement as the superuser on `database`. */
  query<Row extends pg.QueryResultRow>(database: string, sql: string, values?: unknown[]): Promise<Row[]>;
  /**
   * A streaming replica of this cluster (`pg_basebackup -R`): its own data directory and port,
   * read-only, following this one's WAL. Removed with `remove()` (its own, or this cluster's).
   */
  createStandby(): Promise<ThrowawayPostgres>;
  /** Stops the server if it runs and deletes the cluster. */
  remove(): Promise<void>;
}

export function throwawayPostgresAvailable(): boolean {
  return fs.existsSync(path.join(defaultBinDir, 'initdb')) && fs.existsSync(path.join(defaultBinDir, 'pg_ctl'));
}

/** initdb (and PgBouncer) refuse to run as root: the cluster then belongs to the `postgres` account. */
export function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** A loopback port that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** `binDir`: the server binaries to run, e.g. those of `copyPostgresInstallation`. */
export async function createThrowawayPostgres(binDir = defaultBinDir): Promise<ThrowawayPostgres> {
  return startThrowaway(binDir, (run, dataDir) =>
    run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']),
  );
}

type RunBinary = (binary: string, args: string[]) => Promise<void>;

/** A cluster whose data directory `create` makes (initdb, or pg_basebackup from a primary). */
async function startThrowaway(
  binDir: string,
  create: (run: RunBinary, dataDir: string) => Promise<void>,
): Promise<ThrowawayPostgres> {
  const account = serverAccount();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-faults-'));
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'server.log');
  if (account) fs.chownSync(root, account.uid, account.gid);
  const port = await freePort();

  const run = async (binary: string, args: string[]): Promise<void> => {
    try {
      await promisify(execFile)(path.join(binDir, binary), args, { ...account, cwd: root, encoding: 'utf8' });
    } catch (error) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(
        `${binary} ${args.join(' ')} failed: ${String((error as { stderr?: unknown }).stderr ?? error)}\n${log}`,
      );
    }
  };
  // fsync on a shared machine is slow, and only matters when the machine itself fails: a server
  // killed or stopped keeps what it wrote in the OS's cache. synchronous_commit stays on, though:
  // without it an immediate restart loses commits that were already acknowledged.
  const serverOptions = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const pgCtl = (...args: string[]) => run('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', ...args]);

  await create(run, dataDir);
  await pgCtl('-o', serverOptions, 'start');
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  let running = true;
  const standbys: ThrowawayPostgres[] = [];

  async function query<Row extends pg.QueryResultRow>(
    database: string,
    sql: string,
    values: unknown[] = [],
  ): Promise<Row[]> {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database });
    client.on('error', () => undefined); // the server may go away under it: the query reports that
    await client.connect();
    try {
      return (await client.query<Row>(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  return {
    url,
    port,
    async stop() {
      await pgCtl('-m', 'fast', 'stop');
      running = false;
    },
    async start() {
      await pgCtl('-o', serverOptions, 'start');
      running = true;
    },
    async restartImmediately() {
      await pgCtl('-m', 'immediate', '-o', serverOptions, 'restart');
    },
    async terminateBackends(database) {
      const rows = await query<{ ended: boolean }>(
        'postgres',
        'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 ' +
          'AND pid <> pg_backend_pid()',
        [database],
      );
      return rows.filter((row) => row.ended).length;
    },
    query,
    async createStandby() {
      const standby = await startThrowaway(binDir, (runThere, standbyDir) =>
        // -R writes primary_conninfo and standby.signal: the copy starts as a streaming replica.
        runThere('pg_basebackup', [
          '-D',
          standbyDir,
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          'postgres',
          '-R',
          '-X',
          'stream',
          '--checkpoint=fast',
          '--no-sync',
        ]),
      );
      standbys.push(standby);
      return standby;
    },
    async remove() {
      for (const standby of standbys.splice(0)) await standby.remove();
      if (running) await pgCtl('-m', 'immediate', 'stop').catch(() => undefined);
      running = false;
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A copy of the PostgreSQL installation, without some of its extensions. */
export interface PostgresInstallationCopy {
  /** Its server binaries: give them to `createThrowawayPostgres`. */
  readonly binDir: string;
  /** Puts an extension's files that the copy left out back, as installing it would. */
  addExtension(name: string): void;
  remove(): void;
}

/**
 * Copies Debian's PostgreSQL 15 (binaries, libraries, share) into a temporary tree, leaving out
 * `withoutExtensions`: a server of the copy has exactly the extensions a machine without them
 * would. PostgreSQL finds its share and lib directories relative to its binaries, so the copy
 * keeps Debian's layout (usr/lib/postgresql/15, usr/share/postgresql/15).
 */
export function copyPostgresInstallation(withoutExtensions: string[]): PostgresInstallationCopy {
  const libDir = path.dirname(defaultBinDir); // /usr/lib/postgresql/15
  const shareDir = path.join('/usr/share/postgresql', path.basename(libDir));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-pg-install-'));
  const copiedLib = path.join(root, libDir);
  const copiedShare = path.join(root, shareDir);
  const isLeftOut = (file: string) =>
    withoutExtensions.some(
      (name) =>
        path.basename(file) === `${name}.so` ||
        path.basename(file).startsWith(`${name}--`) ||
        path.basename(file) === `${name}.control`,
    );
  fs.cpSync(libDir, copiedLib, {
    recursive: true,
    filter: (source) => !isLeftOut(source) && !source.includes(`${path.sep}bitcode${path.sep}`),
  });
  fs.cpSync(shareDir, copiedShare, { recursive: true, filter: (source) => !isLeftOut(source) });
  // mkdtemp's 0700 would keep out the `postgres` account that the server runs as under root.
  fs.chmodSync(root, 0o755);
  return {
    binDir: path.join(copiedLib, 'bin'),
    addExtension(name) {
      fs.copyFileSync(path.join(libDir, 'lib', `${name}.so`), path.join(copiedLib, 'lib', `${name}.so`));
      const extensionDir = path.join(shareDir, 'extension');
      for (const file of fs.readdirSync(extensionDir)) {
        if (file === `${name}.control` || file.startsWith(`${name}--`))
          fs.copyFileSync(path.join(extensionDir, file), path.join(copiedShare, 'extension', file));
      }
    },
    remove() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
