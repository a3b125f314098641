import type { Context } from '../context/types';
import type { Prisma } from '../generated/prisma/client';
import { rowsOf } from '../live/rows';
import { loadedWith, sharedReads, watchPlanned } from '../live/shared-reads';
import { liveRows, organizationRows } from '../planner/declarations';
import { builder } from '../schema/builder';
import { liveRowsOf, requireLiveAgent } from '../schema/tenancy';
import { BlockType } from './type';

/** The agents a block is attached to: who hears of its change. Read in the change's transaction. */
export async function attachedAgents(tx: Prisma.TransactionClient, blockId: string): Promise<string[]> {
  const links = await tx.blockAgent.findMany({ where: { blockId }, select: { agentId: true } });
  return links.map((link) => link.agentId);
}

/** Tells the subscribers of every agent the block is attached to, once the change has committed. */
export function announceBlockChange(context: Context, blockId: string, agentIds: string[]): void {
  const { organizationId } = context.caller;
  for (const agentId of agentIds)
    context.live.publish({ kind: 'blockChanged', organizationId, agentId, blockIds: [blockId] });
}

builder.subscriptionField('blockChanged', (t) =>
  t.field({
    type: BlockType,
    description:
      "Each new version of one of the agent's core-memory blocks from now on (updateBlock, revertBlock), as the " +
      'block is after it (over Server-Sent Events: POST with Accept: text/event-stream).',
    args: { agentId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, context, info) => {
      const agentId = String(args.agentId);
      // Another organization's agent is NOT_FOUND, as a missing one is.
      await requireLiveAgent(context, context.prisma, agentId, ['agentId']);
      const { organizationId } = context.caller;
      if (context.fastReads) {
        // The read planner's blocks, in one statement per event for every selection of this
        // organization's subscribers of the agent (src/live/shared-reads.ts).
        const topic = { organizationId, agentId, kind: 'blockChanged' as const };
        const target = { typeName: 'Block', nodes: info.fieldNodes, row: 'b' };
        const { events, unwatch, read } = await watchPlanned(context, info, topic, target);
        return rowsOf(
          events,
          async (event) => {
            const rows = await read(event, (bind) => {
              const where = [...organizationRows({ row: 'b', organizationId, bind }), ...liveRows({ row: 'b' })];
              return `FROM blocks b WHERE ${where.join(' AND ')} AND b.id = ANY(${bind(event.blockIds)})`;
            });
            // Planned objects, which Block's fields answer from (src/planner/plugin.ts).
            return rows.map((row) => row.object as typeof BlockType.$inferType);
          },
          unwatch,
        );
      }
      const events = await context.live.listen('blockChanged', organizationId, agentId);
      const readShared = sharedReads({ context, info, typeName: 'Block' }, { organizationId, agentId });
      return rowsOf(events, (event) =>
        readShared(event, (query) =>
          context.prisma.block.findMany({ ...query, where: { ...liveRowsOf(context), id: { in: event.blockIds } } }),
        ),
      );
    },
    resolve: (block, _args, context, info) => loadedWith(block, { context, info, typeName: 'Block' }),
  }),
);
