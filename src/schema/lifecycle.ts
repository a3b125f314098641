import type { Context } from '../context';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
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
  table: (prisma: PrismaClient | Prisma.TransactionClient) => TenantTable;
  /**
   * Wraps a soft delete or restore (`change`, which says how many rows it changed) in one
   * transaction, for an entity that keeps a history of its changes (memories).
   */
  recordChange?: (context: Context, tx: Prisma.TransactionClient, id: string, isDeleted: boolean, change: () => Promise<number>) => Promise<number>;
  /** The scope a soft delete needs: write, or admin where the rows are users. */
  deleteScope?: 'write' | 'admin';
}): void {
  const { entity, table, deleteScope = 'write', recordChange } = options;

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
          const change = async (prisma: PrismaClient | Prisma.TransactionClient) =>
            (
              await table(prisma).updateMany({
                where: { id, ...allRowsOf(context), isDeleted: !isDeleted },
                data: { isDeleted, lastUpdatedById: requireCaller(context).userId },
              })
            ).count;
          const count = recordChange
            ? await context.prisma.$transaction((tx) => recordChange(context, tx, id, isDeleted, () => change(tx)))
            : await change(context.prisma);
          if (count === 0) throw new NotFoundError(entity, id, ['id']);
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
        const { count } = await table(context.prisma).deleteMany({ where: { id, ...allRowsOf(context) } });
        if (count === 0) throw new NotFoundError(entity, id, ['id']);
        return { id };
      },
    }),
  );
}
