import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import type { MemoryFilter, MetadataFilter } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';

const ListMemories = graphql(`
  query ListMemories($filter: MemoryFilter, $orderBy: MemoryOrder, $first: Int, $after: String, $last: Int,
    $before: String) {
    memories(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before,
      track: false) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { content }
    }
  }
`);
const SearchFiltered = graphql(`
  query SearchFiltered($filter: MemoryFilter) {
    searchMemories(query: "tea", filter: $filter, limit: 100, track: false) { memory { content } }
  }
`);
const AgentsMemoryStats = graphql(`
  query AgentsMemoryStats {
    agents(first: 50) {
      nodes {
        id
        memoryStats { total byType { memoryType count } byScope { value count } byLevel { value count } }
      }
    }
  }
`);

/** Five memories with metadata of every kind; importance gives the list's order (M1 .9, M4 .7, M3 .5, M5 .3, M2 .1). */
const FIXTURE = [
  {
    name: 'M1',
    importance: 0.9,
    metadata: { source: 'chat', priority: 5, tags: ['work', 'urgent'], project: { name: 'apollo' }, due: '2026-12-01' },
  },
  {
    name: 'M2',
    importance: 0.1,
    metadata: { source: 'email', priority: 2, tags: ['home'], project: { name: 'gemini' } },
  },
  { name: 'M3', importance: 0.5, metadata: { source: 'chat', priority: 'high', note: null } },
  { name: 'M4', importance: 0.7, metadata: {} },
  { name: 'M5', importance: 0.3, metadata: { source: 'Chat log', priority: 3.0, tags: 'work' } },
];

const CASES: Array<{ filter: MetadataFilter; expected: string[] }> = [
  { filter: { path: 'source', eq: 'chat' }, expected: ['M1', 'M3'] },
  { filter: { path: 'source', ne: 'chat' }, expected: ['M4', 'M5', 'M2'] },
  { filter: { path: 'priority', in: [2, 5] }, expected: ['M1', 'M2'] },
  { filter: { path: 'priority', nin: [2, 5] }, expected: ['M4', 'M3', 'M5'] },
  // A number compares only with numbers: "high" is neither greater nor less.
  { filter: { path: 'priority', gt: 2 }, expected: ['M1', 'M5'] },
  { filter: { path: 'priority', gte: 2 }, expected: ['M1', 'M5', 'M2'] },
  { filter: { path: 'priority', lt: 3 }, expected: ['M2'] },
  { filter: { path: 'priority', lte: 3 }, expected: ['M5', 'M2'] },
  { filter: { path: 'due', gte: '2026-11-01' }, expected: ['M1'] },
  // An array holding it, or a text containing it.
  { filter: { path: 'tags', contains: 'work' }, expected: ['M1', 'M5'] },
  { filter: { path: 'source', contains: 'hat' }, expected: ['M1', 'M3', 'M5'] },
  { filter: { path: 'project', contains: { name: 'apollo' } }, expected: ['M1'] },
  { filter: { path: 'project.name', eq: 'gemini' }, expected: ['M2'] },
  { filter: { path: 'note', exists: true }, expected: ['M3'] },
  { filter: { path: 'note', exists: false }, expected: ['M1', 'M4', 'M5', 'M2'] },
  {
    filter: {
      and: [
        { path: 'source', eq: 'chat' },
        { path: 'priority', gt: 1 },
      ],
    },
    expected: ['M1'],
  },
  {
    filter: {
      or: [
        { path: 'source', eq: 'email' },
        { path: 'tags', contains: 'urgent' },
      ],
    },
    expected: ['M1', 'M2'],
  },
  { filter: { not: { path: 'source', eq: 'chat' } }, expected: ['M4', 'M5', 'M2'] },
  {
    filter: {
      and: [
        {
          not: {
            or: [
              { path: 'priority', lt: 3 },
              { path: 'priority', eq: 'high' },
            ],
          },
        },
        { path: 'source', exists: true },
      ],
    },
    expected: ['M1', 'M5'],
  },
];

const nested = (depth: number): MetadataFilter =>
  depth === 1 ? { path: 'source', eq: 'chat' } : { not: nested(depth - 1) };

