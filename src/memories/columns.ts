import { isoText } from '../planner/declarations';
import type { ColumnMap } from '../schema/selection';

/** Memory's scalar fields as columns of `memories m`, for the reads that skip Prisma (src/memories/search.ts). */
export const memoryColumns: ColumnMap = {
  id: 'm.id',
  organizationId: 'm.organization_id',
  userId: 'm.user_id',
  agentId: 'm.agent_id',
  content: 'm.content',
  hash: 'm.hash',
  metadata: 'm.metadata',
  score: 'm.score',
  memoryType: 'm.memory_type',
  scope: 'm.scope',
  level: 'm.level',
  importance: 'm.importance',
  accessCount: 'm.access_count',
  lastAccessed: isoText('m.last_accessed'),
  createdAt: isoText('m.created_at'),
  updatedAt: isoText('m.updated_at'),
  createdById: 'm.created_by_id',
  lastUpdatedById: 'm.last_updated_by_id',
};
