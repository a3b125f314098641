import { createHash, randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import type { DatabaseSettings } from '../config/settings';
import { CatalogTextClient } from './catalog-text-client';
import { ConnectionUnavailableError, isDatabaseUnavailable, isTransientFailure, PoolExhaustedError, QueryTimeoutError } from './connection-failures';
import { readFromPrimaryFromNowOn, readMayUseReplica } from './read-routing';
import { currentDeadline } from './request-deadline';
import { retryPause, sleep } from './retries';
import { APPLICATION_ROLE, currentScopeStatement, type ScopedSql, type StatementReporter } from './row-level-security';

export type PostgresSettings = Extract<DatabaseSettings, { kind: 'postgres' }>;

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/** What a pool tells about its connections, for the log of outages (src/db/availability.ts). */
export interface ConnectionEvents {
  /** A connection broke, or none could be made. */
  failed(error: unknown): void;
  /** A new connection was made. */
  connected(): void;
}

// The application role is taken once per connection, and waited for: from then on nothing sent on
// the connection gets past the policies.
const connectionsInRole = new WeakSet<pg.PoolClient>();

// The scope each connection holds: every checkout applies the scope of the code that checks out,
// so a connection keeps the last one between checkouts, and one checked out again in the same
// scope (the next request of the same organization) needs no statement at all.
const scopeHeld = new WeakMap<pg.PoolClient, string>();

/** Closes a checked-out connection at once, failing what waits on it with `error`. */
function abandon(client: pg.PoolClient, error: Error): void {
  if (client instanceof CatalogTextClient) client.abandon(error);
  else client.release(error);
}

/** How the application's connections carry the row-level security scope. */
export interface RowScopeOptions {
  /**
   * `session`: a connection takes the application role once and the scope at each checkout, as
   * session settings (the default: no transaction round trips). `transaction`: the connections
   * lead to a transaction-mode pooler (PgBouncer), which may hand the server connection to another
   * client after every transaction, so the role and the scope are taken inside each transaction
   * (`set_config(…, true)`) and nothing outlives it.
   */
  extent: 'session' | 'transaction';
  /** How long a checkout may wait for the database, retries included (DATABASE_CONNECT_TIMEOUT_MS). */
  waitLimitMs: number;
  /** Fail at the first refused connection instead of waiting: for replicas, which have stand-ins. */
  failFast?: boolean;
  /** DATABASE_STATEMENT_TIMEOUT_MS, set on each connection with its scope; 0: none. */
  statementTimeoutMs?: number;
  events?: ConnectionEvents;
}

// A transaction's first and last statements as the pooled connections see them.
const beginsTransaction = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const setsTransaction = /^\s*SET\s+TRANSACTION\b/i;
// Whole statements only: `ROLLBACK TO SAVEPOINT` and `COMMIT AND CHAIN` leave the transaction open.
const endsTransaction = /^\s*(COMMIT|ROLLBACK|END|ABORT)(\s+(WORK|TRANSACTION))?\s*;?\s*$/i;

type SendQuery = (...args: unknown[]) => Promise<pg.QueryResult>;

function textOf(query: unknown): string {
  return typeof query === 'string' ? query : ((query as { text?: string } | undefined)?.text ?? '');
}

/**
 * PostgreSQL's side of row-level security (src/db/row-level-security.ts): every connection checked
 * out of this pool, for one statement or for a whole transaction, first takes the scope current at
 * checkout as session settings, and has it cleared again before it goes back to the pool. The
 * connections pipeline (node-postgres `pipeline`), so the scope goes out in the same flight as
 * the caller's first statement instead of costing a round trip of its own; should it fail, the
 * connection still holds the cleared scope, under which the policies show no row.
 * pg-pool's own `query` checks out through `connect` too. Behind a transaction pooler
 * (`extent: 'transaction'`) the scope goes into each transaction instead (`perTransaction`).
 *
 * It also rides out a database that is briefly away, and never keeps a broken connection:
 * - a checkout waits, retrying with backoff, while the database refuses connections, is starting
 *   up or is full, for `waitLimitMs` in all (DATABASE_CONNECT_TIMEOUT_MS); nothing of the caller's
 *   has been sent by then, so this is safe for every statement (see src/db/retries.ts);
 * - a checked-out connection that breaks goes back to the pool at once, which closes it, whoever
 *   holds it and whether or not they ever release it (releasing it again does nothing);
 * - a connection is only reused when it is outside any transaction.
 */
class RowScopedPool extends pg.Pool {
  private readonly waitLimitMs: number;
  private readonly events: ConnectionEvents | undefined;

  constructor(
    config: pg.PoolConfig,
    private readonly scoping: RowScopeOptions,
  ) {
    super(config);
    this.waitLimitMs = scoping.waitLimitMs;
    this.events = scoping.events;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    // Read now, in the caller's async context: the checkout may complete in another's.
    const scope = currentScopeStatement(this.scoping.extent, this.scoping.statementTimeoutMs);
    const scoped = this.checkOutWith(scope.sql, scope.args, currentDeadline());
    if (!callback) return scoped;
    scoped.then(
      (client) => callback(undefined, client, (release) => client.release(release as Error | boolean | undefined)),
      (error: Error) => callback(error, undefined, () => undefined),
    );
  }

  /** Whether a connection can be had and answers, tried once: for the readiness probe. */
  async answers(): Promise<boolean> {
    try {
      const client = await this.connectBefore(Date.now() + this.waitLimitMs);
      try {
        await client.query('SELECT 1');
      } catch (error) {
        client.release(error instanceof Error ? error : true);
        return false;
      }
      client.release();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A scoped connection, waited for until `waitLimitMs` or until the request's deadline fires
   * (`requestDeadline`, src/db/request-deadline.ts); a connection held when it fires is closed.
   */
  private async checkOutWith(sql: string, args: unknown[], requestDeadline: AbortSignal | undefined): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.waitLimitMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        requestDeadline?.throwIfAborted();
        if (this.scoping.extent === 'transaction') return this.abandonedAt(requestDeadline, this.perTransaction(await this.connectBefore(deadline, requestDeadline), sql, args));
        return this.abandonedAt(requestDeadline, this.scoped(await this.connectionInRole(deadline, requestDeadline), sql, args));
      } catch (error) {
        this.events?.failed(error);
        const pause = retryPause(attempt);
        if (this.scoping.failFast || !isDatabaseUnavailable(error) || Date.now() + pause >= deadline) throw error;
        await sleep(pause);
      }
    }
  }

  /** `client`, closed if `requestDeadline` fires before it is released. */
  private abandonedAt(requestDeadline: AbortSignal | undefined, client: pg.PoolClient): pg.PoolClient {
    if (!requestDeadline) return client;
    const cutOff = () => abandon(client, requestDeadline.reason instanceof Error ? requestDeadline.reason : new QueryTimeoutError('request'));
    if (requestDeadline.aborted) {
      cutOff();
      return client;
    }
    requestDeadline.addEventListener('abort', cutOff, { once: true });
    const release = client.release;
    client.release = (error?: Error | boolean) => {
      requestDeadline.removeEventListener('abort', cutOff);
      release(error);
    };
    return client;
  }

  private async connectionInRole(deadline: number, requestDeadline: AbortSignal | undefined): Promise<pg.PoolClient> {
    const client = await this.connectBefore(deadline, requestDeadline);
    if (connectionsInRole.has(client)) return client;
    try {
      // The raw SQL path names its statements so that each is planned once per connection
      // (scopedSqlOver); left to choose, PostgreSQL re-plans the planner's statements at every
      // run (their custom plans look cheaper than the generic one), which cost a third of their
      // round trip on a nested page. Prisma's statements are unnamed, planned each time anyway.
      await client.query(`SET ROLE ${APPLICATION_ROLE}; SET plan_cache_mode = force_generic_plan`);
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    connectionsInRole.add(client);
    return client;
  }

  /**
   * pg-pool's checkout, given up at `deadline` or when `requestDeadline` fires: a connection that
   * comes later goes back unused.
   */
  private connectBefore(deadline: number, requestDeadline?: AbortSignal): Promise<pg.PoolClient> {
    return new Promise((resolve, reject) => {
      let waiting = true;
      const giveUp = (error: unknown) => {
        waiting = false;
        clearTimeout(timer);
        requestDeadline?.removeEventListener('abort', onDeadline);
        reject(error);
      };
      const timer = setTimeout(() => giveUp(this.waitFailure()), Math.max(0, deadline - Date.now()));
      const onDeadline = () => giveUp(requestDeadline?.reason);
      requestDeadline?.addEventListener('abort', onDeadline, { once: true });
      super.connect().then(
        (client) => {
          if (!waiting) return client.release();
          waiting = false;
          clearTimeout(timer);
          requestDeadline?.removeEventListener('abort', onDeadline);
          resolve(client);
        },
        (error: unknown) => {
          if (!waiting) return;
          // node-postgres fails some attempts without a code, its own wait among them.
          giveUp(typeof (error as { code?: unknown }).code === 'string' ? error : this.waitFailure(error));
        },
      );
    });
  }

  /**
   * Why a checkout failed without an error of the database's: every connection the pool may
   * open was open and in use for the whole wait (the database answers; the server is busy), or
   * fewer were, so that new ones could not be made (the database is out of reach).
   */
  private waitFailure(cause?: unknown): Error {
    const max = this.options.max ?? 10;
    if (this.totalCount >= max && this.idleCount === 0) return new PoolExhaustedError(this.waitLimitMs);
    const reason = cause instanceof Error ? cause.message : `none was free or could be made within ${this.waitLimitMs} ms`;
    return new ConnectionUnavailableError(reason, cause);
  }

  private scoped(client: pg.PoolClient, sql: string, args: unknown[]): pg.PoolClient {
    const scope = JSON.stringify(args);
    if (scopeHeld.get(client) === scope) return this.releasedWith(client, () => true);
    let scoped = true;
    scopeHeld.set(client, scope);
    // Named, so PostgreSQL parses it once per connection; not waited for (see above). A failure
    // closes the connection at its release, so that its scope is never in doubt.
    client.query({ name: 'agentmem_row_scope', text: sql, values: args }).catch(() => {
      scoped = false;
      scopeHeld.delete(client);
    });
    return this.releasedWith(client, () => scoped);
  }

  /**
   * A connection for a transaction pooler: nothing is sent at checkout. The transaction the caller
   * begins takes the role and the scope (`SET LOCAL`'s equivalent) with its first statement; a
   * statement sent outside a transaction gets one of its own, BEGIN, scope, statement and COMMIT
   * pipelined in one flight, its result given once the COMMIT is in (a write is then visible to
   * whatever the caller sends next, on any connection). The pooler sees a transaction end before
   * anything outlives it. Statements are unnamed (see `scopedSqlOver`).
   */
  private perTransaction(client: pg.PoolClient, sql: string, args: unknown[]): pg.PoolClient {
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
      const callback = typeof args.at(-1) === 'function' ? (args.pop() as (error: Error | null, result?: pg.QueryResult) => void) : undefined;
      const result = query(args);
      if (!callback) return result;
      result.then(
        (value) => callback(null, value),
        (error: Error) => callback(error),
      );
      return undefined;
    }) as pg.PoolClient['query'];
    return this.releasedWith(client, () => true);
  }

  /**
   * `client`, given back to the pool once (closed when it broke, its scope failed or it is left
   * inside a transaction). It keeps its scope: the next checkout applies its own.
   */
  private releasedWith(client: pg.PoolClient, scoped: () => boolean): pg.PoolClient {
    const release = client.release;
    let released = false;
    const lost = (error: Error) => {
      this.events?.failed(error);
      if (released) return;
      released = true;
      Reflect.deleteProperty(client, 'query');
      release(error);
    };
    client.once('error', lost);
    client.release = (error?: Error | boolean) => {
      if (released) return;
      released = true;
      client.removeListener('error', lost);
      Reflect.deleteProperty(client, 'query'); // `perTransaction`'s, if any
      // A connection whose scope failed, or that is left inside a transaction, is not trusted
      // again: it is closed.
      if (error || !scoped() || client.getTransactionStatus() !== 'I') return release(error || true);
      release();
    };
    return client;
  }
}

