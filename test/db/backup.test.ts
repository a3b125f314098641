import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { hashApiKey } from '../../src/auth/keys';
import type { DatabaseSettings } from '../../src/config/settings';
import { openDatabase } from '../../src/db/database';
import { openPglite } from '../../src/db/pglite';
import { withOrganization } from '../../src/db/row-level-security';
import { type DemoData, seedDemoData } from '../../src/demo/seed';
import { newId } from '../../src/ids';
import { type ServerProcess, startServerProcess } from '../support/server-process';
import { rowsOfOrganization } from '../support/tenant-rows';
import { cloneMigratedDatabase, createEmptyDatabase, testDatabaseKind } from '../support/test-databases';
import { createThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres';

// `npm run backup`, `npm run restore` and `npm run db:move` run as processes, as a user runs them,
// on real databases; the restored or moved database then serves a real server process. The
// PostgreSQL half also restores onto a second PostgreSQL server (a throwaway cluster, which lacks
// the application role) and moves an embedded database into PostgreSQL: both need a PostgreSQL
// server, so on PGlite they are reported skipped. The PGlite half backs up and restores the
// embedded database, which the PostgreSQL half has no reason to repeat.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;
const onPglite = testDatabaseKind() === 'pglite' ? it : it.skip;

const projectRoot = path.resolve(__dirname, '..', '..');
const TABLES = [
  '_prisma_migrations',
  'agents',
  'api_keys',
  'block_history',
  'blocks',
  'blocks_agents',
  'embedding_jobs',
  'idempotency_keys',
  'memories',
  'memory_history',
  'messages',
  'organizations',
  'tools',
  'tools_agents',
  'users',
];

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run <script> -- <args>` with only `env` besides PATH and HOME (no DATABASE_URL of the run's). */
function npmRun(script: string, args: string[], env: Record<string, string>): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', script, '--', ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A successful run, or the test fails with what the command said. */
async function npmRunOk(script: string, args: string[], env: Record<string, string>): Promise<ScriptRun> {
  const run = await npmRun(script, args, env);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  return run;
}

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

/**
 * Every row of every table of the schema public, as PostgreSQL's text of the whole row, sorted:
 * read with its own SQL, not the backup code's, so that a table the backup code overlooked shows.
 */
async function everyRow(query: Query): Promise<Record<string, string[]>> {
  for (const setting of ["SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", 'SET extra_float_digits = 1'])
    await query(setting);
  const tables = await query(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
  const rows: Record<string, string[]> = {};
  for (const { name } of tables) {
    const table = String(name);
    rows[table] = (await query(`SELECT t::text AS row FROM public."${table}" t ORDER BY 1`)).map((row) =>
      String(row.row),
    );
  }
  return rows;
}

async function everyPostgresRow(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await everyRow(async (sql) => (await client.query(sql)).rows as Record<string, unknown>[]);
  } finally {
    await client.end();
  }
}

async function everyPgliteRow(dataDir: string): Promise<Record<string, string[]>> {
  const opened = await openPglite(dataDir);
  try {
    return await everyRow(async (sql) => (await opened.pglite.query<Record<string, unknown>>(sql)).rows);
  } finally {
    await opened.close();
  }
}

interface Tenants {
  own: DemoData;
  other: DemoData;
}

/**
 * Two organizations with rows in every table: the demo's, an idempotency record, an embedding job, and a message
 * whose text and JSON carry quotes, backslashes, newlines, tabs and characters outside ASCII.
 */
async function seedEveryTable(settings: DatabaseSettings): Promise<Tenants> {
  const database = await openDatabase(settings);
  try {
    const seeded: DemoData[] = [];
    for (let index = 0; index < 2; index += 1) {
      const demo = await seedDemoData(database.prisma);
      await withOrganization(demo.organizationId, async () => {
        const key = await database.prisma.apiKey.findFirstOrThrow();
        await database.prisma.idempotencyKey.create({
          data: {
            apiKeyId: key.id,
            key: 'backup-test',
            organizationId: demo.organizationId,
            requestHash: 'a'.repeat(64),
            responseStatus: 200,
            responseBody: '{"data":{"ok":true}}',
            expiresAt: new Date(Date.now() + 86_400_000),
          },
        });
        // A memory waiting for the embedding provider: the queue is backed up, restored and moved too.
        const waiting = await database.prisma.memory.findFirstOrThrow({ select: { id: true } });
        await database.prisma.embeddingJob.create({
          data: { memoryId: waiting.id, organizationId: demo.organizationId },
        });
        await database.prisma.message.create({
          data: {
            id: newId('message'),
            organizationId: demo.organizationId,
            userId: demo.userId,
            agentId: demo.agentId,
            role: 'user',
            text: `it's a "quote", a back\\slash,\na newline,\ta tab, ü, 🧠`,
            content: { nested: [1, 2.5, null, 'ü', { deep: 'x"y' }] },
          },
        });
        // A fact that changed (issue 17): the older one names its successor, and is stored after
        // it (the successor's row rewritten last), so that a copy in storage order meets the
        // reference before the row it names.
        const memory = (id: string, content: string) => ({
          id,
          organizationId: demo.organizationId,
          userId: demo.userId,
          agentId: demo.agentId,
          content,
          memoryType: 'factual',
          scope: 'user',
          level: 'core',
        });
        const older = newId('memory');
        const newer = newId('memory');
        await database.prisma.memory.create({ data: { ...memory(older, 'Lives in Paris'), validFrom: new Date(0) } });
        await database.prisma.memory.create({
          data: { ...memory(newer, 'Lives in Lyon'), expiresAt: new Date(Date.now() + 86_400_000) },
        });
        await database.prisma.$executeRaw`UPDATE memories SET superseded_by_id = ${newer},
          valid_until = (SELECT valid_from FROM memories WHERE id = ${newer}) WHERE id = ${older}`;
        await database.prisma.$executeRaw`UPDATE memories SET importance = 0.5 WHERE id = ${newer}`;
      });
      seeded.push(demo);
    }
    const [own, other] = seeded as [DemoData, DemoData];
    return { own, other };
  } finally {
    await database.close();
  }
}

