import cluster from 'node:cluster';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Settings } from './config/settings';
import { type Database, openDatabase } from './db/database';
import { hasReplicas, routingReadsPerRequest } from './db/read-routing';
import { seedDemoData } from './demo/seed';
import { Admission, withAdmission } from './http/admission';
import { withBodyLimit } from './http/body-limit';
import { withInspector } from './http/inspector';
import { assertPortFree } from './http/port';
import { withRequestId } from './http/request-id';
import { withRequestTimeout } from './http/request-timeout';
import { createGraphqlHandler, createGuards, GRAPHQL_PATH } from './http/yoga';
import { createLiveBus, type LiveBus } from './live/bus';
import type { Logger } from './logger';
import { createMcpHandler, GRAPHQL_URL, MCP_PATH } from './mcp/http';
import { memorySessionStore, redisSessionStore } from './mcp/session-store';
import { McpSessions } from './mcp/sessions';
import { EmbeddingWorker } from './memories/embedding-worker';
import { prepareSemanticRecall } from './memories/embeddings';
import { createExpiredMemorySweeper } from './memories/expiry';
import { warnIfSearchCannotUseIndex } from './memories/search-index';
import { createVectorIndexKeeper } from './memories/vector-indexes';
import { Metrics } from './observability/metrics';
import { observeStatements, observingRequests } from './observability/requests';
import { createTracing } from './observability/tracing';
import { connectRedis } from './redis/connections';

export interface RunningApp {
  url: string;
  database: Database;
  /** The live updates' bus: for tests that publish what no mutation would. */
  live: LiveBus;
  /** The Prometheus metrics, when METRICS_TOKEN is set. */
  metrics: Metrics | undefined;
  /** Stops accepting requests, lets in-flight ones finish, then closes the database. */
  stop(): Promise<void>;
}

export interface AppOptions {
  /** Where spans go instead of the OTLP collector (tests use the SDK's in-memory exporter). */
  spanExporter?: SpanExporter;
}

