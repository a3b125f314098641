import type { Context } from '../context/types';
import type { Prisma } from '../generated/prisma/client';
import type { MemoryChange } from '../live/events';
import { rowsOf } from '../live/rows';
import { loadedWith, sharedReads, watchPlanned } from '../live/shared-reads';
import { organizationRows } from '../planner/declarations';
import { plansUnderOneKey } from '../planner/plugin';
import { builder } from '../schema/builder';
import { selectionOf } from '../schema/selection';
import { allRowsOf, requireLiveAgent } from '../schema/tenancy';
import { publishMemoryChanges } from './announce';
import { MemoryType } from './type';

/** Tells the subscribers of each memory's agent (one event per agent, in the given order). */
export function announceChanges(
  context: Context,
  change: MemoryChange,
  memories: Array<{ id: string; agentId: string }>,
): void {
  publishMemoryChanges(context.live, context.caller.organizationId, change, memories);
}

const MemoryChangeKind = builder.enumType('MemoryChangeKind', {
  values: {
    CREATED: { value: 'created' },
    UPDATED: { value: 'updated' },
    DELETED: { value: 'deleted', description: 'Soft-deleted: hidden from every read, but restorable.' },
    RESTORED: { value: 'restored' },
    PURGED: { value: 'purged', description: 'Deleted for good: `memory` is null.' },
    SUPERSEDED: {
      value: 'superseded',
      description: 'Replaced by another memory (its CREATED event comes first): validUntil and supersededBy are set.',
    },
    INVALIDATED: { value: 'invalidated', description: 'Ended without a replacement (invalidateMemory).' },
    EXPIRED: {
      value: 'expired',
      description:
        'Past its expiresAt and moved to the trash by the sweep (reads stopped returning it at expiresAt already).',
    },
    EMBEDDED: {
      value: 'embedded',
      description:
        "The embedding provider's vector is stored: embeddingStatus is READY, and searches by meaning find it.",
    },
  } as const satisfies Record<string, { value: MemoryChange; description?: string }>,
});

interface MemoryChangeShape {
  change: MemoryChange;
  memoryId: string;
  memory: Prisma.MemoryGetPayload<object> | null;
}

const MemoryChangeType = builder.objectRef<MemoryChangeShape>('MemoryChange').implement({
  description: "A change to one of an agent's memories.",
  fields: (t) => ({
    kind: t.field({ type: MemoryChangeKind, resolve: (event) => event.change }),
    memoryId: t.exposeID('memoryId'),
    memory: t.field({
      type: MemoryType,
      nullable: true,
      description: 'The memory as it is after the change (after DELETED too, soft-deleted); null after PURGED.',
      resolve: (event) => event.memory,
    }),
  }),
});

builder.subscriptionField('memoryChanged', (t) =>
  t.field({
    type: MemoryChangeType,
    description:
      "Each change to the agent's memories from now on: created, updated, deleted, restored, purged, superseded, " +
      'invalidated, expired, embedded (over ' +
      'Server-Sent Events: POST with Accept: text/event-stream).',
    args: { agentId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, context, info) => {
      const agentId = String(args.agentId);
      await requireLiveAgent(context, context.prisma, agentId, ['agentId']);
      const { organizationId } = context.caller;
      /** Each memory of the event that is still there, in the event's order: a purged one's PURGED event follows. */
      const inEventOrder = (
        change: MemoryChange,
        memoryIds: string[],
        byId: Map<string, MemoryChangeShape['memory']>,
      ) =>
        memoryIds.flatMap((memoryId) => {
          const memory = byId.get(memoryId);
          return memory ? [{ change, memoryId, memory }] : [];
        });
      const nodes = selectionOf(info.fieldNodes, 'MemoryChange', info).get('memory') ?? [];
      const planMemories = plansUnderOneKey(context, 'MemoryChange.memory', nodes);
      if (planMemories) {
        // The read planner's memories, in one statement per event for every selection of this
        // organization's subscribers of the agent (src/live/shared-reads.ts); deleted ones too
        // (their change is the news).
        const topic = { organizationId, agentId, kind: 'memoryChanged' as const };
        const { events, unwatch, read } = await watchPlanned(context, info, topic, {
          typeName: 'Memory',
          nodes,
          row: 'm',
        });
        return rowsOf(
          events,
          async (event): Promise<MemoryChangeShape[]> => {
            const { change, memoryIds } = event;
            if (change === 'purged') return memoryIds.map((memoryId) => ({ change, memoryId, memory: null }));
            const rows = await read(event, (bind) => {
              const where = [...organizationRows({ row: 'm', organizationId, bind }), `m.agent_id = ${bind(agentId)}`];
              return `FROM memories m WHERE ${where.join(' AND ')} AND m.id = ANY(${bind(memoryIds)})`;
            });
            // Planned objects, which Memory's fields answer from (src/planner/plugin.ts).
            const byId = new Map(rows.map((row) => [row.id, row.object as MemoryChangeShape['memory']]));
            return inEventOrder(change, memoryIds, byId);
          },
          unwatch,
        );
      }
      const events = await context.live.listen('memoryChanged', organizationId, agentId);
      const readShared = sharedReads(
        { context, info, typeName: 'Memory', path: ['memory'] },
        { organizationId, agentId },
      );
      return rowsOf(events, async (event): Promise<MemoryChangeShape[]> => {
        const { change, memoryIds } = event;
        if (change === 'purged') return memoryIds.map((memoryId) => ({ change, memoryId, memory: null }));
        // Deleted ones too: their change is the news.
        const memories = await readShared(event, (query) =>
          context.prisma.memory.findMany({
            ...query,
            where: { ...allRowsOf(context), agentId, id: { in: memoryIds } },
          }),
        );
        return inEventOrder(change, memoryIds, new Map(memories.map((memory) => [memory.id, memory])));
      });
    },
    resolve: (event, _args, context, info) => {
      loadedWith(event.memory, { context, info, typeName: 'Memory', path: ['memory'] });
      return event;
    },
  }),
);
