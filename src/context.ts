import { isAsyncIterable, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { createAgentLoaders, type AgentLoaders } from './agents/loaders';
import type { Authenticate } from './auth/authenticate';
import type { EmbeddingSettings, RankingSettings } from './config/settings';
import type { Scope } from './auth/keys';
import type { LimitRate } from './auth/rate-limit';
import type { Database } from './db/database';
import { withOrganization, type ScopedSql } from './db/row-level-security';
import { transactionBoundClient, transactionBoundSql } from './db/transaction-client';
import type { Prisma, PrismaClient } from './generated/prisma/client';
import type { LiveBus } from './live/bus';
import type { LiveEvent } from './live/events';
import { createToolCallLoaders, type ToolCallLoaders } from './messages/tool-calls';
import { MemoryAccesses } from './memories/access';
import { createMemoryStatsLoader } from './memories/stats-loader';

/** Who is asking: the user and organization behind the request's API key. */
export interface Caller {
  userId: string;
  organizationId: string;
  apiKeyId: string;
  scopes: Scope[];
}

export interface Context extends YogaInitialContext {
  prisma: PrismaClient;
  /** Raw SQL under the same row-level security: the read planner's statements (src/planner), search. */
  sql: ScopedSql;
  /** Whether those hot reads take their one-statement path (the READ_PATH setting). */
  fastReads: boolean;
  caller: Caller;
  /** How memory search weighs its signals (the SEARCH_* settings). */
  ranking: RankingSettings;
  /** Memories' embeddings: their dimensions and default model (the EMBEDDINGS_* settings). */
  embeddings: EmbeddingSettings;
  /** The memories this request's reads returned, counted as accessed once its data is settled (src/memories/access.ts). */
  memoryAccesses: MemoryAccesses;
  /** Fresh per request: batching and caching never cross requests (or callers). */
  loaders: RequestLoaders;
  /**
   * Live updates: `publish` after a write has committed; within an idempotent mutation's
   * transaction it waits for that transaction's commit (`inTransaction`).
   */
  live: LiveBus;
}

export type RequestLoaders = {
  agents: AgentLoaders;
  toolCalls: ToolCallLoaders;
  memoryStats: ReturnType<typeof createMemoryStatsLoader>;
};

/**
 * Made when a request first uses one: most requests the read planner answers use none, and a
 * request's loaders are most of what building its context costs.
 */
function createLoaders(prisma: PrismaClient): RequestLoaders {
  let agents: AgentLoaders | undefined;
  let toolCalls: ToolCallLoaders | undefined;
  let memoryStats: ReturnType<typeof createMemoryStatsLoader> | undefined;
  return {
    get agents() {
      return (agents ??= createAgentLoaders(prisma));
    },
    get toolCalls() {
      return (toolCalls ??= createToolCallLoaders(prisma));
    },
    get memoryStats() {
      return (memoryStats ??= createMemoryStatsLoader(prisma));
    },
  };
}

export async function createContext(
  database: Database,
  fastReads: boolean,
  ranking: RankingSettings,
  embeddings: EmbeddingSettings,
  authenticate: Authenticate,
  limitRate: LimitRate,
  live: LiveBus,
  initial: YogaInitialContext,
): Promise<Omit<Context, keyof YogaInitialContext>> {
  const caller = await authenticate(initial.request);
  await limitRate(caller);
  const { prisma, sql } = database;
  // Yoga merges this into the request's context: the initial one is not copied.
  return { prisma, sql, fastReads, ranking, embeddings, caller, memoryAccesses: new MemoryAccesses(), loaders: createLoaders(prisma), live };
}

/**
 * The request's context with every statement it causes sent into `tx`, one open transaction: an
 * idempotent mutation runs whole in it (src/http/idempotency.ts). Prisma, the loaders and raw SQL
 * all go there. Reads take the general path: the one-statement reads are written for the pg
 * driver's values, and a mutation's payload does not need them. Live updates go to `uncommitted`,
 * for the caller to publish once `tx` has committed, or to drop with it.
 */
export function inTransaction(context: Context, tx: Prisma.TransactionClient, uncommitted: LiveEvent[]): Context {
  const prisma = transactionBoundClient(tx);
  const live = { ...context.live, publish: (event: LiveEvent) => void uncommitted.push(event) };
  return { ...context, prisma, sql: transactionBoundSql(tx), fastReads: false, loaders: createLoaders(prisma), live };
}

/** Whether yoga's context has been built into ours: for plugins typed with yoga's own context. */
export function isCallerContext(context: YogaInitialContext): context is Context {
  return 'caller' in context;
}

/**
 * `events` with each of its steps run inside the organization's scope. A subscription's events
 * are resolved whenever its consumer (the response stream) pulls the next one, outside the
 * subscribe call: without this, the resolvers of every event after the first would run outside
 * any scope, and see no rows.
 */
function inScopeEachStep<T>(organizationId: string, events: AsyncIterable<T>): AsyncIterableIterator<T> {
  const iterator = events[Symbol.asyncIterator]();
  const scoped: AsyncIterableIterator<T> = {
    next: () => withOrganization(organizationId, () => iterator.next()),
    return: (value?: unknown) => withOrganization(organizationId, async () => (await iterator.return?.(value)) ?? { done: true, value: undefined }),
    throw: (error?: unknown) => withOrganization(organizationId, async () => (iterator.throw ? iterator.throw(error) : Promise.reject(error))),
    [Symbol.asyncIterator]: () => scoped,
  };
  return scoped;
}

/**
 * Executes each operation inside the caller's organization scope, so that every statement its
 * resolvers and loaders issue is held to that organization by row-level security too:
 * subscriptions as well, their subscribe call and the resolution of each of their events.
 */
export function useCallerRowScope(): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const { organizationId } = args.contextValue.caller;
      setExecuteFn((executionArgs) => withOrganization(organizationId, () => executeFn(executionArgs)));
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const { organizationId } = args.contextValue.caller;
      setSubscribeFn(async (subscribeArgs) => {
        const result = await withOrganization(organizationId, async () => subscribeFn(subscribeArgs));
        return isAsyncIterable(result) ? inScopeEachStep(organizationId, result) : result;
      });
    },
  };
}
