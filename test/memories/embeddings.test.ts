import pino from 'pino';
import { buildDueVectorIndexes, vectorIndexName } from '../../src/memories/vector-indexes';
import { graphql } from '../generated';
import type { CreateMemoryInput } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';
import { testDatabaseKind } from '../support/test-databases';
import {
  copyPostgresInstallation,
  createThrowawayPostgres,
  type PostgresInstallationCopy,
  type ThrowawayPostgres,
} from '../support/throwaway-postgres';

const CreateMemory = graphql(`
  mutation CreateEmbeddedMemory($input: CreateMemoryInput!) {
    createMemory(input: $input) {
      __typename
      ... on Error { code field message }
      ... on MemoryPayload { memory { id embeddingModel embeddingDimensions } }
    }
  }
`);
const CreateMemories = graphql(`
  mutation CreateEmbeddedMemories($inputs: [CreateMemoryInput!]!) {
    createMemories(inputs: $inputs) {
      __typename
      ... on Error { code field message }
      ... on MemoriesPayload { memories { id embeddingModel embeddingDimensions } }
    }
  }
`);
const UpdateMemory = graphql(`
  mutation UpdateEmbeddedMemory($id: ID!, $input: UpdateMemoryInput!) {
    updateMemory(id: $id, input: $input) {
      __typename
      ... on Error { code field message }
      ... on MemoryPayload { memory { content embeddingModel embeddingDimensions } }
    }
  }
`);
const MemoryEmbedding = graphql(`
  query MemoryEmbedding($id: ID!) { memory(id: $id) { embeddingModel embeddingDimensions } }
`);
const MemoryEmbeddingStatus = graphql(`
  query MemoryEmbeddingStatusWithoutProvider($id: ID!) { memory(id: $id) { embeddingStatus embeddingError } }
`);
const Search = graphql(`
  query SearchWithoutVectors($query: String!) { searchMemories(query: $query) { memory { content } } }
`);
const VectorSearch = graphql(`
  query SearchByVectorWithoutPgvector($vector: [Float!]) { searchMemories(vector: $vector) { memory { content } } }
`);

const CreateNearMemory = graphql(`
  mutation CreateNearMemory($input: CreateMemoryInput!) {
    createMemory(input: $input) {
      __typename
      ... on Error { code field message }
      ... on MemoryPayload { deduplicated memory { id content importance } }
    }
  }
`);

const DIMENSIONS = 3;

/** Reads what PostgreSQL itself holds: the vector as text, and its cosine distance to `to`. */
async function storedVector(
  app: TestApp,
  id: string,
  to: number[],
): Promise<{ vector: string | null; distance: number | null }> {
  const [row] = await app.database.owner.$queryRawUnsafe<Array<{ vector: string | null; distance: number | null }>>(
    'SELECT embedding::text AS vector, (embedding <=> $2::text::vector)::float8 AS distance ' +
      'FROM memories WHERE id = $1',
    id,
    JSON.stringify(to),
  );
  return row!;
}

