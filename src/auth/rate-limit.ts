import { GraphQLError } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Settings } from '../config/settings';
import type { Caller } from '../context';
import { currentClientAddress } from '../http/request-id';
import type { Authenticate } from './authenticate';

export function rateLimited(retryAfterSeconds: number, what = 'too many requests for this API key'): GraphQLError {
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
      throw rateLimited(secondsUntil(refusal.msBeforeNext));
    }
  };
}

export type LimitRate = ReturnType<typeof createRateLimiter>;

const isUnauthenticated = (error: unknown) => error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED';

/**
 * Counts failed authentications (401) per client address. After `failures` of them within a
 * window (which starts at the first), every request from that address gets `rateLimited()`,
 * before its key is looked up, until the window ends: guessing keys, or a client with a
 * revoked one, costs no database lookups then. A success does not clear the count, or a caller
 * with one valid key could keep guessing others between its own requests.
 */
export function throttleFailedAuthentications(authenticate: Authenticate, { failures, windowSeconds }: Settings['authFailureLimit']): Authenticate {
  if (failures === 0) return authenticate;
  const counts = new RateLimiterMemory({ points: failures, duration: windowSeconds });
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
