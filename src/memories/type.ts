import { column, object, relatedRows, timestamp } from '../planner/declarations';
import { builder } from '../schema/builder';
import { addDeletionFields } from '../schema/deletion-fields';
import { MemoryTypeEnum } from './memory-type';

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
  }),
});
addDeletionFields('Memory');
