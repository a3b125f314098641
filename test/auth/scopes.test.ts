import { graphql } from '../generated';
import type { Scope } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';

const IssueKey = graphql(`
  mutation IssueKey($scopes: [Scope!]!) {
    createApiKey(input: { name: "scoped", scopes: $scopes }) { __typename ... on CreatedApiKey { key } }
  }
`);
const ListAgents = graphql(`
  query ListAgents { agents { totalCount } }
`);
const MakeAgent = graphql(`
  mutation MakeAgent { createAgent(input: { name: "scoped" }) { __typename ... on AgentPayload { agent { id } } } }
`);
const SoftDeleteAgent = graphql(`
  mutation SoftDeleteAgent($id: ID!) { deleteAgent(id: $id) { __typename } }
`);
const BringBackAgent = graphql(`
  mutation BringBackAgent($id: ID!) { restoreAgent(id: $id) { __typename } }
`);
const EraseAgent = graphql(`
  mutation EraseAgent($id: ID!) { purgeAgent(id: $id) { __typename } }
`);
const AddUser = graphql(`
  mutation AddUser { createUser(input: { name: "Scoped" }) { __typename } }
`);
const ListKeys = graphql(`
  query ListKeys { apiKeys { totalCount } }
`);

describe('scopes', () => {
  let app: TestApp;
  let adminKey: string;
  const keys: Partial<Record<Scope, string>> = {};
  beforeAll(async () => {
    app = await startTestApp('scopes');
    ({ key: adminKey } = await app.seedDemo());
    for (const scope of ['READ', 'WRITE'] as const) {
      const issued = (await app.graphql(IssueKey, { scopes: [scope] })).data!.createApiKey;
      if (issued.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${issued.__typename}`);
      keys[scope] = issued.key;
    }
  });
  afterAll(async () => {
    await app?.close();
  });

  const forbidden = (response: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
    response.errors?.[0]?.extensions?.code === 'FORBIDDEN';

  async function as<T>(key: string, work: () => Promise<T>): Promise<T> {
    app.useKey(key);
    try {
      return await work();
    } finally {
      app.useKey(adminKey);
    }
  }

  it('lets a read key read, and nothing else', async () => {
    const agentsBefore = await app.database.owner.agent.count();
    await as(keys.READ!, async () => {
      expect((await app.graphql(ListAgents)).data?.agents.totalCount).toBe(agentsBefore);
      const attempt = await app.graphql(MakeAgent);
      expect(forbidden(attempt)).toBe(true);
      expect(attempt.data).toBeNull();
    });
    expect(await app.database.owner.agent.count()).toBe(agentsBefore);
  });

  it('lets a write key change and soft-delete, but not restore, purge, or manage users and keys', async () => {
    await as(keys.WRITE!, async () => {
      const made = (await app.graphql(MakeAgent)).data!.createAgent;
      if (made.__typename !== 'AgentPayload') throw new Error(`createAgent returned ${made.__typename}`);
      const id = made.agent.id;
      expect((await app.graphql(SoftDeleteAgent, { id })).data?.deleteAgent.__typename).toBe('DeletedPayload');
      expect(forbidden(await app.graphql(BringBackAgent, { id }))).toBe(true);
      expect(forbidden(await app.graphql(EraseAgent, { id }))).toBe(true);
      expect(forbidden(await app.graphql(AddUser))).toBe(true);
      expect(forbidden(await app.graphql(ListKeys))).toBe(true);
      expect(forbidden(await app.graphql(IssueKey, { scopes: ['ADMIN'] }))).toBe(true);
      expect(await app.database.owner.agent.findUnique({ where: { id } })).toMatchObject({ isDeleted: true });
    });
    expect(await app.database.owner.apiKey.count()).toBe(3);
  });

  it('lets an admin key do everything', async () => {
    const made = (await app.graphql(MakeAgent)).data!.createAgent;
    if (made.__typename !== 'AgentPayload') throw new Error(`createAgent returned ${made.__typename}`);
    const id = made.agent.id;
    await app.graphql(SoftDeleteAgent, { id });
    expect((await app.graphql(BringBackAgent, { id })).data?.restoreAgent.__typename).toBe('AgentPayload');
    expect((await app.graphql(EraseAgent, { id })).data?.purgeAgent.__typename).toBe('DeletedPayload');
    expect((await app.graphql(AddUser)).data?.createUser.__typename).toBe('UserPayload');
    expect((await app.graphql(ListKeys)).data?.apiKeys.totalCount).toBe(3);
  });
});
