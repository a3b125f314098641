import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, useReadinessCheck } from 'graphql-yoga';
import { createContext } from '../context';
import type { Database } from '../db/database';
import type { Logger } from '../logger';
import { schema } from '../schema';
import { createErrorMasker } from './errors';

export const GRAPHQL_PATH = '/graphql';
export const LIVENESS_PATH = '/health';
export const READINESS_PATH = '/ready';

export function createGraphqlHandler(database: Database, logger: Logger) {
  return createYoga({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: LIVENESS_PATH,
    graphiql: { title: 'AgentMem' },
    // GraphiQL's assets are served from this package rather than a CDN: it works offline.
    renderGraphiQL,
    logging: logger.child({ component: 'yoga' }),
    landingPage: false,
    maskedErrors: { maskError: createErrorMasker(logger) },
    context: (initial) => createContext(database.prisma, initial),
    plugins: [
      useReadinessCheck({
        endpoint: READINESS_PATH,
        check: async () => {
          await database.prisma.$queryRaw`SELECT 1`;
        },
      }),
    ],
  });
}
