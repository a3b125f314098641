import { z } from 'zod';
import { NotFoundError } from '../errors';
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
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { payloadRow } from '../schema/payloads';
import { label, name, text } from '../schema/rules';
import { createdBy, listedRowsOf, liveRowsOf, updatedBy } from '../schema/tenancy';
import { parseInput } from '../schema/validation';

export const UserType = builder.prismaObject('User', {
  description: 'A person who talks to agents, within one organization.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    name: t.exposeString('name', { sql: column('name') }),
    status: t.exposeString('status', { sql: column('status') }),
    timezone: t.exposeString('timezone', { sql: column('timezone') }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    createdById: t.exposeID('createdById', { sql: column('created_by_id'), nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { sql: column('last_updated_by_id'), nullable: true }),
    organization: t.relation('organization', {
      sql: object({ table: 'organizations', where: (scope) => [`${scope.row}.id = ${scope.parent}.organization_id`] }),
    }),
  }),
});
addDeletionFields('User');

builder.queryFields((t) => ({
  users: t.prismaConnection({
    type: UserType,
    ...connectionOptions,
    description: "The organization's users, oldest first.",
    args: {
      deleted: t.arg.boolean({
        defaultValue: false,
        description: 'Only soft-deleted rows (the trash), with deletedAt and deletedBy; admin keys only.',
      }),
    },
    totalCount: (_root, args, context) => context.prisma.user.count({ where: listedRowsOf(context, args.deleted) }),
    // The trash (admin only) is read by the resolver.
    sql: connection(
      {
        table: 'users',
        where: (scope) => (scope.args.deleted ? undefined : [...organizationRows(scope), ...liveRows(scope)]),
      },
      () => orderBy(['created_at', 'id'], 'ASC'),
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.user.findMany({
        ...query,
        where: listedRowsOf(context, args.deleted),
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      });
    },
  }),
  user: t.prismaField({
    type: UserType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    sql: object(liveRowById('users')),
    resolve: (query, _root, args, context) =>
      context.prisma.user.findFirst({ ...query, where: { ...liveRowsOf(context), id: String(args.id) } }),
  }),
}));

/** The user's fields; `name` is required on create (non-null in CreateUserInput). */
const UserFieldsInput = (inputName: string, nameRequired: boolean) =>
  builder.inputType(inputName, {
    fields: (t) => ({
      name: t.string({ required: nameRequired, description: '1 to 255 characters.' }),
      status: t.string({ description: 'Free text, e.g. active (the default).' }),
      timezone: t.string({ description: 'An IANA time zone, e.g. Europe/Paris. Default UTC.' }),
    }),
  });

const CreateUserInput = UserFieldsInput('CreateUserInput', true);
const UpdateUserInput = UserFieldsInput('UpdateUserInput', false);

const timezone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'not an IANA time zone');

const userFields = z.object({ name, status: label, timezone: timezone.pipe(text(100)) });
const createUserSchema = userFields.partial({ status: true, timezone: true });
const updateUserSchema = userFields.partial();

const UserPayload = builder.objectRef<{ userId: string }>('UserPayload').implement({
  fields: (t) => ({
    user: t.prismaField({
      type: UserType,
      resolve: (query, payload, _args, context) => payloadRow(context.prisma.user, query, payload.userId),
    }),
  }),
});

builder.mutationFields((t) => ({
  createUser: t.field({
    type: UserPayload,
    authScopes: { admin: true },
    errors: { types: commonMutationErrors },
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(createUserSchema, args.input, ['input']);
      const user = await context.prisma.user.create({
        data: {
          id: newId('user'),
          organizationId: liveRowsOf(context).organizationId,
          ...input,
          ...createdBy(context),
        },
      });
      return { userId: user.id };
    },
  }),
  updateUser: t.field({
    type: UserPayload,
    authScopes: { admin: true },
    errors: { types: commonMutationErrors },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(updateUserSchema, args.input, ['input']);
      const id = String(args.id);
      const { count } = await context.prisma.user.updateMany({
        where: { id, ...liveRowsOf(context) },
        data: { ...input, ...updatedBy(context) },
      });
      if (count === 0) throw new NotFoundError('User', id, ['id']);
      return { userId: id };
    },
  }),
}));

addLifecycleMutations({
  entity: 'User',
  table: (prisma) => prisma.user,
  payload: UserPayload,
  toPayload: (id) => ({ userId: id }),
  deleteScope: 'admin',
  endsKeys: true,
});
