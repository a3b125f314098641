import { addAgentFleet } from '../../src/demo/agent-fleet';
import type { DemoData } from '../../src/demo/seed';
import { type GeneralPathServer, startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * `memories(filter: { similarTo })` (issue 19): a memory's nearest neighbours by the cosine
 * similarity of their embeddings, with real pgvector math on both databases. 8 dimensions; the
 * vectors are given in their first three (`v`).
 */
const DIMENSIONS = 8;
const MODEL = 'test-model';

function v(...leading: number[]): number[] {
  return [...leading, ...Array.from({ length: DIMENSIONS - leading.length }, () => 0)];
}

function cosine(a: readonly number[], b: readonly number[]): number {
  const dot = a.reduce((sum, value, index) => sum + value * b[index]!, 0);
  const norm = (x: readonly number[]) => Math.sqrt(x.reduce((sum, value) => sum + value * value, 0));
  return dot / (norm(a) * norm(b));
}

const CREATE = `mutation ($input: CreateMemoryInput!) {
  createMemory(input: $input) { __typename ... on Error { code message } ... on MemoryPayload { memory { id } } }
}`;

const NEIGHBOURS = `query ($filter: MemoryFilter, $first: Int, $after: String, $last: Int, $before: String,
  $includeInvalid: Boolean, $orderBy: MemoryOrder) {
  memories(filter: $filter, first: $first, after: $after, last: $last, before: $before, track: false,
    includeInvalid: $includeInvalid, orderBy: $orderBy) {
    edges { cursor similarity node { id content } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}`;

interface Edge {
  cursor: string;
  similarity: number | null;
  node: { id: string; content: string };
}
interface Page {
  edges: Edge[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

describe('memories(filter: { similarTo }): a memory’s nearest neighbours', () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  const ids = new Map<string, string>();
  const vectors = new Map<string, number[]>();

  const create = async (owner: DemoData, content: string, embedding: number[] | null, extra: object = {}) => {
    const input = {
      agentId: owner.agentId,
      content,
      memoryType: 'FACTUAL',
      scope: 'user',
      level: 'core',
      ...(embedding && { embedding }),
      ...extra,
    };
    const response = await app.graphqlAs(owner.key, { toString: () => CREATE } as never, { input });
    const created = (response.data as { createMemory: { __typename: string; memory?: { id: string } } }).createMemory;
    expect(created.__typename).toBe('MemoryPayload');
    ids.set(content, created.memory!.id);
    if (embedding) vectors.set(content, embedding);
    return created.memory!.id;
  };

  beforeAll(async () => {
    app = await startTestApp('similar_to', { embeddings: { dimensions: DIMENSIONS, model: MODEL } });
    own = await app.seedDemo();
    other = await app.seedDemo();
    await create(own, 'the target: Earl Grey', v(1, 0, 0));
    await create(own, 'near: Darjeeling', v(1, 0.1, 0));
    await create(own, 'nearer than oolong: Assam', v(1, 0.2, 0));
    await create(own, 'oolong', v(0.9, 0.3, 0), { memoryType: 'EPISODIC' });
    await create(own, 'orthogonal: trains', v(0, 1, 0));
    await create(own, 'opposite', v(-1, 0, 0));
    await create(own, 'another model', v(1, 0, 0), { embeddingModel: 'other-model' });
    await create(own, 'no embedding', null);
    await create(own, 'superseded', v(1, 0.01, 0));
    await create(own, 'expired', v(1, 0.02, 0));
    await create(own, 'deleted', v(1, 0.03, 0));
    // Another organization's memory, nearer than any of ours: it must never be seen.
    await create(other, 'theirs', v(1, 0.001, 0));
    const owner = app.database.owner;
    await owner.$executeRawUnsafe(
      `UPDATE memories SET valid_until = valid_from + interval '1 millisecond' WHERE id = $1`,
      ids.get('superseded'),
    );
    await owner.$executeRawUnsafe(
      `UPDATE memories SET expires_at = now() - interval '1 hour' WHERE id = $1`,
      ids.get('expired'),
    );
    await owner.$executeRawUnsafe(`UPDATE memories SET is_deleted = true WHERE id = $1`, ids.get('deleted'));
  }, 300_000);
  afterAll(async () => {
    await app?.close();
  });

  const neighbours = async (variables: Record<string, unknown>, key = own.key): Promise<Page> => {
    const response = await app.graphqlAs(key, { toString: () => NEIGHBOURS } as never, variables);
    expect(response.errors).toBeUndefined();
    return (response.data as { memories: Page }).memories;
  };
  const similarTo = (content: string, minSimilarity?: number) => ({
    similarTo: { memoryId: ids.get(content), ...(minSimilarity !== undefined && { minSimilarity }) },
  });
  const contents = (page: Page) => page.edges.map((edge) => edge.node.content);

  it('lists the nearest first, leaves the memory itself out, and gives each similarity', async () => {
    const page = await neighbours({ filter: similarTo('the target: Earl Grey') });
    expect(contents(page)).toEqual([
      'near: Darjeeling',
      'nearer than oolong: Assam',
      'oolong',
      'orthogonal: trains',
      'opposite',
    ]);
    const target = vectors.get('the target: Earl Grey')!;
    for (const edge of page.edges)
      expect(edge.similarity).toBeCloseTo(cosine(target, vectors.get(edge.node.content)!), 5);
    expect(page.totalCount).toBe(5);
    expect(page.pageInfo.hasNextPage).toBe(false);
  });

  it('combines with the other filters, minSimilarity and validity', async () => {
    const episodic = await neighbours({ filter: { ...similarTo('the target: Earl Grey'), memoryType: 'EPISODIC' } });
    expect(contents(episodic)).toEqual(['oolong']);
    const close = await neighbours({ filter: similarTo('the target: Earl Grey', 0.96) });
    expect(contents(close)).toEqual(['near: Darjeeling', 'nearer than oolong: Assam']);
    expect(close.totalCount).toBe(2);
    const everything = await neighbours({ filter: similarTo('the target: Earl Grey', 0.5), includeInvalid: true });
    // The ended fact with includeInvalid; never the expired, the deleted, another model's or another organization's.
    expect(contents(everything)).toEqual(['superseded', 'near: Darjeeling', 'nearer than oolong: Assam', 'oolong']);
  });

  it('pages by (similarity, id) both ways, with pageInfo and totalCount', async () => {
    const all = contents(await neighbours({ filter: similarTo('the target: Earl Grey') }));
    const first = await neighbours({ filter: similarTo('the target: Earl Grey'), first: 2 });
    expect(contents(first)).toEqual(all.slice(0, 2));
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(first.totalCount).toBe(5);
    const second = await neighbours({
      filter: similarTo('the target: Earl Grey'),
      first: 2,
      after: first.pageInfo.endCursor,
    });
    expect(contents(second)).toEqual(all.slice(2, 4));
    expect(second.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const third = await neighbours({
      filter: similarTo('the target: Earl Grey'),
      first: 2,
      after: second.pageInfo.endCursor,
    });
    expect(contents(third)).toEqual(all.slice(4));
    expect(third.pageInfo.hasNextPage).toBe(false);
    const back = await neighbours({
      filter: similarTo('the target: Earl Grey'),
      last: 2,
      before: third.edges[0]!.cursor,
    });
    expect(contents(back)).toEqual(all.slice(2, 4));
    const farthest = await neighbours({ filter: similarTo('the target: Earl Grey'), last: 1 });
    expect(contents(farthest)).toEqual(['opposite']);
    // A cursor that is not among the neighbours (another organization's memory) gives an empty page.
    const theirs = Buffer.from(`GPC:S:${ids.get('theirs')}`).toString('base64');
    expect(contents(await neighbours({ filter: similarTo('the target: Earl Grey'), after: theirs }))).toEqual([]);
  });

  it("never leaves the first page short: a deleted agent's memories among the nearest are read past", async () => {
    await addAgentFleet(app.database.owner, own, 1);
    const agentId = 'agent-fleet-000';
    for (const [index, near] of [0.005, 0.006, 0.007].entries())
      await create({ ...own, agentId }, `a deleted agent's ${index}`, v(1, near, 0));
    await app.database.owner.$executeRawUnsafe(`UPDATE agents SET is_deleted = true WHERE id = $1`, agentId);
    // The first page (2 rows read: 1 and one to tell whether more follow) searches 2 × 2 + 1
    // candidates first: the memory, the deleted agent's 3, and only one more; it is read again
    // from the full window.
    const page = await neighbours({ filter: similarTo('the target: Earl Grey'), first: 1 });
    expect(contents(page)).toEqual(['near: Darjeeling']);
    expect(page.pageInfo.hasNextPage).toBe(true);
    expect(page.totalCount).toBe(5);
  });

  it('leaves similarTo to the resolver on the planner, and answers the same on the general path', async () => {
    let general: GeneralPathServer | undefined;
    try {
      general = await startGeneralPathServer(app);
      const variables = { filter: similarTo('the target: Earl Grey'), first: 3 };
      const { result, statements } = await app.countStatements(() => general!.both(own.key, NEIGHBOURS, variables));
      expect(result[0]).toEqual(result[1]);
      expect(result[0]).toContain('"similarity":0.99');
      expect(statements.some((sql) => sql.startsWith('SELECT /* planned memories'))).toBe(false);
      // Without similarTo, the planner answers, similarity null on every edge, as the general path does.
      const plain = await app.countStatements(() => general!.both(own.key, NEIGHBOURS, { first: 3 }));
      expect(plain.result[0]).toEqual(plain.result[1]);
      expect(plain.statements.some((sql) => sql.startsWith('SELECT /* planned memories'))).toBe(true);
      const edges = (JSON.parse(plain.result[0].replace(/^\d+ /, '')) as { data: { memories: Page } }).data.memories
        .edges;
      expect(edges).toHaveLength(3);
      expect(edges.every((edge) => edge.similarity === null)).toBe(true);
    } finally {
      await general?.close();
    }
  });

  it('refuses bad input with a typed error, never INTERNAL_SERVER_ERROR', async () => {
    const errorOf = async (variables: Record<string, unknown>, query = NEIGHBOURS) => {
      const response = await app.graphqlAs(own.key, { toString: () => query } as never, variables);
      const data = response.data as Record<string, unknown> | null | undefined;
      expect(data?.memories ?? data?.searchMemories ?? null).toBeNull();
      const [error] = response.errors ?? [];
      return { code: error?.extensions?.code, field: error?.extensions?.field, message: error?.message };
    };
    // Another organization's memory reads as an unknown one: the same answer.
    const unknown = await errorOf({ filter: { similarTo: { memoryId: 'memory-nobody' } } });
    const theirs = await errorOf({ filter: { similarTo: { memoryId: ids.get('theirs') } } });
    expect(unknown).toEqual({
      code: 'NOT_FOUND',
      field: ['filter', 'similarTo', 'memoryId'],
      message: 'Memory "memory-nobody" was not found',
    });
    expect(theirs.code).toBe('NOT_FOUND');
    expect(theirs.message).toBe(`Memory ${JSON.stringify(ids.get('theirs'))} was not found`);
    for (const gone of ['expired', 'deleted'])
      expect((await errorOf({ filter: similarTo(gone) })).code).toBe('NOT_FOUND');
    const bare = await errorOf({ filter: similarTo('no embedding') });
    expect(bare.code).toBe('VALIDATION');
    expect(bare.field).toEqual(['filter', 'similarTo', 'memoryId']);
    expect(bare.message).toMatch(/has no embedding to compare with/);
    for (const minSimilarity of [1.5, -1.01]) {
      const out = await errorOf({ filter: similarTo('the target: Earl Grey', minSimilarity) });
      expect(out).toMatchObject({ code: 'VALIDATION', field: ['filter', 'similarTo', 'minSimilarity'] });
      expect(out.message).toMatch(/from -1 to 1/);
    }
    const ordered = await errorOf({
      filter: similarTo('the target: Earl Grey'),
      orderBy: { field: 'IMPORTANCE' },
    });
    expect(ordered).toMatchObject({ code: 'VALIDATION', field: ['orderBy'] });
    const search = await errorOf(
      { filter: similarTo('the target: Earl Grey') },
      `query ($filter: MemoryFilter) { searchMemories(query: "tea", filter: $filter) { score } }`,
    );
    expect(search).toMatchObject({ code: 'VALIDATION', field: ['filter', 'similarTo'] });
  });
});
