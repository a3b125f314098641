import { addAgentFleet } from '../../src/demo/agent-fleet';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const NestedAgents = graphql(`
  query NestedAgents($first: Int!) {
    agents(first: $first) {
      nodes {
        id
        blocks { id label value }
        tools { id name }
        recentMessages(limit: 10) { id text createdAt }
      }
    }
  }
`);

const TooManyRecentMessages = graphql(`
  query TooManyRecentMessages {
    agents(first: 1) { nodes { recentMessages(limit: 101) { id } } }
  }
`);

describe('batched relations', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('batching');
    const { organizationId, userId } = await app.seedDemo();
    await addAgentFleet(app.database.owner, { organizationId, userId }, 60);
  }, 240_000);
  afterAll(async () => {
    await app?.close();
  });

  it('answers 50 agents with blocks, tools and 10 recent messages in the same few statements as 5', async () => {
    const run = (first: number) => app.countStatements(() => app.graphql(NestedAgents, { first }));
    // The key's last_used_at is written at most once a minute, not per request: the first
    // request pays for it, so it is not one of the two compared.
    await app.graphql(NestedAgents, { first: 1 });

    const five = await run(5);
    const fifty = await run(50);

    expect(five.result.errors).toBeUndefined();
    expect(fifty.result.errors).toBeUndefined();
    expect(five.result.data?.agents.nodes).toHaveLength(5);
    expect(fifty.result.data?.agents.nodes).toHaveLength(50);
    // Every statement counts, the row-level security scoping included. The key is checked with
    // one statement (none while it is cached, AUTH_CACHE_MS); the agents with their blocks, tools
    // and recent messages are one planned statement (src/planner). On PostgreSQL directly, a
    // checkout is scoped unless its connection holds that scope already; on PGlite and through
    // PgBouncer each statement is a transaction that begins with its scope.
    // A connection takes the application role once, when the pool opens it: whichever request
    // that falls on, it is not the request's cost.
    const perRequest = (statements: string[]) => statements.filter((sql) => !/^SET ROLE/.test(sql));
    const brackets = (statements: string[]) => statements.filter((sql) => /^(BEGIN|COMMIT)$/.test(sql));
    const scoping = (statements: string[]) => statements.filter((sql) => /^SELECT set_config\('role'/.test(sql));
    const keyCheck = (statements: string[]) => statements.filter((sql) => /FROM api_keys k/.test(sql));
    for (const { statements } of [five, fifty]) {
      const sent = perRequest(statements);
      const data = sent.filter((sql) => !brackets([sql]).length && !scoping([sql]).length && !keyCheck([sql]).length);
      expect(data).toHaveLength(1);
      // Answered by its text: the response form of the plan (src/planner/response-text.ts).
      expect(data[0]).toMatch(/^SELECT \/\* planned agents as text \*\//);
      expect(keyCheck(sent).length).toBeLessThanOrEqual(1);
      expect(scoping(sent).length).toBeLessThanOrEqual(2);
      // At most 4 in all: the key, the data, a scope for each.
      expect(sent.length - brackets(sent).length).toBeLessThanOrEqual(4);
    }
    // The same statement for 5 agents as for 50: only the page size is a bound value.
    expect(fifty.statements.find((sql) => sql.includes('planned agents'))).toBe(
      five.statements.find((sql) => sql.includes('planned agents')),
    );

    const batchAgent = fifty.result.data!.agents.nodes.find((agent) => agent.id === 'agent-fleet-007')!;
    expect(batchAgent.blocks.map((block) => block.label)).toEqual(['human', 'persona']);
    expect(batchAgent.tools).toHaveLength(2);
    expect(batchAgent.recentMessages.map((message) => message.text)).toEqual(
      Array.from({ length: 10 }, (_, n) => `message ${n + 2}`), // the last ten, newest last
    );
  });

  it('refuses recentMessages beyond 100', async () => {
    const response = await app.graphql(TooManyRecentMessages);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['limit'] });
  });
});
