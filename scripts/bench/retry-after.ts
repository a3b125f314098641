/**
 * How long a client waits after a 503 that says `Retry-After: <seconds>`, as the API asks: that
 * long plus up to half again, so that clients refused together do not all come back in the same
 * millisecond, a herd every Retry-After.
 */
export function retryDelayMs(retryAfterSeconds: number): number {
  return retryAfterSeconds * 1000 * (1 + Math.random() / 2);
}
