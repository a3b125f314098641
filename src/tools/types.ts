import { builder } from '../schema/builder';

export const ToolType = builder.prismaObject('Tool', {
  description: 'A tool an agent may call.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    jsonSchema: t.expose('jsonSchema', { type: 'JSON', nullable: true }),
    sourceType: t.exposeString('sourceType', { nullable: true }),
    sourceCode: t.exposeString('sourceCode', { nullable: true }),
    tags: t.expose('tags', { type: 'JSON', nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