describe('memory embeddings (pgvector)', () => {
  let app: TestApp;
  let agentId: string;
  let organizationId: string;
  beforeAll(async () => {
    app = await startTestApp('embeddings', { embeddings: { dimensions: DIMENSIONS, model: 'test-model' } });
    ({ organizationId } = await app.seedDemo());
    agentId = (
      await app.database.owner.agent.create({ data: { id: 'agent-embeddings', organizationId, name: 'Embedder' } })
    ).id;
  });
  afterAll(async () => {
    await app?.close();
  });

  const memory = (content: string, extra: Partial<CreateMemoryInput> = {}): CreateMemoryInput => ({
    agentId,
    content,
    memoryType: 'FACTUAL',
    scope: 'user',
    level: 'core',
    ...extra,
  });
  const memoryCount = () => app.database.owner.memory.count({ where: { agentId } });

  it('stores a client vector in pgvector with its model and dimensions, and real vector math reads it', async () => {
    const created = (await app.graphql(CreateMemory, { input: memory('likes green tea', { embedding: [1, 0, 0] }) }))
      .data!.createMemory;
    expect(created).toMatchObject({
      __typename: 'MemoryPayload',
      memory: { embeddingModel: 'test-model', embeddingDimensions: 3 },
    });
    const id = (created as { memory: { id: string } }).memory.id;
    const stored = await storedVector(app, id, [0, 1, 0]);
    expect(stored.vector).toBe('[1,0,0]');
    expect(stored.distance).toBeCloseTo(1, 10); // orthogonal: cosine distance 1
    expect((await storedVector(app, id, [2, 0, 0])).distance).toBeCloseTo(0, 10);
    expect((await app.graphql(MemoryEmbedding, { id })).data!.memory).toEqual({
      embeddingModel: 'test-model',
      embeddingDimensions: 3,
    });

    const named = (
      await app.graphql(CreateMemory, {
        input: memory('owns a bicycle', { embedding: [0.5, 0.5, 0], embeddingModel: 'all-MiniLM-L6-v2' }),
      })
    ).data!.createMemory;
    expect(named).toMatchObject({ memory: { embeddingModel: 'all-MiniLM-L6-v2', embeddingDimensions: 3 } });

    const plain = (await app.graphql(CreateMemory, { input: memory('has no vector') })).data!.createMemory;
    expect(plain).toMatchObject({ memory: { embeddingModel: null, embeddingDimensions: null } });
  });

  it('makes no index shared by all organizations; one with enough embeddings gets its own', async () => {
    const hnswIndexes = () =>
      app.database.owner.$queryRawUnsafe<Array<{ indexname: string; indexdef: string }>>(
        `SELECT indexname, indexdef FROM pg_indexes
         WHERE tablename = 'memories' AND indexname LIKE 'idx_memories_embedding_hnsw%'`,
      );
    expect(await hnswIndexes()).toEqual([]);
    // As the server's keeper does every VECTOR_INDEX_SWEEP_SECONDS (off in tests), with a threshold
    // this organization's few embeddings reach.
    const built = await buildDueVectorIndexes(app.database, { dimensions: DIMENSIONS, ownIndexFrom: 1 });
    expect(built).toEqual([organizationId]);
    const indexes = await hnswIndexes();
    expect(indexes.map((index) => index.indexname)).toEqual([vectorIndexName(organizationId, DIMENSIONS)]);
    expect(indexes[0]!.indexdef).toMatch(/USING hnsw \(\(\(embedding\)::vector\(3\)\) vector_cosine_ops\)/);
    expect(indexes[0]!.indexdef).toContain(`'${organizationId}'`);
    // Built once: the next round finds nothing due.
    expect(await buildDueVectorIndexes(app.database, { dimensions: DIMENSIONS, ownIndexFrom: 1 })).toEqual([]);
  });

  it(
    'refuses a vector of another length, an empty one or a huge one with VALIDATION naming the field, and ' +
      'stores nothing',
    async () => {
      const before = await memoryCount();
      for (const embedding of [[1, 2], [1, 2, 3, 4], []]) {
        const refused = (
          await app.graphql(CreateMemory, { input: memory(`wrong vector ${embedding.length}`, { embedding }) })
        ).data!.createMemory;
        expect(refused).toMatchObject({
          __typename: 'ValidationError',
          code: 'VALIDATION',
          field: ['input', 'embedding'],
        });
      }
      const huge = await app.graphql(CreateMemory, {
        input: memory('huge vector', { embedding: new Array<number>(100_000).fill(0.5) }),
      });
      expect(
        huge.errors?.[0]?.extensions?.code ?? (huge.data?.createMemory as { code?: string } | undefined)?.code,
      ).toMatch(
        /^(VALIDATION|BAD_USER_INPUT|REQUEST_TOO_LARGE|PAYLOAD_TOO_LARGE|MAX_LIST_SIZE|GRAPHQL_VALIDATION_FAILED)$/,
      );
      expect(huge.status).toBeLessThan(500);

      // One bad input of a batch: nothing of the batch is stored, and the error names its index.
      const batch = (
        await app.graphql(CreateMemories, {
          inputs: [
            memory('first of batch', { embedding: [1, 1, 1] }),
            memory('second of batch', { embedding: [1, 1] }),
          ],
        })
      ).data!.createMemories;
      expect(batch).toMatchObject({ __typename: 'ValidationError', field: ['inputs', '1', 'embedding'] });
      expect(await memoryCount()).toBe(before);
    },
  );

  it('refuses NaN and Infinity, in a literal or a variable, as a typed error', async () => {
    const before = await memoryCount();
    const literal = await app.graphqlUntyped(
      `mutation { createMemory(input: { agentId: "${agentId}", content: "nan", memoryType: FACTUAL, scope:
        "user", level: "core", embedding: [NaN, 1, 1] }) { __typename } }`,
    );
    // The input guard types it before GraphQL's own validation would (GRAPHQL_VALIDATION_FAILED).
    expect(literal.errors?.[0]?.extensions?.code).toMatch(/^(VALIDATION|GRAPHQL_VALIDATION_FAILED)$/);
    expect(literal.data ?? null).toBeNull();
    for (const bad of ['NaN', 'Infinity', '1e999']) {
      const variable = await app.graphqlUntyped(
        `mutation M($input: CreateMemoryInput!) { createMemory(input: $input) { __typename } }`,
        { input: { ...memory('nan variable'), embedding: [bad, 1, 1] } },
      );
      expect(variable.errors?.[0]?.extensions?.code).toMatch(/^(BAD_USER_INPUT|VALIDATION)$/);
    }
    // Finite, but beyond a 4-byte float, which pgvector stores: refused before the database.
    const overflow = (await app.graphql(CreateMemory, { input: memory('overflow', { embedding: [0, 0, -3.5e38] }) }))
      .data!.createMemory;
    expect(overflow).toMatchObject({ code: 'VALIDATION', field: ['input', 'embedding', '2'] });
    const search = await app.graphqlUntyped(
      'query ($v: [Float!]) { searchMemories(query: "user", vector: $v) { score } }',
      {
        v: [0, 0, -3.402823567797337e38],
      },
    );
    expect(search.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['vector', '2'] });
    expect(await memoryCount()).toBe(before);
  });

  it('replaces a vector on update, and drops it when the content changes without one', async () => {
    const created = (await app.graphql(CreateMemory, { input: memory('lives in Paris', { embedding: [0, 0, 1] }) }))
      .data!.createMemory as { memory: { id: string } };
    const id = created.memory.id;
    const replaced = (
      await app.graphql(UpdateMemory, { id, input: { embedding: [0, 1, 1], embeddingModel: 'other-model' } })
    ).data!.updateMemory;
    expect(replaced).toMatchObject({ memory: { embeddingModel: 'other-model', embeddingDimensions: 3 } });
    expect((await storedVector(app, id, [0, 1, 1])).distance).toBeCloseTo(0, 6);

    const wrong = (await app.graphql(UpdateMemory, { id, input: { content: 'lives in Lyon', embedding: [1] } })).data!
      .updateMemory;
    expect(wrong).toMatchObject({ code: 'VALIDATION', field: ['input', 'embedding'] });
    expect((await app.graphql(MemoryEmbedding, { id })).data!.memory).toEqual({
      embeddingModel: 'other-model',
      embeddingDimensions: 3,
    });

    const moved = (await app.graphql(UpdateMemory, { id, input: { content: 'lives in Lyon' } })).data!.updateMemory;
    expect(moved).toMatchObject({
      memory: { content: 'lives in Lyon', embeddingModel: null, embeddingDimensions: null },
    });
    expect((await storedVector(app, id, [0, 1, 1])).vector).toBeNull();
  });

  it('says READY for a client vector and null without one when there is no provider, and queues nothing', async () => {
    const idOf = async (input: CreateMemoryInput) =>
      ((await app.graphql(CreateMemory, { input })).data!.createMemory as { memory: { id: string } }).memory.id;
    const withVector = await idOf(memory('status with a vector', { embedding: [0, 0, 1] }));
    const without = await idOf(memory('status without a vector'));
    expect((await app.graphql(MemoryEmbeddingStatus, { id: withVector })).data!.memory).toEqual({
      embeddingStatus: 'READY',
      embeddingError: null,
    });
    expect((await app.graphql(MemoryEmbeddingStatus, { id: without })).data!.memory).toEqual({
      embeddingStatus: null,
      embeddingError: null,
    });
    expect(await app.database.owner.embeddingJob.count()).toBe(0);
  });

  it('gives a deduplicated input vector to the memory it was the same as', async () => {
    const first = (await app.graphql(CreateMemory, { input: memory('drinks coffee') })).data!.createMemory as {
      memory: { id: string };
    };
    const again = (await app.graphql(CreateMemory, { input: memory('Drinks coffee', { embedding: [1, 2, 3] }) })).data!
      .createMemory;
    expect(again).toMatchObject({ memory: { id: first.memory.id, embeddingDimensions: 3 } });
  });

  it('keeps near duplicates apart by default (MEMORY_DEDUPE_SIMILARITY unset)', async () => {
    const first = await app.graphql(CreateNearMemory, { input: memory('likes green tea', { embedding: [1, 0, 0] }) });
    const near = await app.graphql(CreateNearMemory, {
      input: memory('enjoys green tea', { embedding: [1, 0.001, 0] }),
    });
    expect(near.data?.createMemory).toMatchObject({ deduplicated: false });
    expect((near.data!.createMemory as { memory: { id: string } }).memory.id).not.toBe(
      (first.data!.createMemory as { memory: { id: string } }).memory.id,
    );
  });
});

