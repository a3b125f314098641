import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { openPglite } from '../../src/db/pglite';
import { printed } from '../support/server-process';

const projectRoot = path.resolve(__dirname, '..', '..');
const tsxCli = require.resolve('tsx/cli');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `src/server.ts` the way `npm start` does, with only the given settings. */
function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, [tsxCli, 'src/server.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  const ready = async (): Promise<string> => (await printed(child, () => stdout + stderr, /GraphiQL at (\S+)"/))[1]!;
  return { child, exited, ready, output: () => stdout };
}

function temporaryDataDir(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-start-')), 'pglite');
}

function expectOneLineFailure(exit: Exit, pattern: RegExp): void {
  expect(exit.code).toBe(1);
  const lines = exit.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^agentmem: cannot start: /);
  expect(lines[0]).toMatch(pattern);
  expect(exit.stderr).not.toMatch(/\bat .+:\d+:\d+/); // no stack frames
}

describe('server start-up', () => {
  it('refuses a DATABASE_URL that is not a PostgreSQL URL, naming the setting', async () => {
    const exit = await startServer({ DATABASE_URL: 'mysql://root@localhost/db' }).exited;
    expectOneLineFailure(exit, /DATABASE_URL/);
  });

  it('refuses a malformed PORT, naming the setting', async () => {
    const exit = await startServer({ PORT: 'eighty' }).exited;
    expectOneLineFailure(exit, /PORT/);
  });

  it('fails fast when PostgreSQL cannot be reached', async () => {
    const exit = await startServer({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/agentmem',
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
    }).exited;
    expectOneLineFailure(
      exit,
      /cannot reach PostgreSQL at 127\.0\.0\.1:1\/agentmem \(DATABASE_URL\): connection refused/,
    );
  });

  it('fails fast when the port is taken, before creating the embedded database', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    const dataDir = temporaryDataDir();
    try {
      const exit = await startServer({ PORT: String(port), PGLITE_DATA_DIR: dataDir }).exited;
      expectOneLineFailure(exit, new RegExp(`port ${port} .*in use; set PORT`));
      expect(fs.existsSync(dataDir)).toBe(false);
    } finally {
      blocker.close();
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
  });

  it('fails fast when another process holds the embedded database', async () => {
    const dataDir = temporaryDataDir();
    const holder = await openPglite(dataDir);
    try {
      const exit = await startServer({ PORT: '0', PGLITE_DATA_DIR: dataDir }).exited;
      expectOneLineFailure(exit, /in use by another process.*PGLITE_DATA_DIR/);
    } finally {
      await holder.close();
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
  });

  it('starts on a new embedded database with demo data, and stops cleanly on SIGTERM', async () => {
    const dataDir = temporaryDataDir();
    try {
      const server = startServer({ PORT: '0', PGLITE_DATA_DIR: dataDir });
      const url = await server.ready();
      const key = /Demo API key \(shown once\): (amk_\S+)/.exec(server.output())?.[1];
      expect(key).toBeDefined();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ agents { nodes { name blocks { label } tools { name } } } }' }),
      });
      const body = (await response.json()) as {
        data: { agents: { nodes: Array<{ name: string; blocks: unknown[]; tools: unknown[] }> } };
      };
      const agents = body.data.agents.nodes;
      expect(agents).toEqual([expect.objectContaining({ name: 'Demo Assistant' })]);
      expect(agents[0]?.blocks).toHaveLength(2);
      expect(agents[0]?.tools).toHaveLength(2);

      server.child.kill('SIGTERM');
      const exit = await server.exited;
      expect(exit.code).toBe(0);
      // The embedded database was closed and its lock released.
      expect(await lockfile.check(dataDir, { realpath: false, lockfilePath: `${dataDir}.lock` })).toBe(false);
    } finally {
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
  });
});
