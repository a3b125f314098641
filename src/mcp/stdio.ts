import type { Readable, Writable } from 'node:stream';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  ErrorCode,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { NotFoundError } from '../errors';
import { graphqlOverFetch } from './graphql';
import { parseBlockUri, READ_BLOCK, RESOURCE_NOT_FOUND } from './resources';

/**
 * `npx --no agentmem mcp`: MCP over stdin/stdout for desktop clients, for the organization of
 * one API key. It relays every message to a running server's /mcp endpoint and back, so the
 * tools, their scopes and their errors are the server's own, and the process holds no database:
 * the embedded one stays with the server that opened it (one process at a time may).
 */

export interface StdioBridgeOptions {
  /** The server's MCP endpoint: AGENTMEM_URL's /graphql made /mcp. */
  url: URL;
  /** The server's GraphQL endpoint (AGENTMEM_URL), for the subscriptions the relay holds. */
  graphqlUrl: string;
  apiKey: string;
  input?: Readable;
  output?: Writable;
  /** Where the bridge's own troubles are told: standard error, never standard output. */
  report(message: string): void;
}

/** The MCP endpoint beside a GraphQL one: http://host:4000/graphql → http://host:4000/mcp. */
export function mcpUrlBeside(graphqlUrl: string): URL {
  return new URL('mcp', graphqlUrl);
}

/** An HTTP refusal's status as AgentMem's error code. */
function codeOfStatus(status: number | undefined): string {
  switch (status) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return 'SERVER_UNREACHABLE';
  }
}

/** The answer to a request the server could not be asked: a tool error for a tool call. */
function failureFor(request: JSONRPCRequest, error: unknown, url: URL): JSONRPCMessage {
  const status = error instanceof StreamableHTTPError ? error.code : undefined;
  const code = codeOfStatus(status);
  const cause =
    error instanceof Error
      ? error.cause instanceof Error
        ? `${error.message}: ${error.cause.message}`
        : error.message
      : String(error);
  // A body over the server's MAX_REQUEST_BYTES is refused before it is read, and the connection
  // closed: a client still sending it may see the closed connection rather than the 413.
  const message =
    status === undefined
      ? `cannot reach the AgentMem server at ${url.href}, or it closed the connection (as it does for a ` +
        `request larger than its MAX_REQUEST_BYTES): ${cause}`
      : `the AgentMem server at ${url.href} answered ${status}: ${cause}`;
  if (request.method === 'tools/call') {
    return {
      jsonrpc: '2.0',
      id: request.id,
      result: {
        isError: true,
        content: [{ type: 'text', text: JSON.stringify({ error: { code, field: null, message } }) }],
      },
    };
  }
  return { jsonrpc: '2.0', id: request.id, error: { code: -32001, message: `${code}: ${message}` } };
}

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

const BLOCK_CHANGED = `subscription McpBlockChanged($agentId: ID!) { blockChanged(agentId: $agentId) { label } }`;

/**
 * Resource subscriptions, which the stateless /mcp cannot hold: the relay has a session (this
 * process, for as long as the client keeps it), so it subscribes for the client. A block's
 * resource is followed by the GraphQL subscription blockChanged of its agent (Server-Sent
 * Events, the live updates of src/live/), and each change of that label is told to the client
 * as notifications/resources/updated.
 */
class BlockSubscriptions {
  private readonly open = new Map<string, AbortController>();

  constructor(
    private readonly graphqlUrl: string,
    private readonly authorization: string,
    private readonly notify: (uri: string) => void,
    private readonly report: (message: string) => void,
  ) {}

