import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const projectRoot = path.resolve(__dirname, '..', '..');
const tsxCli = require.resolve('tsx/cli');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  /** The GraphQL endpoint it printed. */
  url: string;
  output(): string;
  exits: Array<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, and waits for the exit (a graceful stop releases an embedded database's lock). */
  stop(): Promise<void>;
}

/**
 * `src/server.ts` as `npm start` runs it, in a process of its own (its death is observable), with
 * only `env` besides PATH and HOME: nothing of the test run's environment (DATABASE_URL) leaks in.
 * It listens on a free port and logs at `info`, which is how its address is learnt.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [tsxCli, 'src/server.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exits: ServerProcess['exits'] = [];
  child.on('exit', (code, signal) => exits.push({ code, signal }));
  const stop = async () => {
    if (exits.length > 0) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  for (let waited = 0; waited < 90_000; waited += 200) {
    const url = /GraphiQL at (\S+)"/.exec(output)?.[1];
    if (url) return { child, url, output: () => output, exits, stop };
    if (exits.length > 0) throw new Error(`the server exited while starting:\n${output}`);
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`the server did not start:\n${output}`);
}
