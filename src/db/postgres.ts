import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import type { DatabaseSettings } from '../config/settings';
import { CatalogTextClient } from './catalog-text-client';

export type PostgresSettings = Extract<DatabaseSettings, { kind: 'postgres' }>;

/** The one pg pool factory, for the server and for the Prisma CLI (prisma.config.ts). */
export function createPostgresPool(settings: PostgresSettings): pg.Pool {
  // Separate fields rather than `connectionString`: adapter-pg derives the shadow database of
  // `migrate dev` by overriding `database`, which a connection string would silently win over.
  const { host, port, user, password, database, ssl } = parseConnectionString(settings.url);
  return new pg.Pool({
    host: host ?? undefined,
    port: port ? Number(port) : undefined,
    user,
    password,
    database: database ?? undefined,
    ssl: ssl === null ? undefined : (ssl as pg.PoolConfig['ssl']),
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    Client: CatalogTextClient,
    // The Prisma CLI never ends its pool: idle connections must not keep it running.
    allowExitOnIdle: true,
  });
}

const reasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'connection timed out',
  '3D000': 'the database does not exist',
  '28P01': 'password authentication failed',
  '28000': 'the server rejected the user',
};

/** A short, secret-free reason for a failed connection, for the one-line startup error. */
export function describeConnectionFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && reasons[code]) return reasons[code];
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) return 'connection timed out (DATABASE_CONNECT_TIMEOUT_MS)';
  return message.split('\n')[0] ?? 'unknown error';
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * The adapter factory of the Prisma CLI. It differs from plain PrismaPg in one thing: the shadow
 * database of `migrate diff --from-migrations` / `migrate dev` is dropped after its pool has
 * ended (adapter-pg 6.19 drops it first and fails with "being accessed by other users").
 */
export class PostgresMigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';

  constructor(private readonly settings: PostgresSettings) {}

  connect(): Promise<SqlDriverAdapter> {
    return new PrismaPg(createPostgresPool(this.settings)).connect();
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const admin = createPostgresPool({ ...this.settings, poolSize: 1 });
    const name = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    const shadowPool = createPostgresPool({ ...this.settings, url: withDatabase(this.settings.url, name) });
    const adapter = await new PrismaPg(shadowPool).connect();
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
