import type { Context } from '../context/types';
import { notExpiredWhere } from '../memories/validity';
import { conversationOrder } from '../messages/type';
import { live, liveRowsOf } from '../schema/tenancy';
import {
  AGENT_FILE_FORMAT,
  AGENT_FILE_VERSION,
  type AgentFile,
  type AgentFileMemory,
  type AgentFileMessage,
} from './document';

const iso = (date: Date) => date.toISOString();

/** The in-context window as stored (JSON), keeping only ids of messages the file carries. */
function windowOf(messageIds: unknown, exported: ReadonlySet<string>): string[] | null {
  if (!Array.isArray(messageIds)) return null;
  return messageIds.filter((id): id is string => typeof id === 'string' && exported.has(id));
}

/**
 * The caller's live agent `id` as an agent file (src/agent-files/document.ts), or null when there
 * is no such agent (the same for another organization's id): its live attached blocks, its live
 * tools, its live messages oldest first, its live memories, and the links between them. Deleted
 * rows stay behind; so does who wrote what (user ids belong to this installation).
 */
export async function exportAgent(context: Context, id: string): Promise<AgentFile | null> {
  const agent = await context.prisma.agent.findFirst({
    where: { id, ...liveRowsOf(context) },
    include: {
      blockLinks: {
        where: { block: live },
        include: { block: true },
        orderBy: [{ blockLabel: 'asc' }, { blockId: 'asc' }],
      },
      toolLinks: { where: { tool: live }, include: { tool: true }, orderBy: { toolId: 'asc' } },
      messages: { where: live, orderBy: conversationOrder },
      // Valid or not (a chain is exported whole), but not expired: those are as good as deleted.
      memories: { where: { ...live, ...notExpiredWhere() }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    },
  });
  if (!agent) return null;

  const messages: AgentFileMessage[] = agent.messages.map((message) => ({
    id: message.id,
    role: message.role as AgentFileMessage['role'],
    text: message.text,
    content: message.content,
    model: message.model,
    name: message.name,
    toolCalls: message.toolCalls as AgentFileMessage['toolCalls'],
    toolCallId: message.toolCallId,
    stepId: message.stepId,
    otid: message.otid,
    toolReturns: message.toolReturns,
    groupId: message.groupId,
    senderId: message.senderId,
    createdAt: iso(message.createdAt),
  }));
  const exported = new Set(agent.memories.map((memory) => memory.id));
  const memories: AgentFileMemory[] = agent.memories.map((memory) => ({
    id: memory.id,
    content: memory.content,
    hash: memory.hash,
    metadata: memory.metadata,
    score: memory.score,
    memoryType: memory.memoryType as AgentFileMemory['memoryType'],
    scope: memory.scope,
    level: memory.level,
    importance: memory.importance,
    accessCount: Number(memory.accessCount),
    lastAccessed: memory.lastAccessed && iso(memory.lastAccessed),
    createdAt: iso(memory.createdAt),
    validFrom: iso(memory.validFrom),
    validUntil: memory.validUntil && iso(memory.validUntil),
    // A successor left behind (of another agent, deleted, expired): the fact still ended, with no link.
    supersededById:
      memory.supersededById !== null && exported.has(memory.supersededById) ? memory.supersededById : null,
    expiresAt: memory.expiresAt && iso(memory.expiresAt),
  }));

  return {
    format: AGENT_FILE_FORMAT,
    version: AGENT_FILE_VERSION,
    exportedAt: new Date().toISOString(),
    agent: {
      id: agent.id,
      name: agent.name,
      agentType: agent.agentType,
      description: agent.description,
      system: agent.system,
      topic: agent.topic,
      messageIds: windowOf(agent.messageIds, new Set(messages.map((message) => message.id))),
      metadata: agent.metadata,
      llmConfig: agent.llmConfig,
      embeddingConfig: agent.embeddingConfig,
      toolRules: agent.toolRules,
      mcpTools: agent.mcpTools,
      createdAt: iso(agent.createdAt),
    },
    blocks: agent.blockLinks.map(({ block }) => ({
      id: block.id,
      label: block.label,
      value: block.value,
      limit: Number(block.limit),
      description: block.description,
      templateName: block.templateName,
      isTemplate: block.isTemplate,
      metadata: block.metadata,
      createdAt: iso(block.createdAt),
    })),
    tools: agent.toolLinks.map(({ tool }) => ({
      id: tool.id,
      name: tool.name,
      description: tool.description,
      jsonSchema: tool.jsonSchema as Record<string, unknown> | null,
      sourceType: tool.sourceType,
      sourceCode: tool.sourceCode,
      tags: tool.tags as string[] | null,
      metadata: tool.metadata,
      createdAt: iso(tool.createdAt),
    })),
    messages,
    memories,
    links: {
      blocksAgents: agent.blockLinks.map((link) => ({ blockId: link.blockId, blockLabel: link.blockLabel })),
      toolsAgents: agent.toolLinks.map((link) => ({ toolId: link.toolId })),
    },
  };
}
