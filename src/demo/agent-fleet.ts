import type { PrismaClient } from '../generated/prisma/client';

const FLEET_MESSAGES_PER_AGENT = 12;

/**
 * `count` agents for an organization, each with a persona and a human block, every tool of the
 * organization and 12 messages ("message 0" … "message 11", oldest first): the shape of the
 * nested agents request that the batching test counts and the row-level security benchmark
 * times. Written directly rather than through the API, to be quick. Ids: `agent-fleet-000`, …
 */
export async function addAgentFleet(
  prisma: PrismaClient,
  owner: { organizationId: string; userId: string },
  count: number,
): Promise<void> {
  const { organizationId, userId } = owner;
  const tools = await prisma.tool.findMany({ where: { organizationId } });
  const start = Date.now() - 3_600_000;
  for (let index = 0; index < count; index += 1) {
    const agentId = `agent-fleet-${String(index).padStart(3, '0')}`;
    await prisma.agent.create({
      data: { id: agentId, organizationId, name: `Agent ${index}`, createdAt: new Date(start + index) },
    });
    for (const label of ['persona', 'human']) {
      const blockId = `block-fleet-${index}-${label}`;
      await prisma.block.create({
        data: { id: blockId, organizationId, userId, label, value: `${label} of agent ${index}` },
      });
      await prisma.blockAgent.create({ data: { blockId, blockLabel: label, agentId, organizationId } });
    }
    await prisma.toolAgent.createMany({ data: tools.map((tool) => ({ toolId: tool.id, agentId, organizationId })) });
    await prisma.message.createMany({
      data: Array.from({ length: FLEET_MESSAGES_PER_AGENT }, (_, n) => ({
        id: `message-fleet-${index}-${String(n).padStart(2, '0')}`,
        organizationId,
        userId,
        agentId,
        role: n % 2 === 0 ? 'user' : 'assistant',
        text: `message ${n}`,
        createdAt: new Date(start + n * 1000),
      })),
    });
  }
}
