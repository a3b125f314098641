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

const postgresUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'expected postgresql://user:password@host:5432/database');

const redisUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'expected redis://[:password@]host:6379[/db] (or rediss:// for TLS)');

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A weight of the search score: a finite number from 0 to 100. */
const weight = z.coerce.number().min(0).max(100);

/** The port `npm start` listens on when PORT is not set; the agent-file CLI looks there too. */
const DEFAULT_PORT = 4000;

/** The most numbers an embedding may have: pgvector's HNSW index takes vectors of up to 2,000. */
export const MAX_EMBEDDING_DIMENSIONS = 2000;

const environmentSchema = z.object({
  PORT: integer(0, 65535).default(DEFAULT_PORT),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: integer(1, 1000).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 600_000).default(5000),
  DATABASE_REPLICA_URLS: z.string().optional(),
  DATABASE_POOLER: z.enum(['none', 'transaction']).default('none'),
  DATABASE_STATEMENT_TIMEOUT_MS: integer(0, 3_600_000).default(20_000),
  REQUEST_TIMEOUT_MS: integer(0, 3_600_000).default(30_000),
  ADMISSION_MAX_IN_FLIGHT: integer(1, 100_000).optional(),
  ADMISSION_MAX_QUEUED: integer(0, 1_000_000).optional(),
  ADMISSION_QUEUE_TIMEOUT_MS: integer(1, 600_000).default(250),
  PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
  PG_BIN_DIR: z.string().min(1).optional(),
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
  // A revoked key must stop working everywhere within 1 s: the cache cannot hold a key longer.
  AUTH_CACHE_MS: integer(0, 1000).default(900),
  RATE_LIMIT_WINDOW_SECONDS: integer(1, 86_400).default(60),
  READ_PATH: z.enum(['fast', 'general']).default('fast'),
  GRAPHQL_JIT: z.enum(['true', 'false']).default('true'),
  IDEMPOTENCY_TTL_HOURS: integer(1, 8760).default(24),
  MEMORY_EXPIRY_SWEEP_SECONDS: integer(0, 86_400).default(60),
  AUTH_FAILURE_LIMIT: integer(0, 10_000_000).default(30),
  AUTH_FAILURE_WINDOW_SECONDS: integer(1, 86_400).default(60),
  TRUSTED_PROXIES: integer(0, 100).default(0),
  REDIS_URL: redisUrl.optional(),
  METRICS_TOKEN: z
    .string()
    .min(16, 'at least 16 characters: it guards /metrics')
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL of an OTLP collector, e.g. http://127.0.0.1:4318' })
    .optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  OTEL_SERVICE_NAME: z.string().min(1).default('agentmem'),
  SEARCH_WEIGHT_TEXT: weight.default(0.5),
  SEARCH_WEIGHT_IMPORTANCE: weight.default(0.2),
  SEARCH_WEIGHT_RECENCY: weight.default(0.2),
  SEARCH_WEIGHT_USE: weight.default(0.1),
  SEARCH_RECENCY_HALF_LIFE_DAYS: z.coerce.number().min(0.001).max(36_500).default(30),
  SEARCH_USE_HALF_COUNT: z.coerce.number().min(0.001).max(1_000_000_000).default(10),
  SEARCH_RRF_K: z.coerce.number().int().min(1).max(10_000).default(60),
  // 2,000 is the most dimensions pgvector's HNSW index takes for `vector`.
  EMBEDDINGS_DIMENSIONS: integer(1, MAX_EMBEDDING_DIMENSIONS).default(1536),
  EMBEDDINGS_MODEL: z.string().trim().min(1).max(255).optional(),
  // Near-duplicate dedupe: off unless set (a cosine similarity above 0, at most 1).
  MEMORY_DEDUPE_SIMILARITY: z.coerce.number().gt(0).max(1).optional(),
  EMBEDDINGS_URL: z
    .url({
      protocol: /^https?$/,
      error:
        'expected the http(s) URL of an OpenAI-compatible embeddings endpoint, ' +
        'e.g. http://127.0.0.1:11434/v1/embeddings',
    })
    .optional(),
  EMBEDDINGS_API_KEY: z.string().min(1).optional(),
  EMBEDDINGS_TIMEOUT_MS: integer(100, 600_000).default(30_000),
  EMBEDDINGS_QUERY_TIMEOUT_MS: integer(10, 60_000).default(2000),
  EMBEDDINGS_MAX_ATTEMPTS: integer(1, 1000).default(12),
  // From how many embeddings an organization's vector search has an HNSW index of its own
  // (src/memories/vector-indexes.ts); below, it is exact. And how often the server looks.
  VECTOR_INDEX_MIN_EMBEDDINGS: integer(1, 1_000_000_000).default(10_000),
  VECTOR_INDEX_SWEEP_SECONDS: integer(0, 86_400).default(60),
  NODE_ENV: z.string().default('development'),
});

