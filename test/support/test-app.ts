import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { type AppOptions, type RunningApp, startApp } from '../../src/app';
import { type EmbeddingSettings, loadSettings, type Settings } from '../../src/config/settings';
import { type DemoData, seedDemoData } from '../../src/demo/seed';
import { createLogger, type Logger } from '../../src/logger';
import { throughTestPooler } from './pgbouncer';
import { cloneMigratedDatabase } from './test-databases';

/** A document from `graphql(...)` (test/generated): its result and variables are typed. */
export interface TypedDocument<TData, TVariables> extends DocumentTypeDecoration<TData, TVariables> {
  toString(): string;
}

export interface TestApp extends RunningApp {
  /** POSTs a GraphQL document to the running server, as a client would. */
  graphql<TData, TVariables>(
    document: TypedDocument<TData, TVariables>,
    variables?: TVariables,
  ): Promise<GraphqlResponse<TData>>;
  /** The same with an explicit key, independent of `useKey`: for concurrent callers. */
  graphqlAs<TData, TVariables>(
    key: string | null,
    document: TypedDocument<TData, TVariables>,
    variables?: TVariables,
  ): Promise<GraphqlResponse<TData>>;
  /** For documents codegen cannot type: deliberately invalid ones. */
  graphqlUntyped(query: string, variables?: Record<string, unknown>): Promise<GraphqlResponse<Record<string, unknown>>>;
  /**
   * Seeds a demo organization. The first one seeded is the caller: its key is sent with every
   * request from then on; later ones are other tenants.
   */
  seedDemo(): Promise<DemoData>;
  /** The key sent as `Authorization: Bearer`, or null to send none. */
  useKey(key: string | null): void;
  /** The SQL statements issued while `run` ran. */
  countStatements<T>(run: () => Promise<T>): Promise<{ result: T; statements: string[] }>;
  close(): Promise<void>;
}

export interface GraphqlResponse<TData> {
  status: number;
  data?: TData;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

async function post<TData>(
  url: string,
  key: string | null,
  query: string,
  variables: unknown,
): Promise<GraphqlResponse<TData>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(key && { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphqlResponse<TData>, 'status'>;
  return { status: response.status, ...body };
}

/** Settings for a test app: any of the server's, and of the embeddings' only those that matter to the test. */
export type TestAppSettings = Omit<Partial<Settings>, 'embeddings'> & { embeddings?: Partial<EmbeddingSettings> };

/**
 * The real server, on its own copy of the migrated database, listening on a free port. It logs
 * nowhere unless given a `logger` (at the level the logger has). A `database` among the
 * overrides is used as it is (already migrated), and left in place by `close()`.
 */
export async function startTestApp(
  purpose: string,
  overrides: TestAppSettings = {},
  logger?: Logger,
  options: AppOptions = {},
): Promise<TestApp> {
  const database = overrides.database
    ? { settings: overrides.database, drop: async () => undefined }
    : await cloneMigratedDatabase(purpose);
  // The server's own defaults (limits, body size, …), from an environment of only these.
  const defaults = loadSettings({
    PORT: '0',
    DEMO_DATA: 'false',
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'silent',
    SHUTDOWN_TIMEOUT_MS: '2000',
    // Admission control has its own tests (test/http/overload.test.ts); elsewhere a burst of
    // concurrent requests is the point of the test, and is let through rather than refused.
    ADMISSION_MAX_IN_FLIGHT: '10000',
    ADMISSION_MAX_QUEUED: '0',
    // The sweep of expired memories runs beside requests: its statements would join the counts of
    // tests that count them. test/memories/validity.test.ts runs it itself.
    MEMORY_EXPIRY_SWEEP_SECONDS: '0',
    // The same for the organizations' vector indexes: tests that need one build it
    // (buildDueVectorIndexes, src/memories/vector-indexes.ts).
    VECTOR_INDEX_SWEEP_SECONDS: '0',
  });
  // Through the run's PgBouncer when there is one (TEST_POOLER=pgbouncer): a database given among
  // the overrides is taken as it is.
  const settings: Settings = {
    ...defaults,
    database: throughTestPooler(database.settings),
    ...overrides,
    embeddings: { ...defaults.embeddings, ...overrides.embeddings },
  };
  const app = await startApp(settings, logger ?? createLogger(settings.logLevel), options);
  let key: string | null = null;
  return {
    ...app,
    graphql: (document, variables) => post(app.url, key, document.toString(), variables),
    graphqlAs: (as, document, variables) => post(app.url, as, document.toString(), variables),
    graphqlUntyped: (query, variables) => post(app.url, key, query, variables),
    async seedDemo() {
      const demo = await seedDemoData(app.database.prisma);
      key ??= demo.key;
      return demo;
    },
    useKey(next) {
      key = next;
    },
    async countStatements(run) {
      const statements: string[] = [];
      const stop = app.database.onStatement((sql) => statements.push(sql));
      try {
        return { result: await run(), statements };
      } finally {
        stop();
      }
    },
    async close() {
      await app.stop();
      await database.drop();
    },
  };
}
