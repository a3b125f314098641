import DataLoader from 'dataloader';
import { Prisma, type PrismaClient } from '../generated/prisma/client';
import { presentRows } from './validity';

/** An agent's live memories counted by type, scope and level. */
export interface MemoryStatsShape {
  total: number;
  byType: Array<{ value: string; count: number }>;
  byScope: Array<{ value: string; count: number }>;
  byLevel: Array<{ value: string; count: number }>;
}

type Tally = Map<string, number>;

/** Largest count first, then by value: a stable order for dashboards and tests. */
function sorted(tally: Tally): Array<{ value: string; count: number }> {
  return [...tally]
    .map(([value, count]) => ({ value, count }))
    .sort((x, y) => y.count - x.count || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0));
}

/** What the stats count, as Agent.memories and memoryCount: the facts valid now, not expired. */
const present = Prisma.raw(presentRows(undefined, 'memories', () => 'now()').join(' AND '));

/**
 * Agent.memoryStats for every agent of a request in ONE statement: the live memories grouped by
 * agent, type, scope and level (few combinations per agent), tallied here per dimension.
 */
export function createMemoryStatsLoader(prisma: PrismaClient) {
  return new DataLoader<string, MemoryStatsShape>(async (agentIds) => {
    const rows = await prisma.$queryRaw<
      Array<{ agentId: string; memoryType: string; scope: string; level: string; count: number }>
    >`
      SELECT agent_id AS "agentId", memory_type AS "memoryType", scope, level, count(*)::int AS count
      FROM memories
      WHERE agent_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(agentIds)}::jsonb)) AND NOT is_deleted
        AND ${present}
      GROUP BY agent_id, memory_type, scope, level`;
    const tallies = new Map(
      agentIds.map((id) => [
        id,
        { total: 0, byType: new Map() as Tally, byScope: new Map() as Tally, byLevel: new Map() as Tally },
      ]),
    );
    for (const row of rows) {
      const tally = tallies.get(row.agentId);
      if (!tally) continue;
      const count = Number(row.count);
      tally.total += count;
      tally.byType.set(row.memoryType, (tally.byType.get(row.memoryType) ?? 0) + count);
      tally.byScope.set(row.scope, (tally.byScope.get(row.scope) ?? 0) + count);
      tally.byLevel.set(row.level, (tally.byLevel.get(row.level) ?? 0) + count);
    }
    return agentIds.map((id) => {
      const tally = tallies.get(id)!;
      return {
        total: tally.total,
        byType: sorted(tally.byType),
        byScope: sorted(tally.byScope),
        byLevel: sorted(tally.byLevel),
      };
    });
  });
}

export type MemoryStatsLoader = ReturnType<typeof createMemoryStatsLoader>;
