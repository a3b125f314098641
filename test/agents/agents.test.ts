import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const DemoAgents = graphql(`
  query DemoAgents {
    agents {
      totalCount
      nodes { id name blocks { label value limit } tools { name } recentMessages { role text } messageCount }
    }
  }
`);

const AgentById = graphql(`
  query AgentById($id: ID!) {
    agent(id: $id) { id blocks(label: "persona") { label } }
  }
`);

const ToolIds = graphql(`
  query ToolIds {
    tools { nodes { id } }
  }
`);

const CreateAgent = graphql(`
  mutation CreateAgent($input: CreateAgentInput!) {
    createAgent(input: $input) {
      __typename
      ... on AgentPayload { agent { id name blocks { label } tools { id } } }
      ... on Error { code message field }
    }
  }
`);

const TooLargePage = graphql(`
  query TooLargePage {
    agents(first: 101) { nodes { id } }
  }
`);

describe('agents over HTTP', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('agents');
    ({ agentId } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('lists the demo agent with its blocks, tools and conversation', async () => {
    const response = await app.graphql(DemoAgents);
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data?.agents.totalCount).toBe(1);
    const agent = response.data!.agents.nodes[0]!;
    expect(agent.id).toBe(agentId);
    expect(agent.name).toBe('Demo Assistant');
    expect(agent.blocks.map((block) => block.label)).toEqual(['human', 'persona']);
    expect(agent.blocks.every((block) => block.limit === 2000 && block.value.length > 0)).toBe(true);
    expect(agent.tools.map((tool) => tool.name).sort()).toEqual(['archival_memory_search', 'current_time']);
    expect(agent.recentMessages.map((message) => message.role)).toEqual(['USER', 'ASSISTANT', 'USER', 'ASSISTANT']);
    expect(agent.messageCount).toBe(4);
  });

  it('filters blocks by label and finds one agent by id; an unknown id is null', async () => {
    const found = await app.graphql(AgentById, { id: agentId });
    expect(found.data?.agent).toEqual({ id: agentId, blocks: [{ label: 'persona' }] });
    const missing = await app.graphql(AgentById, { id: 'agent-missing' });
    expect(missing.data?.agent).toBeNull();
  });

  it('creates an agent with new blocks and existing tools in one mutation', async () => {
    const toolIds = (await app.graphql(ToolIds)).data!.tools.nodes.map((tool) => tool.id);
    const created = await app.graphql(CreateAgent, {
      input: {
        name: 'Scribe',
        system: 'Take notes.',
        blocks: [
          { label: 'persona', value: 'I take notes.' },
          { label: 'human', value: 'Ada' },
        ],
        toolIds,
      },
    });
    const result = created.data!.createAgent;
    if (result.__typename !== 'AgentPayload') throw new Error(`expected AgentPayload, got ${result.__typename}`);
    expect(result.agent.id).toMatch(/^agent-[0-9a-f-]{36}$/);
    expect(result.agent.blocks.map((block) => block.label)).toEqual(['human', 'persona']);
    expect(result.agent.tools.map((tool) => tool.id).sort()).toEqual([...toolIds].sort());
  });

  it('rolls a failed createAgent back entirely', async () => {
    const blocksBefore = await app.database.owner.block.count();
    const agentsBefore = await app.database.owner.agent.count();
    const result = await app.graphql(CreateAgent, {
      input: { name: 'Broken', blocks: [{ label: 'persona', value: 'ok' }], toolIds: ['tool-that-does-not-exist'] },
    });
    expect(result.data?.createAgent).toMatchObject({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
      field: ['input', 'toolIds', '0'],
    });
    expect(await app.database.owner.block.count()).toBe(blocksBefore);
    expect(await app.database.owner.agent.count()).toBe(agentsBefore);
  });

  it('refuses a page larger than 100 with a validation error, not a silent cut', async () => {
    const response = await app.graphql(TooLargePage);
    // Refused before execution: no data at all.
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['first'] });
  });

  it('answers liveness and readiness, and echoes a request id', async () => {
    const base = new URL(app.url);
    expect((await fetch(new URL('/health', base))).status).toBe(200);
    const ready = await fetch(new URL('/ready', base), { headers: { 'x-request-id': 'trace-123' } });
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-request-id')).toBe('trace-123');
  });
});
