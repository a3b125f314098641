import { loadSettings } from '../../src/config/settings';
import { withOrganization } from '../../src/db/row-level-security';
import { addAgentFleet } from '../../src/demo/agent-fleet';
import type { DemoData } from '../../src/demo/seed';
import { type MemorySearch, memorySearchStatement } from '../../src/memories/search';
import { similarPageStatement } from '../../src/memories/similar';
import { buildDueVectorIndexes, vectorIndexName } from '../../src/memories/vector-indexes';
import { graphql } from '../generated';
import type { CreateMemoryInput, SearchMode } from '../generated/graphql';
import { normal, seededRandom } from '../support/seeded-random';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateMemory = graphql(`
  mutation CreateMemoryToFind($input: CreateMemoryInput!) {
    createMemory(input: $input) {
      __typename
      ... on Error { code field message }
      ... on MemoryPayload { memory { id } }
    }
  }
`);
const SearchByMeaning = graphql(`
  query SearchByMeaning($query: String, $vector: [Float!], $embeddingModel: String, $mode: SearchMode, $filter:
    MemoryFilter, $minScore: Float, $limit: Int) {
    searchMemories(query: $query, vector: $vector, embeddingModel: $embeddingModel, mode: $mode, filter:
      $filter, minScore: $minScore, limit: $limit, track: false) {
      score
      memory { id content }
      breakdown { relevance text similarity textRank vectorRank matchedWords fuzzy importance recency use }
    }
  }
`);

/**
 * 8 dimensions: the hand-written vectors below are given in their first three (`v`), and the
 * generated ones (`fillVectors`) fill all eight, so that neighbours are distinct and the HNSW
 * index's search is not a toss-up between near-equal distances.
 */
const DIMENSIONS = 8;
const MODEL = 'test-model';
/**
 * From how many embeddings an organization has an HNSW index of its own (VECTOR_INDEX_MIN_EMBEDDINGS,
 * 10,000 by default): lower here, so that a large organization takes seconds to fill, not minutes.
 */
const OWN_INDEX_FROM = 1_000;
const settings = loadSettings({});
const { weights, fusionK } = settings.ranking;

/** A vector of DIMENSIONS numbers: those given, then zeros (which change no cosine). */
function v(...leading: number[]): number[] {
  return [...leading, ...Array.from({ length: DIMENSIONS - leading.length }, () => 0)];
}

function cosine(a: readonly number[], b: readonly number[]): number {
  const dot = a.reduce((sum, value, index) => sum + value * b[index]!, 0);
  const norm = (v: readonly number[]) => Math.sqrt(v.reduce((sum, value) => sum + value * value, 0));
  return dot / (norm(a) * norm(b));
}

/** How many clusters `clustered` draws around, as a real store's embeddings cluster by topic. */
const CLUSTERS = 16;

/**
 * `count` vectors from the seeded generator `random`: each around one of CLUSTERS fixed centres,
 * with Gaussian noise in every dimension. Continuous noise in 8 dimensions makes two equal
 * distances to a query practically impossible (the test checks it), so the exact nearest 10 are
 * one set and recall against them measures the index, not a tie's coin.
 */
function clustered(random: () => number, count: number): number[][] {
  const centres = Array.from({ length: CLUSTERS }, (_, cluster) =>
    Array.from({ length: DIMENSIONS }, (_, index) => Math.sin(cluster * 0.7 + (index + 1) * 1.31)),
  );
  return Array.from({ length: count }, () => {
    const centre = centres[Math.floor(random() * CLUSTERS)]!;
    return centre.map((value) => value + 0.25 * normal(random));
  });
}

/**
 * On PGlite a long statement is a long stretch of work on this process's one thread, the server's
 * too: connections accepted just after it are closed as overdue by Node's HTTP server (seen as
 * ECONNRESET). A pause lets its timers catch up, as a real server's would.
 */
function afterLongWork(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1_000));
}

/** `count` embedded memories for `owner`, inserted by the owner, with vectors from `clustered`. */
async function fillVectors(app: TestApp, owner: DemoData, prefix: string, count: number, seed: number): Promise<void> {
  const vectors = clustered(seededRandom(seed), count).map((vector) => JSON.stringify(vector));
  await app.database.owner.$executeRaw`
    INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, embedding,
      embedding_model, embedding_dimensions)
    SELECT ${prefix} || i, ${owner.organizationId}, ${owner.userId}, ${owner.agentId}, 'filler note ' || i,
      'factual', 'user', 'core', e.vector::vector, ${MODEL}, ${DIMENSIONS}
    FROM unnest(${vectors}::text[]) WITH ORDINALITY AS e(vector, i)`;
}

