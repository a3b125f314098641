import { z } from 'zod';
import type { Scope } from '../auth/caller';
import { NotFoundError, ValidationError, VersionConflictError } from '../errors';
import { IDEMPOTENCY_KEY_HEADER } from '../idempotency/key';
import type { GraphqlResult, RunGraphql } from './graphql';

/**
 * The MCP tools: what an agent does with its memory, each a GraphQL operation (or, for the
 * core-memory edits, a read and a versioned write) through the same schema as any client. Names
 * and descriptions are written for the model that reads them in tools/list.
 */

/** What an AgentMem error is over MCP: the tool result's structuredContent, with isError. */
export interface ToolFailure {
  code: string;
  field: string[] | null;
  message: string;
}

export class ToolError extends Error {
  constructor(readonly failure: ToolFailure) {
    super(failure.message);
  }
}

const fromAppError = (error: NotFoundError | ValidationError | VersionConflictError) =>
  new ToolError({ code: error.code, field: error.field, message: error.message });

// ---------------------------------------------------------------------------------------------
// Input building blocks: each refuses what GraphQL would refuse, with a field the model can fix.

const noNul = (value: string) => !value.includes('\u0000');
const NUL_MESSAGE = 'must not contain NUL (U+0000) characters';

/** Any text argument: at most `max` characters, no NUL. */
const text = (max: number) => z.string().max(max).refine(noNul, NUL_MESSAGE);
/** Text that must say something. */
const words = (max: number) => text(max).min(1);
const id = (what: string) => words(255).describe(`The ${what}'s id, as AgentMem returned it (e.g. "agent-…").`);
const json = z.record(z.string(), z.unknown());

const MAX_CONTENT = 100_000;
const MAX_TEXT = 1_000_000;

const MemoryTypeName = z
  .enum(['episodic', 'factual', 'semantic', 'procedural', 'working'])
  .describe(
    'episodic: an event or experience; factual: a plain fact; semantic: knowledge or a preference; procedural: ' +
      'how to do something; working: scratch notes for the current task.',
  );
const MessageRoleName = z.enum(['user', 'assistant', 'system', 'tool']);

// ---------------------------------------------------------------------------------------------
// Outputs: the structuredContent of each tool, declared as its outputSchema.

const MemoryOut = z.object({
  id: z.string(),
  agentId: z.string(),
  userId: z.string(),
  content: z.string(),
  memoryType: MemoryTypeName,
  scope: z.string(),
  level: z.string(),
  importance: z.number(),
  metadata: json,
  createdAt: z.string(),
  updatedAt: z.string(),
});
const BlockOut = z.object({
  id: z.string(),
  label: z.string(),
  value: z.string(),
  limit: z.number().int().describe('The most characters the value may hold.'),
  version: z.number().int().describe('Pass it as expectedVersion to change the block without overwriting others.'),
  description: z.string().nullable(),
});
const MessageOut = z.object({
  id: z.string(),
  role: MessageRoleName,
  name: z.string().nullable(),
  text: z.string().nullable(),
  toolCallId: z.string().nullable(),
  createdAt: z.string(),
});

export const MEMORY_FIELDS = 'id agentId userId content memoryType scope level importance metadata createdAt updatedAt';
const BLOCK_FIELDS = 'id label value limit version description';
const MESSAGE_FIELDS = 'id role name text toolCallId createdAt';

type Memory = z.infer<typeof MemoryOut>;
type Block = z.infer<typeof BlockOut>;
type Message = z.infer<typeof MessageOut>;

/** GraphQL's enums are upper case; the tools speak lower case, as models write them. */
export const lower = <T extends { memoryType?: unknown; role?: unknown }>(row: T): T => ({
  ...row,
  ...(typeof row.memoryType === 'string' && { memoryType: row.memoryType.toLowerCase() }),
  ...(typeof row.role === 'string' && { role: row.role.toLowerCase() }),
});

// ---------------------------------------------------------------------------------------------
// Reading GraphQL's answers.

