import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PostgresSettings } from '../db/postgres';
import { createPostgresPool } from '../db/postgres';
import { APPLICATION_ROLE, EXPIRY_SWEEP_ROLE } from '../db/row-level-security';
import { assertWritable, backupFileKind, writeWhole, wrongKindOfBackup } from './backup-file';
import { BackupError } from './errors';
import { postgresSession, type SqlSession, seeEveryRow, useCanonicalText } from './sql-session';
import { countSchemaObjects, dataTables, digestTable, readTables, type TableDigest } from './table-catalog';

export interface PostgresTools {
  /** Where pg_dump, pg_restore and psql are (PG_BIN_DIR); undefined: on PATH. */
  binDir: string | undefined;
}

/**
 * The URL without its password, which goes to the child through PGPASSWORD instead: a command
 * line is visible to every user of the machine.
 */
function connectionFor(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { dbname: parsed.toString(), env: { ...process.env, ...(password && { PGPASSWORD: password }) } };
}

/** Runs one of PostgreSQL's client programs; its first error line becomes the BackupError. */
function run(tools: PostgresTools, program: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const executable = tools.binDir ? path.join(tools.binDir, program) : program;
  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new BackupError(
              `${program} was not found: ` +
                `install PostgreSQL's client programs (Debian: postgresql-client-15) or set PG_BIN_DIR`,
            )
          : error,
      );
    });
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const line = stderr.split('\n').find((text) => /error|fatal/i.test(text)) ?? stderr.split('\n')[0] ?? '';
      reject(new BackupError(`${program} failed: ${line.trim() || `exit code ${code}`}`));
    });
  });
}

export async function withOwnerSession<T>(
  settings: PostgresSettings,
  work: (session: SqlSession) => Promise<T>,
): Promise<T> {
  const pool = createPostgresPool({ ...settings, poolSize: 1 });
  try {
    const client = await pool.connect();
    try {
      return await work(postgresSession(client));
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

/**
 * `npm run backup` on PostgreSQL: pg_dump's custom format of the whole database, which holds
 * the tables, their rows, the policies and grants, and the migrations' record (_prisma_migrations).
 * pg_dump reads one snapshot, so the server may keep running. It needs a login that row-level
 * security does not limit (a superuser or BYPASSRLS): any other, pg_dump refuses rather than
 * writing a dump with rows missing.
 */
export async function backupPostgres(
  settings: PostgresSettings,
  file: string,
  tools: PostgresTools,
  force: boolean,
): Promise<void> {
  assertWritable(file, force);
  const { dbname, env } = connectionFor(settings.url);
  await writeWhole(file, async (partial) => {
    await run(tools, 'pg_dump', ['--format=custom', `--file=${partial}`, `--dbname=${dbname}`], env);
    // It holds every organization's data, API key hashes included: for its owner's eyes only.
    fs.chmodSync(partial, 0o600);
  });
}

// The application's roles belong to the server, not to the database, so no dump holds them: a
// restore makes each where it is missing and lets the restoring login switch to it, as the
// migrations do (row_level_security; memory_validity_follow_up for the expiry sweep's). The
// dump's GRANTs and policies to them then apply.
const roleStatements = (role: string) => `
DO $$
BEGIN
    -- Looked up first: CREATE ROLE checks the privilege to make roles before whether the role
    -- exists, and a login without CREATEROLE may restore where the role is already there.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN
        CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
DO $$
BEGIN
    IF NOT pg_has_role(current_user, '${role}', 'MEMBER') THEN
        EXECUTE format('GRANT ${role} TO %I', current_user);
    END IF;
END
$$;
`;
const applicationRoleStatements = [APPLICATION_ROLE, EXPIRY_SWEEP_ROLE].map(roleStatements).join('');

// --force: everything of the application lives in the schema public; it goes, and the restore
// recreates it, in the same transaction.
const replaceSchemaStatements = `
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
GRANT USAGE ON SCHEMA public TO PUBLIC;
`;

/**
 * `npm run restore` on PostgreSQL: into an empty database (or, with `force`, replacing what the
 * database holds), all in one transaction, so a failed restore leaves the database as it was.
 * Objects are owned by the restoring login (as if it had run the migrations); the application
 * role is made where the server lacks it, so a server started on the restored database serves
 * with its row-level security and accepts the API keys of the dump.
 */
export async function restorePostgres(
  settings: PostgresSettings,
  file: string,
  tools: PostgresTools,
  force: boolean,
): Promise<TableDigest[] | undefined> {
  const kind = backupFileKind(file);
  if (kind !== 'postgres') throw wrongKindOfBackup(file, kind, 'postgres');
  const objects = await withOwnerSession(settings, countSchemaObjects);
  if (objects > 0 && !force) {
    throw new BackupError(
      `the database is not empty (it has ${objects} tables, views, sequences or functions in schema public); ` +
        `restore into a new database, or pass --force to replace everything in it`,
    );
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-restore-'));
  try {
    // pg_restore writes the whole script first: piped straight into psql, a pg_restore that failed
    // half-way would leave psql to commit half a restore.
    const script = path.join(work, 'restore.sql');
    const prelude = path.join(work, 'prelude.sql');
    await run(tools, 'pg_restore', ['--no-owner', `--file=${script}`, file], process.env);
    fs.writeFileSync(prelude, applicationRoleStatements + (force ? replaceSchemaStatements : ''), { mode: 0o600 });
    const { dbname, env } = connectionFor(settings.url);
    await run(
      tools,
      'psql',
      ['-X', '-q', '--single-transaction', '-v', 'ON_ERROR_STOP=1', `--dbname=${dbname}`, '-f', prelude, '-f', script],
      env,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return withOwnerSession(settings, async (session) => {
    await useCanonicalText(session);
    await seeEveryRow(session);
    const digests: TableDigest[] = [];
    try {
      for (const table of dataTables(await readTables(session))) digests.push(await digestTable(session, table));
    } catch (error) {
      // An ordinary login restores (the rows are loaded before the policies are switched on) but
      // cannot count past them: the restore stands, without its table.
      if ((error as { code?: unknown }).code === '42501') return undefined;
      throw error;
    }
    return digests;
  });
}
