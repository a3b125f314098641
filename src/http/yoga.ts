import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, useReadinessCheck } from 'graphql-yoga';
import { createAuthenticator } from '../auth/authenticate';
import { createRateLimiter, throttleFailedAuthentications } from '../auth/rate-limit';
import { createContext, useCallerRowScope } from '../context';
import type { Database } from '../db/database';
import { hasReplicas, useMutationsOnPrimary } from '../db/read-routing';
import type { Logger } from '../logger';
import { schema } from '../schema';
import { createErrorMasker, useClientErrorLog, yogaLogger } from './errors';
import { executorPlugins } from './executor';
import { useIdempotentMutations } from './idempotency';
import { useStorableInput } from './input-guard';
import { useTypedInputValues } from './input-values';
import { useStrictRequestParsing } from './request-parsing';
import { requestLimitPlugins } from './limits';
import { readinessCheck } from './readiness';
import type { Settings } from '../config/settings';

export const GRAPHQL_PATH = '/graphql';
export const LIVENESS_PATH = '/health';
export const READINESS_PATH = '/ready';

export function createGraphqlHandler(database: Database, settings: Settings, logger: Logger) {
  const authenticate = throttleFailedAuthentications(createAuthenticator(database), settings.authFailureLimit);
  const limitRate = createRateLimiter(settings.rateLimit);
  const maskError = createErrorMasker(logger);
  return createYoga({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: LIVENESS_PATH,
    graphiql: { title: 'AgentMem' },
    // GraphiQL's assets are served from this package rather than a CDN: it works offline.
    renderGraphiQL,
    logging: yogaLogger(logger),
    landingPage: false,
    // No CORS headers unless origins are configured: browsers then only call same-origin.
    cors: settings.corsOrigins.length > 0 ? { origin: settings.corsOrigins, credentials: false } : false,
    maskedErrors: { maskError },
    // Every GraphQL request needs a key, and counts against its rate limit; GraphiQL's page and
    // the health endpoints do not.
    context: (initial) => createContext(database, settings.readPath === 'fast', authenticate, limitRate, initial),
    plugins: [
      // The compiled executor first: the row scope below wraps whatever executor is set before
      // it, and one set after it would run outside the caller's scope and see no rows
      // (test/http/executor.test.ts guards the order).
      ...executorPlugins(settings.graphqlJit),
      // A plugin's execute wraps those of the plugins before it: useCallerRowScope's wraps the
      // idempotent transaction, which thus runs inside the caller's organization scope.
      useIdempotentMutations({ prisma: database.prisma, maskError, ttlHours: settings.idempotencyTtlHours }),
      useCallerRowScope(),
      ...(hasReplicas(settings) ? [useMutationsOnPrimary()] : []),
      useClientErrorLog(logger),
      useStrictRequestParsing(),
      useStorableInput(),
      useTypedInputValues(),
      ...requestLimitPlugins(settings),
      useReadinessCheck({ endpoint: READINESS_PATH, check: readinessCheck(database) }),
    ],
  });
}
