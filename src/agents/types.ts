import { BlockType } from '../blocks/types';
import { MessageType } from '../messages/types';
import { builder } from '../schema/builder';
import { liveRowsOf } from '../schema/tenancy';
import { ToolType } from '../tools/types';

const live = { isDeleted: false } as const;

export const AgentType = builder.prismaObject('Agent', {
  description: 'An AI agent with its configuration and core memory.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { nullable: true }),
    agentType: t.exposeString('agentType', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    system: t.exposeString('system', { nullable: true }),
    topic: t.exposeString('topic', { nullable: true }),
    llmConfig: t.expose('llmConfig', { type: 'JSON', nullable: true }),
    embeddingConfig: t.expose('embeddingConfig', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    blocks: t.field({
      type: [BlockType],
      description: 'The core-memory blocks attached to this agent.',
      select: (_args, _context, nestedSelection) => ({
        blockLinks: {
          where: { block: live },
          orderBy: [{ blockLabel: 'asc' }, { blockId: 'asc' }],
          select: { block: nestedSelection(true) },
        },
      }),
      resolve: (agent) => agent.blockLinks.map((link) => link.block),
    }),
    tools: t.field({
      type: [ToolType],
      description: 'The tools this agent may call.',
      select: (_args, _context, nestedSelection) => ({
        toolLinks: {
          where: { tool: live },
          orderBy: { toolId: 'asc' },
          select: { tool: nestedSelection(true) },
        },
      }),
      resolve: (agent) => agent.toolLinks.map((link) => link.tool),
    }),
    messages: t.relation('messages', {
      type: MessageType,
      description: 'The conversation, oldest first.',
      query: { where: live, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    }),
  }),
});

builder.queryFields((t) => ({
  agents: t.prismaField({
    type: [AgentType],
    description: "The caller's organization's agents, oldest first.",
    resolve: (query, _root, _args, context) =>
      context.prisma.agent.findMany({ ...query, where: liveRowsOf(context), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
  }),
  agent: t.prismaField({
    type: AgentType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) =>
      context.prisma.agent.findFirst({ ...query, where: { ...liveRowsOf(context), id: String(args.id) } }),
  }),
}));
