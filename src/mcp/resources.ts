/**
 * The resources: each agent's core-memory blocks, `agentmem://agents/{agentId}/blocks/{label}`
 * (both parts URI-encoded). Shared by the server (resources/list and read) and the stdio relay
 * (resources/subscribe).
 */

export const BLOCK_URI_TEMPLATE = 'agentmem://agents/{agentId}/blocks/{label}';

const BLOCK_URI = /^agentmem:\/\/agents\/([^/]+)\/blocks\/([^/]+)$/;

export function blockUri(agentId: string, label: string): string {
  return `agentmem://agents/${encodeURIComponent(agentId)}/blocks/${encodeURIComponent(label)}`;
}

/** The agent and label a block's URI names; null for any other URI. */
export function parseBlockUri(uri: string): { agentId: string; label: string } | null {
  const match = BLOCK_URI.exec(uri);
  if (!match) return null;
  try {
    return { agentId: decodeURIComponent(match[1]!), label: decodeURIComponent(match[2]!) };
  } catch {
    return null;
  }
}

/** The JSON-RPC code the MCP specification gives an unknown resource. */
export const RESOURCE_NOT_FOUND = -32002;

/** What reads a block: its agent and its value, in one GraphQL document (null agent: not found). */
export const READ_BLOCK = `query McpBlockResource($agentId: ID!, $label: String!) {
  agent(id: $agentId) { blocks(label: $label) { value } }
}`;
