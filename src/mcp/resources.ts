import { ErrorCode, McpError, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { NotFoundError } from '../errors';
import type { RunGraphql } from './graphql';
import { lower, MEMORY_FIELDS } from './tools';

/**
 * The resources, shared by the server (resources/list, read, subscribe over a session) and the
 * stdio relay (resources/subscribe):
 * - each agent's core-memory blocks, `agentmem://agents/{agentId}/blocks/{label}` (text/plain,
 *   the block's value), updated on each new version of the block (blockChanged);
 * - each agent's long-term memories, `agentmem://agents/{agentId}/memories` (application/json,
 *   the newest ones), updated on each change of any of them (memoryChanged): created, updated,
 *   deleted, restored, purged, superseded, invalidated, expired. One resource per agent rather
 *   than per memory: an agent may have millions, and what a client wants to hear is "your
 *   memories changed, read them again or recall".
 * Ids and labels are URI-encoded.
 */

export const BLOCK_URI_TEMPLATE = 'agentmem://agents/{agentId}/blocks/{label}';
export const MEMORIES_URI_TEMPLATE = 'agentmem://agents/{agentId}/memories';

/** How many memories reading the memories resource gives: the newest. */
const MEMORIES_RESOURCE_SIZE = 50;

const BLOCK_URI = /^agentmem:\/\/agents\/([^/]+)\/blocks\/([^/]+)$/;
const MEMORIES_URI = /^agentmem:\/\/agents\/([^/]+)\/memories$/;

export type NamedResource = { kind: 'block'; agentId: string; label: string } | { kind: 'memories'; agentId: string };

export function blockUri(agentId: string, label: string): string {
  return `agentmem://agents/${encodeURIComponent(agentId)}/blocks/${encodeURIComponent(label)}`;
}

export function memoriesUri(agentId: string): string {
  return `agentmem://agents/${encodeURIComponent(agentId)}/memories`;
}

/** What a URI names; null for any other URI. */
export function parseResourceUri(uri: string): NamedResource | null {
  try {
    const block = BLOCK_URI.exec(uri);
    if (block) return { kind: 'block', agentId: decodeURIComponent(block[1]!), label: decodeURIComponent(block[2]!) };
    const memories = MEMORIES_URI.exec(uri);
    if (memories) return { kind: 'memories', agentId: decodeURIComponent(memories[1]!) };
  } catch {
    // A malformed escape: no resource of ours.
  }
  return null;
}

/** The JSON-RPC code the MCP specification gives an unknown resource. */
export const RESOURCE_NOT_FOUND = -32002;

const READ_BLOCK = `query McpBlockResource($agentId: ID!, $label: String!) {
  agent(id: $agentId) { blocks(label: $label) { value } }
}`;

const READ_MEMORIES = `query McpMemoriesResource($agentId: ID!) {
  agent(id: $agentId) { memories(first: ${MEMORIES_RESOURCE_SIZE}) { nodes { ${MEMORY_FIELDS} } } }
}`;

/**
 * Reads a resource through GraphQL. An unknown URI, or an agent that is unknown, deleted or
 * another organization's, is RESOURCE_NOT_FOUND with the same words either way.
 */
export async function readResource(graphql: RunGraphql, uri: string): Promise<ReadResourceResult> {
  const named = parseResourceUri(uri);
  if (!named) throw new McpError(RESOURCE_NOT_FOUND, `no resource ${JSON.stringify(uri)}`, { uri });
  const { agentId } = named;
  const result =
    named.kind === 'block'
      ? await graphql({ query: READ_BLOCK, variables: { agentId, label: named.label } })
      : await graphql({ query: READ_MEMORIES, variables: { agentId } });
  if (!result.data) throw new McpError(ErrorCode.InternalError, result.errors?.[0]?.message ?? 'no data');
  const agent = result.data.agent as {
    blocks?: Array<{ value: string }>;
    memories?: { nodes: Record<string, unknown>[] };
  } | null;
  if (!agent) throw new McpError(RESOURCE_NOT_FOUND, new NotFoundError('agent', agentId).message, { uri });
  if (named.kind === 'memories') {
    const memories = (agent.memories?.nodes ?? []).map(lower);
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify({ memories }) }] };
  }
  const block = agent.blocks?.[0];
  if (!block) throw new McpError(RESOURCE_NOT_FOUND, `block ${JSON.stringify(named.label)} was not found`, { uri });
  return { contents: [{ uri, mimeType: 'text/plain', text: block.value }] };
}

/** What follows a resource's changes: a GraphQL subscription of its agent, and which of its events concern it. */
export function followerOf(named: NamedResource): {
  query: string;
  variables: { agentId: string };
  concerns(data: Record<string, unknown>): boolean;
} {
  const variables = { agentId: named.agentId };
  if (named.kind === 'memories') {
    return {
      query: 'subscription McpMemoriesChanged($agentId: ID!) { memoryChanged(agentId: $agentId) { kind } }',
      variables,
      concerns: (data) => data.memoryChanged !== undefined,
    };
  }
  return {
    query: 'subscription McpBlockChanged($agentId: ID!) { blockChanged(agentId: $agentId) { label } }',
    variables,
    concerns: (data) => (data.blockChanged as { label?: string } | undefined)?.label === named.label,
  };
}
