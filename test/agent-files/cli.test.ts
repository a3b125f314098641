import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../support/test-app';

const run = promisify(execFile);
const projectRoot = path.resolve(__dirname, '..', '..');

/** A port nothing listens on: one the system handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The command through a shell, as a person types it. Only `settings` say where the server is: the
 * test run's own AGENTMEM_URL and PORT are removed, and the empty values also keep a developer's
 * .env from choosing (dotenv does not replace a variable that is set, and an empty one counts as
 * unset for the settings).
 */
function shell(command: string, settings: Record<string, string>) {
  const env = { ...process.env, AGENTMEM_URL: '', PORT: '', ...settings };
  return run('sh', ['-c', command], { cwd: projectRoot, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

describe('the agentmem command (npx --no agentmem, npm run agent:export / agent:import)', () => {
  let app: TestApp;
  let a: Awaited<ReturnType<TestApp['seedDemo']>>;
  let b: Awaited<ReturnType<TestApp['seedDemo']>>;
  let port: string;
  let directory: string;
  beforeAll(async () => {
    app = await startTestApp('agentmem_cli');
    a = await app.seedDemo();
    b = await app.seedDemo();
    port = new URL(app.url).port;
    directory = await mkdtemp(path.join(os.tmpdir(), 'agentmem-cli-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
    await app?.close();
  });

  it('finds the server on PORT; `npx --no agentmem export <id> > agent.json` writes the file alone', async () => {
    const file = path.join(directory, 'redirected.json');
    const exported = await shell(`npx --no agentmem export "${a.agentId}" > "${file}"`, {
      PORT: port,
      AGENTMEM_API_KEY: a.key,
    });
    expect(exported).toMatchObject({ code: 0, stderr: '' });
    const text = await readFile(file, 'utf8');
    // The whole file is the document: JSON.parse refuses anything before or after it.
    expect(JSON.parse(text)).toMatchObject({ format: 'agentmem.agent', version: 2, agent: { id: a.agentId } });

    const imported = await shell(`npx --no agentmem import < "${file}"`, { PORT: port, AGENTMEM_API_KEY: b.key });
    expect(imported.code).toBe(0);
    expect(imported.stdout.trim()).toMatch(/^agent-/);
    expect(imported.stdout.trim()).not.toBe(a.agentId);
  }, 60_000);

  it('writes the file given by --output, through `npm run agent:export` too (its banner stays out)', async () => {
    const file = path.join(directory, 'output.json');
    const exported = await shell(`npm run agent:export -- "${a.agentId}" --output "${file}"`, {
      AGENTMEM_URL: app.url,
      AGENTMEM_API_KEY: a.key,
    });
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('> node bin/agentmem.js export');
    expect(exported.stderr).toContain(`exported agent ${a.agentId} to ${file}`);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
      format: 'agentmem.agent',
      agent: { id: a.agentId },
    });
  }, 60_000);

  it('names the URL it tried when no server answers there, and says how to start one or point at one', async () => {
    const nobody = await closedPort();
    const file = path.join(directory, 'never-written.json');
    const viaPort = await shell(`npx --no agentmem export "${a.agentId}" --output "${file}"`, {
      PORT: String(nobody),
      AGENTMEM_API_KEY: a.key,
    });
    expect(viaPort.code).toBe(1);
    expect(viaPort.stdout).toBe('');
    expect(viaPort.stderr).toContain(
      `cannot reach the AgentMem server at http://127.0.0.1:${nobody}/graphql ` +
        `(from PORT=${nobody}, as AGENTMEM_URL is not set)`,
    );
    expect(viaPort.stderr).toContain('ECONNREFUSED');
    expect(viaPort.stderr).toMatch(/npm start.*AGENTMEM_URL/);
    expect(existsSync(file)).toBe(false);

    const document = path.join(directory, 'any.json');
    await writeFile(document, '{}');
    const importing = await shell(`npx --no agentmem import < "${document}"`, {
      AGENTMEM_URL: `http://127.0.0.1:${nobody}/graphql`,
      AGENTMEM_API_KEY: b.key,
    });
    expect(importing.code).toBe(1);
    expect(importing.stderr).toContain(
      `cannot reach the AgentMem server at http://127.0.0.1:${nobody}/graphql (from AGENTMEM_URL)`,
    );
  }, 60_000);

  it('refuses a command line it does not understand with its usage, before any request', async () => {
    const unknown = await shell('npx --no agentmem export agent-x --out x.json', { AGENTMEM_API_KEY: a.key });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown option '--out'");
    expect(unknown.stderr).toContain('usage: npx --no agentmem export <agent id> [--output agent.json]');
    const missing = await shell('npx --no agentmem export', { AGENTMEM_API_KEY: a.key });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('usage:');
  }, 60_000);
});
