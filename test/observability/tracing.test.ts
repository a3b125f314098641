import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTestApp, type TestApp } from '../support/test-app';

/** The SDK's in-memory exporter, whose spans outlive the app's stop (its shutdown would clear them). */
class KeptSpans extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('OpenTelemetry traces', () => {
  let app: TestApp;
  let key: string;
  let organizationId: string;
  const exporter = new KeptSpans();
  let spans: ReadableSpan[];
  let statementsSeen: string[];
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  beforeAll(async () => {
    app = await startTestApp(
      'tracing',
      { tracing: { endpoint: 'http://127.0.0.1:9/unused', sampleRatio: 1, serviceName: 'agentmem-test' } },
      undefined,
      { spanExporter: exporter },
    );
    ({ key, organizationId } = await app.seedDemo());
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
        body: JSON.stringify(body),
      }).then((response) => response.text());
    ({ statements: statementsSeen } = await app.countStatements(() =>
      post({ query: 'query DemoAgents { agents { nodes { name blocks { label } } } }' }),
    ));
    await post({ query: '{ searchMemories(query: "") { rank } }' }, { traceparent });
    // Stopping flushes the batch of spans to the exporter.
    await app.stop();
    spans = exporter.getFinishedSpans();
  });
  afterAll(async () => {
    await app?.close();
  });

  const operationSpan = (name: string) => spans.find((span) => span.kind === SpanKind.SERVER && span.name === name);
  const childrenOf = (parent: ReadableSpan) =>
    spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);

  it('has one span per operation, named after it, with its organization', () => {
    const operation = operationSpan('query DemoAgents');
    expect(operation).toBeDefined();
    expect(operation?.attributes).toMatchObject({
      'graphql.operation.name': 'DemoAgents',
      'graphql.operation.type': 'query',
      'agentmem.organization_id': organizationId,
      'http.response.status_code': 200,
    });
    expect(operation?.resource.attributes['service.name']).toBe('agentmem-test');
    expect(spans.filter((span) => span.kind === SpanKind.SERVER)).toHaveLength(2);
  });

  it("has the request's statements as child spans, each with its text and its time", () => {
    const operation = operationSpan('query DemoAgents')!;
    const statements = childrenOf(operation);
    // The same statements (spans are listed as they end, and pipelined statements overlap).
    expect(statements.map((span) => String(span.attributes['db.query.text'])).sort()).toEqual(
      [...statementsSeen].sort(),
    );
    expect(operation.attributes['agentmem.statements']).toBe(statementsSeen.length);
    for (const statement of statements) {
      expect(statement.kind).toBe(SpanKind.CLIENT);
      expect(statement.spanContext().traceId).toBe(operation.spanContext().traceId);
      expect(statement.ended).toBe(true);
      expect(statement.startTime[0] * 1e9 + statement.startTime[1]).toBeGreaterThanOrEqual(
        operation.startTime[0] * 1e9 + operation.startTime[1],
      );
    }
    expect(
      statements.some((span) => span.name === 'SELECT' && String(span.attributes['db.query.text']).includes('agents')),
    ).toBe(true);
  });

  it("continues a caller's trace and marks an operation that answered with errors", () => {
    const refused = operationSpan('query')!;
    expect(refused.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(refused.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(refused.status).toEqual({ code: SpanStatusCode.ERROR, message: 'VALIDATION' });
    expect(refused.attributes['agentmem.error_codes']).toEqual(['VALIDATION']);
  });

  it('holds no key and no values', () => {
    const everything = JSON.stringify(
      spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })),
    );
    expect(everything).not.toContain(key);
    expect(everything).not.toContain('Demo Assistant');
  });
});

describe('sampling', () => {
  it('traces no operation at a ratio of 0, and sends no statement spans', async () => {
    const exporter = new KeptSpans();
    const app = await startTestApp(
      'tracing-sampled',
      { tracing: { endpoint: 'http://127.0.0.1:9/unused', sampleRatio: 0, serviceName: 'agentmem' } },
      undefined,
      { spanExporter: exporter },
    );
    try {
      const { key } = await app.seedDemo();
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ agents { nodes { name } } }' }),
      });
      expect(response.status).toBe(200);
      await response.text();
    } finally {
      await app.close();
    }
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
