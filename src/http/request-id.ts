import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';

const requestIds = new AsyncLocalStorage<string>();

// A caller's own id is kept when it is plausible, so that its traces and ours line up.
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id of the request being handled, for logs and masked errors. */
export function currentRequestId(): string | undefined {
  return requestIds.getStore();
}

/** Runs an HTTP handler with a request id: the caller's X-Request-Id or a new one, echoed back. */
export function withRequestId(handler: http.RequestListener): http.RequestListener {
  return (request, response) => {
    const offered = request.headers['x-request-id'];
    const requestId = typeof offered === 'string' && acceptableRequestId.test(offered) ? offered : randomUUID();
    response.setHeader('x-request-id', requestId);
    requestIds.run(requestId, () => handler(request, response));
  };
}
