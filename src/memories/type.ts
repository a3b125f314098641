import { statement } from '../db/statements';
import { column, list, object, orderBy, type RowsScope, relatedRows, timestamp } from '../planner/declarations';
import { builder } from '../schema/builder';
import { addDeletionFields } from '../schema/deletion-fields';
import { MemoryTypeEnum } from './memory-type';
import { CHAIN_ORDER, chainOrderBy, lineageIds } from './validity';
import { visibleMemories, visibleMemoryRows } from './visibility';

/** The chain's relations read the memories a reader sees: live, not expired, of a live agent. */
const chainRows = (condition: (scope: RowsScope) => string) => ({
  table: 'memories',
  where: (scope: RowsScope) => [condition(scope), ...visibleMemoryRows(scope)],
});
const chainOrder = orderBy(CHAIN_ORDER, 'ASC');

const EmbeddingStatusEnum = builder.enumType('EmbeddingStatus', {
  description: "Where a memory's embedding is.",
  values: {
    PENDING: { description: 'Written; the embedding provider has yet to embed it (it retries until it can).' },
    READY: { description: 'It has an embedding.' },
    FAILED: { description: 'The provider could not embed it after EMBEDDINGS_MAX_ATTEMPTS tries.' },
  } as const,
});

export const MemoryType = builder.prismaObject('Memory', {
  description: 'A long-term memory of an agent about a user.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    userId: t.exposeID('userId', { sql: column('user_id') }),
    agentId: t.exposeID('agentId', { sql: column('agent_id') }),
    content: t.exposeString('content', { sql: column('content') }),
    hash: t.exposeString('hash', {
      sql: column('hash'),
      nullable: true,
      description:
        'SHA-256 (hex) of the normalized content (NFKC, lower case, whitespace collapsed and trimmed): memories ' +
        'of an agent are deduplicated by it.',
    }),
    metadata: t.expose('metadata', { sql: column('metadata'), type: 'JSON' }),
    score: t.exposeFloat('score', { sql: column('score'), nullable: true }),
    memoryType: t.field({
      type: MemoryTypeEnum,
      sql: column('memory_type'),
      resolve: (memory) => memory.memoryType as typeof MemoryTypeEnum.$inferType,
    }),
    scope: t.exposeString('scope', { sql: column('scope') }),
    level: t.exposeString('level', { sql: column('level') }),
    importance: t.exposeFloat('importance', { sql: column('importance') }),
    accessCount: t.int({ sql: column('access_count'), resolve: (memory) => Number(memory.accessCount) }),
    lastAccessed: t.expose('lastAccessed', { sql: timestamp('last_accessed'), type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { sql: timestamp('updated_at'), type: 'DateTime' }),
    createdById: t.exposeID('createdById', { sql: column('created_by_id'), nullable: true }),
    lastUpdatedById: t.exposeID('lastUpdatedById', { sql: column('last_updated_by_id'), nullable: true }),
    embeddingModel: t.exposeString('embeddingModel', {
      sql: column('embedding_model'),
      nullable: true,
      description:
        'The model that made the embedding; null when the memory has none. Vectors of different models are ' +
        'never compared.',
    }),
    embeddingDimensions: t.exposeInt('embeddingDimensions', {
      sql: column('embedding_dimensions'),
      nullable: true,
      description: 'How many numbers the embedding has; null when none.',
    }),
    embeddingStatus: t.field({
      type: EmbeddingStatusEnum,
      nullable: true,
      sql: column('embedding_status'),
      description:
        "PENDING: the embedding provider has yet to embed it; READY: it has an embedding (the provider's or a " +
        "client's); FAILED: the provider could not, see embeddingError. Null: no embedding and none coming (no " +
        'provider is configured and the client sent no vector).',
      resolve: (memory) => memory.embeddingStatus as typeof EmbeddingStatusEnum.$inferType | null,
    }),
    embeddingError: t.exposeString('embeddingError', {
      sql: column('embedding_error'),
      nullable: true,
      description: 'FAILED: why the provider could not embed it, after its last attempt; null otherwise.',
    }),
    user: t.relation('user', { sql: object(relatedRows('users', 'id', 'user_id')) }),
    validFrom: t.expose('validFrom', {
      sql: timestamp('valid_from'),
      type: 'DateTime',
      description: 'When the fact became true: its creation unless the client said otherwise.',
    }),
    validUntil: t.expose('validUntil', {
      sql: timestamp('valid_until'),
      type: 'DateTime',
      nullable: true,
      description:
        'When it stopped being true (superseded or invalidated); null while it holds. Never before validFrom.',
    }),
    supersededById: t.exposeID('supersededById', {
      sql: column('superseded_by_id'),
      nullable: true,
      description: 'The memory that replaced it; null unless superseded.',
    }),
    expiresAt: t.expose('expiresAt', {
      sql: timestamp('expires_at'),
      type: 'DateTime',
      nullable: true,
      description: 'Its time to live: from this instant no read returns it, and a sweep later moves it to the trash.',
    }),
    supersededBy: t.prismaField({
      type: 'Memory',
      nullable: true,
      description: 'The memory that replaced it (if the reader can see it: not deleted or expired).',
      sql: object(chainRows((scope) => `${scope.row}.id = ${scope.parent}.superseded_by_id`)),
      resolve: (query, memory, _args, context) =>
        memory.supersededById === null
          ? null
          : context.prisma.memory.findFirst({
              ...query,
              where: { ...visibleMemories(context), id: memory.supersededById },
            }),
    }),
    supersedes: t.prismaField({
      type: ['Memory'],
      description: 'The memories it replaced, oldest first.',
      sql: list(
        chainRows((scope) => `${scope.row}.superseded_by_id = ${scope.parent}.id`),
        chainOrder,
      ),
      resolve: (query, memory, _args, context) =>
        context.prisma.memory.findMany({
          ...query,
          where: { ...visibleMemories(context), supersededById: memory.id },
          orderBy: chainOrderBy,
        }),
    }),
    lineage: t.prismaField({
      type: ['Memory'],
      description:
        'The whole chain this memory is part of, oldest first: every memory it replaced (directly or not), itself, ' +
        'and every successor after it.',
      sql: list(
        chainRows(
          (scope) => `${scope.row}.id IN (${lineageIds(`${scope.parent}.id`, scope.bind(scope.organizationId))})`,
        ),
        chainOrder,
      ),
      resolve: async (query, memory, _args, context) => {
        const chain = statement((bind) => lineageIds(bind(memory.id), bind(context.caller.organizationId)));
        const ids = await context.sql.query<{ id: string }>(chain.text, chain.values);
        return context.prisma.memory.findMany({
          ...query,
          where: { ...visibleMemories(context), id: { in: ids.map((row) => row.id) } },
          orderBy: chainOrderBy,
        });
      },
    }),
  }),
});
addDeletionFields('Memory');
