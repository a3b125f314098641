import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/database';
import type { Admission } from '../http/admission';
import type { InterpretedReason } from '../http/executor';
import type { RequestFacts } from '../http/request-id';

export const METRICS_PATH = '/metrics';

/**
 * Operation names are the client's to choose: beyond this many distinct ones, further names are
 * counted as `other`, so that a client cannot grow the metrics (and Prometheus's series) without end.
 */
const MAX_OPERATION_NAMES = 200;

/**
 * The server's Prometheus metrics, kept at operation level: one update per request when it ends,
 * none per resolver or per statement, so that keeping them costs the hot path next to nothing.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly operationNames = new Set<string>();

  private readonly requests = new Counter({
    name: 'agentmem_graphql_requests_total',
    help: 'GraphQL requests answered, by operation name and type',
    labelNames: ['operation', 'type'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'agentmem_graphql_request_duration_seconds',
    help: 'Time from a GraphQL request arriving to its response ending, by operation name and type',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'agentmem_graphql_errors_total',
    help: 'Errors in GraphQL responses, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly statements = new Histogram({
    name: 'agentmem_graphql_request_statements',
    help: 'SQL statements one GraphQL request sent, the row-level security scoping included',
    buckets: [1, 2, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256],
    registers: [this.registry],
  });
  private readonly rateLimitRefusals = new Counter({
    name: 'agentmem_rate_limit_refusals_total',
    help: 'Requests refused with RATE_LIMITED (per-key request budget or failed authentications per address)',
    registers: [this.registry],
  });
  private readonly overloadRefusals = new Counter({
    name: 'agentmem_overload_refusals_total',
    help:
      'GraphQL requests refused with OVERLOADED: by admission control (in flight and queue full, or the ' +
      'queue wait over), or for want of a pooled connection while the database answered',
    registers: [this.registry],
  });
  private readonly requestTimeouts = new Counter({
    name: 'agentmem_request_timeouts_total',
    help:
      'GraphQL requests answered REQUEST_TIMEOUT: past REQUEST_TIMEOUT_MS, or a statement past ' +
      'DATABASE_STATEMENT_TIMEOUT_MS',
    registers: [this.registry],
  });
  private readonly interpretedExecutions = new Counter({
    name: 'agentmem_graphql_interpreted_executions_total',
    help:
      'Executions sent to graphql-js although graphql-jit is on, by the reason the compiled executor could ' +
      'not agree',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly planFallbacks = new Counter({
    name: 'agentmem_planner_fallbacks_total',
    help: 'Fields the read planner did not compile into its statement, by field and reason (src/planner)',
    labelNames: ['field', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly subscriptionsOpen = new Gauge({
    name: 'agentmem_graphql_subscriptions_open',
    help: 'GraphQL subscriptions being served now',
    registers: [this.registry],
  });
  private readonly subscriptionFeedsOpen = new Gauge({
    name: 'agentmem_graphql_subscription_feeds_open',
    help: 'Executions serving the subscriptions: one per caller, document and variables (src/http/subscription-feeds)',
    registers: [this.registry],
  });

  constructor(database: Database) {
    // The pool is read when Prometheus scrapes, not tracked as it changes. PGlite has no pool.
    if (database.pool()) {
      new Gauge({
        name: 'agentmem_database_connections',
        help: "The application's PostgreSQL connections: in_use, idle, and waiting (requests waiting for one)",
        labelNames: ['state'] as const,
        registers: [this.registry],
        collect() {
          const pool = database.pool();
          if (!pool) return;
          this.set({ state: 'in_use' }, pool.total - pool.idle);
          this.set({ state: 'idle' }, pool.idle);
          this.set({ state: 'waiting' }, pool.waiting);
        },
      });
    }
    collectDefaultMetrics({ register: this.registry });
  }

  /** Records a GraphQL request that has ended. */
  requestEnded(facts: RequestFacts, seconds: number): void {
    const labels = { operation: this.operationLabel(facts.operationName), type: facts.operationType ?? 'none' };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
    this.statements.observe(facts.statements);
    for (const fallback of facts.planFallbacks) {
      // `Type.field: reason`: both come from the schema's declarations, a bounded set.
      const separator = fallback.indexOf(': ');
      this.planFallbacks.inc({ field: fallback.slice(0, separator), reason: fallback.slice(separator + 2) });
    }
    for (const code of facts.errorCodes) {
      this.errors.inc({ code });
      if (code === 'RATE_LIMITED') this.rateLimitRefusals.inc();
      if (code === 'OVERLOADED') this.overloadRefusals.inc();
      if (code === 'REQUEST_TIMEOUT') this.requestTimeouts.inc();
    }
  }

  /** Reports the GraphQL operations admission control lets run and keeps waiting, when scraped. */
  watchAdmission(admission: Admission): void {
    new Gauge({
      name: 'agentmem_admission_operations',
      help: 'GraphQL operations under admission control: in_flight (running) and queued (waiting for a turn)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const { inFlight, queued } = admission.state;
        this.set({ state: 'in_flight' }, inFlight);
        this.set({ state: 'queued' }, queued);
      },
    });
  }

  /** An execution that graphql-jit could not run as graphql-js would (src/http/executor.ts). */
  executionInterpreted(reason: InterpretedReason): void {
    this.interpretedExecutions.inc({ reason });
  }

  subscriptionOpened(): void {
    this.subscriptionsOpen.inc();
  }

  subscriptionClosed(): void {
    this.subscriptionsOpen.dec();
  }

  subscriptionFeedOpened(): void {
    this.subscriptionFeedsOpen.inc();
  }

  subscriptionFeedClosed(): void {
    this.subscriptionFeedsOpen.dec();
  }

  private operationLabel(name: string | undefined): string {
    if (name === undefined) return 'anonymous';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.operationNames.add(name);
    return name;
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Answers `GET /metrics` for a request that presents `token` as its bearer (compared in constant
 * time), 401 for any other. Metrics tell request rates and operation names: not for everyone.
 */
export function metricsEndpoint(metrics: Metrics, token: string) {
  const expected = digest(`Bearer ${token}`);
  return (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const presented = request.headers.authorization;
    if (typeof presented !== 'string' || !timingSafeEqual(digest(presented), expected)) {
      response.writeHead(401, {
        'content-type': 'text/plain; charset=utf-8',
        'www-authenticate': 'Bearer realm="metrics"',
      });
      response.end('401: /metrics needs Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' });
      response.end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('500: the metrics could not be collected\n');
      },
    );
  };
}
