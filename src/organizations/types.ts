import { ScopeEnum } from '../api-keys/types';
import {
  column,
  count,
  fallback,
  liveRows,
  object,
  organizationRows,
  type RowsSource,
  relatedRows,
  timestamp,
} from '../planner/declarations';
import { builder } from '../schema/builder';
import { payloadRow } from '../schema/payloads';
import { live } from '../schema/tenancy';
import { UserType } from '../users/types';

/** The caller's organization row. */
const callersOrganization: RowsSource = {
  table: 'organizations',
  where: (scope) => [`${scope.row}.id = ${scope.bind(scope.organizationId)}`],
};

const OrganizationType = builder.prismaObject('Organization', {
  description: 'A tenant: every other row belongs to exactly one organization.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    name: t.exposeString('name', { sql: column('name') }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    userCount: t.relationCount('users', {
      where: live,
      sql: count(relatedRows('users', 'organization_id', 'id', liveRows)),
    }),
    agentCount: t.relationCount('agents', {
      where: live,
      sql: count(relatedRows('agents', 'organization_id', 'id', liveRows)),
    }),
  }),
});

// Planned as the caller's user row, which `user` is and `organization` is read beside.
const Me = builder.objectRef<{ userId: string; organizationId: string }>('Me').implement({
  description: 'The caller: its user and organization.',
  fields: (t) => ({
    user: t.prismaField({
      type: UserType,
      sql: object(relatedRows('users', 'id', 'id')),
      resolve: (query, me, _args, context) => payloadRow(context.prisma.user, query, me.userId),
    }),
    organization: t.prismaField({
      type: OrganizationType,
      sql: object(callersOrganization),
      resolve: (query, me, _args, context) => payloadRow(context.prisma.organization, query, me.organizationId),
    }),
    scopes: t.field({
      type: [ScopeEnum],
      description:
        'The scopes of the API key this request was made with: what a client may offer (the inspector hides ' +
        'edit controls from a read key). The server checks them on every field anyway.',
      sql: fallback("the request's key, known before any statement: no read"),
      resolve: (_me, _args, context) => context.caller.scopes,
    }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: Me,
    sql: object({
      table: 'users',
      where: (scope) => [`${scope.row}.id = ${scope.bind(scope.userId)}`, ...organizationRows(scope)],
    }),
    resolve: (_root, _args, context) => context.caller,
  }),
  organization: t.prismaField({
    type: OrganizationType,
    description: "The caller's organization.",
    sql: object(callersOrganization),
    resolve: (query, _root, _args, context) =>
      payloadRow(context.prisma.organization, query, context.caller.organizationId),
  }),
}));
