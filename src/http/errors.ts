import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import type { Plugin, YogaLogger } from 'graphql-yoga';
import { describeFailure, isDatabaseUnavailable, isPoolExhausted, isQueryTimeout } from '../db/connection-failures';
import { currentDeadline } from '../db/request-deadline';
import { AppError, DatabaseUnavailableError, OverloadedError, RequestTimeoutError, ValidationError } from '../errors';
import type { Logger } from '../logger';
import { currentRequestId } from './request-id';

function findAppError(error: unknown): AppError | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth += 1) {
    if (current instanceof AppError) return current;
    // Pothos refuses malformed connection arguments (a cursor that is not ours, first: -1)
    // before any resolver runs: that is the caller's input, not a bug.
    if (current instanceof PothosValidationError) return new ValidationError(current.message);
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

type ServiceRefusal = DatabaseUnavailableError | OverloadedError | RequestTimeoutError;

/**
 * 503 with Retry-After: what every request gets that could not be served for now, the database
 * being out of reach, the server busy, or the request out of time.
 */
function serviceRefusal(refusal: ServiceRefusal, graphqlError: GraphQLError | undefined): GraphQLError {
  return new GraphQLError(refusal.message, {
    nodes: graphqlError?.nodes,
    path: graphqlError?.path,
    extensions: {
      code: refusal.code,
      retryAfterSeconds: refusal.retryAfterSeconds,
      http: { status: 503, headers: { 'retry-after': String(refusal.retryAfterSeconds) } },
    },
  });
}

/**
 * Which 503 a failure gets, if any. The request's own deadline first: once it has fired, its
 * connections were closed under it, and what they fail with says nothing of the database.
 */
function refusalFor(error: unknown, appError: AppError | undefined): ServiceRefusal | undefined {
  if (appError instanceof RequestTimeoutError || isQueryTimeout(error)) return new RequestTimeoutError();
  if (currentDeadline()?.aborted && (appError instanceof DatabaseUnavailableError || isDatabaseUnavailable(error)))
    return new RequestTimeoutError();
  if (appError instanceof OverloadedError || isPoolExhausted(error)) return new OverloadedError();
  if (appError instanceof DatabaseUnavailableError || isDatabaseUnavailable(error))
    return new DatabaseUnavailableError();
  return undefined;
}

/**
 * graphql-jit's errors carry source positions instead of nodes (src/http/executor.ts): the
 * masked error keeps them, so that it points at the same place in the query.
 */
function withLocationsOf(original: GraphQLError | undefined, masked: GraphQLError): GraphQLError {
  if (!original || masked.locations || !original.source || !original.positions) return masked;
  return new GraphQLError(masked.message, {
    source: original.source,
    positions: original.positions,
    path: masked.path,
    extensions: masked.extensions,
  });
}

/** graphql-js's errors, and graphql-jit's, which have their shape but a class of their own. */
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof GraphQLError || (error instanceof Error && error.name === 'GraphQLError' && 'path' in error);
}

const refusalLogs: Record<ServiceRefusal['code'], string> = {
  DATABASE_UNAVAILABLE: 'database unavailable',
  OVERLOADED: 'overloaded: no pooled connection came free in time',
  REQUEST_TIMEOUT: 'request timed out: its database work was abandoned',
};

