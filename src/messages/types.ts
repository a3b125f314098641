import { builder } from '../schema/builder';

export const MessageType = builder.prismaObject('Message', {
  description: 'One message of a conversation between a user and an agent.',
  fields: (t) => ({
    id: t.exposeID('id'),
    role: t.exposeString('role'),
    text: t.exposeString('text', { nullable: true }),
    content: t.expose('content', { type: 'JSON', nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
    toolCalls: t.expose('toolCalls', { type: 'JSON', nullable: true }),
    toolCallId: t.exposeString('toolCallId', { nullable: true }),
    userId: t.exposeString('userId'),
    agentId: t.exposeString('agentId'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
