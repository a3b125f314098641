import type http from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type CallToolResult, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { GraphQLError } from 'graphql';
import type { Authenticate } from '../auth/authenticate';
import type { Caller } from '../auth/caller';
import type { LimitRate } from '../auth/rate-limit';
import { currentRequestFacts } from '../http/request-id';
import type { Logger } from '../logger';
import { graphqlOverFetch } from './graphql';
import { callNamedTool, createMcpServer, isTool, type RequestSession } from './server';
import { type McpSessions, SessionNotFound } from './sessions';

export const MCP_PATH = '/mcp';

/**
 * The MCP endpoint, Streamable HTTP at /mcp, beside /graphql on the same server and port.
 *
 * Tools are stateless: every POST is answered on its own, so any process of the cluster and any
 * replica answers any request, and a restart loses nothing. A plain tools/call (the bulk of an
 * agent's requests) is answered here directly over Node's request and response (directCall);
 * every other POST gets a fresh SDK server and transport (the SDK's stateless mode). Where
 * sessions can be kept (`sessions`: Redis, or a single process), `initialize` also opens a session
 * (Mcp-Session-Id) for resource subscriptions only: resources/subscribe and unsubscribe, its GET
 * stream and its DELETE (src/mcp/sessions.ts). Without one, GET and DELETE are 405.
 *
 * Each request passes the same gates as a GraphQL one: the body limit, admission and the request
 * timeout (src/app.ts), then its API key (401 without a valid one) and its rate limit. Every tool
 * runs its GraphQL operation through yoga in this process (`yoga.fetch`), with the request's own
 * Authorization header: scopes, row-level security, limits, idempotency, metrics and logs apply.
 */

