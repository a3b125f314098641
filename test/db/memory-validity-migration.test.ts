import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SCOPES } from '../../src/auth/caller';
import { issueApiKey } from '../../src/auth/keys';
import { migrateDeploy, migrateDeployPglite } from '../../src/db/migrate';
import { openPglite } from '../../src/db/pglite';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';
import { createEmptyDatabase } from '../support/test-databases';

/**
 * Migration 20261203100000_memory_validity on a database that already holds memories (issue 17:
 * "migrations fill the existing rows sensibly"): the database is migrated up to the migration
 * before it, with a copy of the first migrations, memories are written as they were then, and the
 * rest of the migrations run. Every memory was true from its creation and still is: recall now
 * returns the live ones.
 */

const MIGRATION = '20261203100000_memory_validity';
const projectRoot = path.resolve(__dirname, '..', '..');
const migrations = path.join(projectRoot, 'prisma', 'migrations');

const Recall = graphql(`
  query ValidityBackfillRecall($agentId: ID!) {
    memories(filter: { agentId: $agentId }, orderBy: { field: CREATED_AT, direction: ASC }, track: false) {
      totalCount
      nodes { id validFrom validUntil expiresAt supersededBy { id } }
    }
    searchMemories(query: "lives", filter: { agentId: $agentId }, track: false) {
      memory { id validFrom validUntil }
    }
  }
`);

/** A Prisma config whose migrations are the committed ones before `MIGRATION` only. */
function configBefore(root: string): string {
  const earlier = path.join(root, 'migrations');
  fs.mkdirSync(earlier);
  const names = fs.readdirSync(migrations).filter((name) => /^\d{14}_/.test(name));
  expect(names).toContain(MIGRATION);
  for (const name of names.filter((name) => name < MIGRATION)) {
    fs.cpSync(path.join(migrations, name), path.join(earlier, name), { recursive: true });
  }
  fs.copyFileSync(path.join(migrations, 'migration_lock.toml'), path.join(earlier, 'migration_lock.toml'));
  const config = path.join(root, 'prisma.config.mjs');
  // As prisma.config.ts, without its imports (this file is outside the project): the schema engine is
  // the project's WebAssembly build, the database the one migrateDeploy names.
  fs.writeFileSync(
    config,
    `process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= ${JSON.stringify(path.join(projectRoot, 'scripts', 'schema-engine'))};
export default {
  schema: ${JSON.stringify(path.join(projectRoot, 'prisma', 'schema.prisma'))},
  migrations: { path: ${JSON.stringify(earlier)} },
  datasource: { url: process.env.DATABASE_URL },
};
`,
  );
  return config;
}

type Query = (text: string, values?: unknown[]) => Promise<Record<string, unknown>[]>;

describe('migration 20261203100000_memory_validity on existing memories', () => {
  let root: string;
  let empty: Awaited<ReturnType<typeof createEmptyDatabase>>;
  let app: TestApp | undefined;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'issue-17-tests-backfill-'));
    empty = await createEmptyDatabase('validity_backfill');
  });
  afterAll(async () => {
    await app?.close();
    await empty?.drop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Migrates the database (with `config`, or every migration) and runs `work` on a raw connection. */
  async function migrated<T>(config: string | undefined, work: (query: Query) => Promise<T>): Promise<T> {
    const settings = empty.settings;
    if (settings.kind === 'postgres') {
      await migrateDeploy(settings.url, { config });
      const client = new pg.Client({ connectionString: settings.url });
      await client.connect();
      try {
        return await work(async (text, values) => (await client.query(text, values)).rows);
      } finally {
        await client.end();
      }
    }
    const opened = await openPglite(settings.dataDir);
    try {
      await migrateDeployPglite(opened.pglite, { config });
      return await work(
        async (text, values) => (await opened.pglite.query<Record<string, unknown>>(text, values)).rows,
      );
    } finally {
      await opened.close();
    }
  }

  it('makes every memory valid from its creation, open-ended, and recalled now', async () => {
    const organizationId = 'organization-backfill';
    const userId = 'user-backfill';
    const agentId = 'agent-backfill';
    const created = {
      'memory-backfill-paris': '2019-03-04T05:06:07.123Z',
      'memory-backfill-tea': '2021-11-12T13:14:15.678Z',
      'memory-backfill-deleted': '2022-01-02T03:04:05.000Z',
    };

    // Before the migration: the columns are not there yet; memories of the past, one in the trash.
    const before = await migrated(configBefore(root), async (query) => {
      await query(`INSERT INTO organizations (id, name) VALUES ($1, 'Backfill')`, [organizationId]);
      await query(`INSERT INTO users (id, organization_id, name) VALUES ($1, $2, 'Backfill')`, [
        userId,
        organizationId,
      ]);
      await query(`INSERT INTO agents (id, organization_id, name) VALUES ($1, $2, 'Backfill')`, [
        agentId,
        organizationId,
      ]);
      for (const [id, at] of Object.entries(created)) {
        await query(
          `INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, created_at,
             updated_at, is_deleted)
           VALUES ($1, $2, $3, $4, $5, 'factual', 'user', 'core', $6, $6, $7)`,
          [id, organizationId, userId, agentId, `The user lives by ${id}`, at, id === 'memory-backfill-deleted'],
        );
      }
      return {
        applied: (await query('SELECT migration_name FROM _prisma_migrations')).map((row) => row.migration_name),
        columns: await query(
          `SELECT column_name FROM information_schema.columns
           WHERE table_name = 'memories' AND column_name = 'valid_from'`,
        ),
      };
    });
    expect(before.applied).not.toContain(MIGRATION);
    expect(before.applied.length).toBeGreaterThan(0);
    expect(before.columns).toEqual([]);

    // The rest of the migrations: each memory valid from its creation, not ended, superseded or expiring.
    const after = await migrated(undefined, async (query) => ({
      applied: (await query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL')).length,
      rows: await query(
        `SELECT id, valid_from = created_at AS from_creation, valid_until, superseded_by_id, expires_at
         FROM memories ORDER BY id`,
      ),
    }));
    expect(after.applied).toBe(fs.readdirSync(migrations).filter((name) => /^\d{14}_/.test(name)).length);
    expect(after.rows).toEqual(
      Object.keys(created)
        .sort()
        .map((id) => ({ id, from_creation: true, valid_until: null, superseded_by_id: null, expires_at: null })),
    );

    // Recall now: the live ones, in the list and in search, each valid since its creation.
    app = await startTestApp('validity_backfill', { database: empty.settings });
    const { key } = await issueApiKey(app.database.owner, { organizationId, userId }, { name: 'test', scopes: SCOPES });
    app.useKey(key);
    const response = await app.graphql(Recall, { agentId });
    expect(response.errors).toBeUndefined();
    const live = ['memory-backfill-paris', 'memory-backfill-tea'] as const;
    expect(response.data!.memories).toEqual({
      totalCount: 2,
      nodes: live.map((id) => ({ id, validFrom: created[id], validUntil: null, expiresAt: null, supersededBy: null })),
    });
    expect(response.data!.searchMemories.map((hit) => hit.memory).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      live.map((id) => ({ id, validFrom: created[id], validUntil: null })),
    );
  }, 300_000);
});
