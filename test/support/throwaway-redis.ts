import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** Debian's redis-server; REDIS_SERVER names another. */
const redisServer = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/**
 * A Redis server of its own, for tests that kill it: a free loopback port, nothing saved to disk.
 * The machine's Redis on 6379 is never touched.
 */
export interface ThrowawayRedis {
  readonly url: string;
  /** SIGKILL: gone at once, as a crashed or unreachable Redis is. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty). */
  start(): Promise<void>;
  remove(): Promise<void>;
}

export function throwawayRedisAvailable(): boolean {
  return fs.existsSync(redisServer);
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  let server: ChildProcess | undefined;

  async function start(): Promise<void> {
    const child = spawn(
      redisServer,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server = child;
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    for (let waited = 0; waited < 10_000; waited += 50) {
      if (/Ready to accept connections/.test(output)) return;
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server did not start: ${output}`);
  }

  async function kill(): Promise<void> {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  await start();
  return { url: `redis://127.0.0.1:${port}`, kill, start, remove: kill };
}
