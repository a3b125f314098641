import type { Context } from '../context/types';
import { ConflictError, NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { createdBy, live, liveRowsOf } from '../schema/tenancy';
import { recordNewBlocks } from './versions';

/**
 * Template blocks are blocks with `is_template` set; those with one `template_name` make a
 * template. Instantiating one copies its blocks to an agent: the copies are ordinary blocks (not
 * templates) that keep the template's name, so that `blocks(filter: { templateName })` finds
 * what was made from it, and are attached by their labels.
 */
export async function instantiateTemplate(
  context: Context,
  tx: Prisma.TransactionClient,
  name: string,
  agentId: string,
): Promise<void> {
  // The agent first, and marked changed at once: the UPDATE holds its row until the transaction
  // ends, so two changes of one agent's blocks cannot both find a label free.
  const { count } = await tx.agent.updateMany({
    where: { id: agentId, ...liveRowsOf(context) },
    data: { lastUpdatedById: context.caller.userId },
  });
  if (count === 0) throw new NotFoundError('Agent', agentId, ['agentId']);

  const templates = await tx.block.findMany({
    where: { ...liveRowsOf(context), isTemplate: true, templateName: name },
    orderBy: [{ label: 'asc' }, { id: 'asc' }],
  });
  if (templates.length === 0) throw new NotFoundError('Template', name, ['name']);
  templates.forEach((block, index) => {
    if (index > 0 && templates[index - 1]!.label === block.label) {
      throw new ConflictError(
        `template ${JSON.stringify(name)} has two ${JSON.stringify(block.label)} blocks; an agent holds one per label`,
        ['name'],
      );
    }
  });
  const held = await tx.blockAgent.findFirst({
    where: { agentId, blockLabel: { in: templates.map((block) => block.label) }, block: live },
    orderBy: { blockLabel: 'asc' },
    select: { blockId: true, blockLabel: true },
  });
  if (held)
    throw new ConflictError(`the agent already has a ${JSON.stringify(held.blockLabel)} block (${held.blockId})`, [
      'name',
    ]);

  const { organizationId, userId } = context.caller;
  const copies: Prisma.BlockUncheckedCreateInput[] = templates.map((template) => ({
    id: newId('block'),
    organizationId,
    userId,
    label: template.label,
    value: template.value,
    limit: template.limit,
    description: template.description,
    templateName: name,
    isTemplate: false,
    ...(template.metadata !== null && { metadata: template.metadata as Prisma.InputJsonValue }),
    ...createdBy(context),
  }));
  await tx.block.createMany({ data: copies });
  await tx.blockAgent.createMany({
    data: copies.map((block) => ({ blockId: block.id!, blockLabel: block.label, agentId, organizationId })),
  });
  await recordNewBlocks(context, tx, copies);
}
