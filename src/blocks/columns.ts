import { isoTimestamp, type ColumnMap } from '../schema/selection';

/** Block's scalar fields as columns of `blocks b`, for the reads that skip Prisma (src/agents/page.ts). */
export const blockColumns: ColumnMap = {
  id: 'b.id',
  organizationId: 'b.organization_id',
  userId: 'b.user_id',
  label: 'b.label',
  value: 'b.value',
  limit: 'b."limit"',
  description: 'b.description',
  templateName: 'b.template_name',
  isTemplate: 'b.is_template',
  metadata: 'b.metadata_',
  createdAt: isoTimestamp('b.created_at'),
  updatedAt: isoTimestamp('b.updated_at'),
  createdById: 'b.created_by_id',
  lastUpdatedById: 'b.last_updated_by_id',
  version: 'b.version',
};
