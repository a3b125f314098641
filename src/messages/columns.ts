import { isoTimestamp, type ColumnMap } from '../schema/selection';

/** Message's scalar fields as columns of `messages m`, for the reads that skip Prisma (src/agents/page.ts). */
export const messageColumns: ColumnMap = {
  id: 'm.id',
  organizationId: 'm.organization_id',
  userId: 'm.user_id',
  agentId: 'm.agent_id',
  role: 'm.role',
  text: 'm.text',
  content: 'm.content',
  model: 'm.model',
  name: 'm.name',
  toolCalls: 'm.tool_calls',
  toolCallId: 'm.tool_call_id',
  stepId: 'm.step_id',
  otid: 'm.otid',
  toolReturns: 'm.tool_returns',
  groupId: 'm.group_id',
  senderId: 'm.sender_id',
  createdAt: isoTimestamp('m.created_at'),
  updatedAt: isoTimestamp('m.updated_at'),
  createdById: 'm.created_by_id',
  lastUpdatedById: 'm.last_updated_by_id',
};