type FieldMap = (field: string[]) => string[];
const sameField: FieldMap = (field) => field;

// A refusal of the Idempotency-Key header (src/http/idempotency.ts) is about the argument that
// became it: the model fixes `idempotencyKey`, it never saw a header.
const headerAsArgument = (field: string[]): string[] =>
  field.length === 1 && field[0] === IDEMPOTENCY_KEY_HEADER ? ['idempotencyKey'] : field;

/** The data of a result, or the ToolError of its first error (top-level errors: scopes, limits, input). */
function dataOf(result: GraphqlResult, mapField: FieldMap = sameField): Record<string, unknown> {
  const error = result.errors?.[0];
  if (error || !result.data) {
    const field = error?.extensions?.field;
    throw new ToolError({
      code: error?.extensions?.code ?? 'INTERNAL',
      field: field ? mapField(headerAsArgument(field)) : null,
      message: error?.message ?? 'the server answered without data',
    });
  }
  return result.data;
}

/** A mutation's payload, or the ToolError of its typed error (`... on Error { code field message }`). */
function payloadOf<T>(result: GraphqlResult, name: string, mapField: FieldMap = sameField): T {
  const payload = dataOf(result, mapField)[name] as { code?: string; field?: string[] | null; message?: string };
  if (typeof payload.code === 'string') {
    throw new ToolError({
      code: payload.code,
      field: payload.field ? mapField(payload.field) : null,
      message: payload.message ?? payload.code,
    });
  }
  return payload as T;
}

const ERROR_FIELDS = '... on Error { code field message }';

function agentNotFound(agentId: string): ToolError {
  return fromAppError(new NotFoundError('agent', agentId, ['agentId']));
}

// ---------------------------------------------------------------------------------------------
// The tools.

export interface ToolDefinition<
  Input extends z.ZodRawShape = z.ZodRawShape,
  Output extends z.ZodRawShape = z.ZodRawShape,
> {
  name: string;
  title: string;
  description: string;
  /** The scope an API key needs to see and call it. */
  scope: Scope;
  input: z.ZodObject<Input>;
  output: z.ZodObject<Output>;
  annotations: { readOnlyHint: boolean; destructiveHint?: boolean; idempotentHint?: boolean };
  run(args: z.infer<z.ZodObject<Input>>, graphql: RunGraphql): Promise<z.infer<z.ZodObject<Output>>>;
}

function tool<Input extends z.ZodRawShape, Output extends z.ZodRawShape>(
  definition: Omit<ToolDefinition<Input, Output>, 'input' | 'output'> & { input: Input; output: Output },
): ToolDefinition {
  return {
    ...definition,
    input: z.strictObject(definition.input),
    output: z.object(definition.output),
  } as unknown as ToolDefinition;
}

const idempotencyKey = words(255)
  .optional()
  .describe(
    'Any unique string (e.g. a UUID) for this write: calling again with the same key and arguments returns the ' +
      'first answer instead of writing twice. Use it when retrying after a timeout.',
  );

