import { queryFromInfo } from '@pothos/plugin-prisma';
import type { Context } from '../context/types';
import type { Prisma } from '../generated/prisma/client';
import type { MemoryChange } from '../live/events';
import { rowsOf } from '../live/rows';
import { readOnce } from '../live/shared-reads';
import { builder } from '../schema/builder';
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
      const events = await context.live.listen('memoryChanged', organizationId, agentId);
      const query = queryFromInfo({ context, info, typeName: 'Memory', path: ['memory'] });
      return rowsOf(events, async (event): Promise<MemoryChangeShape[]> => {
        const { change, memoryIds } = event;
        if (change === 'purged') return memoryIds.map((memoryId) => ({ change, memoryId, memory: null }));
        // Read once per event for every subscriber sharing its organization, agent and relations
        // (as messageAdded's); deleted ones too (their change is the news).
        const memories = await readOnce(event, { organizationId, agentId, query }, () =>
          context.prisma.memory.findMany({
            ...query,
            where: { ...allRowsOf(context), agentId, id: { in: memoryIds } },
          }),
        );
        const byId = new Map(memories.map((memory) => [memory.id, memory]));
        // A memory purged since its change is not there any more: its PURGED event follows.
        return memoryIds.flatMap((memoryId) => {
          const memory = byId.get(memoryId);
          return memory ? [{ change, memoryId, memory }] : [];
        });
      });
    },
    resolve: (event) => event,
  }),
);
