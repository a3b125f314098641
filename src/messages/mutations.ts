import { z } from 'zod';
import { NotFoundError, ValidationError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { builder } from '../schema/builder';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { maxItems } from '../schema/list-caps';
import { json, longText, storedEnum, text } from '../schema/rules';
import { createdBy, liveRowsOf, lockLiveAgent } from '../schema/tenancy';
import { parseInput } from '../schema/validation';
import { callsMadeBy } from './tool-calls';
import { conversationOrder, MessageRole, MessageType, messageRoles } from './type';

const MessageInput = builder.inputType('MessageInput', {
  fields: (t) => ({
    role: t.field({ type: MessageRole, required: true }),
    text: t.string(),
    content: t.field({ type: 'JSON', description: 'Content parts, e.g. [{"type": "text", "text": "Hi"}].' }),
    model: t.string(),
    name: t.string(),
    toolCalls: t.field({
      type: 'JSON',
      description: 'A list of {id, type, function: {name, arguments}}; arguments is a JSON string.',
    }),
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

const MAX_MESSAGES_PER_APPEND = 500;
const appendSchema = z.array(messageSchema).min(1, 'must hold at least one message').max(MAX_MESSAGES_PER_APPEND);

/**
 * A TOOL message answers a call that an assistant message of the same agent made before it: in
 * the conversation already, or earlier in the same append. Otherwise VALIDATION on its toolCallId.
 */
async function requireAnsweredCalls(
  tx: Prisma.TransactionClient,
  agentId: string,
  messages: z.infer<typeof messageSchema>[],
): Promise<void> {
  const madeHere = new Set<string>();
  const unresolved: Array<{ index: number; callId: string }> = [];
  messages.forEach((message, index) => {
    if (message.role === 'tool' && message.toolCallId && !madeHere.has(message.toolCallId))
      unresolved.push({ index, callId: message.toolCallId });
    if (message.role === 'assistant') for (const call of message.toolCalls ?? []) madeHere.add(call.id);
  });
  if (unresolved.length === 0) return;
  const made = new Set(await callsMadeBy(tx, agentId, [...new Set(unresolved.map((call) => call.callId))]));
  const missing = unresolved.find((call) => !made.has(call.callId));
  if (missing) {
    const field = ['messages', String(missing.index), 'toolCallId'];
    throw new ValidationError(
      `${field.join('.')}: no earlier assistant message of this agent made the tool call ` +
        JSON.stringify(missing.callId),
      field,
    );
  }
}

const MessagesPayload = builder.objectRef<{ messageIds: string[] }>('MessagesPayload').implement({
  fields: (t) => ({
    messages: t.prismaField({
      type: [MessageType],
      description: 'The appended messages, in the order given.',
      resolve: (query, payload, _args, context) =>
        context.prisma.message.findMany({
          ...query,
          where: { id: { in: payload.messageIds } },
          orderBy: conversationOrder,
        }),
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
      messages: t.arg({
        type: [MessageInput],
        required: true,
        extensions: maxItems(MAX_MESSAGES_PER_APPEND),
        description: `At most ${MAX_MESSAGES_PER_APPEND}.`,
      }),
    },
    resolve: async (_root, args, context) => {
      const messages = parseInput(appendSchema, args.messages, ['messages']);
      const agentId = String(args.agentId);
      const messageIds = await context.prisma.$transaction(async (tx) => {
        // Appends to one agent take turns, so that the order of one append never interleaves
        // with another's. The messages of one append share one instant, no earlier than the
        // conversation's last; `seq`, drawn in the order they are sent, orders them.
        await lockLiveAgent(context, tx, agentId, ['agentId']);
        const last = await tx.message.findFirst({
          where: { agentId },
          orderBy: { createdAt: 'desc' },
          select: { createdAt: true },
        });
        const at = new Date(Math.max(Date.now(), last?.createdAt.getTime() ?? 0));
        await requireAnsweredCalls(tx, agentId, messages);

        const userIds = [...new Set(messages.flatMap((message) => (message.userId ? [message.userId] : [])))];
        // Most appends name no user (the key's own is theirs): no statement for them.
        const known =
          userIds.length === 0
            ? []
            : await tx.user.findMany({ where: { id: { in: userIds }, ...liveRowsOf(context) }, select: { id: true } });
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
      context.live.publish({
        kind: 'messageAdded',
        organizationId: context.caller.organizationId,
        agentId,
        messageIds,
      });
      return { messageIds };
    },
  }),
);

// Messages are appended, never edited, but one may be taken out of a conversation (and restored:
// the restored message comes back in the payload of appendMessages).
addLifecycleMutations({
  entity: 'Message',
  table: (prisma) => prisma.message,
  payload: MessagesPayload,
  toPayload: (id) => ({ messageIds: [id] }),
});
