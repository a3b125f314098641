import { z } from 'zod';
import type { Context } from '../context/types';
import { containsText } from '../db/text-filters';
import { NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { newId } from '../ids';
import {
  column,
  connection,
  liveRowById,
  liveRows,
  object,
  orderBy,
  organizationRows,
  timestamp,
} from '../planner/declarations';
import { builder } from '../schema/builder';
import { addDeletionFields } from '../schema/deletion-fields';
import { commonMutationErrors } from '../schema/errors';
import { addLifecycleMutations } from '../schema/lifecycle';
import { maxItems } from '../schema/list-caps';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { payloadRow } from '../schema/payloads';
import { json, label, longText, name, text } from '../schema/rules';
import { createdBy, listedRowsOf, liveRowsOf, updatedBy } from '../schema/tenancy';
import { parseInput } from '../schema/validation';

export const ToolType = builder.prismaObject('Tool', {
  description: 'A tool an agent may call.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    name: t.exposeString('name', { sql: column('name') }),
    description: t.exposeString('description', { sql: column('description'), nullable: true }),
    jsonSchema: t.expose('jsonSchema', { sql: column('json_schema'), type: 'JSON', nullable: true }),
    sourceType: t.exposeString('sourceType', { sql: column('source_type'), nullable: true }),
    sourceCode: t.exposeString('sourceCode', { sql: column('source_code'), nullable: true }),
    tags: t.expose('tags', { sql: column('tags'), type: 'JSON', nullable: true, description: 'A list of strings.' }),
    metadata: t.expose('metadata', { sql: column('metadata_'), type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    createdById: t.exposeID('createdById', { sql: column('created_by_id'), nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { sql: column('last_updated_by_id'), nullable: true }),
  }),
});
addDeletionFields('Tool');

const ToolFilter = builder.inputType('ToolFilter', {
  fields: (t) => ({
    nameContains: t.string({ description: 'Case-insensitive.' }),
    tag: t.string({ description: 'Tools whose tags include this one.' }),
    agentId: t.id({ description: 'The tools attached to this agent, a page at a time (Agent.tools lists them all).' }),
  }),
});

function toolWhere(
  context: Context,
  filter: typeof ToolFilter.$inferInput | null | undefined,
  deleted: boolean | null | undefined,
): Prisma.ToolWhereInput {
  return {
    ...listedRowsOf(context, deleted),
    ...(filter?.nameContains != null && { name: containsText(filter.nameContains) }),
    ...(filter?.tag != null && { tags: { array_contains: [filter.tag] } }),
    ...(filter?.agentId != null && { agentLinks: { some: { agentId: String(filter.agentId) } } }),
  };
}

builder.queryFields((t) => ({
  tools: t.prismaConnection({
    type: ToolType,
    ...connectionOptions,
    args: {
      filter: t.arg({ type: ToolFilter }),
      deleted: t.arg.boolean({
        defaultValue: false,
        description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.',
      }),
    },
    totalCount: (_root, args, context) =>
      context.prisma.tool.count({ where: toolWhere(context, args.filter, args.deleted) }),
    // The trash (admin only) and a name filter are read by the resolver.
    sql: connection(
      {
        table: 'tools',
        where: (scope) => {
          const filter = scope.args.filter as typeof ToolFilter.$inferInput | null | undefined;
          if (scope.args.deleted || filter?.nameContains != null) return undefined;
          const tag =
            filter?.tag == null ? [] : [`${scope.row}.tags @> jsonb_build_array(${scope.bind(filter.tag)}::text)`];
          const agent =
            filter?.agentId == null
              ? []
              : [
                  `EXISTS (SELECT 1 FROM tools_agents ta WHERE ta.tool_id = ${scope.row}.id ` +
                    `AND ta.agent_id = ${scope.bind(String(filter.agentId))})`,
                ];
          return [...organizationRows(scope), ...liveRows(scope), ...tag, ...agent];
        },
      },
      () => orderBy(['created_at', 'id'], 'ASC'),
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.tool.findMany({
        ...query,
        where: toolWhere(context, args.filter, args.deleted),
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      });
    },
  }),
  tool: t.prismaField({
    type: ToolType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    sql: object(liveRowById('tools')),
    resolve: (query, _root, args, context) =>
      context.prisma.tool.findFirst({ ...query, where: { ...liveRowsOf(context), id: String(args.id) } }),
  }),
}));

/** The tool's fields; `name` is required on create (non-null in CreateToolInput). */
const ToolFieldsInput = (inputName: string, nameRequired: boolean) =>
  builder.inputType(inputName, {
    fields: (t) => ({
      name: t.string({ required: nameRequired, description: '1 to 255 characters.' }),
      description: t.string(),
      jsonSchema: t.field({ type: 'JSON', description: "The tool's parameters, as a JSON Schema object." }),
      sourceType: t.string(),
      sourceCode: t.string(),
      tags: t.stringList({ extensions: maxItems(100), description: 'At most 100.' }),
      metadata: t.field({ type: 'JSON' }),
    }),
  });

const CreateToolInput = ToolFieldsInput('CreateToolInput', true);
const UpdateToolInput = ToolFieldsInput('UpdateToolInput', false);

const toolFields = z.object({
  name,
  description: longText.nullable(),
  jsonSchema: z.record(z.string(), z.unknown(), 'must be a JSON object').nullable(),
  sourceType: text(100).nullable(),
  sourceCode: longText.nullable(),
  tags: z.array(label).max(100).nullable(),
  metadata: json,
});
const createToolSchema = toolFields.partial().required({ name: true });
const updateToolSchema = toolFields.partial();

function toolData(input: z.infer<typeof updateToolSchema>) {
  const { jsonSchema, tags, metadata, ...columns } = input;
  return {
    ...columns,
    ...(jsonSchema !== undefined && { jsonSchema: jsonSchema as Prisma.InputJsonValue }),
    ...(tags !== undefined && { tags: tags as Prisma.InputJsonValue }),
    ...(metadata !== undefined && { metadata: metadata as Prisma.InputJsonValue }),
  };
}

const ToolPayload = builder.objectRef<{ toolId: string }>('ToolPayload').implement({
  fields: (t) => ({
    tool: t.prismaField({
      type: ToolType,
      resolve: (query, payload, _args, context) => payloadRow(context.prisma.tool, query, payload.toolId),
    }),
  }),
});

builder.mutationFields((t) => ({
  createTool: t.field({
    type: ToolPayload,
    errors: { types: commonMutationErrors },
    args: { input: t.arg({ type: CreateToolInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(createToolSchema, args.input, ['input']);
      const tool = await context.prisma.tool.create({
        data: {
          id: newId('tool'),
          organizationId: liveRowsOf(context).organizationId,
          name: input.name,
          ...toolData(input),
          ...createdBy(context),
        },
      });
      return { toolId: tool.id };
    },
  }),
  updateTool: t.field({
    type: ToolPayload,
    errors: { types: commonMutationErrors },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateToolInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(updateToolSchema, args.input, ['input']);
      const id = String(args.id);
      const { count } = await context.prisma.tool.updateMany({
        where: { id, ...liveRowsOf(context) },
        data: { ...toolData(input), ...updatedBy(context) },
      });
      if (count === 0) throw new NotFoundError('Tool', id, ['id']);
      return { toolId: id };
    },
  }),
}));

addLifecycleMutations({
  entity: 'Tool',
  table: (prisma) => prisma.tool,
  payload: ToolPayload,
  toPayload: (id) => ({ toolId: id }),
});
