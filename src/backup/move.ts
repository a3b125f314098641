import type pg from 'pg';
import { migrateDeploy } from '../db/migrate';
import { createPostgresPool, type PostgresSettings } from '../db/postgres';
import { BackupError } from './errors';
import { openExistingPglite } from './pglite-dump';
import { pgliteSession, postgresSession, type SqlSession, seeEveryRow, useCanonicalText } from './sql-session';
import {
  appliedMigrations,
  copiedColumns,
  countSchemaObjects,
  dataTables,
  digestTable,
  MIGRATIONS_TABLE,
  quoteName,
  readTables,
  type Table,
  type TableDigest,
} from './table-catalog';

/** Rows read from the embedded database and written to PostgreSQL per statement. */
const BATCH_ROWS = 200;

export interface MovedTable {
  table: string;
  source: TableDigest;
  target: TableDigest;
}

/**
 * A target that already holds rows is refused: the move is for a new PostgreSQL database. A
 * database never migrated, or migrated with every table empty, will do.
 */
async function assertEmptyTarget(session: SqlSession): Promise<void> {
  if ((await countSchemaObjects(session)) === 0) return;
  const tables = await readTables(session);
  if (!tables.some((table) => table.name === MIGRATIONS_TABLE)) {
    throw new BackupError("the target database holds tables that are not AgentMem's; move into a new, empty database");
  }
  for (const table of dataTables(tables)) {
    const [row] = await session.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM public.${quoteName(table.name)}) AS found`,
    );
    if (row?.found)
      throw new BackupError(
        `the target database is not empty (table ${table.name} has rows); move into a new, empty database`,
      );
  }
}

const columnNames = (table: Table) => table.columns.map((column) => column.name).join(',');

/**
 * Copies one table's rows, in batches, as text that each column's type reads back exactly. A
 * column that references the table itself (a memory's successor) is written in a second pass,
 * once every row it may name is there: the rows come in any order.
 */
async function copyTable(source: SqlSession, target: SqlSession, table: Table): Promise<void> {
  const columns = copiedColumns(table);
  const selfReferences = new Set(
    table.foreignKeys.filter((key) => key.references === table.name).map((key) => key.column),
  );
  const cursor = `agentmem_move_${table.name.replace(/\W/g, '_')}`;
  const asText = columns.map((column, index) => `${quoteName(column.name)}::text AS c${index}`).join(', ');
  await source.query(
    `DECLARE ${quoteName(cursor)} NO SCROLL CURSOR FOR SELECT ${asText} FROM public.${quoteName(table.name)}`,
  );
  const insert = `INSERT INTO public.${quoteName(table.name)}
    (${columns.map((column) => quoteName(column.name)).join(', ')})
    SELECT ${columns
      .map((column, index) => (selfReferences.has(column.name) ? 'NULL' : `u.c${index}::${column.type}`))
      .join(', ')}
    FROM unnest(${columns.map((_, index) => `$${index + 1}::text[]`).join(', ')})
      AS u(${columns.map((_, index) => `c${index}`).join(', ')})`;
  for (;;) {
    const rows = await source.query<Record<string, string | null>>(`FETCH ${BATCH_ROWS} FROM ${quoteName(cursor)}`);
    if (rows.length === 0) break;
    await target.query(
      insert,
      columns.map((_, index) => rows.map((row) => row[`c${index}`] ?? null)),
    );
  }
  await source.query(`CLOSE ${quoteName(cursor)}`);
  for (const name of selfReferences) await copySelfReference(source, target, table, name);
}

/** The second pass of `copyTable`: a self-referencing column, by the table's one-column primary key. */
async function copySelfReference(source: SqlSession, target: SqlSession, table: Table, name: string): Promise<void> {
  const key = table.primaryKey[0];
  const keyType = table.columns.find((column) => column.name === key)?.type;
  const type = table.columns.find((column) => column.name === name)?.type;
  if (table.primaryKey.length !== 1 || !key || !keyType || !type)
    throw new BackupError(`table ${table.name} references itself without a one-column primary key`);
  const cursor = `agentmem_move_${table.name.replace(/\W/g, '_')}_${name.replace(/\W/g, '_')}`;
  await source.query(
    `DECLARE ${quoteName(cursor)} NO SCROLL CURSOR
     FOR SELECT ${quoteName(key)}::text AS k, ${quoteName(name)}::text AS v
     FROM public.${quoteName(table.name)} WHERE ${quoteName(name)} IS NOT NULL`,
  );
  const update = `UPDATE public.${quoteName(table.name)} t SET ${quoteName(name)} = u.v::${type}
    FROM unnest($1::text[], $2::text[]) AS u(k, v) WHERE t.${quoteName(key)} = u.k::${keyType}`;
  for (;;) {
    const rows = await source.query<{ k: string; v: string }>(`FETCH ${BATCH_ROWS} FROM ${quoteName(cursor)}`);
    if (rows.length === 0) break;
    await target.query(update, [rows.map((row) => row.k), rows.map((row) => row.v)]);
  }
  await source.query(`CLOSE ${quoteName(cursor)}`);
}

/**
 * `npm run db:move -- --to URL`: every table of the embedded database (PGLITE_DATA_DIR) into a
 * PostgreSQL database, which is migrated first and must hold no rows. The rows are written in one
 * transaction, and each table's row count and checksum are compared on both sides before it
 * commits: a move that does not match leaves the target without any row.
 */
export async function moveToPostgres(
  dataDir: string,
  target: PostgresSettings,
  log: (line: string) => void,
): Promise<MovedTable[]> {
  const opened = await openExistingPglite(dataDir);
  const pool = createPostgresPool({ ...target, poolSize: 1 });
  let client: pg.PoolClient | undefined;
  try {
    const source = pgliteSession(opened.pglite);
    await useCanonicalText(source);
    await seeEveryRow(source);
    const sourceTables = await readTables(source);
    if (!sourceTables.some((table) => table.name === MIGRATIONS_TABLE)) {
      throw new BackupError(`the embedded database in ${dataDir} has never been migrated: there is nothing to move`);
    }
    client = await pool.connect().catch((error: unknown) => {
      throw new BackupError(
        `cannot reach the target database: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    const targetSession = postgresSession(client);
    await useCanonicalText(targetSession);
    await seeEveryRow(targetSession);
    await assertEmptyTarget(targetSession);

    log('applying the migrations to the target');
    await migrateDeploy(target.url);
    const [sourceMigrations, targetMigrations] = [
      await appliedMigrations(source),
      await appliedMigrations(targetSession),
    ];
    if (sourceMigrations.join() !== targetMigrations.join()) {
      const missing = targetMigrations.filter((name) => !sourceMigrations.includes(name));
      throw new BackupError(
        `the embedded database lacks migrations (${missing.join(', ') || 'it has others'}); ` +
          `run \`npm run db:migrate\` with DATABASE_URL unset first`,
      );
    }
    // Migrated alike, the two must have the same tables with the same columns.
    const targetTables = dataTables(await readTables(targetSession));
    const sourceColumns = new Map(dataTables(sourceTables).map((table) => [table.name, columnNames(table)]));
    const unlike = targetTables.filter((table) => sourceColumns.get(table.name) !== columnNames(table));
    if (unlike.length > 0 || sourceColumns.size !== targetTables.length) {
      throw new BackupError(
        `the embedded database's tables differ from the migrated target's ` +
          `(${unlike.map((table) => table.name).join(', ')})`,
      );
    }

    const moved: MovedTable[] = [];
    await source.query('BEGIN');
    await targetSession.query('BEGIN');
    try {
      // Every table's rows go in parents first, in the target's column types.
      for (const table of targetTables) {
        await copyTable(source, targetSession, table);
        log(`copied ${table.name}`);
      }
      // Compared once every table is in: the columns kept by triggers are complete only then.
      for (const table of targetTables) {
        moved.push({
          table: table.name,
          source: await digestTable(source, table),
          target: await digestTable(targetSession, table),
        });
      }
      const differing = moved.filter(
        (entry) => entry.source.rows !== entry.target.rows || entry.source.checksum !== entry.target.checksum,
      );
      if (differing.length > 0) {
        throw new BackupError(
          `the copy differs from the embedded database in ${differing.map((entry) => entry.table).join(', ')}; ` +
            `nothing was written`,
        );
      }
      await targetSession.query('COMMIT');
    } catch (error) {
      await targetSession.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await source.query('ROLLBACK');
    }
    return moved;
  } finally {
    client?.release();
    await pool.end();
    await opened.close();
  }
}