/**
 * What a client may see of an error: the errors of the error model as they are (code, field,
 * message); a database that cannot be reached as 503 DATABASE_UNAVAILABLE with Retry-After,
 * wherever it fails (authentication included), a pool that stayed full as 503 OVERLOADED, a
 * request or statement out of time as 503 REQUEST_TIMEOUT; GraphQL's own parse and validation errors as they
 * are; anything else, a bug, only as "Unexpected error" with the request id that the server log
 * carries. No SQL, stack, host or Prisma message reaches a client.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown): Error => {
    const graphqlError = isGraphQLError(error) ? error : undefined;
    const appError = findAppError(error);
    const refusal = refusalFor(error, appError);
    if (refusal) {
      // An outage itself is logged once (src/db/availability.ts); each request, in one line, at
      // warn: a busy server or a slow request is not an error of the server's.
      logger.warn(
        { requestId: currentRequestId(), code: refusal.code, reason: describeFailure(error), path: graphqlError?.path },
        `${refusalLogs[refusal.code]}: answered 503`,
      );
      return withLocationsOf(graphqlError, serviceRefusal(refusal, graphqlError));
    }
    if (appError) {
      return withLocationsOf(
        graphqlError,
        new GraphQLError(appError.message, {
          nodes: graphqlError?.nodes,
          path: graphqlError?.path,
          extensions: { code: appError.code, field: appError.field },
        }),
      );
    }
    if (graphqlError && !graphqlError.originalError) {
      // GraphQL's own parse and validation errors, and the request limits' refusals; the
      // latter come without a code, and every error a client sees has one.
      if (graphqlError.extensions.code) return graphqlError;
      return new GraphQLError(graphqlError.message, {
        nodes: graphqlError.nodes,
        path: graphqlError.path,
        extensions: { ...graphqlError.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
      });
    }
    // A fault of the server: logged here, once, with the stack and the request id.
    const requestId = currentRequestId() ?? 'unknown';
    logger.error(
      { err: graphqlError?.originalError ?? error, requestId, path: graphqlError?.path },
      'unexpected error',
    );
    return withLocationsOf(
      graphqlError,
      new GraphQLError(`Unexpected error (request ${requestId})`, {
        nodes: graphqlError?.nodes,
        path: graphqlError?.path,
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
      }),
    );
  };
}

/**
 * Whether an error, as a client sees it (masked), is the server's fault rather than the
 * request's: a bug, or a database that is unavailable. Such an outcome says nothing about the
 * request, so it is never kept for an idempotency key's retries.
 */
export function isServerFault(error: GraphQLError): boolean {
  const { code, http } = error.extensions as { code?: unknown; http?: { status?: unknown } };
  const status = http?.status;
  return (
    code === 'INTERNAL_SERVER_ERROR' || code === 'DATABASE_UNAVAILABLE' || (typeof status === 'number' && status >= 500)
  );
}

/**
 * Logs what the client got wrong, once per error, at info and without a stack: the code, the
 * field and the message it was told, under its request id. Faults of the server (an
 * INTERNAL_SERVER_ERROR, or an error with a 5xx status) were logged at error where they were
 * classified, and are left alone here. Every response passes here, whichever stage refused it.
 */
/**
 * What kind of mistake a client error is, without what the client sent: its message with every
 * quoted value, object and list literal, and whatever follows "value:", replaced by "…". A
 * message repeats rejected input (`String cannot represent a non string value: { nested:
 * "<secret>" }`, `Value "<secret>" does not exist…`), and logs never hold a client's content.
 */
function faultKind(message: string): string {
  // The path a message starts with is logged as the field, apart.
  let kind = message
    .replace(/^[^\s:]+: /, '')
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'");
  for (let previous = ''; previous !== kind; ) {
    previous = kind;
    kind = kind.replace(/\{[^{}]*\}/g, '{…}').replace(/\[[^[\]]*\]/g, '[…]');
  }
  return kind
    .replace(/(value|values|got|Received)\b\s*:?\s*[^;.]*/gi, '$1 …')
    .replace(/(date-time-string|date string|time string)\s+\S+/gi, '$1 …')
    .slice(0, 300);
}

export function useClientErrorLog(logger: Logger): Plugin {
  return {
    onResultProcess({ result }) {
      const results = Array.isArray(result) ? result : [result];
      for (const single of results) {
        if (!('errors' in single) || !single.errors) continue;
        for (const error of single.errors) {
          if (isServerFault(error)) continue;
          const extensions = error.extensions ?? {};
          // A field the schema does not define is the client's own text: named only as "…".
          const field =
            Array.isArray(extensions.field) && /is not defined by type/.test(error.message)
              ? [...extensions.field.slice(0, -1), '…']
              : extensions.field;
          logger.info(
            { requestId: currentRequestId(), code: extensions.code, field, fault: faultKind(error.message) },
            'client error',
          );
        }
      }
    },
  };
}

/**
 * yoga's own log, in ours. yoga logs at error, with the stack, every error that the masker
 * rewrote: client mistakes among them, and faults that the masker has logged already. Those go
 * to debug as a message only, so that each error is logged once, at the level it deserves.
 */
export function yogaLogger(logger: Logger): YogaLogger {
  const yoga = logger.child({ component: 'yoga' });
  const at =
    (level: 'debug' | 'info' | 'warn') =>
    (...args: unknown[]) =>
      yoga[level](...(args as Parameters<Logger['debug']>));
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: (error: unknown) =>
      yoga.debug({ message: error instanceof Error ? error.message : String(error) }, 'error passed to the masker'),
  };
}
