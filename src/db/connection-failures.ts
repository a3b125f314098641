/**
 * What a database failure means for the caller: the database cannot be reached right now
 * (`isDatabaseUnavailable`: the request gets 503 DATABASE_UNAVAILABLE), or the statement lost a
 * race it may win when run again (`isTransientFailure`, which includes the first). Failures reach
 * the code in several shapes, so every shape is read:
 * - node-postgres: a PostgreSQL error with its SQLSTATE `code`, a socket error with a Node `code`,
 *   or one of `ConnectionLostError`/`ConnectionUnavailableError` below, which replace
 *   node-postgres's errors that carry no code (`CatalogTextClient`, `RowScopedPool`);
 * - @prisma/adapter-pg: a `DriverAdapterError` whose `cause` has a `kind` and, for PostgreSQL's
 *   own errors, the SQLSTATE as `code`/`originalCode`;
 * - Prisma's client (7.10, as 6.19): a `PrismaClientKnownRequestError` with a P-code (P1001 "can't reach",
 *   P1017 "server closed the connection", P2028 "unable to start a transaction in the given
 *   time", …) and the adapter's error as `meta.driverAdapterError`, or the driver's error passed
 *   on with its `code`;
 * - GraphQL: the resolver's error as `originalError`.
 */

const POOL_EXHAUSTED = '53000';
const QUERY_CANCELED = '57014';

/** SQLSTATE 08006 connection_failure: the connection broke while it was in use. */
export class ConnectionLostError extends Error {
  override name = 'ConnectionLostError';
  // The fields of a PostgreSQL error, so that @prisma/adapter-pg passes the code on.
  readonly code = '08006';
  readonly severity = 'FATAL';
  constructor(cause: unknown) {
    super('the connection to the database was lost', { cause });
  }
}

/** SQLSTATE 08001 sqlclient_unable_to_establish_sqlconnection: no connection could be had in time. */
export class ConnectionUnavailableError extends Error {
  override name = 'ConnectionUnavailableError';
  readonly code = '08001';
  readonly severity = 'FATAL';
  constructor(reason: string, cause?: unknown) {
    super(`no database connection: ${reason}`, { cause });
  }
}

/**
 * SQLSTATE 53000 insufficient_resources: every connection of the pool stayed in use for the whole
 * wait, although the database answers. The server is busy, not cut off: 503 OVERLOADED.
 */
export class PoolExhaustedError extends Error {
  override name = 'PoolExhaustedError';
  readonly code = POOL_EXHAUSTED;
  readonly severity = 'ERROR';
  constructor(waitedMs: number) {
    super(`no pooled database connection came free within ${waitedMs} ms`);
  }
}

/**
 * SQLSTATE 57014 query_canceled, as PostgreSQL answers a statement past its statement_timeout:
 * the request's time ran out (`request`, REQUEST_TIMEOUT_MS) or a statement's answer did not come
 * (`statement`, the client-side bound of DATABASE_STATEMENT_TIMEOUT_MS). The connection it was on
 * is closed, never reused: its state is unknown.
 */
export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError';
  readonly code = QUERY_CANCELED;
  readonly severity = 'ERROR';
  constructor(readonly limit: 'request' | 'statement') {
    super(
      limit === 'request'
        ? 'the request ran out of time: its database work was abandoned'
        : 'the database did not answer within the statement timeout',
    );
  }
}

// SQLSTATEs of a database that is gone, going, not there yet or full.
const unavailableStates = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, or a fast/smart shutdown
  '57P02', // crash_shutdown: another backend crashed, or an immediate shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '57P05', // idle_session_timeout
  '53300', // too_many_connections
]);
const unavailableStateClasses = ['08']; // connection_exception

// Lost races that a second run may win; only where running again is safe (see retries.ts).
const conflictStates = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

const unreachableSocketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
]);

// @prisma/adapter-pg's kinds and Prisma's codes for the same.
const unavailableAdapterKinds = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
const unavailablePrismaCodes = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
const conflictPrismaCodes = new Set(['P2034']);

/**
 * `overloaded`: the pool stayed full (PoolExhaustedError); `timeout`: a statement was cancelled
 * by a timeout (PostgreSQL's statement_timeout, or QueryTimeoutError). Neither is retried.
 */