/**
 * A client class that tells `report` of every statement it sends, the scoping ones included: what
 * a request costs in statements is counted where they leave, not where they are asked for.
 */
function clientReportingTo(report: StatementReporter): typeof CatalogTextClient {
  class StatementReportingClient extends CatalogTextClient {}
  const sendQuery = CatalogTextClient.prototype.query as (...args: unknown[]) => unknown;
  // Assigned rather than overridden, for the reason given in catalog-text-client.ts.
  StatementReportingClient.prototype.query = function reportingQuery(this: pg.Client, ...args: unknown[]) {
    const [query] = args;
    const end = report(typeof query === 'string' ? query : (query as { text?: string }).text ?? '');
    if (!end) return Reflect.apply(sendQuery, this, args);
    // pg answers through a callback (pg-pool's `query` passes one) or a promise.
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error: Error | undefined, ...rest: unknown[]) => {
        end(error ?? undefined);
        return Reflect.apply(callback, undefined, [error, ...rest]);
      };
      return Reflect.apply(sendQuery, this, args);
    }
    const answer: unknown = Reflect.apply(sendQuery, this, args);
    if (answer instanceof Promise) answer.then(() => end(), end);
    else end();
    return answer;
  } as pg.Client['query'];
  return StatementReportingClient;
}

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

