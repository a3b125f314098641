import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import type { DatabaseSettings } from '../config/settings';
import { CatalogTextClient } from './catalog-text-client';
import { ConnectionUnavailableError, isDatabaseUnavailable } from './connection-failures';
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
// the connection gets past the policies. Scopes change at every checkout.
const connectionsInRole = new WeakSet<pg.PoolClient>();

// Written out rather than bound: it has no values, and it reads apart from the scoping at
// checkout wherever statements are listed (src/db/database.ts `onStatement`).
const clearedScope = `SELECT set_config('role', '${APPLICATION_ROLE}', false), set_config('app.organization_id', '', false), set_config('app.api_key_hash', '', false)`;

/** node-postgres fails some connection attempts without a code; they are given SQLSTATE 08001. */
function asCheckoutFailure(error: unknown): unknown {
  if (typeof (error as { code?: unknown }).code === 'string') return error;
  return new ConnectionUnavailableError(error instanceof Error ? error.message : String(error), error);
}

/**
 * PostgreSQL's side of row-level security (src/db/row-level-security.ts): every connection checked
 * out of this pool, for one statement or for a whole transaction, first takes the scope current at
 * checkout as session settings, and has it cleared again before it goes back to the pool. The
 * connections pipeline (node-postgres `pipeline`), so the scope goes out in the same flight as
 * the caller's first statement instead of costing a round trip of its own; should it fail, the
 * connection still holds the cleared scope, under which the policies show no row.
 * pg-pool's own `query` checks out through `connect` too.
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
  constructor(
    config: pg.PoolConfig,
    private readonly waitLimitMs: number,
    private readonly events: ConnectionEvents | undefined,
  ) {
    super(config);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    // Read now, in the caller's async context: the checkout may complete in another's.
    const scope = currentScopeStatement('session');
    const scoped = this.checkOutWith(scope.sql, scope.args);
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

  private async checkOutWith(sql: string, args: unknown[]): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.waitLimitMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return this.scoped(await this.connectionInRole(deadline), sql, args);
      } catch (error) {
        this.events?.failed(error);
        const pause = retryPause(attempt);
        if (!isDatabaseUnavailable(error) || Date.now() + pause >= deadline) throw error;
        await sleep(pause);
      }
    }
  }

  private async connectionInRole(deadline: number): Promise<pg.PoolClient> {
    const client = await this.connectBefore(deadline);
    if (connectionsInRole.has(client)) return client;
    try {
      await client.query(`SET ROLE ${APPLICATION_ROLE}`);
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    connectionsInRole.add(client);
    return client;
  }

  /** pg-pool's checkout, given up at `deadline`: a connection that comes later goes back unused. */
  private connectBefore(deadline: number): Promise<pg.PoolClient> {
    return new Promise((resolve, reject) => {
      let waiting = true;
      const timer = setTimeout(() => {
        waiting = false;
        reject(new ConnectionUnavailableError(`none was free or could be made within ${this.waitLimitMs} ms`));
      }, Math.max(0, deadline - Date.now()));
      super.connect().then(
        (client) => {
          if (!waiting) return client.release();
          waiting = false;
          clearTimeout(timer);
          resolve(client);
        },
        (error: unknown) => {
          if (!waiting) return;
          waiting = false;
          clearTimeout(timer);
          reject(asCheckoutFailure(error));
        },
      );
    });
  }

  private scoped(client: pg.PoolClient, sql: string, args: unknown[]): pg.PoolClient {
    // pg-pool's own `query` releases from the driver's callback, in the socket's async context:
    // the clearing statement is sent in the checkout's, so that it counts (and is traced) as
    // the request's that it belongs to (src/observability/requests.ts).
    const inCheckoutContext = AsyncLocalStorage.snapshot();
    let scoped = true;
    // Named, so PostgreSQL parses it once per connection; not waited for (see above).
    client.query({ name: 'agentmem_row_scope', text: sql, values: args }).catch(() => {
      scoped = false;
    });
    const release = client.release;
    let released = false;
    const lost = (error: Error) => {
      this.events?.failed(error);
      if (released) return;
      released = true;
      release(error);
    };
    client.once('error', lost);
    client.release = (error?: Error | boolean) => {
      if (released) return;
      released = true;
      client.removeListener('error', lost);
      // A connection whose scope failed, or that is left inside a transaction, is not trusted
      // again: it is closed.
      if (error || !scoped || client.getTransactionStatus() !== 'I') return release(error || true);
      inCheckoutContext(() =>
        client.query(clearedScope).then(
          () => release(),
          (failure: Error) => release(failure),
        ),
      );
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
 * per connection rather than at every request.
 */
export function scopedSqlOver(pool: pg.Pool): ScopedSql {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
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

/**
 * The one pg pool factory: for the server (`rowScoped`, the application's connections) and for the
 * Prisma CLI (prisma.config.ts) and the owner's client (src/db/database.ts), which are not.
 * Every pool listens for its connections' failures (`events`, or nothing): pg-pool emits an idle
 * connection's failure on the pool, and an event nobody listens to would end the process.
 */
export function createPostgresPool(
  settings: PostgresSettings,
  options: { rowScoped?: boolean; report?: StatementReporter; events?: ConnectionEvents } = {},
): pg.Pool {
  // Separate fields rather than `connectionString`: adapter-pg derives the shadow database of
  // `migrate dev` by overriding `database`, which a connection string would silently win over.
  const { host, port, user, password, database, ssl } = parseConnectionString(settings.url);
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
    Client: options.report ? clientReportingTo(options.report) : CatalogTextClient,
    // The Prisma CLI never ends its pool: idle connections must not keep it running.
    allowExitOnIdle: true,
  };
  const pool = options.rowScoped ? new RowScopedPool(config, settings.connectTimeoutMs, options.events) : new pg.Pool(config);
  pool.on('error', (error) => options.events?.failed(error));
  pool.on('connect', () => options.events?.connected());
  return pool;
}

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
