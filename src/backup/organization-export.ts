import fs from 'node:fs';
import { APPLICATION_ROLE } from '../db/row-level-security';
import { assertWritable, writeWhole } from './backup-file';
import { BackupError } from './errors';
import { type SqlSession, useCanonicalText } from './sql-session';
import { appliedMigrations, dataTables, quoteName, readTables, type Table } from './table-catalog';

const ORGANIZATION_EXPORT_FORMAT = 'agentmem-organization-export';

/**
 * Which rows of `table` are the organization's ($1): the organization itself, rows naming it in
 * `organization_id`, and rows of tables without that column (the junctions) whose foreign keys
 * all lead to its rows. A table that fits none of these stops the export rather than being
 * guessed at.
 */
function organizationFilter(table: Table, tables: Map<string, Table>): string {
  const hasOrganization = (candidate: Table | undefined) =>
    candidate?.columns.some((column) => column.name === 'organization_id') ?? false;
  if (table.name === 'organizations') return 't.id = $1';
  if (hasOrganization(table)) return 't.organization_id = $1';
  const parents = table.foreignKeys.filter((key) => hasOrganization(tables.get(key.references)));
  if (parents.length === 0)
    throw new BackupError(`table ${table.name} has no organization_id and no foreign key to a table that has one`);
  return parents
    .map(
      (key) =>
        `EXISTS (SELECT 1 FROM public.${quoteName(key.references)} p ` +
        `WHERE p.${quoteName(key.referencedColumn)} = t.${quoteName(key.column)} AND p.organization_id = $1)`,
    )
    .join(' AND ');
}

/**
 * `npm run backup -- --organization ID --out FILE`: one organization's rows, alone, as JSON lines
 * (README "Backup, restore and moving to PostgreSQL"): a header line, then one line per row,
 * `{"table": …, "row": {column: value, …}}`, tables parents first, rows by primary key. The rows
 * are read as the application role inside the organization's scope, so row-level security
 * filters them as it does the API's reads, beneath the export's own filter; one snapshot.
 * Returns the number of rows per table.
 */
export async function exportOrganization(
  session: SqlSession,
  organizationId: string,
  file: string,
  force: boolean,
): Promise<Record<string, number>> {
  assertWritable(file, force);
  await useCanonicalText(session);
  const tables = dataTables(await readTables(session));
  const byName = new Map(tables.map((table) => [table.name, table]));
  const header = {
    format: ORGANIZATION_EXPORT_FORMAT,
    version: 1,
    organizationId,
    exportedAt: new Date().toISOString(),
    migrations: await appliedMigrations(session),
  };
  const counts: Record<string, number> = {};
  await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await session.query(
      `SELECT set_config('role', '${APPLICATION_ROLE}', true), set_config('app.organization_id', $1, true)`,
      [organizationId],
    );
    const found = await session.query('SELECT 1 FROM organizations WHERE id = $1', [organizationId]);
    if (found.length === 0) throw new BackupError(`there is no organization ${organizationId}`);
    await writeWhole(file, async (partial) => {
      const descriptor = fs.openSync(partial, 'w', 0o600);
      try {
        fs.writeSync(descriptor, `${JSON.stringify(header)}\n`);
        for (const table of tables) {
          const order = (
            table.primaryKey.length > 0 ? table.primaryKey : table.columns.map((column) => column.name)
          ).map((name) => `t.${quoteName(name)}`);
          const rows = await session.query<{ line: string }>(
            `SELECT row_to_json(t)::text AS line FROM public.${quoteName(table.name)} t
              WHERE ${organizationFilter(table, byName)} ORDER BY ${order.join(', ')}`,
            [organizationId],
          );
          for (const row of rows)
            fs.writeSync(descriptor, `{"table":${JSON.stringify(table.name)},"row":${row.line}}\n`);
          counts[table.name] = rows.length;
        }
      } finally {
        fs.closeSync(descriptor);
      }
    });
  } finally {
    await session.query('ROLLBACK');
  }
  return counts;
}
