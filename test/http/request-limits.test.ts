import { getIntrospectionQuery } from 'graphql';
import { startTestApp, type TestApp } from '../support/test-app';

describe('request limits, CSRF, CORS and introspection', () => {
  let app: TestApp;
  let locked: TestApp;
  let adminsOnly: TestApp;
  let key: string;
  beforeAll(async () => {
    app = await startTestApp('limits', { corsOrigins: ['https://app.example'] });
    ({ key } = await app.seedDemo());
    locked = await startTestApp('limits_locked', {
      introspection: 'nobody',
      limits: { maxDepth: 10, maxAliases: 15, maxTokens: 2000, maxCost: 50 },
    });
    await locked.seedDemo();
    // As in production by default (INTROSPECTION=auto, NODE_ENV=production).
    adminsOnly = await startTestApp('limits_admins', { introspection: 'admin' });
    await adminsOnly.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
    await locked?.close();
    await adminsOnly?.close();
  });

  /** The refusal's message; every refusal also carries the validation code. */
  const codeOf = (response: { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }) => {
    expect(response.errors?.[0]?.extensions?.code).toMatch(/^GRAPHQL_(VALIDATION|PARSE)_FAILED$/);
    return response.errors?.[0]?.message ?? '';
  };

  it('refuses documents that are too deep, too aliased or too long, before running them', async () => {
    // Requests that fail validation answer 4xx under application/graphql-response+json (the
    // GraphQL-over-HTTP spec), limit refusals as well as graphql-js's own.
    const deep = await app.graphqlUntyped(
      '{ agents { nodes { blocks { agents { tools { agents { blocks { agents { tools { agents { ' +
        'id } } } } } } } } } } }',
    );
    expect(deep.data).toBeUndefined();
    expect(codeOf(deep)).toMatch(/depth/i);
    expect(deep.status).toBe(400);

    const aliases = Array.from({ length: 16 }, (_, index) => `a${index}: organization { id }`).join(' ');
    const aliased = await app.graphqlUntyped(`{ ${aliases} }`);
    expect(codeOf(aliased)).toMatch(/alias/i);
    expect(aliased.status).toBe(400);

    const tokens = Array.from({ length: 2100 }, () => 'id').join(' ');
    const long = await app.graphqlUntyped(`{ organization { ${tokens} } }`);
    expect(codeOf(long)).toMatch(/token/i);
    expect(long.status).toBe(400);
  });

  it('refuses a document that costs more than the limit, and allows the ordinary nested query', async () => {
    const nested =
      '{ agents(first: 50) { nodes { id blocks { id label value } tools { id name } recentMessages(limit: 10) { ' +
      'id text } } } }';
    expect((await app.graphqlUntyped(nested)).errors).toBeUndefined();
    const costly = await locked.graphqlUntyped(nested);
    expect(codeOf(costly)).toMatch(/cost/i);
    expect(costly.status).toBe(400);
  });

  it('allows introspection where it is enabled, and refuses it where it is not', async () => {
    expect((await app.graphqlUntyped(getIntrospectionQuery())).errors).toBeUndefined();
    const refused = await locked.graphqlUntyped('{ __schema { types { name } } }');
    expect(refused.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it('lets only admin keys introspect where introspection is for admins', async () => {
    expect((await adminsOnly.graphqlUntyped(getIntrospectionQuery())).errors).toBeUndefined();
    const issued = await adminsOnly.graphqlUntyped(
      'mutation { createApiKey(input: { name: "reader", scopes: [READ] }) { ... on CreatedApiKey { key } } }',
    );
    adminsOnly.useKey((issued.data as { createApiKey: { key: string } }).createApiKey.key);
    const refused = await adminsOnly.graphqlUntyped('{ organization { id } __type(name: "Agent") { name } }');
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/introspection/i),
      extensions: { code: 'FORBIDDEN' },
    });
    // Everything else, __typename included, stays open to the read key.
    expect((await adminsOnly.graphqlUntyped('{ organization { __typename id } }')).errors).toBeUndefined();
  });

  it('refuses a simple cross-site request (CSRF) and serves GraphiQL to a browser', async () => {
    const simple = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ organization { id } }' }),
    });
    expect(simple.status).toBe(403);
    const page = await fetch(app.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>AgentMem</title>');
  });

  it('sends CORS headers to configured origins only', async () => {
    const preflight = (origin: string) =>
      fetch(app.url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
    expect((await preflight('https://app.example')).headers.get('access-control-allow-origin')).toBe(
      'https://app.example',
    );
    // The allowed origin, never the asking one: a browser on evil.example refuses the answer.
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).not.toBe(
      'https://evil.example',
    );
    const closed = await fetch(locked.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(closed.headers.get('access-control-allow-origin')).toBeNull();
  });
});