/** Opens and migrates the database, then serves GraphQL. Nothing listens before that is done. */
export async function startApp(settings: Settings, logger: Logger, options: AppOptions = {}): Promise<RunningApp> {
  // A cluster worker's port is the primary's, bound and checked there (src/cluster.ts).
  if (settings.port !== 0 && cluster.isPrimary) await assertPortFree(settings.host, settings.port);

  const database = await openDatabase(settings.database, logger);
  // Redis is not waited for: the server starts and serves queries while it is away (see
  // src/live/bus.ts and src/auth/rate-limit.ts for what works meanwhile).
  const redis = settings.redisUrl ? connectRedis(settings.redisUrl, logger) : undefined;
  const live = createLiveBus(redis, logger);
  const expiredMemories = createExpiredMemorySweeper(database.prisma, live, logger, settings.memoryExpirySweepSeconds);
  let server: http.Server | undefined;
  let worker: EmbeddingWorker | undefined;
  let vectorIndexes: ReturnType<typeof createVectorIndexKeeper> | undefined;
  const metrics = settings.metricsToken ? new Metrics(database) : undefined;
  const tracing = createTracing(settings.tracing, options.spanExporter);
  observeStatements(database, tracing);
  try {
    if (settings.migrateOnStart) await database.migrate();
    await warnIfSearchCannotUseIndex(database.prisma, logger);
    const semanticRecall = await prepareSemanticRecall(database.owner, settings.embeddings, logger);
    const embeddings = { ...settings.embeddings, semanticRecall: semanticRecall.on };
    if (database.kind === 'pglite' && settings.demoData && (await database.owner.organization.count()) === 0) {
      const { key, ...demo } = await seedDemoData(database.prisma);
      logger.info(demo, 'created demo data');
      // The one time this key can be shown: GraphiQL needs it as a header.
      process.stdout.write(
        `\nDemo API key (shown once): ${key}\nIn GraphiQL, add the header {"Authorization": "Bearer ${key}"}\n` +
          'In the memory inspector (/ui on the same port), enter the key.\n\n',
      );
    }
    const guards = createGuards(database, settings, redis);
    const yoga = createGraphqlHandler(database, { ...settings, embeddings }, logger, { live, redis }, metrics, guards);
    // MCP at /mcp beside GraphQL, its tools running GraphQL operations through yoga in this process.
    const graphqlFetch = (url: string, init: RequestInit) => yoga.fetch(url, init);
    // Sessions (resource subscriptions) in Redis, or in the process when it is the only one: a
    // worker of a cluster without Redis could not find the session another worker opened.
    const sessionStore = redis ? redisSessionStore(redis) : cluster.isWorker ? undefined : memorySessionStore();
    const mcp = createMcpHandler({
      graphqlFetch,
      sessions: sessionStore && new McpSessions(sessionStore, live, graphqlFetch, GRAPHQL_URL, logger),
      authenticate: guards.authenticate,
      limitRate: guards.limitRate,
      host: settings.host,
      allowedOrigins: settings.corsOrigins,
      logger,
    });
    const handler: http.RequestListener = (request, response) =>
      (request.url ?? '/').split('?')[0] === MCP_PATH ? mcp(request, response) : yoga(request, response);
    // Admission before the request's clock starts: a refusal is quick, and a wait in the queue is
    // bounded by ADMISSION_QUEUE_TIMEOUT_MS, not by REQUEST_TIMEOUT_MS. /mcp passes both as /graphql does.
    const admission = new Admission(settings.admission, logger);
    metrics?.watchAdmission(admission);
    const timed = withRequestTimeout(
      withRequestTimeout(handler, settings.requestTimeoutMs, GRAPHQL_PATH),
      settings.requestTimeoutMs,
      MCP_PATH,
    );
    const admitted = withAdmission(withAdmission(timed, admission, GRAPHQL_PATH), admission, MCP_PATH);
    const observed = observingRequests(
      { logger, metrics, metricsToken: settings.metricsToken, tracing },
      // The memory inspector's page and assets (/ui), beside GraphQL on the same port.
      withInspector(withBodyLimit(admitted, settings.maxRequestBytes)),
    );
    const requests = withRequestId(observed, settings.trustedProxies);
    server = http.createServer(hasReplicas(settings) ? routingReadsPerRequest(requests) : requests);
    await new Promise<void>((resolve, reject) => {
      server?.once('error', reject);
      server?.listen(settings.port, settings.host, resolve);
    });
    // Every organization's expired memories, whether it sends requests or not (src/memories/expiry.ts).
    expiredMemories.start();
    // Large organizations' own HNSW indexes (src/memories/vector-indexes.ts).
    vectorIndexes = createVectorIndexKeeper(database, embeddings, logger);
    vectorIndexes.start();
    // Memories wait, PENDING, while pgvector is missing: installing it and starting again embeds them.
    const provider = embeddings.provider;
    if (provider && semanticRecall.on) {
      worker = new EmbeddingWorker(database.prisma, { ...embeddings, provider }, live, logger);
      worker.start();
      logger.info({ url: new URL(provider.url).origin, model: embeddings.model }, 'embedding provider: worker started');
    } else if (provider) {
      logger.warn('embedding provider: not used while semantic recall is off; new memories wait PENDING');
    }
  } catch (error) {
    await expiredMemories.stop();
    await vectorIndexes?.stop();
    await worker?.stop();
    await redis?.close();
    await database.close();
    await tracing?.shutdown();
    throw error;
  }

  const listening = server;
  const { port } = listening.address() as AddressInfo;
  const host = settings.host === '0.0.0.0' || settings.host === '::' ? 'localhost' : settings.host;
  let stopping: Promise<void> | undefined;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${GRAPHQL_PATH}`,
    database,
    live,
    metrics,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
        listening.closeIdleConnections();
        // Open subscriptions would hold their connections until the deadline: they complete now,
        // and their connections, idle once the stream has ended, are closed as they turn idle
        // (close() closes only those idle at the time).
        await live.close();
        await worker?.stop();
        await expiredMemories.stop();
        await vectorIndexes?.stop();
        const idleSweep = setInterval(() => listening.closeIdleConnections(), 50);
        const deadline = setTimeout(() => listening.closeAllConnections(), settings.shutdownTimeoutMs);
        await closed;
        clearInterval(idleSweep);
        clearTimeout(deadline);
        await redis?.close();
        await database.close();
        await tracing?.shutdown();
      })();
      return stopping;
    },
  };
}
