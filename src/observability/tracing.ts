import type http from 'node:http';
import {
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Settings } from '../config/settings';
import type { StatementEnd } from '../db/row-level-security';
import type { RequestFacts } from '../http/request-id';

type TracingSettings = NonNullable<Settings['tracing']>;

// A statement's first word names its span (SELECT, INSERT, BEGIN, …): short, and never a value.
const firstWord = /^\s*([A-Za-z]+)/;

/**
 * OpenTelemetry traces: one span per GraphQL request (its operation), with each SQL statement it
 * sends as a child span. Statements are seen where they leave the driver (src/db/database.ts
 * `onStatement`), on PostgreSQL and PGlite alike, so no driver patching is needed. Spans hold the
 * statement's text (its values are parameters and stay out), the operation's name and type, the
 * organization, the status and the error codes: never a key, a message's text or a memory.
 */
export class Tracing {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(settings: TracingSettings, exporter: SpanExporter) {
    // The async context carries the request's span to the statements its resolvers cause, as it
    // carries the row-level security scope (src/db/row-level-security.ts).
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
      // A caller's sampled trace is continued; new traces are sampled at the configured ratio.
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    this.tracer = this.provider.getTracer('agentmem');
  }

  /**
   * Runs `handle` inside a new server span for `request`, continuing the caller's trace when it
   * sends a W3C `traceparent`. The span is named and ended by `requestEnded`.
   */
  inRequestSpan(request: http.IncomingMessage, handle: () => void): Span {
    const parent = this.propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const span = this.tracer.startSpan(
      'graphql',
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method ?? 'GET', 'url.path': (request.url ?? '/').split('?')[0] },
      },
      parent,
    );
    context.with(trace.setSpan(parent, span), handle);
    return span;
  }

  requestEnded(span: Span, facts: RequestFacts, status: number): void {
    if (!span.isRecording()) return;
    if (facts.operationType)
      span.updateName(facts.operationName ? `${facts.operationType} ${facts.operationName}` : facts.operationType);
    span.setAttributes({
      'http.response.status_code': status,
      'agentmem.statements': facts.statements,
      ...(facts.operationType && { 'graphql.operation.type': facts.operationType }),
      ...(facts.operationName && { 'graphql.operation.name': facts.operationName }),
      ...(facts.organizationId && { 'agentmem.organization_id': facts.organizationId }),
      ...(facts.errorCodes.length > 0 && { 'agentmem.error_codes': facts.errorCodes }),
    });
    if (facts.errorCodes.length > 0 || status >= 500)
      span.setStatus({ code: SpanStatusCode.ERROR, message: facts.errorCodes[0] ?? `HTTP ${status}` });
    span.end();
  }

  /** A statement listener: a child span of the current request's span, when that one is sampled. */
  readonly statementStarted = (sql: string): StatementEnd | undefined => {
    const parent = trace.getActiveSpan();
    if (!parent?.isRecording()) return undefined;
    const span = this.tracer.startSpan(firstWord.exec(sql)?.[1]?.toUpperCase() ?? 'SQL', {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'postgresql', 'db.query.text': sql },
    });
    return (error) => {
      if (error !== undefined) {
        const code = (error as { code?: unknown }).code;
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: typeof code === 'string' ? `SQLSTATE ${code}` : 'failed',
        });
      }
      span.end();
    };
  };

  /** Sends what is buffered and stops. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** Traces as configured, or none; `exporter` replaces the OTLP one (tests pass an in-memory one). */
export function createTracing(settings: Settings['tracing'], exporter?: SpanExporter): Tracing | undefined {
  if (!settings) return undefined;
  return new Tracing(
    settings,
    exporter ?? new OTLPTraceExporter({ url: `${settings.endpoint.replace(/\/+$/, '')}/v1/traces` }),
  );
}
