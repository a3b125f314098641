import { z } from 'zod';
import { SCOPES } from '../auth/caller';
import { FORGETS_CHECKED_KEYS } from '../auth/key-cache';
import { issueApiKey } from '../auth/keys';
import { NotFoundError } from '../errors';
import {
  column,
  connection,
  liveRows,
  object,
  orderBy,
  organizationRows,
  relatedRows,
  timestamp,
} from '../planner/declarations';
import { builder } from '../schema/builder';
import { commonMutationErrors } from '../schema/errors';
import { maxItems } from '../schema/list-caps';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { payloadRow } from '../schema/payloads';
import { name } from '../schema/rules';
import { liveRowsOf, requireLiveUser } from '../schema/tenancy';
import { parseInput } from '../schema/validation';

const ApiKeyType = builder.prismaObject('ApiKey', {
  description:
    'An API key: its metadata only. The secret is shown once, at creation; ' +
    'only its SHA-256 is stored, and never exposed.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    userId: t.exposeID('userId', { sql: column('user_id') }),
    name: t.exposeString('name', { sql: column('name') }),
    scopes: t.stringList({ sql: column('scopes'), resolve: (key) => key.scopes }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { sql: timestamp('expires_at'), type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { sql: timestamp('last_used_at'), type: 'DateTime', nullable: true }),
    isActive: t.exposeBoolean('isActive', { sql: column('is_active') }),
    user: t.relation('user', { sql: object(relatedRows('users', 'id', 'user_id')) }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.prismaConnection({
    type: ApiKeyType,
    authScopes: { admin: true },
    ...connectionOptions,
    description: "The organization's API keys (metadata only), oldest first.",
    totalCount: (_root, _args, context) => context.prisma.apiKey.count({ where: liveRowsOf(context) }),
    sql: connection(
      { table: 'api_keys', where: (scope) => [...organizationRows(scope), ...liveRows(scope)] },
      () => orderBy(['created_at', 'id'], 'ASC'),
      connectionOptions,
    ),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.apiKey.findMany({
        ...query,
        where: liveRowsOf(context),
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      });
    },
  }),
}));

export const ScopeEnum = builder.enumType('Scope', {
  values: {
    READ: { value: 'read', description: 'Read every entity of the organization.' },
    WRITE: { value: 'write', description: 'Create, change and soft-delete.' },
    ADMIN: { value: 'admin', description: 'Users, keys, restore and purge.' },
  } as const,
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({
      type: [ScopeEnum],
      required: true,
      extensions: maxItems(10),
      description: 'At most 10 (there are three scopes).',
    }),
    expiresAt: t.field({ type: 'DateTime', description: 'Default: never.' }),
    userId: t.id({ description: 'Whose key it is; default: the caller.' }),
  }),
});

const createApiKeySchema = z.object({
  name,
  scopes: z.array(z.enum(SCOPES)).min(1, 'must grant at least one scope'),
  expiresAt: z
    .date()
    .refine((date) => date.getTime() > Date.now(), 'must be in the future')
    .nullish(),
  userId: z.string().nullish(),
});

const CreatedApiKey = builder.objectRef<{ apiKeyId: string; key: string }>('CreatedApiKey').implement({
  description: 'A new key. `key` is the secret: it is shown here once and never again.',
  fields: (t) => ({
    key: t.exposeString('key'),
    apiKey: t.prismaField({
      type: ApiKeyType,
      resolve: (query, created, _args, context) => payloadRow(context.prisma.apiKey, query, created.apiKeyId),
    }),
  }),
});

const RevokedApiKey = builder.objectRef<{ apiKeyId: string }>('RevokedApiKey').implement({
  fields: (t) => ({
    apiKey: t.prismaField({
      type: ApiKeyType,
      resolve: (query, revoked, _args, context) => payloadRow(context.prisma.apiKey, query, revoked.apiKeyId),
    }),
  }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    authScopes: { admin: true },
    errors: { types: commonMutationErrors },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: async (_root, args, context) => {
      const input = parseInput(createApiKeySchema, args.input, ['input']);
      const caller = context.caller;
      const userId = input.userId ?? caller.userId;
      return context.prisma.$transaction(async (tx) => {
        await requireLiveUser(context, tx, userId, ['input', 'userId']);
        const { id, key } = await issueApiKey(tx, { organizationId: caller.organizationId, userId }, input);
        return { apiKeyId: id, key };
      });
    },
  }),
  revokeApiKey: t.field({
    type: RevokedApiKey,
    authScopes: { admin: true },
    description: 'Revokes a key at once: requests with it get UNAUTHENTICATED from then on.',
    extensions: FORGETS_CHECKED_KEYS,
    errors: { types: commonMutationErrors },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => {
      const id = String(args.id);
      const { count } = await context.prisma.apiKey.updateMany({
        where: { id, ...liveRowsOf(context) },
        data: { isActive: false },
      });
      if (count === 0) throw new NotFoundError('ApiKey', id, ['id']);
      return { apiKeyId: id };
    },
  }),
}));
