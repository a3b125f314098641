import fs from 'node:fs';
import zlib from 'node:zlib';
import {
  DataDirectoryInUseError,
  lockDataDirectory,
  type OpenedPglite,
  openLockedPglite,
  openPglite,
} from '../db/pglite';
import { assertWritable, backupFileKind, writeWhole, wrongKindOfBackup } from './backup-file';
import { BackupError } from './errors';
import { pgliteSession, seeEveryRow, useCanonicalText } from './sql-session';
import { dataTables, digestTable, readTables, type TableDigest } from './table-catalog';

const holdsDatabase = (dataDir: string) => fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0;

/** The advice when a server (or another command) holds the directory. */
function inUse(dataDir: string): BackupError {
  return new BackupError(
    `the embedded database ${dataDir} is in use by a running AgentMem server (or another command): ` +
      `stop it first; PGlite cannot be opened by two processes at once`,
  );
}

async function withLock<T>(dataDir: string, work: () => Promise<T>): Promise<T> {
  let release: () => Promise<void>;
  try {
    release = await lockDataDirectory(dataDir);
  } catch (error) {
    if (error instanceof DataDirectoryInUseError) throw inUse(dataDir);
    throw error;
  }
  try {
    return await work();
  } finally {
    await release();
  }
}

/**
 * Opens an existing embedded database for a command (backup, export, move), holding its lock for
 * the command's length: while a server holds it, the command says so and does nothing.
 */
export async function openExistingPglite(dataDir: string): Promise<OpenedPglite> {
  if (!holdsDatabase(dataDir)) throw new BackupError(`there is no embedded database in ${dataDir} (PGLITE_DATA_DIR)`);
  try {
    return await openPglite(dataDir);
  } catch (error) {
    if (error instanceof DataDirectoryInUseError) throw inUse(dataDir);
    throw error;
  }
}

async function digestAll(opened: OpenedPglite): Promise<TableDigest[]> {
  const session = pgliteSession(opened.pglite);
  await useCanonicalText(session);
  await seeEveryRow(session);
  const digests: TableDigest[] = [];
  for (const table of dataTables(await readTables(session))) digests.push(await digestTable(session, table));
  return digests;
}

/**
 * `npm run backup` on the embedded database: PGlite's own dump of its data directory (a gzipped
 * tar, `dumpDataDir`), which holds everything: rows, schema, roles, the migrations' record.
 */
export async function backupPglite(dataDir: string, file: string, force: boolean): Promise<TableDigest[]> {
  assertWritable(file, force);
  const opened = await openExistingPglite(dataDir);
  try {
    const digests = await digestAll(opened);
    const dump = await opened.pglite.dumpDataDir('gzip');
    const bytes = Buffer.from(await dump.arrayBuffer());
    await writeWhole(file, async (partial) => fs.writeFileSync(partial, bytes, { mode: 0o600 }));
    return digests;
  } finally {
    await opened.close();
  }
}

/**
 * `npm run restore` on the embedded database: a new data directory made from the dump. A
 * directory that holds a database is only replaced with `force`; it is kept aside until the
 * restored one has opened, and put back if it does not.
 */
export async function restorePglite(dataDir: string, file: string, force: boolean): Promise<TableDigest[]> {
  const kind = backupFileKind(file);
  if (kind !== 'pglite') throw wrongKindOfBackup(file, kind, 'pglite');
  // Unpacked here, where a damaged file is an error to catch: PGlite's own gunzip (through
  // DecompressionStream) leaves the failure unhandled, which ends the process half-way through.
  // gzip's checksum and length vouch for the tar inside.
  let tar: Buffer;
  try {
    tar = zlib.gunzipSync(fs.readFileSync(file));
  } catch (error) {
    throw new BackupError(
      `${file} could not be restored: it is damaged ` +
        `(${error instanceof Error ? error.message : String(error)}); nothing was changed`,
    );
  }
  return withLock(dataDir, async () => {
    const replacing = holdsDatabase(dataDir);
    if (replacing && !force) {
      throw new BackupError(
        `${dataDir} already holds an embedded database; ` +
          `restore into another PGLITE_DATA_DIR, or pass --force to replace it`,
      );
    }
    const aside = `${dataDir}.before-restore-${Date.now()}`;
    if (replacing) fs.renameSync(dataDir, aside);
    else fs.rmSync(dataDir, { recursive: true, force: true });
    let digests: TableDigest[];
    try {
      const opened = await openLockedPglite(dataDir, { loadDataDir: new Blob([new Uint8Array(tar)]) });
      try {
        digests = await digestAll(opened);
      } finally {
        await opened.close();
      }
    } catch (error) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (replacing) fs.renameSync(aside, dataDir);
      throw error instanceof BackupError
        ? error
        : new BackupError(`${file} could not be restored: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (replacing) fs.rmSync(aside, { recursive: true, force: true });
    return digests;
  });
}
