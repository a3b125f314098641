import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * One connection, as the owner of the tables, that the backup code reads and writes through:
 * the same statements run on PostgreSQL (node-postgres) and on PGlite.
 */
export interface SqlSession {
  query<Row>(text: string, values?: unknown[]): Promise<Row[]>;
}

export function pgliteSession(pglite: PGlite): SqlSession {
  return {
    async query<Row>(text: string, values: unknown[] = []) {
      return (await pglite.query<Row>(text, values)).rows;
    },
  };
}

export function postgresSession(client: pg.ClientBase): SqlSession {
  return {
    async query<Row>(text: string, values: unknown[] = []) {
      return (await client.query(text, values)).rows as Row[];
    },
  };
}

/**
 * Session settings under which a value's text is the same on every server and every run: rows
 * are compared, hashed and exported as text.
 */
export async function useCanonicalText(session: SqlSession): Promise<void> {
  for (const setting of [
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    'SET extra_float_digits = 1',
  ]) {
    await session.query(setting);
  }
}

/**
 * For commands that must see or write every organization's rows: a login that row-level
 * security would limit then fails loudly instead of silently reading or writing fewer rows (what
 * pg_dump does too). Superusers and BYPASSRLS roles are not limited.
 */
export async function seeEveryRow(session: SqlSession): Promise<void> {
  await session.query('SET row_security = off');
}
