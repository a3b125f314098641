import { seedDemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const ForeignCursor = graphql(`
  query ForeignCursor { agents(first: 2, after: "garbage") { nodes { id } } }
`);
const NegativePage = graphql(`
  query NegativePage { agents(first: -1) { nodes { id } } }
`);
const OrganizationName = graphql(`
  query OrganizationName { organization { id name } }
`);

describe('the error model over HTTP', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('errors');
    await seedDemoData(app.database.prisma);
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
    // A database failure the API does not expect: the organization row disappears under a
    // request that needs it.
    await app.database.prisma.$executeRawUnsafe('ALTER TABLE organizations RENAME TO organizations_away');
    try {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-mask-1' },
        body: JSON.stringify({ query: OrganizationName.toString() }),
      });
      const body = (await response.json()) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
      const text = JSON.stringify(body);
      expect(body.errors[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-mask-1' });
      expect(body.errors[0]?.message).toBe('Unexpected error (request req-mask-1)');
      expect(text).not.toMatch(/organizations|SELECT|prisma|at .+\.ts|relation/i);
    } finally {
      await app.database.prisma.$executeRawUnsafe('ALTER TABLE organizations_away RENAME TO organizations');
    }
  });

  it('keeps GraphQL parse and validation errors as they are', async () => {
    const response = await app.graphqlUntyped('{ agents { nodes { notAField } } }');
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
