import { type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { type FetchAPI, isAsyncIterable, type Plugin, processRegularResult } from 'graphql-yoga';
import { inTransaction } from '../context/create';
import type { Context } from '../context/types';
import type { ErrorCode } from '../errors';
import type { PrismaClient } from '../generated/prisma/client';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey, requestFingerprint } from '../idempotency/key';
import {
  claimKey,
  createExpiredKeySweeper,
  findKeptOutcome,
  type KeptOutcome,
  keepOutcome,
} from '../idempotency/records';
import type { LiveEvent } from '../live/events';
import { isServerFault } from './errors';

/** Marks a response that is a kept outcome, sent again, rather than a new execution. */
const REPLAYED_HEADER = 'Idempotent-Replayed';

/** What a retry that finds its key in flight is told to wait: most mutations take far less. */
const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

// The whole request runs in the transaction: `maxWait` bounds the wait for a connection (PGlite:
// for the one session), `timeout` the request; beyond it the transaction is rolled back, and the
// outcome is a server fault, kept by no one.
const TRANSACTION_LIMITS = { maxWait: 5_000, timeout: 15_000 };

const HOUR_MS = 3_600_000;

type Execute = (args: ExecutionArgs) => unknown;

/** A refusal about the header itself: nothing ran, nothing is kept. */
function headerRefusal(
  code: ErrorCode,
  message: string,
  http: { status: number; headers?: Record<string, string> },
  extra: Record<string, unknown> = {},
) {
  return new GraphQLError(`${IDEMPOTENCY_KEY_HEADER} ${message}`, {
    extensions: { code, field: [IDEMPOTENCY_KEY_HEADER], ...extra, http },
  });
}

function inFlight(): GraphQLError {
  const retryAfterSeconds = IN_FLIGHT_RETRY_AFTER_SECONDS;
  return headerRefusal(
    'CONFLICT',
    `names a request that is still in flight: retry in ${retryAfterSeconds} s to get its outcome`,
    { status: 409, headers: { 'retry-after': String(retryAfterSeconds) } },
    { retryAfterSeconds },
  );
}

function reusedForAnotherRequest(): GraphQLError {
  // 422, as the IETF draft answers a key reused with another payload (409 is for "in flight").
  return headerRefusal('CONFLICT', 'was already used for another request: send a new key with a new request', {
    status: 422,
  });
}

/** Thrown out of the transaction to roll it back, with the outcome that is not to be kept. */
class ServerFaultOutcome {
  constructor(readonly result: ExecutionResult) {}
}

/**
 * Mutations sent with an `Idempotency-Key` header (Stripe's API, the IETF httpapi draft) run
 * once per key and API key: the first outcome, status and body, is kept for `ttlHours`, and a
 * retry of the same request gets it again, marked `Idempotent-Replayed: true`, without running.
 *
 * Exactly once, even when the client cannot tell whether the first attempt committed: the whole
 * request runs in ONE transaction, with every statement of its resolvers and loaders routed into
 * it, and the outcome is inserted in that same transaction. A retry finds the outcome and the
 * writes, or neither, and then runs again. While the transaction is open, an advisory lock on the
 * key marks it in flight (`claimKey`). Outcomes that are the server's fault (a bug, the database
 * unavailable) are rolled back with the writes and kept by no one, so a retry runs again.
 *
 * Queries run as they would without the header: reading twice does no harm.
 *
 * Registered after any plugin that replaces the executor (graphql-jit), whose execution it wraps,
 * and before `useCallerRowScope`, whose scope then wraps it, transaction included.
 */
export function useIdempotentMutations(options: {
  prisma: PrismaClient;
  maskError: (error: unknown) => Error;
  ttlHours: number;
}): Plugin<Context> {
  const replays = new WeakMap<Request, KeptOutcome>();
  const sweepExpiredKeys = createExpiredKeySweeper(options.prisma);
  let fetchAPI: FetchAPI | undefined;

  /** The result as the client will see it, masked by the one error masker (src/http/errors.ts). */
  function masked(result: ExecutionResult): ExecutionResult {
    if (!result.errors?.length) return result;
    const errors = result.errors.map((error) => {
      const client = options.maskError(error);
      return client instanceof GraphQLError ? client : new GraphQLError(client.message);
    });
    return { ...result, errors };
  }

  /** The response body and status yoga sends for `result`: the same bytes, kept. */
  async function responseOf(result: ExecutionResult, requestHash: string): Promise<KeptOutcome> {
    if (!fetchAPI) throw new Error('the idempotency plugin was not initialised by yoga');
    // For an executed operation (it has `data`) the status does not depend on the media type.
    const response = processRegularResult(result, fetchAPI, 'application/json');
    return { requestHash, status: response.status, body: await response.text() };
  }

  async function executeIdempotently(args: ExecutionArgs, header: string, execute: Execute): Promise<ExecutionResult> {
    const parsed = parseIdempotencyKey(header);
    if ('problem' in parsed) throw headerRefusal('VALIDATION', parsed.problem, { status: 400 });
    const context = args.contextValue as Context;
    const { caller } = context;
    const id = { apiKeyId: caller.apiKeyId, key: parsed.key };
    const requestHash = requestFingerprint(context.params);
    const now = new Date();
    await sweepExpiredKeys(caller.organizationId, now);
    const uncommitted: LiveEvent[] = [];
    try {
      const outcome = await options.prisma.$transaction(async (tx) => {
        if (!(await claimKey(tx, id))) throw inFlight();
        const kept = await findKeptOutcome(tx, id, now);
        if (kept) {
          if (kept.requestHash !== requestHash) throw reusedForAnotherRequest();
          replays.set(context.request, kept);
          // Stands in for the kept response, which replaces yoga's in `onResponse`.
          return { data: null };
        }
        const executed = await execute({ ...args, contextValue: inTransaction(context, tx, uncommitted) });
        if (isAsyncIterable(executed)) throw new Error('incremental delivery (@defer, @stream) is not served');
        const result = masked(executed as ExecutionResult);
        if (result.errors?.some(isServerFault)) throw new ServerFaultOutcome(result);
        const expiresAt = new Date(now.getTime() + options.ttlHours * HOUR_MS);
        await keepOutcome(
          tx,
          { ...id, organizationId: caller.organizationId, expiresAt },
          await responseOf(result, requestHash),
        );
        return result;
      }, TRANSACTION_LIMITS);
      // Committed: now, and only now, subscribers may hear of the writes.
      for (const event of uncommitted) context.live.publish(event);
      return outcome;
    } catch (error) {
      // Rolled back: data a part of the operation returned was never committed, so none is shown.
      if (error instanceof ServerFaultOutcome) return { data: null, errors: error.result.errors };
      throw error;
    }
  }

  return {
    onYogaInit({ yoga }) {
      fetchAPI = yoga.fetchAPI;
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      const header = args.contextValue.request.headers.get(IDEMPOTENCY_KEY_HEADER);
      if (header === null) return;
      setExecuteFn((executionArgs) => executeIdempotently(executionArgs, header, executeFn));
    },
    onResponse({ request, response, setResponse, fetchAPI: responseApi }) {
      const kept = replays.get(request);
      if (!kept) return;
      const headers = new responseApi.Headers(response.headers);
      headers.delete('content-length');
      headers.set(REPLAYED_HEADER, 'true');
      setResponse(new responseApi.Response(kept.body, { status: kept.status, headers }));
    },
  };
}