const remember = tool({
  name: 'remember',
  title: 'Remember',
  description:
    'Stores one or several long-term memories for an agent (up to 500 at once, all or none). Write each memory as ' +
    'a self-contained statement ("Ada prefers concise answers"), not a fragment of conversation. A memory whose ' +
    'content the agent already has (same words, ignoring case and spacing) is not stored twice: the existing one ' +
    'is returned with deduplicated: true. Later, find memories with `recall`.',
  scope: 'write',
  input: {
    agentId: id('agent'),
    memories: z
      .array(
        z.strictObject({
          content: words(MAX_CONTENT).describe('The memory itself, 1 to 100000 characters.'),
          memoryType: MemoryTypeName.default('semantic'),
          scope: words(50)
            .default('user')
            .describe('Whom it concerns, 1 to 50 characters, e.g. "user", "agent", "org".'),
          level: words(50).default('core').describe('How lasting it is, 1 to 50 characters, e.g. "core", "session".'),
          importance: z.number().min(0).max(1).optional().describe('0 (trivial) to 1 (essential); default 0.'),
          metadata: json.optional().describe('Any JSON object, e.g. {"topic": "travel"}; recall can filter on it.'),
          userId: id('user').optional().describe("The user it is about; default: the API key's user."),
        }),
      )
      .min(1)
      .max(500),
    idempotencyKey,
  },
  output: {
    memories: z.array(MemoryOut.extend({ deduplicated: z.boolean() })),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async run(args, graphql) {
    const inputs = args.memories.map((memory) => ({
      ...memory,
      agentId: args.agentId,
      memoryType: memory.memoryType.toUpperCase(),
    }));
    const result = await graphql({
      query: `mutation McpRemember($inputs: [CreateMemoryInput!]!) {
        createMemories(inputs: $inputs) {
          ... on MemoriesPayload { results { deduplicated memory { ${MEMORY_FIELDS} } } }
          ${ERROR_FIELDS}
        }
      }`,
      variables: { inputs },
      ...(args.idempotencyKey !== undefined && { idempotencyKey: args.idempotencyKey }),
    });
    // ["inputs", "0", "content"] is ["memories", "0", "content"] here; the agent is given once.
    const mapField: FieldMap = (field) =>
      field[0] === 'inputs' ? (field[2] === 'agentId' ? ['agentId'] : ['memories', ...field.slice(1)]) : field;
    const payload = payloadOf<{ results: Array<{ deduplicated: boolean; memory: Memory }> }>(
      result,
      'createMemories',
      mapField,
    );
    return { memories: payload.results.map(({ deduplicated, memory }) => ({ ...lower(memory), deduplicated })) };
  },
});

/** recall's GraphQL document (exported for `npm run bench`, which sends it beside the tool). */
export const RECALL_QUERY = `query McpRecall($agentId: ID!, $withAgent: Boolean!, $query: String, $filter: MemoryFilter,
    $mode: SearchMode, $vector: [Float!], $limit: Int, $minScore: Float, $track: Boolean) {
  agent(id: $agentId) @include(if: $withAgent) { id }
  searchMemories(query: $query, filter: $filter, mode: $mode, vector: $vector, limit: $limit,
      minScore: $minScore, track: $track) {
    score snippet memory { ${MEMORY_FIELDS} }
  }
}`;

const recall = tool({
  name: 'recall',
  title: 'Recall memories',
  description:
    'Searches long-term memories and returns the best matches first, each with a score (relevance, importance, ' +
    'recency and use combined) and a snippet. Give `query` as a few keywords or a question (words, "quoted ' +
    'phrases", -excluded). Narrow with agentId, userId, memoryTypes, scopes, levels or a metadata condition. ' +
    'mode: text (by words, the default), vector (by meaning: give `vector`, an embedding of the query) or hybrid ' +
    '(both). Recalled memories count as used, which raises their rank later unless track is false.',
  scope: 'read',
  input: {
    query: words(10_000).optional().describe('What to look for: needed unless mode is vector.'),
    agentId: id('agent').optional().describe("Only this agent's memories (recommended)."),
    userId: id('user').optional().describe('Only memories about this user.'),
    memoryTypes: z.array(MemoryTypeName).min(1).max(5).optional(),
    scopes: z.array(words(50)).min(1).max(100).optional(),
    levels: z.array(words(50)).min(1).max(100).optional(),
    metadata: json
      .optional()
      .describe(
        'A condition on the metadata: {"path": "topic", "eq": "travel"}, or {"and"|"or": [conditions]}, ' +
          '{"not": condition}; operators eq, ne, gt, gte, lt, lte, in, nin, contains, exists.',
      ),
    mode: z
      .enum(['text', 'vector', 'hybrid'])
      .optional()
      .describe('Default: hybrid when a vector is given or the server embeds queries itself, else text.'),
    vector: z
      .array(z.number())
      .min(1)
      .max(16_000)
      .optional()
      .describe("The query's embedding, for vector and hybrid mode (the server's EMBEDDINGS_DIMENSIONS numbers)."),
    limit: z.number().int().min(1).max(100).default(10),
    minScore: z.number().optional().describe('Leave out hits scoring less.'),
    track: z.boolean().default(true).describe('false: look without counting the memories as used.'),
  },
  output: {
    hits: z.array(z.object({ score: z.number(), snippet: z.string(), memory: MemoryOut })),
  },
  annotations: { readOnlyHint: true },
  async run(args, graphql) {
    const filter = {
      ...(args.agentId !== undefined && { agentId: args.agentId }),
      ...(args.userId !== undefined && { userId: args.userId }),
      ...(args.memoryTypes && { memoryTypes: args.memoryTypes.map((type) => type.toUpperCase()) }),
      ...(args.scopes && { scopes: args.scopes }),
      ...(args.levels && { levels: args.levels }),
      ...(args.metadata && { metadata: args.metadata }),
    };
    const result = await graphql({
      query: RECALL_QUERY,
      variables: {
        agentId: args.agentId ?? '',
        withAgent: args.agentId !== undefined,
        query: args.query,
        filter,
        mode: args.mode?.toUpperCase(),
        vector: args.vector,
        limit: args.limit,
        minScore: args.minScore,
        track: args.track,
      },
    });
    const mapField: FieldMap = (field) => (field[0] === 'filter' ? field.slice(1) : field);
    const data = dataOf(result, mapField);
    if (args.agentId !== undefined && data.agent == null) throw agentNotFound(args.agentId);
    const hits = data.searchMemories as Array<{ score: number; snippet: string; memory: Memory }>;
    return { hits: hits.map((hit) => ({ ...hit, memory: lower(hit.memory) })) };
  },
});

const forget = tool({
  name: 'forget',
  title: 'Forget a memory',
  description:
    'Removes a long-term memory (a soft delete: it leaves every recall and list, and an admin can restore it). ' +
    'Use it when a memory is wrong or no longer true; to correct it instead, use update_memory.',
  scope: 'write',
  input: { memoryId: id('memory') },
  output: { memoryId: z.string(), forgotten: z.literal(true) },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async run(args, graphql) {
    const result = await graphql({
      query: `mutation McpForget($id: ID!) { deleteMemory(id: $id) { ... on DeletedPayload { id } ${ERROR_FIELDS} } }`,
      variables: { id: args.memoryId },
    });
    const payload = payloadOf<{ id: string }>(result, 'deleteMemory', memoryIdField);
    return { memoryId: payload.id, forgotten: true as const };
  },
});

const memoryIdField: FieldMap = (field) => (field[0] === 'id' ? ['memoryId'] : field);

const restore = tool({
  name: 'restore',
  title: 'Restore a forgotten memory',
  description:
    'Brings back a memory removed by forget, as it was. Needs an admin API key. A memory that was not forgotten ' +
    'is a CONFLICT.',
  scope: 'admin',
  input: { memoryId: id('memory') },
  output: { memory: MemoryOut },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async run(args, graphql) {
    const result = await graphql({
      query: `mutation McpRestore($id: ID!) {
        restoreMemory(id: $id) { ... on MemoryPayload { memory { ${MEMORY_FIELDS} } } ${ERROR_FIELDS} }
      }`,
      variables: { id: args.memoryId },
    });
    const payload = payloadOf<{ memory: Memory }>(result, 'restoreMemory', memoryIdField);
    return { memory: lower(payload.memory) };
  },
});

const updateMemory = tool({
  name: 'update_memory',
  title: 'Update a memory',
  description:
    'Corrects a long-term memory in place: new content, type, scope, level, importance or metadata (only the ' +
    'fields given change; its history keeps the old values). New content that another memory of the agent already ' +
    'has is a CONFLICT: forget this one instead.',
  scope: 'write',
  input: {
    memoryId: id('memory'),
    content: words(MAX_CONTENT).optional(),
    memoryType: MemoryTypeName.optional(),
    scope: words(50).optional(),
    level: words(50).optional(),
    importance: z.number().min(0).max(1).optional(),
    metadata: json.optional().describe('Replaces the whole metadata object.'),
  },
  output: { memory: MemoryOut },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async run({ memoryId, ...changes }, graphql) {
    if (Object.keys(changes).length === 0)
      throw fromAppError(new ValidationError('give at least one field to change', ['content']));
    const input = { ...changes, ...(changes.memoryType && { memoryType: changes.memoryType.toUpperCase() }) };
    const result = await graphql({
      query: `mutation McpUpdateMemory($id: ID!, $input: UpdateMemoryInput!) {
        updateMemory(id: $id, input: $input) { ... on MemoryPayload { memory { ${MEMORY_FIELDS} } } ${ERROR_FIELDS} }
      }`,
      variables: { id: memoryId, input },
    });
    const mapField: FieldMap = (field) => (field[0] === 'input' ? field.slice(1) : memoryIdField(field));
    const payload = payloadOf<{ memory: Memory }>(result, 'updateMemory', mapField);
    return { memory: lower(payload.memory) };
  },
});

// Core memory: the blocks attached to an agent (persona, human, …), always in its context.

const label = words(255).describe('The block\'s label, e.g. "persona" or "human" (see core_memory_read).');
const expectedVersion = z
  .number()
  .int()
  .min(1)
  .optional()
  .describe(
    'The version you read (core_memory_read): if the block has changed since, nothing is written and the ' +
      'answer is a CONFLICT; read it again and redo the edit.',
  );

async function readBlocks(graphql: RunGraphql, agentId: string, blockLabel?: string): Promise<Block[]> {
  const result = await graphql({
    query: `query McpCoreMemory($agentId: ID!, $label: String) {
      agent(id: $agentId) { blocks(label: $label) { ${BLOCK_FIELDS} } }
    }`,
    variables: { agentId, label: blockLabel },
  });
  const agent = dataOf(result).agent as { blocks: Block[] } | null;
  if (!agent) throw agentNotFound(agentId);
  return agent.blocks;
}

async function readBlock(graphql: RunGraphql, agentId: string, blockLabel: string): Promise<Block> {
  const [block] = await readBlocks(graphql, agentId, blockLabel);
  if (!block) {
    throw new ToolError({
      code: 'NOT_FOUND',
      field: ['label'],
      message: `the agent has no block labelled ${JSON.stringify(blockLabel)} (core_memory_read lists its blocks)`,
    });
  }
  return block;
}

/** Writes a block's new value at the version it was read (or the caller's), limits checked by the server. */
async function writeBlock(
  graphql: RunGraphql,
  block: Block,
  value: string,
  valueField: string,
  version: number,
): Promise<Block> {
  const result = await graphql({
    query: `mutation McpWriteBlock($id: ID!, $expectedVersion: Int, $value: String!) {
      updateBlock(id: $id, expectedVersion: $expectedVersion, input: { value: $value }) {
        ... on BlockPayload { block { ${BLOCK_FIELDS} } }
        ${ERROR_FIELDS}
      }
    }`,
    variables: { id: block.id, expectedVersion: version, value },
  });
  const mapField: FieldMap = (field) => (field[0] === 'input' ? [valueField] : field);
  return payloadOf<{ block: Block }>(result, 'updateBlock', mapField).block;
}

function assertVersion(block: Block, expected: number | undefined): number {
  if (expected !== undefined && expected !== block.version)
    throw fromAppError(new VersionConflictError(block.version, expected));
  return block.version;
}

const coreMemoryRead = tool({
  name: 'core_memory_read',
  title: 'Read core memory',
  description:
    "Reads an agent's core memory: its blocks (persona, human, …), each with its value, its limit in characters " +
    'and its version. Edit a block with core_memory_replace or core_memory_append, passing the version you read ' +
    'as expectedVersion.',
  scope: 'read',
  input: { agentId: id('agent'), label: label.optional().describe('Only this block; default: all of them.') },
  output: { blocks: z.array(BlockOut) },
  annotations: { readOnlyHint: true },
  async run(args, graphql) {
    return { blocks: await readBlocks(graphql, args.agentId, args.label) };
  },
});

function occurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) count += 1;
  return count;
}

