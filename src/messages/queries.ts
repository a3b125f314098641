import type { Context } from '../context/types';
import { containsText } from '../db/text-filters';
import { ValidationError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { connection, orderBy } from '../planner/declarations';
import { builder } from '../schema/builder';
import { maxItems } from '../schema/list-caps';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { listedRowsOf } from '../schema/tenancy';
import { conversationOrder, MessageRole, MessageType, visibleMessageRows, visibleMessages } from './type';

builder.queryFields((t) => ({
  messages: t.prismaConnection({
    type: MessageType,
    ...connectionOptions,
    description:
      "An agent's conversation, oldest first. Cursors stay valid while messages are appended. With " +
      '`deleted: true`, the trash: without agentId, the deleted messages of every agent of the organization.',
    args: {
      agentId: t.arg.id({
        description:
          'The agent whose messages these are: required, except for the trash (`deleted: true`), which lists ' +
          "every agent's deleted messages without it (VALIDATION otherwise).",
      }),
      roles: t.arg({ type: [MessageRole], extensions: maxItems(10), description: 'Any of these roles; at most 10.' }),
      since: t.arg({ type: 'DateTime', description: 'Messages created at or after this instant.' }),
      until: t.arg({ type: 'DateTime', description: 'Messages created before this instant.' }),
      deleted: t.arg.boolean({
        defaultValue: false,
        description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.',
      }),
      otid: t.arg.string({
        description:
          'The message a client sent with this offline threading id: how a chat client finds its optimistic ' +
          "message's stored one.",
      }),
      stepId: t.arg.string({ description: 'The messages of one agent step.' }),
      groupId: t.arg.string({ description: 'The messages of one group.' }),
      textContains: t.arg.string({
        description: "Messages whose text contains this, case-insensitive (the MCP tool conversation_search's query).",
      }),
    },
    totalCount: (_root, args, context) => context.prisma.message.count({ where: messageWhere(context, args) }),
    // The trash (admin only) is read by the resolver. Messages of a deleted agent are not shown.
    sql: connection(
      {
        table: 'messages',
        where: (scope) => {
          const args = scope.args as Parameters<typeof messageWhere>[1];
          // A text search is Prisma's (ILIKE), as nameContains is for agents; a missing agentId is
          // refused by the resolver.
          if (args.deleted || args.textContains != null || args.agentId == null) return undefined;
          const equal = (name: string, value: unknown) =>
            value == null ? [] : [`${scope.row}.${name} = ${scope.bind(value)}`];
          return [
            ...visibleMessageRows(scope),
            ...equal('agent_id', String(args.agentId)),
            ...equal('otid', args.otid),
            ...equal('step_id', args.stepId),
            ...equal('group_id', args.groupId),
            ...(args.roles ? [`${scope.row}.role = ANY(${scope.bind(args.roles)}::text[])`] : []),
            ...(args.since ? [`${scope.row}.created_at >= ${scope.bind(args.since)}`] : []),
            ...(args.until ? [`${scope.row}.created_at < ${scope.bind(args.until)}`] : []),
          ];
        },
      },
      () => orderBy(['created_at', 'seq'], 'ASC'),
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.message.findMany({
        ...query,
        where: messageWhere(context, args),
        orderBy: conversationOrder,
      });
    },
  }),
}));

/**
 * The messages' conditions. A conversation is one agent's: only the trash (admin keys, checked
 * first) may be listed across the organization's agents.
 */
function messageWhere(
  context: Context,
  args: {
    agentId?: string | number | null;
    roles?: string[] | null;
    since?: Date | null;
    until?: Date | null;
    otid?: string | null;
    stepId?: string | null;
    groupId?: string | null;
    textContains?: string | null;
    deleted?: boolean | null;
  },
): Prisma.MessageWhereInput {
  const rows = args.deleted ? listedRowsOf(context, args.deleted) : visibleMessages(context);
  if (args.agentId == null && !args.deleted) {
    throw new ValidationError('agentId is required, except for the trash (deleted: true)', ['agentId']);
  }
  return {
    // The trash holds the messages deleted one by one; those of a deleted agent come back with it.
    ...rows,
    ...(args.agentId != null && { agentId: String(args.agentId) }),
    ...(args.otid != null && { otid: args.otid }),
    ...(args.stepId != null && { stepId: args.stepId }),
    ...(args.groupId != null && { groupId: args.groupId }),
    ...(args.roles && { role: { in: args.roles } }),
    ...(args.textContains != null && { text: containsText(args.textContains) }),
    ...((args.since || args.until) && {
      createdAt: { ...(args.since && { gte: args.since }), ...(args.until && { lt: args.until }) },
    }),
  };
}
