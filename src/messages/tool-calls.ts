import DataLoader from 'dataloader';
import type { Message, Prisma, PrismaClient } from '../generated/prisma/client';
import { live } from '../schema/tenancy';

/**
 * The two ends of a tool call: an assistant message lists its calls in `tool_calls` (JSONB, a
 * list of {id, type, function}); a TOOL message answers one of them by `tool_call_id`. Both stay
 * within one agent's conversation.
 */

// `m` is a live assistant message of `agent` whose tool_calls hold a call with the id `call` (the
// JSONB containment matches one element of the list by its id).
const makesCall = (agent: string, call: string) => `m.agent_id = ${agent} AND m.role = 'assistant' AND NOT m.is_deleted
  AND m.tool_calls @> jsonb_build_array(jsonb_build_object('id', ${call}))`;

/** Which of `callIds` a live assistant message of `agentId` made. */
export async function callsMadeBy(tx: Prisma.TransactionClient, agentId: string, callIds: string[]): Promise<string[]> {
  const rows = await tx.$queryRawUnsafe<Array<{ callId: string }>>(
    `SELECT k.call_id AS "callId" FROM unnest($2::text[]) AS k(call_id)
     WHERE EXISTS (SELECT 1 FROM messages m WHERE ${makesCall('$1', 'k.call_id')})`,
    agentId,
    callIds,
  );
  return rows.map((row) => row.callId);
}

const callKey = (agentId: string, callId: string) => JSON.stringify([agentId, callId]);

/** The ids of the calls an assistant message made (its tool_calls as stored). */
function callIdsOf(message: Pick<Message, 'toolCalls'>): string[] {
  const calls = Array.isArray(message.toolCalls) ? message.toolCalls : [];
  return calls.flatMap((call) =>
    call && typeof call === 'object' && !Array.isArray(call) && typeof call.id === 'string' ? [call.id] : [],
  );
}

/**
 * Per-request loaders for Message.toolCall and Message.toolReturnMessages: one statement per
 * batch, for all the messages of a request.
 */
export function createToolCallLoaders(prisma: PrismaClient) {
  // TOOL message → the assistant message that made its call (the first, should ids repeat).
  const caller = new DataLoader<{ agentId: string; callId: string }, Message | null, string>(
    async (keys) => {
      const rows = await prisma.$queryRawUnsafe<Array<{ agentId: string; callId: string; id: string }>>(
        `SELECT DISTINCT ON (k.agent_id, k.call_id) k.agent_id AS "agentId", k.call_id AS "callId", m.id
         FROM unnest($1::text[], $2::text[]) AS k(agent_id, call_id) JOIN messages m
           ON ${makesCall('k.agent_id', 'k.call_id')}
         ORDER BY k.agent_id, k.call_id, m.created_at, m.seq`,
        keys.map((key) => key.agentId),
        keys.map((key) => key.callId),
      );
      const messages = await prisma.message.findMany({ where: { id: { in: rows.map((row) => row.id) } } });
      const byId = new Map(messages.map((message) => [message.id, message]));
      const byCall = new Map(rows.map((row) => [callKey(row.agentId, row.callId), byId.get(row.id) ?? null]));
      return keys.map((key) => byCall.get(callKey(key.agentId, key.callId)) ?? null);
    },
    { cacheKeyFn: (key) => callKey(key.agentId, key.callId) },
  );

  // Assistant message → the TOOL messages answering its calls, in the conversation's order.
  const answers = new DataLoader<Message, Message[], string>(
    async (assistants) => {
      const wanted = assistants.flatMap((message) =>
        callIdsOf(message).map((callId) => ({ agentId: message.agentId, callId })),
      );
      const rows =
        wanted.length === 0
          ? []
          : await prisma.message.findMany({
              where: {
                ...live,
                role: 'tool',
                agentId: { in: [...new Set(wanted.map((call) => call.agentId))] },
                toolCallId: { in: [...new Set(wanted.map((call) => call.callId))] },
              },
              orderBy: [{ createdAt: 'asc' }, { seq: 'asc' }],
            });
      return assistants.map((message) => {
        const calls = new Set(callIdsOf(message));
        return rows.filter(
          (row) => row.agentId === message.agentId && row.toolCallId !== null && calls.has(row.toolCallId),
        );
      });
    },
    { cacheKeyFn: (message) => message.id },
  );

  return {
    callerOf: (message: Message) =>
      message.role === 'tool' && message.toolCallId
        ? caller.load({ agentId: message.agentId, callId: message.toolCallId })
        : null,
    answersTo: (message: Message) =>
      message.role === 'assistant' && callIdsOf(message).length > 0 ? answers.load(message) : [],
  };
}

export type ToolCallLoaders = ReturnType<typeof createToolCallLoaders>;