describe('near-duplicate dedupe (MEMORY_DEDUPE_SIMILARITY)', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('embeddings_near_duplicates', {
      embeddings: { dimensions: DIMENSIONS, model: 'test-model', dedupeSimilarity: 0.95 },
    });
    agentId = (await app.seedDemo()).agentId;
  });
  afterAll(async () => {
    await app?.close();
  });

  const create = async (content: string, extra: Partial<CreateMemoryInput> = {}) => {
    const response = await app.graphql(CreateNearMemory, {
      input: { agentId, content, memoryType: 'FACTUAL', scope: 'user', level: 'core', ...extra },
    });
    expect(response.data?.createMemory.__typename).toBe('MemoryPayload');
    return response.data!.createMemory as {
      deduplicated: boolean;
      memory: { id: string; content: string; importance: number };
    };
  };

  it('merges a vector at least that cosine-similar into the memory, as the same content is', async () => {
    const first = await create('Prefers Earl Grey tea', { embedding: [1, 0, 0], importance: 0.2 });
    // cos([1, 0.2, 0], [1, 0, 0]) = 0.981 >= 0.95: the same memory, more important now, its own words
    // and its own vector kept, and the merge in its history.
    const near = await create('Likes Earl Grey', { embedding: [1, 0.2, 0], importance: 0.7 });
    expect(near).toMatchObject({
      deduplicated: true,
      memory: { id: first.memory.id, content: 'Prefers Earl Grey tea', importance: 0.7 },
    });
    expect((await storedVector(app, first.memory.id, [1, 0, 0])).distance).toBeCloseTo(0, 6);
    const history = await app.database.owner.memoryHistory.findMany({
      where: { memoryId: first.memory.id },
      orderBy: { seq: 'asc' },
    });
    expect(history.map((entry) => entry.event)).toEqual(['create', 'dedupe']);
    // cos([1, 0.4, 0], [1, 0, 0]) = 0.928 < 0.95: a memory of its own.
    expect(await create('Drinks Earl Grey sometimes', { embedding: [1, 0.4, 0] })).toMatchObject({
      deduplicated: false,
    });
  });

  it('compares only when both have embeddings, of the same model', async () => {
    const plain = await create('Walks to work');
    // No vector on the write: never merged by meaning.
    expect(await create('Walks to the office')).toMatchObject({ deduplicated: false });
    // The memory without a vector is never merged into.
    const embedded = await create('Walks to the office daily', { embedding: [0, 1, 0] });
    expect(embedded).toMatchObject({ deduplicated: false });
    expect(embedded.memory.id).not.toBe(plain.memory.id);
    // Another model's vector means nothing next to this one's.
    expect(await create('Walks everywhere', { embedding: [0, 1, 0], embeddingModel: 'other-model' })).toMatchObject({
      deduplicated: false,
    });
    // The same model: merged.
    expect(await create('Walks each day', { embedding: [0, 1, 0.01] })).toMatchObject({
      deduplicated: true,
      memory: { id: embedded.memory.id },
    });
  });
});

