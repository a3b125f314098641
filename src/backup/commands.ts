import type { Settings } from '../config/settings';
import { exportOrganization } from './organization-export';
import { backupPglite, openExistingPglite, restorePglite } from './pglite-dump';
import { backupPostgres, restorePostgres, withOwnerSession } from './postgres-dump';
import { pgliteSession, type SqlSession } from './sql-session';
import type { TableDigest } from './table-catalog';

/**
 * The operators' commands on the configured database (DATABASE_URL, else PGLITE_DATA_DIR), one
 * function each for the thin scripts in scripts/. What each prints is the script's.
 */
export interface BackupOptions {
  out: string;
  force: boolean;
  /** Only this organization's rows, as JSON lines (organization-export.ts). */
  organizationId?: string;
}

export type BackupOutcome =
  | { kind: 'database'; tables?: TableDigest[] }
  | { kind: 'organization'; rows: Record<string, number> };

export async function backup(settings: Settings, options: BackupOptions): Promise<BackupOutcome> {
  const database = settings.database;
  const { organizationId } = options;
  if (organizationId !== undefined) {
    const rows =
      database.kind === 'postgres'
        ? await withOwnerSession(database, (session) =>
            exportOrganization(session, organizationId, options.out, options.force),
          )
        : await withOpenedPglite(database.dataDir, (session) =>
            exportOrganization(session, organizationId, options.out, options.force),
          );
    return { kind: 'organization', rows };
  }
  if (database.kind === 'postgres') {
    await backupPostgres(database, options.out, { binDir: settings.postgresBinDir }, options.force);
    return { kind: 'database' };
  }
  return { kind: 'database', tables: await backupPglite(database.dataDir, options.out, options.force) };
}

/** The restored tables' rows and checksums, or undefined where the login cannot count past row-level security. */
export async function restore(
  settings: Settings,
  options: { in: string; force: boolean },
): Promise<TableDigest[] | undefined> {
  const database = settings.database;
  if (database.kind === 'postgres')
    return restorePostgres(database, options.in, { binDir: settings.postgresBinDir }, options.force);
  return restorePglite(database.dataDir, options.in, options.force);
}

async function withOpenedPglite<T>(dataDir: string, work: (session: SqlSession) => Promise<T>): Promise<T> {
  const opened = await openExistingPglite(dataDir);
  try {
    return await work(pgliteSession(opened.pglite));
  } finally {
    await opened.close();
  }
}
