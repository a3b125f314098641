import fs from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
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
  close(): Promise<void>;
}

async function openPostgres(settings: Extract<DatabaseSettings, { kind: 'postgres' }>): Promise<Database> {
  const pool = createPostgresPool(settings);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    throw new DatabaseUnavailableError(`cannot reach ${describeDatabase(settings)}: ${describeConnectionFailure(error)}`);
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    prisma,
    migrate: () => migrateDeploy(settings.url),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
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
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(opened.pglite) });
  return {
    kind: 'pglite',
    prisma,
    migrate: () => migrateDeployPglite(opened.pglite),
    async close() {
      await prisma.$disconnect();
      await opened.close();
    },
  };
}

export function openDatabase(settings: DatabaseSettings): Promise<Database> {
  return settings.kind === 'postgres' ? openPostgres(settings) : openEmbedded(settings);
}