function expectEveryTableFilled(rows: Record<string, string[]>): void {
  expect(Object.keys(rows)).toEqual(TABLES);
  for (const [table, list] of Object.entries(rows))
    expect({ table, filled: list.length > 0 }).toEqual({ table, filled: true });
}

/** What a server answers each tenant's old key: its organization and its agent, over HTTP. */
async function expectKeysAccepted(server: ServerProcess, tenants: Tenants): Promise<void> {
  for (const tenant of [tenants.own, tenants.other]) {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.key}` },
      body: JSON.stringify({ query: '{ me { organization { id } } agents { nodes { id } } }' }),
    });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 200,
      body: {
        data: { me: { organization: { id: tenant.organizationId } }, agents: { nodes: [{ id: tenant.agentId }] } },
      },
    });
  }
}

const TENANT_TABLE_ORDER = [
  'organizations',
  'users',
  'agents',
  'blocks',
  'tools',
  'messages',
  'memories',
  'api_keys',
  'idempotency_keys',
  'blocks_agents',
  'tools_agents',
];

/**
 * `--organization`: the file holds the organization's rows, as many per table as it has, and no
 * trace of the other organization.
 */
async function expectOrganizationExport(file: string, settings: DatabaseSettings, tenants: Tenants): Promise<void> {
  const text = fs.readFileSync(file, 'utf8');
  const [headerLine, ...lines] = text.trimEnd().split('\n');
  const header = JSON.parse(headerLine ?? '{}') as {
    format?: string;
    version?: number;
    organizationId?: string;
    migrations?: string[];
  };
  expect(header).toMatchObject({
    format: 'agentmem-organization-export',
    version: 1,
    organizationId: tenants.own.organizationId,
  });
  expect(header.migrations?.length).toBeGreaterThan(0);
  const rows = lines.map((line) => JSON.parse(line) as { table: string; row: Record<string, unknown> });
  for (const { table, row } of rows) {
    const owner =
      table === 'organizations'
        ? row.id
        : (row.organization_id ?? (row.agent_id === tenants.own.agentId ? tenants.own.organizationId : row.agent_id));
    expect({ table, owner }).toEqual({ table, owner: tenants.own.organizationId });
  }
  for (const foreign of [tenants.other.organizationId, tenants.other.agentId, tenants.other.userId])
    expect(text).not.toContain(foreign);
  expect(rows.find((entry) => entry.table === 'api_keys')?.row.key_hash).toBe(hashApiKey(tenants.own.key));

  const database = await openDatabase(settings);
  try {
    const expected = await rowsOfOrganization(database.owner, tenants.own.organizationId);
    const counted = Object.fromEntries(
      TENANT_TABLE_ORDER.map((table) => [table, rows.filter((entry) => entry.table === table).length]),
    );
    expect(counted).toEqual(
      Object.fromEntries(TENANT_TABLE_ORDER.map((table, index) => [table, expected[index]?.length])),
    );
    for (const count of Object.values(counted)) expect(count).toBeGreaterThan(0);
  } finally {
    await database.close();
  }
}

describe('backup, restore and the move to PostgreSQL, through the npm scripts', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let work: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-backup-'));
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  });

  onPostgres(
    'PostgreSQL: backs up with pg_dump, restores onto another server with the old keys working, ' +
      'refuses a non-empty database, exports one organization',
    async () => {
      const source = await cloneMigratedDatabase('backup_source');
      cleanups.push(source.drop);
      if (source.settings.kind !== 'postgres') throw new Error('expected PostgreSQL');
      const sourceUrl = source.settings.url;
      const tenants = await seedEveryTable(source.settings);
      const before = await everyPostgresRow(sourceUrl);
      expectEveryTableFilled(before);

      const dump = path.join(work, 'agentmem.dump');
      const backedUp = await npmRunOk('backup', ['--out', dump], { DATABASE_URL: sourceUrl });
      expect(backedUp.stdout).toContain(`backed up to ${dump}`);
      expect(fs.readFileSync(dump).subarray(0, 5).toString('latin1')).toBe('PGDMP');
      // An existing file is not overwritten by accident.
      const again = await npmRun('backup', ['--out', dump], { DATABASE_URL: sourceUrl });
      expect({ code: again.code, stderr: again.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining('exists; choose another file or pass --force'),
      });

      // Another server, which has never seen AgentMem: no application role.
      const cluster: ThrowawayPostgres = await createThrowawayPostgres();
      cleanups.push(() => cluster.remove());
      await cluster.query('postgres', 'CREATE DATABASE restored');
      expect(await cluster.query('postgres', `SELECT 1 FROM pg_roles WHERE rolname = 'agentmem_app'`)).toEqual([]);
      const restoredUrl = cluster.url.replace(/\/postgres$/, '/restored');
      const restored = await npmRunOk('restore', ['--in', dump], { DATABASE_URL: restoredUrl });
      expect(restored.stdout).toMatch(/organizations\s+2\s/);
      expect(await everyPostgresRow(restoredUrl)).toEqual(before);

      // A database that is not empty is refused, and left as it was; --force replaces it.
      const refused = await npmRun('restore', ['--in', dump], { DATABASE_URL: restoredUrl });
      expect({ code: refused.code, stderr: refused.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining('the database is not empty'),
      });
      await cluster.query('restored', `UPDATE organizations SET name = 'changed since the backup'`);
      const changed = await everyPostgresRow(restoredUrl);
      // A damaged file fails the restore as a whole: even with --force, nothing was dropped.
      const damaged = path.join(work, 'damaged.dump');
      fs.writeFileSync(damaged, fs.readFileSync(dump).subarray(0, Math.floor(fs.statSync(dump).size * 0.8)));
      const failed = await npmRun('restore', ['--in', damaged, '--force'], { DATABASE_URL: restoredUrl });
      expect({ code: failed.code, stderr: failed.stderr }).toEqual({
        code: 1,
        stderr: expect.stringMatching(/^agentmem: cannot restore: pg_restore failed: /),
      });
      expect(await everyPostgresRow(restoredUrl)).toEqual(changed);
      await npmRunOk('restore', ['--in', dump, '--force'], { DATABASE_URL: restoredUrl });
      expect(await everyPostgresRow(restoredUrl)).toEqual(before);

      // A server on the restored database: row-level security holds with the role made by the
      // restore, and the old keys work. (The migrations' record, compared above, came along: the
      // server is not made to run `prisma migrate deploy`, which costs some 15 s and applies nothing.)
      const server = await startServerProcess({
        DATABASE_URL: restoredUrl,
        MIGRATE_ON_START: 'false',
        DEMO_DATA: 'false',
      });
      cleanups.push(() => server.stop());
      await expectKeysAccepted(server, tenants);
      await server.stop();

      const exported = path.join(work, 'organization.jsonl');
      const exportRun = await npmRunOk('backup', ['--organization', tenants.own.organizationId, '--out', exported], {
        DATABASE_URL: sourceUrl,
      });
      expect(exportRun.stdout).toContain(`organization ${tenants.own.organizationId}`);
      await expectOrganizationExport(exported, source.settings, tenants);
      const unknown = await npmRun(
        'backup',
        ['--organization', 'org-nobody', '--out', path.join(work, 'nobody.jsonl')],
        { DATABASE_URL: sourceUrl },
      );
      expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining('there is no organization org-nobody'),
      });
      expect(fs.existsSync(path.join(work, 'nobody.jsonl'))).toBe(false);
    },
    240_000,
  );

  onPostgres(
    'moves an embedded database into a new PostgreSQL database in one transaction, table by table checked, ' +
      'and a server there accepts the old keys',
    async () => {
      const embedded = path.join(work, 'embedded');
      const embeddedSettings: DatabaseSettings = { kind: 'pglite', dataDir: embedded };
      const migrating = await openDatabase(embeddedSettings);
      try {
        await migrating.migrate();
      } finally {
        await migrating.close();
      }
      const tenants = await seedEveryTable(embeddedSettings);
      const before = await everyPgliteRow(embedded);
      expectEveryTableFilled(before);

      const target = await createEmptyDatabase('move_target');
      cleanups.push(target.drop);
      if (target.settings.kind !== 'postgres') throw new Error('expected PostgreSQL');
      const targetUrl = target.settings.url;
      const moved = await npmRunOk('db:move', ['--to', targetUrl], { PGLITE_DATA_DIR: embedded });
      // One line per table with both counts and both checksums, all the same.
      for (const table of TABLES.filter((name) => name !== '_prisma_migrations')) {
        const line = moved.stdout.split('\n').find((text) => text.startsWith(`${table} `)) ?? '';
        const [, embeddedRows, targetRows, embeddedSum, targetSum, verdict] = line.split(/\s+/);
        expect({
          table,
          embeddedRows,
          targetRows,
          sameSum: embeddedSum === targetSum && /^[0-9a-f]{32}$/.test(targetSum ?? ''),
          verdict,
        }).toEqual({
          table,
          embeddedRows: String(before[table]?.length),
          targetRows: String(before[table]?.length),
          sameSum: true,
          verdict: 'same',
        });
      }
      const after = await everyPostgresRow(targetUrl);
      // Row for row, API keys included; the target's migrations' record is its own, of the same migrations.
      const migrationNames = (rows: string[] | undefined) =>
        (rows ?? []).map((row) => /,(\d{14}_\w+),/.exec(row)?.[1]).sort();
      expect(migrationNames(after._prisma_migrations)).toEqual(migrationNames(before._prisma_migrations));
      expect({ ...after, _prisma_migrations: [] }).toEqual({ ...before, _prisma_migrations: [] });

      // The target now holds rows: a second move is refused and changes nothing.
      const refused = await npmRun('db:move', ['--to', targetUrl], { PGLITE_DATA_DIR: embedded });
      expect({ code: refused.code, stderr: refused.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining('the target database is not empty'),
      });
      expect(await everyPostgresRow(targetUrl)).toEqual(after);

      const server = await startServerProcess({
        DATABASE_URL: targetUrl,
        MIGRATE_ON_START: 'false',
        DEMO_DATA: 'false',
      });
      cleanups.push(() => server.stop());
      await expectKeysAccepted(server, tenants);
    },
    240_000,
  );

  onPglite(
    'PGlite: backs up and restores the data directory, says so while a server holds it, ' +
      'and the restored server accepts the old keys; exports one organization',
    async () => {
      const source = await cloneMigratedDatabase('backup_source');
      cleanups.push(source.drop);
      if (source.settings.kind !== 'pglite') throw new Error('expected PGlite');
      const sourceDir = source.settings.dataDir;
      const tenants = await seedEveryTable(source.settings);
      const before = await everyPgliteRow(sourceDir);
      expectEveryTableFilled(before);

      const dump = path.join(work, 'agentmem.tar.gz');
      await npmRunOk('backup', ['--out', dump], { PGLITE_DATA_DIR: sourceDir });
      expect([...fs.readFileSync(dump).subarray(0, 2)]).toEqual([0x1f, 0x8b]);

      const restoredDir = path.join(work, 'restored');
      const restored = await npmRunOk('restore', ['--in', dump], { PGLITE_DATA_DIR: restoredDir });
      expect(restored.stdout).toMatch(/organizations\s+2\s/);
      expect(await everyPgliteRow(restoredDir)).toEqual(before);
      const refused = await npmRun('restore', ['--in', dump], { PGLITE_DATA_DIR: restoredDir });
      expect({ code: refused.code, stderr: refused.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining('already holds an embedded database'),
      });

      const server = await startServerProcess({
        PGLITE_DATA_DIR: restoredDir,
        MIGRATE_ON_START: 'false',
        DEMO_DATA: 'false',
      });
      cleanups.push(() => server.stop());
      await expectKeysAccepted(server, tenants);
      // While the server holds the directory, each command says so and does nothing.
      for (const [script, args] of [
        ['backup', ['--out', path.join(work, 'while-serving.tar.gz')]],
        ['restore', ['--in', dump, '--force']],
      ] as const) {
        const held = await npmRun(script, [...args], { PGLITE_DATA_DIR: restoredDir });
        expect({ script, code: held.code, stderr: held.stderr }).toEqual({
          script,
          code: 1,
          stderr: expect.stringContaining(
            `the embedded database ${restoredDir} is in use by a running AgentMem server`,
          ),
        });
      }
      expect(fs.existsSync(path.join(work, 'while-serving.tar.gz'))).toBe(false);
      await server.stop();

      const changing = await openPglite(restoredDir);
      try {
        await changing.pglite.query(`UPDATE organizations SET name = 'changed since the backup'`);
      } finally {
        await changing.close();
      }
      const changed = await everyPgliteRow(restoredDir);
      expect(changed).not.toEqual(before);

      // A damaged file fails the restore, and the directory it was to replace is put back.
      const damaged = path.join(work, 'damaged.tar.gz');
      fs.writeFileSync(damaged, fs.readFileSync(dump).subarray(0, Math.floor(fs.statSync(dump).size / 2)));
      const failed = await npmRun('restore', ['--in', damaged, '--force'], { PGLITE_DATA_DIR: restoredDir });
      expect({ code: failed.code, stderr: failed.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining(`${damaged} could not be restored`),
      });
      expect(fs.readdirSync(work).filter((name) => name.includes('before-restore'))).toEqual([]);
      expect(await everyPgliteRow(restoredDir)).toEqual(changed);

      // --force replaces a directory that holds a database.
      await npmRunOk('restore', ['--in', dump, '--force'], { PGLITE_DATA_DIR: restoredDir });
      expect(await everyPgliteRow(restoredDir)).toEqual(before);

      const exported = path.join(work, 'organization.jsonl');
      await npmRunOk('backup', ['--organization', tenants.own.organizationId, '--out', exported], {
        PGLITE_DATA_DIR: restoredDir,
      });
      await expectOrganizationExport(exported, { kind: 'pglite', dataDir: restoredDir }, tenants);
    },
    240_000,
  );
});