const coreMemoryReplace = tool({
  name: 'core_memory_replace',
  title: 'Replace text in core memory',
  description:
    'Replaces one passage of a core memory block with new text (an empty newText deletes the passage). oldText ' +
    "must occur exactly once in the block's current value: copy it exactly, with enough surrounding words to be " +
    "unique. The new value may not exceed the block's limit (BLOCK_LIMIT_EXCEEDED: shorten it). Pass " +
    'expectedVersion to be sure no one changed the block since you read it.',
  scope: 'write',
  input: {
    agentId: id('agent'),
    label,
    oldText: words(MAX_TEXT).describe('The exact passage to replace.'),
    newText: text(MAX_TEXT).describe('What replaces it; empty to delete the passage.'),
    expectedVersion,
  },
  output: { block: BlockOut },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async run(args, graphql) {
    const block = await readBlock(graphql, args.agentId, args.label);
    const version = assertVersion(block, args.expectedVersion);
    const found = occurrences(block.value, args.oldText);
    if (found !== 1) {
      throw fromAppError(
        new ValidationError(
          found === 0
            ? `the block ${JSON.stringify(block.label)} does not contain oldText (read it with core_memory_read)`
            : `oldText occurs ${found} times in the block ${JSON.stringify(block.label)}: include more of the ` +
                'surrounding text so that it occurs once',
          ['oldText'],
        ),
      );
    }
    const at = block.value.indexOf(args.oldText);
    const value = block.value.slice(0, at) + args.newText + block.value.slice(at + args.oldText.length);
    return { block: await writeBlock(graphql, block, value, 'newText', version) };
  },
});

