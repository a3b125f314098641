import Ajv, { type ErrorObject } from 'ajv';
import schemaV1 from '../../schemas/agent-export.v1.schema.json';
import schemaV2 from '../../schemas/agent-export.v2.schema.json';
import { BlockLimitExceededError, ValidationError } from '../errors';
import { parseInstant } from '../schema/date-time';
import { characterCount, real } from '../schema/rules';

/**
 * The agent file (issue 11): one agent with its blocks, tools, conversation, memories and links,
 * as one versioned JSON document. Its published JSON Schema is schemas/agent-export.v2.schema.json;
 * the types below are what that schema admits (the columns of this release). Readers ignore
 * properties they do not know, so a later release may add optional ones (a block's version, a
 * message's sequence number) without a new version. Version 2 (issue 17) adds each memory's
 * validity and supersession chain: a version 1 reader would take every fact as holding, so it is
 * a new version. Version 1 files still import (their memories hold from their creation).
 */
export const AGENT_FILE_FORMAT = 'agentmem.agent';
export const AGENT_FILE_VERSION = 2;
/** Every version this server reads, each with its JSON Schema. */
const READABLE_VERSIONS = [1, 2] as const;

type Json = unknown;
type Timestamp = string;

interface AgentFileAgent {
  id: string;
  name?: string | null;
  agentType?: string | null;
  description?: string | null;
  system?: string | null;
  topic?: string | null;
  messageIds?: string[] | null;
  metadata?: Json;
  llmConfig?: Json;
  embeddingConfig?: Json;
  toolRules?: Json;
  mcpTools?: Json;
  createdAt?: Timestamp;
}

interface AgentFileBlock {
  id: string;
  label: string;
  value: string;
  limit?: number;
  description?: string | null;
  templateName?: string | null;
  isTemplate?: boolean;
  metadata?: Json;
  createdAt?: Timestamp;
}

interface AgentFileTool {
  id: string;
  name: string;
  description?: string | null;
  jsonSchema?: Record<string, unknown> | null;
  sourceType?: string | null;
  sourceCode?: string | null;
  tags?: string[] | null;
  metadata?: Json;
  createdAt?: Timestamp;
}

export interface AgentFileMessage {
  id: string;
  role: 'user' | 'assistant' | 'system' | 'tool';
  text?: string | null;
  content?: Json;
  model?: string | null;
  name?: string | null;
  toolCalls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }> | null;
  toolCallId?: string | null;
  stepId?: string | null;
  otid?: string | null;
  toolReturns?: Json;
  groupId?: string | null;
  senderId?: string | null;
  createdAt?: Timestamp;
}

export interface AgentFileMemory {
  id: string;
  content: string;
  hash?: string | null;
  metadata?: Json;
  score?: number | null;
  memoryType: 'factual' | 'episodic' | 'procedural' | 'semantic' | 'working';
  scope: string;
  level: string;
  importance?: number;
  accessCount?: number;
  lastAccessed?: Timestamp | null;
  createdAt?: Timestamp;
  /** Version 2: the fact's period, its successor among this document's memories, its time to live. */
  validFrom?: Timestamp;
  validUntil?: Timestamp | null;
  supersededById?: string | null;
  expiresAt?: Timestamp | null;
}

export interface AgentFile {
  format: typeof AGENT_FILE_FORMAT;
  version: (typeof READABLE_VERSIONS)[number];
  exportedAt?: Timestamp;
  agent: AgentFileAgent;
  blocks: AgentFileBlock[];
  tools: AgentFileTool[];
  messages: AgentFileMessage[];
  memories: AgentFileMemory[];
  links: { blocksAgents: Array<{ blockId: string; blockLabel: string }>; toolsAgents: Array<{ toolId: string }> };
}

/** Each version's JSON Schema validator, compiled once. ajv counts lengths in code points, as PostgreSQL does. */
const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validators = { 1: ajv.compile<AgentFile>(schemaV1), 2: ajv.compile<AgentFile>(schemaV2) };

/** Every path named in an error starts at the mutation's argument: ["document", "blocks", "2", "value"]. */
const ROOT = 'document';

