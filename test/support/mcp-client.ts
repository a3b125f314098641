import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** The MCP endpoint beside a test app's /graphql. */
export function mcpUrl(graphqlUrl: string): URL {
  return new URL('/mcp', graphqlUrl);
}

/** The SDK's own Client over Streamable HTTP, with an API key (and, to watch its requests, a fetch). */
export async function connect(
  url: URL,
  key: string,
  fetchFunction?: (input: string | URL, init?: RequestInit) => Promise<Response>,
): Promise<Client> {
  const client = new Client({ name: 'agentmem-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
      ...(fetchFunction && { fetch: fetchFunction }),
    }),
  );
  return client;
}

export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** A successful result's structured content (its text content is the same JSON). */
export async function ok<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<T> {
  const result = await call(client, name, args);
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  const [content] = result.content;
  expect(content?.type === 'text' && JSON.parse(content.text)).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

export interface Failure {
  code: string;
  field: string[] | null;
  message: string;
}

/** A tool error's AgentMem error: the JSON of its text content (a tool error has no structured content). */
export function errorOf(result: CallToolResult): Failure {
  expect(result.isError).toBe(true);
  expect(result.structuredContent).toBeUndefined();
  const [content] = result.content;
  return (JSON.parse(content?.type === 'text' ? content.text : '{}') as { error: Failure }).error;
}

export async function failure(client: Client, name: string, args: Record<string, unknown>): Promise<Failure> {
  return errorOf(await call(client, name, args));
}
