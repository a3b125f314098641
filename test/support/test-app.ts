import { startApp, type RunningApp } from '../../src/app';
import type { Settings } from '../../src/config/settings';
import { createLogger } from '../../src/logger';
import { cloneMigratedDatabase } from './test-databases';

export interface TestApp extends RunningApp {
  /** POSTs a GraphQL document to the running server, as a client would. */
  graphql<TData = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphqlResponse<TData>>;
  /** The SQL statements issued while `run` ran. */
  countStatements<T>(run: () => Promise<T>): Promise<{ result: T; statements: string[] }>;
  close(): Promise<void>;
}

export interface GraphqlResponse<TData> {
  status: number;
  data?: TData;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

/** The real server, on its own copy of the migrated database, listening on a free port. */
export async function startTestApp(purpose: string, overrides: Partial<Settings> = {}): Promise<TestApp> {
  const database = await cloneMigratedDatabase(purpose);
  const settings: Settings = {
    port: 0,
    host: '127.0.0.1',
    database: database.settings,
    demoData: false,
    migrateOnStart: false,
    logLevel: 'silent',
    shutdownTimeoutMs: 2000,
    ...overrides,
  };
  const app = await startApp(settings, createLogger(settings.logLevel));
  return {
    ...app,
    async graphql(query, variables) {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as Omit<GraphqlResponse<never>, 'status'>;
      return { status: response.status, ...body };
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
