import { createYoga, useReadinessCheck } from 'graphql-yoga';
import { createAuthenticator } from '../auth/authenticate';
import { KeyCache } from '../auth/key-cache';
import { createRateLimiter, throttleFailedAuthentications } from '../auth/rate-limit';
import type { Settings } from '../config/settings';
import { type ContextOptions, createContext } from '../context/create';
import type { Database } from '../db/database';
import { hasReplicas } from '../db/read-routing';
import type { LiveBus } from '../live/bus';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { notingOrganization } from '../observability/requests';
import { useResponseText } from '../planner/response-text';
import type { RedisConnections } from '../redis/connections';
import { schema } from '../schema';
import { useCallerRowScope } from './caller-row-scope';
import { createErrorMasker, useClientErrorLog, yogaLogger } from './errors';
import { executorPlugins } from './executor';
import { useForgetKeysAfterMutations } from './forget-keys-after-mutations';
import { graphiqlOptions, renderAgentMemGraphiQL } from './graphiql';
import { useIdempotentMutations } from './idempotency';
import { useStorableInput } from './input-guard';
import { useTypedInputValues } from './input-values';
import { requestLimitPlugins } from './limits';
import { useMemoryAccessTracking } from './memory-access-tracking';
import { useMutationsOnPrimary } from './mutations-on-primary';
import { readinessCheck } from './readiness';
import { useRequestFacts } from './request-facts';
import { useStrictRequestParsing } from './request-parsing';
import { useSpreadErrorsNamingTypes } from './spread-errors';
import { useEventContexts } from './subscription-events';
import { useSubscriptionFeeds } from './subscription-feeds';

export const GRAPHQL_PATH = '/graphql';
const LIVENESS_PATH = '/health';
const READINESS_PATH = '/ready';

/** What the replicas may share: Redis (REDIS_URL) and, over it or in memory, live updates. */
export interface SharedState {
  live: LiveBus;
  redis: RedisConnections | undefined;
}

/**
 * Who a request's key belongs to, and its rate limit: one of each per server, shared by /graphql
 * and /mcp (src/mcp/http.ts), so that a key revoked through either is forgotten by both, and a
 * key's requests count against one limit.
 */
export function createGuards(database: Database, settings: Settings, redis: RedisConnections | undefined) {
  const keys = new KeyCache(settings.authCacheMs);
  const authenticate = notingOrganization(
    throttleFailedAuthentications(createAuthenticator(database, keys), settings.authFailureLimit, redis?.commands),
  );
  const limitRate = createRateLimiter(settings.rateLimit, redis?.commands);
  return { keys, authenticate, limitRate };
}

type Guards = ReturnType<typeof createGuards>;

export function createGraphqlHandler(
  database: Database,
  settings: Settings,
  logger: Logger,
  { live, redis }: SharedState,
  metrics?: Metrics,
  { keys, authenticate, limitRate }: Guards = createGuards(database, settings, redis),
) {
  const maskError = createErrorMasker(logger);
  const contextOptions: ContextOptions = {
    database,
    fastReads: settings.readPath === 'fast',
    ranking: settings.ranking,
    embeddings: settings.embeddings,
    authenticate,
    limitRate,
    live,
  };
  return createYoga({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: LIVENESS_PATH,
    // Ready to use: the README's first query, an Authorization template, no request before a key
    // (src/http/graphiql.ts). Its assets are served from this package, not a CDN: it works offline.
    graphiql: graphiqlOptions,
    renderGraphiQL: (options) => renderAgentMemGraphiQL(options, GRAPHQL_PATH),
    logging: yogaLogger(logger),
    landingPage: false,
    // The server refuses a body over MAX_REQUEST_BYTES by its Content-Length before yoga sees it
    // (src/http/body-limit.ts), and Node's parser holds a body to its Content-Length: yoga's own
    // limit would pipe every body through a stream that costs a DOMException per request.
    maxRequestBodySize: false,
    // No CORS headers unless origins are configured: browsers then only call same-origin.
    cors: settings.corsOrigins.length > 0 ? { origin: settings.corsOrigins, credentials: false } : false,
    maskedErrors: { maskError },
    // Every GraphQL request needs a key, and counts against its rate limit (a subscription counts
    // once, when it starts); GraphiQL's page and the health endpoints do not.
    context: (initial) => createContext(contextOptions, initial),
    plugins: [
      // The compiled executor first: the row scope below wraps whatever executor is set before
      // it, and one set after it would run outside the caller's scope and see no rows
      // (test/http/executor.test.ts guards the order).
      ...executorPlugins(settings.graphqlJit, metrics && ((reason) => metrics.executionInterpreted(reason))),
      // Subscriptions' events each with a context of their own; before the row scope, which wraps it.
      useEventContexts(),
      // A query that the planner answers whole is answered by PostgreSQL's text of the response,
      // no resolver run; inside the row scope and the access tracking below, as execution is.
      useResponseText(),
      // A plugin's execute wraps those of the plugins before it: useCallerRowScope's wraps the
      // idempotent transaction, which thus runs inside the caller's organization scope.
      useForgetKeysAfterMutations(keys),
      useIdempotentMutations({ prisma: database.prisma, maskError, ttlHours: settings.idempotencyTtlHours }),
      // Counts the memories a request read, in one UPDATE after its data is settled; inside the
      // row scope below, whose execute wraps this one's.
      useMemoryAccessTracking(logger),
      useCallerRowScope(),
      ...(hasReplicas(settings) ? [useMutationsOnPrimary()] : []),
      useClientErrorLog(logger),
      useRequestFacts(),
      // Subscribers of the same subscription share each event's execution and bytes.
      useSubscriptionFeeds(maskError, metrics),
      useStrictRequestParsing(),
      useStorableInput(),
      useTypedInputValues(),
      useSpreadErrorsNamingTypes(),
      ...requestLimitPlugins(settings),
      useReadinessCheck({ endpoint: READINESS_PATH, check: readinessCheck(database) }),
    ],
  });
}