const coreMemoryAppend = tool({
  name: 'core_memory_append',
  title: 'Append to core memory',
  description:
    "Adds text at the end of a core memory block, on a new line. The new value may not exceed the block's limit " +
    '(BLOCK_LIMIT_EXCEEDED: shorten the block first with core_memory_replace). Pass expectedVersion to be sure no ' +
    'one changed the block since you read it.',
  scope: 'write',
  input: { agentId: id('agent'), label, text: words(MAX_TEXT).describe('The text to add.'), expectedVersion },
  output: { block: BlockOut },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async run(args, graphql) {
    const block = await readBlock(graphql, args.agentId, args.label);
    const version = assertVersion(block, args.expectedVersion);
    const value = block.value === '' ? args.text : `${block.value}\n${args.text}`;
    return { block: await writeBlock(graphql, block, value, 'text', version) };
  },
});

// The conversation.

const conversationAppend = tool({
  name: 'conversation_append',
  title: 'Append to the conversation',
  description:
    "Appends messages to an agent's conversation history, in order, all or none (up to 500). A tool message " +
    "answers an assistant message's tool call and needs its toolCallId.",
  scope: 'write',
  input: {
    agentId: id('agent'),
    messages: z
      .array(
        z.strictObject({
          role: MessageRoleName,
          text: text(MAX_TEXT).describe('What was said.'),
          name: words(255).optional().describe("The speaker's or tool's name."),
          toolCallId: words(255).optional().describe('On a tool message: the call it answers.'),
          toolCalls: z
            .array(json)
            .max(100)
            .optional()
            .describe('On an assistant message: [{"id", "type": "function", "function": {"name", "arguments"}}].'),
          stepId: words(255).optional(),
          groupId: words(255).optional(),
        }),
      )
      .min(1)
      .max(500),
    idempotencyKey,
  },
  output: { messages: z.array(MessageOut) },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async run(args, graphql) {
    const messages = args.messages.map((message) => ({ ...message, role: message.role.toUpperCase() }));
    const result = await graphql({
      query: `mutation McpAppendMessages($agentId: ID!, $messages: [MessageInput!]!) {
        appendMessages(agentId: $agentId, messages: $messages) {
          ... on MessagesPayload { messages { ${MESSAGE_FIELDS} } }
          ${ERROR_FIELDS}
        }
      }`,
      variables: { agentId: args.agentId, messages },
      ...(args.idempotencyKey !== undefined && { idempotencyKey: args.idempotencyKey }),
    });
    const payload = payloadOf<{ messages: Message[] }>(result, 'appendMessages');
    return { messages: payload.messages.map(lower) };
  },
});

