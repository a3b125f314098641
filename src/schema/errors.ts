import {
  AlreadySupersededError,
  type AppError,
  BlockLimitExceededError,
  ConflictError,
  type ErrorCode,
  NotFoundError,
  SemanticRecallUnavailableError,
  ValidationError,
  VersionConflictError,
} from '../errors';
import { builder } from './builder';

const codes: Record<ErrorCode, { description: string }> = {
  NOT_FOUND: { description: 'No such row in your organization (deleted rows included).' },
  VALIDATION: { description: 'The input breaks a rule; `field` says where.' },
  BLOCK_LIMIT_EXCEEDED: { description: "A block's value would be longer than its limit." },
  CONFLICT: { description: 'The change conflicts with the current state, e.g. a duplicate.' },
  FORBIDDEN: { description: "The API key's scopes do not allow this field." },
  DATABASE_UNAVAILABLE: {
    description: 'The database cannot be reached for now: HTTP 503, retry after `Retry-After` seconds.',
  },
  OVERLOADED: {
    description:
      'The server is busy (the database answers): HTTP 503, retry after `Retry-After` seconds, with backoff.',
  },
  REQUEST_TIMEOUT: {
    description:
      'The request ran longer than the server allows and was abandoned: HTTP 503, retry after `Retry-After` seconds.',
  },
  LIVE_UPDATES_UNAVAILABLE: {
    description: 'A subscription cannot be served for now (the event bus is out of reach): subscribe again.',
  },
  SEMANTIC_RECALL_UNAVAILABLE: {
    description: 'A vector was given, but this server has no pgvector: semantic recall is off; text search works.',
  },
};

const ErrorCodeEnum = builder.enumType('ErrorCode', { values: codes });

const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'An error the caller can act on. Mutations return these as typed results.',
  fields: (t) => ({
    code: t.field({ type: ErrorCodeEnum, resolve: (error) => error.code }),
    message: t.exposeString('message'),
    field: t.exposeStringList('field', { nullable: true, description: 'The input path the error is about.' }),
  }),
});

builder.objectType(NotFoundError, { name: 'NotFoundError', interfaces: [ErrorInterface] });
builder.objectType(ValidationError, { name: 'ValidationError', interfaces: [ErrorInterface] });
builder.objectType(ConflictError, { name: 'ConflictError', interfaces: [ErrorInterface] });
builder.objectType(SemanticRecallUnavailableError, {
  name: 'SemanticRecallUnavailableError',
  interfaces: [ErrorInterface],
});
builder.objectType(VersionConflictError, {
  name: 'VersionConflictError',
  interfaces: [ErrorInterface],
  description:
    'CONFLICT: the row changed since the version the write expected. Read it again and retry with `currentVersion`.',
  fields: (t) => ({
    currentVersion: t.exposeInt('currentVersion'),
  }),
});
builder.objectType(AlreadySupersededError, {
  name: 'AlreadySupersededError',
  interfaces: [ErrorInterface],
  description:
    'CONFLICT: the memory was already superseded. `supersededById` names the memory that replaced it: supersede ' +
    'that one instead if the change still applies.',
  fields: (t) => ({
    memoryId: t.exposeID('memoryId', { description: 'The memory that was already superseded.' }),
    supersededById: t.exposeID('supersededById', { description: 'The memory that replaced it: the winner.' }),
  }),
});
builder.objectType(BlockLimitExceededError, {
  name: 'BlockLimitExceededError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    length: t.exposeInt('length', { description: 'Characters (Unicode code points) in the value.' }),
    limit: t.exposeInt('limit'),
  }),
});

/** The errors every mutation may return. */
export const commonMutationErrors = [NotFoundError, ValidationError, ConflictError];
