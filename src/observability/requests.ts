import type http from 'node:http';
import type { Authenticate } from '../auth/authenticate';
import type { Database } from '../db/database';
import { currentRequestFacts, currentRequestId, type RequestFacts } from '../http/request-id';
import type { Logger } from '../logger';
import { METRICS_PATH, type Metrics, metricsEndpoint } from './metrics';
import type { Tracing } from './tracing';

export interface Observers {
  logger: Logger;
  /** Undefined when METRICS_TOKEN is unset: nothing is counted and /metrics is not served. */
  metrics: Metrics | undefined;
  metricsToken: string | undefined;
  tracing: Tracing | undefined;
}

/** Probes and scrapes come every few seconds and say nothing about the API's use: not logged. */
const quietPaths = new Set(['/health', '/ready', METRICS_PATH]);

const pathOf = (request: http.IncomingMessage) => (request.url ?? '/').split('?')[0] ?? '/';

/**
 * Counts the statements of each request, wherever they are sent from (resolvers, loaders, the
 * key check, the scoping), for the request's log line, metrics and trace; and, with traces on,
 * gives each statement its span.
 */
export function observeStatements(database: Database, tracing: Tracing | undefined): void {
  database.onStatement(() => {
    const facts = currentRequestFacts();
    if (facts) facts.statements += 1;
  });
  if (tracing) database.onStatement(tracing.statementStarted);
}

/**
 * The HTTP side of observing requests, run inside `withRequestId`: serves /metrics, opens each
 * request's trace span, and when the response ends writes the request's one log line and its
 * metrics from the facts gathered on the way (`useRequestFacts`, src/http/request-facts.ts).
 */
export function observingRequests(
  { logger, metrics, metricsToken, tracing }: Observers,
  handler: http.RequestListener,
) {
  const serveMetrics = metrics && metricsToken ? metricsEndpoint(metrics, metricsToken) : undefined;
  return (request: http.IncomingMessage, response: http.ServerResponse, facts: RequestFacts): void => {
    const path = pathOf(request);
    if (path === METRICS_PATH && serveMetrics) {
      serveMetrics(request, response);
      return;
    }
    if (quietPaths.has(path)) {
      handler(request, response);
      return;
    }

    const started = performance.now();
    const requestId = currentRequestId();
    const span = tracing?.inRequestSpan(request, () => handler(request, response));
    if (!tracing) handler(request, response);
    response.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      const status = response.statusCode;
      // A GraphQL request is one that got as far as a document, or was refused with a code.
      const isGraphql = facts.operationType !== undefined || facts.errorCodes.length > 0;
      if (isGraphql) metrics?.requestEnded(facts, seconds);
      if (span) tracing?.requestEnded(span, facts, status);
      logger.info(
        {
          requestId,
          method: request.method,
          path,
          status,
          operation: facts.operationName,
          operationType: facts.operationType,
          organizationId: facts.organizationId,
          durationMs: Math.round(seconds * 10_000) / 10,
          statements: facts.statements,
          code: facts.errorCodes[0],
          ...(facts.errorCodes.length > 1 && { codes: facts.errorCodes }),
          ...(!response.writableFinished && { aborted: true }),
        },
        'request',
      );
    });
  };
}

/** The authenticator, noting the caller's organization in the request's facts. */
export function notingOrganization(authenticate: Authenticate): Authenticate {
  return async (request) => {
    const caller = await authenticate(request);
    const facts = currentRequestFacts();
    if (facts) facts.organizationId = caller.organizationId;
    return caller;
  };
}
