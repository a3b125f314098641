import 'dotenv/config';
import { startApp } from './app';
import { loadSettings } from './config/settings';
import { createLogger } from './logger';

// The server entry: start, report one line on failure, stop cleanly on SIGINT/SIGTERM.
async function main(): Promise<void> {
  const settings = loadSettings();
  const logger = createLogger(settings.logLevel);
  const app = await startApp(settings, logger);
  logger.info({ database: settings.database.kind }, `AgentMem is ready: GraphiQL at ${app.url}`);

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
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`agentmem: cannot start: ${message}\n`);
  process.exit(1);
});