type Verdict = 'unavailable' | 'conflict' | 'overloaded' | 'timeout' | undefined;

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function codeVerdict(code: unknown): Verdict {
  if (typeof code !== 'string') return undefined;
  if (unavailableStates.has(code) || unreachableSocketCodes.has(code) || unavailablePrismaCodes.has(code))
    return 'unavailable';
  if (/^[0-9A-Z]{5}$/.test(code) && unavailableStateClasses.includes(code.slice(0, 2))) return 'unavailable';
  if (conflictStates.has(code) || conflictPrismaCodes.has(code)) return 'conflict';
  if (code === POOL_EXHAUSTED) return 'overloaded';
  if (code === QUERY_CANCELED) return 'timeout';
  return undefined;
}

// Prisma's own give-up when a transaction's connection did not come within its `maxWait`: the
// same as a pool that gave none in time. (P2028 also names misuses of the transaction API.)
const transactionStartTimeout = /Unable to start a transaction in the given time/;

function verdictOf(node: unknown): Verdict {
  const message = field(node, 'message');
  if (field(node, 'code') === 'P2028' && typeof message === 'string' && transactionStartTimeout.test(message))
    return 'unavailable';
  const kind = field(node, 'kind');
  if (typeof kind === 'string' && unavailableAdapterKinds.has(kind)) return 'unavailable';
  if (kind === 'TransactionWriteConflict') return 'conflict';
  return codeVerdict(field(node, 'code')) ?? codeVerdict(field(node, 'originalCode'));
}

/** The error and what it wraps, breadth first, a few levels deep. */
function* chainOf(error: unknown): Generator<unknown> {
  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0 && seen.size < 20) {
    const node = queue.shift();
    if (node === null || node === undefined || seen.has(node)) continue;
    seen.add(node);
    yield node;
    queue.push(field(node, 'originalError'), field(node, 'cause'), field(field(node, 'meta'), 'driverAdapterError'));
    const inner = field(node, 'errors');
    if (Array.isArray(inner)) queue.push(...inner);
  }
}

function verdict(error: unknown): Verdict {
  let found: Verdict;
  for (const node of chainOf(error)) {
    const here = verdictOf(node);
    if (here === 'unavailable') return here;
    found ??= here;
  }
  return found;
}

/** The database cannot be reached, or not now: the request should get 503 and come back. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return verdict(error) === 'unavailable';
}

/**
 * Worth running again, where that is safe: the database was briefly unavailable, or the statement
 * lost a serialization or deadlock race.
 */
export function isTransientFailure(error: unknown): boolean {
  const found = verdict(error);
  return found === 'unavailable' || found === 'conflict';
}

/** Every pooled connection stayed busy while the database answered: 503 OVERLOADED. */
export function isPoolExhausted(error: unknown): boolean {
  return verdict(error) === 'overloaded';
}

/**
 * The database could not serve the statement now: out of reach, out of time, or no connection
 * came free. The client gets 503; sending the same work again at once only doubles its wait.
 */
export function isServiceFailure(error: unknown): boolean {
  const found = verdict(error);
  return found === 'unavailable' || found === 'overloaded' || found === 'timeout';
}

/** A statement was cancelled by a timeout (the request's or its own): 503 REQUEST_TIMEOUT. */
export function isQueryTimeout(error: unknown): boolean {
  return verdict(error) === 'timeout';
}

/** A short, secret-free reason, for logs: the SQLSTATE or error code, never a host or SQL. */
export function describeFailure(error: unknown): string {
  for (const node of chainOf(error)) {
    if (verdictOf(node) === undefined) continue;
    const code = field(node, 'originalCode') ?? field(node, 'code') ?? field(node, 'kind');
    if (typeof code === 'string') return code;
  }
  return error instanceof Error ? error.name : 'unknown';
}

const connectionFailureReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'connection timed out',
  '3D000': 'the database does not exist',
  '28P01': 'password authentication failed',
  '28000': 'the server rejected the user',
};

/** A short, secret-free reason for a failed connection, for the one-line startup error. */
export function describeConnectionFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && connectionFailureReasons[code]) return connectionFailureReasons[code];
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) return 'connection timed out (DATABASE_CONNECT_TIMEOUT_MS)';
  return message.split('\n')[0] ?? 'unknown error';
}
