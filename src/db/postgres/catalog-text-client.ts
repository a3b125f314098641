import pg from 'pg';
import { ConnectionLostError, QueryTimeoutError } from '../connection-failures';
import { overrideQuery } from './query-override';

const PG_CHAR_OID = 18; // the one-byte internal "char" of pg_catalog, e.g. pg_constraint.contype
const PG_NAME_OID = 19;
const PG_TEXT_OID = 25;
const catalogTextTypes = new Set([PG_CHAR_OID, PG_NAME_OID]);

type QueryCallback = (error: Error | null, result?: pg.QueryResult) => void;

function reportCatalogColumnsAsText(result: pg.QueryResult): pg.QueryResult {
  for (const field of result.fields ?? []) {
    if (catalogTextTypes.has(field.dataTypeID)) field.dataTypeID = PG_TEXT_OID;
  }
  return result;
}

function isQueryResult(value: unknown): value is pg.QueryResult {
  return typeof value === 'object' && value !== null && 'fields' in value;
}

/**
 * The pg client of every pool (src/db/postgres/pools.ts). Two things differ from pg.Client:
 *
 * - It reports pg_catalog's `name` (oid 19) and `"char"` (oid 18) columns as `text`. Why:
 *   @prisma/adapter-pg rejects `"char"` with UnsupportedNativeDataType (7.10 still does; 6.19 also
 *   rejected `name`, prisma/orm#27403), and the schema engine reads it from pg_catalog, so
 *   `prisma migrate diff` fails without this. In the text protocol their values are text already.
 * - A lost connection never brings the process down. node-postgres reports it as an `'error'`
 *   event on the client, and an event without a listener is thrown: pg-pool listens while a
 *   client is idle, but not while it is checked out, and neither do Prisma's adapter nor our
 *   pool between their own listeners. So every client listens for its whole life; the failure
 *   also reaches every query waiting on the connection, which is where it is handled. Those
 *   queries, and the event's listeners, get the loss with SQLSTATE 08006
 *   (`ConnectionLostError`) where node-postgres gives no code ("Connection terminated
 *   unexpectedly", "not queryable"), so that src/db/connection-failures.ts can tell it.
 *
 * pg's Pool calls `query` with a callback; transactions call it without one: both are covered.
 */
export class CatalogTextClient extends pg.Client {
  /** The connection failed or ended: nothing more can be sent on it. */
  connectionLost = false;

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined); // handled by the queries it fails, and by the pools
    this.on('end', () => {
      this.connectionLost = true;
    });
  }

  /**
   * Closes the connection at once: whatever waits on it fails with `error`, and the pool never
   * hands it out again. For a connection whose state is unknown (a statement cut off mid-way).
   */
  abandon(error: Error): void {
    this.connectionLost = true;
    (this as unknown as { connection: { stream: { destroy(error?: Error): void } } }).connection.stream.destroy(error);
  }

  // Every listener of the failure (pg-pool's, Prisma's, the pool's) hears it with its SQLSTATE.
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') {
      this.connectionLost = true;
      args[0] = withConnectionLoss(this, args[0] instanceof Error ? args[0] : new Error(String(args[0])));
    }
    return super.emit(event, ...args);
  }
}

/**
 * A failure without a SQLSTATE or socket code, on a connection that is gone, is that loss. A
 * statement whose answer did not come within `query_timeout` (node-postgres's "Query read
 * timeout") is a QueryTimeoutError, and its connection is closed: the answer may still come.
 */
function withConnectionLoss(client: pg.Client, error: Error): Error;
function withConnectionLoss(client: pg.Client, error: Error | null): Error | null;
function withConnectionLoss(client: pg.Client, error: Error | null): Error | null {
  if (error?.message === 'Query read timeout' && client instanceof CatalogTextClient) {
    const timedOut = new QueryTimeoutError('statement');
    if (!client.connectionLost) client.abandon(timedOut);
    return timedOut;
  }
  if (!error || !(client instanceof CatalogTextClient) || !client.connectionLost) return error;
  if (typeof (error as { code?: unknown }).code === 'string') return error;
  return new ConnectionLostError(error);
}

function queryReportingCatalogAsText(this: pg.Client, ...args: unknown[]): unknown {
  const last = args.at(-1);
  if (typeof last === 'function') {
    const callback = last as QueryCallback;
    const wrapped: QueryCallback = (error, result) =>
      callback(withConnectionLoss(this, error), result && reportCatalogColumnsAsText(result));
    return Reflect.apply(pg.Client.prototype.query, this, [...args.slice(0, -1), wrapped]);
  }
  const returned: unknown = Reflect.apply(pg.Client.prototype.query, this, args);
  if (returned instanceof Promise) {
    return returned.then(
      (result: unknown) => (isQueryResult(result) ? reportCatalogColumnsAsText(result) : result),
      (error: Error) => {
        throw withConnectionLoss(this, error);
      },
    );
  }
  return returned;
}

overrideQuery(CatalogTextClient, queryReportingCatalogAsText);
