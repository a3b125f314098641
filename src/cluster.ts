import 'dotenv/config';
import cluster, { type Worker } from 'node:cluster';
import { loadSettings, type Settings, SettingsError } from './config/settings';
import { openDatabase } from './db/database';
import { assertPortFree } from './http/port';
import { relayLiveEvents } from './live/cluster-relay';
import { createLogger, type Logger } from './logger';
import { cannotStart, serve } from './serve';

/**
 * `npm run start:cluster`: WORKERS server processes (Node's cluster module) sharing one port; the
 * primary process accepts connections and hands them to the workers in turn. The primary checks
 * the port and applies the migrations once, then starts the workers without migrating. SIGINT or
 * SIGTERM stops every worker gracefully (each finishes its in-flight requests); a worker that
 * dies afterwards is replaced. PostgreSQL only: the embedded database belongs to one process.
 */

/** A worker telling the primary it listens. */
interface ReadyMessage {
  ready: string;
}

function isReadyMessage(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && typeof (message as ReadyMessage).ready === 'string';
}

async function prepare(settings: Settings, logger: Logger): Promise<void> {
  if (settings.database.kind === 'pglite') {
    throw new SettingsError(
      'npm run start:cluster needs PostgreSQL (set DATABASE_URL): ' +
        'the embedded database (PGlite) can only be opened by one process; use npm start',
    );
  }
  if (settings.port !== 0) await assertPortFree(settings.host, settings.port);
  if (settings.migrateOnStart) {
    const database = await openDatabase(settings.database, logger);
    try {
      await database.migrate();
    } finally {
      await database.close();
    }
  }
}

async function runPrimary(): Promise<void> {
  const settings = loadSettings();
  const logger = createLogger(settings.logLevel);
  await prepare(settings, logger);

  let stopping = false;
  let started = false;
  const workers = new Set<Worker>();
  const fork = () => {
    // The workers read the same settings, but must not migrate again (done above).
    const worker = cluster.fork({ MIGRATE_ON_START: 'false' });
    workers.add(worker);
    // Without Redis, live updates go from worker to worker through here (src/live/cluster-relay.ts).
    if (!settings.redisUrl) relayLiveEvents(worker, () => workers);
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) {
        if (workers.size === 0) process.exit(0);
        return;
      }
      if (!started) {
        // A worker that cannot start says why (its own one line); the others would do the same.
        stopping = true;
        for (const other of workers) other.process.kill('SIGTERM');
        process.exitCode = 1;
        if (workers.size === 0) process.exit(1);
        return;
      }
      logger.error({ pid: worker.process.pid, code, signal }, 'a worker died: starting another');
      fork();
    });
    return worker;
  };

  const ready = await Promise.all(
    Array.from({ length: settings.workers }, () => {
      const worker = fork();
      return new Promise<string>((resolve) =>
        worker.on('message', (message: unknown) => isReadyMessage(message) && resolve(message.ready)),
      );
    }),
  );
  started = true;
  logger.info(
    { workers: settings.workers, pid: process.pid },
    `AgentMem is ready with ${settings.workers} workers: GraphiQL at ${ready[0]}`,
  );
  if (ready[0]) logger.info(`The memory inspector, with the same API key: ${new URL('/ui', ready[0]).href}`);

  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down the workers: each finishes its in-flight requests');
    for (const worker of workers) worker.process.kill('SIGTERM');
    // Each worker stops within SHUTDOWN_TIMEOUT_MS; one that does not is killed.
    setTimeout(() => {
      for (const worker of workers) worker.process.kill('SIGKILL');
    }, settings.shutdownTimeoutMs + 5000).unref();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (cluster.isPrimary) {
  runPrimary().catch(cannotStart);
} else {
  serve().then((app) => process.send?.({ ready: app.url } satisfies ReadyMessage), cannotStart);
}
