import type { Context } from '../context/types';
import type { Prisma } from '../generated/prisma/client';
import {
  column,
  fallback,
  liveRows,
  object,
  organizationRows,
  type RowsScope,
  relatedRows,
  timestamp,
} from '../planner/declarations';
import { builder } from '../schema/builder';
import { addDeletionFields } from '../schema/deletion-fields';
import { live, liveRowsOf } from '../schema/tenancy';

export const messageRoles = {
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
    role: t.field({
      type: MessageRole,
      sql: column('role'),
      resolve: (message) => message.role as typeof MessageRole.$inferType,
    }),
    text: t.exposeString('text', { sql: column('text'), nullable: true }),
    content: t.expose('content', {
      sql: column('content'),
      type: 'JSON',
      nullable: true,
      description: 'Content parts.',
    }),
    model: t.exposeString('model', { sql: column('model'), nullable: true }),
    name: t.exposeString('name', { sql: column('name'), nullable: true }),
    toolCalls: t.expose('toolCalls', {
      sql: column('tool_calls'),
      type: 'JSON',
      nullable: true,
      description: 'A list of {id, type, function: {name, arguments}}.',
    }),
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
    sql: fallback('matched by tool call id in JSON: one loader statement per request', {
      agentId: 'agent_id',
      toolCallId: 'tool_call_id',
      role: 'role',
    }),
    description:
      'On a TOOL message: the assistant message that made the call it answers (the call itself is in its ' +
      'toolCalls, by toolCallId).',
    resolve: (message, _args, context) => context.loaders.toolCalls.callerOf(message),
  }),
  toolReturnMessages: t.field({
    type: [MessageType],
    sql: fallback('matched by tool call ids in JSON: one loader statement per request', {
      agentId: 'agent_id',
      toolCalls: 'tool_calls',
      role: 'role',
    }),
    description:
      'On an assistant message: the TOOL messages answering its tool calls, oldest first (the field toolReturns ' +
      'is the tool_returns column). Empty on other messages.',
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
/** The planner's `visibleMessages`: live messages of live agents, in the caller's organization. */
export function visibleMessageRows(scope: Pick<RowsScope, 'row' | 'organizationId' | 'bind'>): string[] {
  return [
    ...organizationRows(scope),
    ...liveRows(scope),
    `EXISTS (SELECT 1 FROM agents a WHERE a.id = ${scope.row}.agent_id AND NOT a.is_deleted)`,
  ];
}

export const conversationOrder = [
  { createdAt: 'asc' },
  { seq: 'asc' },
] satisfies Prisma.MessageOrderByWithRelationInput[];
