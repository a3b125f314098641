/**
 * The one error model. Every error a caller may act on is one of these: mutations declare them
 * as typed results (`... on ValidationError { field message }`); anywhere else they reach the
 * client as a GraphQL error with `extensions.code` and `extensions.field`. Anything else is a
 * bug and is masked (src/http/errors.ts).
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'VALIDATION'
  | 'BLOCK_LIMIT_EXCEEDED'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'DATABASE_UNAVAILABLE'
  | 'OVERLOADED'
  | 'REQUEST_TIMEOUT'
  | 'LIVE_UPDATES_UNAVAILABLE'
  | 'SEMANTIC_RECALL_UNAVAILABLE';

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  constructor(
    message: string,
    /** The input path the error is about, e.g. ["input", "blocks", "0", "value"]. */
    readonly field: string[] | null = null,
  ) {
    super(message);
  }
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  override name = 'NotFoundError';
  constructor(entity: string, id: string, field: string[] | null = null) {
    // The same words whether the id never existed, was deleted, or belongs to someone else.
    super(`${entity} ${JSON.stringify(id)} was not found`, field);
  }
}

export class ValidationError extends AppError {
  readonly code = 'VALIDATION';
  override name = 'ValidationError';
}

export class ConflictError extends AppError {
  readonly code = 'CONFLICT';
  override name = 'ConflictError';
}

/**
 * A write that named the version it last read (`expectedVersion`) when the row has moved on:
 * someone else changed it in between. Nothing was written; the caller reads `currentVersion`
 * again, merges, and retries with it.
 */
export class VersionConflictError extends AppError {
  readonly code = 'CONFLICT';
  override name = 'VersionConflictError';
  constructor(
    readonly currentVersion: number,
    expectedVersion: number,
    field: string[] | null = ['expectedVersion'],
  ) {
    super(`the block is at version ${currentVersion}, not ${expectedVersion}: it changed since it was read`, field);
  }
}

/**
 * A memory to supersede (or invalidate) was already superseded: another writer replaced it first,
 * or the client is behind. Nothing was written; `supersededById` names the winner, which is the
 * fact to supersede now if the change still applies. Concurrent supersessions of one memory
 * never fork its chain: one wins, the others get this.
 */
export class AlreadySupersededError extends AppError {
  readonly code = 'CONFLICT';
  override name = 'AlreadySupersededError';
  constructor(
    readonly memoryId: string,
    readonly supersededById: string,
    field: string[] | null,
  ) {
    super(
      `memory ${JSON.stringify(memoryId)} was already superseded by memory ${JSON.stringify(supersededById)}: ` +
        'supersede that one instead if the change still applies',
      field,
    );
  }
}

export class BlockLimitExceededError extends AppError {
  readonly code = 'BLOCK_LIMIT_EXCEEDED';
  override name = 'BlockLimitExceededError';
  constructor(
    readonly length: number,
    readonly limit: number,
    field: string[] | null,
  ) {
    super(`the value is ${length} characters long, more than the block's limit of ${limit}`, field);
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
  override name = 'ForbiddenError';
  constructor(field: string[] | null = null) {
    super(
      "this API key's scopes do not allow this: it needs read for queries, write for changes, admin for users, " +
        'keys, the trash, restore and purge',
      field,
    );
  }
}

/** When to try again after a database outage; short, because most are restarts and failovers. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/**
 * The database cannot be reached for now (down, restarting, refusing connections, full): nothing
 * was done, or, for a write whose connection broke while it committed, the client cannot know.
 * HTTP 503 with `Retry-After` (src/http/errors.ts); a client retries, with the same
 * Idempotency-Key for a mutation. Database failures are recognised by src/db/connection-failures.ts.
 */
export class DatabaseUnavailableError extends AppError {
  readonly code = 'DATABASE_UNAVAILABLE';
  override name = 'DatabaseUnavailableError';
  readonly retryAfterSeconds = DATABASE_RETRY_AFTER_SECONDS;
  constructor() {
    super(
      `the database is unavailable for now: retry in ${DATABASE_RETRY_AFTER_SECONDS} s (a mutation may have ` +
        `been applied: retry it with the same Idempotency-Key)`,
    );
  }
}

/** When to try again after an overload refusal or a timeout: the queue turns over within a second. */
const OVERLOAD_RETRY_AFTER_SECONDS = 1;

/**
 * The server is busy, the database answering: the process already runs and queues as many
 * operations as it takes (ADMISSION_MAX_IN_FLIGHT, ADMISSION_MAX_QUEUED), or no pooled connection
 * came free in time (DATABASE_CONNECT_TIMEOUT_MS) although the database answers. Nothing was done
 * for an admission refusal; a pool refusal may come after part of a query ran, never after a
 * write committed that the client is not told of (a mutation is retried with its Idempotency-Key).
 * HTTP 503 with `Retry-After`; unlike DATABASE_UNAVAILABLE, it says "back off", not "outage".
 */
export class OverloadedError extends AppError {
  readonly code = 'OVERLOADED';
  override name = 'OverloadedError';
  readonly retryAfterSeconds = OVERLOAD_RETRY_AFTER_SECONDS;
  constructor() {
    super(
      `the server is overloaded: retry in ${OVERLOAD_RETRY_AFTER_SECONDS} s, ` +
        `with backoff (a mutation with the same Idempotency-Key)`,
    );
  }
}

/**
 * The request ran longer than REQUEST_TIMEOUT_MS, or one of its statements longer than
 * DATABASE_STATEMENT_TIMEOUT_MS: its database work was abandoned (src/http/request-timeout.ts),
 * and a transaction it had open was rolled back. HTTP 503 with `Retry-After`.
 */
export class RequestTimeoutError extends AppError {
  readonly code = 'REQUEST_TIMEOUT';
  override name = 'RequestTimeoutError';
  readonly retryAfterSeconds = OVERLOAD_RETRY_AFTER_SECONDS;
  constructor() {
    super(
      `the request took too long and was abandoned: ` +
        `retry in ${OVERLOAD_RETRY_AFTER_SECONDS} s (a mutation with the same Idempotency-Key)`,
    );
  }
}

/**
 * Live updates cannot be delivered: the event bus that replicas share (Redis, REDIS_URL) is out
 * of reach. A subscription open when it went away ends with this error; a new one is refused with
 * it until the bus is back. Queries and mutations are not affected. A client subscribes again.
 */
export class LiveUpdatesUnavailableError extends AppError {
  readonly code = 'LIVE_UPDATES_UNAVAILABLE';
  override name = 'LiveUpdatesUnavailableError';
  constructor(reason = 'the event bus (Redis) is out of reach') {
    super(`live updates are unavailable for now: ${reason}; subscribe again in a few seconds`);
  }
}

/**
 * A write or search gave a vector where the database has no pgvector: semantic recall is off on
 * this deployment (the server said why when it started). Nothing was written. Text search works.
 */
export class SemanticRecallUnavailableError extends AppError {
  readonly code = 'SEMANTIC_RECALL_UNAVAILABLE';
  override name = 'SemanticRecallUnavailableError';
  constructor(field: string[] | null = null) {
    super(
      'semantic recall is off on this server: its database has no pgvector extension, so vectors cannot be ' +
        'stored or searched; text search works',
      field,
    );
  }
}
