import { column, object, organizationRows, timestamp } from '../planner/declarations';
import { builder } from './builder';
import { deletedByUser } from './tenancy';

/** The models that soft-delete, and so have a trash: each has deleted_at and deleted_by_id. */
type TrashModel = 'Agent' | 'Block' | 'Memory' | 'Message' | 'Tool' | 'User';

/** deletedAt, deletedById and deletedBy on a soft-deletable type: null while the row is live. */
export function addDeletionFields(model: TrashModel): void {
  builder.prismaObjectFields(model, (t) => ({
    deletedAt: t.expose('deletedAt', {
      sql: timestamp('deleted_at'),
      type: 'DateTime',
      nullable: true,
      description: 'When it was soft-deleted; null while it is live.',
    }),
    deletedById: t.exposeID('deletedById', {
      sql: column('deleted_by_id'),
      nullable: true,
      description: 'Who soft-deleted it; null while it is live.',
    }),
    deletedBy: t.prismaField({
      type: 'User',
      nullable: true,
      // A deleted user too: not the live users a relation reads.
      sql: object({
        table: 'users',
        where: (scope) => [`${scope.row}.id = ${scope.parent}.deleted_by_id`, ...organizationRows(scope)],
      }),
      description: 'Who soft-deleted it (deleted users included); null while it is live.',
      resolve: (query, row, _args, context) => deletedByUser(context, query, row.deletedById),
    }),
  }));
}
