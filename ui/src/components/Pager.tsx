export interface PageInfo {
  hasNextPage?: boolean;
  hasPreviousPage?: boolean;
  startCursor?: string | null;
  endCursor?: string | null;
}

/** A page of a connection: `after` the end cursor forward, `before` the start cursor back. */
export interface PageRequest {
  first?: number;
  after?: string;
  last?: number;
  before?: string;
}

export function firstPage(size: number): PageRequest {
  return { first: size };
}

/**
 * Previous and next buttons over the API's cursors (nothing is loaded beyond one page). A Relay
 * connection read forward may answer hasPreviousPage false: a page reached with `after` has one
 * before it all the same, and one reached with `before` one after it.
 */
export function Pager({
  label,
  pageInfo,
  current,
  size,
  onPage,
}: {
  label: string;
  pageInfo: PageInfo;
  current: PageRequest;
  size: number;
  onPage(request: PageRequest): void;
}) {
  const hasPrevious = Boolean(pageInfo.hasPreviousPage || current.after);
  const hasNext = Boolean(pageInfo.hasNextPage || current.before);
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button
        type="button"
        disabled={!hasPrevious || !pageInfo.startCursor}
        onClick={() => onPage({ last: size, before: pageInfo.startCursor ?? undefined })}
      >
        ← Previous
      </button>
      <button
        type="button"
        disabled={!hasNext || !pageInfo.endCursor}
        onClick={() => onPage({ first: size, after: pageInfo.endCursor ?? undefined })}
      >
        Next →
      </button>
    </nav>
  );
}
