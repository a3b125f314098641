import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  SqlResultSet,
  Transaction,
} from '@prisma/driver-adapter-utils';
import type { PrismaClient } from '../generated/prisma/client';
import { isDatabaseUnavailable, isTransientFailure } from './connection-failures';
import { adaptedFactory, DelegatingAdapter } from './delegating-adapter';
import type { ScopedSql } from './row-level-security';
import { readStatement } from './statements';

/**
 * Transient failures are run again where that cannot write twice, at three layers (PostgreSQL only):
 *
 * 1. Taking a connection (`RowScopedPool`): nothing of the caller's has been sent yet, so any
 *    statement may wait there for the database to come back, until `waitLimitMs`.
 * 2. A read outside a transaction (`retryingReads` for Prisma's, `retryingScopedReads` for the
 *    raw SQL of `Database.sql`): a SELECT changes nothing, so it is sent again when its connection
 *    broke under it or it lost a race.
 * 3. A transaction (`retryingTransactions`): the whole callback runs again when its attempt
 *    certainly did not commit, that is when it failed before its COMMIT was sent, or when the
 *    server answered the COMMIT with an error (which rolls it back). A connection lost while
 *    COMMIT was under way leaves its outcome unknown: that is never run again; the client gets
 *    503 and may retry under its Idempotency-Key.
 *
 * A write outside a transaction (Prisma's single statements, e.g. `updateMany`) is not run again
 * once sent: only layer 1 covers it.
 */
export interface RetryPolicy {
  /** How long one statement, read or transaction may wait for the database in all. */
  waitLimitMs: number;
}

const MAX_ATTEMPTS = 3;

/** Exponential backoff with jitter: about 50, 100, 200, 400 ms, then 500 ms between attempts. */
export function retryPause(attempt: number): number {
  const ceiling = Math.min(500, 50 * 2 ** attempt);
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withRetries<T>(
  policy: RetryPolicy,
  work: () => Promise<T>,
  mayRetry: (error: unknown) => boolean,
): Promise<T> {
  const deadline = Date.now() + policy.waitLimitMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const pause = retryPause(attempt);
      if (attempt + 1 >= MAX_ATTEMPTS || Date.now() + pause >= deadline || !mayRetry(error)) throw error;
      await sleep(pause);
    }
  }
}

/** Where the COMMIT of the current transaction attempt got to (see `retryingTransactions`). */
interface Attempt {
  commit: 'not sent' | 'sent' | 'refused';
}
const currentAttempt = new AsyncLocalStorage<Attempt>();

/**
 * A transaction whose end (COMMIT or ROLLBACK) failed still gives its connection back. Prisma
 * 6.19 sent COMMIT/ROLLBACK and only then called commit()/rollback(), which release the
 * connection, without a `finally`: when the statement failed, as it does on a broken connection,
 * the connection was never returned, and after `DATABASE_POOL_SIZE` such failures the pool was
 * full of dead connections for good ("timeout exceeded when trying to connect"). Prisma 7.10
 * releases it itself; this still does, and also records whether COMMIT was sent, for the retries.
 */
class EndReleasingTransaction implements Transaction {
  readonly provider: Transaction['provider'];
  readonly adapterName: string;
  readonly options: Transaction['options'];
  private released = false;

  constructor(private readonly transaction: Transaction) {
    this.provider = transaction.provider;
    this.adapterName = transaction.adapterName;
    this.options = transaction.options;
  }

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.transaction.queryRaw(query);
  }

  async executeRaw(query: SqlQuery): Promise<number> {
    const ending = query.sql === 'COMMIT' || query.sql === 'ROLLBACK';
    if (!ending) return this.transaction.executeRaw(query);
    const attempt = currentAttempt.getStore();
    if (attempt && query.sql === 'COMMIT') attempt.commit = 'sent';
    try {
      return await this.transaction.executeRaw(query);
    } catch (error) {
      // The server's own answer to COMMIT (not a lost connection) means it rolled back.
      if (attempt && query.sql === 'COMMIT' && !isDatabaseUnavailable(error)) attempt.commit = 'refused';
      await this.rollback().catch(() => undefined);
      throw error;
    }
  }

  commit(): Promise<void> {
    return this.end(() => this.transaction.commit());
  }

  rollback(): Promise<void> {
    return this.end(() => this.transaction.rollback());
  }

  private async end(release: () => Promise<void>): Promise<void> {
    if (this.released) return;
    this.released = true;
    await release();
  }
}

class RetryingAdapter extends DelegatingAdapter {
  constructor(
    driver: SqlDriverAdapter,
    private readonly policy: RetryPolicy,
  ) {
    super(driver);
  }

  override queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    if (!readStatement.test(query.sql)) return this.driver.queryRaw(query);
    return withRetries(this.policy, () => this.driver.queryRaw(query), isTransientFailure);
  }

  override async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    return new EndReleasingTransaction(await this.driver.startTransaction(isolationLevel));
  }
}

/** `factory`'s connections, with reads outside transactions retried and transactions' ends guarded. */
export function retryingReads(factory: SqlDriverAdapterFactory, policy: RetryPolicy): SqlDriverAdapterFactory {
  return adaptedFactory(factory, (driver) => new RetryingAdapter(driver, policy));
}

/** `sql`, with its SELECTs retried as Prisma's are (see above). */
export function retryingScopedReads(sql: ScopedSql, policy: RetryPolicy): ScopedSql {
  return {
    query<Row>(text: string, values: readonly unknown[]): Promise<Row[]> {
      if (!readStatement.test(text)) return sql.query<Row>(text, values);
      return withRetries(policy, () => sql.query<Row>(text, values), isTransientFailure);
    },
  };
}

/**
 * `prisma` with `$transaction(callback)` run again while its attempts certainly did not commit
 * (see above). The callbacks are written to be run again: they read what they decide on inside
 * the transaction, and nothing outside the database sees an attempt that rolled back.
 * Prisma's documented way to wrap `$transaction` is a client extension; its type is the same
 * client's, so it is handed out as a PrismaClient.
 */
export function retryingTransactions(prisma: PrismaClient, policy: RetryPolicy): PrismaClient {
  const transaction = prisma.$transaction.bind(prisma) as (...args: unknown[]) => Promise<unknown>;
  const extended = prisma.$extends({
    client: {
      $transaction(...args: unknown[]): Promise<unknown> {
        // Batches ($transaction([…])) hold promises that run once: they pass through.
        if (typeof args[0] !== 'function') return transaction(...args);
        let attempt: Attempt = { commit: 'not sent' };
        return withRetries(
          policy,
          () => {
            attempt = { commit: 'not sent' };
            // Awaited inside, so that the COMMIT, sent after the callback, still sees its attempt.
            return currentAttempt.run(attempt, async () => await transaction(...args));
          },
          (error) => attempt.commit !== 'sent' && isTransientFailure(error),
        );
      },
    },
  });
  return extended as unknown as PrismaClient;
}
