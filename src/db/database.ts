import fs from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { describeDatabase, type DatabaseSettings } from '../config/settings';
import { PrismaClient } from '../generated/prisma/client';
import { migrateDeploy, migrateDeployPglite } from './migrate';
import { openPglite } from './pglite';
import { createPostgresPool, describeConnectionFailure } from './postgres';
import { withRowLevelSecurity } from './row-level-security';

export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
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
  /** Calls `listener` with every SQL statement Prisma sends, until the returned function is called. */
  onStatement(listener: (sql: string) => void): () => void;
  close(): Promise<void>;
}

type DatabaseParts = Pick<Database, 'kind' | 'migrate' | 'close'>;

/**
 * The one place that builds PrismaClients: the application's over `scoped`, whose statements are
 * all subject to row-level security, and the owner's over `unscoped`.
 */
function withPrismaClients(scoped: SqlDriverAdapterFactory, unscoped: SqlDriverAdapterFactory, parts: DatabaseParts): Database {
  const prisma = new PrismaClient({ adapter: scoped, log: [{ emit: 'event', level: 'query' }] });
  let owner: PrismaClient | undefined;
  const listeners = new Set<(sql: string) => void>();
  prisma.$on('query', (event) => listeners.forEach((listener) => listener(event.query)));
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

async function openPostgres(settings: Extract<DatabaseSettings, { kind: 'postgres' }>): Promise<Database> {
  // Two pools: the application's, whose connections take the request's scope at each checkout,
  // and the owner's (also for this check, which may precede the migrations that create the
  // application role). Pools connect lazily: the owner's opens nothing unless it is used.
  const ownerPool = createPostgresPool(settings);
  try {
    await ownerPool.query('SELECT 1');
  } catch (error) {
    await ownerPool.end();
    throw new DatabaseUnavailableError(`cannot reach ${describeDatabase(settings)}: ${describeConnectionFailure(error)}`);
  }
  const pool = createPostgresPool(settings, { rowScoped: true });
  return withPrismaClients(new PrismaPg(pool), new PrismaPg(ownerPool), {
    kind: 'postgres',
    migrate: () => migrateDeploy(settings.url),
    async close() {
      await pool.end();
      await ownerPool.end();
    },
  });
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
    close: () => opened.close(),
  });
}

export function openDatabase(settings: DatabaseSettings): Promise<Database> {
  return settings.kind === 'postgres' ? openPostgres(settings) : openEmbedded(settings);
}
