import fs from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { type DatabaseSettings, describeDatabase } from '../config/settings';
import { PrismaClient } from '../generated/prisma/client';
import type { Logger } from '../logger';
import { outageLog } from './availability';
import { describeConnectionFailure } from './connection-failures';
import { migrateDeploy, migrateDeployPglite } from './migrate';
import { openPglite } from './pglite';
import { createApplicationPool, createPostgresPool, poolAnswers, scopedSqlOver } from './postgres';
import { type RetryPolicy, retryingReads, retryingScopedReads, retryingTransactions } from './retries';
import {
  type ScopedSql,
  type StatementEnd,
  type StatementReporter,
  scopedSqlOverPglite,
  withRowLevelSecurity,
} from './row-level-security';

/** The database cannot be opened at start-up: the start fails with this one line. */
class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

/** The opened database: the rest of the code sees a PrismaClient and does not know which. */
export interface Database {
  readonly kind: DatabaseSettings['kind'];
  /**
   * The application's client: every statement runs as the application role under row-level
   * security, seeing the rows of the organization set by `withOrganization` and no others.
   */
  readonly prisma: PrismaClient;
  /**
   * Raw SQL under the same row-level security as `prisma`, for the hot reads that skip Prisma's
   * runtime (src/planner, src/auth/authenticate.ts).
   */
  readonly sql: ScopedSql;
  /**
   * The connection's login role as it is, for operators' commands and tests that must see every
   * organization (it bypasses row-level security only when that login is a superuser, as on
   * PGlite). Never handed to a request. Built on first use.
   */
  readonly owner: PrismaClient;
  /** Applies pending committed migrations (`prisma migrate deploy`). */
  migrate(): Promise<void>;
  /** Whether the application's connections answer now (one `SELECT 1`, no retries): for /ready. */
  answers(): Promise<boolean>;
  /**
   * Calls `listener` with every SQL statement the application's connections send (Prisma's, raw
   * SQL and the row-level security scoping alike), until the returned function is called.
   */
  onStatement(listener: StatementListener): () => void;
  /**
   * The application's pool of PostgreSQL connections as it is now: open, idle, and requests
   * waiting for one. Undefined on PGlite, which has one in-process session and no pool.
   */
  pool(): { total: number; idle: number; waiting: number } | undefined;
  close(): Promise<void>;
}

type DatabaseParts = Pick<Database, 'kind' | 'migrate' | 'answers' | 'close' | 'sql' | 'pool'>;

/** Told of a statement as it is sent; a function it returns is called when the statement ends. */
type StatementListener = (sql: string) => StatementEnd | unknown;

/** Where the application's connections report the statements they send, for `onStatement`. */
class StatementListeners {
  private readonly listeners = new Set<StatementListener>();
  readonly report: StatementReporter = (sql) => {
    if (this.listeners.size === 0) return undefined;
    let ends: StatementEnd[] | undefined;
    for (const listener of this.listeners) {
      const end = listener(sql);
      if (typeof end === 'function') (ends ??= []).push(end as StatementEnd);
    }
    if (!ends) return undefined;
    const all = ends;
    return (error) => {
      for (const end of all) end(error);
    };
  };
  add(listener: StatementListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * The one place that builds PrismaClients: the application's over `scoped`, whose statements are
 * all subject to row-level security, and the owner's over `unscoped`. With `retries` (PostgreSQL),
 * the application's transient failures are retried where that is safe (src/db/retries.ts).
 */
function withPrismaClients(
  scoped: SqlDriverAdapterFactory,
  unscoped: SqlDriverAdapterFactory,
  listeners: StatementListeners,
  parts: DatabaseParts,
  retries?: RetryPolicy,
): Database {
  const base = new PrismaClient({
    adapter: retries ? retryingReads(scoped, retries) : scoped,
    // A transaction's connection may wait for the database up to the retry limit: Prisma must not
    // give up on it first (its default is 2 s).
    ...(retries && { transactionOptions: { maxWait: retries.waitLimitMs + 1000 } }),
  });
  const prisma = retries ? retryingTransactions(base, retries) : base;
  let owner: PrismaClient | undefined;
  return {
    ...parts,
    prisma,
    get owner() {
      owner ??= new PrismaClient({ adapter: unscoped });
      return owner;
    },
    onStatement: (listener) => listeners.add(listener),
    async close() {
      await prisma.$disconnect();
      await owner?.$disconnect();
      await parts.close();
    },
  };
}

async function openPostgres(
  settings: Extract<DatabaseSettings, { kind: 'postgres' }>,
  logger: Logger | undefined,
): Promise<Database> {
  // Two pools: the application's, whose connections take the request's scope at each checkout,
  // and the owner's (also for this check, which may precede the migrations that create the
  // application role). Pools connect lazily: the owner's opens nothing unless it is used.
  const ownerPool = createPostgresPool(settings);
  try {
    await ownerPool.query('SELECT 1');
  } catch (error) {
    await ownerPool.end();
    throw new DatabaseUnreachableError(
      `cannot reach ${describeDatabase(settings)}: ${describeConnectionFailure(error)}`,
    );
  }
  const listeners = new StatementListeners();
  const pool = createApplicationPool(settings, {
    report: listeners.report,
    events: outageLog(logger),
    onReplicaDown: (replica, error) =>
      logger?.warn(
        { replica, reason: describeConnectionFailure(error) },
        'read replica unavailable: its reads go elsewhere for now',
      ),
  });
  const retries: RetryPolicy = { waitLimitMs: settings.connectTimeoutMs };
  const parts: DatabaseParts = {
    kind: 'postgres',
    sql: retryingScopedReads(scopedSqlOver(pool, { prepared: settings.pooler !== 'transaction' }), retries),
    migrate: () => migrateDeploy(settings.url),
    answers: () => poolAnswers(pool),
    pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      await pool.end();
      await ownerPool.end();
    },
  };
  return withPrismaClients(new PrismaPg(pool), new PrismaPg(ownerPool), listeners, parts, retries);
}

async function openEmbedded(settings: Extract<DatabaseSettings, { kind: 'pglite' }>): Promise<Database> {
  const isNew = !fs.existsSync(settings.dataDir);
  let opened: Awaited<ReturnType<typeof openPglite>>;
  try {
    opened = await openPglite(settings.dataDir);
  } catch (error) {
    // A directory that initdb did not finish is useless: leave nothing half-created.
    if (isNew && error instanceof Error && error.name !== 'DataDirectoryInUseError') {
      fs.rmSync(settings.dataDir, { recursive: true, force: true });
    }
    throw error;
  }
  const listeners = new StatementListeners();
  return withPrismaClients(
    withRowLevelSecurity(new PrismaPGlite(opened.pglite), listeners.report),
    new PrismaPGlite(opened.pglite),
    listeners,
    {
      kind: 'pglite',
      sql: scopedSqlOverPglite(opened.pglite, listeners.report),
      migrate: () => migrateDeployPglite(opened.pglite),
      // In this process: it answers as long as the process runs.
      answers: () =>
        opened.pglite.query('SELECT 1').then(
          () => true,
          () => false,
        ),
      pool: () => undefined,
      close: () => opened.close(),
    },
  );
}

/** Opens the configured database; `logger` hears of outages of a PostgreSQL server. */
export function openDatabase(settings: DatabaseSettings, logger?: Logger): Promise<Database> {
  return settings.kind === 'postgres' ? openPostgres(settings, logger) : openEmbedded(settings);
}
