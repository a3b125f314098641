import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, useReadinessCheck } from 'graphql-yoga';
import type { Database } from '../db/database';
import { findDefaultCaller } from '../context';
import type { Logger } from '../logger';
import { schema } from '../schema';

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
    context: async () => ({ prisma: database.prisma, caller: await findDefaultCaller(database.prisma) }),
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
