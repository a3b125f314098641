import pg from 'pg';
import {
  ConnectionUnavailableError,
  isDatabaseUnavailable,
  PoolExhaustedError,
  QueryTimeoutError,
} from '../connection-failures';
import { currentDeadline } from '../request-deadline';
import { retryPause, sleep } from '../retries';
import { APPLICATION_ROLE, currentScopeStatement } from '../row-level-security';
import { CatalogTextClient } from './catalog-text-client';
import { scopedPerTransaction } from './transaction-pooler';

export type ConnectCallback = (
  error: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

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

/**
 * PostgreSQL's side of row-level security (src/db/row-level-security.ts): every connection checked
 * out of this pool, for one statement or for a whole transaction, first takes the scope current at
 * checkout as session settings, and has it cleared again before it goes back to the pool. The
 * connections pipeline (node-postgres `pipeline`), so the scope goes out in the same flight as
 * the caller's first statement instead of costing a round trip of its own; should it fail, the
 * connection still holds the cleared scope, under which the policies show no row.
 * pg-pool's own `query` checks out through `connect` too. Behind a transaction pooler
 * (`extent: 'transaction'`) the scope goes into each transaction instead
 * (src/db/postgres/transaction-pooler.ts).
 *
 * It also rides out a database that is briefly away, and never keeps a broken connection:
 * - a checkout waits, retrying with backoff, while the database refuses connections, is starting
 *   up or is full, for `waitLimitMs` in all (DATABASE_CONNECT_TIMEOUT_MS); nothing of the caller's
 *   has been sent by then, so this is safe for every statement (see src/db/retries.ts);
 * - a checked-out connection that breaks goes back to the pool at once, which closes it, whoever
 *   holds it and whether or not they ever release it (releasing it again does nothing);
 * - a connection is only reused when it is outside any transaction.
 */
export class RowScopedPool extends pg.Pool {
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
  private async checkOutWith(
    sql: string,
    args: unknown[],
    requestDeadline: AbortSignal | undefined,
  ): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.waitLimitMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        requestDeadline?.throwIfAborted();
        if (this.scoping.extent === 'transaction')
          return this.abandonedAt(
            requestDeadline,
            this.perTransaction(await this.connectBefore(deadline, requestDeadline), sql, args),
          );
        return this.abandonedAt(
          requestDeadline,
          this.scoped(await this.connectionInRole(deadline, requestDeadline), sql, args),
        );
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
    const cutOff = () =>
      abandon(
        client,
        requestDeadline.reason instanceof Error ? requestDeadline.reason : new QueryTimeoutError('request'),
      );
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
      // (scopedSqlOver, prepared-statements.ts); left to choose, PostgreSQL re-plans the planner's statements at every
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
    const reason =
      cause instanceof Error ? cause.message : `none was free or could be made within ${this.waitLimitMs} ms`;
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

  /** A connection for a transaction pooler, scoped per transaction (src/db/postgres/transaction-pooler.ts). */
  private perTransaction(client: pg.PoolClient, sql: string, args: unknown[]): pg.PoolClient {
    scopedPerTransaction(client, sql, args);
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
      Reflect.deleteProperty(client, 'query'); // `scopedPerTransaction`'s, if any
      // A connection whose scope failed, or that is left inside a transaction, is not trusted
      // again: it is closed.
      if (error || !scoped() || client.getTransactionStatus() !== 'I') return release(error || true);
      release();
    };
    return client;
  }
}
