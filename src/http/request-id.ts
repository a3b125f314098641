import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';

/**
 * What the request's log line, its metrics and its trace say about it, filled in as it is
 * handled (src/observability/): never a key, a message's text or a memory's content.
 */
export interface RequestFacts {
  /** The operation's name, or undefined for an anonymous one (or none: a page, a refused body). */
  operationName?: string;
  operationType?: 'query' | 'mutation' | 'subscription';
  organizationId?: string;
  /** The codes of the errors the response carries, in order. */
  errorCodes: string[];
  /** SQL statements the request caused, counted where they leave (src/db/database.ts `onStatement`). */
  statements: number;
  /** The fields the read planner left to their resolvers, as `Type.field: reason` (src/planner). */
  planFallbacks: string[];
}

/** What every part of a request's handling may know about it, without passing it around. */
interface RequestScope {
  requestId: string;
  clientAddress: string;
  facts: RequestFacts;
}

const requests = new AsyncLocalStorage<RequestScope>();

// A caller's own id is kept when it is plausible, so that its traces and ours line up.
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id of the request being handled, for logs and masked errors. */
export function currentRequestId(): string | undefined {
  return requests.getStore()?.requestId;
}

/** What is known so far about the request being handled; undefined outside any request. */
export function currentRequestFacts(): RequestFacts | undefined {
  return requests.getStore()?.facts;
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
function clientAddressOf(request: http.IncomingMessage, trustedProxies: number): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (trustedProxies === 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const hops = [peer, ...forwarded.reverse()];
  return hops[Math.min(trustedProxies, hops.length - 1)]!;
}

/**
 * Runs an HTTP handler with a request id (the caller's X-Request-Id or a new one, echoed back),
 * the client's address and the request's facts, which `handler` reads back as it finishes.
 */
export function withRequestId(
  handler: (request: http.IncomingMessage, response: http.ServerResponse, facts: RequestFacts) => void,
  trustedProxies = 0,
): http.RequestListener {
  return (request, response) => {
    const offered = request.headers['x-request-id'];
    const requestId = typeof offered === 'string' && acceptableRequestId.test(offered) ? offered : randomUUID();
    response.setHeader('x-request-id', requestId);
    const facts: RequestFacts = { errorCodes: [], statements: 0, planFallbacks: [] };
    requests.run({ requestId, clientAddress: clientAddressOf(request, trustedProxies), facts }, () =>
      handler(request, response, facts),
    );
  };
}
