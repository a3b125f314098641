import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { graphqlOverFetch } from './graphql';
import { followerOf, parseResourceUri, RESOURCE_NOT_FOUND, readResource } from './resources';

/**
 * Resource subscriptions of one MCP session: the stdio relay's (its process is the session) and
 * the Streamable HTTP session's stream (src/mcp/sessions.ts). Each subscribed resource is
 * followed by a GraphQL subscription of its agent (blockChanged, memoryChanged: the live updates
 * of src/live/, across replicas through Redis), with the session's own Authorization, and each
 * of its changes is told as notifications/resources/updated.
 */

type FetchFunction = (url: string, init: RequestInit) => Promise<Response> | Response;

/** The `data` of each SSE event of a GraphQL subscription's stream, until it ends. */
async function forEachEvent(body: ReadableStream<Uint8Array>, onData: (data: unknown) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      if (lines.some((line) => line.startsWith('event: complete'))) return;
      const data = lines.filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim());
      if (data.length > 0) onData(JSON.parse(data.join('\n')));
    }
  }
}

export class ResourceSubscriptions {
  private readonly open = new Map<string, AbortController>();

  constructor(
    private readonly fetchFunction: FetchFunction,
    private readonly graphqlUrl: string,
    private readonly authorization: string,
    private readonly notify: (uri: string) => void,
    private readonly report: (message: string) => void,
  ) {}

  /**
   * Resolves once the server listens for the resource's changes, so that no change after it is
   * missed; rejects as resources/read would (an unknown or foreign agent is the same "not found").
   */
  async subscribe(uri: string): Promise<void> {
    const named = parseResourceUri(uri);
    if (!named) throw new McpError(RESOURCE_NOT_FOUND, `no resource ${JSON.stringify(uri)}`, { uri });
    await readResource(graphqlOverFetch(this.fetchFunction, this.graphqlUrl, this.authorization), uri);

    this.unsubscribe(uri);
    const abort = new AbortController();
    const { query, variables, concerns } = followerOf(named);
    // The response's headers come once the server listens (src/live/bus.ts): no change is missed after.
    const response = await this.fetchFunction(this.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: this.authorization },
      body: JSON.stringify({ query, variables }),
      signal: abort.signal,
    });
    if (!response.ok || !response.body)
      throw new McpError(ErrorCode.InternalError, `the server answered ${response.status} to the subscription`);
    this.open.set(uri, abort);
    forEachEvent(response.body, (event) => {
      const data = (event as { data?: Record<string, unknown> | null }).data;
      if (data && concerns(data)) this.notify(uri);
    })
      .catch((error: unknown) => {
        if (!abort.signal.aborted) this.report(`subscription to ${uri} ended: ${String(error)}`);
      })
      .finally(() => {
        if (this.open.get(uri) === abort) this.open.delete(uri);
      });
  }

  unsubscribe(uri: string): void {
    this.open.get(uri)?.abort();
    this.open.delete(uri);
  }

  close(): void {
    for (const uri of [...this.open.keys()]) this.unsubscribe(uri);
  }
}
