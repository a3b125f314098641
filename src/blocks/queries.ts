import type { Context } from '../context/types';
import type { Prisma } from '../generated/prisma/client';
import { connection, liveRowById, liveRows, object, orderBy, organizationRows } from '../planner/declarations';
import { builder } from '../schema/builder';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { listedRowsOf, liveRowsOf } from '../schema/tenancy';
import { BlockType } from './type';

const BlockFilter = builder.inputType('BlockFilter', {
  fields: (t) => ({
    label: t.string(),
    userId: t.id(),
    agentId: t.id({
      description: 'The blocks attached to this agent: its core memory a page at a time (Agent.blocks lists them all).',
    }),
    isTemplate: t.boolean({
      description:
        'true: only template blocks; false or unset: only blocks that are not templates (templates are listed ' +
        'by blockTemplates).',
    }),
    templateName: t.string({
      description: 'Blocks made from one template by instantiateTemplate (with isTemplate: true, the template itself).',
    }),
  }),
});

function blockWhere(
  context: Context,
  filter: typeof BlockFilter.$inferInput | null | undefined,
  deleted: boolean | null | undefined,
): Prisma.BlockWhereInput {
  return {
    ...listedRowsOf(context, deleted),
    ...(filter?.label != null && { label: filter.label }),
    ...(filter?.userId != null && { userId: String(filter.userId) }),
    ...(filter?.agentId != null && { agentLinks: { some: { agentId: String(filter.agentId) } } }),
    // Templates are not core memory of any agent: listed apart unless asked for.
    isTemplate: filter?.isTemplate ?? false,
    ...(filter?.templateName != null && { templateName: filter.templateName }),
  };
}

function templateWhere(context: Context, name: string | null | undefined): Prisma.BlockWhereInput {
  return { ...liveRowsOf(context), isTemplate: true, ...(name != null && { templateName: name }) };
}

builder.queryFields((t) => ({
  blocks: t.prismaConnection({
    type: BlockType,
    ...connectionOptions,
    args: {
      filter: t.arg({ type: BlockFilter }),
      deleted: t.arg.boolean({
        defaultValue: false,
        description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.',
      }),
    },
    totalCount: (_root, args, context) =>
      context.prisma.block.count({ where: blockWhere(context, args.filter, args.deleted) }),
    // The trash (admin only) is read by the resolver.
    sql: connection(
      {
        table: 'blocks',
        where: (scope) => {
          const filter = scope.args.filter as typeof BlockFilter.$inferInput | null | undefined;
          if (scope.args.deleted) return undefined;
          const equal = (name: string, value: unknown) =>
            value == null ? [] : [`${scope.row}.${name} = ${scope.bind(value)}`];
          return [
            ...organizationRows(scope),
            ...liveRows(scope),
            ...equal('label', filter?.label),
            ...equal('user_id', filter?.userId == null ? null : String(filter.userId)),
            ...(filter?.agentId == null
              ? []
              : [
                  `EXISTS (SELECT 1 FROM blocks_agents ba WHERE ba.block_id = ${scope.row}.id ` +
                    `AND ba.block_label = ${scope.row}.label AND ba.agent_id = ${scope.bind(String(filter.agentId))})`,
                ]),
            `${scope.row}.is_template = ${scope.bind(filter?.isTemplate ?? false)}`,
            ...equal('template_name', filter?.templateName),
          ];
        },
      },
      () => orderBy(['created_at', 'id'], 'ASC'),
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.block.findMany({
        ...query,
        where: blockWhere(context, args.filter, args.deleted),
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      });
    },
  }),
  blockTemplates: t.prismaConnection({
    type: BlockType,
    ...connectionOptions,
    description:
      'Template blocks (isTemplate), by template name and label: what instantiateTemplate copies to an agent.',
    args: { name: t.arg.string({ description: 'The blocks of this template only.' }) },
    totalCount: (_root, args, context) => context.prisma.block.count({ where: templateWhere(context, args.name) }),
    sql: connection(
      {
        table: 'blocks',
        where: (scope) => [
          ...organizationRows(scope),
          ...liveRows(scope),
          `${scope.row}.is_template`,
          ...(scope.args.name == null ? [] : [`${scope.row}.template_name = ${scope.bind(scope.args.name)}`]),
        ],
      },
      // NULLS LAST, in expressions that are never null, so that the cursor's row comparison holds.
      () => ({
        columns: (row) => [
          `(${row}.template_name IS NULL)`,
          `coalesce(${row}.template_name, '')`,
          `${row}.label`,
          `${row}.id`,
        ],
        direction: 'ASC',
      }),
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.block.findMany({
        ...query,
        where: templateWhere(context, args.name),
        orderBy: [{ templateName: { sort: 'asc', nulls: 'last' } }, { label: 'asc' }, { id: 'asc' }],
      });
    },
  }),
  block: t.prismaField({
    type: BlockType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    sql: object(liveRowById('blocks')),
    resolve: (query, _root, args, context) =>
      context.prisma.block.findFirst({ ...query, where: { ...liveRowsOf(context), id: String(args.id) } }),
  }),
}));
