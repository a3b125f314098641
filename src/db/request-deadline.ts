import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The signal that abandons a request's database work when its time is up (REQUEST_TIMEOUT_MS,
 * src/http/request-timeout.ts). Carried by the async context, like the row scope, because it must
 * reach the checkouts that Prisma, DataLoader batches and raw SQL make without code of ours in
 * between. The pool (src/db/postgres/pool.ts) gives up a checkout still waiting when it fires, and
 * closes the connections the request holds: a statement stuck on one is cut off, and the
 * connection is never reused.
 */
const deadlines = new AsyncLocalStorage<AbortSignal>();

/** Runs `work` with `signal` as the deadline of every checkout it makes. */
export function withDeadline<T>(signal: AbortSignal, work: () => T): T {
  return deadlines.run(signal, work);
}

/** The deadline of the code running now; undefined outside a request, or with no timeout. */
export function currentDeadline(): AbortSignal | undefined {
  return deadlines.getStore();
}
