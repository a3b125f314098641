import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { createPostgresPool, type PostgresSettings } from './pools';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * adapter-pg (6.19 and 7.10 alike) runs a migration script by splitting it on every `;`, which breaks `DO $$ … $$`
 * bodies and any comment with a semicolon. A statement without parameters goes over the simple
 * query protocol instead (node-postgres chooses it when `values` is empty), which takes the whole
 * script and runs it as one implicit transaction: a migration applies completely or not at all.
 */
function runningWholeScripts(adapter: SqlDriverAdapter): SqlDriverAdapter {
  adapter.executeScript = async (script) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  return adapter;
}

/**
 * The adapter factory of the Prisma CLI. It differs from plain PrismaPg in two things: scripts run
 * whole (above), and the shadow database of `migrate diff --from-migrations` / `migrate dev` is
 * dropped after its pool has ended (adapter-pg 7.10, as 6.19, drops it
 * first and fails with "being accessed by other users").
 */
export class PostgresMigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';

  constructor(private readonly settings: PostgresSettings) {}

  async connect(): Promise<SqlDriverAdapter> {
    return runningWholeScripts(await new PrismaPg(createPostgresPool(this.settings)).connect());
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const admin = createPostgresPool({ ...this.settings, poolSize: 1 });
    const name = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    const shadowPool = createPostgresPool({ ...this.settings, url: withDatabase(this.settings.url, name) });
    const adapter = runningWholeScripts(await new PrismaPg(shadowPool).connect());
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      await shadowPool.end();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    };
    return adapter;
  }
}
