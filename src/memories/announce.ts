import type { LiveBus } from '../live/bus';
import type { MemoryChange } from '../live/events';

/** Tells the subscribers of each memory's agent (one memoryChanged event per agent, in the given order). */
export function publishMemoryChanges(
  live: LiveBus,
  organizationId: string,
  change: MemoryChange,
  memories: ReadonlyArray<{ id: string; agentId: string }>,
): void {
  const byAgent = new Map<string, string[]>();
  for (const { id, agentId } of memories) byAgent.set(agentId, [...(byAgent.get(agentId) ?? []), id]);
  for (const [agentId, memoryIds] of byAgent)
    live.publish({ kind: 'memoryChanged', change, organizationId, agentId, memoryIds });
}
