/**
 * How the MCP tools reach AgentMem: one GraphQL operation each, through the same schema and
 * plugins as any client (src/http/yoga.ts), so that keys, scopes, row-level security, limits,
 * idempotency, metrics, logs and traces hold as they do on /graphql. Over Streamable HTTP the
 * operation runs in the server's own process (src/mcp/http.ts); over stdio it is POSTed to the
 * server at AGENTMEM_URL (scripts/agentmem.ts).
 */

interface GraphqlCall {
  query: string;
  variables?: Record<string, unknown>;
  /** Sent as the Idempotency-Key header: a retried write then runs once (src/http/idempotency.ts). */
  idempotencyKey?: string;
}

interface GraphqlError {
  message: string;
  extensions?: { code?: string; field?: string[] | null };
}

export interface GraphqlResult {
  data?: Record<string, unknown> | null;
  errors?: GraphqlError[];
}

export type RunGraphql = (call: GraphqlCall) => Promise<GraphqlResult>;

/** One GraphQL request by fetch: the server's endpoint, or yoga's own fetch within the process. */
export function graphqlOverFetch(
  fetchFunction: (url: string, init: RequestInit) => Promise<Response> | Response,
  url: string,
  authorization: string,
): RunGraphql {
  return async ({ query, variables, idempotencyKey }) => {
    const response = await fetchFunction(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization,
        ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }),
      },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    try {
      return JSON.parse(text) as GraphqlResult;
    } catch {
      // Not GraphQL's answer (a proxy's error page): told as the error it is.
      return { errors: [{ message: `the server answered ${response.status} without a GraphQL response` }] };
    }
  };
}
