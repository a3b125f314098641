import { addAgentFleet } from '../../src/demo/agent-fleet';
import { graphql } from '../generated';
import { testPoolerRunning } from '../support/pgbouncer';
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
    // Every statement counts, the row-level security scoping included. On PostgreSQL: the
    // caller's key and the agents with their blocks, tools and recent messages (one statement,
    // src/agents/page.ts), each on a connection scoped at checkout and cleared at release. On
    // PGlite each of the two is a transaction that begins with its scope.
    // A connection takes the application role once, when the pool opens it: whichever request
    // that falls on, it is not the request's cost.
    const perRequest = (statements: string[]) => statements.filter((sql) => !/^SET ROLE/.test(sql));
    five.statements = perRequest(five.statements);
    fifty.statements = perRequest(fifty.statements);
    const brackets = (statements: string[]) => statements.filter((sql) => /^(BEGIN|COMMIT)$/.test(sql));
    const scoping = (statements: string[]) => statements.filter((sql) => /^SELECT set_config\('role'/.test(sql));
    expect(fifty.statements.filter((sql) => /json_build_object/.test(sql))).toHaveLength(1);
    // Two checkouts, each scoped; session-scoped connections (PostgreSQL, directly) clear it too.
    expect(scoping(fifty.statements)).toHaveLength(app.database.kind === 'postgres' && !testPoolerRunning() ? 4 : 2);
    expect(fifty.statements.length - brackets(fifty.statements).length).toBeLessThanOrEqual(6);
    expect(fifty.statements).toEqual(five.statements);

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
