import { isoTimestamp, type ColumnMap } from '../schema/selection';

/** Tool's scalar fields as columns of `tools t`, for the reads that skip Prisma (src/agents/page.ts). */
export const toolColumns: ColumnMap = {
  id: 't.id',
  organizationId: 't.organization_id',
  name: 't.name',
  description: 't.description',
  jsonSchema: 't.json_schema',
  sourceType: 't.source_type',
  sourceCode: 't.source_code',
  tags: 't.tags',
  metadata: 't.metadata_',
  createdAt: isoTimestamp('t.created_at'),
  updatedAt: isoTimestamp('t.updated_at'),
  createdById: 't.created_by_id',
  lastUpdatedById: 't.last_updated_by_id',
};
