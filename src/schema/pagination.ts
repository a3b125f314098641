import { ValidationError } from '../errors';

export const DEFAULT_PAGE_SIZE = 20;
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
 * A list's `limit` argument (a list, not a connection: no cursors), between 1 and
 * MAX_PAGE_SIZE, refused beyond rather than cut.
 */
export function listLimit(limit: number | null | undefined, defaultLimit: number): number {
  const size = limit ?? defaultLimit;
  if (size < 1 || size > MAX_PAGE_SIZE) throw new ValidationError(`limit must be between 1 and ${MAX_PAGE_SIZE} (got ${size})`, ['limit']);
  return size;
}

export const connectionOptions = { cursor: 'id', defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE } as const;
