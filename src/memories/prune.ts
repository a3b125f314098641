import { z } from 'zod';
import type { Context } from '../context/types';
import { NotFoundError } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { builder } from '../schema/builder';
import { commonMutationErrors } from '../schema/errors';
import { parseInput } from '../schema/validation';
import { newHistoryId, snapshotOf } from './history';
import { announceChanges } from './subscriptions';

/**
 * pruneMemories as ONE statement: the agent's live memories beyond the `keep` most important
 * (ties: the newest stays) are locked in that order, soft-deleted, and recorded in
 * memory_history with their fields before and after, all together. Concurrent writers: the rows
 * are locked in rank order before they change, and a row another transaction deleted meanwhile
 * is read again and skipped (PostgreSQL re-checks `NOT is_deleted` on the newest version), so two
 * prunes racing remove each memory once and count it once. The statement also finds the agent,
 * so that an agent the caller cannot see answers NOT_FOUND with nothing changed.
 */
const pruneStatement = `WITH agent AS (
    SELECT a.id FROM agents a WHERE a.id = $1 AND a.organization_id = $2 AND NOT a.is_deleted
  ), doomed AS (
    SELECT m.id, ${snapshotOf('m')} AS before
    FROM memories m
    WHERE m.agent_id = (SELECT id FROM agent) AND m.organization_id = $2 AND NOT m.is_deleted
    ORDER BY m.importance DESC, m.created_at DESC, m.id DESC
    OFFSET $3
    FOR UPDATE OF m
  ), pruned AS (
    UPDATE memories m SET is_deleted = true, deleted_at = now(), deleted_by_id = $4, updated_at = now(),
      last_updated_by_id = $4
    FROM doomed d WHERE m.id = d.id AND NOT m.is_deleted
    RETURNING m.id, m.organization_id, d.before, ${snapshotOf('m')} AS after
  ), recorded AS (
    INSERT INTO memory_history (id, organization_id, memory_id, event, before, after, actor_user_id, api_key_id)
    SELECT ${newHistoryId}, p.organization_id, p.id, 'prune', p.before, p.after, $4, $5 FROM pruned p
  )
  SELECT (SELECT count(*) FROM agent)::int AS agents, (SELECT coalesce(array_agg(id), '{}') FROM pruned) AS removed`;

/** Prunes `agentId`'s memories to `keep`; the ids it removed, or null when there is no such agent. */
async function pruneMemories(
  context: Context,
  tx: Prisma.TransactionClient,
  agentId: string,
  keep: number,
): Promise<string[] | null> {
  const { organizationId, userId, apiKeyId } = context.caller;
  const [row] = await tx.$queryRawUnsafe<Array<{ agents: number; removed: string[] }>>(
    pruneStatement,
    agentId,
    organizationId,
    keep,
    userId,
    apiKeyId,
  );
  return row && row.agents > 0 ? row.removed : null;
}

const PruneMemoriesPayload = builder.objectRef<{ agentId: string; removed: number }>('PruneMemoriesPayload').implement({
  fields: (t) => ({
    agentId: t.exposeID('agentId'),
    removed: t.exposeInt('removed', { description: 'How many memories were soft-deleted.' }),
  }),
});

const keepSchema = z.number().int().min(0, 'must be 0 or more');

builder.mutationField('pruneMemories', (t) =>
  t.field({
    type: PruneMemoriesPayload,
    description:
      "Soft-deletes all but the `keep` most important of an agent's live memories (ties: " +
      'the newest stays), each recorded in its history as `prune`. One statement.',
    errors: { types: commonMutationErrors },
    args: { agentId: t.arg.id({ required: true }), keep: t.arg.int({ required: true }) },
    resolve: async (_root, args, context) => {
      const keep = parseInput(keepSchema, args.keep, ['keep']);
      const agentId = String(args.agentId);
      // In a transaction of its own only so that a deadlock with another writer is run again (src/db/retries.ts).
      const removed = await context.prisma.$transaction((tx) => pruneMemories(context, tx, agentId, keep));
      if (removed === null) throw new NotFoundError('Agent', agentId, ['agentId']);
      if (removed.length > 0)
        announceChanges(
          context,
          'deleted',
          removed.map((id) => ({ id, agentId })),
        );
      return { agentId, removed: removed.length };
    },
  }),
);
