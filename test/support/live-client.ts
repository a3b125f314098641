import type { TypedDocument } from './test-app';

/** One result of a subscription, as yoga sends it in an SSE `next` event. */
export interface LiveResult<TData> {
  data?: TData | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

/**
 * A subscription over Server-Sent Events as a browser or a server-side client opens one: a POST
 * of the document with `Accept: text/event-stream` and the key, read as the events arrive.
 * `started` resolves when the response's headers are in, which the server sends once the
 * subscription listens.
 */
export interface LiveSubscription<TData> {
  status: number;
  /**
   * The next result; `undefined` once the stream completed or was closed. Rejects after
   * `timeoutMs`: a guard that turns a hang into a failure with a message, not a bound on delivery.
   */
  next(timeoutMs?: number): Promise<LiveResult<TData> | undefined>;
  /** Every result until the stream completes. */
  rest(timeoutMs?: number): Promise<LiveResult<TData>[]>;
  close(): void;
  /** Whether the server ended the stream with a `complete` event (not a dropped connection). */
  readonly completed: boolean;
}

export async function subscribe<TData, TVariables>(
  url: string,
  key: string | null,
  document: TypedDocument<TData, TVariables>,
  variables?: TVariables,
): Promise<LiveSubscription<TData>> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(key && { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ query: document.toString(), variables }),
    signal: abort.signal,
  });
  const results: Array<LiveResult<TData> | undefined> = [];
  const waiting: Array<() => void> = [];
  let ended = false;
  let completed = false;
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };

  // Reads `event:`/`data:` blocks separated by a blank line; comments (`:` pings) are skipped.
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      if (!response.body) return;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          const event = lines
            .find((line) => line.startsWith('event:'))
            ?.slice(6)
            .trim();
          const data = lines
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          if (event === 'complete') {
            completed = true;
            return;
          }
          if (data) {
            results.push(JSON.parse(data) as LiveResult<TData>);
            wake();
          }
        }
      }
    } catch {
      // Aborted by close(), or the connection dropped: the stream has ended either way.
    } finally {
      ended = true;
      wake();
    }
  })();

  async function next(timeoutMs = 10_000): Promise<LiveResult<TData> | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (results.length === 0 && !ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no subscription result within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return results.shift();
  }

  return {
    status: response.status,
    next,
    async rest(timeoutMs = 10_000) {
      const all: LiveResult<TData>[] = [];
      for (let result = await next(timeoutMs); result; result = await next(timeoutMs)) all.push(result);
      return all;
    },
    close: () => abort.abort(),
    get completed() {
      return completed;
    },
  };
}
