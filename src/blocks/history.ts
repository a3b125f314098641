import { NotFoundError, ValidationError } from '../errors';
import { Prisma } from '../generated/prisma/client';
import { column, connection, object, orderBy, relatedRows, timestamp } from '../planner/declarations';
import { builder } from '../schema/builder';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { characterCount } from '../schema/rules';
import { parseInput } from '../schema/validation';
import { BlockPayload, blockErrors, expectedVersionDescription, versionNumber } from './mutations';
import { announceBlockChange, attachedAgents } from './subscriptions';
import { BlockType } from './type';
import { changeBlock } from './versions';

builder.prismaObject('BlockVersion', {
  description: 'One version of a block: its content then, who made it and when.',
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    organizationId: t.exposeID('organizationId', { sql: column('organization_id') }),
    blockId: t.exposeID('blockId', { sql: column('block_id') }),
    version: t.exposeInt('version', { sql: column('version') }),
    value: t.exposeString('value', { sql: column('value') }),
    limit: t.int({ sql: column('limit'), resolve: (version) => Number(version.limit) }),
    description: t.exposeString('description', { sql: column('description'), nullable: true }),
    metadata: t.expose('metadata', { sql: column('metadata_'), type: 'JSON', nullable: true }),
    changedAt: t.expose('createdAt', {
      sql: timestamp('created_at'),
      type: 'DateTime',
      description: 'When this version was made.',
    }),
    changedById: t.exposeID('changedById', {
      sql: column('changed_by_id'),
      nullable: true,
      description:
        'The user of the API key that made this version; ' +
        'null for a version made before history was kept, or by a user since purged.',
    }),
    apiKeyId: t.exposeID('apiKeyId', {
      sql: column('api_key_id'),
      nullable: true,
      description: 'The API key that made this version (null as for changedById).',
    }),
    changedBy: t.relation('changedBy', { nullable: true, sql: object(relatedRows('users', 'id', 'changed_by_id')) }),
  }),
});

builder.prismaObjectField(BlockType, 'history', (t) =>
  t.relatedConnection('history', {
    ...connectionOptions,
    description: 'Every version of this block, newest first (the first is the current content).',
    totalCount: true,
    sql: connection(
      relatedRows('block_history', 'block_id', 'id'),
      () => orderBy(['version', 'id'], 'DESC'),
      connectionOptions,
    ),
    query: (args) => {
      assertPageSize(args);
      return { orderBy: [{ version: 'desc' }, { id: 'desc' }] };
    },
  }),
);

builder.mutationField('revertBlock', (t) =>
  t.field({
    type: BlockPayload,
    description:
      "Restores the value, description and metadata of one of the block's versions, as a new version. " +
      'The limit stays as it is now: a value longer than it is refused.',
    errors: { types: blockErrors },
    args: {
      id: t.arg.id({ required: true }),
      version: t.arg.int({ required: true, description: 'The version to restore (see Block.history).' }),
      expectedVersion: t.arg.int({ description: expectedVersionDescription }),
    },
    resolve: async (_root, args, context) => {
      const version = parseInput(versionNumber, args.version, ['version']);
      const expectedVersion =
        parseInput(versionNumber.optional().nullable(), args.expectedVersion, ['expectedVersion']) ?? undefined;
      const id = String(args.id);
      const { changed, agentIds } = await context.prisma.$transaction(async (tx) => {
        const changed = await changeBlock(context, tx, id, expectedVersion, async (block) => {
          const past = await tx.blockVersion.findUnique({ where: { blockId_version: { blockId: block.id, version } } });
          if (!past) throw new NotFoundError('Block version', `${id} v${version}`, ['version']);
          const length = characterCount(past.value);
          if (length > Number(block.limit)) {
            throw new ValidationError(
              `version ${version}'s value is ${length} characters long, ` +
                `more than the block's current limit of ${block.limit}: raise the limit first`,
              ['version'],
            );
          }
          return {
            value: past.value,
            description: past.description,
            metadata: past.metadata === null ? Prisma.DbNull : (past.metadata as Prisma.InputJsonValue),
          };
        });
        return { changed, agentIds: await attachedAgents(tx, id) };
      });
      announceBlockChange(context, id, agentIds);
      return { blockId: id, version: changed.version };
    },
  }),
);
