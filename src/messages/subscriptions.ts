import { queryFromInfo } from '@pothos/plugin-prisma';
import { rowsOf } from '../live/rows';
import { readOnce } from '../live/shared-reads';
import { builder } from '../schema/builder';
import { requireLiveAgent } from '../schema/tenancy';
import { conversationOrder, MessageType, visibleMessages } from './type';

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
      const events = await context.live.listen('messageAdded', organizationId, agentId);
      const query = queryFromInfo({ context, info, typeName: 'Message' });
      // Read once per event for every subscriber of this organization and agent whose selection
      // includes the same relations (src/live/shared-reads.ts), under the organization's scope.
      return rowsOf(events, (event) =>
        readOnce(event, { organizationId, agentId, query }, () =>
          context.prisma.message.findMany({
            ...query,
            where: { ...visibleMessages(context), agentId, id: { in: event.messageIds } },
            orderBy: conversationOrder,
          }),
        ),
      );
    },
    resolve: (message) => message,
  }),
);
