import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { AppError, ValidationError } from '../errors';
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

/**
 * graphql-jit's errors carry source positions instead of nodes (src/http/executor.ts): the
 * masked error keeps them, so that it points at the same place in the query.
 */
function withLocationsOf(original: GraphQLError | undefined, masked: GraphQLError): GraphQLError {
  if (!original || masked.locations || !original.source || !original.positions) return masked;
  return new GraphQLError(masked.message, { source: original.source, positions: original.positions, path: masked.path, extensions: masked.extensions });
}

/** graphql-js's errors, and graphql-jit's, which have their shape but a class of their own. */
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof GraphQLError || (error instanceof Error && error.name === 'GraphQLError' && 'path' in error);
}

/**
 * What a client may see of an error: the errors of the error model as they are (code, field,
 * message); GraphQL's own parse and validation errors as they are; anything else, a bug or a
 * database failure, only as "Unexpected error" with the request id that the server log carries.
 * No SQL, stack or Prisma message reaches a client.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown): Error => {
    const graphqlError = isGraphQLError(error) ? error : undefined;
    const appError = findAppError(error);
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
    const requestId = currentRequestId() ?? 'unknown';
    logger.error({ err: graphqlError?.originalError ?? error, requestId, path: graphqlError?.path }, 'unexpected error');
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
  return code === 'INTERNAL_SERVER_ERROR' || code === 'DATABASE_UNAVAILABLE' || (typeof status === 'number' && status >= 500);
}
