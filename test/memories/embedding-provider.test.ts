import { loadSettings } from '../../src/config/settings';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { EmbeddingsStandIn, providerAt, STAND_IN_DIMENSIONS, STAND_IN_MODEL } from '../support/embeddings-stand-in';
import { subscribe } from '../support/live-client';
import { startTestApp, type TestApp } from '../support/test-app';
import { cloneMigratedDatabase, testDatabaseKind } from '../support/test-databases';

// The embedding provider is the local HTTP server of test/support/embeddings-stand-in.ts: a
// stand-in at the network boundary that speaks the OpenAI embeddings API, with scripted failures.
// Everything on this side of the socket (the server, its worker, PostgreSQL or PGlite, pgvector)
// is the real thing.

const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

const CreateMemory = graphql(`
  mutation CreateMemoryForProvider($input: CreateMemoryInput!) {
    createMemory(input: $input) {
      __typename
      ... on Error { code field message }
      ... on MemoryPayload { memory { id embeddingStatus } }
    }
  }
`);
const CreateMemories = graphql(`
  mutation CreateMemoriesForProvider($inputs: [CreateMemoryInput!]!) {
    createMemories(inputs: $inputs) {
      __typename
      ... on Error { code field message }
      ... on MemoriesPayload { memories { id embeddingStatus } }
    }
  }
`);
const UpdateMemory = graphql(`
  mutation UpdateMemoryForProvider($id: ID!, $input: UpdateMemoryInput!) {
    updateMemory(id: $id, input: $input) {
      __typename
      ... on MemoryPayload { memory { embeddingStatus embeddingModel } }
    }
  }
`);
const MemoryStatus = graphql(`
  query MemoryEmbeddingStatus($id: ID!) {
    memory(id: $id, track: false) { embeddingStatus embeddingError embeddingModel embeddingDimensions }
  }
`);
const Search = graphql(`
  query SearchWithProvider($query: String!, $mode: SearchMode) {
    searchMemories(query: $query, mode: $mode, limit: 5, track: false) {
      mode
      degraded
      degradedReason
      memory { content }
      breakdown { textRank vectorRank similarity }
    }
  }
`);

const Changes = graphql(`
  subscription EmbeddingChanges($agentId: ID!) {
    memoryChanged(agentId: $agentId) { kind memoryId memory { embeddingStatus } }
  }
`);

const DIMENSIONS = STAND_IN_DIMENSIONS;
const MODEL = STAND_IN_MODEL;

const memoryInput = (agentId: string, content: string) => ({
  agentId,
  content,
  memoryType: 'FACTUAL' as const,
  scope: 'user',
  level: 'core',
});

/** How many of these memories are in each embedding status (read as the owner). */
async function statuses(app: TestApp, ids: string[]): Promise<Record<string, number>> {
  const rows = await app.database.owner.$queryRawUnsafe<Array<{ status: string | null; count: number }>>(
    'SELECT embedding_status AS status, count(*)::int AS count FROM memories WHERE id = ANY($1::text[]) GROUP BY 1',
    ids,
  );
  return Object.fromEntries(rows.map((row) => [String(row.status), row.count]));
}

