import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const projectRoot = path.resolve(__dirname, '..', '..');
const tsxCli = require.resolve('tsx/cli');

/** `src/server.ts` as `npm start` runs it, in a process of its own (a replica). */
export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output(): string;
  exits: Array<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, and its exit. */
  stop(): Promise<void>;
}

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
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`the server did not start:\n${output}`);
}
