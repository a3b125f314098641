import { isoTimestamp, type ColumnMap } from '../schema/selection';

/** Agent's scalar fields as columns of `agents a`, for the reads that skip Prisma (src/agents/page.ts). */
export const agentColumns: ColumnMap = {
  id: 'a.id',
  organizationId: 'a.organization_id',
  name: 'a.name',
  agentType: 'a.agent_type',
  description: 'a.description',
  system: 'a.system',
  topic: 'a.topic',
  messageIds: 'a.message_ids',
  metadata: 'a.metadata_',
  llmConfig: 'a.llm_config',
  embeddingConfig: 'a.embedding_config',
  toolRules: 'a.tool_rules',
  mcpTools: 'a.mcp_tools',
  createdAt: isoTimestamp('a.created_at'),
  updatedAt: isoTimestamp('a.updated_at'),
  createdById: 'a.created_by_id',
  lastUpdatedById: 'a.last_updated_by_id',
};
