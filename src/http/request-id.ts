import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';

/** What every part of a request's handling may know about it, without passing it around. */
interface RequestScope {
  requestId: string;
  clientAddress: string;
}

const requests = new AsyncLocalStorage<RequestScope>();

// A caller's own id is kept when it is plausible, so that its traces and ours line up.
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id of the request being handled, for logs and masked errors. */
export function currentRequestId(): string | undefined {
  return requests.getStore()?.requestId;
}

/** The address of the client of the request being handled, for throttling failed authentications. */
export function currentClientAddress(): string | undefined {
  return requests.getStore()?.clientAddress;
}

/**
 * The client's address: the TCP peer's, or, behind `trustedProxies` reverse proxies, the
 * X-Forwarded-For entry the outermost of them saw (each proxy appends the address it got the
 * request from; entries further left come from the client and may be forged).
 */
export function clientAddressOf(request: http.IncomingMessage, trustedProxies: number): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (trustedProxies === 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const hops = [peer, ...forwarded.reverse()];
  return hops[Math.min(trustedProxies, hops.length - 1)]!;
}

/** Runs an HTTP handler with a request id (the caller's X-Request-Id or a new one, echoed back) and the client's address. */
export function withRequestId(handler: http.RequestListener, trustedProxies = 0): http.RequestListener {
  return (request, response) => {
    const offered = request.headers['x-request-id'];
    const requestId = typeof offered === 'string' && acceptableRequestId.test(offered) ? offered : randomUUID();
    response.setHeader('x-request-id', requestId);
    requests.run({ requestId, clientAddress: clientAddressOf(request, trustedProxies) }, () => handler(request, response));
  };
}
