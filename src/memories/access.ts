import type { ScopedSql } from '../db/row-level-security';
import { type Statement, statement } from '../db/statements';

/**
 * The memories a request's reads returned (searchMemories, memory(id), memories), to be counted
 * as accessed once, together, after the request's data is settled. A memory returned twice in
 * one request counts once.
 */
export class MemoryAccesses {
  private readonly ids = new Set<string>();

  record(ids: Iterable<string>): void {
    for (const id of ids) this.ids.add(id);
  }

  /** The ids recorded so far, forgetting them. */
  take(): string[] {
    const ids = [...this.ids];
    this.ids.clear();
    return ids;
  }
}

/**
 * ONE statement for every memory a request returned: `access_count + 1` is computed by
 * PostgreSQL under the row's lock, so concurrent requests never lose an increment. `updated_at`
 * stays: being read is not a change.
 */
function accessStatement(organizationId: string, ids: string[]): Statement {
  return statement(
    (bind) => `
    UPDATE memories SET access_count = access_count + 1, last_accessed = now()
    WHERE organization_id = ${bind(organizationId)} AND id IN (SELECT
      jsonb_array_elements_text(${bind(JSON.stringify(ids))}::jsonb))`,
  );
}

export async function recordAccesses(sql: ScopedSql, organizationId: string, ids: string[]): Promise<void> {
  const statement = accessStatement(organizationId, ids);
  await sql.query(statement.text, statement.values);
}
