import { withOrganization } from '../../src/db/row-level-security';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateNotes = graphql(`
  mutation CreateVersionedBlock($input: CreateBlockInput!) {
    createBlock(input: $input) { __typename ... on BlockPayload { block { id version } } ... on Error {
      code field message } }
  }
`);

const UpdateVersioned = graphql(`
  mutation UpdateVersionedBlock($id: ID!, $input: UpdateBlockInput!, $expectedVersion: Int) {
    updateBlock(id: $id, input: $input, expectedVersion: $expectedVersion) {
      __typename
      ... on BlockPayload { version block { id value version } }
      ... on VersionConflictError { code field message currentVersion }
      ... on BlockLimitExceededError { length limit }
      ... on Error { code field message }
    }
  }
`);

const RevertVersioned = graphql(`
  mutation RevertVersionedBlock($id: ID!, $version: Int!, $expectedVersion: Int) {
    revertBlock(id: $id, version: $version, expectedVersion: $expectedVersion) {
      __typename
      ... on BlockPayload { block { id value limit description metadata version } }
      ... on VersionConflictError { code field currentVersion }
      ... on Error { code field message }
    }
  }
`);

const BlockHistory = graphql(`
  query BlockHistory($id: ID!, $first: Int, $after: String) {
    block(id: $id) {
      version
      history(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { id blockId version value limit description metadata changedAt changedById apiKeyId changedBy { id } }
      }
    }
  }
`);

const CreateHistoryUser = graphql(`
  mutation CreateHistoryUser { createUser(input: { name: "Colleague" }) { __typename ... on UserPayload { user {
    id } } } }
`);
const CreateHistoryKey = graphql(`
  mutation CreateHistoryKey($userId: ID!) {
    createApiKey(input: { name: "colleague", scopes: [WRITE], userId: $userId }) { __typename ... on CreatedApiKey {
      key apiKey { id } } }
  }
`);
const PurgeHistoryUser = graphql(`
  mutation PurgeHistoryUser($id: ID!) { purgeUser(id: $id) { __typename } }
`);

