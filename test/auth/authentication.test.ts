import { hashApiKey } from '../../src/auth/keys';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const Organization = graphql(`
  query WhoAmI { organization { id } }
`);
const CreateAgentNamed = graphql(`
  mutation CreateAgentNamed($name: String!) { createAgent(input: { name: $name }) { __typename } }
`);
const CreateApiKey = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ... on CreatedApiKey { key apiKey { id name scopes expiresAt isActive } }
      ... on Error { code field }
    }
  }
`);
const RevokeApiKey = graphql(`
  mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) { __typename ... on RevokedApiKey { apiKey { isActive } } } }
`);

const CreateKeyHolder = graphql(`
  mutation CreateKeyHolder($name: String!) { createUser(input: { name: $name }) { __typename ... on UserPayload {
    user { id } } } }
`);
const DeleteKeyHolder = graphql(`
  mutation DeleteKeyHolder($id: ID!) { deleteUser(id: $id) { __typename } }
`);

describe('authentication with API keys', () => {
  let app: TestApp;
  let organizationId: string;
  let key: string;
  beforeAll(async () => {
    app = await startTestApp('auth');
    ({ organizationId, key } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  /** A request with exactly this Authorization header (or none). */
  async function ask(authorization: string | null) {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization !== null && { authorization }) },
      body: JSON.stringify({ query: CreateAgentNamed.toString(), variables: { name: 'should not exist' } }),
    });
    return {
      status: response.status,
      body: await response.text(),
      authenticate: response.headers.get('www-authenticate'),
    };
  }

  it('answers every kind of bad key with the same 401 UNAUTHENTICATED, executing nothing', async () => {
    const agentsBefore = await app.database.owner.agent.count();
    const expired = (
      await app.graphql(CreateApiKey, {
        input: { name: 'soon expired', scopes: ['READ'], expiresAt: new Date(Date.now() + 60_000).toISOString() },
      })
    ).data!.createApiKey;
    if (expired.__typename !== 'CreatedApiKey') throw new Error('createApiKey failed');
    // Its expiry passes at once, rather than after a wait: the API refuses an expiry in the past.
    await app.database.owner.apiKey.update({
      where: { id: expired.apiKey.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const expiredKey = expired.key;
    const revoked = await app.graphql(CreateApiKey, { input: { name: 'revoked', scopes: ['READ'] } });
    if (revoked.data!.createApiKey.__typename !== 'CreatedApiKey') throw new Error('createApiKey failed');
    await app.graphql(RevokeApiKey, { id: revoked.data!.createApiKey.apiKey.id });

    const answers = await Promise.all([
      ask(null),
      ask('Basic dXNlcjpwYXNz'),
      ask('Bearer not-a-key'),
      ask(`Bearer amk_${'A'.repeat(43)}`), // well-formed, unknown
      ask(`Bearer ${expiredKey}`),
      ask(`Bearer ${revoked.data!.createApiKey.key}`),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.authenticate).toBe('Bearer');
      expect(answer.body).toBe(answers[0]!.body);
    }
    expect(JSON.parse(answers[0]!.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(await app.database.owner.agent.count()).toBe(agentsBefore);
  });

  it('shows a new key once, stores only its hash, and accepts it until it is revoked', async () => {
    const created = (await app.graphql(CreateApiKey, { input: { name: 'ci', scopes: ['READ', 'WRITE'] } })).data!
      .createApiKey;
    if (created.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${created.__typename}`);
    expect(created.key).toMatch(/^amk_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey).toMatchObject({ name: 'ci', scopes: ['read', 'write'], isActive: true, expiresAt: null });
    const row = await app.database.owner.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } });
    expect(row.keyHash).toBe(hashApiKey(created.key));
    expect(JSON.stringify(row)).not.toContain(created.key);

    app.useKey(created.key);
    expect((await app.graphql(Organization)).data?.organization.id).toBe(organizationId);
    app.useKey(key);
    await app.graphql(RevokeApiKey, { id: created.apiKey.id });
    expect((await ask(`Bearer ${created.key}`)).status).toBe(401);
  });

  it('checks keys again after a mutation that can end one, and only then', async () => {
    const keyChecks = (statements: string[]) => statements.filter((sql) => sql.includes('FROM api_keys k')).length;
    await app.graphql(Organization);
    // A write that ends no key (here createAgent) leaves the checked keys alone.
    const { statements: afterWrite } = await app.countStatements(async () => {
      await app.graphql(CreateAgentNamed, { name: 'ends no key' });
      await app.graphql(Organization);
    });
    expect(keyChecks(afterWrite)).toBe(0);

    // Deleting a user ends that user's keys in this process at once, as revokeApiKey does.
    const holder = (await app.graphql(CreateKeyHolder, { name: 'key holder' })).data!.createUser;
    if (holder.__typename !== 'UserPayload') throw new Error(`createUser returned ${holder.__typename}`);
    const issued = (
      await app.graphql(CreateApiKey, { input: { name: 'holder', scopes: ['READ', 'WRITE'], userId: holder.user.id } })
    ).data!.createApiKey;
    if (issued.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${issued.__typename}`);
    expect((await app.graphqlAs(issued.key, Organization)).data?.organization.id).toBe(organizationId);
    expect((await app.graphql(DeleteKeyHolder, { id: holder.user.id })).data!.deleteUser.__typename).toBe(
      'DeletedPayload',
    );
    expect((await ask(`Bearer ${issued.key}`)).status).toBe(401);
  });

  it('refuses keys without scopes, in the past, or for an unknown user', async () => {
    const noScope = (await app.graphql(CreateApiKey, { input: { name: 'none', scopes: [] } })).data!.createApiKey;
    expect(noScope).toMatchObject({ code: 'VALIDATION', field: ['input', 'scopes'] });
    const past = (
      await app.graphql(CreateApiKey, { input: { name: 'past', scopes: ['READ'], expiresAt: '2000-01-01T00:00:00Z' } })
    ).data!.createApiKey;
    expect(past).toMatchObject({ code: 'VALIDATION', field: ['input', 'expiresAt'] });
    const stranger = (
      await app.graphql(CreateApiKey, { input: { name: 'x', scopes: ['READ'], userId: 'user-nobody' } })
    ).data!.createApiKey;
    expect(stranger).toMatchObject({ code: 'NOT_FOUND', field: ['input', 'userId'] });
  });

  it('writes last_used_at at most about once a minute, not per request', async () => {
    const created = (await app.graphql(CreateApiKey, { input: { name: 'busy', scopes: ['READ'] } })).data!.createApiKey;
    if (created.__typename !== 'CreatedApiKey') throw new Error('createApiKey failed');
    const lastUsed = async () =>
      (await app.database.owner.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } })).lastUsedAt;
    expect(await lastUsed()).toBeNull();

    app.useKey(created.key);
    try {
      const first = await app.countStatements(() => app.graphql(Organization));
      const used = await lastUsed();
      expect(used).not.toBeNull();
      const later = await app.countStatements(async () => {
        for (let request = 0; request < 5; request += 1) await app.graphql(Organization);
      });
      expect(await lastUsed()).toEqual(used);
      expect(first.statements.filter((sql) => /^UPDATE/i.test(sql.trim()))).toHaveLength(1);
      expect(later.statements.filter((sql) => /^UPDATE/i.test(sql.trim()))).toHaveLength(0);
    } finally {
      app.useKey(key);
    }
  });
});
