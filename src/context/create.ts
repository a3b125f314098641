import type { YogaInitialContext } from 'graphql-yoga';
import { type AgentLoaders, createAgentLoaders } from '../agents/loaders';
import type { Authenticate } from '../auth/authenticate';
import type { LimitRate } from '../auth/rate-limit';
import type { EmbeddingSettings, RankingSettings } from '../config/settings';
import type { Database } from '../db/database';
import { transactionBoundClient, transactionBoundSql } from '../db/transaction-client';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { LiveBus } from '../live/bus';
import type { LiveEvent } from '../live/events';
import { MemoryAccesses } from '../memories/access';
import { createMemoryStatsLoader, type MemoryStatsLoader } from '../memories/stats-loader';
import { createToolCallLoaders, type ToolCallLoaders } from '../messages/tool-calls';
import type { Context, RequestLoaders } from './types';

/** What every request's context is built from: the server's parts and settings. */
export interface ContextOptions {
  /** Its application client and raw SQL, under row-level security. */
  database: Pick<Database, 'prisma' | 'sql'>;
  /** Whether the hot reads take their one-statement path (READ_PATH=fast). */
  fastReads: boolean;
  ranking: RankingSettings;
  embeddings: EmbeddingSettings;
  /** Who the request's API key belongs to (refused with UNAUTHENTICATED otherwise). */
  authenticate: Authenticate;
  limitRate: LimitRate;
  live: LiveBus;
}

/**
 * Made when a request first uses one: most requests the read planner answers use none, and a
 * request's loaders are most of what building its context costs.
 */
function createLoaders(prisma: PrismaClient): RequestLoaders {
  let agents: AgentLoaders | undefined;
  let toolCalls: ToolCallLoaders | undefined;
  let memoryStats: MemoryStatsLoader | undefined;
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

/** A request's context: its caller, checked against its key and its rate limit, and fresh loaders. */
export async function createContext(
  options: ContextOptions,
  initial: YogaInitialContext,
): Promise<Omit<Context, keyof YogaInitialContext>> {
  const { database, fastReads, ranking, embeddings, authenticate, limitRate, live } = options;
  const caller = await authenticate(initial.request);
  await limitRate(caller);
  const { prisma, sql } = database;
  // Yoga merges this into the request's context: the initial one is not copied.
  return {
    prisma,
    sql,
    fastReads,
    ranking,
    embeddings,
    caller,
    memoryAccesses: new MemoryAccesses(),
    loaders: createLoaders(prisma),
    live,
  };
}

/**
 * The context one event of a subscription is resolved with: the subscription's, with loaders of
 * its own, as a new object. A subscription's context lives as long as it does, and the caches
 * keyed by it (its loaders, and Pothos's per-context loaders of relations and counts) would
 * answer an event with what an earlier event read.
 */
export function eventContext<Shape extends Context>(context: Shape): Shape {
  return { ...context, loaders: createLoaders(context.prisma) };
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
