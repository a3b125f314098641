import { GRAPHQL_PATH, headers, keyStore } from './api';
import type { TypedDocumentString } from './gql/graphql';

export type LiveState = 'connecting' | 'open' | 'lost';

interface LiveHandlers<TData> {
  onData(data: TData): void;
  onState(state: LiveState, detail?: string): void;
  /** After a reconnection: what happened meanwhile was not replayed, so re-read it. */
  onReconnected(): void;
}

/**
 * One subscription over Server-Sent Events (yoga's, on POST /graphql with Accept:
 * text/event-stream; docs/live-updates.md). When the stream ends or fails it is opened again,
 * after 0.5 s, then up to 8 s apart. Returns what stops it, and what reconnects at once.
 */
export function subscribe<TData, TVariables>(
  document: TypedDocumentString<TData, TVariables>,
  variables: TVariables,
  handlers: LiveHandlers<TData>,
): { stop(): void; reconnect(): void } {
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempts = 0;
  let everOpen = false;

  const lost = (attempt: AbortController, detail: string) => {
    // An attempt that was replaced (reconnect) or stopped reports nothing.
    if (stopped || attempt !== controller) return;
    clearTimeout(timer);
    handlers.onState('lost', detail);
    const delay = Math.min(8000, 500 * 2 ** attempts);
    attempts += 1;
    timer = setTimeout(() => void connect(), delay);
  };

  const connect = async () => {
    if (stopped) return;
    clearTimeout(timer);
    controller?.abort();
    const attempt = new AbortController();
    controller = attempt;
    handlers.onState('connecting');
    let response: Response;
    try {
      response = await fetch(GRAPHQL_PATH, {
        method: 'POST',
        headers: headers(keyStore.get(), 'text/event-stream'),
        body: JSON.stringify({ query: document.toString(), variables }),
        signal: attempt.signal,
      });
    } catch {
      lost(attempt, 'the server cannot be reached');
      return;
    }
    if (!response.ok || !response.body) {
      lost(attempt, `the server answered ${response.status}`);
      return;
    }
    if (attempt !== controller) return;
    attempts = 0;
    handlers.onState('open');
    if (everOpen) handlers.onReconnected();
    everOpen = true;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          const name = /^event: ?(.*)$/m.exec(event)?.[1];
          const data = event
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.replace(/^data: ?/, ''))
            .join('\n');
          if (name !== 'next' || !data) continue;
          const result = JSON.parse(data) as { data?: TData; errors?: Array<{ message: string }> };
          if (result.data) handlers.onData(result.data);
          if (result.errors?.length) lost(attempt, result.errors.map((error) => error.message).join('; '));
        }
      }
      lost(attempt, 'the server ended the stream');
    } catch {
      lost(attempt, 'the connection was interrupted');
    }
  };

  void connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    },
    reconnect() {
      attempts = 0;
      void connect();
    },
  };
}
