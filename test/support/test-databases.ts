import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type DatabaseSettings, loadSettings } from '../../src/config/settings';

/**
 * Every test run makes its own databases and removes them: on the PostgreSQL server named by
 * DATABASE_URL when it is set (its own database is only used to issue CREATE/DROP DATABASE),
 * otherwise in PGlite directories under the system's temp directory. The user's data is never
 * touched.
 */
export const TEMPLATE_ENV = 'AGENTMEM_TEST_TEMPLATE';

export type TestDatabaseKind = DatabaseSettings['kind'];

export function testDatabaseKind(): TestDatabaseKind {
  return loadSettings().database.kind;
}

function serverUrl(): string {
  const database = loadSettings().database;
  if (database.kind !== 'postgres') throw new Error('DATABASE_URL is not set');
  return database.url;
}

export function urlFor(database: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function uniqueName(purpose: string): string {
  return `agentmem_test_${purpose}_${randomBytes(5).toString('hex')}`;
}

function settingsFor(kind: TestDatabaseKind, location: string): DatabaseSettings {
  return kind === 'postgres'
    ? { kind: 'postgres', url: urlFor(location), poolSize: 5, connectTimeoutMs: 5000 }
    : { kind: 'pglite', dataDir: location };
}

/** An empty database: no tables at all. */
export async function createEmptyDatabase(
  purpose: string,
): Promise<{ settings: DatabaseSettings; drop(): Promise<void> }> {
  const kind = testDatabaseKind();
  if (kind === 'postgres') {
    const name = uniqueName(purpose);
    await withAdminClient((client) => client.query(`CREATE DATABASE "${name}"`));
    return { settings: settingsFor(kind, name), drop: () => dropPostgresDatabase(name) };
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-test-'));
  const dataDir = path.join(root, 'pglite');
  return { settings: settingsFor(kind, dataDir), drop: async () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** A copy of the run's migrated template (made once by global-setup.ts). */
export async function cloneMigratedDatabase(
  purpose: string,
): Promise<{ settings: DatabaseSettings; drop(): Promise<void> }> {
  const template = process.env[TEMPLATE_ENV];
  if (!template) throw new Error(`${TEMPLATE_ENV} is not set: run the tests through jest (global-setup.ts)`);
  const kind = testDatabaseKind();
  if (kind === 'postgres') {
    const name = uniqueName(purpose);
    await withAdminClient((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
    return { settings: settingsFor(kind, name), drop: () => dropPostgresDatabase(name) };
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-test-'));
  const dataDir = path.join(root, 'pglite');
  fs.cpSync(template, dataDir, { recursive: true });
  return { settings: settingsFor(kind, dataDir), drop: async () => fs.rmSync(root, { recursive: true, force: true }) };
}

export async function dropPostgresDatabase(name: string): Promise<void> {
  await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
