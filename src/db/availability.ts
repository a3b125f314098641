import type { Logger } from '../logger';
import { describeFailure, isDatabaseUnavailable } from './connection-failures';
import type { ConnectionEvents } from './postgres';

/**
 * Logs a database outage once: at error when the first connection breaks or cannot be made, and
 * once more, at warn, when a new connection succeeds again, with how long it took. In between,
 * each request that could not be served logs one line of its own (src/http/errors.ts), without a
 * stack.
 */
export function outageLog(logger: Logger | undefined): ConnectionEvents {
  let unavailableSince: number | undefined;
  return {
    failed(error) {
      if (unavailableSince !== undefined || !isDatabaseUnavailable(error)) return;
      unavailableSince = Date.now();
      logger?.error(
        { reason: describeFailure(error) },
        'database unavailable: requests get 503 DATABASE_UNAVAILABLE until it is back',
      );
    },
    connected() {
      if (unavailableSince === undefined) return;
      logger?.warn({ unavailableForMs: Date.now() - unavailableSince }, 'database available again');
      unavailableSince = undefined;
    },
  };
}
