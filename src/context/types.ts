import type { YogaInitialContext } from 'graphql-yoga';
import type { AgentLoaders } from '../agents/loaders';
import type { Caller } from '../auth/caller';
import type { EmbeddingSettings, RankingSettings } from '../config/settings';
import type { ScopedSql } from '../db/row-level-security';
import type { PrismaClient } from '../generated/prisma/client';
import type { LiveBus } from '../live/bus';
import type { MemoryAccesses } from '../memories/access';
import type { MemoryStatsLoader } from '../memories/stats-loader';
import type { ToolCallLoaders } from '../messages/tool-calls';

/** A GraphQL request's context, as every resolver sees it (built by src/context/create.ts). */
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
  /**
   * The memories this request's reads returned, counted as accessed once its data is settled
   * (src/http/memory-access-tracking.ts).
   */
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
  memoryStats: MemoryStatsLoader;
};

/** Whether yoga's context has been built into ours: for plugins typed with yoga's own context. */
export function isCallerContext(context: YogaInitialContext): context is Context {
  return 'caller' in context;
}
