/**
 * PostgreSQL's connections, one concern a module:
 * - pool.ts: the row-scoped pool of the application's connections (RowScopedPool);
 * - transaction-pooler.ts: its scoping behind PgBouncer in transaction mode;
 * - replicas.ts: reads routed to read replicas (ReplicaRoutingPool);
 * - pools.ts: the one pool factory, for the server, the owner and the Prisma CLI;
 * - catalog-text-client.ts, statement-reporting.ts: the pg clients of those pools;
 * - prepared-statements.ts: the raw SQL path's named statements;
 * - migration-adapter.ts: the Prisma CLI's driver adapter.
 */

export { PostgresMigrationAdapterFactory } from './migration-adapter';
export type { ConnectionEvents } from './pool';
export { createApplicationPool, createPostgresPool, type PostgresSettings, poolAnswers } from './pools';
export { scopedSqlOver } from './prepared-statements';
