import { graphql } from '../generated';
import type { CreateMemoryInput, MemoryType } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateMemories = graphql(`
  mutation CreateMemories($inputs: [CreateMemoryInput!]!) {
    createMemories(inputs: $inputs) {
      __typename
      ... on Error { code field }
      ... on MemoriesPayload { memories { id content memoryType importance } }
    }
  }
`);
const CreateMemory = graphql(`
  mutation CreateMemory($input: CreateMemoryInput!) {
    createMemory(input: $input) { __typename ... on Error { code field } ... on MemoryPayload { memory { id agent {
      id } user { id } } } }
  }
`);
const MemoriesByImportance = graphql(`
  query MemoriesByImportance($agentId: ID!) {
    memories(filter: { agentId: $agentId, memoryType: FACTUAL }, orderBy: { field: IMPORTANCE }) { totalCount nodes {
      content } }
  }
`);
const AgentMemoryCounts = graphql(`
  query AgentMemoryCounts($id: ID!) { agent(id: $id) { memoryCount memories { totalCount } } }
`);
const UpdateMemory = graphql(`
  mutation UpdateMemory($id: ID!, $input: UpdateMemoryInput!) {
    updateMemory(id: $id, input: $input) { __typename ... on Error { code field } ... on MemoryPayload { memory {
      importance content } } }
  }
`);
const DeleteMemory = graphql(`
  mutation DeleteMemory($id: ID!) { deleteMemory(id: $id) { __typename } }
`);
const MemoryById = graphql(`
  query MemoryById($id: ID!) { memory(id: $id) { id } }
`);

describe('memories', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('memories');
    const { organizationId } = await app.seedDemo();
    // An agent of its own: the demo agent comes with a memory.
    agentId = (
      await app.database.owner.agent.create({ data: { id: 'agent-memories', organizationId, name: 'Rememberer' } })
    ).id;
  });
  afterAll(async () => {
    await app?.close();
  });

  const memory = (content: string, importance: number, memoryType: MemoryType = 'FACTUAL'): CreateMemoryInput => ({
    agentId,
    content,
    importance,
    memoryType,
    scope: 'user',
    level: 'core',
  });
  const createMemories = async (inputs: CreateMemoryInput[]) =>
    (await app.graphql(CreateMemories, { inputs })).data!.createMemories;

  it('creates a batch in order, then lists by importance, type and scope', async () => {
    const created = await createMemories([
      memory('Ada likes tea', 0.4),
      memory('Ada is learning GraphQL', 0.9),
      memory('Met Ada on Monday', 0.2, 'EPISODIC'),
    ]);
    if (created.__typename !== 'MemoriesPayload') throw new Error(`createMemories returned ${created.__typename}`);
    expect(created.memories.map((m) => m.content)).toEqual([
      'Ada likes tea',
      'Ada is learning GraphQL',
      'Met Ada on Monday',
    ]);

    expect((await app.graphql(MemoriesByImportance, { agentId })).data!.memories).toEqual({
      totalCount: 2,
      nodes: [{ content: 'Ada is learning GraphQL' }, { content: 'Ada likes tea' }],
    });
    expect((await app.graphql(AgentMemoryCounts, { id: agentId })).data!.agent).toEqual({
      memoryCount: 3,
      memories: { totalCount: 3 },
    });

    const single = (await app.graphql(CreateMemory, { input: memory('one more', 0.5) })).data!.createMemory;
    expect(single).toMatchObject({ __typename: 'MemoryPayload', memory: { agent: { id: agentId } } });
  });

  it('refuses the whole batch when one memory is bad', async () => {
    const before = await app.database.owner.memory.count();
    expect(await createMemories([memory('fine', 0.5), memory('', 0.5)])).toMatchObject({
      code: 'VALIDATION',
      field: ['inputs', '1', 'content'],
    });
    expect(
      await createMemories([memory('fine', 0.5), { ...memory('also fine', 0.5), agentId: 'agent-nope' }]),
    ).toMatchObject({
      code: 'NOT_FOUND',
      field: ['inputs', '1', 'agentId'],
    });
    // Found by the generated-input test: GraphQL's Float is 8 bytes, the column's REAL 4.
    for (const importance of [-5e-324, 1e39]) {
      expect(await createMemories([{ ...memory('tiny', 0.5), importance }])).toMatchObject({
        code: 'VALIDATION',
        field: ['inputs', '0', 'importance'],
      });
    }
    expect(await app.database.owner.memory.count()).toBe(before);
  });

  it('updates and soft-deletes a memory', async () => {
    const created = await createMemories([memory('temporary', 0.1)]);
    if (created.__typename !== 'MemoriesPayload') throw new Error('createMemories failed');
    const id = created.memories[0]!.id;
    expect((await app.graphql(UpdateMemory, { id, input: { importance: 0.75 } })).data!.updateMemory).toEqual({
      __typename: 'MemoryPayload',
      memory: { importance: 0.75, content: 'temporary' },
    });
    // A memory cannot move: UpdateMemoryInput has no agentId, and sending one is refused before anything runs.
    const moved = await app.graphqlUntyped(UpdateMemory.toString(), { id, input: { agentId } });
    expect(moved.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field: ['$input', 'agentId'] });
    await app.graphql(DeleteMemory, { id });
    expect((await app.graphql(MemoryById, { id })).data!.memory).toBeNull();
  });
});
