import fs from 'node:fs';
import path from 'node:path';
import { BackupError } from './errors';

/** What a file given to `npm run restore` holds, told by its first bytes. */
export type BackupFileKind = 'postgres' | 'pglite' | 'organization-export' | 'unknown';

export function backupFileKind(file: string): BackupFileKind {
  if (!fs.existsSync(file)) throw new BackupError(`${file} does not exist`);
  const head = Buffer.alloc(5);
  const descriptor = fs.openSync(file, 'r');
  try {
    fs.readSync(descriptor, head, 0, head.length, 0);
  } finally {
    fs.closeSync(descriptor);
  }
  // pg_dump's custom format begins with "PGDMP"; PGlite's dump is a gzipped tar.
  if (head.toString('latin1') === 'PGDMP') return 'postgres';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'pglite';
  if (head[0] === 0x7b) return 'organization-export';
  return 'unknown';
}

/** The advice for a file that is not a backup of the configured kind of database. */
export function wrongKindOfBackup(file: string, kind: BackupFileKind, expected: 'postgres' | 'pglite'): BackupError {
  const what: Record<BackupFileKind, string> = {
    postgres:
      'a PostgreSQL backup (pg_dump custom format): restore it with DATABASE_URL set; ' +
      'to bring embedded data to PostgreSQL use `npm run db:move`',
    pglite:
      'an embedded database backup (PGlite data directory): ' +
      'restore it with DATABASE_URL unset, into PGLITE_DATA_DIR; then `npm run db:move` takes it to PostgreSQL',
    'organization-export': "an organization's export (JSON lines), which is for reading, not for restoring",
    unknown: 'not an AgentMem backup',
  };
  const target = expected === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : 'the embedded database (PGLITE_DATA_DIR)';
  return new BackupError(`${file} is ${what[kind]}; it cannot be restored into ${target}`);
}

/** Refuses to replace an existing file unless `force`: a backup is not overwritten by accident. */
export function assertWritable(file: string, force: boolean): void {
  if (fs.existsSync(file) && !force)
    throw new BackupError(`${file} exists; choose another file or pass --force to replace it`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
}

/**
 * Where to write a backup until it is complete: the file appears under its name only when whole,
 * so an interrupted backup never leaves a truncated file that looks like a good one.
 */
export async function writeWhole(file: string, write: (partial: string) => Promise<void>): Promise<void> {
  const partial = `${file}.partial`;
  try {
    await write(partial);
    fs.renameSync(partial, file);
  } finally {
    fs.rmSync(partial, { force: true });
  }
}