/** When a replica that failed is tried again. */
const REPLICA_RETRY_AFTER_MS = 2000;

// Reads a replica may serve: plain SELECTs, as in src/db/retries.ts (no function a SELECT here
// calls writes; data-modifying CTEs begin with WITH).
const readStatement = /^\s*SELECT\b/i;

/** A replica's pool and until when it is left out after a failure. */
interface Replica {
  pool: RowScopedPool;
  name: string;
  downUntil: number;
}

/**
 * The application's pool on the primary, with read replicas (DATABASE_REPLICA_URLS): a SELECT
 * sent through `query` while the request may read from a replica (src/db/read-routing.ts) goes to
 * the next replica in turn; everything else, and every checkout through `connect` (a
 * transaction), goes to the primary, and a checkout marks the request as having written. A
 * replica that cannot be reached, or whose connection breaks, is left out for
 * REPLICA_RETRY_AFTER_MS and the read goes to the next one, then to the primary: a SELECT can be
 * sent again safely. Other errors (a bad statement) are the caller's, as on the primary.
 */
class ReplicaRoutingPool extends RowScopedPool {
  private next = 0;

  constructor(
    config: pg.PoolConfig,
    scoping: RowScopeOptions,
    private readonly replicas: Replica[],
    private readonly onReplicaDown: (name: string, error: unknown) => void,
  ) {
    super(config, scoping);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    readFromPrimaryFromNowOn();
    return callback ? super.connect(callback) : super.connect();
  }