describe('block versions and history', () => {
  let app: TestApp;
  let demo: DemoData;
  let other: DemoData;
  let apiKeyId: string;

  beforeAll(async () => {
    app = await startTestApp('block_versions', { rateLimit: { requests: 0, windowSeconds: 60 } });
    demo = await app.seedDemo();
    other = await app.seedDemo();
    apiKeyId = (await app.database.owner.apiKey.findFirstOrThrow({ where: { organizationId: demo.organizationId } }))
      .id;
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  const newBlock = async (value: string, limit = 100) => {
    const created = (
      await app.graphql(CreateNotes, {
        input: { label: 'notes', value, limit, description: 'first', metadata: { step: 1 } },
      })
    ).data!.createBlock;
    if (created.__typename !== 'BlockPayload') throw new Error(`createBlock returned ${created.__typename}`);
    expect(created.block.version).toBe(1);
    return created.block.id;
  };
  const update = async (id: string, value: string, expectedVersion?: number, key = demo.key) =>
    (await app.graphqlAs(key, UpdateVersioned, { id, input: { value }, expectedVersion })).data!.updateBlock;
  const stored = (id: string) => app.database.owner.block.findUniqueOrThrow({ where: { id } });
  const historyRows = (id: string) =>
    app.database.owner.blockVersion.findMany({ where: { blockId: id }, orderBy: { version: 'asc' } });

  it('counts versions; a stale expectedVersion is a conflict naming the current one, and changes nothing', async () => {
    const id = await newBlock('one');
    expect(await update(id, 'two', 1)).toMatchObject({
      __typename: 'BlockPayload',
      version: 2,
      block: { value: 'two', version: 2 },
    });
    // Without expectedVersion the write goes through, and says which version it made.
    expect(await update(id, 'three')).toMatchObject({
      __typename: 'BlockPayload',
      version: 3,
      block: { value: 'three', version: 3 },
    });

    const before = await stored(id);
    expect(await update(id, 'stale', 2)).toEqual({
      __typename: 'VersionConflictError',
      code: 'CONFLICT',
      field: ['expectedVersion'],
      currentVersion: 3,
      message: 'the block is at version 3, not 2: it changed since it was read',
    });
    expect(await stored(id)).toEqual(before);
    expect((await historyRows(id)).map((row) => row.version)).toEqual([1, 2, 3]);

    expect(await update(id, 'x', 0)).toMatchObject({ __typename: 'ValidationError', field: ['expectedVersion'] });
    expect(await update(id, 'x'.repeat(101), 3)).toMatchObject({ __typename: 'BlockLimitExceededError', limit: 100 });
    expect(await update('block-nobody', 'x', 1)).toMatchObject({ __typename: 'NotFoundError', field: ['id'] });
    expect(await stored(id)).toEqual(before);
  });

  it('lets exactly one of concurrent writers with the same expectedVersion win', async () => {
    const id = await newBlock('start');
    // The guard is the UPDATE itself: one statement, conditional on the version read.
    const { statements } = await app.countStatements(() => update(id, 'probe', 1));
    const updates = statements.filter((sql) => /^UPDATE "public"\."blocks"/.test(sql));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatch(/"version" = \$\d+.*RETURNING/s);
    await app.database.owner.block.update({ where: { id }, data: { version: 1, value: 'start' } });
    await app.database.owner.blockVersion.deleteMany({ where: { blockId: id, version: 2 } });
    const writers = Array.from({ length: 8 }, (_, index) => `writer ${index}`);
    const answers = await Promise.all(writers.map((value) => update(id, value, 1)));

    const winners = answers.filter((answer) => answer.__typename === 'BlockPayload');
    expect(winners).toHaveLength(1);
    const losers = answers.filter((answer) => answer.__typename === 'VersionConflictError');
    expect(losers).toHaveLength(writers.length - 1);
    for (const loser of losers)
      expect(loser).toMatchObject({ code: 'CONFLICT', currentVersion: 2, field: ['expectedVersion'] });

    const won = winners[0]!.__typename === 'BlockPayload' ? winners[0]!.block.value : '';
    expect(await stored(id)).toMatchObject({ value: won, version: 2 });
    expect((await historyRows(id)).map((row) => [row.version, row.value])).toEqual([
      [1, 'start'],
      [2, won],
    ]);
  });

  it('applies every one of concurrent writers without expectedVersion, each as its own version', async () => {
    const id = await newBlock('start');
    const answers = await Promise.all(Array.from({ length: 6 }, (_, index) => update(id, `writer ${index}`)));
    // Each answer names the version it made (its `block` is read after, maybe after another change).
    const versions = answers.map((answer) =>
      answer.__typename === 'BlockPayload' ? answer.version : answer.__typename,
    );
    expect([...versions].sort()).toEqual([2, 3, 4, 5, 6, 7]);
    const rows = await historyRows(id);
    expect(rows.map((row) => row.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(rows.slice(1).map((row) => row.value))).toEqual(
      new Set(Array.from({ length: 6 }, (_, index) => `writer ${index}`)),
    );
    expect(await stored(id)).toMatchObject({ version: 7, value: rows.at(-1)!.value });
  });

  it('lists the history newest first, with who made each version and when, in pages', async () => {
    const id = await newBlock('v1');
    await update(id, 'v2');
    await app.graphql(UpdateVersioned, { id, input: { description: 'second', metadata: { step: 3 } } });
    await app.graphql(UpdateVersioned, { id, input: { limit: 50 } });

    const first = (await app.graphql(BlockHistory, { id, first: 3 })).data!.block!;
    expect(first.version).toBe(4);
    expect(first.history.totalCount).toBe(4);
    expect(
      first.history.nodes.map((node) => [node.version, node.value, node.limit, node.description, node.metadata]),
    ).toEqual([
      [4, 'v2', 50, 'second', { step: 3 }],
      [3, 'v2', 100, 'second', { step: 3 }],
      [2, 'v2', 100, 'first', { step: 1 }],
    ]);
    for (const node of first.history.nodes) {
      expect(node).toMatchObject({ blockId: id, changedById: demo.userId, apiKeyId, changedBy: { id: demo.userId } });
    }
    const times = first.history.nodes.map((node) => Date.parse(node.changedAt as string));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(first.history.pageInfo.hasNextPage).toBe(true);

    const rest = (await app.graphql(BlockHistory, { id, first: 3, after: first.history.pageInfo.endCursor })).data!
      .block!.history;
    expect(rest.nodes.map((node) => [node.version, node.value])).toEqual([[1, 'v1']]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect(
      (await app.graphqlUntyped(`{ block(id: "${id}") { history(first: 101) { totalCount } } }`)).errors?.[0]
        ?.extensions,
    ).toMatchObject({ code: 'VALIDATION', field: ['first'] });
  });

  it('records the version a block had before history was kept, at its first change', async () => {
    // As rows written outside the API, or before this migration where it could not see them.
    const id = await newBlock('made long ago');
    await app.database.owner.blockVersion.deleteMany({ where: { blockId: id } });
    await update(id, 'changed now');
    const rows = await historyRows(id);
    expect(rows.map((row) => [row.version, row.value, row.changedById])).toEqual([
      [1, 'made long ago', null],
      [2, 'changed now', demo.userId],
    ]);
  });

  it('reverts to a version as a new one, within the current limit, and refuses what breaks the rules', async () => {
    const id = await newBlock('short');
    await update(id, 'a much longer value than before'); // v2
    await app.graphql(UpdateVersioned, { id, input: { value: 'tiny', description: 'third', metadata: null } }); // v3
    const revert = async (version: number, expectedVersion?: number) =>
      (await app.graphql(RevertVersioned, { id, version, expectedVersion })).data!.revertBlock;

    expect(await revert(1, 3)).toMatchObject({
      __typename: 'BlockPayload',
      block: { value: 'short', description: 'first', metadata: { step: 1 }, limit: 100, version: 4 },
    });
    expect((await historyRows(id)).map((row) => [row.version, row.value])).toEqual([
      [1, 'short'],
      [2, 'a much longer value than before'],
      [3, 'tiny'],
      [4, 'short'],
    ]);

    const before = await stored(id);
    expect(await revert(2, 3)).toMatchObject({
      __typename: 'VersionConflictError',
      currentVersion: 4,
      field: ['expectedVersion'],
    });
    expect(await revert(9)).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND', field: ['version'] });
    expect(await revert(0)).toMatchObject({ __typename: 'ValidationError', field: ['version'] });
    // Lower the limit below version 2's value: reverting to it is refused, nothing changes.
    expect(await app.graphql(UpdateVersioned, { id, input: { limit: 10 }, expectedVersion: 4 })).toMatchObject({
      data: { updateBlock: { __typename: 'BlockPayload', block: { version: 5 } } },
    });
    const limited = await stored(id);
    expect(await revert(2)).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION', field: ['version'] });
    expect(await stored(id)).toEqual(limited);
    expect(limited.value).toBe(before.value);
    expect(await app.database.owner.blockVersion.count({ where: { blockId: id } })).toBe(5);
  });

  it('keeps the versions of a user purged since, without their author', async () => {
    const id = await newBlock('by the demo user');
    const user = (await app.graphql(CreateHistoryUser)).data!.createUser;
    if (user.__typename !== 'UserPayload') throw new Error(`createUser returned ${user.__typename}`);
    const created = (await app.graphql(CreateHistoryKey, { userId: user.user.id })).data!.createApiKey;
    if (created.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${created.__typename}`);
    expect(await update(id, 'by a colleague', 1, created.key)).toMatchObject({
      __typename: 'BlockPayload',
      version: 2,
    });
    expect((await historyRows(id))[1]).toMatchObject({ changedById: user.user.id, apiKeyId: created.apiKey.id });

    expect((await app.graphql(PurgeHistoryUser, { id: user.user.id })).data!.purgeUser.__typename).toBe(
      'DeletedPayload',
    );
    expect((await historyRows(id)).map((row) => [row.version, row.value, row.changedById, row.apiKeyId])).toEqual([
      [1, 'by the demo user', demo.userId, apiKeyId],
      [2, 'by a colleague', null, null],
    ]);
  });

  it("keeps another organization out of a block's history and versions", async () => {
    const id = await newBlock('private');
    await update(id, 'private, changed');
    const before = await app.database.owner.blockVersion.findMany({
      where: { blockId: id },
      orderBy: { version: 'asc' },
    });

    expect((await app.graphqlAs(other.key, BlockHistory, { id })).data).toEqual({ block: null });
    expect(await update(id, 'taken over', 2, other.key)).toMatchObject({ __typename: 'NotFoundError', field: ['id'] });
    const reverted = (await app.graphqlAs(other.key, RevertVersioned, { id, version: 1 })).data!.revertBlock;
    expect(reverted).toMatchObject({ __typename: 'NotFoundError', field: ['id'] });
    expect(
      await app.database.owner.blockVersion.findMany({ where: { blockId: id }, orderBy: { version: 'asc' } }),
    ).toEqual(before);

    // Beneath the API, row-level security: the other organization's scope sees none of the rows
    // and cannot write one for this block.
    const seen = await withOrganization(other.organizationId, () =>
      app.database.prisma.$queryRawUnsafe<Array<{ count: number }>>(
        'SELECT count(*)::int AS count FROM block_history WHERE block_id = $1',
        id,
      ),
    );
    expect(seen).toEqual([{ count: 0 }]);
    await expect(
      withOrganization(other.organizationId, () =>
        app.database.prisma.blockVersion.create({
          data: {
            id: `${id}:v99`,
            organizationId: other.organizationId,
            blockId: id,
            version: 99,
            value: 'forged',
            limit: 10,
          },
        }),
      ),
    ).rejects.toThrow();
    expect(await app.database.owner.blockVersion.count({ where: { blockId: id, version: 99 } })).toBe(0);
  });
});
