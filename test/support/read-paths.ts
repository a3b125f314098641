import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadSettings } from '../../src/config/settings';
import { createGraphqlHandler } from '../../src/http/yoga';
import { createLogger } from '../../src/logger';
import type { TestApp } from './test-app';

/**
 * A second server over the test app's own database, on the general path (Prisma for every read,
 * graphql-js's executor): what the fast paths must answer byte for byte.
 */
export interface GeneralPathServer {
  /** Its /graphql, for what `both` does not send (subscriptions). */
  url: string;
  /** The answers of the test app and of the general server to one request, as `status body`. */
  both(key: string, query: string, variables: Record<string, unknown>): Promise<[fast: string, general: string]>;
  close(): Promise<void>;
}

async function send(url: string, key: string, query: string, variables: Record<string, unknown>): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return `${response.status} ${await response.text()}`;
}

export async function startGeneralPathServer(app: TestApp): Promise<GeneralPathServer> {
  const settings = {
    ...loadSettings({ PORT: '0', LOG_LEVEL: 'silent' }),
    readPath: 'general' as const,
    graphqlJit: false,
    rateLimit: { requests: 0, windowSeconds: 60 },
  };
  const server = http.createServer(
    createGraphqlHandler(app.database, settings, createLogger('silent'), { live: app.live, redis: undefined }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return {
    url,
    both: async (key, query, variables) => [
      await send(app.url, key, query, variables),
      await send(url, key, query, variables),
    ],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