const conversationSearch = tool({
  name: 'conversation_search',
  title: 'Search the conversation',
  description:
    "Finds messages in an agent's conversation history: those whose text contains `query` (case-insensitive), of " +
    'the given roles, within a time range. Returns the latest `limit` matches, oldest first. Use it to look up ' +
    'what was said earlier that is no longer in context.',
  scope: 'read',
  input: {
    agentId: id('agent'),
    query: words(1_000).optional().describe('Text the message contains (case-insensitive); default: any message.'),
    roles: z.array(MessageRoleName).min(1).max(4).optional(),
    since: z.iso.datetime({ offset: true }).optional().describe('Messages at or after this instant (ISO 8601).'),
    until: z.iso.datetime({ offset: true }).optional().describe('Messages before this instant (ISO 8601).'),
    limit: z.number().int().min(1).max(100).default(20),
  },
  output: { messages: z.array(MessageOut), totalCount: z.number().int().describe('All the matches, not only these.') },
  annotations: { readOnlyHint: true },
  async run(args, graphql) {
    const result = await graphql({
      query: `query McpConversationSearch($agentId: ID!, $text: String, $roles: [MessageRole!], $since: DateTime,
          $until: DateTime, $limit: Int) {
        agent(id: $agentId) { id }
        messages(agentId: $agentId, textContains: $text, roles: $roles, since: $since, until: $until, last: $limit) {
          totalCount nodes { ${MESSAGE_FIELDS} }
        }
      }`,
      variables: {
        agentId: args.agentId,
        text: args.query,
        roles: args.roles?.map((role) => role.toUpperCase()),
        since: args.since,
        until: args.until,
        limit: args.limit,
      },
    });
    const mapField: FieldMap = (field) => (field[0] === 'textContains' ? ['query'] : field);
    const data = dataOf(result, mapField);
    if (data.agent == null) throw agentNotFound(args.agentId);
    const messages = data.messages as { totalCount: number; nodes: Message[] };
    return { messages: messages.nodes.map(lower), totalCount: messages.totalCount };
  },
});

