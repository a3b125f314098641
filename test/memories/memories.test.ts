import { seedDemoData } from '../../src/demo/seed';
import { startTestApp, type TestApp } from '../support/test-app';

const CREATE_MEMORIES = `mutation ($inputs: [MemoryInput!]!) {
  createMemories(inputs: $inputs) { __typename ... on Error { code field } ... on MemoriesPayload { memories { id content memoryType importance } } }
}`;

describe('memories', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('memories');
    ({ agentId } = await seedDemoData(app.database.prisma));
  });
  afterAll(async () => {
    await app?.close();
  });

  const memory = (content: string, importance: number, memoryType = 'FACTUAL') => ({ agentId, content, importance, memoryType, scope: 'user', level: 'core' });

  it('creates a batch in order, then lists by importance, type and scope', async () => {
    const created = await app.graphql<{ createMemories: { memories: Array<{ content: string; memoryType: string }> } }>(CREATE_MEMORIES, {
      inputs: [memory('Ada likes tea', 0.4), memory('Ada is learning GraphQL', 0.9), memory('Met Ada on Monday', 0.2, 'EPISODIC')],
    });
    expect(created.data!.createMemories.memories.map((m) => m.content)).toEqual(['Ada likes tea', 'Ada is learning GraphQL', 'Met Ada on Monday']);

    const important = await app.graphql<{ memories: { totalCount: number; nodes: Array<{ content: string }> } }>(
      'query ($agentId: ID!) { memories(filter: { agentId: $agentId, memoryType: FACTUAL }, orderBy: { field: IMPORTANCE }) { totalCount nodes { content } } }',
      { agentId },
    );
    expect(important.data!.memories).toEqual({ totalCount: 2, nodes: [{ content: 'Ada is learning GraphQL' }, { content: 'Ada likes tea' }] });

    const agent = await app.graphql<{ agent: { memoryCount: number; memories: { totalCount: number } } }>(
      'query ($id: ID!) { agent(id: $id) { memoryCount memories { totalCount } } }',
      { id: agentId },
    );
    expect(agent.data!.agent).toEqual({ memoryCount: 3, memories: { totalCount: 3 } });
  });

  it('refuses the whole batch when one memory is bad', async () => {
    const before = await app.database.prisma.memory.count();
    const result = await app.graphql<{ createMemories: { code: string; field: string[] } }>(CREATE_MEMORIES, {
      inputs: [memory('fine', 0.5), { ...memory('', 0.5) }],
    });
    expect(result.data!.createMemories).toMatchObject({ code: 'VALIDATION', field: ['inputs', '1', 'content'] });
    const unknownAgent = await app.graphql<{ createMemories: { code: string; field: string[] } }>(CREATE_MEMORIES, {
      inputs: [memory('fine', 0.5), { ...memory('also fine', 0.5), agentId: 'agent-nope' }],
    });
    expect(unknownAgent.data!.createMemories).toMatchObject({ code: 'NOT_FOUND', field: ['inputs', '1', 'agentId'] });
    expect(await app.database.prisma.memory.count()).toBe(before);
  });

  it('updates and soft-deletes a memory', async () => {
    const created = await app.graphql<{ createMemories: { memories: Array<{ id: string }> } }>(CREATE_MEMORIES, { inputs: [memory('temporary', 0.1)] });
    const id = created.data!.createMemories.memories[0]!.id;
    const updated = await app.graphql<{ updateMemory: { memory: { importance: number; content: string } } }>(
      'mutation ($id: ID!) { updateMemory(id: $id, input: { importance: 0.75 }) { ... on MemoryPayload { memory { importance content } } } }',
      { id },
    );
    expect(updated.data!.updateMemory.memory).toEqual({ importance: 0.75, content: 'temporary' });
    await app.graphql('mutation ($id: ID!) { deleteMemory(id: $id) { __typename } }', { id });
    const read = await app.graphql<{ memory: null }>('query ($id: ID!) { memory(id: $id) { id } }', { id });
    expect(read.data!.memory).toBeNull();
  });
});
