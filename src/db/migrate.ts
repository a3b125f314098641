import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

class MigrationError extends Error {
  override name = 'MigrationError';
}

const projectRoot = path.resolve(__dirname, '..', '..');

export interface MigrateOptions {
  /**
   * Another Prisma config file (`--config`) than the project's prisma.config.ts: for tests that
   * migrate a database only part of the way, with a copy of the first migrations, to test what a
   * later one does to the rows already there (test/db/memory-validity-migration.test.ts).
   */
  config?: string;
}

/**
 * Applies the committed migrations with `prisma migrate deploy`: the real CLI, so that what
 * runs here is exactly what runs in production.
 */
export async function migrateDeploy(databaseUrl: string, options: MigrateOptions = {}): Promise<void> {
  const cli = require.resolve('prisma/build/index.js');
  const config = options.config ? ['--config', options.config] : [];
  try {
    await promisify(execFile)(process.execPath, [cli, 'migrate', 'deploy', ...config], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const output =
      String((error as { stderr?: unknown }).stderr ?? '') + String((error as { stdout?: unknown }).stdout ?? '');
    const cause =
      output.split('\n').find((line) => /^(Error|P\d{4})/.test(line.trim())) ?? 'see `npx prisma migrate status`';
    throw new MigrationError(`applying migrations failed: ${cause.trim()}`);
  }
}

/**
 * PGlite lives inside this process, and only one process may open its directory; the CLI runs
 * in another. So for the length of the migration the open database is served on a loopback
 * port with the PostgreSQL wire protocol, and the CLI connects to it like to any server.
 */
export async function migrateDeployPglite(pglite: PGlite, options: MigrateOptions = {}): Promise<void> {
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0 });
  await server.start();
  try {
    await migrateDeploy(`postgresql://postgres@${server.getServerConn()}/postgres`, options);
  } finally {
    await server.stop();
  }
}
