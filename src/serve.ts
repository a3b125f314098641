import 'dotenv/config';
import { type RunningApp, startApp } from './app';
import { loadSettings } from './config/settings';
import { createLogger } from './logger';

/**
 * One server process: start, then stop cleanly on SIGINT/SIGTERM (in-flight requests finish,
 * SHUTDOWN_TIMEOUT_MS at most). `npm start` runs one (src/server.ts); `npm run start:cluster`
 * runs one per worker (src/cluster.ts).
 */
export async function serve(): Promise<RunningApp> {
  const settings = loadSettings();
  const logger = createLogger(settings.logLevel);
  const app = await startApp(settings, logger);
  logger.info({ database: settings.database.kind, pid: process.pid }, `AgentMem is ready: GraphiQL at ${app.url}`);
  logger.info(`The memory inspector, with the same API key: ${new URL('/ui', app.url).href}`);

  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  return app;
}

/** The one line a failed start reports, then exit 1. */
export function cannotStart(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`agentmem: cannot start: ${message}\n`);
  process.exit(1);
}