// Agents.

const listAgents = tool({
  name: 'list_agents',
  title: 'List agents',
  description:
    "Lists the organization's agents (oldest first) with their ids, which every other tool takes as agentId, and " +
    'how many memories and messages each has.',
  scope: 'read',
  input: {
    nameContains: words(255).optional().describe('Only agents whose name contains this (case-insensitive).'),
    limit: z.number().int().min(1).max(100).default(50),
  },
  output: {
    agents: z.array(
      z.object({
        id: z.string(),
        name: z.string().nullable(),
        description: z.string().nullable(),
        agentType: z.string().nullable(),
        memoryCount: z.number().int(),
        messageCount: z.number().int(),
      }),
    ),
    totalCount: z.number().int(),
  },
  annotations: { readOnlyHint: true },
  async run(args, graphql) {
    const result = await graphql({
      query: `query McpListAgents($filter: AgentFilter, $limit: Int) {
        agents(filter: $filter, first: $limit) {
          totalCount nodes { id name description agentType memoryCount messageCount }
        }
      }`,
      variables: {
        filter: args.nameContains === undefined ? null : { nameContains: args.nameContains },
        limit: args.limit,
      },
    });
    const agents = dataOf(result, (field) => (field[0] === 'filter' ? field.slice(1) : field)).agents as {
      totalCount: number;
      nodes: Array<{
        id: string;
        name: string | null;
        description: string | null;
        agentType: string | null;
        memoryCount: number;
        messageCount: number;
      }>;
    };
    return { agents: agents.nodes, totalCount: agents.totalCount };
  },
});

