import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import type { DatabaseSettings } from '../../config/settings';
import type { StatementReporter } from '../row-level-security';
import { CatalogTextClient } from './catalog-text-client';
import { type ConnectionEvents, RowScopedPool, type RowScopeOptions } from './pool';
import { ReplicaRoutingPool } from './replicas';
import { clientReportingTo } from './statement-reporting';

export type PostgresSettings = Extract<DatabaseSettings, { kind: 'postgres' }>;

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

function poolParts(
  settings: PostgresSettings,
  options: PoolOptions,
): { config: pg.PoolConfig; scoping: RowScopeOptions } {
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
    ...(options.rowScoped &&
      statementTimeoutMs > 0 && { query_timeout: statementTimeoutMs + STATEMENT_ANSWER_GRACE_MS }),
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
