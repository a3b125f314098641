import { rowsOf } from '../live/rows';
import { loadedWith, sharedReads, watchPlanned } from '../live/shared-reads';
import { builder } from '../schema/builder';
import { requireLiveAgent } from '../schema/tenancy';
import { conversationOrder, MessageType, visibleMessageRows, visibleMessages } from './type';

type MessageShape = typeof MessageType.$inferType;

builder.subscriptionField('messageAdded', (t) =>
  t.field({
    type: MessageType,
    description:
      "Each message appended to the agent's conversation from now on, in conversation order (over Server-Sent " +
      'Events: POST with Accept: text/event-stream).',
    args: { agentId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, context, info) => {
      const agentId = String(args.agentId);
      // Checked like the query: another organization's agent is NOT_FOUND, as a missing one is.
      await requireLiveAgent(context, context.prisma, agentId, ['agentId']);
      const { organizationId } = context.caller;
      if (context.fastReads) {
        // The read planner's objects, in one statement per event for every selection of this
        // organization's subscribers of the agent (src/live/shared-reads.ts).
        const topic = { organizationId, agentId, kind: 'messageAdded' as const };
        const target = { typeName: 'Message', nodes: info.fieldNodes, row: 'm' };
        const { events, unwatch, read } = await watchPlanned(context, info, topic, target);
        return rowsOf(
          events,
          async (event) => {
            const rows = await read(event, (bind) => {
              const scope = { row: 'm', organizationId, bind };
              const where = [...visibleMessageRows(scope), `m.agent_id = ${bind(agentId)}`];
              const ids = bind(event.messageIds);
              return `FROM messages m WHERE ${where.join(' AND ')} AND m.id = ANY(${ids}) ORDER BY m.created_at, m.seq`;
            });
            // Planned objects, which Message's fields answer from (src/planner/plugin.ts).
            return rows.map((row) => row.object as MessageShape);
          },
          unwatch,
        );
      }
      const events = await context.live.listen('messageAdded', organizationId, agentId);
      // Read once per event for every subscriber of this organization and agent whose selection
      // includes the same relations (src/live/shared-reads.ts).
      const readShared = sharedReads({ context, info, typeName: 'Message' }, { organizationId, agentId });
      return rowsOf(events, (event) =>
        readShared(event, (query) =>
          context.prisma.message.findMany({
            ...query,
            where: { ...visibleMessages(context), agentId, id: { in: event.messageIds } },
            orderBy: conversationOrder,
          }),
        ),
      );
    },
    resolve: (message, _args, context, info) => loadedWith(message, { context, info, typeName: 'Message' }),
  }),
);