function pathOf(error: ErrorObject): string[] {
  const path = [
    ROOT,
    ...error.instancePath
      .split('/')
      .slice(1)
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~')),
  ];
  if (error.keyword === 'required') path.push(String((error.params as { missingProperty: string }).missingProperty));
  return path;
}

function describe(error: ErrorObject): string {
  if (error.keyword === 'required') return 'is required';
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    return `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`;
  }
  return error.message ?? 'is not valid';
}

const at = (...path: Array<string | number>) => [ROOT, ...path.map(String)];

/** A timestamp of the document as a Date, between the years 1 and 9999 (what PostgreSQL reads back). */
export function documentDate(value: string | null | undefined, path: Array<string | number>): Date | undefined {
  if (value == null) return undefined;
  const date = parseInstant(value);
  if (!date)
    throw new ValidationError(
      `${JSON.stringify(value)} is not an RFC 3339 instant (one that exists) between the years 1 and 9999`,
      at(...path),
    );
  return date;
}

function assertUnique(ids: string[], path: (index: number) => Array<string | number>, what: string): Set<string> {
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (seen.has(id)) throw new ValidationError(`${what} ${JSON.stringify(id)} appears twice`, at(...path(index)));
    seen.add(id);
  });
  return seen;
}

/** VALIDATION at the first memory whose chain of successors comes back to it. */
function assertNoSupersessionCycle(memories: AgentFileMemory[]): void {
  const successorOf = new Map(memories.map((memory) => [memory.id, memory.supersededById ?? null]));
  memories.forEach((memory, index) => {
    const seen = new Set([memory.id]);
    for (let next = successorOf.get(memory.id) ?? null; next !== null; next = successorOf.get(next) ?? null) {
      if (seen.has(next))
        throw new ValidationError(
          `the memories superseding ${JSON.stringify(memory.id)} form a cycle`,
          at('memories', index, 'supersededById'),
        );
      seen.add(next);
    }
  });
}

function assertReal(value: number | null | undefined, path: Array<string | number>): void {
  if (value == null) return;
  const checked = real.safeParse(value);
  if (!checked.success)
    throw new ValidationError(checked.error.issues[0]?.message ?? 'is not a 4-byte float', at(...path));
}

/**
 * The document as an AgentFile, or the first thing wrong with it as a typed error naming its
 * path: the format and version first (a file of another version is read by no rule of this one),
 * then the JSON Schema, then what a schema cannot say: unique ids, references that resolve, one
 * block per label, values within their blocks' limits, the message rules of appendMessages.
 * Nothing is read from or written to the database here.
 */
