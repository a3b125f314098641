/**
 * What live updates carry between the writer and the subscribers: ids only. The rows are read
 * where the subscribers are, once per event for all of one organization's subscribers of the
 * agent, under that organization's row scope (src/live/shared-reads.ts), so an event never
 * carries data that the writer could read and the subscriber could not, and nothing but ids ever
 * crosses Redis.
 */
export interface MessagesAdded {
  kind: 'messageAdded';
  organizationId: string;
  agentId: string;
  /** In conversation order: one append's messages. */
  messageIds: string[];
}

const MEMORY_CHANGES = [
  'created',
  'updated',
  'deleted',
  'restored',
  'purged',
  'superseded',
  'invalidated',
  'expired',
  'embedded',
] as const;
export type MemoryChange = (typeof MEMORY_CHANGES)[number];

interface MemoriesChanged {
  kind: 'memoryChanged';
  change: MemoryChange;
  organizationId: string;
  agentId: string;
  memoryIds: string[];
}

/** A change to core-memory blocks attached to the agent (updateBlock, revertBlock): a new version each. */
interface BlocksChanged {
  kind: 'blockChanged';
  organizationId: string;
  agentId: string;
  blockIds: string[];
}

/**
 * A change to an MCP session over Streamable HTTP (src/mcp/sessions.ts), told to the process that
 * holds its stream, whichever received the request. `agentId` is the session's id: the bus's
 * channels are per organization and one id, and a session belongs to one organization.
 */
export interface McpSessionChanged {
  kind: 'mcpSessionChanged';
  organizationId: string;
  agentId: string;
  /**
   * subscribed, unsubscribed: the client's requests (uri: the resource); listening: the stream's
   * holder follows `uri` now; stream: a new stream opened (uri: its token), older ones end;
   * ended: the session was deleted.
   */
  change: 'subscribed' | 'unsubscribed' | 'listening' | 'stream' | 'ended';
  uri: string;
}

export type LiveEvent = MessagesAdded | MemoriesChanged | BlocksChanged | McpSessionChanged;
export type LiveEventKind = LiveEvent['kind'];
export type LiveEventOf<K extends LiveEventKind> = Extract<LiveEvent, { kind: K }>;

/**
 * The channel of one agent's events of one kind. The organization is part of it: a subscriber
 * listens only on its own organization's channels, whatever agent id it names.
 */
export function liveTopic(kind: LiveEventKind, organizationId: string, agentId: string): string {
  return `agentmem:${kind}:${organizationId}:${agentId}`;
}
