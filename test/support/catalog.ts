import type { PrismaClient } from '../../src/generated/prisma/client';

/** One object of a database's public schema, as PostgreSQL's catalogs describe it. */
export interface CatalogEntry {
  kind: 'table' | 'view' | 'column' | 'constraint' | 'index';
  table: string;
  name: string;
  definition: string;
}

const queries: Record<CatalogEntry['kind'], string> = {
  table: `
    SELECT c.relname::text AS "table", c.relname::text AS name, ''::text AS definition
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r'`,
  view: `
    SELECT c.relname::text AS "table", c.relname::text AS name, pg_get_viewdef(c.oid) AS definition
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')`,
  column: `
    SELECT c.relname::text AS "table", a.attname::text AS name,
           format_type(a.atttypid, a.atttypmod)
             || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END
             || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') AS definition
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`,
  constraint: `
    SELECT c.relname::text AS "table", con.conname::text AS name,
           con.contype::text || ' ' || pg_get_constraintdef(con.oid) AS definition
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    -- PostgreSQL 18 (PGlite) also records each NOT NULL as a constraint ('n'): the column's own
    -- entry compares its nullability already, on every version.
    WHERE n.nspname = 'public' AND con.contype <> 'n'`,
  index: `
    SELECT tablename::text AS "table", indexname::text AS name, indexdef::text AS definition
    FROM pg_indexes WHERE schemaname = 'public'`,
};

/** Prisma's own bookkeeping is not part of the schema. */
const PRISMA_TABLE = '_prisma_migrations';

export async function readCatalog(prisma: PrismaClient): Promise<Map<string, CatalogEntry>> {
  const catalog = new Map<string, CatalogEntry>();
  for (const kind of Object.keys(queries) as CatalogEntry['kind'][]) {
    const rows = await prisma.$queryRawUnsafe<Omit<CatalogEntry, 'kind'>[]>(queries[kind]);
    for (const row of rows) {
      if (row.table === PRISMA_TABLE) continue;
      catalog.set(`${kind} ${row.table}.${row.name}`, { kind, ...row });
    }
  }
  return catalog;
}

export interface CatalogDifference {
  key: string;
  entry: CatalogEntry;
  change: 'missing' | 'extra' | 'different';
  expected?: string;
  actual?: string;
}

export function compareCatalogs(
  expected: Map<string, CatalogEntry>,
  actual: Map<string, CatalogEntry>,
): CatalogDifference[] {
  const differences: CatalogDifference[] = [];
  for (const [key, entry] of expected) {
    const found = actual.get(key);
    if (!found) differences.push({ key, entry, change: 'missing', expected: entry.definition });
    else if (found.definition !== entry.definition) {
      differences.push({ key, entry, change: 'different', expected: entry.definition, actual: found.definition });
    }
  }
  for (const [key, entry] of actual) {
    if (!expected.has(key)) differences.push({ key, entry, change: 'extra', actual: entry.definition });
  }
  return differences;
}

/** Splits a DDL file into statements (the spec has no semicolons inside statements). */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n')
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}
