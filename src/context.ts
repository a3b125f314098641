import type { YogaInitialContext } from 'graphql-yoga';
import { createAgentLoaders, type AgentLoaders } from './agents/loaders';
import type { PrismaClient } from './generated/prisma/client';

/** Who is asking. Until API keys land (issue 4) every request acts as the demo user. */
export interface Caller {
  userId: string;
  organizationId: string;
}

export interface Context extends YogaInitialContext {
  prisma: PrismaClient;
  caller: Caller | null;
  /** Fresh per request: batching and caching never cross requests (or callers). */
  loaders: { agents: AgentLoaders };
}

/** The stand-in caller until keys land: the earliest active user. */
export async function findDefaultCaller(prisma: PrismaClient): Promise<Caller | null> {
  const user = await prisma.user.findFirst({
    where: { isDeleted: false, organization: { isDeleted: false } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    select: { id: true, organizationId: true },
  });
  return user ? { userId: user.id, organizationId: user.organizationId } : null;
}

export async function createContext(prisma: PrismaClient, initial: YogaInitialContext): Promise<Context> {
  return { ...initial, prisma, caller: await findDefaultCaller(prisma), loaders: { agents: createAgentLoaders(prisma) } };
}
