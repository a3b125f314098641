import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const ForeignCursor = graphql(`
  query ForeignCursor { agents(first: 2, after: "garbage") { nodes { id } } }
`);
const NegativePage = graphql(`
  query NegativePage { agents(first: -1) { nodes { id } } }
`);
const AgentNames = graphql(`
  query AgentNames { agents { nodes { name } } }
`);

describe('the error model over HTTP', () => {
  let app: TestApp;
  let key: string;
  beforeAll(async () => {
    app = await startTestApp('errors');
    ({ key } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('reports malformed connection arguments as validation errors', async () => {
    for (const document of [ForeignCursor, NegativePage]) {
      const response = await app.graphql(document);
      expect(response.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    }
  });

  it('masks an unexpected failure: no SQL, stack or driver message, and a request id the log can find', async () => {
    // A database failure the API does not expect: a table disappears under a request.
    await app.database.owner.$executeRawUnsafe('ALTER TABLE agents RENAME TO agents_away');
    try {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-mask-1', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: AgentNames.toString() }),
      });
      const body = (await response.json()) as {
        errors: Array<{ message: string; extensions: Record<string, unknown> }>;
      };
      const text = JSON.stringify(body);
      expect(body.errors[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-mask-1' });
      expect(body.errors[0]?.message).toBe('Unexpected error (request req-mask-1)');
      expect(text).not.toMatch(/agents_away|SELECT|prisma|at .+\.ts|relation/i);
    } finally {
      await app.database.owner.$executeRawUnsafe('ALTER TABLE agents_away RENAME TO agents');
    }
  });

  it('keeps GraphQL parse and validation errors as they are', async () => {
    const response = await app.graphqlUntyped('{ agents { nodes { notAField } } }');
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
