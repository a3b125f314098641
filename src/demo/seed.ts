import { createOrganizationWithAdmin, withNewOrganization } from '../auth/bootstrap';
import { versionId } from '../blocks/versions';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { newId } from '../ids';
import { contentHash } from '../memories/content-hash';
import { newHistoryId, snapshotOf } from '../memories/history';

const demoMemory = 'Ada is learning GraphQL and likes concise answers.';

export interface DemoData {
  organizationId: string;
  userId: string;
  agentId: string;
  /** The demo user's API key (all scopes): shown once. */
  key: string;
}

/**
 * A first-run organization to explore in GraphiQL: an admin user with an API key (the same
 * bootstrap as `npm run bootstrap`), an agent with `persona` and `human` blocks, two tools and
 * a short conversation and a long-term memory to search.
 */
export function seedDemoData(prisma: PrismaClient): Promise<DemoData> {
  return withNewOrganization((organizationId) => prisma.$transaction((tx) => seedDemoOrganization(tx, organizationId)));
}

async function seedDemoOrganization(prisma: Prisma.TransactionClient, newOrganizationId: string): Promise<DemoData> {
  const { organizationId, userId, key } = await createOrganizationWithAdmin(prisma, newOrganizationId, {
    organizationName: 'Demo Organization',
    userName: 'Demo User',
    keyName: 'demo',
  });
  const agentId = newId('agent');
  const personaId = newId('block');
  const memoryId = newId('memory');
  const humanId = newId('block');
  const searchToolId = newId('tool');
  const clockToolId = newId('tool');
  const audit = { createdById: userId, lastUpdatedById: userId };
  const persona = 'I am a friendly, concise assistant.';
  const human = 'Name: Ada. Learning GraphQL.';
  const conversation = [
    { role: 'user', text: 'Hi! I am Ada. I am learning GraphQL.' },
    { role: 'assistant', text: 'Nice to meet you, Ada. I will remember that you are learning GraphQL.' },
    { role: 'user', text: 'What do you remember about me?' },
    { role: 'assistant', text: 'Your name is Ada and you are learning GraphQL.' },
  ];

  // Prisma's promises run when awaited: one after the other, inside the transaction.
  const writes = [
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
      data: { id: personaId, organizationId, userId, label: 'persona', value: persona, ...audit },
    }),
    prisma.block.create({
      data: { id: humanId, organizationId, userId, label: 'human', value: human, ...audit },
    }),
    // Their first versions, as createBlock records them (src/blocks/versions.ts).
    prisma.blockVersion.createMany({
      data: [
        {
          id: versionId(personaId, 1),
          organizationId,
          blockId: personaId,
          version: 1,
          value: persona,
          limit: 2000,
          changedById: userId,
        },
        {
          id: versionId(humanId, 1),
          organizationId,
          blockId: humanId,
          version: 1,
          value: human,
          limit: 2000,
          changedById: userId,
        },
      ],
    }),
    prisma.blockAgent.createMany({
      data: [
        { blockId: personaId, blockLabel: 'persona', agentId, organizationId },
        { blockId: humanId, blockLabel: 'human', agentId, organizationId },
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
      data: {
        id: clockToolId,
        organizationId,
        name: 'current_time',
        description: 'The current time.',
        tags: ['utility'],
        ...audit,
      },
    }),
    prisma.toolAgent.createMany({
      data: [
        { toolId: searchToolId, agentId, organizationId },
        { toolId: clockToolId, agentId, organizationId },
      ],
    }),
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
    prisma.memory.create({
      data: {
        id: memoryId,
        organizationId,
        userId,
        agentId,
        content: demoMemory,
        hash: contentHash(demoMemory),
        memoryType: 'factual',
        scope: 'user',
        level: 'archival',
        importance: 0.8,
        ...audit,
      },
    }),
    // Its creation in its history, as createMemory records it (src/memories/history.ts).
    prisma.$executeRawUnsafe(
      `INSERT INTO memory_history (id, organization_id, memory_id, event, before, after, actor_user_id)
       SELECT ${newHistoryId}, m.organization_id, m.id, 'create', NULL, ${snapshotOf('m')}, $2 FROM memories m
         WHERE m.id = $1`,
      memoryId,
      userId,
    ),
  ];
  for (const write of writes) await write;
  return { organizationId, userId, agentId, key };
}
