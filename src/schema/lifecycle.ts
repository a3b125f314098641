import type { Context } from '../context';
import type { PrismaClient } from '../generated/prisma/client';
import { NotFoundError } from '../errors';
import { builder } from './builder';
import { commonMutationErrors } from './errors';
import { allRowsOf, requireCaller } from './tenancy';

/** The part of a Prisma delegate that soft delete, restore and purge need. */
interface TenantTable {
  updateMany(args: {
    where: { id: string; organizationId: string; isDeleted: boolean };
    data: { isDeleted: boolean; lastUpdatedById: string };
  }): Promise<{ count: number }>;
  deleteMany(args: { where: { id: string; organizationId: string } }): Promise<{ count: number }>;
}

export const DeletedPayload = builder.objectRef<{ id: string }>('DeletedPayload').implement({
  description: 'The id of the row the mutation deleted or restored.',
  fields: (t) => ({ id: t.exposeID('id') }),
});

/**
 * delete<Entity> (soft: the row stays, every read hides it), restore<Entity> and
 * purge<Entity> (hard delete, cascading) for one tenant table. The same three on every entity,
 * so they are defined once. Restore and purge need the admin scope.
 */
export function addLifecycleMutations(options: {
  entity: 'Agent' | 'Block' | 'Memory' | 'Tool' | 'User';
  table: (prisma: PrismaClient) => TenantTable;
  /** The scope a soft delete needs: write, or admin where the rows are users. */
  deleteScope?: 'write' | 'admin';
  /**
   * Called before each change, while the row is still there to be read (a purge removes it):
   * returns what to do once the change is done, e.g. publish a live update.
   */
  beforeChange?: (context: Context, change: 'deleted' | 'restored' | 'purged', id: string) => Promise<() => void>;
}): void {
  const { entity, table, deleteScope = 'write', beforeChange = async () => () => undefined } = options;

  const changeDeletion = (isDeleted: boolean) =>
    builder.mutationField(`${isDeleted ? 'delete' : 'restore'}${entity}`, (t) =>
      t.field({
        type: DeletedPayload,
        description: isDeleted
          ? `Soft-deletes a ${entity.toLowerCase()}: it disappears from every read, relation and count.`
          : `Brings back a soft-deleted ${entity.toLowerCase()}.`,
        errors: { types: commonMutationErrors },
        // Soft delete is an ordinary change; bringing rows back is an administrator's call.
        authScopes: isDeleted ? { [deleteScope]: true } : { admin: true },
        args: { id: t.arg.id({ required: true }) },
        resolve: async (_root, args, context) => {
          const id = String(args.id);
          const changed = await beforeChange(context, isDeleted ? 'deleted' : 'restored', id);
          const { count } = await table(context.prisma).updateMany({
            where: { id, ...allRowsOf(context), isDeleted: !isDeleted },
            data: { isDeleted, lastUpdatedById: requireCaller(context).userId },
          });
          if (count === 0) throw new NotFoundError(entity, id, ['id']);
          changed();
          return { id };
        },
      }),
    );
  changeDeletion(true);
  changeDeletion(false);

  builder.mutationField(`purge${entity}`, (t) =>
    t.field({
      type: DeletedPayload,
      description: `Deletes a ${entity.toLowerCase()} for good, with every row that depends on it.`,
      errors: { types: commonMutationErrors },
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, context) => {
        const id = String(args.id);
        const changed = await beforeChange(context, 'purged', id);
        const { count } = await table(context.prisma).deleteMany({ where: { id, ...allRowsOf(context) } });
        if (count === 0) throw new NotFoundError(entity, id, ['id']);
        changed();
        return { id };
      },
    }),
  );
}
