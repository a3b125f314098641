import type { WithCaller } from '../auth/caller';
import { ValidationError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { liveRowsOf } from '../schema/tenancy';

/**
 * The context window: `agents.message_ids`, the ids of the messages an agent has in context, in
 * order. Only live messages of the agent itself may be in it, each once.
 */

/** The most messages in one window: a page of 100 agents' windows stays one statement. */
export const MAX_CONTEXT_WINDOW = 500;

/** The ids of a stored window (a JSON column, which rows written outside the API may fill otherwise). */
export function contextWindowOf(messageIds: Prisma.JsonValue | null | undefined): string[] {
  return Array.isArray(messageIds) ? messageIds.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * Refuses a window with an id that is not a live message of agent `agentId` (another agent's, a
 * deleted one, another organization's, none at all), or that comes twice: VALIDATION naming the
 * first such id, at `path` and its index.
 */
export async function assertContextWindow(
  context: WithCaller,
  tx: Prisma.TransactionClient,
  agentId: string,
  messageIds: string[],
  path: string[],
): Promise<void> {
  if (messageIds.length > MAX_CONTEXT_WINDOW) {
    throw new ValidationError(
      `a context window holds at most ${MAX_CONTEXT_WINDOW} messages (got ${messageIds.length})`,
      path,
    );
  }
  const seen = new Map<string, number>();
  messageIds.forEach((id, index) => {
    const first = seen.get(id);
    if (first !== undefined)
      throw new ValidationError(`${JSON.stringify(id)} is in the window twice (at ${first} and ${index})`, [
        ...path,
        String(index),
      ]);
    seen.set(id, index);
  });
  if (messageIds.length === 0) return;
  const found = await tx.message.findMany({
    where: { id: { in: messageIds }, agentId, ...liveRowsOf(context) },
    select: { id: true },
  });
  const live = new Set(found.map((message) => message.id));
  const bad = messageIds.findIndex((id) => !live.has(id));
  if (bad >= 0)
    throw new ValidationError(`${JSON.stringify(messageIds[bad])} is not a live message of this agent`, [
      ...path,
      String(bad),
    ]);
}
