import { withOrganization } from '../../src/db/row-level-security';
import { transactionBoundClient } from '../../src/db/transaction-client';
import type { DemoData } from '../../src/demo/seed';
import { ValidationError } from '../../src/errors';
import type { PrismaClient } from '../../src/generated/prisma/client';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The client an idempotent mutation hands its resolvers: one enclosing transaction, in which
 * their own `$transaction` calls are savepoints that undo their writes when they throw.
 */
describe('transactionBoundClient', () => {
  let app: TestApp;
  let demo: DemoData;
  beforeAll(async () => {
    app = await startTestApp('transaction_client');
    demo = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  const tool = (name: string) => ({ data: { id: `tool-${name}`, organizationId: demo.organizationId, name } });
  const committedTools = async (names: string[]) =>
    (await app.database.owner.tool.findMany({ where: { name: { in: names } }, orderBy: { name: 'asc' } })).map(
      (row) => row.name,
    );

  /** Runs `work` with a bound client inside one transaction of the caller's organization, then commits. */
  const inEnclosingTransaction = (work: (client: PrismaClient) => Promise<void>) =>
    withOrganization(demo.organizationId, () =>
      app.database.prisma.$transaction((tx) => work(transactionBoundClient(tx))),
    );

  it('undoes the writes of a nested transaction that throws, and keeps the rest of the enclosing one', async () => {
    await inEnclosingTransaction(async (client) => {
      await client.tool.create(tool('before'));
      await expect(
        client.$transaction(async (nested) => {
          await nested.tool.create(tool('undone'));
          throw new ValidationError('refused halfway');
        }),
      ).rejects.toThrow('refused halfway');
      expect(await client.$transaction(async (nested) => (await nested.tool.create(tool('nested'))).name)).toBe(
        'nested',
      );
      // The enclosing transaction sees its own writes, not the undone one.
      expect(await client.tool.count({ where: { name: { in: ['before', 'undone', 'nested'] } } })).toBe(2);
    });
    expect(await committedTools(['before', 'undone', 'nested'])).toEqual(['before', 'nested']);
  });

  it('keeps the enclosing transaction usable after a statement fails inside a nested one', async () => {
    await app.database.owner.tool.create(tool('taken'));
    await inEnclosingTransaction(async (client) => {
      // A duplicate id: PostgreSQL would abort the whole transaction without the savepoint.
      await expect(client.$transaction((nested) => nested.tool.create(tool('taken')))).rejects.toThrow();
      await client.tool.create(tool('after failure'));
    });
    expect(await committedTools(['after failure'])).toEqual(['after failure']);
  });

  it('runs the batch form in order, all or none', async () => {
    await inEnclosingTransaction(async (client) => {
      await expect(
        client.$transaction([client.tool.create(tool('batch one')), client.tool.create(tool('taken'))]),
      ).rejects.toThrow();
      const created = await client.$transaction([
        client.tool.create(tool('batch two')),
        client.tool.create(tool('batch three')),
      ]);
      expect(created.map((row) => row.name)).toEqual(['batch two', 'batch three']);
    });
    expect(await committedTools(['batch one', 'batch two', 'batch three'])).toEqual(['batch three', 'batch two']);
  });
});
