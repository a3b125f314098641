import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { withOrganization } from '../../src/db/row-level-security';
import type { DemoData } from '../../src/demo/seed';
import { contentHash, normalizeContent } from '../../src/memories/content-hash';
import { graphql } from '../generated';
import type { CreateMemoryInput } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateOne = graphql(`
  mutation WritesCreateOne($input: CreateMemoryInput!) {
    createMemory(input: $input) {
      __typename
      ... on Error { code field message }
      ... on MemoryPayload { deduplicated memory { id hash importance content } }
    }
  }
`);
const CreateBatch = graphql(`
  mutation WritesCreateBatch($inputs: [CreateMemoryInput!]!) {
    createMemories(inputs: $inputs) {
      __typename
      ... on Error { code field }
      ... on MemoriesPayload { memories { id } results { deduplicated memory { id importance } } }
    }
  }
`);
const Update = graphql(`
  mutation WritesUpdate($id: ID!, $input: UpdateMemoryInput!) {
    updateMemory(id: $id, input: $input) { __typename ... on Error { code field message } ... on MemoryPayload {
      memory { hash } } }
  }
`);
const Delete = graphql(`
  mutation WritesDelete($id: ID!) { deleteMemory(id: $id) { __typename ... on Error { code } } }
`);
const Restore = graphql(`
  mutation WritesRestore($id: ID!) { restoreMemory(id: $id) { __typename ... on Error { code field message } } }
`);
const Prune = graphql(`
  mutation WritesPrune($agentId: ID!, $keep: Int!) {
    pruneMemories(agentId: $agentId, keep: $keep) { __typename ... on Error {
      code field } ... on PruneMemoriesPayload { agentId removed } }
  }
`);
const History = graphql(`
  query WritesHistory($id: ID!, $first: Int, $after: String) {
    memory(id: $id) {
      history(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { id memoryId event changedFields before after actorUserId apiKeyId createdAt }
      }
    }
  }
`);
const LiveContents = graphql(`
  query WritesLiveContents($agentId: ID!) { memories(filter: { agentId: $agentId }, first: 100) { nodes {
    content importance } } }
`);

