import { randomUUID } from 'node:crypto';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const SearchMemories = graphql(`
  query SearchMemories($query: String!, $filter: MemoryFilter, $limit: Int, $minScore: Float) {
    searchMemories(query: $query, filter: $filter, limit: $limit, minScore: $minScore, track: false) { rank memory {
      id content agentId user { id } } }
  }
`);
const SnippetSearch = graphql(`
  query SnippetSearch($query: String!, $filter: MemoryFilter) {
    searchMemories(query: $query, filter: $filter, track: false) { snippet memory { content } }
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
      data: {
        id,
        organizationId: owner.organizationId,
        userId: owner.userId,
        agentId,
        content,
        memoryType: 'factual',
        scope: 'user',
        level: 'long_term',
      },
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
    otherAgentId = (
      await app.database.owner.agent.create({
        data: { id: `agent-${randomUUID()}`, organizationId: own.organizationId, name: 'Second' },
      })
    ).id;
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
    expect(await contents('tea', { filter: { agentId: otherAgentId } })).toEqual([
      'The second agent knows Ada prefers coffee to tea.',
    ]);
    expect(await contents('tea', { limit: 1 })).toHaveLength(1);
    expect(await contents('organization')).toEqual([]);
  });

  it('takes any text as words: quotes, SQL, operators and stop words find nothing or what they say', async () => {
    for (const hostile of ["'; DROP TABLE memories; --", '"unbalanced', 'tea & | ! :* <-> (', '\\x00 %_\\']) {
      const response = await app.graphql(SearchMemories, { query: hostile });
      expect({ hostile, errors: response.errors }).toEqual({ hostile, errors: undefined });
    }
    expect(await contents("tea'; DROP TABLE memories; --")).toEqual([]);
    expect(await app.database.owner.memory.count({ where: { organizationId: own.organizationId } })).toBe(5);
  });

  it('refuses an empty or overlong query and a limit out of range, as VALIDATION errors', async () => {
    const cases = [
      { variables: { query: '   ' }, field: ['query'] },
      // Only stop words or punctuation: PostgreSQL finds nothing to search for, which is not "everything".
      { variables: { query: 'the and of' }, field: ['query'] },
      { variables: { query: '🍵🍵' }, field: ['query'] },
      { variables: { query: '-- ! & |' }, field: ['query'] },
      { variables: { query: 'tea '.repeat(300) }, field: ['query'] },
      { variables: { query: 'tea', limit: 0 }, field: ['limit'] },
      { variables: { query: 'tea', limit: 101 }, field: ['limit'] },
    ];
    for (const { variables, field } of cases) {
      const response = await app.graphql(SearchMemories, variables);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field });
    }
  });

  it('marks the matched words in a snippet, and filters by types, scopes, levels, user and creation time', async () => {
    const response = await app.graphql(SnippetSearch, {
      query: 'green teas',
      filter: { memoryTypes: ['FACTUAL', 'EPISODIC'], scopes: ['user'], levels: ['long_term', 'core'] },
    });
    expect(response.errors).toBeUndefined();
    expect(response.data!.searchMemories).toEqual([
      // Fragments (MaxFragments=2) are cut at word boundaries around the matches.
      {
        snippet: 'drinks **green** **tea** every morning. **Tea** helps her think',
        memory: { content: 'Ada drinks green tea every morning. Tea helps her think.' },
      },
    ]);
    const count = async (filter: Record<string, unknown>) => {
      const found = await app.graphqlUntyped(SnippetSearch.toString(), { query: 'tea', filter });
      expect(found.errors).toBeUndefined();
      return (found.data!.searchMemories as unknown[]).length;
    };
    expect(await count({})).toBe(3);
    expect(await count({ memoryTypes: ['EPISODIC'] })).toBe(0);
    expect(await count({ scopes: ['agent', 'session'] })).toBe(0);
    expect(await count({ levels: ['core'] })).toBe(0);
    expect(await count({ userId: own.userId })).toBe(3);
    expect(await count({ userId: other.userId })).toBe(0);
    expect(await count({ createdAfter: '2000-01-01T00:00:00Z', createdBefore: '9999-01-01T00:00:00Z' })).toBe(3);
    expect(await count({ createdAfter: new Date(Date.now() + 3_600_000).toISOString() })).toBe(0);
    expect(await count({ createdBefore: '2000-01-01T00:00:00Z' })).toBe(0);
    const empty = await app.graphqlUntyped(SnippetSearch.toString(), { query: 'tea', filter: { scopes: [] } });
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['filter', 'scopes'] });
  });

  it('never finds deleted memories, nor the memories of a deleted agent', async () => {
    const gone = await remember(own, 'A forgotten fact about tea ceremonies.');
    expect(await contents('ceremonies')).toHaveLength(1);
    expect((await app.graphql(DeleteSearchedMemory, { id: gone })).data!.deleteMemory.__typename).toBe(
      'DeletedPayload',
    );
    expect(await contents('ceremonies')).toEqual([]);

    expect((await app.graphql(DeleteSearchedAgent, { id: otherAgentId })).data!.deleteAgent.__typename).toBe(
      'DeletedPayload',
    );
    expect(await contents('coffee')).toEqual([]);
  });
});
