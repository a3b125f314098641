import { builder } from '../schema/builder';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { liveRowsOf } from '../schema/tenancy';

export const ApiKeyType = builder.prismaObject('ApiKey', {
  description: 'An API key: its metadata only. The secret is shown once, at creation; only its SHA-256 is stored, and never exposed.',
  fields: (t) => ({
    id: t.exposeID('id'),
    organizationId: t.exposeID('organizationId'),
    userId: t.exposeID('userId'),
    name: t.exposeString('name'),
    scopes: t.stringList({ resolve: (key) => key.scopes }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    isActive: t.exposeBoolean('isActive'),
    user: t.relation('user'),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.prismaConnection({
    type: ApiKeyType,
    ...connectionOptions,
    description: "The organization's API keys (metadata only), oldest first.",
    totalCount: (_root, _args, context) => context.prisma.apiKey.count({ where: liveRowsOf(context) }),
    resolve: (query, _root, args, context) => {
      assertPageSize(args);
      return context.prisma.apiKey.findMany({ ...query, where: liveRowsOf(context), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },
  }),
}));
