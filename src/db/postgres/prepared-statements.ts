import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { ScopedSql } from '../row-level-security';

/**
 * How many distinct statements the raw SQL path prepares: each connection keeps every statement
 * it prepared until it closes, and a statement's text varies with the selection it serves, so a
 * client sending ever new selections must not grow them without end. Beyond this, statements are
 * planned at every run, as unnamed ones are.
 */
const MAX_PREPARED_STATEMENTS = 200;

/**
 * Raw SQL over the application's pool: each query takes the current scope at checkout. The
 * statements are prepared (named after a hash of their text), so that PostgreSQL plans each once
 * per connection rather than at every request (with plan_cache_mode = force_generic_plan, set on
 * each connection as it takes the application's role).
 */
export function scopedSqlOver(pool: pg.Pool, options: { prepared: boolean } = { prepared: true }): ScopedSql {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    // PgBouncer 1.18 in transaction mode cannot keep a prepared statement: the next transaction
    // may run on a server connection that never saw it. Unnamed statements are parsed each time.
    if (!options.prepared) return undefined;
    let name = names.get(text);
    if (name === undefined && names.size < MAX_PREPARED_STATEMENTS) {
      name = `agentmem_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    async query<Row>(text: string, values: readonly unknown[]): Promise<Row[]> {
      const result = await pool.query({ name: nameOf(text), text, values: values as unknown[] });
      return result.rows as Row[];
    },
  };
}
