import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { printed } from '../support/server-process';
import { cloneMigratedDatabase } from '../support/test-databases';

const projectRoot = path.resolve(__dirname, '..', '..');

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Whether something accepts connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start', () => {
  let database: Awaited<ReturnType<typeof cloneMigratedDatabase>>;
  beforeAll(async () => {
    database = await cloneMigratedDatabase('npm_start');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('stops the server when npm itself gets SIGINT (as from a process manager or `kill -INT`)', async () => {
    const where =
      database.settings.kind === 'postgres'
        ? { DATABASE_URL: database.settings.url }
        : { PGLITE_DATA_DIR: database.settings.dataDir };
    // --ignore-scripts leaves out `prestart` (prisma generate): the test run generated the client
    // already, and generating it again would rewrite files that other test files are loading.
    const npm = spawn('npm', ['start', '--ignore-scripts'], {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        LOG_LEVEL: 'info',
        DEMO_DATA: 'false',
        MIGRATE_ON_START: 'false',
        ...where,
      },
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      npm.on('exit', (code, signal) => resolve({ code, signal })),
    );
    let serverPid: number | undefined;
    try {
      const [, pid, url] = await printed(npm, () => output, /"pid":(\d+),"msg":"AgentMem is ready: GraphiQL at (\S+)"/);
      serverPid = Number(pid);
      const port = Number(new URL(url!).port);
      // npm runs the server as its own child: signals that npm passes on reach it.
      expect(serverPid).not.toBe(npm.pid);
      expect(await accepts(port)).toBe(true);

      npm.kill('SIGINT');
      // An idle server closes at once; 5 s is a margin for a loaded machine, well under the
      // SHUTDOWN_TIMEOUT_MS (10 s) that in-flight requests could take.
      const exit = await Promise.race([
        exited,
        setTimeout(5_000, 'npm is still running 5 s after SIGINT', { ref: false }),
      ]);
      expect(output).toContain('"signal":"SIGINT","msg":"shutting down: finishing in-flight requests"');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(isAlive(serverPid)).toBe(false);
      expect(await accepts(port)).toBe(false);
    } finally {
      // A failed test must not leave a server holding the database.
      if (serverPid !== undefined && isAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    }
  }, 60_000);
});
