import type pg from 'pg';

/** A replacement for pg's `query`, called as the method itself (`this` is the client or pool). */
export type QueryOverride<Target> = (this: Target, ...args: unknown[]) => unknown;

/**
 * Puts `query` in the `query` slot of `target`'s prototype: the one way this code changes what a
 * pg client or pool sends (CatalogTextClient, the statement-reporting client, ReplicaRoutingPool).
 * Why not an overriding method: pg's `query` has a dozen overloads that a subclass method cannot
 * restate; assigning the prototype slot keeps every one of them.
 */
export function overrideQuery<Target extends pg.Client | pg.Pool>(
  target: { prototype: Target },
  query: QueryOverride<Target>,
): void {
  target.prototype.query = query as Target['query'];
}

/** The text of a statement as pg's `query` takes it: a string, or a config with `text`. */
export function textOf(query: unknown): string {
  return typeof query === 'string' ? query : ((query as { text?: string } | undefined)?.text ?? '');
}
