import type pg from 'pg';
import { textOf } from './query-override';

// A transaction's first and last statements as the pooled connections see them.
const beginsTransaction = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const setsTransaction = /^\s*SET\s+TRANSACTION\b/i;
// Whole statements only: `ROLLBACK TO SAVEPOINT` and `COMMIT AND CHAIN` leave the transaction open.
const endsTransaction = /^\s*(COMMIT|ROLLBACK|END|ABORT)(\s+(WORK|TRANSACTION))?\s*;?\s*$/i;

type SendQuery = (...args: unknown[]) => Promise<pg.QueryResult>;

/**
 * Scopes `client` for a transaction pooler (PgBouncer in transaction mode): nothing is sent at
 * checkout. The transaction the caller begins takes the role and the scope (`SET LOCAL`'s
 * equivalent) with its first statement; a statement sent outside a transaction gets one of its
 * own, BEGIN, scope, statement and COMMIT pipelined in one flight, its result given once the
 * COMMIT is in (a write is then visible to whatever the caller sends next, on any connection).
 * The pooler sees a transaction end before anything outlives it. Statements are unnamed (see
 * `scopedSqlOver`, src/db/postgres/prepared-statements.ts). The `query` set here is the client's
 * own property, deleted again at its release (RowScopedPool).
 */
export function scopedPerTransaction(client: pg.PoolClient, sql: string, args: unknown[]): void {
  // The client class's own query: the one set below is the client's only until its release.
  const send: SendQuery = (...sent) => Reflect.apply(Object.getPrototypeOf(client).query as SendQuery, client, sent);
  const scope = () => send({ text: sql, values: args });
  let inTransaction = false;
  // Taken with the transaction's first statement after BEGIN, or after it when that statement
  // is SET TRANSACTION (an isolation level), which must come before any query.
  let scopePending = false;
  const query = (args: unknown[]): Promise<pg.QueryResult> => {
    const text = textOf(args[0]);
    if (beginsTransaction.test(text)) {
      inTransaction = true;
      scopePending = true;
      return send(...args);
    }
    if (inTransaction) {
      if (endsTransaction.test(text)) inTransaction = false;
      if (!scopePending || endsTransaction.test(text)) return send(...args);
      scopePending = false;
      // Not waited for: it flies with the statement, and a statement after a failed scope fails.
      if (setsTransaction.test(text)) {
        const set = send(...args);
        scope().catch(() => undefined);
        return set;
      }
      scope().catch(() => undefined);
      return send(...args);
    }
    const sent = [send('BEGIN'), scope(), send(...args), send('COMMIT')];
    return Promise.allSettled(sent).then((outcomes) => {
      // The first failure in sending order is the cause of the others.
      const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failure) throw failure.reason;
      return (outcomes[2] as PromiseFulfilledResult<pg.QueryResult>).value;
    });
  };
  client.query = ((...args: unknown[]) => {
    const callback =
      typeof args.at(-1) === 'function'
        ? (args.pop() as (error: Error | null, result?: pg.QueryResult) => void)
        : undefined;
    const result = query(args);
    if (!callback) return result;
    result.then(
      (value) => callback(null, value),
      (error: Error) => callback(error),
    );
    return undefined;
  }) as pg.PoolClient['query'];
}
