import { BackupError } from './errors';
import type { SqlSession } from './sql-session';

/** Prisma's record of applied migrations: copied by a dump, made afresh by a move. */
export const MIGRATIONS_TABLE = '_prisma_migrations';

interface Column {
  name: string;
  /** As `format_type` writes it: `character varying(255)`, `text[]`, `timestamp with time zone`, … */
  type: string;
}

interface ForeignKey {
  column: string;
  references: string;
  referencedColumn: string;
}

export interface Table {
  name: string;
  /** Stored columns in their order (generated columns are left out: they cannot be written). */
  columns: Column[];
  primaryKey: string[];
  foreignKeys: ForeignKey[];
}

/**
 * Columns that the database's own triggers keep from other tables' rows: a copy leaves them at
 * their default and lets the triggers rebuild them as the rows they count arrive (an agent's live
 * messages: migration 20261207000000_agent_live_message_count).
 */
const KEPT_BY_TRIGGERS: Readonly<Record<string, readonly string[]>> = { agents: ['live_message_count'] };

/** The columns a copy writes: every stored column but those the triggers keep. */
export function copiedColumns(table: Table): Column[] {
  const kept = KEPT_BY_TRIGGERS[table.name] ?? [];
  return table.columns.filter((column) => !kept.includes(column.name));
}

export const quoteName = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Every table of the schema `public`, the migrations' record included, parents before children. */
export async function readTables(session: SqlSession): Promise<Table[]> {
  const names = await session.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
  );
  const tables: Table[] = [];
  for (const { name } of names) {
    const relation = `public.${quoteName(name)}`;
    const columns = await session.query<Column>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       ORDER BY a.attnum`,
      [relation],
    );
    const primaryKey = await session.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.position`,
      [relation],
    );
    const foreignKeys = await session.query<ForeignKey>(
      `SELECT a.attname AS "column", r.relname AS "references", ra.attname AS "referencedColumn"
       FROM pg_constraint k
       JOIN pg_class r ON r.oid = k.confrelid
       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
       JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
       WHERE k.conrelid = $1::regclass AND k.contype = 'f' AND cardinality(k.conkey) = 1
       ORDER BY a.attname`,
      [relation],
    );
    tables.push({ name, columns, primaryKey: primaryKey.map((column) => column.name), foreignKeys });
  }
  return parentsFirst(tables);
}

/** The tables holding the application's data: every table but the migrations' record. */
export function dataTables(tables: Table[]): Table[] {
  return tables.filter((table) => table.name !== MIGRATIONS_TABLE);
}

/** Orders tables so that every table comes after those its foreign keys name. */
function parentsFirst(tables: Table[]): Table[] {
  const byName = new Map(tables.map((table) => [table.name, table]));
  const ordered: Table[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (table: Table) => {
    if (placed.has(table.name)) return;
    if (visiting.has(table.name))
      throw new BackupError(`the foreign keys of table ${table.name} form a cycle; it cannot be copied in order`);
    visiting.add(table.name);
    for (const key of table.foreignKeys) {
      const parent = byName.get(key.references);
      if (parent && parent !== table) place(parent);
    }
    visiting.delete(table.name);
    placed.add(table.name);
    ordered.push(table);
  };
  tables.forEach(place);
  return ordered;
}

export interface TableDigest {
  table: string;
  rows: number;
  /** md5 of the sorted md5s of every row's text: independent of the rows' physical order. */
  checksum: string;
}

/** Row count and checksum of a table, the same on PostgreSQL and PGlite for the same rows. */
export async function digestTable(session: SqlSession, table: Table): Promise<TableDigest> {
  const row = `ROW(${table.columns.map((column) => quoteName(column.name)).join(', ')})::text`;
  const [result] = await session.query<{ rows: number; checksum: string }>(
    `SELECT count(*)::int AS rows, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS checksum
     FROM (SELECT md5(${row}) AS h FROM public.${quoteName(table.name)}) AS hashed`,
  );
  return { table: table.name, rows: result?.rows ?? 0, checksum: result?.checksum ?? '' };
}

/** The migrations a database has applied, by name, in order. */
export async function appliedMigrations(session: SqlSession): Promise<string[]> {
  const rows = await session.query<{ name: string }>(
    `SELECT migration_name AS name FROM public.${quoteName(MIGRATIONS_TABLE)}
     WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return rows.map((row) => row.name);
}

/** How many tables, views, sequences and functions the schema `public` holds: 0 for a database never migrated. */
export async function countSchemaObjects(session: SqlSession): Promise<number> {
  const [result] = await session.query<{ objects: number }>(
    `SELECT ((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))
           + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'))::int AS objects`,
  );
  return result?.objects ?? 0;
}
