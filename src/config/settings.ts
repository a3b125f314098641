import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting the server reads, parsed once from the environment. `.env.example` documents
 * each one; nothing else in `src/` reads `process.env`.
 */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

const postgresUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'expected postgresql://user:password@host:5432/database');

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const environmentSchema = z.object({
  PORT: integer(0, 65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: integer(1, 1000).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 600_000).default(5000),
  DATABASE_REPLICA_URLS: z.string().optional(),
  DATABASE_POOLER: z.enum(['none', 'transaction']).default('none'),
  PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
  DEMO_DATA: z.enum(['true', 'false']).default('true'),
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
  WORKERS: integer(1, 1024).default(os.availableParallelism()),
  MAX_REQUEST_BYTES: integer(1024, 1024 * 1024 * 1024).default(1024 * 1024),
  MAX_QUERY_DEPTH: integer(1, 100).default(10),
  MAX_ALIASES: integer(0, 1000).default(15),
  MAX_TOKENS: integer(10, 100_000).default(2000),
  MAX_QUERY_COST: integer(10, 10_000_000).default(5000),
  CORS_ORIGINS: z.string().default(''),
  INTROSPECTION: z.enum(['auto', 'on', 'off']).default('auto'),
  RATE_LIMIT_REQUESTS: integer(0, 10_000_000).default(600),
  RATE_LIMIT_WINDOW_SECONDS: integer(1, 86_400).default(60),
  READ_PATH: z.enum(['fast', 'general']).default('fast'),
  GRAPHQL_JIT: z.enum(['true', 'false']).default('true'),
  IDEMPOTENCY_TTL_HOURS: integer(1, 8760).default(24),
  AUTH_FAILURE_LIMIT: integer(0, 10_000_000).default(30),
  AUTH_FAILURE_WINDOW_SECONDS: integer(1, 86_400).default(60),
  TRUSTED_PROXIES: integer(0, 100).default(0),
  NODE_ENV: z.string().default('development'),
});

export type DatabaseSettings =
  // connectTimeoutMs: how long a statement waits for a connection, retries included, before the
  // request gets 503 DATABASE_UNAVAILABLE (src/db/retries.ts).
  // replicaUrls: streaming replicas that serve a request's reads until it writes (src/db/read-routing.ts);
  // pooler 'transaction': DATABASE_URL is a transaction-mode pooler (PgBouncer), so nothing may be
  // left on a connection between transactions (src/db/postgres.ts). Both absent: neither.
  | { kind: 'postgres'; url: string; poolSize: number; connectTimeoutMs: number; replicaUrls?: string[]; pooler?: 'transaction' }
  | { kind: 'pglite'; dataDir: string };

export interface Settings {
  port: number;
  host: string;
  database: DatabaseSettings;
  demoData: boolean;
  migrateOnStart: boolean;
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  shutdownTimeoutMs: number;
  /** Server processes `npm run start:cluster` runs (src/cluster.ts). */
  workers: number;
  maxRequestBytes: number;
  limits: { maxDepth: number; maxAliases: number; maxTokens: number; maxCost: number };
  /** Browser origins allowed to call the API; empty: none (same-origin only). */
  corsOrigins: string[];
  /** Who may introspect the schema: every key, keys with the admin scope, or no one. */
  introspection: 'everyone' | 'admin' | 'nobody';
  /** GraphQL requests one API key may make per window; 0: no limit. */
  rateLimit: { requests: number; windowSeconds: number };
  /**
   * `fast`: the hot reads (agents with their blocks, tools and recent messages) are one SQL
   * statement each (src/agents/page.ts); `general`: everything through Prisma, as a comparison
   * and an escape hatch. Both give the same answers.
   */
  readPath: 'fast' | 'general';
  /** Execute operations with graphql-jit's compiled queries instead of graphql-js's interpreter. */
  graphqlJit: boolean;
  /** How long the outcome of a mutation sent with an Idempotency-Key is kept for its retries. */
  idempotencyTtlHours: number;
  /** Failed authentications one client address may make per window before it is refused; 0: no limit. */
  authFailureLimit: { failures: number; windowSeconds: number };
  /** Reverse proxies in front of the server: how many X-Forwarded-For entries, from the right, to trust. */
  trustedProxies: number;
}

