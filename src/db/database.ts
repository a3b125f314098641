import fs from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { describeDatabase, type DatabaseSettings } from '../config/settings';
import { PrismaClient } from '../generated/prisma/client';
import type { Logger } from '../logger';
import { outageLog } from './availability';
import { migrateDeploy, migrateDeployPglite } from './migrate';
import { openPglite } from './pglite';
import { createPostgresPool, describeConnectionFailure, poolAnswers } from './postgres';
import { retryingReads, retryingTransactions, type RetryPolicy } from './retries';
import { withRowLevelSecurity } from './row-level-security';

/** The database cannot be opened at start-up: the start fails with this one line. */
export class DatabaseUnreachableError extends Error {
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
   * The connection's login role as it is, for operators' commands and tests that must see every
   * organization (it bypasses row-level security only when that login is a superuser, as on
   * PGlite). Never handed to a request. Built on first use.
   */
  readonly owner: PrismaClient;
  /** Applies pending committed migrations (`prisma migrate deploy`). */
  migrate(): Promise<void>;
  /** Whether the application's connections answer now (one `SELECT 1`, no retries): for /ready. */
  answers(): Promise<boolean>;
  /** Calls `listener` with every SQL statement Prisma sends, until the returned function is called. */
  onStatement(listener: (sql: string) => void): () => void;
  close(): Promise<void>;
}

type DatabaseParts = Pick<Database, 'kind' | 'migrate' | 'answers' | 'close'>;

/**
 * The one place that builds PrismaClients: the application's over `scoped`, whose statements are
 * all subject to row-level security, and the owner's over `unscoped`. With `retries` (PostgreSQL),
 * the application's transient failures are retried where that is safe (src/db/retries.ts).
 */
function withPrismaClients(
  scoped: SqlDriverAdapterFactory,
  unscoped: SqlDriverAdapterFactory,
  parts: DatabaseParts,
  retries?: RetryPolicy,
): Database {
  const base = new PrismaClient({
    adapter: retries ? retryingReads(scoped, retries) : scoped,
    log: [{ emit: 'event', level: 'query' }],
    // A transaction's connection may wait for the database up to the retry limit: Prisma must not
    // give up on it first (its default is 2 s).
    ...(retries && { transactionOptions: { maxWait: retries.waitLimitMs + 1000 } }),
  });
  let owner: PrismaClient | undefined;
  const listeners = new Set<(sql: string) => void>();
  base.$on('query', (event) => listeners.forEach((listener) => listener(event.query)));
  const prisma = retries ? retryingTransactions(base, retries) : base;
  return {
    ...parts,
    prisma,
    get owner() {
      owner ??= new PrismaClient({ adapter: unscoped });
      return owner;
    },
    onStatement(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await prisma.$disconnect();
      await owner?.$disconnect();
      await parts.close();
    },
  };
}

async function openPostgres(settings: Extract<DatabaseSettings, { kind: 'postgres' }>, logger: Logger | undefined): Promise<Database> {
  // Two pools: the application's, whose connections take the request's scope at each checkout,
  // and the owner's (also for this check, which may precede the migrations that create the
  // application role). Pools connect lazily: the owner's opens nothing unless it is used.
  const ownerPool = createPostgresPool(settings);
  try {
    await ownerPool.query('SELECT 1');
  } catch (error) {
    await ownerPool.end();
    throw new DatabaseUnreachableError(`cannot reach ${describeDatabase(settings)}: ${describeConnectionFailure(error)}`);
  }
  const pool = createPostgresPool(settings, { rowScoped: true, events: outageLog(logger) });
  const parts: DatabaseParts = {
    kind: 'postgres',
    migrate: () => migrateDeploy(settings.url),
    answers: () => poolAnswers(pool),
    async close() {
      await pool.end();
      await ownerPool.end();
    },
  };
  return withPrismaClients(new PrismaPg(pool), new PrismaPg(ownerPool), parts, { waitLimitMs: settings.connectTimeoutMs });
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
  return withPrismaClients(withRowLevelSecurity(new PrismaPGlite(opened.pglite)), new PrismaPGlite(opened.pglite), {
    kind: 'pglite',
    migrate: () => migrateDeployPglite(opened.pglite),
    // In this process: it answers as long as the process runs.
    answers: () => opened.pglite.query('SELECT 1').then(() => true, () => false),
    close: () => opened.close(),
  });
}

/** Opens the configured database; `logger` hears of outages of a PostgreSQL server. */
export function openDatabase(settings: DatabaseSettings, logger?: Logger): Promise<Database> {
  return settings.kind === 'postgres' ? openPostgres(settings, logger) : openEmbedded(settings);
}
