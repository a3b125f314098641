import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import type { Plugin, YogaLogger } from 'graphql-yoga';
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
 * What a client may see of an error: the errors of the error model as they are (code, field,
 * message); GraphQL's own parse and validation errors as they are; anything else, a bug or a
 * database failure, only as "Unexpected error" with the request id that the server log carries.
 * No SQL, stack or Prisma message reaches a client.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown): Error => {
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    const appError = findAppError(error);
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
    // A fault of the server: logged here, once, with the stack and the request id.
    const requestId = currentRequestId() ?? 'unknown';
    logger.error({ err: graphqlError?.originalError ?? error, requestId, path: graphqlError?.path }, 'unexpected error');
    return new GraphQLError(`Unexpected error (request ${requestId})`, {
      nodes: graphqlError?.nodes,
      path: graphqlError?.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    });
  };
}

const SERVER_FAULT = 'INTERNAL_SERVER_ERROR';

/**
 * Logs what the client got wrong, once per error, at info and without a stack: the code, the
 * field and the message it was told, under its request id. Faults of the server (an
 * INTERNAL_SERVER_ERROR, or an error with a 5xx status) were logged at error where they were
 * classified, and are left alone here. Every response passes here, whichever stage refused it.
 */
export function useClientErrorLog(logger: Logger): Plugin {
  return {
    onResultProcess({ result }) {
      const results = Array.isArray(result) ? result : [result];
      for (const single of results) {
        if (!('errors' in single) || !single.errors) continue;
        for (const error of single.errors) {
          const extensions = error.extensions ?? {};
          const status = (extensions.http as { status?: number } | undefined)?.status ?? 0;
          if (extensions.code === SERVER_FAULT || status >= 500) continue;
          logger.info({ requestId: currentRequestId(), code: extensions.code, field: extensions.field, message: error.message }, 'client error');
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
  const at = (level: 'debug' | 'info' | 'warn') => (...args: unknown[]) => yoga[level](...(args as Parameters<Logger['debug']>));
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: (error: unknown) => yoga.debug({ message: error instanceof Error ? error.message : String(error) }, 'error passed to the masker'),
  };
}
