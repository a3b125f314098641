import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const AgentCount = graphql(`
  query RateLimitedAgentCount { agents { totalCount } }
`);
const CreateLimitedAgent = graphql(`
  mutation CreateLimitedAgent($name: String!) { createAgent(input: { name: $name }) { __typename } }
`);
const IssueWriteKey = graphql(`
  mutation IssueWriteKey { createApiKey(input: { name: "second", scopes: [WRITE] }) {
    __typename ... on CreatedApiKey { key } } }
`);

describe('per-key rate limit', () => {
  const limit = 5;
  let app: TestApp;
  let organizationId: string;
  let firstKey: string;
  let secondKey: string;
  beforeAll(async () => {
    app = await startTestApp('rate_limit', { rateLimit: { requests: limit, windowSeconds: 3600 } });
    ({ organizationId, key: firstKey } = await app.seedDemo());
    const issued = (await app.graphql(IssueWriteKey)).data!.createApiKey;
    if (issued.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${issued.__typename}`);
    secondKey = issued.key;
  });
  afterAll(async () => {
    await app?.close();
  });

  it(
    'answers a key over its limit with 429 RATE_LIMITED and Retry-After, executing nothing, ' +
      'and leaves other keys alone',
    async () => {
      // The key issued one request (createApiKey) already.
      for (let request = 1; request < limit; request += 1) {
        expect((await app.graphqlAs(firstKey, AgentCount)).status).toBe(200);
      }
      const agentsBefore = await app.database.owner.agent.count({ where: { organizationId } });

      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${firstKey}` },
        body: JSON.stringify({ query: CreateLimitedAgent.toString(), variables: { name: 'over the limit' } }),
      });
      const body = (await response.json()) as {
        data?: unknown;
        errors: Array<{ message: string; extensions: Record<string, unknown> }>;
      };
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(3500);
      expect(body.data).toBeUndefined();
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
      expect(body.errors[0]?.extensions.retryAfterSeconds).toBe(Number(response.headers.get('retry-after')));
      expect(await app.database.owner.agent.count({ where: { organizationId } })).toBe(agentsBefore);

      // Still refused, and the organization's other key is counted on its own.
      expect((await app.graphqlAs(firstKey, AgentCount)).status).toBe(429);
      const other = await app.graphqlAs(secondKey, CreateLimitedAgent, { name: 'within its own limit' });
      expect(other.status).toBe(200);
      expect(other.data?.createAgent.__typename).toBe('AgentPayload');
    },
  );
});

const WhoAmI = graphql(`
  query ThrottledWhoAmI { me { user { id } } }
`);

describe('failed authentications, per client address', () => {
  const failures = 3;
  let app: TestApp;
  let key: string;
  beforeAll(async () => {
    // One reverse proxy in front: the client's address is the X-Forwarded-For entry it appended.
    app = await startTestApp('auth_throttle', {
      authFailureLimit: { failures, windowSeconds: 3600 },
      trustedProxies: 1,
    });
    ({ key } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  const fromAddress = (address: string, bearer: string) =>
    fetch(app.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${bearer}`,
        'x-forwarded-for': `198.51.100.1, ${address}`,
      },
      body: JSON.stringify({ query: WhoAmI.toString() }),
    });
  const unknownKey = (index: number) => `amk_${String(index).padStart(43, 'A')}`;

  it(
    'answers an address over its failures with 429 and Retry-After before any lookup, ' +
      'and leaves other addresses alone',
    async () => {
      for (let attempt = 0; attempt < failures; attempt += 1) {
        expect((await fromAddress('203.0.113.7', unknownKey(attempt))).status).toBe(401);
      }

      const { result: refused, statements } = await app.countStatements(() =>
        fromAddress('203.0.113.7', unknownKey(failures)),
      );
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(3500);
      const body = (await refused.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
      expect(body.errors[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: retryAfter });
      // The key was not looked up: refusing costs the database nothing.
      expect(statements).toEqual([]);
      // A valid key from that address waits too: the address is throttled, not the keys it tries.
      expect((await fromAddress('203.0.113.7', key)).status).toBe(429);

      // Another client behind the same proxy is not affected.
      const other = await fromAddress('203.0.113.8', key);
      expect(other.status).toBe(200);
      expect(((await other.json()) as { data: { me: { user: { id: string } } } }).data.me.user.id).toMatch(/^user-/);
    },
  );
});
