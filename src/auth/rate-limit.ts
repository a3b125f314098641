import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Settings } from '../config/settings';
import { currentClientAddress } from '../http/request-id';
import type { Authenticate } from './authenticate';
import type { Caller } from './caller';

/**
 * Counts of `points` per `duration` seconds: in Redis when the replicas share one (REDIS_URL), so
 * that they enforce one budget between them; otherwise in this process's memory. While Redis is
 * out of reach, the counts go on in memory (rate-limiter-flexible's insurance limiter), with the
 * same budget per process: requests are neither refused nor let through unlimited because Redis
 * is away. Counts made in memory meanwhile are not carried back into Redis.
 */
function createCounter(
  options: { points: number; duration: number; keyPrefix: string },
  redis: Redis | undefined,
): RateLimiterAbstract {
  const memory = new RateLimiterMemory(options);
  if (!redis) return memory;
  // Not ready (connecting, away): straight to memory rather than wait for a command that fails.
  return new RateLimiterRedis({
    ...options,
    storeClient: redis,
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

function rateLimited(retryAfterSeconds: number, what = 'too many requests for this API key'): GraphQLError {
  return new GraphQLError(`${what}: retry in ${retryAfterSeconds} s`, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds,
      http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } },
    },
  });
}

const secondsUntil = (milliseconds: number) => Math.max(1, Math.ceil(milliseconds / 1000));

/**
 * Counts each API key's GraphQL requests in fixed windows (rate-limiter-flexible; shared through
 * Redis when there is one, see `createCounter`) and refuses those over `RATE_LIMIT_REQUESTS` with
 * `rateLimited()`, before anything executes. Keys, not organizations, are counted: one runaway
 * agent does not stop the others of its organization.
 */
export function createRateLimiter({ requests, windowSeconds }: Settings['rateLimit'], redis?: Redis) {
  const limiter =
    requests > 0
      ? createCounter({ points: requests, duration: windowSeconds, keyPrefix: 'agentmem:rate:key' }, redis)
      : null;

  return async function limitRate(caller: Caller): Promise<void> {
    if (!limiter) return;
    try {
      await limiter.consume(caller.apiKeyId);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      throw rateLimited(secondsUntil(refusal.msBeforeNext));
    }
  };
}

export type LimitRate = ReturnType<typeof createRateLimiter>;

const isUnauthenticated = (error: unknown) =>
  error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED';

/**
 * Counts failed authentications (401) per client address. After `failures` of them within a
 * window (which starts at the first), every request from that address gets `rateLimited()`,
 * before its key is looked up, until the window ends: guessing keys, or a client with a
 * revoked one, costs no database lookups then. A success does not clear the count, or a caller
 * with one valid key could keep guessing others between its own requests.
 */
export function throttleFailedAuthentications(
  authenticate: Authenticate,
  { failures, windowSeconds }: Settings['authFailureLimit'],
  redis?: Redis,
): Authenticate {
  if (failures === 0) return authenticate;
  // Shared like the per-key limit: a guesser spreading its attempts over the replicas behind a
  // load balancer gets one budget, not one per replica.
  const counts = createCounter(
    { points: failures, duration: windowSeconds, keyPrefix: 'agentmem:rate:auth-failures' },
    redis,
  );
  return async (request) => {
    const address = currentClientAddress() ?? 'unknown';
    const counted = await counts.get(address);
    if (counted && counted.consumedPoints >= failures) {
      throw rateLimited(secondsUntil(counted.msBeforeNext), 'too many failed authentications from this address');
    }
    try {
      return await authenticate(request);
    } catch (error) {
      if (isUnauthenticated(error)) await counts.penalty(address);
      throw error;
    }
  };
}
