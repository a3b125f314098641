import type { PrismaClient } from '../../src/generated/prisma/client';

/**
 * Every row of one organization in every table, junctions included, in a stable order: taken
 * before and after a test's requests, the two must be equal when that organization was only
 * ever someone else's target. Read with the owner's client, which row-level security does not limit.
 */
export function rowsOfOrganization(owner: PrismaClient, organizationId: string) {
  const where = { organizationId };
  const byAgents = { agent: { organizationId } };
  return Promise.all([
    owner.organization.findMany({ where: { id: organizationId } }),
    owner.user.findMany({ where, orderBy: { id: 'asc' } }),
    owner.agent.findMany({ where, orderBy: { id: 'asc' } }),
    owner.block.findMany({ where, orderBy: { id: 'asc' } }),
    owner.tool.findMany({ where, orderBy: { id: 'asc' } }),
    owner.message.findMany({ where, orderBy: { id: 'asc' } }),
    owner.memory.findMany({ where, orderBy: { id: 'asc' } }),
    owner.apiKey.findMany({ where, orderBy: { id: 'asc' } }),
    owner.idempotencyKey.findMany({ where, orderBy: [{ apiKeyId: 'asc' }, { key: 'asc' }] }),
    owner.blockVersion.findMany({ where, orderBy: { id: 'asc' } }),
    owner.blockAgent.findMany({ where: byAgents, orderBy: [{ blockId: 'asc' }, { agentId: 'asc' }] }),
    owner.toolAgent.findMany({ where: byAgents, orderBy: [{ toolId: 'asc' }, { agentId: 'asc' }] }),
  ]);
}