interface AgentContext {
  id: string;
  name: string | null;
  description: string | null;
  system: string | null;
  blocks: Block[];
  tools: Array<{ name: string; description: string | null }>;
  recentMessages: Message[];
}

/** The agent as one text for a prompt: its system prompt, its core memory, its tools, its last messages. */
function promptText(agent: AgentContext): string {
  const attribute = (value: string) => JSON.stringify(value);
  const lines = [`<agent id=${attribute(agent.id)} name=${attribute(agent.name ?? '')}>`];
  if (agent.description) lines.push(`<description>\n${agent.description}\n</description>`);
  if (agent.system) lines.push(`<system>\n${agent.system}\n</system>`);
  lines.push('<core_memory>');
  for (const block of agent.blocks) {
    lines.push(
      `<block label=${attribute(block.label)} version="${block.version}" ` +
        `characters="${[...block.value].length}/${block.limit}">`,
      block.value,
      '</block>',
    );
  }
  lines.push('</core_memory>', '<tools>');
  for (const each of agent.tools) lines.push(`- ${each.name}${each.description ? `: ${each.description}` : ''}`);
  lines.push('</tools>', `<recent_messages count="${agent.recentMessages.length}">`);
  for (const message of agent.recentMessages) {
    const speaker = `${message.role.toLowerCase()}${message.name ? ` (${message.name})` : ''}`;
    lines.push(`[${message.createdAt}] ${speaker}: ${message.text ?? ''}`);
  }
  lines.push('</recent_messages>', '</agent>');
  return lines.join('\n');
}

const agentContext = tool({
  name: 'agent_context',
  title: "An agent's context",
  description:
    'Returns everything an agent needs in its prompt as one text: its system prompt, its core memory blocks (with ' +
    'their versions and limits), the tools it may call and its most recent messages. Put `text` into the context ' +
    'as it is; recall long-term memories separately with `recall`.',
  scope: 'read',
  input: {
    agentId: id('agent'),
    recentMessages: z.number().int().min(0).max(100).default(10).describe('How many of the last messages to include.'),
  },
  output: {
    agentId: z.string(),
    name: z.string().nullable(),
    text: z.string().describe('The prompt-ready context.'),
    blocks: z.array(BlockOut),
    tools: z.array(z.object({ name: z.string(), description: z.string().nullable() })),
    recentMessages: z.array(MessageOut),
  },
  annotations: { readOnlyHint: true },
  async run(args, graphql) {
    const result = await graphql({
      query: `query McpAgentContext($agentId: ID!, $recent: Int) {
        agent(id: $agentId) {
          id name description system
          blocks { ${BLOCK_FIELDS} }
          tools { name description }
          recentMessages(limit: $recent) { ${MESSAGE_FIELDS} }
        }
      }`,
      // GraphQL's limit is 1 to 100: none is asked for as a limit of 1, then dropped.
      variables: { agentId: args.agentId, recent: Math.max(args.recentMessages, 1) },
    });
    const agent = dataOf(result).agent as AgentContext | null;
    if (!agent) throw agentNotFound(args.agentId);
    const recentMessages = args.recentMessages === 0 ? [] : agent.recentMessages.map(lower);
    const context = { ...agent, recentMessages };
    return {
      agentId: agent.id,
      name: agent.name,
      text: promptText(context),
      blocks: agent.blocks,
      tools: agent.tools,
      recentMessages,
    };
  },
});

export const TOOLS: readonly ToolDefinition[] = [
  remember,
  recall,
  forget,
  restore,
  updateMemory,
  coreMemoryRead,
  coreMemoryReplace,
  coreMemoryAppend,
  conversationAppend,
  conversationSearch,
  listAgents,
  agentContext,
];