  async readFromReplica(args: unknown[], primary: () => Promise<pg.QueryResult>): Promise<pg.QueryResult> {
    for (let tried = 0; tried < this.replicas.length; tried += 1) {
      const replica = this.replicas[this.next++ % this.replicas.length]!;
      if (replica.downUntil > Date.now()) continue;
      try {
        return await (replica.pool.query as (...sent: unknown[]) => Promise<pg.QueryResult>)(...args);
      } catch (error) {
        if (!isTransientFailure(error)) throw error;
        replica.downUntil = Date.now() + REPLICA_RETRY_AFTER_MS;
        this.onReplicaDown(replica.name, error);
      }
    }
    return primary();
  }

  override async end(): Promise<void> {
    await Promise.all([super.end(), ...this.replicas.map((replica) => replica.pool.end())]);
  }
}

const sendOnPrimary = pg.Pool.prototype.query as (...args: unknown[]) => unknown;
// Assigned rather than overridden, for the reason given in catalog-text-client.ts. Callback calls
// (pg-pool's own) stay on the primary.
ReplicaRoutingPool.prototype.query = function routedQuery(this: ReplicaRoutingPool, ...args: unknown[]) {
  if (typeof args.at(-1) === 'function' || !readMayUseReplica() || !readStatement.test(textOf(args[0]))) {
    return Reflect.apply(sendOnPrimary, this, args);
  }
  return this.readFromReplica(args, () => Reflect.apply(sendOnPrimary, this, args) as Promise<pg.QueryResult>);
} as pg.Pool['query'];

/** What a pool is for: the application's row-scoped connections, or plain ones (the owner, the CLI). */
interface PoolOptions {
  rowScoped?: boolean;
  report?: StatementReporter;
  events?: ConnectionEvents;
  /** Replicas' pools fail fast: their reads have stand-ins. */
  failFast?: boolean;
}

/**
 * The application's pool: on the primary alone, or routing reads to `settings.replicaUrls`
 * (ReplicaRoutingPool). `onReplicaDown` hears of each replica left out for a while.
 */
export function createApplicationPool(
  settings: PostgresSettings,
  options: Omit<PoolOptions, 'rowScoped' | 'failFast'> & { onReplicaDown?: (name: string, error: unknown) => void },
): pg.Pool {
  const replicaUrls = settings.replicaUrls ?? [];
  if (replicaUrls.length === 0) return createPostgresPool(settings, { ...options, rowScoped: true });
  const replicas = replicaUrls.map((url) => {
    const { hostname, port, pathname } = new URL(url);
    // A replica that does not answer soon is passed over: the primary can serve the read.
    const replicaSettings = { ...settings, url, connectTimeoutMs: Math.min(settings.connectTimeoutMs, 1000) };
    const pool = createPostgresPool(replicaSettings, { ...options, rowScoped: true, failFast: true }) as RowScopedPool;
    return { pool, name: `${hostname}:${port || 5432}${pathname}`, downUntil: 0 };
  });
  const { config, scoping } = poolParts(settings, { ...options, rowScoped: true });
  const pool = new ReplicaRoutingPool(config, scoping, replicas, options.onReplicaDown ?? (() => undefined));
  return listenedTo(pool, options.events);
}

