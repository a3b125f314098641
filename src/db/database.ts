import fs from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { describeDatabase, type DatabaseSettings } from '../config/settings';
import { PrismaClient } from '../generated/prisma/client';
import { migrateDeploy, migrateDeployPglite } from './migrate';
import { openPglite } from './pglite';
import { createPostgresPool, describeConnectionFailure } from './postgres';

export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/** The opened database: the rest of the code sees a PrismaClient and does not know which. */
export interface Database {
  readonly kind: DatabaseSettings['kind'];
  readonly prisma: PrismaClient;
  /** Applies pending committed migrations (`prisma migrate deploy`). */
  migrate(): Promise<void>;
  /** Calls `listener` with every SQL statement Prisma sends, until the returned function is called. */
  onStatement(listener: (sql: string) => void): () => void;
  close(): Promise<void>;
}

type DatabaseParts = Omit<Database, 'prisma' | 'onStatement'>;

/** The one place that builds the PrismaClient, over whichever adapter was opened. */
function withPrismaClient(adapter: SqlDriverAdapterFactory, parts: (prisma: PrismaClient) => DatabaseParts): Database {
  const prisma = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  const listeners = new Set<(sql: string) => void>();
  prisma.$on('query', (event) => listeners.forEach((listener) => listener(event.query)));
  return {
    prisma,
    onStatement(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ...parts(prisma),
  };
}

async function openPostgres(settings: Extract<DatabaseSettings, { kind: 'postgres' }>): Promise<Database> {
  const pool = createPostgresPool(settings);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    throw new DatabaseUnavailableError(`cannot reach ${describeDatabase(settings)}: ${describeConnectionFailure(error)}`);
  }
  return withPrismaClient(new PrismaPg(pool), (prisma) => ({
    kind: 'postgres',
    migrate: () => migrateDeploy(settings.url),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  }));
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
  return withPrismaClient(new PrismaPGlite(opened.pglite), (prisma) => ({
    kind: 'pglite',
    migrate: () => migrateDeployPglite(opened.pglite),
    async close() {
      await prisma.$disconnect();
      await opened.close();
    },
  }));
}

export function openDatabase(settings: DatabaseSettings): Promise<Database> {
  return settings.kind === 'postgres' ? openPostgres(settings) : openEmbedded(settings);
}
