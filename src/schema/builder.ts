import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { grantedScopes } from '../auth/scopes';
import type { Context } from '../context/types';
import { ForbiddenError } from '../errors';
import type PrismaTypes from '../generated/pothos-prisma-types';
import { getDatamodel } from '../generated/pothos-prisma-types';
import PlannerPlugin from '../planner/plugin';
import { DateTime } from './date-time';
import { JSONScalar } from './json';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    // Input: any JSON value, null included ('{}' is every value but null and undefined).
    JSON: { Input: NonNullable<unknown> | null; Output: unknown };
  };
  Connection: { totalCount: number };
  AuthScopes: { read: boolean; write: boolean; admin: boolean };
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  // The planner inside scope-auth: a planned read is authorized as any other.
  plugins: [ScopeAuthPlugin, PlannerPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    authScopes: (context) => grantedScopes(context.caller.scopes),
    unauthorizedError: () => new ForbiddenError(),
    // A subscription is refused when it starts, as a query would be, rather than at each event.
    authorizeOnSubscribe: true,
  },
  defaultFieldNullability: false,
  prisma: {
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
  },
  relay: {
    // Ids are the database ids (`agent-<uuid>`), not Relay global ids.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    // `nodes` beside `edges`: most clients want the rows, not the edges.
    nodesOnConnection: {},
  },
  errors: {
    directResult: true,
  },
});

builder.addScalarType('DateTime', DateTime);
builder.addScalarType('JSON', JSONScalar);

// Every query and subscription needs `read`, every mutation `write`; admin fields add `authScopes: { admin: true }`.
builder.queryType({ authScopes: { read: true } });
builder.mutationType({ authScopes: { write: true } });
// Subscriptions read, as queries do.
builder.subscriptionType({ authScopes: { read: true } });
