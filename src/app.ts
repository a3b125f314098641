import cluster from 'node:cluster';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Settings } from './config/settings';
import { openDatabase, type Database } from './db/database';
import { hasReplicas, routingReadsPerRequest } from './db/read-routing';
import { seedDemoData } from './demo/seed';
import { withBodyLimit } from './http/body-limit';
import { assertPortFree } from './http/port';
import { withRequestId } from './http/request-id';
import { createGraphqlHandler, GRAPHQL_PATH } from './http/yoga';
import type { Logger } from './logger';
import { warnIfSearchCannotUseIndex } from './memories/search-index';

export interface RunningApp {
  url: string;
  database: Database;
  /** Stops accepting requests, lets in-flight ones finish, then closes the database. */
  stop(): Promise<void>;
}

/** Opens and migrates the database, then serves GraphQL. Nothing listens before that is done. */
export async function startApp(settings: Settings, logger: Logger): Promise<RunningApp> {
  // A cluster worker's port is the primary's, bound and checked there (src/cluster.ts).
  if (settings.port !== 0 && cluster.isPrimary) await assertPortFree(settings.host, settings.port);

  const database = await openDatabase(settings.database, logger);
  let server: http.Server | undefined;
  try {
    if (settings.migrateOnStart) await database.migrate();
    await warnIfSearchCannotUseIndex(database.prisma, logger);
    if (database.kind === 'pglite' && settings.demoData && (await database.owner.organization.count()) === 0) {
      const { key, ...demo } = await seedDemoData(database.prisma);
      logger.info(demo, 'created demo data');
      // The one time this key can be shown: GraphiQL needs it as a header.
      process.stdout.write(`\nDemo API key (shown once): ${key}\nIn GraphiQL, add the header {"Authorization": "Bearer ${key}"}\n\n`);
    }
    const handler = createGraphqlHandler(database, settings, logger);
    const requests = withRequestId(withBodyLimit(handler, settings.maxRequestBytes), settings.trustedProxies);
    server = http.createServer(hasReplicas(settings) ? routingReadsPerRequest(requests) : requests);
    await new Promise<void>((resolve, reject) => {
      server?.once('error', reject);
      server?.listen(settings.port, settings.host, resolve);
    });
  } catch (error) {
    await database.close();
    throw error;
  }

  const listening = server;
  const { port } = listening.address() as AddressInfo;
  const host = settings.host === '0.0.0.0' || settings.host === '::' ? 'localhost' : settings.host;
  let stopping: Promise<void> | undefined;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${GRAPHQL_PATH}`,
    database,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
        listening.closeIdleConnections();
        const deadline = setTimeout(() => listening.closeAllConnections(), settings.shutdownTimeoutMs);
        await closed;
        clearTimeout(deadline);
        await database.close();
      })();
      return stopping;
    },
  };
}
