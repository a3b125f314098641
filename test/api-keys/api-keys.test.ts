import { getIntrospectionQuery, type IntrospectionQuery } from 'graphql';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const ApiKeys = graphql(`
  query ApiKeys { apiKeys { totalCount nodes { id name scopes isActive user { name } } } }
`);

describe('api keys', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('api_keys');
    await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  it("lists the organization's keys as metadata", async () => {
    const response = await app.graphql(ApiKeys);
    expect(response.data?.apiKeys).toMatchObject({
      totalCount: 1,
      nodes: [{ name: 'demo', scopes: ['read', 'write', 'admin'], isActive: true, user: { name: 'Demo User' } }],
    });
  });

  it('exposes no key hash anywhere in the schema', async () => {
    const introspection = await app.graphqlUntyped(getIntrospectionQuery());
    const types = (introspection.data as unknown as IntrospectionQuery).__schema.types;
    const fieldNames = types.flatMap((type) =>
      'fields' in type && type.fields ? type.fields.map((field) => field.name) : [],
    );
    expect(fieldNames.filter((name) => /hash/i.test(name))).toEqual(['hash']); // Memory.hash, a content hash
    expect(types.find((type) => type.name === 'ApiKey')).toBeDefined();
  });
});
