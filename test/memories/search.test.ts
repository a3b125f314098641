import { randomUUID } from 'node:crypto';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const SearchMemories = graphql(`
  query SearchMemories($query: String!, $filter: MemoryFilter, $limit: Int) {
    searchMemories(query: $query, filter: $filter, limit: $limit) { rank memory { id content agentId user { id } } }
  }
`);
const DeleteSearchedMemory = graphql(`
  mutation DeleteSearchedMemory($id: ID!) { deleteMemory(id: $id) { __typename } }
`);
const DeleteSearchedAgent = graphql(`
  mutation DeleteSearchedAgent($id: ID!) { deleteAgent(id: $id) { __typename } }
`);

describe('memory search', () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  let otherAgentId: string;

  async function remember(owner: DemoData, content: string, agentId = owner.agentId): Promise<string> {
    const id = `memory-${randomUUID()}`;
    await app.database.owner.memory.create({
      data: { id, organizationId: owner.organizationId, userId: owner.userId, agentId, content, memoryType: 'factual', scope: 'user', level: 'long_term' },
    });
    return id;
  }

  const contents = async (query: string, extra: { limit?: number; filter?: { agentId?: string } } = {}) => {
    const response = await app.graphql(SearchMemories, { query, ...extra });
    expect(response.errors).toBeUndefined();
    return response.data!.searchMemories.map((hit) => hit.memory.content);
  };

  beforeAll(async () => {
    app = await startTestApp('memory_search');
    own = await app.seedDemo();
    other = await app.seedDemo();
    otherAgentId = (await app.database.owner.agent.create({ data: { id: `agent-${randomUUID()}`, organizationId: own.organizationId, name: 'Second' } })).id;
    await remember(own, 'Ada drinks green tea every morning. Tea helps her think.');
    await remember(own, 'Ada once tried tea in Kyoto.');
    await remember(own, 'Ada is learning GraphQL and Prisma.');
    await remember(own, 'The second agent knows Ada prefers coffee to tea.', otherAgentId);
    await remember(other, 'Another organization also drinks tea: never shown to Ada.');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('finds memories by stemmed words, best matches first, within the caller organization only', async () => {
    const response = await app.graphql(SearchMemories, { query: 'teas' });
    const hits = response.data!.searchMemories;
    expect(hits.map((hit) => hit.memory.content).sort()).toEqual([
      'Ada drinks green tea every morning. Tea helps her think.',
      'Ada once tried tea in Kyoto.',
      'The second agent knows Ada prefers coffee to tea.',
    ]);
    // "tea" twice ranks first; ranks never rise down the list.
    expect(hits[0]!.memory.content).toContain('Tea helps');
    expect(hits.map((hit) => hit.rank)).toEqual(hits.map((hit) => hit.rank).sort((x, y) => y - x));
    expect(hits[0]!.rank).toBeGreaterThan(hits[2]!.rank);
    expect(hits.every((hit) => hit.memory.user.id === own.userId)).toBe(true);

    expect(await contents('"green tea"')).toEqual(['Ada drinks green tea every morning. Tea helps her think.']);
    expect(await contents('tea -kyoto -coffee')).toEqual(['Ada drinks green tea every morning. Tea helps her think.']);
    // The demo memory is about GraphQL too.
    expect(await contents('graphql or kyoto')).toHaveLength(3);
    expect(await contents('tea', { filter: { agentId: otherAgentId } })).toEqual(['The second agent knows Ada prefers coffee to tea.']);
    expect(await contents('tea', { limit: 1 })).toHaveLength(1);
    expect(await contents('organization')).toEqual([]);
  });

  it('takes any text as words: quotes, SQL, operators and stop words find nothing or what they say', async () => {
    for (const hostile of ["'; DROP TABLE memories; --", '"unbalanced', 'tea & | ! :* <-> (', '\\x00 %_\\', 'the and of', '🍵🍵']) {
      const response = await app.graphql(SearchMemories, { query: hostile });
      expect({ hostile, errors: response.errors }).toEqual({ hostile, errors: undefined });
    }
    expect(await contents("tea'; DROP TABLE memories; --")).toEqual([]);
    expect(await app.database.owner.memory.count({ where: { organizationId: own.organizationId } })).toBe(5);
  });

  it('refuses an empty or overlong query and a limit out of range, as VALIDATION errors', async () => {
    const cases = [
      { variables: { query: '   ' }, field: ['query'] },
      { variables: { query: 'tea '.repeat(300) }, field: ['query'] },
      { variables: { query: 'tea', limit: 0 }, field: ['limit'] },
      { variables: { query: 'tea', limit: 101 }, field: ['limit'] },
    ];
    for (const { variables, field } of cases) {
      const response = await app.graphql(SearchMemories, variables);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field });
    }
  });

  it('never finds deleted memories, nor the memories of a deleted agent', async () => {
    const gone = await remember(own, 'A forgotten fact about tea ceremonies.');
    expect(await contents('ceremonies')).toHaveLength(1);
    expect((await app.graphql(DeleteSearchedMemory, { id: gone })).data!.deleteMemory.__typename).toBe('DeletedPayload');
    expect(await contents('ceremonies')).toEqual([]);

    expect((await app.graphql(DeleteSearchedAgent, { id: otherAgentId })).data!.deleteAgent.__typename).toBe('DeletedPayload');
    expect(await contents('coffee')).toEqual([]);
  });
});