/** Empty variables count as unset, as they do in most twelve-factor tools. */
function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = environmentSchema.safeParse(withoutEmptyValues(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new SettingsError(`invalid setting ${name}: ${issue?.message ?? 'not valid'}; change ${name} (see .env.example)`);
  }
  const values = parsed.data;
  const replicaUrls = replicaList(values.DATABASE_REPLICA_URLS ?? '');
  if (!values.DATABASE_URL && (replicaUrls.length > 0 || values.DATABASE_POOLER !== 'none')) {
    throw new SettingsError(
      `invalid setting ${replicaUrls.length > 0 ? 'DATABASE_REPLICA_URLS' : 'DATABASE_POOLER'}: the embedded database has no replicas or pooler; set DATABASE_URL (see .env.example)`,
    );
  }
  if (values.DATABASE_POOLER === 'transaction' && values.MIGRATE_ON_START === 'true') {
    // Prisma's migrations hold a session-level advisory lock, which a transaction pooler would
    // hand to another client between statements.
    throw new SettingsError(
      'invalid setting MIGRATE_ON_START: migrations need a session, which DATABASE_POOLER=transaction does not give; set MIGRATE_ON_START=false and run `npm run db:migrate` against PostgreSQL directly (see README "Running at scale")',
    );
  }
  const database: DatabaseSettings = values.DATABASE_URL
    ? {
        kind: 'postgres',
        url: values.DATABASE_URL,
        poolSize: values.DATABASE_POOL_SIZE,
        connectTimeoutMs: values.DATABASE_CONNECT_TIMEOUT_MS,
        ...(replicaUrls.length > 0 && { replicaUrls }),
        ...(values.DATABASE_POOLER === 'transaction' && { pooler: 'transaction' as const }),
      }
    : { kind: 'pglite', dataDir: path.resolve(values.PGLITE_DATA_DIR) };
  return {
    port: values.PORT,
    host: values.HOST,
    database,
    demoData: values.DEMO_DATA === 'true',
    migrateOnStart: values.MIGRATE_ON_START === 'true',
    logLevel: values.LOG_LEVEL,
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    workers: values.WORKERS,
    maxRequestBytes: values.MAX_REQUEST_BYTES,
    limits: {
      maxDepth: values.MAX_QUERY_DEPTH,
      maxAliases: values.MAX_ALIASES,
      maxTokens: values.MAX_TOKENS,
      maxCost: values.MAX_QUERY_COST,
    },
    corsOrigins: values.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''),
    introspection: introspectionFor(values.INTROSPECTION, values.NODE_ENV),
    rateLimit: { requests: values.RATE_LIMIT_REQUESTS, windowSeconds: values.RATE_LIMIT_WINDOW_SECONDS },
    readPath: values.READ_PATH,
    graphqlJit: values.GRAPHQL_JIT === 'true',
    idempotencyTtlHours: values.IDEMPOTENCY_TTL_HOURS,
    authFailureLimit: { failures: values.AUTH_FAILURE_LIMIT, windowSeconds: values.AUTH_FAILURE_WINDOW_SECONDS },
    trustedProxies: values.TRUSTED_PROXIES,
  };
}

/** DATABASE_REPLICA_URLS: comma-separated PostgreSQL URLs, each checked as DATABASE_URL is. */
function replicaList(value: string): string[] {
  const urls = value
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  for (const url of urls) {
    const checked = postgresUrl.safeParse(url);
    if (!checked.success) throw new SettingsError(`invalid setting DATABASE_REPLICA_URLS: ${checked.error.issues[0]?.message ?? 'not valid'}; change DATABASE_REPLICA_URLS (see .env.example)`);
  }
  return urls;
}

/** `auto`: everyone in development; in production, admin keys only (it maps the whole API). */
function introspectionFor(setting: 'auto' | 'on' | 'off', nodeEnv: string): Settings['introspection'] {
  if (setting === 'on') return 'everyone';
  if (setting === 'off') return 'nobody';
  return nodeEnv === 'production' ? 'admin' : 'everyone';
}

/** Where a person should look when the database cannot be opened. */
export function describeDatabase(database: DatabaseSettings): string {
  if (database.kind === 'pglite') return `embedded PGlite in ${database.dataDir} (PGLITE_DATA_DIR)`;
  const url = new URL(database.url);
  return `PostgreSQL at ${url.hostname}:${url.port || 5432}${url.pathname} (DATABASE_URL)`;
}
