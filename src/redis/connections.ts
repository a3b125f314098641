import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger';

/**
 * The two connections to the Redis that replicas share (REDIS_URL): one for commands (publishing
 * live updates, the rate limits' counts) and one in subscriber mode (receiving live updates),
 * which Redis requires to be separate.
 */
export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  close(): Promise<void>;
}

// Back within a second of Redis's return, whatever the length of the outage.
const retryStrategy = (attempt: number) => Math.min(100 * attempt, 1000);

/**
 * Connects both, without waiting: the server starts while Redis is away, and every user of these
 * connections copes with it being away (src/live/bus.ts, src/auth/rate-limit.ts).
 */
export function connectRedis(url: string, logger: Logger): RedisConnections {
  const log = logger.child({ component: 'redis' });
  const base: RedisOptions = { retryStrategy, connectTimeout: 2000, lazyConnect: false };
  // No offline queue: while Redis is away a command fails at once rather than waiting in memory
  // to be sent late (a stale event, a count in a window that has ended): publishers log and go
  // on, the rate limiter counts in memory meanwhile.
  const commands = new Redis(url, {
    ...base,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectionName: 'agentmem-commands',
  });
  // SUBSCRIBE and UNSUBSCRIBE wait for the connection instead, and are sent again after a
  // reconnection (ioredis's autoResubscribe): they never fail, so nothing is left unhandled.
  const subscriber = new Redis(url, { ...base, maxRetriesPerRequest: null, connectionName: 'agentmem-subscriber' });

  for (const [name, connection] of [
    ['commands', commands],
    ['subscriber', subscriber],
  ] as const) {
    let awaySince: number | undefined;
    // One line when Redis goes away (ioredis reports each reconnection attempt), one when it is back.
    connection.on('error', (error: Error) => {
      if (awaySince !== undefined) return;
      awaySince = Date.now();
      log.error({ connection: name, reason: error.message }, 'Redis is out of reach');
    });
    connection.on('close', () => {
      if (awaySince === undefined) {
        awaySince = Date.now();
        log.error({ connection: name }, 'Redis connection closed');
      }
    });
    connection.on('ready', () => {
      if (awaySince !== undefined) log.warn({ connection: name, awayMs: Date.now() - awaySince }, 'Redis is back');
      awaySince = undefined;
    });
  }

  return {
    commands,
    subscriber,
    async close() {
      // quit() waits for Redis's answer, which never comes while it is away: disconnect then.
      await Promise.all(
        [commands, subscriber].map((connection) =>
          connection.status === 'ready'
            ? connection.quit().catch(() => connection.disconnect())
            : connection.disconnect(),
        ),
      );
    },
  };
}
