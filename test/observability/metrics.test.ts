import { graphql } from '../generated';
import { subscribe } from '../support/live-client';
import { sample } from '../support/metrics';
import { startTestApp, type TestApp } from '../support/test-app';

const MetricsMessageAdded = graphql(`
  subscription MetricsMessageAdded($agentId: ID!) { messageAdded(agentId: $agentId) { id } }
`);

const TOKEN = 'test-metrics-token-0123456789';

describe('Prometheus metrics at /metrics', () => {
  let app: TestApp;
  let metricsUrl: string;
  let key: string;
  let otherKey: string;
  beforeAll(async () => {
    app = await startTestApp('metrics', { metricsToken: TOKEN, rateLimit: { requests: 3, windowSeconds: 600 } });
    ({ key } = await app.seedDemo());
    ({ key: otherKey } = await app.seedDemo());
    metricsUrl = new URL('/metrics', app.url).href;
  });
  afterAll(async () => {
    await app?.close();
  });

  const scrape = async () => {
    const response = await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };
  const post = (as: string, body: unknown) =>
    fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify(body),
    }).then((response) => response.status);

  it('refuses a scrape without the token, or with another', async () => {
    for (const authorization of [
      undefined,
      'Bearer wrong-token-0123456789',
      `Bearer ${TOKEN}x`,
      TOKEN,
      `Bearer ${key}`,
    ]) {
      const response = await fetch(metricsUrl, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('agentmem_');
    }
  });

  it('counts requests, latency, statements per request and errors per code, per operation', async () => {
    const before = await scrape();
    const statementsBefore = sample(before, 'agentmem_graphql_request_statements_sum') ?? 0;
    const requestsBefore = sample(before, 'agentmem_graphql_request_statements_count') ?? 0;
    const { statements } = await app.countStatements(async () => {
      expect(await post(key, { query: 'query DemoAgents { agents { nodes { name } } }' })).toBe(200);
      expect(await post(key, { query: 'query DemoAgents { agents { nodes { name } } }' })).toBe(200);
      expect(await post(key, { query: '{ searchMemories(query: "") { rank } }' })).toBe(200);
    });
    const after = await scrape();
    expect(sample(after, 'agentmem_graphql_requests_total{operation="DemoAgents",type="query"}')).toBe(2);
    expect(sample(after, 'agentmem_graphql_request_duration_seconds_count{operation="DemoAgents",type="query"}')).toBe(
      2,
    );
    expect(
      sample(after, 'agentmem_graphql_request_duration_seconds_sum{operation="DemoAgents",type="query"}'),
    ).toBeGreaterThan(0);
    expect(sample(after, 'agentmem_graphql_requests_total{operation="anonymous",type="query"}')).toBe(1);
    expect(sample(after, 'agentmem_graphql_errors_total{code="VALIDATION"}')).toBe(1);
    // Every statement the database saw is in the histogram, one observation per request.
    expect(sample(after, 'agentmem_graphql_request_statements_count')).toBe(requestsBefore + 3);
    expect(sample(after, 'agentmem_graphql_request_statements_sum')).toBe(statementsBefore + statements.length);
    expect(sample(after, 'agentmem_graphql_subscriptions_open')).toBe(0);
    // Operation level only: no series per resolver or field.
    expect(after).not.toMatch(/resolver|fieldName/);
  });

  it('counts rate-limit refusals', async () => {
    const statuses: number[] = [];
    for (let request = 0; request < 4; request += 1) statuses.push(await post(otherKey, { query: '{ __typename }' }));
    expect(statuses).toEqual([200, 200, 200, 429]);
    const after = await scrape();
    expect(sample(after, 'agentmem_rate_limit_refusals_total')).toBe(1);
    expect(sample(after, 'agentmem_graphql_errors_total{code="RATE_LIMITED"}')).toBe(1);
  });

  it('counts the subscriptions being served, up while one is open and down once it ends', async () => {
    const demo = await app.seedDemo();
    const live = await subscribe(app.url, demo.key, MetricsMessageAdded, { agentId: demo.agentId });
    expect(live.status).toBe(200);
    expect(sample(await scrape(), 'agentmem_graphql_subscriptions_open')).toBe(1);
    live.close();
    // The server learns of the closed stream from its socket, a moment later.
    let open = 1;
    for (let attempt = 0; attempt < 100 && open !== 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      open = sample(await scrape(), 'agentmem_graphql_subscriptions_open') ?? -1;
    }
    expect(open).toBe(0);
  });

  it('counts the executions graphql-jit hands to graphql-js, by reason', async () => {
    const demo = await app.seedDemo();
    const reason = (text: string, name: string) =>
      sample(text, `agentmem_graphql_interpreted_executions_total{reason="${name}"}`) ?? 0;
    const before = await scrape();
    const query = 'query ($agentId: ID!) { memories(filter: { agentId: $agentId }) { nodes { id } } }';
    expect(await post(demo.key, { query, variables: { agentId: demo.agentId } })).toBe(200);
    expect(await post(demo.key, { query: 'mutation { importAgent(document: { format: "x" }) { __typename } }' })).toBe(
      200,
    );
    expect(await post(demo.key, { query: 'query ($n: Int = 1) { agents(first: $n) { nodes { id } } }' })).toBe(200);
    const after = await scrape();
    expect(reason(after, 'json_literal') - reason(before, 'json_literal')).toBe(1);
    expect(reason(after, 'variable_default') - reason(before, 'variable_default')).toBe(1);
    // The subscription of the test before ran on graphql-js.
    expect(reason(after, 'subscription')).toBeGreaterThanOrEqual(1);
  });

  it('counts the fields the read planner does not compile, by field and reason', async () => {
    const demo = await app.seedDemo();
    const series =
      'agentmem_planner_fallbacks_total{field="Agent.contextMessages",reason="the order of a JSON list of ids: ' +
      'one loader statement per page"}';
    const before = sample(await scrape(), series) ?? 0;
    expect(await post(demo.key, { query: '{ agents(first: 5) { nodes { id contextMessages { id } } } }' })).toBe(200);
    expect(sample(await scrape(), series)).toBe(before + 1);
  });

  it('shows the database pool on PostgreSQL (PGlite has none)', async () => {
    const text = await scrape();
    if (app.database.kind === 'postgres') {
      expect(sample(text, 'agentmem_database_connections{state="in_use"}')).toBe(0);
      expect(sample(text, 'agentmem_database_connections{state="idle"}')).toBeGreaterThan(0);
      expect(sample(text, 'agentmem_database_connections{state="waiting"}')).toBe(0);
    } else {
      expect(text).not.toContain('agentmem_database_connections');
    }
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('without METRICS_TOKEN', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('metrics-off');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('serves no metrics and keeps none', async () => {
    const response = await fetch(new URL('/metrics', app.url), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('agentmem_');
    expect(app.metrics).toBeUndefined();
  });
});