export function parseAgentFile(document: unknown): AgentFile {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ValidationError('must be a JSON object: an agent file written by exportAgent', [ROOT]);
  }
  const { format, version } = document as { format?: unknown; version?: unknown };
  if (format !== AGENT_FILE_FORMAT)
    throw new ValidationError(`must be ${JSON.stringify(AGENT_FILE_FORMAT)}`, at('format'));
  if (!READABLE_VERSIONS.includes(version as 1 | 2)) {
    throw new ValidationError(
      `version ${JSON.stringify(version)} is not one this server reads (it reads versions ${READABLE_VERSIONS.join(
        ' and ',
      )})`,
      at('version'),
    );
  }
  const validateSchema = validators[version as 1 | 2];
  if (!validateSchema(document)) {
    const error = validateSchema.errors![0]!;
    throw new ValidationError(describe(error), pathOf(error));
  }
  const file = document;

  if (file.exportedAt !== undefined) documentDate(file.exportedAt, ['exportedAt']);
  documentDate(file.agent.createdAt, ['agent', 'createdAt']);

  const blockIds = assertUnique(
    file.blocks.map((block) => block.id),
    (index) => ['blocks', index, 'id'],
    'block',
  );
  const labels = new Map<string, string>();
  file.blocks.forEach((block, index) => {
    documentDate(block.createdAt, ['blocks', index, 'createdAt']);
    const limit = block.limit ?? 2000;
    const length = characterCount(block.value);
    if (length > limit) throw new BlockLimitExceededError(length, limit, at('blocks', index, 'value'));
  });
  const toolIds = assertUnique(
    file.tools.map((tool) => tool.id),
    (index) => ['tools', index, 'id'],
    'tool',
  );
  assertUnique(
    file.tools.map((tool) => tool.name),
    (index) => ['tools', index, 'name'],
    'tool name',
  );
  for (const [index, tool] of file.tools.entries()) documentDate(tool.createdAt, ['tools', index, 'createdAt']);

  const messageIds = assertUnique(
    file.messages.map((message) => message.id),
    (index) => ['messages', index, 'id'],
    'message',
  );
  file.messages.forEach((message, index) => {
    documentDate(message.createdAt, ['messages', index, 'createdAt']);
    // The rules of appendMessages, so that an imported conversation is one the API could have written.
    if (message.role === 'tool' && !message.toolCallId)
      throw new ValidationError('tool messages must carry toolCallId', at('messages', index, 'toolCallId'));
    const emptyContent =
      message.content == null ||
      message.content === '' ||
      (Array.isArray(message.content) && message.content.length === 0);
    if (!message.text && emptyContent && (message.toolCalls?.length ?? 0) === 0) {
      throw new ValidationError('a message needs text or content', at('messages', index, 'text'));
    }
  });
  const memoryIds = assertUnique(
    file.memories.map((memory) => memory.id),
    (index) => ['memories', index, 'id'],
    'memory',
  );
  file.memories.forEach((memory, index) => {
    const createdAt = documentDate(memory.createdAt, ['memories', index, 'createdAt']);
    documentDate(memory.lastAccessed, ['memories', index, 'lastAccessed']);
    assertReal(memory.score, ['memories', index, 'score']);
    assertReal(memory.importance, ['memories', index, 'importance']);
    const validFrom = documentDate(memory.validFrom, ['memories', index, 'validFrom']) ?? createdAt;
    const validUntil = documentDate(memory.validUntil, ['memories', index, 'validUntil']);
    documentDate(memory.expiresAt, ['memories', index, 'expiresAt']);
    if (validUntil && !validFrom)
      throw new ValidationError(
        'needs validFrom (or createdAt): when the fact began',
        at('memories', index, 'validFrom'),
      );
    if (validUntil && validFrom && validUntil < validFrom)
      throw new ValidationError('must not be before validFrom', at('memories', index, 'validUntil'));
    if (memory.supersededById != null && !memoryIds.has(memory.supersededById))
      throw new ValidationError(
        `no memory ${JSON.stringify(memory.supersededById)} in this document`,
        at('memories', index, 'supersededById'),
      );
  });
  assertNoSupersessionCycle(file.memories);

  // References: every link and every window entry names a row of this document.
  const linkedBlocks = new Set<string>();
  file.links.blocksAgents.forEach((link, index) => {
    const block = file.blocks.find((candidate) => candidate.id === link.blockId);
    if (!blockIds.has(link.blockId) || !block)
      throw new ValidationError(
        `no block ${JSON.stringify(link.blockId)} in this document`,
        at('links', 'blocksAgents', index, 'blockId'),
      );
    if (block.label !== link.blockLabel) {
      throw new ValidationError(
        `block ${JSON.stringify(link.blockId)} is labelled ${JSON.stringify(block.label)}, ` +
          `not ${JSON.stringify(link.blockLabel)}`,
        at('links', 'blocksAgents', index, 'blockLabel'),
      );
    }
    const holder = labels.get(link.blockLabel);
    if (holder !== undefined && holder !== link.blockId) {
      throw new ValidationError(
        `the agent already holds a ${JSON.stringify(link.blockLabel)} block (${holder})`,
        at('links', 'blocksAgents', index, 'blockLabel'),
      );
    }
    labels.set(link.blockLabel, link.blockId);
    linkedBlocks.add(link.blockId);
  });
  file.links.toolsAgents.forEach((link, index) => {
    if (!toolIds.has(link.toolId))
      throw new ValidationError(
        `no tool ${JSON.stringify(link.toolId)} in this document`,
        at('links', 'toolsAgents', index, 'toolId'),
      );
  });
  (file.agent.messageIds ?? []).forEach((id, index) => {
    if (!messageIds.has(id))
      throw new ValidationError(`no message ${JSON.stringify(id)} in this document`, at('agent', 'messageIds', index));
  });
  return file;
}