describe('semantic recall: VECTOR and HYBRID search (pgvector)', () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    app = await startTestApp('vector_search', {
      embeddings: { dimensions: DIMENSIONS, model: MODEL, ownIndexFrom: OWN_INDEX_FROM },
    });
    own = await app.seedDemo();
    other = await app.seedDemo();
    const memories: [string, number[] | null, Partial<CreateMemoryInput>?][] = [
      ['Earl Grey tea, no milk', v(1, 0.1, 0)],
      ['oolong from Taiwan', v(0.9, 0.3, 0), { memoryType: 'EPISODIC' }],
      ['espresso, a double shot', v(0, 1, 0)],
      ['prefers trains to planes', v(0, 0, 1)],
      ['green tea from Kyoto', v(1, 0, 0), { embeddingModel: 'other-model' }],
      ['tea without a vector', null],
    ];
    for (const [content, embedding, extra] of memories) {
      const input: CreateMemoryInput = {
        agentId: own.agentId,
        content,
        memoryType: 'FACTUAL',
        scope: 'user',
        level: 'core',
        ...extra,
      };
      if (embedding) input.embedding = embedding;
      const created = (await app.graphql(CreateMemory, { input })).data!.createMemory;
      expect(created.__typename).toBe('MemoryPayload');
      ids.set(content, (created as { memory: { id: string } }).memory.id);
    }
  }, 300_000);
  afterAll(async () => {
    await app?.close();
  });

  type Hit = NonNullable<Awaited<ReturnType<typeof search>>['data']>['searchMemories'][number];
  const search = (variables: {
    query?: string;
    vector?: number[];
    embeddingModel?: string;
    mode?: SearchMode;
    filter?: object;
    minScore?: number;
    limit?: number;
  }) => app.graphql(SearchByMeaning, variables);
  const hitsOf = async (variables: Parameters<typeof search>[0]): Promise<Hit[]> => {
    const response = await search(variables);
    expect(response.errors).toBeUndefined();
    return response.data!.searchMemories;
  };
  const expectScoreFromBreakdown = (hit: Hit) => {
    const { relevance, importance, recency, use } = hit.breakdown;
    expect(hit.score).toBeCloseTo(
      weights.text * relevance + weights.importance * importance + weights.recency * recency + weights.use * use,
      9,
    );
  };

  it('VECTOR ranks the embeddings of the model by cosine similarity, and says so in the breakdown', async () => {
    const query = v(1, 0, 0);
    const hits = await hitsOf({ vector: query, limit: 2 });
    expect(hits.map((hit) => hit.memory.content)).toEqual(['Earl Grey tea, no milk', 'oolong from Taiwan']);
    hits.forEach((hit, index) => {
      const stored = hit.memory.content === 'Earl Grey tea, no milk' ? v(1, 0.1, 0) : v(0.9, 0.3, 0);
      expect(hit.breakdown.similarity).toBeCloseTo(cosine(query, stored), 6);
      expect(hit.breakdown.relevance).toBeCloseTo(hit.breakdown.similarity!, 9);
      expect(hit.breakdown).toMatchObject({ vectorRank: index + 1, textRank: null, text: 0 });
      expectScoreFromBreakdown(hit);
    });
    // The other model's vector is nearest of all, and never compared; asked for by its model, it is alone.
    const all = await hitsOf({ vector: query, limit: 50 });
    expect(all.map((hit) => hit.memory.content)).not.toContain('green tea from Kyoto');
    expect(all.map((hit) => hit.memory.content)).not.toContain('tea without a vector');
    expect((await hitsOf({ vector: query, embeddingModel: 'other-model' })).map((hit) => hit.memory.content)).toEqual([
      'green tea from Kyoto',
    ]);
  });

  it('HYBRID fuses the text and the vector rankings by reciprocal rank fusion', async () => {
    const hits = await hitsOf({ query: 'tea', vector: v(0, 0, 1), limit: 20 });
    const byContent = new Map(hits.map((hit) => [hit.memory.content, hit]));
    // Found by its words only (its vector is another model's), by meaning only, and by both.
    expect(byContent.get('green tea from Kyoto')?.breakdown).toMatchObject({ vectorRank: null, similarity: null });
    expect(byContent.get('prefers trains to planes')?.breakdown).toMatchObject({
      textRank: null,
      text: 0,
      vectorRank: 1,
    });
    expect(byContent.get('Earl Grey tea, no milk')?.breakdown.textRank).not.toBeNull();
    expect(byContent.get('Earl Grey tea, no milk')?.breakdown.vectorRank).not.toBeNull();
    for (const hit of hits) {
      const { textRank, vectorRank } = hit.breakdown;
      const fused =
        ((textRank == null ? 0 : 1 / (fusionK + textRank)) + (vectorRank == null ? 0 : 1 / (fusionK + vectorRank))) *
        ((fusionK + 1) / 2);
      expect(hit.breakdown.relevance).toBeCloseTo(fused, 9);
      expectScoreFromBreakdown(hit);
    }
    // In both rankings beats in one, all else alike (importance 0, never read, created seconds apart).
    expect(hits[0]!.memory.content).toBe('Earl Grey tea, no milk');
    // Text ranks are 1..n over the words' matches, by text relevance.
    const textRanked = hits
      .filter((hit) => hit.breakdown.textRank != null)
      .sort((a, b) => a.breakdown.textRank! - b.breakdown.textRank!);
    expect(textRanked.map((hit) => hit.breakdown.textRank)).toEqual(textRanked.map((_, index) => index + 1));
    for (let index = 1; index < textRanked.length; index += 1)
      expect(textRanked[index - 1]!.breakdown.text).toBeGreaterThanOrEqual(textRanked[index]!.breakdown.text);
    // The default mode with both is HYBRID; TEXT alone gives what it gave before this issue.
    expect(
      (await hitsOf({ query: 'tea', vector: v(0, 0, 1), mode: 'HYBRID', limit: 20 })).map((hit) => hit.memory.id),
    ).toEqual(hits.map((hit) => hit.memory.id));
    const text = await hitsOf({ query: 'tea', limit: 20 });
    expect(
      text.every((hit) => hit.breakdown.vectorRank == null && hit.breakdown.relevance === hit.breakdown.text),
    ).toBe(true);
  });

  it('refuses a search that its mode cannot run, naming the argument, as VALIDATION', async () => {
    const cases: [Parameters<typeof search>[0], string[]][] = [
      [{}, ['query']],
      [{ vector: v(1, 0, 0), mode: 'TEXT' }, ['query']],
      [{ query: 'tea', mode: 'VECTOR' }, ['vector']],
      [{ query: 'tea', mode: 'HYBRID' }, ['vector']],
      [{ vector: [1, 0] }, ['vector']],
      [{ vector: [] }, ['vector']],
      [{ vector: Array.from({ length: 100_000 }, () => 0.5) }, ['vector']],
      [{ vector: v(1, 0, 0), embeddingModel: '' }, ['embeddingModel']],
    ];
    for (const [variables, field] of cases) {
      const response = await search(variables);
      // A list over its cap is refused before execution: no data at all.
      expect(response.data ?? null).toBeNull();
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field });
    }
  });

  it('keeps filters, minScore, limit and soft delete in VECTOR search', async () => {
    const query = v(1, 0, 0);
    expect(
      (await hitsOf({ vector: query, filter: { memoryType: 'EPISODIC' } })).map((hit) => hit.memory.content),
    ).toEqual(['oolong from Taiwan']);
    const all = await hitsOf({ vector: query, limit: 50 });
    const threshold = all[1]!.score;
    expect(
      (await hitsOf({ vector: query, minScore: threshold, limit: 50 })).every((hit) => hit.score >= threshold),
    ).toBe(true);
    expect(await hitsOf({ vector: query, limit: 1 })).toHaveLength(1);
    await app.database.owner.memory.update({
      where: { id: ids.get('Earl Grey tea, no milk')! },
      data: { isDeleted: true },
    });
    try {
      expect((await hitsOf({ vector: query, limit: 50 })).map((hit) => hit.memory.content)).not.toContain(
        'Earl Grey tea, no milk',
      );
    } finally {
      await app.database.owner.memory.update({
        where: { id: ids.get('Earl Grey tea, no milk')! },
        data: { isDeleted: false },
      });
    }
  });

  it("never lets another organization's vectors change an organization's results or their order", async () => {
    const query = v(0.95, 0.2, 0.05);
    const before = (await hitsOf({ vector: query, limit: 10 })).map((hit) => hit.memory.id);
    const hybridBefore = (await hitsOf({ query: 'tea', vector: query, limit: 10 })).map((hit) => hit.memory.id);
    // The other organization fills the space around the query with near vectors of the same model.
    await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level,
        embedding, embedding_model, embedding_dimensions)
      SELECT 'crowd-' || i, ${other.organizationId}, ${other.userId}, ${other.agentId}, 'tea crowd ' || i,
        'factual', 'user', 'core',
             ('[' || (0.95 + i / 100000.0) || ',0.2,0.05' || repeat(',0', ${DIMENSIONS - 3}) || ']')::vector, ${MODEL},
             ${DIMENSIONS}
      FROM generate_series(1, 500) AS i`;
    await afterLongWork();
    expect((await hitsOf({ vector: query, limit: 10 })).map((hit) => hit.memory.id)).toEqual(before);
    expect((await hitsOf({ query: 'tea', vector: query, limit: 10 })).map((hit) => hit.memory.id)).toEqual(
      hybridBefore,
    );
    const theirs = (await app.graphqlAs(other.key, SearchByMeaning, { vector: query, limit: 50 })).data!.searchMemories;
    expect(theirs).toHaveLength(50);
    expect(theirs.every((hit) => hit.memory.content.startsWith('tea crowd'))).toBe(true);
  });

  describe('an organization with an HNSW index of its own, and a small one beside it', () => {
    let large: DemoData;
    let small: DemoData;
    beforeAll(async () => {
      large = await app.seedDemo();
      small = await app.seedDemo();
      await fillVectors(app, large, 'large-', OWN_INDEX_FROM + 2_000, 19);
      await fillVectors(app, small, 'small-', 30, 20);
      await app.database.owner.$executeRawUnsafe('ANALYZE memories');
      // As the server's keeper does every VECTOR_INDEX_SWEEP_SECONDS (off in tests).
      const built = await buildDueVectorIndexes(app.database, { dimensions: DIMENSIONS, ownIndexFrom: OWN_INDEX_FROM });
      expect(built).toEqual([large.organizationId]);
      await afterLongWork();
    }, 600_000);

    const vectorSearch = (owner: DemoData, vector: number[], limit: number): MemorySearch => ({
      organizationId: owner.organizationId,
      mode: 'VECTOR',
      vector: { vector, model: MODEL, dimensions: DIMENSIONS },
      limit,
      ranking: settings.ranking,
    });

    /** EXPLAIN ANALYZE of the search's statement as the application sends it, in `owner`'s scope. */
    const analyzed = (owner: DemoData, vector: number[]) =>
      withOrganization(owner.organizationId, async () => {
        const statement = memorySearchStatement(vectorSearch(owner, vector, 10));
        const plan = await app.database.prisma.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(
          `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${statement.text}`,
          ...statement.values,
        );
        return plan.map((line) => line['QUERY PLAN']).join('\n');
      });

    /** The exact nearest, with their cosine distance, as the owner computes them from the table. */
    const exactNearestRows = (owner: DemoData, vector: number[], limit: number) =>
      app.database.owner.$queryRaw<Array<{ id: string; distance: number }>>`
        SELECT id, (embedding <=> ${JSON.stringify(vector)}::vector)::float8 AS distance FROM memories
        WHERE organization_id = ${owner.organizationId} AND embedding_model = ${MODEL} AND NOT is_deleted
        ORDER BY (embedding <=> ${JSON.stringify(vector)}::vector) + 0, id LIMIT ${limit}`;
    const exactNearest = async (owner: DemoData, vector: number[], limit: number) =>
      (await exactNearestRows(owner, vector, limit)).map((row) => row.id);

    it('gives the large one an index of its own, holding its vectors alone', async () => {
      const indexes = await app.database.owner.$queryRaw<Array<{ indexname: string; indexdef: string }>>`
        SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename = 'memories' AND indexname LIKE 'idx_memories_embedding_hnsw_%' ORDER BY indexname`;
      expect(indexes.map((index) => index.indexname)).toEqual([vectorIndexName(large.organizationId, DIMENSIONS)]);
      expect(indexes[0]!.indexdef).toContain(`organization_id)::text = '${large.organizationId}'::text`);
      expect(indexes[0]!.indexdef).toMatch(/USING hnsw/);
    });

    it('searches the large one through its own HNSW index, recall@10 >= 0.9 against exact search', async () => {
      const plan = await analyzed(large, v(1, 0.2, 0.1));
      expect(plan).toMatch(/Function Scan on agentmem_nearest_memories n \(actual rows=[\d.]+ loops=1\)/);
      // The exact branch: its gate is evaluated, its search never runs.
      expect(plan).toMatch(/Subquery Scan on "\*SELECT\* 2" \(actual rows=0(?:\.00)? loops=1\)/);
      expect(plan).toMatch(/Limit \(never executed\)/);
      // Whether the index is there is read once, for both gates.
      expect(plan.match(/CTE Scan on own_index/g)?.length ?? 0).toBe(2);
      expect(plan.match(/CTE own_index/g)).toHaveLength(1);
      // 50 queries drawn like the memories (another seed): 500 chances, so that one unlucky
      // neighbour moves the measure by 0.002, not by 0.02 as with 5 queries.
      const queries = clustered(seededRandom(21), 50);
      // Each query's exact nearest 11, all in one statement.
      const exactRows = await app.database.owner.$queryRaw<Array<{ query: number; id: string; distance: number }>>`
        SELECT q.n::int AS query, x.id, x.distance FROM unnest(${queries.map((query) => JSON.stringify(query))}::text[])
          WITH ORDINALITY AS q(vector, n)
        CROSS JOIN LATERAL (
          SELECT id, (embedding <=> q.vector::vector)::float8 AS distance FROM memories
          WHERE organization_id = ${large.organizationId} AND embedding_model = ${MODEL} AND NOT is_deleted
          ORDER BY (embedding <=> q.vector::vector) + 0, id LIMIT 11
        ) x
        ORDER BY q.n, x.distance, x.id`;
      await afterLongWork();
      let found = 0;
      // The searches, ten at a time, as concurrent requests would come.
      for (let start = 0; start < queries.length; start += 10) {
        const batch = queries.slice(start, start + 10);
        const responses = await Promise.all(
          batch.map((vector) => app.graphqlAs(large.key, SearchByMeaning, { vector, limit: 10 })),
        );
        responses.forEach((response, offset) => {
          const exact = exactRows.filter((row) => row.query === start + offset + 1);
          // No tie at the edge of the nearest 10: the 10th and 11th are told apart well beyond the
          // 4-byte floats' precision (pgvector's), so the exact set is one set.
          expect(exact).toHaveLength(11);
          expect(exact[10]!.distance - exact[9]!.distance).toBeGreaterThan(1e-6);
          const nearest = new Set(exact.slice(0, 10).map((row) => row.id));
          const hits = response.data!.searchMemories;
          expect(hits).toHaveLength(10);
          // The score reorders by importance, recency and use, which are alike here: compare as sets.
          found += hits.filter((hit) => nearest.has(hit.memory.id)).length;
        });
      }
      expect(found / (10 * queries.length)).toBeGreaterThanOrEqual(0.9);
    });

    it("answers the large one from its index alone: another organization's nearer vectors change nothing", async () => {
      const queries = clustered(seededRandom(31), 5);
      const answers = async () =>
        Promise.all(
          queries.map(async (vector) =>
            (await app.graphqlAs(large.key, SearchByMeaning, { vector, limit: 10 })).data!.searchMemories.map(
              (hit) => hit.memory.id,
            ),
          ),
        );
      const before = await answers();
      // 3,000 vectors of another organization, each nearer every query than any of large's: in one
      // index shared by all, the scan would read them all before large's.
      const crowd = await app.seedDemo();
      const near = queries.flatMap((query, n) =>
        Array.from({ length: 600 }, (_, i) =>
          JSON.stringify(query.map((value, d) => value + 1e-4 * ((i + d + n) % 7))),
        ),
      );
      await app.database.owner.$executeRaw`
        INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, embedding,
          embedding_model, embedding_dimensions)
        SELECT 'nearer-crowd-' || i, ${crowd.organizationId}, ${crowd.userId}, ${crowd.agentId}, 'crowd note ' || i,
          'factual', 'user', 'core', e.vector::vector, ${MODEL}, ${DIMENSIONS}
        FROM unnest(${near}::text[]) WITH ORDINALITY AS e(vector, i)`;
      await app.database.owner.$executeRawUnsafe('ANALYZE memories');
      expect(await answers()).toEqual(before);
      // The statement agentmem_nearest_memories runs, planned as the application role in large's
      // scope: the index it reads is large's own, whose predicate holds no other organization's row.
      const plan = await withOrganization(large.organizationId, async () => {
        const lines = await app.database.prisma.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(
          `EXPLAIN (COSTS OFF) SELECT v.id FROM live_memory_vectors_in_scope v
           WHERE v.organization_id = '${large.organizationId}' AND v.embedding_dimensions = ${DIMENSIONS}
             AND v.embedding_model = '${MODEL}'
           ORDER BY v.embedding::vector(${DIMENSIONS}) <=> '${JSON.stringify(queries[0])}'::vector(${DIMENSIONS})
           LIMIT 10`,
        );
        return lines.map((line) => line['QUERY PLAN']).join('\n');
      });
      expect(plan).toContain(`Index Scan using ${vectorIndexName(large.organizationId, DIMENSIONS)}`);
    });

    it('searches the small one exactly: a full page, the exact nearest, no index scan', async () => {
      const vector = v(1, 0.2, 0.1);
      const plan = await analyzed(small, vector);
      expect(plan).toMatch(/Function Scan on agentmem_nearest_memories n \(never executed\)/);
      const hits = (await app.graphqlAs(small.key, SearchByMeaning, { vector, limit: 10 })).data!.searchMemories;
      expect(new Set(hits.map((hit) => hit.memory.id))).toEqual(new Set(await exactNearest(small, vector, 10)));
    });

    it("finds a memory's neighbours (similarTo) in the large one through the HNSW index", async () => {
      const [target] = await exactNearestRows(large, v(1, 0.2, 0.1), 1);
      const [row] = await app.database.owner.$queryRaw<Array<{ embedding: string }>>`
        SELECT embedding::text AS embedding FROM memories WHERE id = ${target!.id}`;
      const vector = JSON.parse(row!.embedding) as number[];
      const list = {
        organizationId: large.organizationId,
        target: { id: target!.id, vector, model: MODEL, dimensions: DIMENSIONS, minSimilarity: null },
      };
      // As the application role, in the organization's scope: the index's branch runs, the exact one does not.
      const plan = await withOrganization(large.organizationId, async () => {
        const page = similarPageStatement(list, { take: 11, skip: 0 });
        const lines = await app.database.prisma.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(
          `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${page.text}`,
          ...page.values,
        );
        return lines.map((line) => line['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/Function Scan on agentmem_nearest_memories n \(actual rows=[\d.]+ loops=1\)/);
      expect(plan).toMatch(/Limit \(never executed\)/);
      app.useKey(large.key);
      const response = await app.graphqlUntyped(
        `query ($id: ID!) { memories(filter: { similarTo: { memoryId: $id } }, first: 10, track: false) {
          edges { similarity node { id } } } }`,
        { id: target!.id },
      );
      app.useKey(own.key);
      const edges = (response.data as { memories: { edges: Array<{ similarity: number; node: { id: string } }> } })
        .memories.edges;
      expect(edges).toHaveLength(10);
      const exact = (await exactNearest(large, vector, 11)).filter((id) => id !== target!.id).slice(0, 10);
      const found = edges.filter((edge) => exact.includes(edge.node.id)).length;
      expect(found).toBeGreaterThanOrEqual(9);
      expect(edges.map((edge) => edge.node.id)).not.toContain(target!.id);
    });

    it('reads past superseded near-duplicates in the HNSW scan: a full page of valid facts', async () => {
      const vector = v(1, 0.2, 0.1);
      const successor = (await exactNearest(large, v(0, 0, 1), 1))[0]!;
      // Run last in this block: 300 ended facts, each nearer the query than any valid one.
      await fillSuperseded(large, 'large-superseded-', 300, vector, 'filler note', successor);
      const plan = await analyzed(large, vector);
      expect(plan).toMatch(/Function Scan on agentmem_nearest_memories n \(actual rows=[\d.]+ loops=1\)/);
      const hits = (await app.graphqlAs(large.key, SearchByMeaning, { vector, limit: 10 })).data!.searchMemories;
      expect(hits).toHaveLength(10);
      expect(hits.filter((hit) => hit.memory.id.startsWith('large-superseded-'))).toEqual([]);
    });

    it("never leaves similarTo's first page short: a deleted agent's twins of the memory are read past", async () => {
      const [target] = await exactNearestRows(large, v(0, 0, 1), 1);
      await addAgentFleet(app.database.owner, large, 1);
      // 30 memories of an agent then deleted, with the memory's own vector: nearer than any other,
      // more than the first page's quick search (2 × 11 + 1 candidates) holds.
      await app.database.owner.$executeRaw`
        INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, embedding,
          embedding_model, embedding_dimensions)
        SELECT 'large-twin-' || i, organization_id, user_id, 'agent-fleet-000', content, memory_type, scope, level,
          embedding, embedding_model, embedding_dimensions
        FROM memories, generate_series(1, 30) AS i WHERE id = ${target!.id}`;
      await app.database.owner.$executeRaw`UPDATE agents SET is_deleted = true WHERE id = 'agent-fleet-000'`;
      app.useKey(large.key);
      const response = await app.graphqlUntyped(
        `query ($id: ID!) { memories(filter: { similarTo: { memoryId: $id } }, first: 10, track: false) {
          edges { node { id } } pageInfo { hasNextPage } } }`,
        { id: target!.id },
      );
      app.useKey(own.key);
      const page = (response.data as { memories: { edges: Array<{ node: { id: string } }>; pageInfo: object } })
        .memories;
      expect(page.edges).toHaveLength(10);
      expect(page.edges.filter((edge) => edge.node.id.startsWith('large-twin-'))).toEqual([]);
      expect(page.pageInfo).toEqual({ hasNextPage: true });
    });
  });

  /**
   * `count` superseded near-duplicates in `owner`'s organization, nearer `near` than any valid
   * memory, each ended a day ago and replaced by `successor`: what a search must read past.
   */
  async function fillSuperseded(
    owner: DemoData,
    prefix: string,
    count: number,
    near: number[] | null,
    content: string,
    successor: string,
  ): Promise<void> {
    await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, embedding,
        embedding_model, embedding_dimensions, valid_from, valid_until, superseded_by_id)
      SELECT ${prefix} || lpad(i::text, 4, '0'), ${owner.organizationId}, ${owner.userId}, ${owner.agentId},
        ${content}, 'factual', 'user', 'core', ${near && JSON.stringify(near)}::vector, ${near && MODEL},
        ${near && DIMENSIONS}::int,
        now() - interval '2 days', now() - interval '1 day', ${successor}
      FROM generate_series(1, ${count}) AS i`;
  }

  it('picks valid candidates only: superseded near-duplicates nearest the query never leave a page short', async () => {
    const crowded = await app.seedDemo();
    const valid: string[] = [];
    for (let index = 0; index < 8; index += 1) {
      const input: CreateMemoryInput = {
        agentId: crowded.agentId,
        content: index < 4 ? `walks along the harbour ${index}` : `lives by the sea ${index}`,
        memoryType: 'FACTUAL',
        scope: 'user',
        level: 'core',
      };
      // The harbour walks have no vector: only the text (typo-tolerant) ranking can find them.
      if (index >= 4) input.embedding = v(0.6, 0.8, 0.1 * index);
      const created = (await app.graphqlAs(crowded.key, CreateMemory, { input })).data!.createMemory;
      expect(created.__typename).toBe('MemoryPayload');
      valid.push((created as { memory: { id: string } }).memory.id);
    }
    // More than any search's candidates (rankedCandidates(5) = 100), each nearer than every valid one.
    await fillSuperseded(crowded, 'crowd-sea-', 150, v(1, 0, 0), 'lives by the sea', valid[4]!);
    await fillSuperseded(crowded, 'crowd-walk-', 150, null, 'walks along the harbour', valid[0]!);
    const validIds = new Set(valid);
    const hitsAs = async (variables: Parameters<typeof search>[0]) => {
      const response = await app.graphqlAs(crowded.key, SearchByMeaning, variables);
      expect(response.errors).toBeUndefined();
      return response.data!.searchMemories;
    };

    // VECTOR: the page of 3 is full, of valid facts, each found by the vector ranking.
    const vector = await hitsAs({ vector: v(1, 0, 0), limit: 3 });
    expect(vector).toHaveLength(3);
    for (const hit of vector) expect(validIds.has(hit.memory.id) && hit.breakdown.vectorRank !== null).toBe(true);
    // HYBRID: the text matches the superseded ones too; the valid ones still come by both rankings.
    const hybrid = await hitsAs({ query: 'sea', vector: v(1, 0, 0), limit: 4 });
    expect(hybrid.map((hit) => hit.memory.id).sort()).toEqual(valid.slice(4).sort());
    for (const hit of hybrid)
      expect(hit.breakdown).toMatchObject({ textRank: expect.any(Number), vectorRank: expect.any(Number) });
    // HYBRID's typo tolerance: "harbor" is no word of theirs; the near ones are picked valid too.
    const fuzzy = await hitsAs({ query: 'harbor', vector: v(0, 0, 1), limit: 8 });
    expect(
      fuzzy
        .filter((hit) => hit.breakdown.fuzzy !== null)
        .map((hit) => hit.memory.id)
        .sort(),
    ).toEqual(valid.slice(0, 4).sort());
    for (const hit of fuzzy) expect(validIds.has(hit.memory.id)).toBe(true);
  });

  it("ranks HYBRID's text part as counting every match would, counting only where the AND leaves room", async () => {
    // `every` memories with both words, 40 with one of them, 10 with neither; all embedded alike
    // (the vector ranking is not what this is about), created a second apart.
    const fill = (writer: DemoData, every: number) => app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, created_at,
        embedding, embedding_model, embedding_dimensions)
      SELECT 'tier-' || ${every}::int || '-' || i, ${writer.organizationId}, ${writer.userId}, ${writer.agentId},
        CASE WHEN i <= ${every}::int THEN 'the project deadline moved ' || repeat('project ', i % 3) || i
             WHEN i <= ${every}::int + 20 THEN 'a project note ' || i
             WHEN i <= ${every}::int + 40 THEN 'a deadline note ' || repeat('deadline ', i % 2) || i
             ELSE 'something else ' || i END,
        'factual', 'user', 'core', now() - i * interval '1 second', ${JSON.stringify(v(1, 0, 0))}::vector, ${MODEL},
        ${DIMENSIONS}
      FROM generate_series(1, ${every}::int + 50) AS i`;
    /** The text ranking by its definition: every OR match counted and ordered, as the owner computes it. */
    const definedRanks = async (writer: DemoData, every: number) =>
      new Map(
        (
          await app.database.owner.$queryRaw<Array<{ id: string; rank: number; words: number }>>`
            SELECT id, words,
              (row_number() OVER (ORDER BY words DESC, text DESC, created_at DESC, id DESC))::int AS rank
            FROM (
              SELECT m.id, m.created_at,
                (SELECT count(DISTINCT w)::int FROM unnest(tsvector_to_array(to_tsvector('english', m.content))) AS w
                 WHERE w = ANY(ARRAY['project', 'deadlin'])) AS words,
                ts_rank_cd('{1,1,1,1}'::float4[], to_tsvector('english', m.content),
                  to_tsquery('english', 'project | deadline'), 32)::float8 AS text
              FROM memories m
              WHERE m.organization_id = ${writer.organizationId} AND m.id LIKE ${`tier-${every}-%`}
                AND to_tsvector('english', m.content) @@ to_tsquery('english', 'project | deadline')
            ) r`
        ).map((row) => [row.id, row]),
      );
    const hybrid = (writer: DemoData): MemorySearch => ({
      organizationId: writer.organizationId,
      mode: 'HYBRID',
      query: 'project deadline',
      vector: { vector: v(1, 0, 0), model: MODEL, dimensions: DIMENSIONS },
      limit: 20,
      ranking: settings.ranking,
    });
    /** How often the statement counted a memory's words: the loops of that count's unnest, 0 if never run. */
    const wordCounts = async (writer: DemoData) => {
      const statement = memorySearchStatement(hybrid(writer));
      const plan = await withOrganization(writer.organizationId, () =>
        app.database.prisma.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(
          `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${statement.text}`,
          ...statement.values,
        ),
      );
      const line = plan.map((row) => row['QUERY PLAN']).find((text) => text.includes('Function Scan on unnest w'));
      expect(line).toBeDefined();
      return line!.includes('never executed') ? 0 : Number(/loops=(\d+)/.exec(line!)![1]);
    };
    // 150 with every word, more than the 100 candidates: no other memory's words are counted, and
    // the hits' text ranks are those of the ranking of all 190 matches.
    // 30 with every word: the 40 with one are counted, once each, and follow them.
    for (const [every, counted] of [
      [150, 0],
      [30, 40],
    ] as const) {
      const writer = await app.seedDemo();
      await fill(writer, every);
      const defined = await definedRanks(writer, every);
      expect(defined.size).toBe(every + 40);
      const hits = (
        await app.graphqlAs(writer.key, SearchByMeaning, { query: 'project deadline', vector: v(1, 0, 0), limit: 20 })
      ).data!.searchMemories.filter((hit) => hit.memory.id.startsWith(`tier-${every}-`));
      expect(hits.length).toBeGreaterThan(0);
      for (const hit of hits) {
        // A hit found by its vector alone is beyond the text ranking's 100 candidates, or no match.
        const expected = defined.get(hit.memory.id);
        if (expected && expected.rank <= 100)
          expect([hit.breakdown.textRank, hit.breakdown.matchedWords]).toEqual([expected.rank, expected.words]);
        else expect(hit.breakdown.textRank).toBeNull();
      }
      expect(await wordCounts(writer)).toBe(counted);
    }
  });

  it('tolerates typos in HYBRID and TEXT: any word matches, more words rank higher, near words follow', async () => {
    const typist = await app.seedDemo();
    const contents = [
      'takes trains to work every day',
      'the trains were late again',
      'prefers trains over planes',
      'vegetarian meals on Fridays',
      'cheap meals near the office',
      'likes jazz records',
    ];
    for (const [index, content] of contents.entries()) {
      const created = await app.graphqlAs(typist.key, CreateMemory, {
        input: {
          agentId: typist.agentId,
          content,
          memoryType: 'FACTUAL',
          scope: 'user',
          level: 'core',
          embedding: v(Math.cos(index), Math.sin(index), 0.5),
        },
      });
      expect(created.data?.createMemory.__typename).toBe('MemoryPayload');
    }
    const search = async (query: string, mode: SearchMode = 'HYBRID') => {
      const response = await app.graphqlAs(typist.key, SearchByMeaning, { query, vector: v(0, 0, 1), mode, limit: 10 });
      expect(response.errors).toBeUndefined();
      return response.data!.searchMemories;
    };
    // TEXT requires every word; when no memory has them all, the near words' memories follow:
    // "trians" finds the three about trains (text 0, their fuzzy similarity), and nothing else.
    const textTrains = await search('trians', 'TEXT');
    expect(new Set(textTrains.map((hit) => hit.memory.content))).toEqual(
      new Set(contents.filter((content) => content.includes('trains'))),
    );
    for (const hit of textTrains) {
      expect(hit.breakdown).toMatchObject({ text: 0, textRank: null, vectorRank: null, matchedWords: null });
      expect(hit.breakdown.fuzzy).toBeGreaterThanOrEqual(0.25);
    }
    // Where every word is there, TEXT is exact as before: no near word is added.
    const exactTrains = await search('trains', 'TEXT');
    expect(exactTrains).toHaveLength(3);
    expect(exactTrains.every((hit) => hit.breakdown.fuzzy === null && hit.breakdown.text > 0)).toBe(true);
    // "vegetarain meals": the meals, by their near (here: equal) word; never the jazz.
    const textMeals = (await search('vegetarain meals', 'TEXT')).map((hit) => hit.memory.content);
    expect(textMeals).toEqual(expect.arrayContaining(['vegetarian meals on Fridays', 'cheap meals near the office']));
    expect(textMeals).not.toContain('likes jazz records');
    // HYBRID: "trians" finds the three memories about trains by a near word, ranked by it.
    const trains = (await search('trians')).filter((hit) => hit.breakdown.textRank != null);
    expect(new Set(trains.map((hit) => hit.memory.content))).toEqual(
      new Set(contents.filter((content) => content.includes('trains'))),
    );
    for (const hit of trains) {
      expect(hit.breakdown.matchedWords).toBe(0);
      expect(hit.breakdown.fuzzy).toBeGreaterThanOrEqual(0.25);
    }
    // "vegetarain meals": one misspelled word no longer empties the search; both meals match by the
    // word they have, counted in matchedWords.
    const meals = (await search('vegetarain meals')).filter((hit) => hit.breakdown.textRank != null);
    const byContent = new Map(meals.map((hit) => [hit.memory.content, hit.breakdown]));
    expect(byContent.get('vegetarian meals on Fridays')).toMatchObject({ matchedWords: 1, fuzzy: null });
    expect(byContent.get('cheap meals near the office')).toMatchObject({ matchedWords: 1, fuzzy: null });
    expect(byContent.has('likes jazz records')).toBe(false);
    // More of the query's words rank higher in the text ranking.
    const both = (await search('cheap meals')).filter((hit) => (hit.breakdown.matchedWords ?? 0) > 0);
    const ranked = [...both].sort((a, b) => a.breakdown.textRank! - b.breakdown.textRank!);
    expect(ranked.map((hit) => [hit.memory.content, hit.breakdown.matchedWords, hit.breakdown.textRank])).toEqual([
      ['cheap meals near the office', 2, 1],
      ['vegetarian meals on Fridays', 1, 2],
    ]);
    // The near-word search reads the trigram index under row-level security, as the application role:
    // its statement for one word, in an organization of 3,000 memories.
    await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level)
      SELECT 'typo-filler-' || i, ${typist.organizationId}, ${typist.userId}, ${typist.agentId},
        'filler note number ' || i, 'factual', 'user', 'core'
      FROM generate_series(1, 3000) AS i`;
    await app.database.owner.$executeRawUnsafe('ANALYZE memories');
    await afterLongWork();
    const plan = await withOrganization(typist.organizationId, () =>
      app.database.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe('SET LOCAL pg_trgm.strict_word_similarity_threshold = 0.25');
        const role = await tx.$queryRawUnsafe<Array<{ role: string }>>('SELECT current_user::text AS role');
        expect(role[0]!.role).toBe('agentmem_app');
        const lines = await tx.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(
          `EXPLAIN (COSTS OFF) SELECT f.id FROM live_memories_in_scope f
           WHERE f.organization_id = current_setting('app.organization_id', true)
             AND ($1::text[])[1] <<% lower(f.content)`,
          ['trians'],
        );
        return lines.map((line) => line['QUERY PLAN']).join('\n');
      }),
    );
    // And through the function, it still finds the trains among them.
    expect((await search('trians')).filter((hit) => (hit.breakdown.fuzzy ?? 0) > 0).length).toBe(3);
    expect(plan).toContain('idx_memories_organization_id_content_trgm');
  });
});
