import { recordNewBlocks } from '../blocks/versions';
import type { Context } from '../context/types';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import { createdBy, liveRowsOf } from '../schema/tenancy';
import { documentDate, parseAgentFile } from './document';

/**
 * A JSON column's value to write: absent or null leaves the column's default (NULL, or '{}' for a
 * memory's metadata).
 */
function jsonColumn(value: unknown): Prisma.InputJsonValue | undefined {
  return value == null ? undefined : (value as Prisma.InputJsonValue);
}

/** Ids of the file mapped to new ids of this installation. */
function renumber(ids: string[], type: 'block' | 'message' | 'memory'): Map<string, string> {
  return new Map(ids.map((id) => [id, newId(type)]));
}

/**
 * Recreates the agent of an agent file in the caller's organization, in one transaction, and
 * returns its new id. The file is checked whole first (parseAgentFile): a refusal names its path
 * and nothing is written. Every row gets a new id and every link is remapped; tools are matched
 * by name to the organization's live tools (the oldest of a name), or created; every row is the
 * caller's user's (user ids of another installation mean nothing here). Instants of creation are
 * kept, so the conversation keeps its order.
 */
export async function importAgent(context: Context, document: unknown): Promise<string> {
  const file = parseAgentFile(document);
  const { organizationId, userId } = context.caller;
  const audit = createdBy(context);
  const agentId = newId('agent');
  const blockIds = renumber(
    file.blocks.map((block) => block.id),
    'block',
  );
  const messageIds = renumber(
    file.messages.map((message) => message.id),
    'message',
  );
  const memoryIds = renumber(
    file.memories.map((memory) => memory.id),
    'memory',
  );
  // Messages without an instant follow each other from now, in the file's order.
  const now = Date.now();

  await context.prisma.$transaction(async (tx) => {
    const namesakes = await tx.tool.findMany({
      where: { name: { in: file.tools.map((tool) => tool.name) }, ...liveRowsOf(context) },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, name: true },
    });
    const toolIds = new Map<string, string>();
    const newTools: Prisma.ToolCreateManyInput[] = [];
    for (const tool of file.tools) {
      const existing = namesakes.find((candidate) => candidate.name === tool.name);
      const id = existing?.id ?? newId('tool');
      toolIds.set(tool.id, id);
      if (existing) continue;
      newTools.push({
        id,
        organizationId,
        name: tool.name,
        description: tool.description ?? null,
        jsonSchema: jsonColumn(tool.jsonSchema),
        sourceType: tool.sourceType ?? null,
        sourceCode: tool.sourceCode ?? null,
        tags: jsonColumn(tool.tags),
        metadata: jsonColumn(tool.metadata),
        ...audit,
      });
    }

    await tx.agent.create({
      data: {
        id: agentId,
        organizationId,
        name: file.agent.name ?? null,
        agentType: file.agent.agentType ?? null,
        description: file.agent.description ?? null,
        system: file.agent.system ?? null,
        topic: file.agent.topic ?? null,
        messageIds: jsonColumn(file.agent.messageIds?.map((id) => messageIds.get(id)!)),
        metadata: jsonColumn(file.agent.metadata),
        llmConfig: jsonColumn(file.agent.llmConfig),
        embeddingConfig: jsonColumn(file.agent.embeddingConfig),
        toolRules: jsonColumn(file.agent.toolRules),
        mcpTools: jsonColumn(file.agent.mcpTools),
        createdAt: documentDate(file.agent.createdAt, ['agent', 'createdAt']),
        ...audit,
      },
    });
    if (newTools.length > 0) await tx.tool.createMany({ data: newTools });
    if (file.blocks.length > 0) {
      const blocks = file.blocks.map(
        (block, index): Prisma.BlockUncheckedCreateInput => ({
          id: blockIds.get(block.id)!,
          organizationId,
          userId,
          label: block.label,
          value: block.value,
          limit: block.limit ?? undefined,
          description: block.description ?? null,
          templateName: block.templateName ?? null,
          isTemplate: block.isTemplate ?? false,
          metadata: jsonColumn(block.metadata),
          createdAt: documentDate(block.createdAt, ['blocks', index, 'createdAt']),
          ...audit,
        }),
      );
      await tx.block.createMany({ data: blocks });
      // An imported block starts a history of its own, at version 1, as a created one does.
      await recordNewBlocks(context, tx, blocks);
    }
    if (file.messages.length > 0) {
      await tx.message.createMany({
        data: file.messages.map((message, index) => ({
          id: messageIds.get(message.id)!,
          organizationId,
          userId,
          agentId,
          role: message.role,
          text: message.text ?? null,
          content: jsonColumn(message.content),
          model: message.model ?? null,
          name: message.name ?? null,
          toolCalls: jsonColumn(message.toolCalls),
          toolCallId: message.toolCallId ?? null,
          stepId: message.stepId ?? null,
          otid: message.otid ?? null,
          toolReturns: jsonColumn(message.toolReturns),
          groupId: message.groupId ?? null,
          senderId: message.senderId ?? null,
          createdAt: documentDate(message.createdAt, ['messages', index, 'createdAt']) ?? new Date(now + index),
          ...audit,
        })),
      });
    }
    if (file.memories.length > 0) {
      await tx.memory.createMany({
        data: file.memories.map((memory, index) => ({
          id: memoryIds.get(memory.id)!,
          organizationId,
          userId,
          agentId,
          content: memory.content,
          hash: memory.hash ?? null,
          metadata: jsonColumn(memory.metadata),
          score: memory.score ?? null,
          memoryType: memory.memoryType,
          scope: memory.scope,
          level: memory.level,
          importance: memory.importance ?? undefined,
          accessCount: memory.accessCount ?? undefined,
          lastAccessed: documentDate(memory.lastAccessed, ['memories', index, 'lastAccessed']) ?? null,
          createdAt: documentDate(memory.createdAt, ['memories', index, 'createdAt']),
          // Version 1 files have no period: a fact holds from its creation.
          validFrom:
            documentDate(memory.validFrom, ['memories', index, 'validFrom']) ??
            documentDate(memory.createdAt, ['memories', index, 'createdAt']),
          validUntil: documentDate(memory.validUntil, ['memories', index, 'validUntil']) ?? null,
          expiresAt: documentDate(memory.expiresAt, ['memories', index, 'expiresAt']) ?? null,
          ...audit,
        })),
      });
      // The chains once every memory exists, whatever their order in the file.
      const chained = file.memories.filter((memory) => memory.supersededById != null);
      if (chained.length > 0)
        await tx.$executeRawUnsafe(
          `UPDATE memories m SET superseded_by_id = c.successor
           FROM unnest($1::text[], $2::text[]) AS c(id, successor) WHERE m.id = c.id`,
          chained.map((memory) => memoryIds.get(memory.id)!),
          chained.map((memory) => memoryIds.get(memory.supersededById!)!),
        );
    }
    if (file.links.blocksAgents.length > 0) {
      await tx.blockAgent.createMany({
        data: file.links.blocksAgents.map((link) => ({
          blockId: blockIds.get(link.blockId)!,
          blockLabel: link.blockLabel,
          agentId,
          organizationId,
        })),
      });
    }
    if (file.links.toolsAgents.length > 0) {
      // Two tools of the file may be one tool here only if they share a name, which the file may not.
      await tx.toolAgent.createMany({
        data: file.links.toolsAgents.map((link) => ({ toolId: toolIds.get(link.toolId)!, agentId, organizationId })),
        skipDuplicates: true,
      });
    }
  });
  return agentId;
}
