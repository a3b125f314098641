import { GraphQLError } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Settings } from '../config/settings';
import type { Caller } from '../context';

export function rateLimited(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`too many requests for this API key: retry in ${retryAfterSeconds} s`, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds,
      http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } },
    },
  });
}

/**
 * Counts each API key's GraphQL requests in fixed windows (rate-limiter-flexible, in this
 * process's memory) and refuses those over `RATE_LIMIT_REQUESTS` with `rateLimited()`, before
 * anything executes. Keys, not organizations, are counted: one runaway agent does not stop the
 * others of its organization.
 */
export function createRateLimiter({ requests, windowSeconds }: Settings['rateLimit']) {
  const limiter = requests > 0 ? new RateLimiterMemory({ points: requests, duration: windowSeconds }) : null;

  return async function limitRate(caller: Caller): Promise<void> {
    if (!limiter) return;
    try {
      await limiter.consume(caller.apiKeyId);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      throw rateLimited(Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)));
    }
  };
}

export type LimitRate = ReturnType<typeof createRateLimiter>;