/** What the handler needs of the GraphQL server beside it. */
export interface McpHandlerOptions {
  /** yoga's fetch: a GraphQL request handled in this process, through every plugin. */
  graphqlFetch: (url: string, init: RequestInit) => Promise<Response> | Response;
  authenticate: Authenticate;
  limitRate: LimitRate;
  /** The address the server listens on: on a loopback one, only loopback Host names are served. */
  host: string;
  /** CORS_ORIGINS: the browser origins allowed besides loopback ones. */
  allowedOrigins: readonly string[];
  logger: Logger;
  /** Resource subscriptions' sessions; undefined where they cannot be kept (a cluster without Redis). */
  sessions?: McpSessions;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The host name of a Host header or an origin, without its port. */
function hostName(value: string): string {
  return value.startsWith('[') ? value.slice(0, value.indexOf(']') + 1) : (value.split(':')[0] ?? '');
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

/** A JSON-RPC error outside any request (HTTP-level refusals), as the SDK's transport answers them. */
function refuse(
  response: http.ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
  errorCode?: string,
): void {
  currentRequestFacts()?.errorCodes.push(errorCode ?? `HTTP_${status}`);
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** A GraphQL error with an HTTP status (401, 429) as the response it stands for. */
function refuseWithGraphqlError(response: http.ServerResponse, error: GraphQLError): void {
  const http = error.extensions.http as { status?: number; headers?: Record<string, string> } | undefined;
  const code = typeof error.extensions.code === 'string' ? error.extensions.code : 'ERROR';
  refuse(response, http?.status ?? 500, -32001, `${code}: ${error.message}`, http?.headers ?? {}, code);
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Messages whose work is a GraphQL operation, which counts against the rate limit by itself. */
const COUNTED_BY_GRAPHQL = new Set(['tools/call', 'resources/read', 'resources/list']);

/** Requests that need the session they name. */
const NEED_SESSION = new Set(['resources/subscribe', 'resources/unsubscribe']);

const SESSION_HEADER = 'mcp-session-id';

function methodsOf(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.map((message) =>
    message !== null && typeof message === 'object' && typeof (message as { method?: unknown }).method === 'string'
      ? (message as { method: string }).method
      : '',
  );
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const CALL_KEYS = new Set(['name', 'arguments']);

/** A tools/call the direct path answers: its id, tool name and arguments. */
interface DirectCall {
  id: string | number;
  name: string;
  args: Record<string, unknown>;
}

/**
 * The tools/call that src/mcp/http.ts answers itself, without the SDK's Server and transport:
 * one JSON-RPC request (no batch), with nothing but jsonrpc, id, method and params, whose params
 * are a tool of this server by name and an arguments object (no _meta: no progress token or
 * task), and headers the SDK's transport would let through (Accept, a plain JSON Content-Type, a
 * supported MCP-Protocol-Version or none). Anything else is undefined and goes to the SDK, whose
 * answers (its errors included) stay as they are. Where it is defined, the SDK would have called
 * the same handler (callNamedTool) with the same arguments and written its result as
 * {result, jsonrpc, id}: the direct path writes the same bytes for a fraction of the CPU (the
 * web Request and Response, a Server and transport per request, four zod parses of the message).
 */
function directCall(request: http.IncomingMessage, body: unknown): DirectCall | undefined {
  if (!isPlainObject(body) || body.jsonrpc !== '2.0' || body.method !== 'tools/call') return undefined;
  const { id, params } = body;
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return undefined;
  if (!isPlainObject(params) || typeof params.name !== 'string' || !isTool(params.name)) return undefined;
  const args = params.arguments ?? {};
  if (!isPlainObject(args)) return undefined;
  if (Object.keys(body).some((key) => !REQUEST_KEYS.has(key))) return undefined;
  if (Object.keys(params).some((key) => !CALL_KEYS.has(key))) return undefined;
  const { accept = '', 'content-type': contentType } = request.headers;
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return undefined;
  if (contentType !== 'application/json') return undefined;
  const version = request.headers['mcp-protocol-version'];
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(String(version))) return undefined;
  return { id: id as string | number, name: params.name, args };
}

/**
 * The JSON-RPC response of a tools/call, as the SDK's transport writes it ({result, jsonrpc, id}).
 * A tool's result has its output twice: as the text content, JSON.stringify of the output (made
 * in src/mcp/server.ts, callTool), and as structuredContent. That text is the structuredContent's
 * JSON as JSON.stringify would write it again: it is reused rather than made a second time.
 */
function toolsCallResponse(result: CallToolResult, id: string | number): string {
  const [text] = result.content;
  const { content, structuredContent, ...rest } = result;
  if (
    structuredContent !== undefined &&
    content.length === 1 &&
    text?.type === 'text' &&
    Object.keys(rest).length === 0
  ) {
    const head = `{"result":{"content":${JSON.stringify(content)},"structuredContent":`;
    return `${head}${text.text}},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
  }
  return JSON.stringify({ result, jsonrpc: '2.0', id });
}

/** Where the tools' GraphQL requests go: yoga's own fetch, within the process. */
export const GRAPHQL_URL = 'http://agentmem.internal/graphql';

/**
 * The session side of a POST: a new session for `initialize` (its id in the response's
 * Mcp-Session-Id; none, and the server stays stateless for this client, when the store is out of
 * reach), the named session for a subscription (SessionNotFound: 404, as the MCP specification
 * has it, for an unknown or another key's), nothing for the rest: tools need no session.
 */
async function sessionOf(
  sessions: McpSessions,
  caller: Caller,
  named: string | undefined,
  methods: string[],
  response: http.ServerResponse,
): Promise<RequestSession> {
  if (methods.length === 1 && methods[0] === 'initialize') {
    try {
      response.setHeader(SESSION_HEADER, await sessions.create(caller));
      return { offered: true };
    } catch {
      return { offered: false };
    }
  }
  if (named === undefined || !methods.some((method) => NEED_SESSION.has(method))) return { offered: true };
  const session = await sessions.open(named, caller);
  return {
    offered: true,
    current: {
      subscribe: (uri) => sessions.subscribe(named, session, uri),
      unsubscribe: (uri) => sessions.unsubscribe(named, session, uri),
    },
  };
}

export function createMcpHandler(options: McpHandlerOptions): http.RequestListener {
  const { graphqlFetch, authenticate, limitRate, allowedOrigins, logger, sessions } = options;
  const checkHost = LOOPBACK_HOSTS.has(options.host);
  const log = logger.child({ component: 'mcp' });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    // DNS rebinding: a page whose name was pointed at this machine calls it as its own origin.
    // Listening on a loopback address, only loopback names are served; a browser's Origin must be
    // a loopback one or one of CORS_ORIGINS (clients other than browsers send none).
    const host = request.headers.host ?? '';
    if (checkHost && !LOOPBACK_HOSTS.has(hostName(host))) {
      refuse(response, 403, -32000, `the Host ${JSON.stringify(host)} is not served here (DNS rebinding protection)`);
      return;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !isLoopbackOrigin(origin) && !allowedOrigins.includes(origin)) {
      refuse(response, 403, -32000, `the Origin ${JSON.stringify(origin)} is not allowed (see CORS_ORIGINS)`);
      return;
    }
    const sessionId = request.headers[SESSION_HEADER];
    const named = typeof sessionId === 'string' && sessionId !== '' ? sessionId : undefined;
    if (
      request.method !== 'POST' &&
      !(sessions && named && (request.method === 'GET' || request.method === 'DELETE'))
    ) {
      request.resume();
      const why = sessions
        ? 'GET and DELETE need the Mcp-Session-Id that initialize answered with'
        : 'this MCP server keeps no sessions here (a cluster without REDIS_URL): POST only';
      refuse(response, 405, -32000, why, { allow: sessions ? 'GET, POST, DELETE' : 'POST' });
      return;
    }

    const authorization = request.headers.authorization ?? '';
    let caller: Caller;
    try {
      caller = await authenticate({ headers: new Headers({ authorization }) } as Request);
    } catch (error) {
      request.resume();
      if (error instanceof GraphQLError) return refuseWithGraphqlError(response, error);
      throw error;
    }

    if (request.method !== 'POST' && sessions && named) {
      request.resume();
      try {
        await limitRate(caller);
        const session = await sessions.open(named, caller);
        if (request.method === 'DELETE') {
          await sessions.delete(named, session);
          response.writeHead(200).end();
        } else await sessions.stream(named, session, authorization, response);
      } catch (error) {
        if (error instanceof GraphQLError) return refuseWithGraphqlError(response, error);
        if (error instanceof SessionNotFound) return refuse(response, 404, -32001, error.message);
        throw error;
      }
      return;
    }

    let body: unknown;
    try {
      body = JSON.parse(await readBody(request));
    } catch {
      refuse(response, 400, -32700, 'Parse error: the body is not JSON');
      return;
    }
    // Tool calls and resource reads count through their GraphQL operations; anything else
    // (initialize, tools/list, ping) counts once here.
    const methods = methodsOf(body);
    if (methods.some((method) => !COUNTED_BY_GRAPHQL.has(method))) {
      try {
        await limitRate(caller);
      } catch (error) {
        if (error instanceof GraphQLError) return refuseWithGraphqlError(response, error);
        throw error;
      }
    }

    let session: RequestSession | undefined;
    if (sessions) {
      try {
        session = await sessionOf(sessions, caller, named, methods, response);
      } catch (error) {
        if (error instanceof SessionNotFound) return refuse(response, 404, -32001, error.message);
        throw error;
      }
    }
    const graphql = graphqlOverFetch(graphqlFetch, GRAPHQL_URL, authorization);
    const direct = directCall(request, body);
    if (direct) {
      const result = await callNamedTool(direct.name, direct.args, caller.scopes, graphql, log);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(toolsCallResponse(result, direct.id));
      return;
    }
    const server = createMcpServer(graphql, caller.scopes, log, session);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    response.once('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
  }

  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.error({ err: error }, 'MCP request failed');
      if (!response.headersSent) refuse(response, 500, -32603, 'Internal error');
      else response.end();
    });
  };
}
