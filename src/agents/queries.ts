import type { Context } from '../context/types';
import { containsText } from '../db/text-filters';
import type { Prisma } from '../generated/prisma/client';
import { connection, liveRowById, liveRows, object, orderBy, organizationRows } from '../planner/declarations';
import { builder } from '../schema/builder';
import { SortDirection } from '../schema/ordering';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { listedRowsOf, liveRowsOf } from '../schema/tenancy';
import { AgentType } from './type';

const AgentFilter = builder.inputType('AgentFilter', {
  fields: (t) => ({
    nameContains: t.string({ description: 'Case-insensitive.' }),
    agentType: t.string(),
  }),
});

const AgentOrderField = builder.enumType('AgentOrderField', {
  values: { CREATED_AT: { value: 'createdAt' }, UPDATED_AT: { value: 'updatedAt' }, NAME: { value: 'name' } } as const,
});

const AgentOrder = builder.inputType('AgentOrder', {
  fields: (t) => ({
    field: t.field({ type: AgentOrderField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: 'asc' }),
  }),
});

function agentWhere(
  context: Context,
  filter: typeof AgentFilter.$inferInput | null | undefined,
  deleted: boolean | null | undefined,
): Prisma.AgentWhereInput {
  return {
    ...listedRowsOf(context, deleted),
    ...(filter?.nameContains != null && { name: containsText(filter.nameContains) }),
    ...(filter?.agentType != null && { agentType: filter.agentType }),
  };
}

function agentOrder(order: typeof AgentOrder.$inferInput | null | undefined): Prisma.AgentOrderByWithRelationInput[] {
  const direction = order?.direction ?? 'asc';
  // The id breaks ties, so that cursors are stable.
  return [{ [order?.field ?? 'createdAt']: direction }, { id: direction }];
}

builder.queryFields((t) => ({
  agents: t.prismaConnection({
    type: AgentType,
    ...connectionOptions,
    description: "The organization's agents (oldest first unless ordered otherwise).",
    args: {
      filter: t.arg({ type: AgentFilter }),
      orderBy: t.arg({ type: AgentOrder }),
      deleted: t.arg.boolean({
        defaultValue: false,
        description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.',
      }),
    },
    totalCount: (_root, args, context) =>
      context.prisma.agent.count({ where: agentWhere(context, args.filter, args.deleted) }),
    // The trash (admin only) and a name filter or order are read by the resolver.
    sql: connection(
      {
        table: 'agents',
        where: (scope) => {
          const filter = scope.args.filter as typeof AgentFilter.$inferInput | null | undefined;
          if (scope.args.deleted || filter?.nameContains != null) return undefined;
          return [
            ...organizationRows(scope),
            ...liveRows(scope),
            ...(filter?.agentType == null ? [] : [`${scope.row}.agent_type = ${scope.bind(filter.agentType)}`]),
          ];
        },
      },
      (args) => {
        const order = args.orderBy as typeof AgentOrder.$inferInput | null | undefined;
        const field = order?.field ?? 'createdAt';
        if (field === 'name') return undefined;
        return orderBy(
          [field === 'createdAt' ? 'created_at' : 'updated_at', 'id'],
          order?.direction === 'desc' ? 'DESC' : 'ASC',
        );
      },
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.agent.findMany({
        ...query,
        where: agentWhere(context, args.filter, args.deleted),
        orderBy: agentOrder(args.orderBy),
      });
    },
  }),
  agent: t.prismaField({
    type: AgentType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    sql: object(liveRowById('agents')),
    resolve: (query, _root, args, context) =>
      context.prisma.agent.findFirst({ ...query, where: { ...liveRowsOf(context), id: String(args.id) } }),
  }),
}));