export type DatabaseSettings =
  // connectTimeoutMs: how long a statement waits for a connection, retries included, before the
  // request gets 503 DATABASE_UNAVAILABLE (src/db/retries.ts).
  // replicaUrls: streaming replicas that serve a request's reads until it writes (src/db/read-routing.ts);
  // pooler 'transaction': DATABASE_URL is a transaction-mode pooler (PgBouncer), so nothing may be
  // left on a connection between transactions (src/db/postgres/transaction-pooler.ts). Both absent: neither.
  // statementTimeoutMs: PostgreSQL's statement_timeout on the application's connections, and a
  // little over it, the client's wait for an answer; absent or 0: neither.
  | {
      kind: 'postgres';
      url: string;
      poolSize: number;
      connectTimeoutMs: number;
      replicaUrls?: string[];
      pooler?: 'transaction';
      statementTimeoutMs?: number;
    }
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
  /**
   * How long a GraphQL request may run from its admission before its database work is abandoned
   * (503 REQUEST_TIMEOUT); 0: no limit.
   */
  requestTimeoutMs: number;
  /** Admission control of GraphQL operations in this process (src/http/admission.ts). */
  admission: AdmissionSettings;
  limits: { maxDepth: number; maxAliases: number; maxTokens: number; maxCost: number };
  /** Browser origins allowed to call the API; empty: none (same-origin only). */
  corsOrigins: string[];
  /** Who may introspect the schema: every key, keys with the admin scope, or no one. */
  introspection: 'everyone' | 'admin' | 'nobody';
  /** GraphQL requests one API key may make per window; 0: no limit. */
  rateLimit: { requests: number; windowSeconds: number };
  /** How long a checked key is trusted without a statement (0: every request checks it). */
  authCacheMs: number;
  /**
   * `fast`: the read planner answers each root field that reads rows in one SQL statement
   * (src/planner); `general`: everything through Prisma and DataLoader, as a comparison and an
   * escape hatch. Both give the same answers.
   */
  readPath: 'fast' | 'general';
  /** Execute operations with graphql-jit's compiled queries instead of graphql-js's interpreter. */
  graphqlJit: boolean;
  /** How long the outcome of a mutation sent with an Idempotency-Key is kept for its retries. */
  idempotencyTtlHours: number;
  /** At most how often an organization's expired memories are swept into the trash; 0: never. */
  memoryExpirySweepSeconds: number;
  /** Failed authentications one client address may make per window before it is refused; 0: no limit. */
  authFailureLimit: { failures: number; windowSeconds: number };
  /** Reverse proxies in front of the server: how many X-Forwarded-For entries, from the right, to trust. */
  trustedProxies: number;
  /** Where pg_dump, pg_restore and psql are, for backup and restore; undefined: found on PATH. */
  postgresBinDir: string | undefined;
  /**
   * Redis that replicas share: live updates' events (pub/sub) and the rate limits' counts. Unset:
   * both stay in this process's memory.
   */
  redisUrl: string | undefined;
  /** The bearer token `/metrics` asks for; undefined: no metrics are kept and `/metrics` is 404. */
  metricsToken: string | undefined;
  /**
   * OpenTelemetry traces: where spans go (an OTLP/HTTP collector's base URL, `/v1/traces` is
   * appended), which share of operations is traced, and the service's name. Undefined: off.
   */
  tracing: { endpoint: string; sampleRatio: number; serviceName: string } | undefined;
  /** How memory search weighs its signals (src/memories/ranking.ts; docs/recall.md, "Ranked recall"). */
  ranking: RankingSettings;
  /** Memories' embeddings (src/memories/embeddings.ts; docs/recall.md "Semantic recall"). */
  embeddings: EmbeddingSettings;
}

