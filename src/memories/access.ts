import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context/types';
import type { ScopedSql } from '../db/row-level-security';
import { Prisma } from '../generated/prisma/client';
import type { Logger } from '../logger';

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
export function accessStatement(organizationId: string, ids: string[]): Prisma.Sql {
  return Prisma.sql`
    UPDATE memories SET access_count = access_count + 1, last_accessed = now()
    WHERE organization_id = ${organizationId} AND id IN (SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`;
}

export async function recordAccesses(sql: ScopedSql, organizationId: string, ids: string[]): Promise<void> {
  const statement = accessStatement(organizationId, ids);
  await sql.query(statement.text, statement.values);
}

/**
 * Writes the request's accesses once its operation has executed: the response's data is settled
 * (it shows the values from before this request's own access), and the write is done before the
 * response is sent, so that the client's next request sees it. Installed before the plugin that
 * sets the caller's row scope, whose execute wraps this one: the UPDATE runs in that scope. A
 * failure to count is logged, and the reader still gets its data.
 */
export function useMemoryAccessTracking(logger: Logger): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const context = args.contextValue;
      setExecuteFn(async (executionArgs) => {
        const result = await executeFn(executionArgs);
        const ids = context.memoryAccesses.take();
        if (ids.length > 0) {
          await recordAccesses(context.sql, context.caller.organizationId, ids).catch((error: unknown) => {
            logger.warn({ err: error, memories: ids.length }, 'could not count the memory accesses of a request');
          });
        }
        return result;
      });
    },
  };
}