/**
 * The one pg pool factory: for the server (`rowScoped`, the application's connections) and for the
 * Prisma CLI (prisma.config.ts) and the owner's client (src/db/database.ts), which are not.
 * Every pool listens for its connections' failures (`events`, or nothing): pg-pool emits an idle
 * connection's failure on the pool, and an event nobody listens to would end the process.
 */
export function createPostgresPool(settings: PostgresSettings, options: PoolOptions = {}): pg.Pool {
  const { config, scoping } = poolParts(settings, options);
  return listenedTo(options.rowScoped ? new RowScopedPool(config, scoping) : new pg.Pool(config), options.events);
}

function listenedTo(pool: pg.Pool, events: ConnectionEvents | undefined): pg.Pool {
  pool.on('error', (error) => events?.failed(error));
  pool.on('connect', () => events?.connected());
  return pool;
}

function poolParts(settings: PostgresSettings, options: PoolOptions): { config: pg.PoolConfig; scoping: RowScopeOptions } {
  // Separate fields rather than `connectionString`: adapter-pg derives the shadow database of
  // `migrate dev` by overriding `database`, which a connection string would silently win over.
  const { host, port, user, password, database, ssl } = parseConnectionString(settings.url);
  const statementTimeoutMs = settings.statementTimeoutMs ?? 0;
  const config: pg.PoolConfig = {
    pipeline: options.rowScoped === true,
    host: host ?? undefined,
    port: port ? Number(port) : undefined,
    user,
    password,
    database: database ?? undefined,
    ssl: ssl === null ? undefined : (ssl as pg.PoolConfig['ssl']),
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    // The client's own bound on a statement's answer, for a database that accepts a connection
    // and then never answers: a little over the server's statement timeout, which normally
    // answers first (57014). Application connections only: the owner's run migrations.
    ...(options.rowScoped && statementTimeoutMs > 0 && { query_timeout: statementTimeoutMs + STATEMENT_ANSWER_GRACE_MS }),
    Client: options.report ? clientReportingTo(options.report) : CatalogTextClient,
    // The Prisma CLI never ends its pool: idle connections must not keep it running.
    allowExitOnIdle: true,
  };
  const scoping: RowScopeOptions = {
    extent: settings.pooler === 'transaction' ? 'transaction' : 'session',
    waitLimitMs: settings.connectTimeoutMs,
    failFast: options.failFast,
    events: options.events,
    statementTimeoutMs,
  };
  return { config, scoping };
}

/** How long after the server's statement timeout the client stops waiting for the answer itself. */
const STATEMENT_ANSWER_GRACE_MS = 2000;

/** Whether the application's pool can give a connection that answers, tried once (for /ready). */
export function poolAnswers(pool: pg.Pool): Promise<boolean> {
  if (pool instanceof RowScopedPool) return pool.answers();
  return pool.query('SELECT 1').then(
    () => true,
    () => false,
  );
}

const reasons: Record<string, string> = {
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
  if (typeof code === 'string' && reasons[code]) return reasons[code];
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) return 'connection timed out (DATABASE_CONNECT_TIMEOUT_MS)';
  return message.split('\n')[0] ?? 'unknown error';
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * adapter-pg 6.19 runs a migration script by splitting it on every `;`, which breaks `DO $$ … $$`
 * bodies and any comment with a semicolon. A statement without parameters goes over the simple
 * query protocol instead (node-postgres chooses it when `values` is empty), which takes the whole
 * script and runs it as one implicit transaction: a migration applies completely or not at all.
 */
function runningWholeScripts(adapter: SqlDriverAdapter): SqlDriverAdapter {
  adapter.executeScript = async (script) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  return adapter;
}

/**
 * The adapter factory of the Prisma CLI. It differs from plain PrismaPg in two things: scripts run
 * whole (above), and the shadow database of `migrate diff --from-migrations` / `migrate dev` is
 * dropped after its pool has ended (adapter-pg 6.19 drops it first and fails with "being accessed
 * by other users").
 */
export class PostgresMigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';

  constructor(private readonly settings: PostgresSettings) {}

  async connect(): Promise<SqlDriverAdapter> {
    return runningWholeScripts(await new PrismaPg(createPostgresPool(this.settings)).connect());
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const admin = createPostgresPool({ ...this.settings, poolSize: 1 });
    const name = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    const shadowPool = createPostgresPool({ ...this.settings, url: withDatabase(this.settings.url, name) });
    const adapter = runningWholeScripts(await new PrismaPg(shadowPool).connect());
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      await shadowPool.end();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    };
    return adapter;
  }
}
