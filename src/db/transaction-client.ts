import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { ScopedSql } from './row-level-security';

type TransactionWork = (prisma: Prisma.TransactionClient) => Promise<unknown>;

/**
 * `tx`, an open interactive transaction, as the PrismaClient that a request's resolvers expect:
 * everything they send goes into that one transaction. Resolvers also open transactions of their
 * own (`context.prisma.$transaction(async (tx) => …)`), and rely on them to undo their writes
 * when they throw (a typed error such as NOT_FOUND halfway through `createAgent`). PostgreSQL
 * does not nest transactions, so each of those becomes a savepoint of the enclosing one: it is
 * released when the work succeeds and rolled back to when it throws, as a transaction would be.
 * Transaction options (isolation level, timeouts) belong to the enclosing transaction.
 */
export function transactionBoundClient(tx: Prisma.TransactionClient): PrismaClient {
  let savepoints = 0;

  async function inSavepoint<T>(work: () => Promise<T>): Promise<T> {
    savepoints += 1;
    // A counter, never input: the name is safe to splice into the statement.
    const name = `nested_${savepoints}`;
    await tx.$executeRawUnsafe(`SAVEPOINT ${name}`);
    let result: T;
    try {
      result = await work();
    } catch (error) {
      // Should the transaction itself be gone, the work's error is the one worth reporting.
      await tx.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      throw error;
    }
    await tx.$executeRawUnsafe(`RELEASE SAVEPOINT ${name}`);
    return result;
  }

  function $transaction(work: TransactionWork | Promise<unknown>[]): Promise<unknown> {
    if (typeof work === 'function') return inSavepoint(() => work(bound));
    // The batch form: Prisma's promises are lazy, so awaiting them in turn runs them in order.
    return inSavepoint(async () => {
      const results: unknown[] = [];
      for (const query of work) results.push(await query);
      return results;
    });
  }

  const bound: Prisma.TransactionClient = new Proxy(tx, {
    get: (target, property, receiver) =>
      property === '$transaction' ? $transaction : Reflect.get(target, property, receiver),
  });
  // The interactive client lacks only the members a request never uses ($connect, $on, …) and
  // the $transaction supplied above.
  return bound as unknown as PrismaClient;
}

/** Raw SQL (`context.sql`) into the same open transaction `tx`. */
export function transactionBoundSql(tx: Prisma.TransactionClient): ScopedSql {
  return {
    query: <Row>(text: string, values: readonly unknown[]) => tx.$queryRawUnsafe<Row[]>(text, ...values),
  };
}