export interface EmbeddingSettings {
  /** How many numbers an embedding has: every stored vector has exactly this many. */
  dimensions: number;
  /** The model recorded for an embedding whose write names none. */
  model: string;
  /** The embedding provider (EMBEDDINGS_URL): undefined, none, and only clients' vectors exist. */
  provider?: EmbeddingProviderSettings;
  /**
   * MEMORY_DEDUPE_SIMILARITY: a new memory whose vector is at least this cosine-similar to one of
   * its agent's (same model) is merged into it, as the same content is. Undefined: off.
   */
  dedupeSimilarity?: number;
  /**
   * VECTOR_INDEX_MIN_EMBEDDINGS: an organization with at least this many embeddings (of the
   * configured dimensions) gets an HNSW index of its own; fewer are searched exactly.
   */
  ownIndexFrom: number;
  /** VECTOR_INDEX_SWEEP_SECONDS: how often the server builds the indexes due; 0: never. */
  indexSweepSeconds: number;
  /**
   * Whether pgvector is there (src/memories/embeddings.ts `prepareSemanticRecall`), known once
   * the server has started; undefined before, taken as on.
   */
  semanticRecall?: boolean;
}

/** An OpenAI-compatible `/v1/embeddings` endpoint, and how the worker calls it. */
export interface EmbeddingProviderSettings {
  /** The endpoint itself, e.g. https://api.openai.com/v1/embeddings. */
  url: string;
  /** Sent as `Authorization: Bearer`; undefined: no header (a local server). */
  apiKey?: string;
  /** How long one call to embed memories may take before it counts as failed. */
  timeoutMs: number;
  /** How long embedding a search's query may take before the search answers by text alone. */
  queryTimeoutMs: number;
  /** Failed calls for a memory before it is FAILED (a 429 is not counted). */
  maxAttempts: number;
  /** Memories per call. */
  batchSize: number;
  /** The first retry's wait; each next one twice as long, up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often an idle worker looks for work. */
  pollMs: number;
}

export interface AdmissionSettings {
  /** Operations run at once; more wait in the queue. */
  maxInFlight: number;
  /** Operations that may wait for a turn; beyond them a request is refused at once (503 OVERLOADED). */
  maxQueued: number;
  /** How long one may wait in the queue before it is refused (503 OVERLOADED). */
  queueTimeoutMs: number;
}

/**
 * The defaults follow the pool: twice as many operations in flight as connections (an operation
 * holds a connection only while its statements run), and a queue four times as long. The queue is
 * bounded by time rather than by its length: a request that would wait more than the queue
 * timeout, by the recent operations' durations, is refused at once (src/http/admission.ts), so a
 * longer queue no longer makes the admitted requests slower under a sustained overload; it takes
 * a burst of clients (50 appenders at once, issue 21) without refusing what it can serve in time
 * (measured with scripts/overload.ts, docs/operations.md, "When the database fails").
 * PGlite runs one statement at a time, like a pool of one, but is in process and quick: 8.
 */
function admissionDefaults(poolSize: number | undefined): { maxInFlight: number; maxQueued: number } {
  const maxInFlight = poolSize === undefined ? 8 : 2 * poolSize;
  return { maxInFlight, maxQueued: 4 * maxInFlight };
}

export interface RankingSettings {
  weights: { text: number; importance: number; recency: number; use: number };
  /** Days after which recency halves (from the last access, or the creation if never accessed). */
  recencyHalfLifeDays: number;
  /** The access count at which `use` is 0.5: use = count / (count + useHalfCount). */
  useHalfCount: number;
  /**
   * Reciprocal rank fusion's k for HYBRID search: a memory's relevance adds 1 / (k + rank) from
   * each ranking it is in. 60 is the value of the RRF paper and of most hybrid search engines.
   */
  fusionK: number;
}

/** Empty variables count as unset, as they do in most twelve-factor tools. */
function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
}