const REFUSED: Array<{ filter: MetadataFilter; field: string[] }> = [
  {
    filter: {
      and: [
        { path: 'source', eq: 'chat' },
        { path: 'priority', gt: true },
      ],
    },
    field: ['filter', 'metadata', 'and', '1', 'gt'],
  },
  { filter: { path: 'project..name', eq: 'x' }, field: ['filter', 'metadata', 'path'] },
  { filter: { path: 'source' }, field: ['filter', 'metadata'] },
  { filter: { path: 'source', eq: 'chat', ne: 'email' }, field: ['filter', 'metadata'] },
  { filter: { eq: 'chat' }, field: ['filter', 'metadata', 'path'] },
  { filter: { path: 'source', in: [] }, field: ['filter', 'metadata', 'in'] },
  { filter: { or: [{ path: 'tags', contains: 5 }] }, field: ['filter', 'metadata', 'or', '0', 'contains'] },
  { filter: { path: 'source', eq: 'chat', and: [{ path: 'x', eq: 1 }] }, field: ['filter', 'metadata'] },
  { filter: { or: [] }, field: ['filter', 'metadata', 'or'] },
  { filter: nested(6), field: ['filter', 'metadata', 'not', 'not', 'not', 'not', 'not'] },
];

describe('the memories list and the metadata filter', () => {
  let app: TestApp;
  let demo: DemoData;
  const agentId = 'agent-recall-lists';
  const otherAgentId = 'agent-recall-lists-2';

  const names = (contents: Array<{ content: string }>) => contents.map((node) => node.content.split(' ')[0]!);
  const listed = async (filter: MemoryFilter) => {
    const response = await app.graphql(ListMemories, { filter, orderBy: { field: 'IMPORTANCE' }, first: 100 });
    expect(response.errors).toBeUndefined();
    return names(response.data!.memories.nodes);
  };
  const searched = async (filter: MemoryFilter) => {
    const response = await app.graphql(SearchFiltered, { filter });
    expect(response.errors).toBeUndefined();
    return names(response.data!.searchMemories.map((hit) => hit.memory));
  };

  beforeAll(async () => {
    app = await startTestApp('recall_lists');
    demo = await app.seedDemo();
    await app.database.owner.agent.createMany({
      data: [
        { id: agentId, organizationId: demo.organizationId, name: 'Lister' },
        { id: otherAgentId, organizationId: demo.organizationId, name: 'Counter' },
      ],
    });
    for (const [index, memory] of FIXTURE.entries()) {
      await app.database.owner.memory.create({
        data: {
          id: `memory-${memory.name}`,
          organizationId: demo.organizationId,
          userId: demo.userId,
          agentId,
          content: `${memory.name} likes tea`,
          metadata: memory.metadata,
          importance: memory.importance,
          memoryType: index % 2 === 0 ? 'factual' : 'episodic',
          scope: index < 3 ? 'user' : 'agent',
          level: 'core',
          createdAt: new Date(Date.UTC(2026, 0, 1 + index)),
          lastAccessed: index % 2 === 0 ? new Date(Date.UTC(2026, 5, 10 - index)) : null,
        },
      });
    }
    await app.database.owner.memory.createMany({
      data: [
        {
          id: 'memory-counted-1',
          organizationId: demo.organizationId,
          userId: demo.userId,
          agentId: otherAgentId,
          content: 'one',
          memoryType: 'working',
          scope: 'session',
          level: 'short',
        },
        {
          id: 'memory-counted-2',
          organizationId: demo.organizationId,
          userId: demo.userId,
          agentId: otherAgentId,
          content: 'two',
          memoryType: 'working',
          scope: 'user',
          level: 'short',
        },
        {
          id: 'memory-counted-3',
          organizationId: demo.organizationId,
          userId: demo.userId,
          agentId: otherAgentId,
          content: 'gone',
          memoryType: 'factual',
          scope: 'user',
          level: 'short',
          isDeleted: true,
        },
      ],
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('selects by every operator alike in the list and in search', async () => {
    for (const { filter, expected } of CASES) {
      expect({ filter, listed: await listed({ agentId, metadata: filter }) }).toEqual({ filter, listed: expected });
      expect({ filter, searched: (await searched({ agentId, metadata: filter })).sort() }).toEqual({
        filter,
        searched: [...expected].sort(),
      });
    }
  });

  it('refuses bad paths and operands with VALIDATION naming the part of the filter, in lists and search', async () => {
    for (const { filter, field } of REFUSED) {
      for (const response of [
        await app.graphql(ListMemories, { filter: { metadata: filter } }),
        await app.graphql(SearchFiltered, { filter: { metadata: filter } }),
      ]) {
        expect({ filter, error: response.errors?.[0]?.extensions }).toEqual({
          filter,
          error: { code: 'VALIDATION', field },
        });
      }
    }
  });

  it('filters by types, scopes, levels and creation time; orders by importance, last access and creation', async () => {
    expect(await listed({ agentId, memoryTypes: ['EPISODIC'] })).toEqual(['M4', 'M2']);
    expect(await listed({ agentId, scopes: ['agent'], levels: ['core', 'long_term'] })).toEqual(['M4', 'M5']);
    expect(
      await listed({ agentId, createdAfter: '2026-01-02T00:00:00Z', createdBefore: '2026-01-05T00:00:00Z' }),
    ).toEqual(['M4', 'M3']);

    const ordered = async (
      orderBy: { field: 'IMPORTANCE' | 'LAST_ACCESSED' | 'CREATED_AT'; direction?: 'ASC' | 'DESC' } | undefined,
    ) =>
      names(
        (await app.graphql(ListMemories, { filter: { agentId }, ...(orderBy && { orderBy }) })).data!.memories.nodes,
      );
    expect(await ordered(undefined)).toEqual(['M1', 'M2', 'M3', 'M4', 'M5']);
    expect(await ordered({ field: 'IMPORTANCE', direction: 'ASC' })).toEqual(['M2', 'M5', 'M3', 'M4', 'M1']);
    expect(await ordered({ field: 'CREATED_AT' })).toEqual(['M5', 'M4', 'M3', 'M2', 'M1']);
    // Never-accessed memories come last, whichever the direction.
    expect(await ordered({ field: 'LAST_ACCESSED' })).toEqual(['M1', 'M3', 'M5', 'M4', 'M2']);
    expect(await ordered({ field: 'LAST_ACCESSED', direction: 'ASC' })).toEqual(['M5', 'M3', 'M1', 'M2', 'M4']);
  });

  it('pages forwards and backwards through every order with the same rows as one page', async () => {
    for (const field of ['IMPORTANCE', 'LAST_ACCESSED', 'CREATED_AT'] as const) {
      for (const direction of ['ASC', 'DESC'] as const) {
        const orderBy = { field, direction };
        const whole = (await app.graphql(ListMemories, { filter: { agentId }, orderBy })).data!.memories;
        expect(whole.totalCount).toBe(5);
        const forwards: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = (
            await app.graphql(ListMemories, { filter: { agentId }, orderBy, first: 2, ...(after && { after }) })
          ).data!.memories;
          forwards.push(...names(page.nodes));
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor!;
        }
        const backwards: string[] = [];
        let before: string | undefined;
        for (;;) {
          const page = (
            await app.graphql(ListMemories, { filter: { agentId }, orderBy, last: 2, ...(before && { before }) })
          ).data!.memories;
          backwards.unshift(...names(page.nodes));
          if (!page.pageInfo.hasPreviousPage) break;
          before = page.pageInfo.startCursor!;
        }
        expect({ orderBy, forwards, backwards }).toEqual({
          orderBy,
          forwards: names(whole.nodes),
          backwards: names(whole.nodes),
        });
      }
    }
  });

  it("counts each agent's live memories by type, scope and level, in one statement for all the agents", async () => {
    const { result, statements } = await app.countStatements(() => app.graphql(AgentsMemoryStats));
    expect(result.errors).toBeUndefined();
    const byId = new Map(result.data!.agents.nodes.map((agent) => [agent.id, agent.memoryStats]));
    expect(byId.get(agentId)).toEqual({
      total: 5,
      byType: [
        { memoryType: 'FACTUAL', count: 3 },
        { memoryType: 'EPISODIC', count: 2 },
      ],
      byScope: [
        { value: 'user', count: 3 },
        { value: 'agent', count: 2 },
      ],
      byLevel: [{ value: 'core', count: 5 }],
    });
    expect(byId.get(otherAgentId)).toEqual({
      total: 2,
      byType: [{ memoryType: 'WORKING', count: 2 }],
      byScope: [
        { value: 'session', count: 1 },
        { value: 'user', count: 1 },
      ],
      byLevel: [{ value: 'short', count: 2 }],
    });
    expect(result.data!.agents.nodes.length).toBeGreaterThanOrEqual(3);
    expect(statements.filter((sql) => sql.includes('GROUP BY agent_id, memory_type, scope, level'))).toHaveLength(1);
  });
});
