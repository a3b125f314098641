import type http from 'node:http';
import { QueryTimeoutError } from '../db/connection-failures';
import { RequestDeadline, withDeadline } from '../db/request-deadline';
import { whenResponseStarts } from './response-start';

/**
 * Bounds the time a GraphQL request at `path` may run (REQUEST_TIMEOUT_MS, 0: no bound), counted
 * from its admission (src/http/admission.ts) to the start of its response. When it is up, the
 * request's database work is abandoned (src/db/request-deadline.ts): a checkout still waiting
 * gives up, and the connections it holds are closed, a statement stuck on one included (a
 * database that accepts a connection and then never answers, a worker of the cluster killed
 * mid-request). What waited on them fails, and the request is answered 503 REQUEST_TIMEOUT with
 * Retry-After (src/http/errors.ts); a transaction it had open is rolled back by the server when
 * its connection closes. A subscription's stream, once open, is not bounded.
 */
export function withRequestTimeout(
  handler: http.RequestListener,
  timeoutMs: number,
  path: string,
): http.RequestListener {
  if (timeoutMs === 0) return handler;
  return (request, response) => {
    if ((request.url ?? '/').split('?')[0] !== path) return handler(request, response);
    const deadline = new RequestDeadline(Date.now() + timeoutMs, () => new QueryTimeoutError('request'));
    whenResponseStarts(response, () => deadline.end());
    withDeadline(deadline, () => handler(request, response));
  };
}
