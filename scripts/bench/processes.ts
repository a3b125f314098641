import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** A port on the loopback interface that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** The exit, once it happened: a server that exits during the run is a failure. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** The end of its log, for error messages. */
  tail(lines?: number): string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** Run as this user (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /**
   * Open an IPC channel: a Node server that preloads exit-with-parent.ts (or does the same) stops
   * when this process dies without stopping it.
   */
  ipc?: boolean;
}

/** Starts a child whose stdout and stderr go to `logFile`. */
export function startProcess(options: StartOptions): Started {
  const log = fs.openSync(options.logFile, 'a');
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: options.ipc ? ['ignore', log, log, 'ipc'] : ['ignore', log, log],
    uid: options.uid,
    gid: options.gid,
  });
  fs.closeSync(log);
  // The channel must not keep this process alive.
  child.channel?.unref();
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.once('error', () => resolve());
  });
  const tail = (lines = 20) => {
    try {
      return fs.readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) => {
    if (exit) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { name: options.name, child, pid: child.pid, logFile: options.logFile, exited: () => exit, stop, tail };
}

/**
 * Polls `ready` until it answers true; fails at once if the process exits, and after
 * `timeoutMs`, with the end of the process's log either way.
 */
export async function waitUntilReady(
  started: Started,
  ready: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exit = started.exited();
    if (exit)
      throw new Error(
        `${started.name} exited while starting (code ${exit.code}, signal ${exit.signal}):\n${started.tail()}`,
      );
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`${started.name} was not ready after ${timeoutMs / 1000} s:\n${started.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const clockTicksPerSecond = (() => {
  const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(answer.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

export interface ProcessSample {
  /** User + system CPU time the process has used since it started. */
  cpuMs: number;
  /** Resident set size now. */
  rssMb: number;
}

/** CPU time and RSS of one process, from /proc (Linux). */
export function sampleProcess(pid: number): ProcessSample {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm)".
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  return { cpuMs: (ticks * 1000) / clockTicksPerSecond, rssMb: rssKb / 1024 };
}

/** The ids of `pid`'s children, from /proc (Linux 3.5 and later). */
function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((task) => fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(' '))
      .filter((child) => child !== '')
      .map(Number);
  } catch {
    return []; // it has just exited
  }
}

/** `sampleProcess` summed over `pid` and its descendants (a cluster's primary and workers). */
export function sampleProcessTree(pid: number): ProcessSample {
  const samples = [pid];
  for (let index = 0; index < samples.length; index += 1) samples.push(...childrenOf(samples[index]!));
  return samples
    .map((each) => {
      try {
        return sampleProcess(each);
      } catch {
        return { cpuMs: 0, rssMb: 0 };
      }
    })
    .reduce((sum, sample) => ({ cpuMs: sum.cpuMs + sample.cpuMs, rssMb: sum.rssMb + sample.rssMb }));
}