// A PostgreSQL server without pgvector: a copy of this machine's PostgreSQL with the extension's
// files left out, so the test does not depend on what the machine has installed.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

describe('a PostgreSQL server without pgvector', () => {
  let installation: PostgresInstallationCopy | undefined;
  let cluster: ThrowawayPostgres | undefined;
  let app: TestApp | undefined;
  afterAll(async () => {
    await app?.close();
    await cluster?.remove();
    installation?.remove();
  });

  onPostgres(
    'migrates, starts saying once why semantic recall is off, searches by text, refuses vectors; installing ' +
      'pgvector later turns it on with nothing lost',
    async () => {
      installation = copyPostgresInstallation(['vector']);
      cluster = await createThrowawayPostgres(installation.binDir);
      await cluster.query('postgres', 'CREATE DATABASE agentmem');
      const database = {
        kind: 'postgres' as const,
        url: cluster.url.replace(/\/postgres$/, '/agentmem'),
        poolSize: 2,
        connectTimeoutMs: 5000,
      };
      const lines: Array<{ level: number; msg: string }> = [];
      const logger = pino(
        { level: 'info', base: undefined },
        { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) },
      );
      const start = () =>
        startTestApp(
          'no-pgvector',
          { database, migrateOnStart: true, embeddings: { dimensions: DIMENSIONS, model: 'test-model' } },
          logger,
        );

      app = await start();
      const off = lines.filter((line) => line.msg.startsWith('semantic recall is off'));
      expect(off).toHaveLength(1);
      expect(off[0]!.msg).toContain('no pgvector extension');
      expect(off[0]!.level).toBe(40); // warn

      const { organizationId, key } = await app.seedDemo();
      const agentId = (
        await app.database.owner.agent.create({ data: { id: 'agent-no-vectors', organizationId, name: 'Plain' } })
      ).id;
      const input = { agentId, memoryType: 'FACTUAL' as const, scope: 'user', level: 'core' };
      const kept = (await app.graphql(CreateMemory, { input: { ...input, content: 'prefers trains to planes' } })).data!
        .createMemory;
      expect(kept).toMatchObject({ __typename: 'MemoryPayload', memory: { embeddingModel: null } });
      const refused = (
        await app.graphql(CreateMemory, { input: { ...input, content: 'with a vector', embedding: [1, 0, 0] } })
      ).data!.createMemory;
      expect(refused).toMatchObject({
        __typename: 'SemanticRecallUnavailableError',
        code: 'SEMANTIC_RECALL_UNAVAILABLE',
        field: ['input', 'embedding'],
      });
      expect(await app.database.owner.memory.count({ where: { content: 'with a vector' } })).toBe(0);
      expect(
        (await app.graphql(Search, { query: 'trains' })).data!.searchMemories.map((hit) => hit.memory.content),
      ).toContain('prefers trains to planes');
      const vectorSearch = await app.graphql(VectorSearch, { vector: [1, 0, 0] });
      expect(vectorSearch.data).toBeNull();
      expect(vectorSearch.errors?.[0]?.extensions).toMatchObject({
        code: 'SEMANTIC_RECALL_UNAVAILABLE',
        field: ['vector'],
      });

      // Installed later: the next start turns it on, and the memory written meanwhile is there.
      await app.stop();
      app = undefined;
      installation.addExtension('vector');
      lines.length = 0;
      app = await start();
      expect(lines.some((line) => line.msg.startsWith('semantic recall is on'))).toBe(true);
      app.useKey(key);
      const embedded = (
        await app.graphql(CreateMemory, { input: { ...input, content: 'with a vector', embedding: [1, 0, 0] } })
      ).data!.createMemory;
      expect(embedded).toMatchObject({ __typename: 'MemoryPayload', memory: { embeddingDimensions: 3 } });
      expect(await app.database.owner.memory.count({ where: { content: 'prefers trains to planes' } })).toBe(1);
    },
  );
});
