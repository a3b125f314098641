import { AsyncLocalStorage } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';

/**
 * When a request's database work is abandoned (REQUEST_TIMEOUT_MS, src/http/request-timeout.ts).
 * Made into an AbortSignal, with its timer, only when that work first asks for it: a request that
 * never checks out a connection (`{ __typename }`, a key already checked) makes neither, and they
 * were a few percent of such a request's time. The signal fires at the same instant either way:
 * made late, its timer is set for the time left, and made after that instant, it is aborted.
 */
export class RequestDeadline {
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly at: number,
    private readonly reason: () => Error,
  ) {}

  /** The signal that fires at the deadline, unless the request has ended before it. */
  signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    // One listener per connection the request holds or waits for, released with it: a request
    // of many fields in parallel may hold more than Node's default of 10 without any leak.
    setMaxListeners(0, controller.signal);
    if (!this.ended) {
      const left = this.at - Date.now();
      if (left <= 0) controller.abort(this.reason());
      else this.timer = setTimeout(() => controller.abort(this.reason()), left);
    }
    return controller.signal;
  }

  /** The request's work is bounded no longer (its response has started): the signal never fires. */
  end(): void {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * Carried by the async context, like the row scope, because it must reach the checkouts that
 * Prisma, DataLoader batches and raw SQL make without code of ours in between. The pool
 * (src/db/postgres/pool.ts) gives up a checkout still waiting when it fires, and closes the
 * connections the request holds: a statement stuck on one is cut off, and the connection is never
 * reused.
 */
const deadlines = new AsyncLocalStorage<RequestDeadline>();

/** Runs `work` with `deadline` as the deadline of every checkout it makes. */
export function withDeadline<T>(deadline: RequestDeadline, work: () => T): T {
  return deadlines.run(deadline, work);
}

/** The deadline of the code running now; undefined outside a request, or with no timeout. */
export function currentDeadline(): AbortSignal | undefined {
  return deadlines.getStore()?.signal();
}
