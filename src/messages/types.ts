import { queryFromInfo } from '@pothos/plugin-prisma';
import { z } from 'zod';
import type { Context } from '../context/types';
import { NotFoundError, ValidationError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { rowsOf } from '../live/rows';
import { readOnce } from '../live/shared-reads';
import { column, connection, fallback, liveRows, object, orderBy, organizationRows, relatedRows, timestamp } from '../planner/declarations';
import { builder } from '../schema/builder';
import { maxItems } from '../schema/list-caps';
import { addDeletionFields } from '../schema/deletion-fields';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { json, longText, storedEnum, text } from '../schema/rules';
import { createdBy, listedRowsOf, live, liveRowsOf, requireLiveAgent } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { callsMadeBy } from './tool-calls';

const messageRoles = {
  USER: { value: 'user' },
  ASSISTANT: { value: 'assistant' },
  SYSTEM: { value: 'system' },
  TOOL: { value: 'tool' },
} as const;

export const MessageRole = builder.enumType('MessageRole', { values: messageRoles });

export const MessageType = builder.prismaObject('Message', {
  description: 'One message of a conversation between a user and an agent.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    userId: t.exposeID('userId', { sql: column('user_id') }),
    agentId: t.exposeID('agentId', { sql: column('agent_id') }),
    role: t.field({ type: MessageRole, sql: column('role'), resolve: (message) => message.role as typeof MessageRole.$inferType }),
    text: t.exposeString('text', { sql: column('text'), nullable: true }),
    content: t.expose('content', { sql: column('content'), type: 'JSON', nullable: true, description: 'Content parts.' }),
    model: t.exposeString('model', { sql: column('model'), nullable: true }),
    name: t.exposeString('name', { sql: column('name'), nullable: true }),
    toolCalls: t.expose('toolCalls', { sql: column('tool_calls'), type: 'JSON', nullable: true, description: 'A list of {id, type, function: {name, arguments}}.' }),
    toolCallId: t.exposeString('toolCallId', { sql: column('tool_call_id'), nullable: true }),
    stepId: t.exposeString('stepId', { sql: column('step_id'), nullable: true }),
    otid: t.exposeString('otid', { sql: column('otid'), nullable: true, description: 'Offline threading id.' }),
    toolReturns: t.expose('toolReturns', { sql: column('tool_returns'), type: 'JSON', nullable: true }),
    groupId: t.exposeString('groupId', { sql: column('group_id'), nullable: true }),
    senderId: t.exposeString('senderId', { sql: column('sender_id'), nullable: true }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    createdById: t.exposeID('createdById', { sql: column('created_by_id'), nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { sql: column('last_updated_by_id'), nullable: true }),
    user: t.relation('user', { sql: object(relatedRows('users', 'id', 'user_id')) }),
  }),
});
addDeletionFields('Message');

// The two ends of a tool call, batched per request (src/messages/tool-calls.ts).
builder.prismaObjectFields(MessageType, (t) => ({
  toolCall: t.field({
    type: MessageType,
    nullable: true,
    sql: fallback('matched by tool call id in JSON: one loader statement per request', { agentId: 'agent_id', toolCallId: 'tool_call_id', role: 'role' }),
    description: 'On a TOOL message: the assistant message that made the call it answers (the call itself is in its toolCalls, by toolCallId).',
    resolve: (message, _args, context) => context.loaders.toolCalls.callerOf(message),
  }),
  toolReturnMessages: t.field({
    type: [MessageType],
    sql: fallback('matched by tool call ids in JSON: one loader statement per request', { agentId: 'agent_id', toolCalls: 'tool_calls', role: 'role' }),
    description:
      'On an assistant message: the TOOL messages answering its tool calls, oldest first (the field toolReturns is the tool_returns column). Empty on other messages.',
    resolve: (message, _args, context) => context.loaders.toolCalls.answersTo(message),
  }),
}));

/** Messages the caller may read: live, of its organization, of a live agent. */
export function visibleMessages(context: Context): Prisma.MessageWhereInput {
  return { ...liveRowsOf(context), agent: live };
}

/**
 * The order of a conversation, everywhere messages are listed: by instant, and by `seq` (the
 * order rows were written in) where instants tie, as they do for the messages of one append.
 */
export const conversationOrder = [{ createdAt: 'asc' }, { seq: 'asc' }] satisfies Prisma.MessageOrderByWithRelationInput[];

builder.queryFields((t) => ({
  messages: t.prismaConnection({
    type: MessageType,
    ...connectionOptions,
    description: "An agent's conversation, oldest first. Cursors stay valid while messages are appended.",
    args: {
      agentId: t.arg.id({ required: true }),
      roles: t.arg({ type: [MessageRole], extensions: maxItems(10), description: 'Any of these roles; at most 10.' }),
      since: t.arg({ type: 'DateTime', description: 'Messages created at or after this instant.' }),
      until: t.arg({ type: 'DateTime', description: 'Messages created before this instant.' }),
      deleted: t.arg.boolean({ defaultValue: false, description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.' }),
      otid: t.arg.string({ description: "The message a client sent with this offline threading id: how a chat client finds its optimistic message's stored one." }),
      stepId: t.arg.string({ description: 'The messages of one agent step.' }),
      groupId: t.arg.string({ description: 'The messages of one group.' }),
    },
    totalCount: (_root, args, context) => context.prisma.message.count({ where: messageWhere(context, args) }),
    // The trash (admin only) is read by the resolver. Messages of a deleted agent are not shown.
    sql: connection(
      {
        table: 'messages',
        where: (scope) => {
          const args = scope.args as Parameters<typeof messageWhere>[1];
          if (args.deleted) return undefined;
          const equal = (name: string, value: unknown) => (value == null ? [] : [`${scope.row}.${name} = ${scope.bind(value)}`]);
          return [
            ...organizationRows(scope),
            ...liveRows(scope),
            `EXISTS (SELECT 1 FROM agents a WHERE a.id = ${scope.row}.agent_id AND NOT a.is_deleted)`,
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
      return context.prisma.message.findMany({ ...query, where: messageWhere(context, args), orderBy: conversationOrder });
    },
  }),
}));

function messageWhere(
  context: Context,
  args: {
    agentId: string | number;
    roles?: string[] | null;
    since?: Date | null;
    until?: Date | null;
    otid?: string | null;
    stepId?: string | null;
    groupId?: string | null;
    deleted?: boolean | null;
  },
): Prisma.MessageWhereInput {
  return {
    // The trash holds the messages deleted one by one; those of a deleted agent come back with it.
    ...(args.deleted ? listedRowsOf(context, args.deleted) : visibleMessages(context)),
    agentId: String(args.agentId),
    ...(args.otid != null && { otid: args.otid }),
    ...(args.stepId != null && { stepId: args.stepId }),
    ...(args.groupId != null && { groupId: args.groupId }),
    ...(args.roles && { role: { in: args.roles } }),
    ...((args.since || args.until) && { createdAt: { ...(args.since && { gte: args.since }), ...(args.until && { lt: args.until }) } }),
  };
}

const MessageInput = builder.inputType('MessageInput', {
  fields: (t) => ({
    role: t.field({ type: MessageRole, required: true }),
    text: t.string(),
    content: t.field({ type: 'JSON', description: 'Content parts, e.g. [{"type": "text", "text": "Hi"}].' }),
    model: t.string(),
    name: t.string(),
    toolCalls: t.field({ type: 'JSON', description: 'A list of {id, type, function: {name, arguments}}; arguments is a JSON string.' }),
    toolCallId: t.string({ description: 'Required on TOOL messages: the call this message answers.' }),
    stepId: t.string(),
    otid: t.string(),
    toolReturns: t.field({ type: 'JSON' }),
    groupId: t.string(),
    senderId: t.string(),
    userId: t.id({ description: 'The user of the conversation; default: the caller.' }),
  }),
});

const toolCall = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

function isEmptyContent(content: unknown): boolean {
  return content == null || content === '' || (Array.isArray(content) && content.length === 0);
}

const messageSchema = z
  .object({
    role: storedEnum(messageRoles),
    text: longText.nullish(),
    content: json,
    model: text(255).nullish(),
    name: text(255).nullish(),
    toolCalls: z.array(toolCall, 'must be a list of {id, type, function: {name, arguments}}').nullish(),
    toolCallId: text(255).nullish(),
    stepId: text(255).nullish(),
    otid: text(255).nullish(),
    toolReturns: json,
    groupId: text(255).nullish(),
    senderId: text(255).nullish(),
    userId: z.string().nullish(),
  })
  .superRefine((message, issues) => {
    if (message.role === 'tool' && !message.toolCallId) {
      issues.addIssue({ code: 'custom', path: ['toolCallId'], message: 'TOOL messages must carry toolCallId' });
    }
    // An assistant turn that only calls tools has neither text nor content, and that is fine.
    const hasToolCalls = (message.toolCalls?.length ?? 0) > 0;
    if (!message.text && isEmptyContent(message.content) && !hasToolCalls) {
      issues.addIssue({ code: 'custom', path: ['text'], message: 'a message needs text or content' });
    }
  });

export const MAX_MESSAGES_PER_APPEND = 500;
const appendSchema = z.array(messageSchema).min(1, 'must hold at least one message').max(MAX_MESSAGES_PER_APPEND);

/**
 * A TOOL message answers a call that an assistant message of the same agent made before it: in
 * the conversation already, or earlier in the same append. Otherwise VALIDATION on its toolCallId.
 */
async function requireAnsweredCalls(tx: Prisma.TransactionClient, agentId: string, messages: Array<z.infer<typeof messageSchema>>): Promise<void> {
  const madeHere = new Set<string>();
  const unresolved: Array<{ index: number; callId: string }> = [];
  messages.forEach((message, index) => {
    if (message.role === 'tool' && message.toolCallId && !madeHere.has(message.toolCallId)) unresolved.push({ index, callId: message.toolCallId });
    if (message.role === 'assistant') for (const call of message.toolCalls ?? []) madeHere.add(call.id);
  });
  if (unresolved.length === 0) return;
  const made = new Set(await callsMadeBy(tx, agentId, [...new Set(unresolved.map((call) => call.callId))]));
  const missing = unresolved.find((call) => !made.has(call.callId));
  if (missing) {
    const field = ['messages', String(missing.index), 'toolCallId'];
    throw new ValidationError(`${field.join('.')}: no earlier assistant message of this agent made the tool call ${JSON.stringify(missing.callId)}`, field);
  }
}

const MessagesPayload = builder.objectRef<{ messageIds: string[] }>('MessagesPayload').implement({
  fields: (t) => ({
    messages: t.prismaField({
      type: [MessageType],
      description: 'The appended messages, in the order given.',
      resolve: (query, payload, _args, context) =>
        context.prisma.message.findMany({ ...query, where: { id: { in: payload.messageIds } }, orderBy: conversationOrder }),
    }),
  }),
});

builder.mutationField('appendMessages', (t) =>
  t.field({
    type: MessagesPayload,
    description: `Appends up to ${MAX_MESSAGES_PER_APPEND} messages to a conversation, in order, all or none.`,
    errors: { types: commonMutationErrors },
    args: {
      agentId: t.arg.id({ required: true }),
      messages: t.arg({ type: [MessageInput], required: true, extensions: maxItems(MAX_MESSAGES_PER_APPEND), description: `At most ${MAX_MESSAGES_PER_APPEND}.` }),
    },
    resolve: async (_root, args, context) => {
      const messages = parseInput(appendSchema, args.messages, ['messages']);
      const agentId = String(args.agentId);
      const messageIds = await context.prisma.$transaction(async (tx) => {
        await requireLiveAgent(context, tx, agentId, ['agentId']);
        // Appends to one agent take turns, so that the order of one append never interleaves
        // with another's. The messages of one append share one instant, no earlier than the
        // conversation's last; `seq`, drawn in the order they are sent, orders them.
        await tx.$queryRaw`SELECT id FROM agents WHERE id = ${agentId} FOR UPDATE`;
        const last = await tx.message.findFirst({ where: { agentId }, orderBy: { createdAt: 'desc' }, select: { createdAt: true } });
        const at = new Date(Math.max(Date.now(), last?.createdAt.getTime() ?? 0));
        await requireAnsweredCalls(tx, agentId, messages);

        const userIds = [...new Set(messages.flatMap((message) => (message.userId ? [message.userId] : [])))];
        const known = await tx.user.findMany({ where: { id: { in: userIds }, ...liveRowsOf(context) }, select: { id: true } });
        const knownIds = new Set(known.map((user) => user.id));
        messages.forEach((message, index) => {
          if (message.userId && !knownIds.has(message.userId)) {
            throw new NotFoundError('User', message.userId, ['messages', String(index), 'userId']);
          }
        });

        const rows = messages.map((message) => {
          const { userId, content, toolCalls, toolReturns, ...columns } = message;
          return {
            ...columns,
            id: newId('message'),
            organizationId: liveRowsOf(context).organizationId,
            agentId,
            userId: userId ?? context.caller.userId,
            content: content as Prisma.InputJsonValue | undefined,
            toolCalls: toolCalls ?? undefined,
            toolReturns: toolReturns as Prisma.InputJsonValue | undefined,
            createdAt: at,
            ...createdBy(context),
          };
        });
        await tx.message.createMany({ data: rows });
        return rows.map((row) => row.id);
      });
      context.live.publish({ kind: 'messageAdded', organizationId: context.caller.organizationId, agentId, messageIds });
      return { messageIds };
    },
  }),
);

// Messages are appended, never edited, but one may be taken out of a conversation (and restored:
// the restored message comes back in the payload of appendMessages).
addLifecycleMutations({ entity: 'Message', table: (prisma) => prisma.message, payload: MessagesPayload, toPayload: (id) => ({ messageIds: [id] }) });

builder.subscriptionField('messageAdded', (t) =>
  t.field({
    type: MessageType,
    description:
      "Each message appended to the agent's conversation from now on, in conversation order (over Server-Sent Events: POST with Accept: text/event-stream).",
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
