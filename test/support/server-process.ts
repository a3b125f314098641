import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';

const projectRoot = path.resolve(__dirname, '..', '..');
const tsxCli = require.resolve('tsx/cli');

/**
 * The first match of `pattern` in what `child` printed so far (`output()`, which its own listeners
 * fill), as soon as it is printed: checked on each chunk, not on a timer. Rejects if the child
 * exits first, or after `timeoutMs` (a guard against a hang, not a bound on start-up time).
 */
export function printed(
  child: ChildProcessWithoutNullStreams,
  output: () => string,
  pattern: RegExp,
  timeoutMs = 90_000,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.stderr.off('data', check);
      child.off('exit', exited);
    };
    const check = () => {
      const match = pattern.exec(output());
      if (match) {
        done();
        resolve(match);
      }
    };
    const exited = () => {
      done();
      reject(new Error(`the process exited before printing ${pattern}:\n${output()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${pattern} was not printed within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', exited);
    check();
    if (child.exitCode !== null || child.signalCode !== null) exited();
  });
}

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
  try {
    const [, url] = await printed(child, () => output, /GraphiQL at (\S+)"/);
    return { child, url: url!, output: () => output, exits, stop };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
