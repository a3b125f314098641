import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import { describeFailure, isDatabaseUnavailable } from '../db/connection-failures';
import { AppError, DatabaseUnavailableError, ValidationError } from '../errors';
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

/** 503 with Retry-After: what every request gets that the database could not serve. */
function databaseUnavailable(graphqlError: GraphQLError | undefined): GraphQLError {
  const unavailable = new DatabaseUnavailableError();
  const retryAfter = String(unavailable.retryAfterSeconds);
  return new GraphQLError(unavailable.message, {
    nodes: graphqlError?.nodes,
    path: graphqlError?.path,
    extensions: {
      code: unavailable.code,
      retryAfterSeconds: unavailable.retryAfterSeconds,
      http: { status: 503, headers: { 'retry-after': retryAfter } },
    },
  });
}

/**
 * What a client may see of an error: the errors of the error model as they are (code, field,
 * message); a database that cannot be reached as 503 DATABASE_UNAVAILABLE with Retry-After,
 * wherever it fails (authentication included); GraphQL's own parse and validation errors as they
 * are; anything else, a bug, only as "Unexpected error" with the request id that the server log
 * carries. No SQL, stack, host or Prisma message reaches a client.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown): Error => {
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    const appError = findAppError(error);
    if (appError instanceof DatabaseUnavailableError || isDatabaseUnavailable(error)) {
      // The outage itself is logged once (src/db/availability.ts); each request, in one line.
      logger.warn({ requestId: currentRequestId(), reason: describeFailure(error), path: graphqlError?.path }, 'database unavailable: answered 503');
      return databaseUnavailable(graphqlError);
    }
    if (appError) {
      return new GraphQLError(appError.message, {
        nodes: graphqlError?.nodes,
        path: graphqlError?.path,
        extensions: { code: appError.code, field: appError.field },
      });
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
    const requestId = currentRequestId() ?? 'unknown';
    logger.error({ err: graphqlError?.originalError ?? error, requestId, path: graphqlError?.path }, 'unexpected error');
    return new GraphQLError(`Unexpected error (request ${requestId})`, {
      nodes: graphqlError?.nodes,
      path: graphqlError?.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    });
  };
}

/**
 * yoga's logger: yoga logs every error the masker replaced, with its stack; an unavailable
 * database is already logged by the masker in one line, so yoga's copy is left out.
 */
export function createYogaLogger(logger: Logger): YogaLogger {
  const forward =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]): void => {
      if (level === 'error' && isDatabaseUnavailable(args[0])) return;
      Reflect.apply(logger[level], logger, args);
    };
  return { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
}
