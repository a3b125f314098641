import { AgentType } from '../agents/type';
import { fallback } from '../planner/declarations';
import { builder } from '../schema/builder';
import { MemoryTypeEnum } from './memory-type';
import type { MemoryStatsShape } from './stats-loader';

const MemoryTypeCount = builder.objectRef<{ value: string; count: number }>('MemoryTypeCount').implement({
  fields: (t) => ({
    memoryType: t.field({ type: MemoryTypeEnum, resolve: (entry) => entry.value as typeof MemoryTypeEnum.$inferType }),
    count: t.exposeInt('count'),
  }),
});

const MemoryLabelCount = builder.objectRef<{ value: string; count: number }>('MemoryLabelCount').implement({
  description: 'How many memories have one scope, or one level.',
  fields: (t) => ({ value: t.exposeString('value'), count: t.exposeInt('count') }),
});

const MemoryStats = builder.objectRef<MemoryStatsShape>('MemoryStats').implement({
  description:
    "An agent's live memories, the facts valid now (not expired), counted by type, scope and level; the largest " +
    'counts first.',
  fields: (t) => ({
    total: t.exposeInt('total'),
    byType: t.field({ type: [MemoryTypeCount], resolve: (stats) => stats.byType }),
    byScope: t.field({ type: [MemoryLabelCount], resolve: (stats) => stats.byScope }),
    byLevel: t.field({ type: [MemoryLabelCount], resolve: (stats) => stats.byLevel }),
  }),
});

builder.prismaObjectField(AgentType, 'memoryStats', (t) =>
  t.field({
    type: MemoryStats,
    description:
      "Counts of the agent's live memories by type, scope and level (one statement for all the agents of a request).",
    sql: fallback('grouped counts: one loader statement per request'),
    resolve: (agent, _args, context) => context.loaders.memoryStats.load(agent.id),
  }),
);