/** Waits until no memory is PENDING (the worker runs in the background); fails after `limitMs`. */
async function untilNonePending(app: TestApp, limitMs = 180_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const pending = await app.database.owner.$queryRawUnsafe<Array<{ count: number }>>(
      "SELECT count(*)::int AS count FROM memories WHERE embedding_status = 'PENDING'",
    );
    if (pending[0]!.count === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending[0]!.count} memories still PENDING`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Each memory's stored vector's cosine distance to what the stand-in gives its content. */
async function distancesToStandIn(app: TestApp, standIn: EmbeddingsStandIn): Promise<number[]> {
  const rows = await app.database.owner.$queryRawUnsafe<Array<{ content: string; embedding: string }>>(
    'SELECT content, embedding::text AS embedding FROM memories WHERE embedding IS NOT NULL',
  );
  return rows.map((row) => {
    const stored = JSON.parse(row.embedding) as number[];
    const expected = standIn.vectorOf(row.content);
    return 1 - stored.reduce((sum, value, index) => sum + value * expected[index]!, 0);
  });
}

describe('embedding settings', () => {
  it('refuses a provider URL that is not http(s), and a provider without a model, naming the setting', () => {
    expect(() => loadSettings({ EMBEDDINGS_URL: 'ftp://example.com/v1/embeddings', EMBEDDINGS_MODEL: 'm' })).toThrow(
      /invalid setting EMBEDDINGS_URL: expected the http\(s\) URL/,
    );
    expect(() => loadSettings({ EMBEDDINGS_URL: 'file:///etc/passwd', EMBEDDINGS_MODEL: 'm' })).toThrow(
      /EMBEDDINGS_URL/,
    );
    expect(() => loadSettings({ EMBEDDINGS_URL: 'http://127.0.0.1:11434/v1/embeddings' })).toThrow(
      /invalid setting EMBEDDINGS_MODEL: required with EMBEDDINGS_URL/,
    );
    const settings = loadSettings({
      EMBEDDINGS_URL: 'https://api.example.com/v1/embeddings',
      EMBEDDINGS_MODEL: 'text-embedding-3-small',
      EMBEDDINGS_API_KEY: 'sk-test',
    });
    expect(settings.embeddings.provider).toMatchObject({
      url: 'https://api.example.com/v1/embeddings',
      apiKey: 'sk-test',
    });
    expect(loadSettings({}).embeddings.provider).toBeUndefined();
  });
});

describe('embeddings from a provider (stand-in OpenAI embeddings server)', () => {
  let standIn: EmbeddingsStandIn;
  let app: TestApp;
  let demo: DemoData;

  beforeAll(async () => {
    standIn = new EmbeddingsStandIn(DIMENSIONS);
    const url = await standIn.start();
    app = await startTestApp('embedding_provider', { embeddings: providerAt(url) });
    demo = await app.seedDemo();
  }, 300_000);
  afterAll(async () => {
    await app?.close();
    await standIn?.close();
  });

  it('embeds each memory once through timeouts, 429, 500, truncated JSON, wrong dimensions and an outage', async () => {
    // Each fault once, in this order, on the first calls; then an outage in the middle of the writes.
    // 3 s here, on both databases: several of the worker's attempts (retries from 50 ms, doubling to
    // 500 ms). The 30 s outage is the next test's, on PostgreSQL only.
    standIn.fail('timeout', '429', '500', 'truncated', 'wrong-dimensions');
    const written: string[] = [];
    const failedWrites: unknown[] = [];
    const WRITES = 30;
    let outageEnds = 0;
    for (let index = 0; index < WRITES; index += 1) {
      if (index === 10) {
        standIn.down = true;
        outageEnds = Date.now() + 3000;
      }
      if (standIn.down && Date.now() >= outageEnds) standIn.down = false;
      const content = `steady write ${index}: the user mentioned item ${index * 7}`;
      const response = await app.graphql(CreateMemory, { input: memoryInput(demo.agentId, content) });
      const created = response.data?.createMemory;
      if (created?.__typename !== 'MemoryPayload') failedWrites.push(response);
      else {
        // Committed at once: the embedding comes later.
        expect(['PENDING', 'READY']).toContain(created.memory.embeddingStatus);
        written.push(created.memory.id);
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    // A batch write too, during or after the outage.
    const batch = await app.graphql(CreateMemories, {
      inputs: [0, 1, 2, 3, 4].map((index) => memoryInput(demo.agentId, `batch write ${index}`)),
    });
    expect(batch.data?.createMemories.__typename).toBe('MemoriesPayload');
    if (batch.data?.createMemories.__typename === 'MemoriesPayload')
      written.push(...batch.data.createMemories.memories.map((memory) => memory.id));
    while (standIn.down && Date.now() < outageEnds) await new Promise((resolve) => setTimeout(resolve, 100));
    standIn.down = false;

    expect(failedWrites).toEqual([]);
    expect(written).toHaveLength(WRITES + 5);
    await untilNonePending(app);

    // Every memory READY, none lost, none FAILED; each content delivered by the provider once.
    expect(await statuses(app, written)).toEqual({ READY: WRITES + 5 });
    expect(await app.database.owner.embeddingJob.count()).toBe(0);
    const contents = await app.database.owner.memory.findMany({
      where: { id: { in: written } },
      select: { content: true },
    });
    for (const { content } of contents)
      expect({ content, delivered: standIn.delivered.get(content) }).toEqual({
        content,
        delivered: 1,
      });
    // The stored vector is the provider's for that content.
    for (const distance of await distancesToStandIn(app, standIn)) expect(distance).toBeCloseTo(0, 5);
    // Every fault was met by the worker.
    for (const fault of ['timeout', '429', '500', 'truncated', 'wrong-dimensions', 'down'] as const)
      expect({ fault, served: (standIn.faultsServed.get(fault) ?? 0) > 0 }).toEqual({ fault, served: true });
    const status = await app.graphql(MemoryStatus, { id: written[0]! });
    expect(status.data?.memory).toEqual({
      embeddingStatus: 'READY',
      embeddingError: null,
      embeddingModel: MODEL,
      embeddingDimensions: DIMENSIONS,
    });
  }, 300_000);

  onPostgres(
    'loses nothing and blocks no write while the provider is down for 30 s under steady writes',
    async () => {
      // The outage, 30 s of wall time: on PostgreSQL only, so that CI pays it once (the
      // worker and the queue are the same code on PGlite, where the 3 s outage above runs).
      const WRITES = 70;
      const written: string[] = [];
      const failedWrites: unknown[] = [];
      const started = Date.now();
      standIn.down = true;
      for (let index = 0; index < WRITES; index += 1) {
        // Down for the first 30 s of the writes, then up again while they go on.
        if (standIn.down && Date.now() - started >= 30_000) standIn.down = false;
        const content = `write during a long outage ${index}`;
        const response = await app.graphql(CreateMemory, { input: memoryInput(demo.agentId, content) });
        const created = response.data?.createMemory;
        if (created?.__typename === 'MemoryPayload') written.push(created.memory.id);
        else failedWrites.push(response);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      while (Date.now() - started < 30_000) await new Promise((resolve) => setTimeout(resolve, 100));
      standIn.down = false;
      expect(failedWrites).toEqual([]);
      expect(written).toHaveLength(WRITES);
      expect((standIn.faultsServed.get('down') ?? 0) > 0).toBe(true);
      await untilNonePending(app);
      // Every memory READY, none lost, none FAILED, each content delivered once.
      expect(await statuses(app, written)).toEqual({ READY: WRITES });
      for (let index = 0; index < WRITES; index += 1) {
        const content = `write during a long outage ${index}`;
        expect({ content, delivered: standIn.delivered.get(content) }).toEqual({ content, delivered: 1 });
      }
    },
    300_000,
  );

  it('searches HYBRID with the query embedded by the provider; by text, degraded, while it is down', async () => {
    const target = 'steady write 3: the user mentioned item 21';
    const hybrid = await app.graphql(Search, { query: target });
    expect(hybrid.errors).toBeUndefined();
    const hits = hybrid.data!.searchMemories;
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((hit) => hit.mode === 'HYBRID' && !hit.degraded && hit.degradedReason === null)).toBe(true);
    // The query's vector is the memory's own (same text): nearest, similarity 1.
    const own = hits.find((hit) => hit.memory.content === target)!;
    expect(own.breakdown.vectorRank).toBe(1);
    expect(own.breakdown.similarity).toBeCloseTo(1, 5);

    standIn.down = true;
    try {
      const degraded = await app.graphql(Search, { query: target });
      expect(degraded.errors).toBeUndefined();
      const textHits = degraded.data!.searchMemories;
      expect(textHits.map((hit) => hit.memory.content)).toContain(target);
      for (const hit of textHits) {
        expect(hit).toMatchObject({ mode: 'TEXT', degraded: true });
        expect(hit.degradedReason).toMatch(/^the query was not embedded: the provider could not be reached/);
        expect(hit.breakdown.vectorRank).toBeNull();
      }
      // Writes go on meanwhile: PENDING, committed.
      const created = await app.graphql(CreateMemory, { input: memoryInput(demo.agentId, 'written while down') });
      expect(created.data?.createMemory).toMatchObject({ memory: { embeddingStatus: 'PENDING' } });
    } finally {
      standIn.down = false;
    }
    await untilNonePending(app);
    // TEXT asked for is TEXT, never degraded, and never calls the provider.
    const calls = standIn.calls;
    const text = await app.graphql(Search, { query: target, mode: 'TEXT' });
    expect(text.data!.searchMemories.every((hit) => hit.mode === 'TEXT' && !hit.degraded)).toBe(true);
    expect(standIn.calls).toBe(calls);
  }, 300_000);

  it('embeds new content again, tells subscribers when it is READY, and keeps a client vector', async () => {
    const live = await subscribe(app.url, demo.key, Changes, { agentId: demo.agentId });
    const created = await app.graphql(CreateMemory, { input: memoryInput(demo.agentId, 'content before') });
    const id = (created.data!.createMemory as { memory: { id: string } }).memory.id;
    await untilNonePending(app);
    const changed = await app.graphql(UpdateMemory, { id, input: { content: 'content after' } });
    expect(changed.data?.updateMemory).toMatchObject({ memory: { embeddingStatus: 'PENDING' } });
    await untilNonePending(app);
    const received = [];
    for (let index = 0; index < 4; index += 1) received.push((await live.next())?.data?.memoryChanged);
    live.close();
    // Each write's event, then EMBEDDED once the worker's vector is committed. An event's memory is
    // read when it is delivered, so only the last one's status is certain: READY.
    expect(received.map((event) => [event?.kind, event?.memoryId])).toEqual([
      ['CREATED', id],
      ['EMBEDDED', id],
      ['UPDATED', id],
      ['EMBEDDED', id],
    ]);
    expect(received[3]?.memory).toEqual({ embeddingStatus: 'READY' });
    expect(standIn.delivered.get('content after')).toBe(1);
    const vector = Array.from({ length: DIMENSIONS }, (_, index) => (index === 0 ? 1 : 0));
    const given = await app.graphql(CreateMemory, {
      input: { ...memoryInput(demo.agentId, 'a client vector'), embedding: vector, embeddingModel: MODEL },
    });
    expect(given.data?.createMemory).toMatchObject({ memory: { embeddingStatus: 'READY' } });
    expect(await app.database.owner.embeddingJob.count()).toBe(0);
    expect(standIn.delivered.get('a client vector')).toBeUndefined();
  }, 300_000);

  it('marks a memory FAILED with the reason once its attempts are spent, and writes still succeed', async () => {
    const failing = new EmbeddingsStandIn(DIMENSIONS);
    const url = await failing.start();
    const strict = await startTestApp('embedding_provider_failed', {
      embeddings: providerAt(url, { maxAttempts: 3, retryBaseMs: 20, retryMaxMs: 40 }),
    });
    try {
      const owner = await strict.seedDemo();
      failing.fail('500', '500', '500');
      const created = await strict.graphql(CreateMemory, { input: memoryInput(owner.agentId, 'never embedded') });
      const id = (created.data!.createMemory as { memory: { id: string } }).memory.id;
      await untilNonePending(strict);
      const status = await strict.graphql(MemoryStatus, { id });
      expect(status.data?.memory).toMatchObject({ embeddingStatus: 'FAILED', embeddingModel: null });
      expect(status.data?.memory?.embeddingError).toMatch(/^after 3 attempts: the provider answered HTTP 500/);
      expect(failing.calls).toBe(3);
    } finally {
      await strict.close();
      await failing.close();
    }
  }, 300_000);

  onPostgres(
    'shares the queue between two server processes on one database without embedding a memory twice',
    async () => {
      // Two app instances, each with its own worker and pool, on one PostgreSQL database: what two
      // server processes are to the queue (FOR UPDATE SKIP LOCKED between sessions). PGlite is
      // one process's database, so this runs on PostgreSQL only.
      const shared = new EmbeddingsStandIn(DIMENSIONS);
      const url = await shared.start();
      shared.delayMs = 100;
      const database = await cloneMigratedDatabase('embedding_provider_shared');
      const first = await startTestApp('embedding_provider_shared', {
        database: database.settings,
        embeddings: providerAt(url),
      });
      const second = await startTestApp('embedding_provider_shared', {
        database: database.settings,
        embeddings: providerAt(url),
      });
      try {
        const owner = await first.seedDemo();
        second.useKey(owner.key);
        const inputs = Array.from({ length: 60 }, (_, index) =>
          memoryInput(owner.agentId, `shared queue memory ${index}`),
        );
        const [a, b] = await Promise.all([
          first.graphql(CreateMemories, { inputs: inputs.slice(0, 30) }),
          second.graphql(CreateMemories, { inputs: inputs.slice(30) }),
        ]);
        expect(a.data?.createMemories.__typename).toBe('MemoriesPayload');
        expect(b.data?.createMemories.__typename).toBe('MemoriesPayload');
        await untilNonePending(first);
        const ids = [a, b].flatMap((response) =>
          response.data?.createMemories.__typename === 'MemoriesPayload'
            ? response.data.createMemories.memories.map((memory) => memory.id)
            : [],
        );
        expect(await statuses(first, ids)).toEqual({ READY: 60 });
        for (const input of inputs)
          expect({ content: input.content, delivered: shared.delivered.get(input.content) }).toEqual({
            content: input.content,
            delivered: 1,
          });
        // Both workers were calling the provider at once (each has one call in flight at a time).
        expect(shared.maxConcurrent).toBeGreaterThanOrEqual(2);
      } finally {
        await second.close();
        await first.close();
        await database.drop();
        await shared.close();
      }
    },
    300_000,
  );
});
