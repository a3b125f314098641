/**
 * A plain SELECT: what may be sent again after a transient failure (src/db/retries.ts) and what a
 * read replica may serve (src/db/postgres/replicas.ts). Prisma's reads and the hand-written ones
 * (the planner's, search) are plain SELECTs; data-modifying CTEs begin with WITH, and no function
 * a SELECT here calls writes.
 */
export const readStatement = /^\s*SELECT\b/i;

/**
 * How SQL is built here, by the read planner (src/planner) and by the memory list, filter and
 * search (src/memories) alike: text with each value bound where it goes (`$n`), never spliced
 * in. Code that builds a piece of a statement takes the statement's `bind`, so that every
 * value is numbered in the one statement it ends up in.
 */
export type Bind = (value: unknown) => string;

/** A statement's text and its values, as ScopedSql.query takes them. */
export interface Statement {
  text: string;
  values: unknown[];
}

/** The statement that `build` writes, its values numbered in the order `build` binds them. */
export function statement(build: (bind: Bind) => string): Statement {
  const values: unknown[] = [];
  const text = build((value) => `$${values.push(value)}`);
  return { text, values };
}
