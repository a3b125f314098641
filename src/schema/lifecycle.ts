import type { ObjectRef } from '@pothos/core';
import { FORGETS_CHECKED_KEYS } from '../auth/key-cache';
import type { Context } from '../context/types';
import { ConflictError, NotFoundError } from '../errors';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { builder } from './builder';
import { commonMutationErrors } from './errors';
import { allRowsOf } from './tenancy';

type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;

/** What a soft delete writes, and what a restore clears (the trash: issue 11). */
interface DeletionColumns {
  isDeleted: boolean;
  deletedAt: Date | null;
  deletedById: string | null;
  lastUpdatedById: string;
}

/** The part of a Prisma delegate that soft delete, restore and purge need. */
interface TenantTable {
  updateMany(args: {
    where: { id: string; organizationId: string; isDeleted: boolean };
    data: DeletionColumns;
  }): Promise<{ count: number }>;
  count(args: { where: { id: string; organizationId: string } }): Promise<number>;
  deleteMany(args: { where: { id: string; organizationId: string } }): Promise<{ count: number }>;
}

const DeletedPayload = builder.objectRef<{ id: string }>('DeletedPayload').implement({
  description: 'The id of the row the mutation deleted or purged.',
  fields: (t) => ({ id: t.exposeID('id') }),
});

/**
 * delete<Entity> (soft: the row stays, every read hides it, and it is marked with when and by
 * whom), restore<Entity> (returns the entity's own payload) and purge<Entity> (hard delete,
 * cascading) for one tenant table. The same three on every entity, so they are defined once.
 * Restore and purge need the admin scope.
 */
/**
 * An entity's payload: its id under the entity's own name (`{ agentId }`, `{ messageIds }`,
 * `{ blockId, version }`).
 */
type EntityPayload = Record<string, string | string[] | number | boolean>;

export function addLifecycleMutations(options: {
  entity: 'Agent' | 'Block' | 'Memory' | 'Message' | 'Tool' | 'User';
  table: (prisma: PrismaClient | Prisma.TransactionClient) => TenantTable;
  /** The entity's payload type (AgentPayload, …), which restore returns. */
  payload: ObjectRef<BuilderTypes, EntityPayload>;
  /** The restored row's payload, made in the restore's transaction. */
  toPayload: (id: string, tx: Prisma.TransactionClient) => EntityPayload | Promise<EntityPayload>;
  /**
   * Wraps a soft delete or restore (`change`, which says how many rows it changed) in one
   * transaction, for an entity that keeps a history of its changes (memories).
   */
  recordChange?: (
    context: Context,
    tx: Prisma.TransactionClient,
    id: string,
    isDeleted: boolean,
    change: () => Promise<number>,
  ) => Promise<number>;
  /** The scope a soft delete needs: write, or admin where the rows are users. */
  deleteScope?: 'write' | 'admin';
  /** Whether deleting or purging a row ends API keys (a user's), which are then checked again. */
  endsKeys?: boolean;
  /** What must hold before a deleted row comes back (in the restore's transaction), e.g. a free label. */
  assertRestorable?: (context: Context, tx: Prisma.TransactionClient, id: string) => Promise<void>;
  /**
   * Called before each change, while the row is still there to be read (a purge removes it):
   * returns what to do once the change is committed, e.g. publish a live update.
   */
  beforeChange?: (context: Context, change: 'deleted' | 'restored' | 'purged', id: string) => Promise<() => void>;
}): void {
  const {
    entity,
    table,
    payload,
    toPayload,
    deleteScope = 'write',
    endsKeys = false,
    assertRestorable,
    recordChange,
    beforeChange = async () => () => undefined,
  } = options;
  const noun = entity.toLowerCase();

  builder.mutationField(`delete${entity}`, (t) =>
    t.field({
      type: DeletedPayload,
      description:
        `Soft-deletes a ${noun}: it disappears from every read, relation and count, ` +
        `and waits in the trash (\`deleted: true\` lists) until restored or purged.`,
      errors: { types: commonMutationErrors },
      authScopes: { [deleteScope]: true },
      ...(endsKeys && { extensions: FORGETS_CHECKED_KEYS }),
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, context) => {
        const id = String(args.id);
        const { userId } = context.caller;
        const changed = await beforeChange(context, 'deleted', id);
        const softDelete = async (prisma: PrismaClient | Prisma.TransactionClient) =>
          (
            await table(prisma).updateMany({
              where: { id, ...allRowsOf(context), isDeleted: false },
              data: { isDeleted: true, deletedAt: new Date(), deletedById: userId, lastUpdatedById: userId },
            })
          ).count;
        const count = recordChange
          ? await context.prisma.$transaction((tx) => recordChange(context, tx, id, true, () => softDelete(tx)))
          : await softDelete(context.prisma);
        if (count === 0) throw new NotFoundError(entity, id, ['id']);
        changed();
        return { id };
      },
    }),
  );

  builder.mutationField(`restore${entity}`, (t) =>
    t.field({
      type: payload,
      description: `Brings back a soft-deleted ${noun} and returns it. A ${noun} that is not deleted is a CONFLICT.`,
      errors: { types: commonMutationErrors },
      // Bringing rows back is an administrator's call.
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, context) => {
        const id = String(args.id);
        const changed = await beforeChange(context, 'restored', id);
        const restored = await context.prisma.$transaction(async (tx) => {
          const rows = table(tx);
          const restore = async () =>
            (
              await rows.updateMany({
                where: { id, ...allRowsOf(context), isDeleted: true },
                data: { isDeleted: false, deletedAt: null, deletedById: null, lastUpdatedById: context.caller.userId },
              })
            ).count;
          const count = recordChange ? await recordChange(context, tx, id, false, restore) : await restore();
          if (count === 0) {
            // Another organization's id reads as missing here too (same statements, same answer).
            if ((await rows.count({ where: { id, ...allRowsOf(context) } })) > 0) {
              throw new ConflictError(`${entity} ${JSON.stringify(id)} is not deleted`, ['id']);
            }
            throw new NotFoundError(entity, id, ['id']);
          }
          // Checked after the row is back, so that the check sees it live; a refusal rolls it back.
          await assertRestorable?.(context, tx, id);
          return toPayload(id, tx);
        });
        changed();
        return restored;
      },
    }),
  );

  builder.mutationField(`purge${entity}`, (t) =>
    t.field({
      type: DeletedPayload,
      description: `Deletes a ${noun} for good, with every row that depends on it.`,
      errors: { types: commonMutationErrors },
      ...(endsKeys && { extensions: FORGETS_CHECKED_KEYS }),
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
