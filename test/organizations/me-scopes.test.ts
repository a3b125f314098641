import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const MyScopes = graphql(`
  query MyScopes { me { scopes user { name } } }
`);

const IssueKey = graphql(`
  mutation IssueScopedKey($name: String!, $scopes: [Scope!]!) {
    createApiKey(input: { name: $name, scopes: $scopes }) {
      __typename
      ... on CreatedApiKey { key }
    }
  }
`);

// `me { scopes }`: what the request's own key may do, for a client to offer only that (the
// inspector hides edit controls from a read key); the server checks every field anyway.
describe('me { scopes }', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('me-scopes');
    await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('gives each key its own scopes, and costs no statement of its own', async () => {
    const admin = await app.graphql(MyScopes);
    expect(admin.data?.me).toEqual({ scopes: ['READ', 'WRITE', 'ADMIN'], user: { name: 'Demo User' } });
    for (const scopes of [['READ'], ['WRITE'], ['READ', 'WRITE']] as const) {
      const issued = (await app.graphql(IssueKey, { name: scopes.join('+'), scopes: [...scopes] })).data!.createApiKey;
      if (issued.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${issued.__typename}`);
      const answer = await app.graphqlAs(issued.key, MyScopes);
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.me.scopes).toEqual(scopes);
    }
    // After the key's authentication is cached again (creating keys forgets the cached ones).
    await app.graphql(MyScopes);
    const { result, statements } = await app.countStatements(() => app.graphql(MyScopes));
    expect(result.data?.me.scopes).toEqual(['READ', 'WRITE', 'ADMIN']);
    const withScopes = statements.length;
    const { statements: without } = await app.countStatements(() => app.graphqlUntyped('{ me { user { name } } }'));
    expect(withScopes).toBe(without.length);
  });

  it('needs a key, as every field does', async () => {
    const answer = await app.graphqlAs(null, MyScopes);
    expect(answer.status).toBe(401);
    expect(answer.data).toBeUndefined();
  });
});
