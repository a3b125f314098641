import type { Readable, Writable } from 'node:stream';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCRequest, type JSONRPCMessage, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';

/**
 * `npx --no agentmem mcp`: MCP over stdin/stdout for desktop clients, for the organization of
 * one API key. It relays every message to a running server's /mcp endpoint and back, so the
 * tools, their scopes and their errors are the server's own, and the process holds no database:
 * the embedded one stays with the server that opened it (one process at a time may).
 */

export interface StdioBridgeOptions {
  /** The server's MCP endpoint: AGENTMEM_URL's /graphql made /mcp. */
  url: URL;
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
  const message =
    status === undefined
      ? `cannot reach the AgentMem server at ${url.href}: ${cause}`
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
  const remote = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
  });
  const local = new StdioServerTransport(input, options.output ?? process.stdout);
  local.onmessage = (message) => {
    remote.send(message).catch((error: unknown) => {
      if (isJSONRPCRequest(message)) {
        local.send(failureFor(message, error, url)).catch(() => undefined);
        return;
      }
      report(error instanceof Error ? error.message : String(error));
    });
  };
  remote.onmessage = (message) => {
    local.send(message).catch((error: unknown) => report(error instanceof Error ? error.message : String(error)));
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
  await local.close();
  await remote.close();
}
