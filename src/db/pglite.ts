import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { vector } from '@electric-sql/pglite-pgvector';
import lockfile from 'proper-lockfile';

export class DataDirectoryInUseError extends Error {
  override name = 'DataDirectoryInUseError';
  constructor(readonly dataDir: string) {
    super(
      `the embedded database ${dataDir} is in use by another process; ` +
        `stop it or set PGLITE_DATA_DIR to another directory`,
    );
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

export interface OpenedPglite {
  pglite: PGlite;
  close(): Promise<void>;
}

/** Takes the lock of a data directory for this process; the returned function gives it back. */
export async function lockDataDirectory(dataDir: string): Promise<() => Promise<void>> {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  try {
    return await lockfile.lock(dataDir, lockOptions(dataDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirectoryInUseError(dataDir);
    throw error;
  }
}

export interface OpenOptions {
  /** A dump of a data directory (PGlite's `dumpDataDir`) to create a new directory from. */
  loadDataDir?: Blob;
}

/** Opens (and on first use initialises) an embedded database directory, holding its lock. */
export async function openPglite(dataDir: string, options: OpenOptions = {}): Promise<OpenedPglite> {
  const release = await lockDataDirectory(dataDir);
  try {
    const opened = await openLockedPglite(dataDir, options);
    return {
      pglite: opened.pglite,
      async close() {
        await opened.close();
        await release();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * The contrib extensions the migrations create. PGlite has a contrib module's files only when it is
 * opened with it; opened without, a database whose migrations created it could not be read (its
 * index over organization and words needs btree_gin's operator classes: migration
 * 20261202160000_memory_search_index_by_organization; the typo-tolerant search's needs pg_trgm's,
 * 20261203130000_typo_tolerant_search). pgvector ships as a package of its own
 * (@electric-sql/pglite-pgvector), so semantic recall is always on here.
 */
export const EXTENSIONS = { btree_gin, pg_trgm, vector } satisfies PGliteOptions['extensions'];

/** Opens a directory whose lock the caller holds (`lockDataDirectory`) and keeps after `close`. */
export async function openLockedPglite(dataDir: string, options: OpenOptions = {}): Promise<OpenedPglite> {
  const pglite = await PGlite.create(dataDir, {
    extensions: EXTENSIONS,
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  try {
    // PGlite runs no autovacuum, so nothing else ever gathers planner statistics; without them
    // the row-level security policies' organization filters can steer plans to poor indexes.
    await pglite.exec('ANALYZE');
  } catch (error) {
    await pglite.close();
    throw error;
  }
  return { pglite, close: () => pglite.close() };
}
