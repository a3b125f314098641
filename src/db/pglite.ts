import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import lockfile from 'proper-lockfile';

export class DataDirectoryInUseError extends Error {
  override name = 'DataDirectoryInUseError';
  constructor(readonly dataDir: string) {
    super(`the embedded database ${dataDir} is in use by another process; stop it or set PGLITE_DATA_DIR to another directory`);
  }
}

// PGlite is single-process and does not detect a second opener: two processes on one data
// directory corrupt it. A lock beside the directory makes the second one fail instead.
const lockOptions = (dataDir: string) => ({
  realpath: false,
  lockfilePath: `${dataDir}.lock`,
  stale: 10_000,
  update: 2_000,
});

export async function assertDataDirectoryFree(dataDir: string): Promise<void> {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (await lockfile.check(dataDir, lockOptions(dataDir))) throw new DataDirectoryInUseError(dataDir);
}

export interface OpenedPglite {
  pglite: PGlite;
  close(): Promise<void>;
}

/** Opens (and on first use initialises) an embedded database directory, holding its lock. */
export async function openPglite(dataDir: string): Promise<OpenedPglite> {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, lockOptions(dataDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirectoryInUseError(dataDir);
    throw error;
  }
  try {
    const pglite = await PGlite.create(dataDir);
    // PGlite runs no autovacuum, so nothing else ever gathers planner statistics; without them
    // the row-level security policies' organization filters can steer plans to poor indexes.
    await pglite.exec('ANALYZE');
    return {
      pglite,
      async close() {
        await pglite.close();
        await release();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}
