import { column, object, relatedRows, timestamp } from '../planner/declarations';
import { builder } from '../schema/builder';
import { addDeletionFields } from '../schema/deletion-fields';

export const BlockType = builder.prismaObject('Block', {
  description: 'A core-memory block (persona, human, system, or a label of your own).',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    userId: t.exposeID('userId', { sql: column('user_id') }),
    label: t.exposeString('label', { sql: column('label') }),
    value: t.exposeString('value', { sql: column('value') }),
    limit: t.int({
      sql: column('limit'),
      description: 'The most characters (Unicode code points) `value` may hold.',
      resolve: (block) => Number(block.limit),
    }),
    description: t.exposeString('description', { sql: column('description'), nullable: true }),
    templateName: t.exposeString('templateName', { sql: column('template_name'), nullable: true }),
    isTemplate: t.exposeBoolean('isTemplate', { sql: column('is_template') }),
    metadata: t.expose('metadata', { sql: column('metadata_'), type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    createdById: t.exposeID('createdById', { sql: column('created_by_id'), nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { sql: column('last_updated_by_id'), nullable: true }),
    version: t.exposeInt('version', {
      sql: column('version'),
      description:
        'Starts at 1; every change makes the next. Pass it to updateBlock as expectedVersion so that no other ' +
        'change is overwritten.',
    }),
    user: t.relation('user', { sql: object(relatedRows('users', 'id', 'user_id')) }),
  }),
});
addDeletionFields('Block');
