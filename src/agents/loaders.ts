import DataLoader from 'dataloader';
import type { Agent, Block, Message, PrismaClient, Tool } from '../generated/prisma/client';
import { live } from '../schema/tenancy';
import { contextWindowOf } from './context-window';

// The conversation's order (src/messages/type.ts), backwards.
const newestFirst = [{ createdAt: 'desc' }, { seq: 'desc' }] as const;

/**
 * Per-request loaders for an agent's relations. Each batch is ONE SQL statement for all the
 * agents of a request (a LATERAL join through Prisma's relationJoins), so a list of 50 agents
 * costs the same few statements as a list of 5. They serve the relations the read planner leaves
 * to their resolvers (src/planner): inside a mutation's transaction, and on READ_PATH=general.
 * The agents passed in are already visible to the caller; these only drop deleted rows on the
 * other side of the relation.
 */
export function createAgentLoaders(prisma: PrismaClient) {
  const blocks = new DataLoader<string, Block[]>(async (agentIds) => {
    const agents = await prisma.agent.findMany({
      relationLoadStrategy: 'join',
      where: { id: { in: [...agentIds] } },
      select: {
        id: true,
        blockLinks: {
          where: { block: live },
          orderBy: [{ blockLabel: 'asc' }, { blockId: 'asc' }],
          select: { block: true },
        },
      },
    });
    const byAgent = new Map(agents.map((agent) => [agent.id, agent.blockLinks.map((link) => link.block)]));
    return agentIds.map((id) => byAgent.get(id) ?? []);
  });

  const tools = new DataLoader<string, Tool[]>(async (agentIds) => {
    const agents = await prisma.agent.findMany({
      relationLoadStrategy: 'join',
      where: { id: { in: [...agentIds] } },
      select: { id: true, toolLinks: { where: { tool: live }, orderBy: { toolId: 'asc' }, select: { tool: true } } },
    });
    const byAgent = new Map(agents.map((agent) => [agent.id, agent.toolLinks.map((link) => link.tool)]));
    return agentIds.map((id) => byAgent.get(id) ?? []);
  });

  // Keyed by agent and page size: one statement per distinct size in a request.
  const recentMessages = new DataLoader<{ agentId: string; limit: number }, Message[], string>(
    async (keys) => {
      const byLimit = new Map<number, string[]>();
      for (const { agentId, limit } of keys) byLimit.set(limit, [...(byLimit.get(limit) ?? []), agentId]);
      const loaded = new Map<string, Message[]>();
      for (const [limit, agentIds] of byLimit) {
        const agents = await prisma.agent.findMany({
          relationLoadStrategy: 'join',
          where: { id: { in: agentIds } },
          select: { id: true, messages: { where: live, orderBy: [...newestFirst], take: limit } },
        });
        for (const agent of agents) loaded.set(`${agent.id}:${limit}`, agent.messages.reverse());
      }
      return keys.map(({ agentId, limit }) => loaded.get(`${agentId}:${limit}`) ?? []);
    },
    { cacheKeyFn: ({ agentId, limit }) => `${agentId}:${limit}` },
  );

  // An agent's window is its own row's message_ids: the messages of every window of the request
  // in one statement, each put back in its window's order. Ids that are no longer a live message
  // of the agent (deleted since, or written into message_ids outside the API) are left out.
  const contextMessages = new DataLoader<{ agentId: string; window: string[] }, Message[], string>(
    async (keys) => {
      const ids = [...new Set(keys.flatMap((key) => key.window))];
      const messages =
        ids.length === 0
          ? []
          : await prisma.message.findMany({
              where: { id: { in: ids }, agentId: { in: keys.map((key) => key.agentId) }, ...live },
            });
      const byId = new Map(messages.map((message) => [message.id, message]));
      return keys.map(({ agentId, window }) =>
        window.flatMap((id) => {
          const message = byId.get(id);
          return message && message.agentId === agentId ? [message] : [];
        }),
      );
    },
    { cacheKeyFn: ({ agentId, window }) => `${agentId}:${window.join(',')}` },
  );

  // Keyed by the row itself, not its id: the same agent read elsewhere in the request with
  // other columns is another row.
  return {
    blocksOf: (agent: Pick<Agent, 'id'>) => blocks.load(agent.id),
    toolsOf: (agent: Pick<Agent, 'id'>) => tools.load(agent.id),
    /** A planned agent carries its messageIds for this (the field's fallback declaration). */
    contextMessagesOf: (agent: Pick<Agent, 'id' | 'messageIds'>) =>
      contextMessages.load({ agentId: agent.id, window: contextWindowOf(agent.messageIds) }),
    recentMessagesOf: (agent: Pick<Agent, 'id'>, limit: number) => recentMessages.load({ agentId: agent.id, limit }),
  };
}

export type AgentLoaders = ReturnType<typeof createAgentLoaders>;
