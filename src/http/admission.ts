import { AsyncResource } from 'node:async_hooks';
import type http from 'node:http';
import type { AdmissionSettings } from '../config/settings';
import { OverloadedError } from '../errors';
import type { Logger } from '../logger';
import { currentRequestFacts } from './request-id';
import { whenResponseStarts } from './response-start';

/** How often, at most, refusals are logged while they go on: one line then tells how many. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** The weight of each new operation's duration in the running estimate (an exponential moving average). */
const SERVICE_TIME_WEIGHT = 0.1;

interface Waiting {
  admit(): void;
  refuse(): void;
  timer: NodeJS.Timeout;
}

/**
 * Admission control of one process's GraphQL operations: `maxInFlight` run at once, up to
 * `maxQueued` more wait in turn for at most `queueTimeoutMs`, and any beyond are refused at once.
 * Refusing early keeps the answered requests quick when more arrive than the database can serve:
 * without it every request queues for a pooled connection, all get slow together, and the pool's
 * wait ends in failures after seconds. A refusal costs no statement and no parsing.
 *
 * A request that would wait longer than `queueTimeoutMs`, by the recent operations' durations, is
 * refused at once rather than after that wait: under a sustained overload the queue stays full of
 * requests that will be admitted in time, and a refusal comes within milliseconds (issue 21's
 * target: refused within 50 ms). The timeout is left for the estimate's misses (a burst of slow
 * operations).
 */
export class Admission {
  private inFlight = 0;
  private readonly queue: Waiting[] = [];
  private refusedSinceLog = 0;
  /** Of those, the ones refused after waiting out the queue timeout: the wait estimate's misses. */
  private refusedAfterWaitSinceLog = 0;
  private lastLog = 0;
  /** The recent operations' duration from admission to response start, a moving average; 0 before any. */
  private serviceMs = 0;

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly logger: Logger,
  ) {}

  /** Operations running now, and waiting: for /metrics. */
  get state(): { inFlight: number; queued: number } {
    return { inFlight: this.inFlight, queued: this.queue.length };
  }

  /**
   * Runs `admit` now or when a turn comes, or `refuse` (now, or when the queue wait is up). The
   * admitted caller calls the function it is given when it no longer counts. The returned function
   * withdraws a caller still waiting (its client went away).
   */
  enter(admit: (leave: () => void) => void, refuse: () => void): () => void {
    if (this.inFlight < this.settings.maxInFlight) {
      this.inFlight += 1;
      admit(this.leaver());
      return () => undefined;
    }
    if (
      this.queue.length >= this.settings.maxQueued ||
      this.expectedWaitMs(this.queue.length + 1) >= this.settings.queueTimeoutMs
    ) {
      this.refused(refuse);
      return () => undefined;
    }
    // A turn, or the wait's end, comes from another request's end or a timer: the caller then
    // runs in its own request's context. (Only here: AsyncResource.bind on every request cost 3%
    // of a small read's CPU.)
    const context = new AsyncResource('agentmem.admission');
    const position = this.queue.length + 1;
    const waiting: Waiting = {
      admit: () => context.runInAsyncScope(() => admit(this.leaver())),
      refuse: () => {
        this.remove(waiting);
        this.refusedAfterWaitSinceLog += 1;
        // A miss teaches the estimate at once, where the moving average would take many
        // operations (a burst after a quiet spell): fewer than `position` operations left in the
        // whole wait, so each takes at least this long.
        this.serviceMs = Math.max(
          this.serviceMs,
          (this.settings.queueTimeoutMs * this.settings.maxInFlight) / position,
        );
        context.runInAsyncScope(() => this.refused(refuse));
      },
      timer: setTimeout(() => waiting.refuse(), this.settings.queueTimeoutMs),
    };
    this.queue.push(waiting);
    return () => {
      clearTimeout(waiting.timer);
      this.remove(waiting);
    };
  }

  /**
   * How long the request at `position` in the queue (1 for the next) can expect to wait: the
   * operations ahead of it leave `maxInFlight` at a time, each after about the recent duration.
   */
  private expectedWaitMs(position: number): number {
    return (position * this.serviceMs) / this.settings.maxInFlight;
  }

  private leaver(): () => void {
    let left = false;
    const admittedAt = performance.now();
    return () => {
      if (left) return;
      left = true;
      const duration = performance.now() - admittedAt;
      this.serviceMs =
        this.serviceMs === 0 ? duration : this.serviceMs + SERVICE_TIME_WEIGHT * (duration - this.serviceMs);
      const next = this.queue.shift();
      if (!next) {
        this.inFlight -= 1;
        return;
      }
      // The slot passes to the next in line.
      clearTimeout(next.timer);
      next.admit();
    };
  }

  private remove(waiting: Waiting): void {
    const index = this.queue.indexOf(waiting);
    if (index >= 0) this.queue.splice(index, 1);
  }

  private refused(refuse: () => void): void {
    this.refusedSinceLog += 1;
    const now = Date.now();
    if (now - this.lastLog >= REFUSAL_LOG_INTERVAL_MS) {
      this.logger.warn(
        {
          refused: this.refusedSinceLog,
          refusedAfterWait: this.refusedAfterWaitSinceLog,
          inFlight: this.inFlight,
          queued: this.queue.length,
          ...this.settings,
        },
        'overloaded: GraphQL requests refused with 503 OVERLOADED (ADMISSION_MAX_IN_FLIGHT, ADMISSION_MAX_QUEUED)',
      );
      this.lastLog = now;
      this.refusedSinceLog = 0;
      this.refusedAfterWaitSinceLog = 0;
    }
    refuse();
  }
}

/** 503 OVERLOADED with Retry-After, before the body is read: in the shape of yoga's errors. */
function refuseOverloaded(request: http.IncomingMessage, response: http.ServerResponse): void {
  const overloaded = new OverloadedError();
  // For the request's log line and metrics (src/observability/requests.ts), as yoga's refusals are.
  currentRequestFacts()?.errorCodes.push(overloaded.code);
  request.resume();
  response.writeHead(503, {
    'content-type': 'application/graphql-response+json; charset=utf-8',
    'retry-after': String(overloaded.retryAfterSeconds),
  });
  response.end(
    JSON.stringify({
      errors: [
        {
          message: overloaded.message,
          extensions: { code: overloaded.code, retryAfterSeconds: overloaded.retryAfterSeconds },
        },
      ],
    }),
  );
}

/**
 * Puts the requests at `path` (GraphQL) through `admission`; every other path (/health, /ready,
 * /metrics) goes straight on. An admitted request counts until its response starts: a
 * subscription's stream holds no turn once it is open.
 */
export function withAdmission(handler: http.RequestListener, admission: Admission, path: string): http.RequestListener {
  return (request, response) => {
    if ((request.url ?? '/').split('?')[0] !== path) return handler(request, response);
    const withdraw = admission.enter(
      (leave) => {
        whenResponseStarts(response, leave);
        // After this turn of the event loop has admitted or refused every request that arrived
        // in it: a burst's refusals then go out before its admitted requests start their work,
        // which had put 130-160 ms of it ahead of the last refusals (npm run overload).
        setImmediate(handler, request, response);
      },
      () => refuseOverloaded(request, response),
    );
    response.once('close', withdraw);
  };
}
