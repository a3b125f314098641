/**
 * A plain SELECT: what may be sent again after a transient failure (src/db/retries.ts) and what a
 * read replica may serve (src/db/postgres/replicas.ts). Prisma's reads and the hand-written ones
 * (the planner's, search) are plain SELECTs; data-modifying CTEs begin with WITH, and no function
 * a SELECT here calls writes.
 */
export const readStatement = /^\s*SELECT\b/i;
