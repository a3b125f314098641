import type { Context } from '../context/types';
import { NotFoundError, VersionConflictError } from '../errors';
import { type Block, Prisma } from '../generated/prisma/client';
import { liveRowsOf, updatedBy } from '../schema/tenancy';

/**
 * Block versions: every change of a block makes a new version, written with one conditional
 * UPDATE (`WHERE version = <the version read>`), and its content is kept in block_history in the
 * same transaction. Two writers that read the same version cannot both write: the second one's
 * UPDATE waits for the first's row lock, then finds another version and changes nothing.
 */

/** block_history's id of one version: writing the same version twice is a no-op. */
export function versionId(blockId: string, version: number): string {
  return `${blockId}:v${version}`;
}

type BlockContent = Pick<Block, 'id' | 'organizationId' | 'version' | 'value' | 'limit' | 'description' | 'metadata'>;

function jsonColumn(value: Prisma.JsonValue | null | undefined): Prisma.InputJsonValue | typeof Prisma.DbNull {
  return value === null || value === undefined ? Prisma.DbNull : (value as Prisma.InputJsonValue);
}

function versionRow(
  block: BlockContent,
  author: { changedById: string | null; apiKeyId: string | null; createdAt?: Date },
): Prisma.BlockVersionCreateManyInput {
  return {
    id: versionId(block.id, block.version),
    organizationId: block.organizationId,
    blockId: block.id,
    version: block.version,
    value: block.value,
    limit: block.limit,
    description: block.description,
    metadata: jsonColumn(block.metadata),
    ...author,
  };
}

/** The caller as the author of a version: the API key's user, and the key. */
function byCaller(context: Context) {
  const { userId, apiKeyId } = context.caller;
  return { changedById: userId, apiKeyId };
}

/** Records the first version of blocks the caller has just created. */
export async function recordNewBlocks(
  context: Context,
  tx: Prisma.TransactionClient,
  blocks: Prisma.BlockUncheckedCreateInput[],
): Promise<void> {
  if (blocks.length === 0) return;
  const rows = blocks.map((block) =>
    versionRow(
      {
        id: block.id,
        organizationId: block.organizationId,
        version: 1,
        value: block.value,
        limit: BigInt(block.limit ?? 2000),
        description: block.description ?? null,
        metadata: (block.metadata ?? null) as Prisma.JsonValue,
      },
      byCaller(context),
    ),
  );
  await tx.blockVersion.createMany({ data: rows });
}

/** What a change writes; `version` and the audit columns are added by `changeBlock`. */
export type BlockChange = Omit<Prisma.BlockUpdateManyMutationInput, 'version' | 'lastUpdatedById' | 'updatedAt'>;

/**
 * Changes the caller's live block `id` as a new version, in `tx`: `change` gets the block as it
 * is (to check the change against it; it throws to refuse) and returns the columns to write.
 * With `expectedVersion`, the UPDATE is conditional on that version: a block at another one, or
 * one that another writer changes first, is a VersionConflictError and nothing changes. Without
 * it, the change applies to the newest version: the row is locked before it is read, so nothing
 * can come between the read that `change` checks and the write.
 */
export async function changeBlock(
  context: Context,
  tx: Prisma.TransactionClient,
  id: string,
  expectedVersion: number | undefined,
  change: (block: Block) => BlockChange | Promise<BlockChange>,
): Promise<Block> {
  if (expectedVersion === undefined) await tx.$queryRaw`SELECT id FROM blocks WHERE id = ${id} FOR UPDATE`;
  const block = await tx.block.findFirst({ where: { id, ...liveRowsOf(context) } });
  if (!block) throw new NotFoundError('Block', id, ['id']);
  if (expectedVersion !== undefined && block.version !== expectedVersion)
    throw new VersionConflictError(block.version, expectedVersion);
  const columns = await change(block);
  const [changed] = await tx.block.updateManyAndReturn({
    where: { id, version: block.version, ...liveRowsOf(context) },
    data: { ...columns, version: block.version + 1, ...updatedBy(context) },
  });
  if (!changed) {
    // Another writer changed (or deleted) the block between this read and this UPDATE.
    const current = await tx.block.findFirst({ where: { id, ...liveRowsOf(context) }, select: { version: true } });
    if (!current) throw new NotFoundError('Block', id, ['id']);
    throw new VersionConflictError(current.version, block.version);
  }
  // The version it replaced too, for blocks written before history was kept or by a path that
  // does not record it (bulk loads): its author is unknown, its time is known.
  await tx.blockVersion.createMany({
    data: [
      versionRow(block, { changedById: null, apiKeyId: null, createdAt: block.updatedAt }),
      versionRow(changed, byCaller(context)),
    ],
    skipDuplicates: true,
  });
  return changed;
}