describe('writing memories: dedupe, prune, history', () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  let apiKeyId: string;
  let agentCount = 0;

  beforeAll(async () => {
    app = await startTestApp('memory_writes');
    own = await app.seedDemo();
    other = await app.seedDemo();
    apiKeyId = (await app.database.owner.apiKey.findFirstOrThrow({ where: { userId: own.userId } })).id;
  });
  afterAll(async () => {
    await app?.close();
  });

  /** A fresh agent of the caller's, so that each test starts with no memories. */
  async function newAgent(): Promise<string> {
    agentCount += 1;
    const id = `agent-writes-${agentCount}`;
    await app.database.owner.agent.create({ data: { id, organizationId: own.organizationId, name: id } });
    return id;
  }
  const input = (agentId: string, content: string, importance = 0.5): CreateMemoryInput => ({
    agentId,
    content,
    importance,
    memoryType: 'FACTUAL',
    scope: 'user',
    level: 'core',
  });
  async function createOne(value: CreateMemoryInput) {
    const result = (await app.graphql(CreateOne, { input: value })).data!.createMemory;
    if (result.__typename !== 'MemoryPayload') throw new Error(`createMemory returned ${JSON.stringify(result)}`);
    return result;
  }
  async function history(id: string, first = 100) {
    const response = await app.graphql(History, { id, first });
    expect(response.errors).toBeUndefined();
    return response.data!.memory!.history;
  }
  const liveCount = (agentId: string) => app.database.owner.memory.count({ where: { agentId, isDeleted: false } });

  it('hashes the normalized content: NFKC, lower case, whitespace runs as one space, trimmed', () => {
    expect(normalizeContent('  Tea\u00a0 AT\n\tＦｉｖｅ  ')).toBe('tea at five');
    expect(contentHash('Tea at five')).toBe(createHash('sha256').update('tea at five').digest('hex'));
    expect(contentHash('tea at five')).not.toBe(contentHash('tea at six'));
  });

  it(
    "hashed older memories in the migration by the server's rule where their content is ASCII, " +
      'and left the others without a hash',
    async () => {
      const migration = fs.readFileSync(
        path.join(__dirname, '..', '..', 'prisma', 'migrations', '20261127200000_recall_writes', 'migration.sql'),
        'utf8',
      );
      const rehash = /UPDATE "memories" SET "hash" = CASE[\s\S]*?END/.exec(migration)![0];
      const agentId = await newAgent();
      const contents = ['  Tea\tat  FIVE\n', 'plain', 'MiXeD   Case\r\nlines ', 'Ｆｕｌｌ width', 'café au lait'];
      for (const [index, content] of contents.entries()) {
        await app.database.owner.memory.create({
          data: {
            id: `memory-rehash-${index}`,
            organizationId: own.organizationId,
            userId: own.userId,
            agentId,
            content,
            hash: 'a client hash',
            memoryType: 'factual',
            scope: 'user',
            level: 'core',
          },
        });
      }
      await app.database.owner.$executeRawUnsafe(`${rehash} WHERE "agent_id" = $1`, agentId);
      const rows = await app.database.owner.memory.findMany({ where: { agentId }, orderBy: { id: 'asc' } });
      expect(rows.map((row) => row.hash)).toEqual([
        contentHash(contents[0]!),
        contentHash(contents[1]!),
        contentHash(contents[2]!),
        null,
        null,
      ]);
    },
  );

  it('returns the existing memory for the same content, raises its importance, and records the merge', async () => {
    const agentId = await newAgent();
    const first = await createOne(input(agentId, 'Ada drinks tea at five', 0.3));
    expect(first.deduplicated).toBe(false);
    expect(first.memory.hash).toBe(contentHash('Ada drinks tea at five'));

    const again = await createOne(input(agentId, '  ada DRINKS tea\n at five ', 0.7));
    expect(again).toMatchObject({
      deduplicated: true,
      memory: { id: first.memory.id, importance: expect.closeTo(0.7, 5), content: 'Ada drinks tea at five' },
    });
    // A lower importance leaves it as it is.
    const lower = await createOne(input(agentId, 'Ada drinks tea at five', 0.1));
    expect(lower).toMatchObject({
      deduplicated: true,
      memory: { id: first.memory.id, importance: expect.closeTo(0.7, 5) },
    });
    expect(await liveCount(agentId)).toBe(1);

    // Another agent's memory with the same content is another memory.
    const elsewhere = await createOne(input(await newAgent(), 'Ada drinks tea at five'));
    expect(elsewhere.deduplicated).toBe(false);

    const { nodes, totalCount } = await history(first.memory.id);
    expect(totalCount).toBe(3);
    expect(nodes.map((node) => node.event)).toEqual(['DEDUPE', 'DEDUPE', 'CREATE']);
    expect(nodes[1]).toMatchObject({
      changedFields: ['importance'],
      before: { importance: expect.closeTo(0.3, 5) },
      after: { importance: expect.closeTo(0.7, 5) },
    });
    expect(nodes[0]!.changedFields).toEqual([]);
    expect(nodes[2]).toMatchObject({
      memoryId: first.memory.id,
      before: null,
      after: {
        content: 'Ada drinks tea at five',
        hash: first.memory.hash,
        isDeleted: false,
        memoryType: 'factual',
        scope: 'user',
        level: 'core',
        metadata: {},
      },
      actorUserId: own.userId,
      apiKeyId,
    });
  });

  it('dedupes within a batch and against stored memories; a bad item refuses the whole batch, naming it', async () => {
    const agentId = await newAgent();
    const existing = await createOne(input(agentId, 'likes kyoto', 0.2));
    const batch = (
      await app.graphql(CreateBatch, {
        inputs: [
          input(agentId, 'new fact', 0.1),
          input(agentId, 'LIKES KYOTO', 0.6),
          input(agentId, 'new  fact', 0.4),
          input(agentId, 'other fact', 0.5),
        ],
      })
    ).data!.createMemories;
    if (batch.__typename !== 'MemoriesPayload') throw new Error(JSON.stringify(batch));
    const [newFact, kyoto, newFactAgain, otherFact] = batch.results;
    expect(batch.results.map((result) => result.deduplicated)).toEqual([false, true, true, false]);
    expect(kyoto!.memory).toEqual({ id: existing.memory.id, importance: expect.closeTo(0.6, 5) });
    expect(newFactAgain!.memory).toEqual({ id: newFact!.memory.id, importance: expect.closeTo(0.4, 5) });
    expect(batch.memories.map((memory) => memory.id)).toEqual(
      [newFact, kyoto, newFactAgain, otherFact].map((result) => result!.memory.id),
    );
    expect(await liveCount(agentId)).toBe(3);
    expect((await history(newFact!.memory.id)).nodes.map((node) => node.event)).toEqual(['DEDUPE', 'CREATE']);

    const memoriesBefore = await app.database.owner.memory.count();
    const historyBefore = await app.database.owner.memoryHistory.count();
    const refused = (
      await app.graphql(CreateBatch, {
        inputs: [input(agentId, 'fine'), input(agentId, 'likes kyoto', 0.9), { ...input(agentId, 'x'), scope: '' }],
      })
    ).data!.createMemories;
    expect(refused).toMatchObject({ code: 'VALIDATION', field: ['inputs', '2', 'scope'] });
    const missing = (
      await app.graphql(CreateBatch, {
        inputs: [input(agentId, 'likes kyoto', 0.9), { ...input(agentId, 'y'), agentId: other.agentId }],
      })
    ).data!.createMemories;
    expect(missing).toMatchObject({ code: 'NOT_FOUND', field: ['inputs', '1', 'agentId'] });
    expect(await app.database.owner.memory.count()).toBe(memoriesBefore);
    expect(await app.database.owner.memoryHistory.count()).toBe(historyBefore);
    expect(
      (await app.database.owner.memory.findUniqueOrThrow({ where: { id: existing.memory.id } })).importance,
    ).toBeCloseTo(0.6, 5);
  });

  it('creates one memory when many callers create the same content at once', async () => {
    const agentId = await newAgent();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        app.graphqlAs(own.key, CreateOne, { input: input(agentId, `Concurrent  Content`, index / 20) }),
      ),
    );
    const payloads = results.map((result) => result.data!.createMemory);
    const ids = new Set(
      payloads.map((payload) => (payload.__typename === 'MemoryPayload' ? payload.memory.id : payload.__typename)),
    );
    expect(ids.size).toBe(1);
    expect(payloads.filter((payload) => payload.__typename === 'MemoryPayload' && !payload.deduplicated)).toHaveLength(
      1,
    );
    expect(await liveCount(agentId)).toBe(1);
    const [memory] = await app.database.owner.memory.findMany({ where: { agentId } });
    expect(memory!.importance).toBeCloseTo(11 / 20, 5);
    expect(await app.database.owner.memoryHistory.count({ where: { memoryId: memory!.id } })).toBe(12);
  });

  it('records updates, deletes and restores; content that duplicates a live memory is a CONFLICT', async () => {
    const agentId = await newAgent();
    const kept = await createOne(input(agentId, 'first content'));
    const changing = await createOne(input(agentId, 'second content'));
    const id = changing.memory.id;

    const conflict = (await app.graphql(Update, { id, input: { content: 'FIRST content' } })).data!.updateMemory;
    expect(conflict).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT', field: ['input', 'content'] });
    expect(conflict.__typename === 'ConflictError' && conflict.message).toContain(kept.memory.id);

    expect(
      (await app.graphql(Update, { id, input: { content: 'third content', scope: 'project' } })).data!.updateMemory,
    ).toEqual({
      __typename: 'MemoryPayload',
      memory: { hash: contentHash('third content') },
    });
    expect((await app.graphql(Delete, { id })).data!.deleteMemory.__typename).toBe('DeletedPayload');
    // Deleted: a memory with its old content may be created again, and then restoring is a conflict.
    const replacement = await createOne(input(agentId, 'third content'));
    expect(replacement.deduplicated).toBe(false);
    expect((await app.graphql(Restore, { id })).data!.restoreMemory).toMatchObject({ code: 'CONFLICT', field: ['id'] });
    await app.graphql(Delete, { id: replacement.memory.id });
    expect((await app.graphql(Restore, { id })).data!.restoreMemory.__typename).toBe('MemoryPayload');

    const { nodes } = await history(id);
    expect(nodes.map((node) => [node.event, node.changedFields])).toEqual([
      ['RESTORE', ['isDeleted']],
      ['DELETE', ['isDeleted']],
      ['UPDATE', ['content', 'hash', 'scope']],
      [
        'CREATE',
        [
          'content',
          'hash',
          'metadata',
          'score',
          'memoryType',
          'scope',
          'level',
          'importance',
          'isDeleted',
          'validFrom',
          'validUntil',
          'supersededById',
          'expiresAt',
        ],
      ],
    ]);
    expect(nodes[1]).toMatchObject({
      before: { isDeleted: false, content: 'third content' },
      after: { isDeleted: true },
    });
  });

  it('pages history newest first, and another organization never sees it', async () => {
    const agentId = await newAgent();
    const created = await createOne(input(agentId, 'paged', 0.1));
    for (const importance of [0.2, 0.3, 0.4, 0.5])
      await app.graphql(Update, { id: created.memory.id, input: { importance } });
    const first = await app.graphql(History, { id: created.memory.id, first: 2 });
    const page = first.data!.memory!.history;
    expect(page.totalCount).toBe(5);
    expect(page.nodes.map((node) => (node.after as { importance: number }).importance)).toEqual([
      expect.closeTo(0.5, 5),
      expect.closeTo(0.4, 5),
    ]);
    const next = (await app.graphql(History, { id: created.memory.id, first: 10, after: page.pageInfo.endCursor }))
      .data!.memory!.history;
    expect(next.nodes.map((node) => node.event)).toEqual(['UPDATE', 'UPDATE', 'CREATE']);
    expect((await app.graphql(History, { id: created.memory.id, first: 101 })).errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION',
    });

    app.useKey(other.key);
    try {
      expect((await app.graphql(History, { id: created.memory.id })).data!.memory).toBeNull();
    } finally {
      app.useKey(own.key);
    }
    // Beneath the API: the other organization's scope shows none of it, and cannot write into it.
    const { prisma } = app.database;
    expect(
      await withOrganization(other.organizationId, () =>
        prisma.memoryHistory.count({ where: { memoryId: created.memory.id } }),
      ),
    ).toBe(0);
    expect(
      await withOrganization(own.organizationId, () =>
        prisma.memoryHistory.count({ where: { memoryId: created.memory.id } }),
      ),
    ).toBe(5);
    await expect(
      withOrganization(other.organizationId, () =>
        prisma.memoryHistory.create({
          data: {
            id: 'history-smuggled',
            organizationId: other.organizationId,
            memoryId: created.memory.id,
            event: 'update',
          },
        }),
      ),
    ).rejects.toThrow();
  });

  it('prunes all but the most important (ties: the newest stays), in one statement, with history', async () => {
    const agentId = await newAgent();
    // Equal importance for two, created one after the other: the newer stays.
    const ids: Record<string, string> = {};
    for (const [content, importance] of [
      ['low', 0.1],
      ['tie older', 0.5],
      ['tie newer', 0.5],
      ['high', 0.9],
      ['middle', 0.3],
    ] as const) {
      ids[content] = (await createOne(input(agentId, content, importance))).memory.id;
    }
    expect((await app.graphql(Prune, { agentId, keep: -1 })).data!.pruneMemories).toMatchObject({
      code: 'VALIDATION',
      field: ['keep'],
    });
    expect((await app.graphql(Prune, { agentId: other.agentId, keep: 1 })).data!.pruneMemories).toMatchObject({
      code: 'NOT_FOUND',
      field: ['agentId'],
    });
    expect(await liveCount(agentId)).toBe(5);

    const { result, statements } = await app.countStatements(() => app.graphql(Prune, { agentId, keep: 2 }));
    expect(result.data!.pruneMemories).toEqual({ __typename: 'PruneMemoriesPayload', agentId, removed: 3 });
    expect(statements.filter((sql) => /memories|memory_history/.test(sql))).toHaveLength(1);
    const live = (await app.graphql(LiveContents, { agentId })).data!.memories.nodes.map((node) => node.content).sort();
    expect(live).toEqual(['high', 'tie newer']);
    // A pruned memory is deleted, so read beneath the API; its history shows again once it is restored.
    const [prunedEntry] = await app.database.owner.memoryHistory.findMany({
      where: { memoryId: ids['tie older']! },
      orderBy: { seq: 'desc' },
    });
    expect(prunedEntry).toMatchObject({
      event: 'prune',
      before: { isDeleted: false, content: 'tie older' },
      after: { isDeleted: true, content: 'tie older' },
      actorUserId: own.userId,
      apiKeyId,
    });
    await app.graphql(Restore, { id: ids['tie older']! });
    expect((await history(ids['tie older']!)).nodes.map((node) => [node.event, node.changedFields])).toEqual([
      ['RESTORE', ['isDeleted']],
      ['PRUNE', ['isDeleted']],
      [
        'CREATE',
        Object.keys({
          content: 1,
          hash: 1,
          metadata: 1,
          score: 1,
          memoryType: 1,
          scope: 1,
          level: 1,
          importance: 1,
          isDeleted: 1,
          validFrom: 1,
          validUntil: 1,
          supersededById: 1,
          expiresAt: 1,
        }),
      ],
    ]);
    await app.graphql(Delete, { id: ids['tie older']! });
    expect((await app.graphql(Prune, { agentId, keep: 2 })).data!.pruneMemories).toMatchObject({ removed: 0 });
    expect((await app.graphql(Prune, { agentId, keep: 0 })).data!.pruneMemories).toMatchObject({ removed: 2 });
  });

  it('prunes once under concurrent prunes and creations', async () => {
    const agentId = await newAgent();
    const inputs = Array.from({ length: 60 }, (_, index) => input(agentId, `fact number ${index}`, (index % 10) / 10));
    await app.graphql(CreateBatch, { inputs });
    const prunes = Array.from({ length: 6 }, () => app.graphqlAs(own.key, Prune, { agentId, keep: 10 }));
    const creations = Array.from({ length: 4 }, (_, index) =>
      app.graphqlAs(own.key, CreateOne, { input: input(agentId, `late fact ${index}`, 0.95) }),
    );
    const [pruned] = await Promise.all([Promise.all(prunes), Promise.all(creations)]);
    const removed = pruned.map((response) => {
      const payload = response.data!.pruneMemories;
      if (payload.__typename !== 'PruneMemoriesPayload') throw new Error(JSON.stringify(response));
      return payload.removed;
    });
    const deleted = await app.database.owner.memory.count({ where: { agentId, isDeleted: true } });
    // Each memory was removed once and counted once, and its removal recorded once.
    expect(removed.reduce((sum, count) => sum + count, 0)).toBe(deleted);
    expect(await app.database.owner.memoryHistory.count({ where: { event: 'prune', memory: { agentId } } })).toBe(
      deleted,
    );
    // Creations that came after a prune survive it; whatever the interleaving, at most keep plus them remain.
    const live = await liveCount(agentId);
    expect(live).toBeGreaterThanOrEqual(10);
    expect(live).toBeLessThanOrEqual(14);
    expect(deleted).toBe(64 - live);
  });
});
