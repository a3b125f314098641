import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client';
import { newId } from '../ids';

/**
 * A first-run organization to explore in GraphiQL: a user, an agent with `persona` and `human`
 * blocks, two tools, a short conversation and an API key row. One transaction: all or nothing.
 */
export async function seedDemoData(prisma: PrismaClient): Promise<{ organizationId: string; agentId: string }> {
  const organizationId = newId('organization');
  const userId = newId('user');
  const agentId = newId('agent');
  const personaId = newId('block');
  const humanId = newId('block');
  const searchToolId = newId('tool');
  const clockToolId = newId('tool');
  const audit = { createdById: userId, lastUpdatedById: userId };
  const conversation = [
    { role: 'user', text: 'Hi! I am Ada. I am learning GraphQL.' },
    { role: 'assistant', text: 'Nice to meet you, Ada. I will remember that you are learning GraphQL.' },
    { role: 'user', text: 'What do you remember about me?' },
    { role: 'assistant', text: 'Your name is Ada and you are learning GraphQL.' },
  ];

  await prisma.$transaction([
    prisma.organization.create({ data: { id: organizationId, name: 'Demo Organization' } }),
    prisma.user.create({ data: { id: userId, organizationId, name: 'Demo User', ...audit } }),
    prisma.agent.create({
      data: {
        id: agentId,
        organizationId,
        name: 'Demo Assistant',
        agentType: 'memgpt_agent',
        description: 'A helpful assistant that remembers what it learns about its user.',
        system: 'You are a helpful assistant with a persistent memory.',
        llmConfig: { model: 'gpt-4o-mini', context_window: 128000 },
        embeddingConfig: { embedding_model: 'text-embedding-3-small', embedding_dim: 1536 },
        ...audit,
      },
    }),
    prisma.block.create({
      data: { id: personaId, organizationId, userId, label: 'persona', value: 'I am a friendly, concise assistant.', ...audit },
    }),
    prisma.block.create({
      data: { id: humanId, organizationId, userId, label: 'human', value: 'Name: Ada. Learning GraphQL.', ...audit },
    }),
    prisma.blockAgent.createMany({
      data: [
        { blockId: personaId, blockLabel: 'persona', agentId },
        { blockId: humanId, blockLabel: 'human', agentId },
      ],
    }),
    prisma.tool.create({
      data: {
        id: searchToolId,
        organizationId,
        name: 'archival_memory_search',
        description: 'Search long-term memory.',
        jsonSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
        tags: ['memory'],
        ...audit,
      },
    }),
    prisma.tool.create({
      data: { id: clockToolId, organizationId, name: 'current_time', description: 'The current time.', tags: ['utility'], ...audit },
    }),
    prisma.toolAgent.createMany({ data: [{ toolId: searchToolId, agentId }, { toolId: clockToolId, agentId }] }),
    // Distinct timestamps keep the conversation's order explicit rather than left to id order.
    ...conversation.map((message, index) =>
      prisma.message.create({
        data: {
          id: newId('message'),
          organizationId,
          userId,
          agentId,
          ...message,
          createdAt: new Date(Date.now() - (conversation.length - index) * 1000),
          ...audit,
        },
      }),
    ),
    prisma.apiKey.create({
      data: {
        id: newId('apiKey'),
        organizationId,
        userId,
        name: 'demo',
        // Keys are enforced from issue 4 on; the secret itself is not kept anywhere.
        keyHash: createHash('sha256').update(randomBytes(32)).digest('hex'),
        scopes: ['read', 'write', 'admin'],
      },
    }),
  ]);
  return { organizationId, agentId };
}
