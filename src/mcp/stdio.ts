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
import { ResourceSubscriptions } from './subscriptions';

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

/** Relays until standard input ends. */
export async function serveStdioBridge(options: StdioBridgeOptions): Promise<void> {
  const { url, apiKey, report } = options;
  const input = options.input ?? process.stdin;
  const authorization = `Bearer ${apiKey}`;
  const remote = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization } } });
  const local = new StdioServerTransport(input, options.output ?? process.stdout);
  const send = (message: JSONRPCMessage) =>
    local.send(message).catch((error: unknown) => report(error instanceof Error ? error.message : String(error)));
  // The relay is its client's session: it holds the resource subscriptions itself.
  const subscriptions = new ResourceSubscriptions(
    fetch,
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
