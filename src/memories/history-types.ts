import { isDeepStrictEqual } from 'node:util';
import { column, connection, fallback, orderBy, relatedRows, timestamp } from '../planner/declarations';
import { builder } from '../schema/builder';
import { assertPageSize, connectionOptions } from '../schema/pagination';
import { type MemoryEvent, SNAPSHOT_FIELDS } from './history';
import { MemoryType } from './type';

const memoryEvents = {
  CREATE: { value: 'create', description: 'Created.' },
  UPDATE: { value: 'update', description: 'Changed by updateMemory.' },
  DELETE: { value: 'delete', description: 'Soft-deleted by deleteMemory.' },
  RESTORE: { value: 'restore', description: 'Brought back by restoreMemory.' },
  DEDUPE: {
    value: 'dedupe',
    description:
      'A creation with the same content was merged into it (its importance raised if the new one was higher).',
  },
  PRUNE: { value: 'prune', description: 'Soft-deleted by pruneMemories.' },
  SUPERSEDE: {
    value: 'supersede',
    description:
      'Replaced by another memory (supersedeMemory, createMemory with supersedes): validUntil and ' +
      'supersededById set.',
  },
  INVALIDATE: { value: 'invalidate', description: 'Ended without a replacement by invalidateMemory (see reason).' },
  EXPIRE: { value: 'expire', description: 'Moved to the trash by the sweep after its expiresAt.' },
} as const satisfies Record<string, { value: MemoryEvent; description: string }>;

const MemoryEventEnum = builder.enumType('MemoryEvent', { values: memoryEvents });

type Snapshot = Record<string, unknown> | null;

builder.prismaObject('MemoryHistory', {
  name: 'MemoryHistoryEntry',
  description: "One change of a memory: what happened, by whom, when, and the memory's fields before and after.",
  fields: (t) => ({
    id: t.exposeID('id', { sql: column('id') }),
    memoryId: t.exposeID('memoryId', { sql: column('memory_id') }),
    event: t.field({
      type: MemoryEventEnum,
      sql: column('event'),
      resolve: (entry) => entry.event as typeof MemoryEventEnum.$inferType,
    }),
    before: t.expose('before', {
      sql: column('before'),
      type: 'JSON',
      nullable: true,
      description:
        'The fields before (content, hash, metadata, score, memoryType, scope, level, importance, isDeleted, ' +
        'validFrom, validUntil, supersededById, expiresAt); null for CREATE.',
    }),
    after: t.expose('after', {
      sql: column('after'),
      type: 'JSON',
      nullable: true,
      description: 'The same fields after the change.',
    }),
    changedFields: t.stringList({
      description: 'The fields whose value differs between before and after (every field for CREATE).',
      sql: fallback('compares two JSON snapshots in JavaScript', { before: 'before', after: 'after' }),
      resolve: (entry) => {
        const before = entry.before as Snapshot;
        const after = (entry.after as Snapshot) ?? {};
        return Object.keys(SNAPSHOT_FIELDS).filter(
          (field) => !before || !isDeepStrictEqual(before[field], after[field]),
        );
      },
    }),
    reason: t.exposeString('reason', {
      sql: column('reason'),
      nullable: true,
      description: "Why: invalidateMemory's reason; null for other events.",
    }),
    actorUserId: t.exposeID('actorUserId', {
      sql: column('actor_user_id'),
      nullable: true,
      description: 'The user of the API key that made the change.',
    }),
    apiKeyId: t.exposeID('apiKeyId', {
      sql: column('api_key_id'),
      nullable: true,
      description: 'The API key that made the change.',
    }),
    createdAt: t.expose('createdAt', { sql: timestamp('created_at'), type: 'DateTime' }),
  }),
});

builder.prismaObjectField(MemoryType, 'history', (t) =>
  t.relatedConnection('history', {
    ...connectionOptions,
    description: 'Every change of this memory, newest first (as mem0 history).',
    totalCount: true,
    sql: connection(
      relatedRows('memory_history', 'memory_id', 'id'),
      () => orderBy(['seq'], 'DESC'),
      connectionOptions,
    ),
    query: (args) => {
      assertPageSize(args);
      return { orderBy: [{ seq: 'desc' }] };
    },
  }),
);