/** The environment read by `schema`, or the first wrong setting, named. */
function parseEnvironment<Schema extends z.ZodType>(schema: Schema, env: NodeJS.ProcessEnv): z.infer<Schema> {
  const parsed = schema.safeParse(withoutEmptyValues(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new SettingsError(
      `invalid setting ${name}: ${issue?.message ?? 'not valid'}; change ${name} (see .env.example)`,
    );
  }
  return parsed.data;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const values = parseEnvironment(environmentSchema, env);
  const replicaUrls = replicaList(values.DATABASE_REPLICA_URLS ?? '');
  if (!values.DATABASE_URL && (replicaUrls.length > 0 || values.DATABASE_POOLER !== 'none')) {
    throw new SettingsError(
      `invalid setting ${replicaUrls.length > 0 ? 'DATABASE_REPLICA_URLS' : 'DATABASE_POOLER'}: ` +
        `the embedded database has no replicas or pooler; set DATABASE_URL (see .env.example)`,
    );
  }
  if (values.DATABASE_POOLER === 'transaction' && values.MIGRATE_ON_START === 'true') {
    // Prisma's migrations hold a session-level advisory lock, which a transaction pooler would
    // hand to another client between statements.
    throw new SettingsError(
      'invalid setting MIGRATE_ON_START: migrations need a session, which DATABASE_POOLER=transaction does not give; ' +
        'set MIGRATE_ON_START=false and run `npm run db:migrate` against PostgreSQL directly ' +
        '(see README "Running at scale")',
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
        statementTimeoutMs: values.DATABASE_STATEMENT_TIMEOUT_MS,
      }
    : { kind: 'pglite', dataDir: path.resolve(values.PGLITE_DATA_DIR) };
  const admission = admissionDefaults(database.kind === 'postgres' ? database.poolSize : undefined);
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
    requestTimeoutMs: values.REQUEST_TIMEOUT_MS,
    admission: {
      maxInFlight: values.ADMISSION_MAX_IN_FLIGHT ?? admission.maxInFlight,
      maxQueued: values.ADMISSION_MAX_QUEUED ?? admission.maxQueued,
      queueTimeoutMs: values.ADMISSION_QUEUE_TIMEOUT_MS,
    },
    limits: {
      maxDepth: values.MAX_QUERY_DEPTH,
      maxAliases: values.MAX_ALIASES,
      maxTokens: values.MAX_TOKENS,
      maxCost: values.MAX_QUERY_COST,
    },
    corsOrigins: values.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
    introspection: introspectionFor(values.INTROSPECTION, values.NODE_ENV),
    rateLimit: { requests: values.RATE_LIMIT_REQUESTS, windowSeconds: values.RATE_LIMIT_WINDOW_SECONDS },
    authCacheMs: values.AUTH_CACHE_MS,
    readPath: values.READ_PATH,
    graphqlJit: values.GRAPHQL_JIT === 'true',
    idempotencyTtlHours: values.IDEMPOTENCY_TTL_HOURS,
    memoryExpirySweepSeconds: values.MEMORY_EXPIRY_SWEEP_SECONDS,
    authFailureLimit: { failures: values.AUTH_FAILURE_LIMIT, windowSeconds: values.AUTH_FAILURE_WINDOW_SECONDS },
    trustedProxies: values.TRUSTED_PROXIES,
    postgresBinDir: values.PG_BIN_DIR === undefined ? undefined : path.resolve(values.PG_BIN_DIR),
    redisUrl: values.REDIS_URL,
    metricsToken: values.METRICS_TOKEN,
    tracing: values.OTEL_EXPORTER_OTLP_ENDPOINT
      ? {
          endpoint: values.OTEL_EXPORTER_OTLP_ENDPOINT,
          sampleRatio: values.OTEL_TRACES_SAMPLER_ARG,
          serviceName: values.OTEL_SERVICE_NAME,
        }
      : undefined,
    ranking: {
      weights: {
        text: values.SEARCH_WEIGHT_TEXT,
        importance: values.SEARCH_WEIGHT_IMPORTANCE,
        recency: values.SEARCH_WEIGHT_RECENCY,
        use: values.SEARCH_WEIGHT_USE,
      },
      recencyHalfLifeDays: values.SEARCH_RECENCY_HALF_LIFE_DAYS,
      useHalfCount: values.SEARCH_USE_HALF_COUNT,
      fusionK: values.SEARCH_RRF_K,
    },
    embeddings: {
      dimensions: values.EMBEDDINGS_DIMENSIONS,
      model: values.EMBEDDINGS_MODEL ?? UNNAMED_EMBEDDING_MODEL,
      ownIndexFrom: values.VECTOR_INDEX_MIN_EMBEDDINGS,
      indexSweepSeconds: values.VECTOR_INDEX_SWEEP_SECONDS,
      ...(values.EMBEDDINGS_URL && { provider: providerSettings(values) }),
      ...(values.MEMORY_DEDUPE_SIMILARITY !== undefined && { dedupeSimilarity: values.MEMORY_DEDUPE_SIMILARITY }),
    },
  };
}

function providerSettings(values: z.infer<typeof environmentSchema>): EmbeddingProviderSettings {
  if (!values.EMBEDDINGS_MODEL) {
    throw new SettingsError(
      'invalid setting EMBEDDINGS_MODEL: required with EMBEDDINGS_URL, the model the provider is asked for; ' +
        'set EMBEDDINGS_MODEL (see .env.example)',
    );
  }
  return {
    url: values.EMBEDDINGS_URL!,
    ...(values.EMBEDDINGS_API_KEY && { apiKey: values.EMBEDDINGS_API_KEY }),
    timeoutMs: values.EMBEDDINGS_TIMEOUT_MS,
    queryTimeoutMs: values.EMBEDDINGS_QUERY_TIMEOUT_MS,
    maxAttempts: values.EMBEDDINGS_MAX_ATTEMPTS,
    batchSize: 64,
    retryBaseMs: 1000,
    retryMaxMs: 300_000,
    pollMs: 1000,
  };
}

/**
 * The model recorded for a client's vectors when neither the write nor EMBEDDINGS_MODEL names
 * one: vectors are compared only with vectors of the same model, so every unnamed one is alike.
 */
const UNNAMED_EMBEDDING_MODEL = 'unnamed';

/** DATABASE_REPLICA_URLS: comma-separated PostgreSQL URLs, each checked as DATABASE_URL is. */
function replicaList(value: string): string[] {
  const urls = value
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  for (const url of urls) {
    const checked = postgresUrl.safeParse(url);
    if (!checked.success)
      throw new SettingsError(
        `invalid setting DATABASE_REPLICA_URLS: ${checked.error.issues[0]?.message ?? 'not valid'}; ` +
          `change DATABASE_REPLICA_URLS (see .env.example)`,
      );
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

/**
 * What the agent-file CLI (`npx agentmem`, `npm run agent:export`/`agent:import`,
 * scripts/agentmem.ts) reads: it is a client of a running server, so it needs that server's
 * GraphQL endpoint and an API key, not a database. The endpoint is AGENTMEM_URL, else the one
 * `npm start` serves with the same .env: 127.0.0.1 on PORT.
 */
const agentFileClientSchema = z.object({
  AGENTMEM_URL: z.url({ protocol: /^https?$/, error: 'expected http(s)://host:port/graphql' }).optional(),
  PORT: integer(0, 65535).default(DEFAULT_PORT),
  AGENTMEM_API_KEY: z
    .string({ error: 'required: an API key of the organization to export from or import into (amk_…)' })
    .min(1),
});

export interface AgentFileClientSettings {
  url: string;
  /** Where `url` came from, for messages that tell a person what to change. */
  urlFrom: 'AGENTMEM_URL' | 'PORT' | 'default';
  apiKey: string;
}

export function loadAgentFileClientSettings(env: NodeJS.ProcessEnv = process.env): AgentFileClientSettings {
  const values = parseEnvironment(agentFileClientSchema, env);
  if (values.AGENTMEM_URL)
    return { url: values.AGENTMEM_URL, urlFrom: 'AGENTMEM_URL', apiKey: values.AGENTMEM_API_KEY };
  if (values.PORT === 0) {
    // The server then listens on a port the system picks, which only its log tells.
    throw new SettingsError(
      'invalid setting PORT: 0 lets the server pick its port; set AGENTMEM_URL to the address it printed (see ' +
        '.env.example)',
    );
  }
  return {
    url: `http://127.0.0.1:${values.PORT}/graphql`,
    urlFrom: withoutEmptyValues(env).PORT === undefined ? 'default' : 'PORT',
    apiKey: values.AGENTMEM_API_KEY,
  };
}

/**
 * The name of every setting read from the environment, the server's and the agent-file CLI's:
 * what `.env.example` and the settings table of docs/operations.md must each list
 * (test/docs/docs.test.ts).
 */
export const settingNames: readonly string[] = [
  ...Object.keys(environmentSchema.shape),
  ...Object.keys(agentFileClientSchema.shape),
];
