import { seedDemoData } from '../../src/demo/seed';
import { startTestApp, type TestApp } from '../support/test-app';

interface AgentsQuery {
  agents: Array<{
    id: string;
    name: string;
    blocks: Array<{ label: string; value: string; limit: number }>;
    tools: Array<{ name: string }>;
    messages: Array<{ role: string; text: string }>;
  }>;
}

describe('the demo query over HTTP', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('agents');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('returns the demo agent with its blocks, tools and conversation', async () => {
    const { agentId } = await seedDemoData(app.database.prisma);

    const response = await app.graphql<AgentsQuery>(`{
      agents { id name blocks { label value limit } tools { name } messages { role text } }
    }`);

    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data?.agents).toHaveLength(1);
    const agent = response.data!.agents[0]!;
    expect(agent.id).toBe(agentId);
    expect(agent.name).toBe('Demo Assistant');
    expect(agent.blocks.map((block) => block.label)).toEqual(['human', 'persona']);
    expect(agent.blocks.every((block) => block.limit === 2000 && block.value.length > 0)).toBe(true);
    expect(agent.tools.map((tool) => tool.name).sort()).toEqual(['archival_memory_search', 'current_time']);
    expect(agent.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });

  it('finds one agent by id, and answers null for an id that does not exist', async () => {
    const [existing] = (await app.graphql<AgentsQuery>('{ agents { id } }')).data!.agents;
    const found = await app.graphql<{ agent: { id: string } | null }>('query ($id: ID!) { agent(id: $id) { id } }', { id: existing!.id });
    expect(found.data?.agent?.id).toBe(existing!.id);
    const missing = await app.graphql<{ agent: null }>('query ($id: ID!) { agent(id: $id) { id } }', { id: 'agent-missing' });
    expect(missing.data?.agent).toBeNull();
  });

  it('answers liveness and readiness', async () => {
    const base = new URL(app.url);
    expect((await fetch(new URL('/health', base))).status).toBe(200);
    expect((await fetch(new URL('/ready', base))).status).toBe(200);
  });
});
