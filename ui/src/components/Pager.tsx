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

/** Previous and next buttons over the API's cursors (nothing is loaded beyond one page). */
export function Pager({
  label,
  pageInfo,
  size,
  onPage,
}: {
  label: string;
  pageInfo: PageInfo;
  size: number;
  onPage(request: PageRequest): void;
}) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button
        type="button"
        disabled={!pageInfo.hasPreviousPage || !pageInfo.startCursor}
        onClick={() => onPage({ last: size, before: pageInfo.startCursor ?? undefined })}
      >
        ← Previous
      </button>
      <button
        type="button"
        disabled={!pageInfo.hasNextPage || !pageInfo.endCursor}
        onClick={() => onPage({ first: size, after: pageInfo.endCursor ?? undefined })}
      >
        Next →
      </button>
    </nav>
  );
}