  /** Resolves once the server listens for the block's changes; rejects as resources/read would. */
  async subscribe(uri: string): Promise<void> {
    const named = parseBlockUri(uri);
    if (!named) throw new McpError(RESOURCE_NOT_FOUND, `no resource ${JSON.stringify(uri)}`, { uri });
    const graphql = graphqlOverFetch(fetch, this.graphqlUrl, this.authorization);
    const read = await graphql({ query: READ_BLOCK, variables: named });
    if (!read.data) throw new McpError(ErrorCode.InternalError, read.errors?.[0]?.message ?? 'no data');
    const agent = read.data.agent as { blocks: unknown[] } | null;
    if (!agent) throw new McpError(RESOURCE_NOT_FOUND, new NotFoundError('agent', named.agentId).message, { uri });
    if (agent.blocks.length === 0)
      throw new McpError(RESOURCE_NOT_FOUND, `block ${JSON.stringify(named.label)} was not found`, { uri });

    this.unsubscribe(uri);
    const abort = new AbortController();
    // The response's headers come once the server listens (src/live/bus.ts): no change is missed after.
    const response = await fetch(this.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: this.authorization },
      body: JSON.stringify({ query: BLOCK_CHANGED, variables: { agentId: named.agentId } }),
      signal: abort.signal,
    });
    if (!response.ok || !response.body)
      throw new McpError(ErrorCode.InternalError, `the server answered ${response.status} to the subscription`);
    this.open.set(uri, abort);
    forEachEvent(response.body, (data) => {
      const changed = (data as { data?: { blockChanged?: { label?: string } } }).data?.blockChanged;
      if (changed?.label === named.label) this.notify(uri);
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

/** Relays until standard input ends. */
export async function serveStdioBridge(options: StdioBridgeOptions): Promise<void> {
  const { url, apiKey, report } = options;
  const input = options.input ?? process.stdin;
  const authorization = `Bearer ${apiKey}`;
  const remote = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization } } });
  const local = new StdioServerTransport(input, options.output ?? process.stdout);
  const send = (message: JSONRPCMessage) =>
    local.send(message).catch((error: unknown) => report(error instanceof Error ? error.message : String(error)));
  const subscriptions = new BlockSubscriptions(
    options.graphqlUrl,
    authorization,
    (uri) => void send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } }),
    report,
  );
  const initializing = new Set<string | number>();

  /** Answers resources/subscribe and unsubscribe here; true when `message` was one of them. */
  function handledHere(message: JSONRPCMessage): boolean {
    if (!isJSONRPCRequest(message)) return false;
    const uri = String((message.params as { uri?: unknown } | undefined)?.uri ?? '');
    if (message.method === 'resources/unsubscribe') {
      subscriptions.unsubscribe(uri);
      void send({ jsonrpc: '2.0', id: message.id, result: {} });
      return true;
    }
    if (message.method !== 'resources/subscribe') return false;
    subscriptions.subscribe(uri).then(
      () => send({ jsonrpc: '2.0', id: message.id, result: {} }),
      (error: unknown) => {
        const code = error instanceof McpError ? error.code : ErrorCode.InternalError;
        const text = error instanceof McpError ? error.message.replace(/^MCP error -?\d+: /, '') : String(error);
        return send({ jsonrpc: '2.0', id: message.id, error: { code, message: text } });
      },
    );
    return true;
  }

  local.onmessage = (message) => {
    if (handledHere(message)) return;
    if (isJSONRPCRequest(message) && message.method === 'initialize') initializing.add(message.id);
    remote.send(message).catch((error: unknown) => {
      if (isJSONRPCRequest(message)) {
        void send(failureFor(message, error, url));
        return;
      }
      report(error instanceof Error ? error.message : String(error));
    });
  };
  remote.onmessage = (message) => {
    // The server's capabilities, with the subscriptions this relay holds for the client.
    if (isJSONRPCResultResponse(message) && initializing.delete(message.id)) {
      const capabilities = (message.result as { capabilities?: { resources?: Record<string, unknown> } }).capabilities;
      if (capabilities?.resources) capabilities.resources.subscribe = true;
    }
    void send(message);
  };
  remote.onerror = (error) => report(error.message);
  const ended = new Promise<void>((resolve) => {
    input.once('end', resolve);
    input.once('close', resolve);
    local.onclose = resolve;
  });
  await remote.start();
  await local.start();
  await ended;
  subscriptions.close();
  await local.close();
  await remote.close();
}
