import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const ReadMemory = graphql(`
  query ReadMemory($id: ID!, $track: Boolean) { memory(id: $id, track: $track) { id accessCount lastAccessed } }
`);
const ReadEverything = graphql(`
  query ReadEverything($id: ID!, $agentId: ID!) {
    memory(id: $id) { id }
    memories(filter: { agentId: $agentId }, first: 2) { nodes { id } }
    searchMemories(query: "kettle", filter: { agentId: $agentId }) { memory { id } }
  }
`);
const LookOnly = graphql(`
  query LookOnly($id: ID!, $agentId: ID!) {
    memory(id: $id, track: false) { id }
    memories(filter: { agentId: $agentId }, track: false) { nodes { id } }
    searchMemories(query: "kettle", filter: { agentId: $agentId }, track: false) { memory { id } }
  }
`);

const ACCESS_UPDATE = 'UPDATE memories SET access_count = access_count + 1';

describe('access tracking', () => {
  let app: TestApp;
  let demo: DemoData;
  const agentId = 'agent-access-tracking';
  const ids = ['memory-kettle-1', 'memory-kettle-2', 'memory-kettle-3'];

  const accesses = async () => {
    const rows = await app.database.owner.memory.findMany({
      where: { id: { in: ids } },
      orderBy: { id: 'asc' },
      select: { id: true, accessCount: true },
    });
    return Object.fromEntries(rows.map((row) => [row.id, Number(row.accessCount)]));
  };

  beforeAll(async () => {
    app = await startTestApp('access_tracking');
    demo = await app.seedDemo();
    await app.database.owner.agent.create({
      data: { id: agentId, organizationId: demo.organizationId, name: 'Tracked' },
    });
    await app.database.owner.memory.createMany({
      data: ids.map((id, index) => ({
        id,
        organizationId: demo.organizationId,
        userId: demo.userId,
        agentId,
        content: `the kettle note ${index}`,
        memoryType: 'factual',
        scope: 'user',
        level: 'core',
        createdAt: new Date(Date.UTC(2026, 0, 1 + index)),
      })),
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('counts a read once it is settled: the answer shows the values from before it', async () => {
    const first = (await app.graphql(ReadMemory, { id: ids[0]! })).data!.memory!;
    expect(first).toEqual({ id: ids[0], accessCount: 0, lastAccessed: null });
    const second = (await app.graphql(ReadMemory, { id: ids[0]! })).data!.memory!;
    expect(second.accessCount).toBe(1);
    expect(Date.now() - Date.parse(second.lastAccessed!)).toBeLessThan(60_000);
    const looked = (await app.graphql(ReadMemory, { id: ids[0]!, track: false })).data!.memory!;
    expect(looked.accessCount).toBe(2);
    expect((await app.graphql(ReadMemory, { id: ids[0]!, track: false })).data!.memory!.accessCount).toBe(2);
  });

  it(
    'writes ONE statement per request for everything it returned, each memory counted once, ' +
      'the extra row of a page not',
    async () => {
      const before = await accesses();
      const updatedBefore = await app.database.owner.memory.findMany({
        where: { id: { in: ids } },
        orderBy: { id: 'asc' },
        select: { id: true, updatedAt: true },
      });
      const { result, statements } = await app.countStatements(() =>
        app.graphql(ReadEverything, { id: ids[2]!, agentId }),
      );
      expect(result.errors).toBeUndefined();
      // The page of two (created_at order) is memories 1 and 2; the search finds all three; memory 3
      // is also read by id.
      expect(result.data!.memories.nodes.map((node) => node.id)).toEqual([ids[0], ids[1]]);
      expect(statements.filter((sql) => sql.includes(ACCESS_UPDATE))).toHaveLength(1);
      expect(await accesses()).toEqual(Object.fromEntries(ids.map((id) => [id, before[id]! + 1])));
      // Being read is not a change.
      expect(
        await app.database.owner.memory.findMany({
          where: { id: { in: ids } },
          orderBy: { id: 'asc' },
          select: { id: true, updatedAt: true },
        }),
      ).toEqual(updatedBefore);

      const looking = await app.countStatements(() => app.graphql(LookOnly, { id: ids[2]!, agentId }));
      expect(looking.result.errors).toBeUndefined();
      expect(looking.statements.filter((sql) => sql.includes(ACCESS_UPDATE))).toHaveLength(0);
      expect(await accesses()).toEqual(Object.fromEntries(ids.map((id) => [id, before[id]! + 1])));
    },
  );

  it('loses no increment: 50 concurrent reads of one memory add exactly 50', async () => {
    const before = (await accesses())[ids[1]!]!;
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => app.graphqlAs(demo.key, ReadMemory, { id: ids[1]! })),
    );
    expect(responses.every((response) => response.errors === undefined && response.data!.memory!.id === ids[1])).toBe(
      true,
    );
    expect((await accesses())[ids[1]!]).toBe(before + 50);
  });
});
