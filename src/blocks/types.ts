import { builder } from '../schema/builder';

export const BlockType = builder.prismaObject('Block', {
  description: 'A core-memory block (persona, human, system, or a label of your own).',
  fields: (t) => ({
    id: t.exposeID('id'),
    label: t.exposeString('label'),
    value: t.exposeString('value'),
    limit: t.int({
      description: 'The most characters `value` may hold.',
      resolve: (block) => Number(block.limit),
    }),
    description: t.exposeString('description', { nullable: true }),
    templateName: t.exposeString('templateName', { nullable: true }),
    isTemplate: t.exposeBoolean('isTemplate'),
    userId: t.exposeString('userId'),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
