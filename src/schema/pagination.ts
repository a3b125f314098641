import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { ValidationError } from '../errors';
import { unstorable } from './rules';

const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Connection arguments as Pothos passes them. */
export interface PageArguments {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/**
 * Pages are at most MAX_PAGE_SIZE rows: a larger request is refused, not silently cut, so a
 * client never mistakes a short page for the end of the list.
 */
export function assertPageSize(args: PageArguments): void {
  for (const name of ['first', 'last'] as const) {
    const size = args[name];
    if (size === null || size === undefined) continue;
    if (size < 0 || size > MAX_PAGE_SIZE) {
      throw new ValidationError(`${name} must be between 0 and ${MAX_PAGE_SIZE} (got ${size})`, [name]);
    }
  }
  if (args.first != null && args.last != null) {
    throw new ValidationError('pass either first or last, not both', ['last']);
  }
}

/**
 * A cursor this API issued: a row id, base64-encoded by Pothos. Anything else is refused here,
 * before it could reach the database as an id of another type or with unstorable text.
 */
function assertCursor(cursor: string | null | undefined, name: 'after' | 'before'): void {
  if (cursor === null || cursor === undefined) return;
  let id: unknown;
  try {
    id = parsePrismaCursor(cursor);
  } catch {
    id = undefined;
  }
  if (typeof id !== 'string' || unstorable(id))
    throw new ValidationError(`${name} is not a cursor of this API`, [name]);
}

/**
 * Every check of a connection's page arguments. They are made before the operation executes,
 * for every connection in it, whatever is selected below (src/http/input-values.ts): Pothos
 * does not call a connection's resolver when only `totalCount` is selected.
 */
export function assertPageArguments(args: PageArguments): void {
  assertPageSize(args);
  // Pages go one way from one cursor: refused here, for every connection of the request, rather
  // than by each path that reads a page (Pothos's own words).
  if (args.before != null && args.after != null)
    throw new ValidationError('Arguments "before" and "after" are not supported at the same time', ['after']);
  if (args.before != null && args.first != null)
    throw new ValidationError('Arguments "before" and "first" are not supported at the same time', ['first']);
  if (args.after != null && args.last != null)
    throw new ValidationError('Arguments "after" and "last" are not supported at the same time', ['last']);
  assertCursor(args.after, 'after');
  assertCursor(args.before, 'before');
}

/** The arguments that make a field a connection. */
export const PAGE_ARGUMENTS = ['first', 'last', 'after', 'before'] as const;

/**
 * A list's `limit` argument (a list, not a connection: no cursors), between 1 and
 * MAX_PAGE_SIZE, refused beyond rather than cut.
 */
export function listLimit(limit: number | null | undefined, defaultLimit: number): number {
  const size = limit ?? defaultLimit;
  if (size < 1 || size > MAX_PAGE_SIZE)
    throw new ValidationError(`limit must be between 1 and ${MAX_PAGE_SIZE} (got ${size})`, ['limit']);
  return size;
}

export const connectionOptions = { cursor: 'id', defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE } as const;
