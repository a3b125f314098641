import { type Database, openDatabase } from '../../src/db/database';
import { seedDemoData } from '../../src/demo/seed';
import { cloneMigratedDatabase } from '../support/test-databases';

describe('constraints of the AgentMem schema', () => {
  let copy: Awaited<ReturnType<typeof cloneMigratedDatabase>>;
  let database: Database;

  beforeAll(async () => {
    copy = await cloneMigratedDatabase('constraints');
    database = await openDatabase(copy.settings);
  });
  afterAll(async () => {
    await database?.close();
    await copy?.drop();
  });

  it('blocks_agents refuses a (block_id, block_label) pair that does not exist', async () => {
    const { agentId } = await seedDemoData(database.prisma);
    const persona = await database.owner.block.findFirstOrThrow({
      where: { label: 'persona', agentLinks: { some: { agentId } } },
    });
    const otherAgent = await database.owner.agent.create({
      data: { id: `agent-constraint-${Date.now()}`, organizationId: persona.organizationId },
    });

    // The block exists, but not with this label: the composite key must reject it. (PostgreSQL
    // reports it as Prisma's P2003, PGlite's adapter as the driver's error: both name the key.)
    const compositeKey = /blocks_agents_block_id_block_label_fkey/;
    await expect(
      database.owner.blockAgent.create({
        data: {
          blockId: persona.id,
          blockLabel: 'human',
          agentId: otherAgent.id,
          organizationId: persona.organizationId,
        },
      }),
    ).rejects.toThrow(compositeKey);
    await expect(
      database.owner.blockAgent.create({
        data: {
          blockId: 'block-missing',
          blockLabel: 'persona',
          agentId: otherAgent.id,
          organizationId: persona.organizationId,
        },
      }),
    ).rejects.toThrow(compositeKey);
    expect(await database.owner.blockAgent.count({ where: { agentId: otherAgent.id } })).toBe(0);

    await database.owner.blockAgent.create({
      data: {
        blockId: persona.id,
        blockLabel: 'persona',
        agentId: otherAgent.id,
        organizationId: persona.organizationId,
      },
    });
    expect(await database.owner.blockAgent.count({ where: { agentId: otherAgent.id } })).toBe(1);
  });

  it('deleting an organization removes all of its rows and nothing of another organization', async () => {
    const doomed = await seedDemoData(database.prisma);
    const kept = await seedDemoData(database.prisma);
    const prisma = database.owner;

    const countRows = async (organizationId: string) => ({
      users: await prisma.user.count({ where: { organizationId } }),
      agents: await prisma.agent.count({ where: { organizationId } }),
      messages: await prisma.message.count({ where: { organizationId } }),
      blocks: await prisma.block.count({ where: { organizationId } }),
      tools: await prisma.tool.count({ where: { organizationId } }),
      memories: await prisma.memory.count({ where: { organizationId } }),
      apiKeys: await prisma.apiKey.count({ where: { organizationId } }),
      blockLinks: await prisma.blockAgent.count({ where: { agent: { organizationId } } }),
      toolLinks: await prisma.toolAgent.count({ where: { agent: { organizationId } } }),
    });

    const user = await prisma.user.findFirstOrThrow({ where: { organizationId: doomed.organizationId } });
    await prisma.memory.create({
      data: {
        id: `memory-cascade-${Date.now()}`,
        organizationId: doomed.organizationId,
        userId: user.id,
        agentId: doomed.agentId,
        content: 'Ada likes tea.',
        memoryType: 'factual',
        scope: 'user',
        level: 'core',
      },
    });

    const before = await countRows(doomed.organizationId);
    expect(Object.values(before).every((count) => count > 0)).toBe(true);
    const keptBefore = await countRows(kept.organizationId);

    await prisma.organization.delete({ where: { id: doomed.organizationId } });

    expect(await countRows(doomed.organizationId)).toEqual({
      users: 0,
      agents: 0,
      messages: 0,
      blocks: 0,
      tools: 0,
      memories: 0,
      apiKeys: 0,
      blockLinks: 0,
      toolLinks: 0,
    });
    expect(await countRows(kept.organizationId)).toEqual(keptBefore);
  });
});
