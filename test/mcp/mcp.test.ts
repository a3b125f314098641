import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { RECALL_QUERY } from '../../src/mcp/tools';
import { call, connect, failure, mcpUrl, ok } from '../support/mcp-client';
import { type ServerProcess, startServerProcess } from '../support/server-process';
import { startTestApp, type TestApp } from '../support/test-app';
import { cloneMigratedDatabase, testDatabaseKind } from '../support/test-databases';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/throwaway-redis';

// The MCP server (src/mcp/) through the SDK's own Client: over Streamable HTTP at /mcp, and over
// stdio through `npx --no agentmem mcp`. Every answer is checked against the database.

const projectRoot = path.resolve(__dirname, '..', '..');
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

const READ_TOOLS = ['recall', 'core_memory_read', 'conversation_search', 'list_agents', 'agent_context'];
const WRITE_TOOLS = [
  'remember',
  'forget',
  'update_memory',
  'core_memory_replace',
  'core_memory_append',
  'conversation_append',
];

const IssueKey =
  'mutation ($scopes: [Scope!]!) { createApiKey(input: { name: "mcp", scopes: $scopes }) { ' +
  '... on CreatedApiKey { key } } }';

/**
 * A fetch that tells when the SDK Client's GET stream (the session's notifications) has opened:
 * a subscription made after that is followed by that stream.
 */
function watchingStreams(base: (input: string | URL, init?: RequestInit) => Promise<Response> = fetch) {
  let opened: () => void = () => undefined;
  const streamOpen = new Promise<void>((resolve) => (opened = resolve));
  const watching = async (input: string | URL, init?: RequestInit) => {
    const response = await base(input, init);
    if (init?.method === 'GET' && response.ok) opened();
    return response;
  };
  return { fetch: watching, streamOpen };
}

/** The URIs of the notifications/resources/updated a client receives, one at a time. */
function updatesOf(client: Client): { next(): Promise<string>; received: string[] } {
  const received: string[] = [];
  const waiting: Array<(uri: string) => void> = [];
  let read = 0;
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    received.push(notification.params.uri);
    waiting.shift()?.(notification.params.uri);
  });
  return {
    received,
    next: () => {
      const index = read++;
      const ready = received[index];
      return ready !== undefined ? Promise.resolve(ready) : new Promise<string>((resolve) => waiting.push(resolve));
    },
  };
}

const CreateMemory =
  'mutation ($agentId: ID!, $content: String!) { createMemory(input: { agentId: $agentId, content: $content, ' +
  'memoryType: FACTUAL, scope: "user", level: "detail" }) { __typename ... on MemoryPayload { memory { id } } } }';

describe('the MCP server over Streamable HTTP (/mcp)', () => {
  let app: TestApp;
  let a: Awaited<ReturnType<TestApp['seedDemo']>>;
  let b: Awaited<ReturnType<TestApp['seedDemo']>>;
  let admin: Client;
  let readKey: string;
  let writeKey: string;
  const clients: Client[] = [];
  const memoriesOfA = () =>
    app.database.owner.memory.count({ where: { organizationId: a.organizationId, isDeleted: false } });

  beforeAll(async () => {
    // Bodies up to 4 MiB, so that a 2 MB argument reaches the tool's schema (the default 1 MiB
    // refuses it before anything reads it: the last test of this block).
    app = await startTestApp('mcp', { maxRequestBytes: 4 * 1024 * 1024 });
    a = await app.seedDemo();
    b = await app.seedDemo();
    const issue = async (scopes: string[]) =>
      ((await app.graphqlUntyped(IssueKey, { scopes })).data as { createApiKey: { key: string } }).createApiKey.key;
    readKey = await issue(['READ']);
    writeKey = await issue(['WRITE']);
    admin = await connect(mcpUrl(app.url), a.key);
    clients.push(admin);
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await app?.close();
  });

  it('lists every tool to an admin key, each with a JSON Schema for its input and its output', async () => {
    const { tools } = await admin.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([...READ_TOOLS, ...WRITE_TOOLS, 'restore'].sort());
    for (const tool of tools) {
      expect(tool.description!.length).toBeGreaterThan(80);
      expect(tool.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
      expect(tool.outputSchema).toMatchObject({ type: 'object' });
    }
    const remember = tools.find((tool) => tool.name === 'remember')!;
    expect(remember.inputSchema.required).toEqual(['agentId', 'memories']);
    expect(remember.annotations).toMatchObject({ readOnlyHint: false });
  });

  it('remembers, recalls, updates, forgets and restores, as the database then holds', async () => {
    const remembered = await ok<{ memories: Array<{ id: string; deduplicated: boolean; content: string }> }>(
      admin,
      'remember',
      {
        agentId: a.agentId,
        memories: [
          {
            content: 'Ada travels to Lisbon in May.',
            memoryType: 'episodic',
            importance: 0.7,
            metadata: { topic: 'travel' },
          },
          { content: 'Ada prefers window seats on trains.', scope: 'user', level: 'core' },
          { content: 'ada travels to lisbon in may.' },
        ],
      },
    );
    expect(remembered.memories.map((memory) => memory.deduplicated)).toEqual([false, false, true]);
    const [lisbon, seats] = remembered.memories;
    const stored = await app.database.owner.memory.findUniqueOrThrow({ where: { id: lisbon!.id } });
    expect(stored).toMatchObject({
      agentId: a.agentId,
      organizationId: a.organizationId,
      memoryType: 'episodic',
      importance: 0.7,
      metadata: { topic: 'travel' },
    });

    const recalled = await ok<{ hits: Array<{ score: number; snippet: string; memory: { id: string } }> }>(
      admin,
      'recall',
      { query: 'Lisbon travel', agentId: a.agentId, metadata: { path: 'topic', eq: 'travel' } },
    );
    expect(recalled.hits.map((hit) => hit.memory.id)).toEqual([lisbon!.id]);
    expect(recalled.hits[0]!.snippet).toContain('**Lisbon**');
    // Recalled memories count as used, as searchMemories counts them.
    const afterRecall = await app.database.owner.memory.findUniqueOrThrow({ where: { id: lisbon!.id } });
    expect(Number(afterRecall.accessCount)).toBe(1);

    const updated = await ok<{ memory: { content: string; memoryType: string } }>(admin, 'update_memory', {
      memoryId: seats!.id,
      content: 'Ada prefers aisle seats on trains.',
      memoryType: 'semantic',
    });
    expect(updated.memory).toMatchObject({ content: 'Ada prefers aisle seats on trains.', memoryType: 'semantic' });
    expect((await app.database.owner.memory.findUniqueOrThrow({ where: { id: seats!.id } })).content).toBe(
      'Ada prefers aisle seats on trains.',
    );

    expect(await ok(admin, 'forget', { memoryId: seats!.id })).toEqual({ memoryId: seats!.id, forgotten: true });
    expect((await app.database.owner.memory.findUniqueOrThrow({ where: { id: seats!.id } })).isDeleted).toBe(true);
    expect(await failure(admin, 'forget', { memoryId: seats!.id })).toMatchObject({
      code: 'NOT_FOUND',
      field: ['memoryId'],
    });

    const restored = await ok<{ memory: { id: string } }>(admin, 'restore', { memoryId: seats!.id });
    expect(restored.memory.id).toBe(seats!.id);
    expect((await app.database.owner.memory.findUniqueOrThrow({ where: { id: seats!.id } })).isDeleted).toBe(false);
  });

  it('reads core memory and edits it with the block limit and version checks', async () => {
    const { blocks } = await ok<{ blocks: Array<{ label: string; value: string; version: number; limit: number }> }>(
      admin,
      'core_memory_read',
      { agentId: a.agentId },
    );
    expect(blocks.map((block) => block.label).sort()).toEqual(['human', 'persona']);
    const human = blocks.find((block) => block.label === 'human')!;
    expect(human.value).toBe('Name: Ada. Learning GraphQL.');

    const replaced = await ok<{ block: { value: string; version: number } }>(admin, 'core_memory_replace', {
      agentId: a.agentId,
      label: 'human',
      oldText: 'Learning GraphQL.',
      newText: 'Knows GraphQL; learning MCP.',
      expectedVersion: human.version,
    });
    expect(replaced.block).toEqual(
      expect.objectContaining({ value: 'Name: Ada. Knows GraphQL; learning MCP.', version: human.version + 1 }),
    );
    // The version read before is stale now: nothing is written.
    expect(
      await failure(admin, 'core_memory_append', {
        agentId: a.agentId,
        label: 'human',
        text: 'Lives in Porto.',
        expectedVersion: human.version,
      }),
    ).toEqual({
      code: 'CONFLICT',
      field: ['expectedVersion'],
      message: `the block is at version ${human.version + 1}, not ${human.version}: it changed since it was read`,
    });
    const appended = await ok<{ block: { value: string; version: number } }>(admin, 'core_memory_append', {
      agentId: a.agentId,
      label: 'human',
      text: 'Lives in Porto.',
      expectedVersion: human.version + 1,
    });
    expect(appended.block.value).toBe('Name: Ada. Knows GraphQL; learning MCP.\nLives in Porto.');
    const stored = await app.database.owner.block.findFirstOrThrow({
      where: { organizationId: a.organizationId, label: 'human' },
    });
    expect(stored).toMatchObject({ value: appended.block.value, version: human.version + 2 });

    expect(
      await failure(admin, 'core_memory_append', { agentId: a.agentId, label: 'human', text: 'x'.repeat(human.limit) }),
    ).toMatchObject({ code: 'BLOCK_LIMIT_EXCEEDED', field: ['text'] });
    expect(
      await failure(admin, 'core_memory_replace', {
        agentId: a.agentId,
        label: 'human',
        oldText: 'not there',
        newText: 'x',
      }),
    ).toMatchObject({ code: 'VALIDATION', field: ['oldText'] });
    expect(await ok(admin, 'core_memory_read', { agentId: a.agentId, label: 'nope' })).toEqual({ blocks: [] });
    expect(await failure(admin, 'core_memory_append', { agentId: a.agentId, label: 'nope', text: 'x' })).toMatchObject({
      code: 'NOT_FOUND',
      field: ['label'],
    });
    expect(
      (await app.database.owner.block.findFirstOrThrow({ where: { organizationId: a.organizationId, label: 'human' } }))
        .version,
    ).toBe(human.version + 2);
  });

  it('appends to the conversation and searches it; lists agents; gives the agent context as one text', async () => {
    const appended = await ok<{ messages: Array<{ id: string; role: string }> }>(admin, 'conversation_append', {
      agentId: a.agentId,
      messages: [
        { role: 'user', text: 'Please book the 100% refundable fare to Lisbon.' },
        { role: 'assistant', text: 'Booked: the refundable fare.' },
      ],
    });
    expect(appended.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(await app.database.owner.message.count({ where: { agentId: a.agentId } })).toBe(6);

    const found = await ok<{ messages: Array<{ text: string }>; totalCount: number }>(admin, 'conversation_search', {
      agentId: a.agentId,
      query: 'REFUNDABLE',
    });
    expect(found.messages.map((message) => message.text)).toEqual([
      'Please book the 100% refundable fare to Lisbon.',
      'Booked: the refundable fare.',
    ]);
    expect(found.totalCount).toBe(2);
    const byRole = await ok<{ messages: Array<{ text: string }> }>(admin, 'conversation_search', {
      agentId: a.agentId,
      roles: ['user'],
      limit: 1,
    });
    expect(byRole.messages.map((message) => message.text)).toEqual(['Please book the 100% refundable fare to Lisbon.']);
    // A LIKE wildcard is a character like any other.
    const percent = await ok<{ totalCount: number }>(admin, 'conversation_search', { agentId: a.agentId, query: '%' });
    expect(percent.totalCount).toBe(1);

    const listed = await ok<{ agents: Array<{ id: string; messageCount: number }>; totalCount: number }>(
      admin,
      'list_agents',
      {},
    );
    expect(listed).toMatchObject({ totalCount: 1, agents: [{ id: a.agentId, messageCount: 6 }] });

    const context = await ok<{ text: string; blocks: unknown[]; tools: unknown[]; recentMessages: unknown[] }>(
      admin,
      'agent_context',
      { agentId: a.agentId, recentMessages: 3 },
    );
    expect(context.recentMessages).toHaveLength(3);
    expect(context.tools).toHaveLength(2);
    expect(context.text).toContain('<block label="persona"');
    expect(context.text).toContain('I am a friendly, concise assistant.');
    expect(context.text).toContain('assistant: Booked: the refundable fare.');
    expect(context.text).toContain('<system>\nYou are a helpful assistant with a persistent memory.\n</system>');
  });

  it("answers another organization's agent id exactly as an unknown one", async () => {
    const unknown = 'agent-00000000-0000-4000-8000-000000000000';
    const calls: [string, (agentId: string) => Record<string, unknown>][] = [
      ['core_memory_read', (agentId) => ({ agentId })],
      ['core_memory_append', (agentId) => ({ agentId, label: 'human', text: 'x' })],
      ['core_memory_replace', (agentId) => ({ agentId, label: 'human', oldText: 'Ada', newText: 'Bob' })],
      ['conversation_search', (agentId) => ({ agentId })],
      ['conversation_append', (agentId) => ({ agentId, messages: [{ role: 'user', text: 'hi' }] })],
      ['agent_context', (agentId) => ({ agentId })],
      ['recall', (agentId) => ({ agentId, query: 'Ada' })],
      ['remember', (agentId) => ({ agentId, memories: [{ content: 'x' }] })],
    ];
    const before = await app.database.owner.memory.count();
    for (const [name, args] of calls) {
      const foreign = JSON.stringify(await call(admin, name, args(b.agentId))).replaceAll(b.agentId, '<id>');
      const none = JSON.stringify(await call(admin, name, args(unknown))).replaceAll(unknown, '<id>');
      expect([name, foreign]).toEqual([name, none]);
      expect(foreign).toContain('NOT_FOUND');
    }
    const foreignResource = await admin
      .readResource({ uri: `agentmem://agents/${b.agentId}/blocks/human` })
      .catch((error: Error) => error.message.replaceAll(b.agentId, '<id>'));
    const unknownResource = await admin
      .readResource({ uri: `agentmem://agents/${unknown}/blocks/human` })
      .catch((error: Error) => error.message.replaceAll(unknown, '<id>'));
    expect(foreignResource).toEqual(unknownResource);
    expect(await app.database.owner.memory.count()).toBe(before);
    const blockOfB = await app.database.owner.block.findFirstOrThrow({
      where: { organizationId: b.organizationId, label: 'human' },
    });
    expect(blockOfB.version).toBe(1);
  });

  /** A raw tools/call POST, as the SDK's Client sends it. */
  const toolsCall = (key: string, params: Record<string, unknown>, id: string | number = 7) =>
    fetch(mcpUrl(app.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        authorization: `Bearer ${key}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params }),
    });

  it('answers a plain tools/call itself with the very bytes the SDK writes for it', async () => {
    // With params._meta the SDK's Server and transport answer (src/mcp/http.ts, directCall);
    // without, the direct path does. Results, tool errors of each kind, and string ids alike.
    const cases: [string, string, Record<string, unknown>, string | number][] = [
      [a.key, 'recall', { query: 'Ada', track: false }, 7],
      [a.key, 'recall', { query: 'Ada', limit: 0 }, 'an id'],
      [a.key, 'core_memory_read', { agentId: b.agentId }, 8],
      [readKey, 'remember', { agentId: a.agentId, memories: [{ content: 'x' }] }, 9],
      [a.key, 'list_agents', {}, 10],
    ];
    for (const [key, name, args, id] of cases) {
      const direct = await toolsCall(key, { name, arguments: args }, id);
      const viaSdk = await toolsCall(key, { name, arguments: args, _meta: {} }, id);
      expect([name, direct.status, direct.headers.get('content-type')]).toEqual([
        name,
        viaSdk.status,
        viaSdk.headers.get('content-type'),
      ]);
      // A score has a recency term: two calls a moment apart differ in its last digits.
      const withoutScores = async (response: Response) =>
        (await response.text()).replace(/(\\?"score\\?":)[-+.e0-9]+/g, (_, key: string) => `${key}0`);
      const [directBody, sdkBody] = [await withoutScores(direct), await withoutScores(viaSdk)];
      expect([name, directBody]).toEqual([name, sdkBody]);
      expect(JSON.parse(directBody)).toMatchObject({ jsonrpc: '2.0', id, result: { content: [{ type: 'text' }] } });
    }
    // What the direct path leaves to the SDK is answered as before, e.g. an unknown tool.
    const unknown = (await (await toolsCall(a.key, { name: 'no_such_tool', arguments: {} })).json()) as {
      error: { code: number };
    };
    expect(unknown.error.code).toBe(-32602);
  });

  it('recalls over MCP with the very SQL statements of its searchMemories over GraphQL', async () => {
    const variables = { agentId: '', withAgent: false, query: 'Ada', filter: {}, limit: 20, track: false };
    const overGraphql = () => app.graphqlUntyped(RECALL_QUERY, variables);
    const overMcp = async () =>
      (await toolsCall(a.key, { name: 'recall', arguments: { query: 'Ada', limit: 20, track: false } })).json();
    // Once each first: a first request warms what later ones find cached.
    await overGraphql();
    await overMcp();
    const graphql = await app.countStatements(overGraphql);
    const mcp = await app.countStatements(overMcp);
    expect(graphql.result.errors).toBeUndefined();
    // fetch's JSON is of another realm than jest's: expect.any(Array) would not know its arrays.
    const hits = (mcp.result as { result: { structuredContent: { hits: unknown[] } } }).result.structuredContent.hits;
    expect(hits.length).toBe((graphql.result.data as { searchMemories: unknown[] }).searchMemories.length);
    // The key's lookup (its own transaction: BEGIN, the scope, the SELECT, COMMIT) runs again once
    // its cache entry is AUTH_CACHE_MS old, which a slow PGlite call can outlast: left out on both.
    const operation = (statements: string[]) => {
      const lookup = statements.findIndex((sql) => sql.includes('FROM api_keys'));
      if (lookup < 2 || statements[lookup - 2] !== 'BEGIN' || statements[lookup + 1] !== 'COMMIT') return statements;
      return [...statements.slice(0, lookup - 2), ...statements.slice(lookup + 2)];
    };
    expect(operation(graphql.statements).length).toBeGreaterThan(0);
    expect(operation(mcp.statements)).toEqual(operation(graphql.statements));
  });

  it('refuses arguments that break the schema with a VALIDATION tool error, and stores nothing', async () => {
    const before = await memoriesOfA();
    const cases: [Record<string, unknown>, string[]][] = [
      [{ agentId: a.agentId }, ['memories']],
      [{ agentId: a.agentId, memories: [] }, ['memories']],
      [{ agentId: a.agentId, memories: [{ content: 'x', importance: 'high' }] }, ['memories', '0', 'importance']],
      [{ agentId: a.agentId, memories: [{ content: 'x', memoryType: 'gossip' }] }, ['memories', '0', 'memoryType']],
      [{ agentId: 42, memories: [{ content: 'x' }] }, ['agentId']],
      [{ agentId: a.agentId, memories: [{ content: 'a\u0000b' }] }, ['memories', '0', 'content']],
      [{ agentId: a.agentId, memories: [{ content: 'x'.repeat(2 * 1024 * 1024) }] }, ['memories', '0', 'content']],
      [{ agentId: a.agentId, memories: [{ content: 'x' }], extra: true }, []],
    ];
    for (const [args, field] of cases) {
      const refused = await failure(admin, 'remember', args);
      expect(refused.code).toBe('VALIDATION');
      expect(refused.field ?? []).toEqual(field);
    }
    expect(
      await failure(admin, 'core_memory_append', { agentId: a.agentId, label: 'human', text: 'y'.repeat(2_000_001) }),
    ).toMatchObject({ code: 'VALIDATION', field: ['text'] });
    expect(await failure(admin, 'update_memory', { memoryId: 'memory-x' })).toMatchObject({ code: 'VALIDATION' });
    expect(await failure(admin, 'recall', { query: 'ada', limit: 1000 })).toMatchObject({
      code: 'VALIDATION',
      field: ['limit'],
    });
    expect(await memoriesOfA()).toBe(before);
  });

  it('shows a read key only the read tools, and refuses it a write with a tool error naming the scope', async () => {
    const reader = await connect(mcpUrl(app.url), readKey);
    clients.push(reader);
    const { tools } = await reader.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([...READ_TOOLS].sort());
    const before = await memoriesOfA();
    const refused = await failure(reader, 'remember', { agentId: a.agentId, memories: [{ content: 'sneaky' }] });
    expect(refused).toEqual({
      code: 'FORBIDDEN',
      field: null,
      message: 'the tool remember needs an API key with the write scope; this key has read',
    });
    expect(await memoriesOfA()).toBe(before);
    expect((await ok<{ hits: unknown[] }>(reader, 'recall', { query: 'Ada' })).hits.length).toBeGreaterThan(0);

    const writer = await connect(mcpUrl(app.url), writeKey);
    clients.push(writer);
    const listed = (await writer.listTools()).tools.map((tool) => tool.name);
    expect(listed).toContain('remember');
    expect(listed).not.toContain('restore');
  });

  it('answers 401 to a bad key, 403 to a foreign Origin or Host, 405 to GET, 413 beyond the body limit', async () => {
    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const post = (headers: Record<string, string>, body = initialize) =>
      fetch(mcpUrl(app.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body,
      });
    const unauthenticated = await post({ authorization: 'Bearer amk_not-a-real-key' });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toBe('Bearer');
    expect(await unauthenticated.json()).toMatchObject({
      error: { message: expect.stringMatching(/^UNAUTHENTICATED/) },
    });
    expect((await post({})).status).toBe(401);
    await expect(connect(mcpUrl(app.url), 'amk_not-a-real-key')).rejects.toThrow(/UNAUTHENTICATED/);

    expect((await post({ authorization: `Bearer ${a.key}`, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${a.key}`, origin: 'http://localhost:5173' })).status).toBe(200);
    // fetch sends its own Host: node:http sends the one a rebound name would carry.
    const rebound = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        mcpUrl(app.url),
        {
          method: 'POST',
          headers: { host: 'evil.example:4000', authorization: `Bearer ${a.key}`, 'content-type': 'application/json' },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.end(initialize);
    });
    expect(rebound).toBe(403);
    const get = await fetch(mcpUrl(app.url), { headers: { authorization: `Bearer ${a.key}` } });
    expect(get.status).toBe(405);
    // Refused by its Content-Length, before the body is read: no byte of it needs sending.
    const huge = await new Promise<number>((resolve, reject) => {
      const request = http.request(mcpUrl(app.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(5 * 1024 * 1024),
          authorization: `Bearer ${a.key}`,
        },
      });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
        request.destroy();
      });
      request.on('error', reject);
      request.flushHeaders();
    });
    expect(huge).toBe(413);
  });

  it("serves each agent's core memory blocks and memories as resources", async () => {
    const { resources } = await admin.listResources();
    expect(resources.map((resource) => resource.uri).sort()).toEqual(
      [
        `agentmem://agents/${a.agentId}/blocks/human`,
        `agentmem://agents/${a.agentId}/blocks/persona`,
        `agentmem://agents/${a.agentId}/memories`,
      ].sort(),
    );
    const { contents } = await admin.readResource({ uri: `agentmem://agents/${a.agentId}/blocks/persona` });
    expect(contents).toEqual([
      {
        uri: `agentmem://agents/${a.agentId}/blocks/persona`,
        mimeType: 'text/plain',
        text: 'I am a friendly, concise assistant.',
      },
    ]);
    const memories = await admin.readResource({ uri: `agentmem://agents/${a.agentId}/memories` });
    const [read] = memories.contents;
    const listed = JSON.parse(read && 'text' in read ? read.text : '{}') as { memories: Array<{ id: string }> };
    const stored = await app.database.owner.memory.findMany({
      where: { agentId: a.agentId, isDeleted: false },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: 50,
      select: { id: true },
    });
    expect(listed.memories.map((memory) => memory.id).sort()).toEqual(stored.map((memory) => memory.id).sort());
    await expect(admin.readResource({ uri: `agentmem://agents/${b.agentId}/memories` })).rejects.toThrow(
      `agent ${JSON.stringify(b.agentId)} was not found`,
    );
    const { resourceTemplates } = await admin.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual([
      'agentmem://agents/{agentId}/blocks/{label}',
      'agentmem://agents/{agentId}/memories',
    ]);
  });

  it('tells a client subscribed over HTTP of changes to a block and to memories, whoever wrote them', async () => {
    const watched = watchingStreams();
    const transport = new StreamableHTTPClientTransport(mcpUrl(app.url), {
      requestInit: { headers: { authorization: `Bearer ${a.key}` } },
      fetch: watched.fetch,
    });
    const client = new Client({ name: 'agentmem-session-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    const sessionId = transport.sessionId!;
    expect(sessionId).toMatch(/^mcp_/);
    await watched.streamOpen;
    const updates = updatesOf(client);
    const memories = `agentmem://agents/${a.agentId}/memories`;
    const persona = `agentmem://agents/${a.agentId}/blocks/persona`;
    await client.subscribeResource({ uri: memories });
    await client.subscribeResource({ uri: persona });
    await expect(client.subscribeResource({ uri: `agentmem://agents/${b.agentId}/memories` })).rejects.toThrow(
      `agent ${JSON.stringify(b.agentId)} was not found`,
    );

    // Another client writes through GraphQL: a memory created, then deleted.
    const created = await app.graphqlUntyped(CreateMemory, { agentId: a.agentId, content: 'Ada owns a red bicycle.' });
    const memoryId = (created.data as { createMemory: { memory: { id: string } } }).createMemory.memory.id;
    expect(await updates.next()).toBe(memories);
    await app.graphqlUntyped('mutation ($id: ID!) { deleteMemory(id: $id) { __typename } }', { id: memoryId });
    expect(await updates.next()).toBe(memories);
    // The human block is not subscribed; persona is.
    await ok(admin, 'core_memory_append', { agentId: a.agentId, label: 'human', text: 'Rides to work.' });
    await ok(admin, 'core_memory_append', { agentId: a.agentId, label: 'persona', text: 'Keeps it short.' });
    expect(await updates.next()).toBe(persona);
    expect(updates.received).toEqual([memories, memories, persona]);
    await client.unsubscribeResource({ uri: persona });

    // The session is its key's: another key of the same organization cannot use it, nor subscribe without one.
    const raw = (method: string, key: string, headers: Record<string, string>, body?: unknown) =>
      fetch(mcpUrl(app.url), {
        method,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
          authorization: `Bearer ${key}`,
          ...headers,
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    const subscribe = { jsonrpc: '2.0', id: 7, method: 'resources/subscribe', params: { uri: memories } };
    const foreign = await raw('POST', writeKey, { 'mcp-session-id': sessionId }, subscribe);
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({
      error: { code: -32001, message: expect.stringMatching(/no MCP session/) },
    });
    expect((await raw('GET', writeKey, { 'mcp-session-id': sessionId })).status).toBe(404);
    expect((await raw('DELETE', writeKey, { 'mcp-session-id': sessionId })).status).toBe(404);
    expect((await raw('GET', a.key, { 'mcp-session-id': 'mcp_unknown' })).status).toBe(404);
    const sessionless = await raw('POST', a.key, {}, subscribe);
    expect(sessionless.status).toBe(200);
    expect(await sessionless.json()).toMatchObject({
      id: 7,
      error: { code: -32600, message: expect.stringMatching(/needs a session/) },
    });

    // Ended by its client: the session is gone.
    await transport.terminateSession();
    expect((await raw('GET', a.key, { 'mcp-session-id': sessionId })).status).toBe(404);
  });

  it('serves stdio through `npx --no agentmem mcp`, relayed to the server', async () => {
    const stdio = new Client({ name: 'agentmem-stdio-test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: 'npx',
      args: ['--no', 'agentmem', 'mcp'],
      cwd: projectRoot,
      env: { ...(process.env as Record<string, string>), AGENTMEM_URL: app.url, AGENTMEM_API_KEY: a.key, PORT: '' },
      stderr: 'pipe',
    });
    await stdio.connect(transport);
    try {
      const { tools } = await stdio.listTools();
      expect(tools).toHaveLength(12);
      const remembered = await ok<{ memories: Array<{ id: string }> }>(stdio, 'remember', {
        agentId: a.agentId,
        memories: [{ content: 'Ada speaks Portuguese.' }],
      });
      const [memory] = remembered.memories;
      expect(await app.database.owner.memory.findUnique({ where: { id: memory!.id } })).not.toBeNull();
      const recalled = await ok<{ hits: Array<{ memory: { id: string } }> }>(stdio, 'recall', { query: 'Portuguese' });
      expect(recalled.hits.map((hit) => hit.memory.id)).toEqual([memory!.id]);
      const before = await memoriesOfA();
      expect(
        await failure(stdio, 'remember', { agentId: a.agentId, memories: [{ content: 'z'.repeat(2 * 1024 * 1024) }] }),
      ).toMatchObject({ code: 'VALIDATION', field: ['memories', '0', 'content'] });
      expect(await memoriesOfA()).toBe(before);

      // The relay holds resource subscriptions for its client: a block's change is told to it.
      expect(stdio.getServerCapabilities()?.resources?.subscribe).toBe(true);
      const updates = updatesOf(stdio);
      const persona = `agentmem://agents/${a.agentId}/blocks/persona`;
      await stdio.subscribeResource({ uri: persona });
      await expect(stdio.subscribeResource({ uri: `agentmem://agents/${b.agentId}/persona` })).rejects.toThrow(
        'no resource',
      );
      await expect(stdio.subscribeResource({ uri: `agentmem://agents/${b.agentId}/blocks/persona` })).rejects.toThrow(
        `agent ${JSON.stringify(b.agentId)} was not found`,
      );
      // A change of another block of the agent is not this resource's.
      await ok(stdio, 'core_memory_append', { agentId: a.agentId, label: 'human', text: 'Likes trains.' });
      await ok(stdio, 'core_memory_append', { agentId: a.agentId, label: 'persona', text: 'Answers in English.' });
      expect(await updates.next()).toBe(persona);
      // The other tools over stdio as well, each checked by what it answers: all 12 go through the relay.
      await ok(stdio, 'core_memory_replace', {
        agentId: a.agentId,
        label: 'human',
        oldText: 'Likes trains.',
        newText: 'Likes night trains.',
      });
      const human = await ok<{ blocks: Array<{ value: string }> }>(stdio, 'core_memory_read', {
        agentId: a.agentId,
        label: 'human',
      });
      expect(human.blocks[0]?.value).toContain('Likes night trains.');
      const stored = await app.database.owner.block.findFirstOrThrow({
        where: { label: 'human', isDeleted: false, agentLinks: { some: { agentId: a.agentId } } },
      });
      expect(stored.value).toBe(human.blocks[0]?.value);
      const updated = await ok<{ memory: { content: string } }>(stdio, 'update_memory', {
        memoryId: memory!.id,
        content: 'Ada speaks Portuguese and Spanish.',
      });
      expect(updated.memory.content).toBe('Ada speaks Portuguese and Spanish.');
      const row = () => app.database.owner.memory.findUniqueOrThrow({ where: { id: memory!.id } });
      expect((await row()).content).toBe('Ada speaks Portuguese and Spanish.');
      expect(await ok(stdio, 'forget', { memoryId: memory!.id })).toEqual({ memoryId: memory!.id, forgotten: true });
      expect((await row()).isDeleted).toBe(true);
      const restored = await ok<{ memory: { id: string } }>(stdio, 'restore', { memoryId: memory!.id });
      expect(restored.memory.id).toBe(memory!.id);
      expect((await row()).isDeleted).toBe(false);
      const appended = await ok<{ messages: Array<{ id: string }> }>(stdio, 'conversation_append', {
        agentId: a.agentId,
        messages: [{ role: 'user', text: 'Sent over stdio.' }],
      });
      expect(appended.messages).toHaveLength(1);
      expect(await app.database.owner.message.count({ where: { id: appended.messages[0]!.id } })).toBe(1);
      const found = await ok<{ totalCount: number }>(stdio, 'conversation_search', {
        agentId: a.agentId,
        query: 'over stdio',
      });
      expect(found.totalCount).toBe(1);
      const listed = await ok<{ agents: Array<{ id: string }> }>(stdio, 'list_agents', {});
      expect(listed.agents.map((agent) => agent.id)).toContain(a.agentId);
      const context = await ok<{ recentMessages: unknown[] }>(stdio, 'agent_context', {
        agentId: a.agentId,
        recentMessages: 1,
      });
      expect(context.recentMessages).toHaveLength(1);
      // And a memory written by another client, through GraphQL, is told to a subscriber of the memories.
      const memories = `agentmem://agents/${a.agentId}/memories`;
      await stdio.subscribeResource({ uri: memories });
      await expect(stdio.subscribeResource({ uri: `agentmem://agents/${b.agentId}/memories` })).rejects.toThrow(
        `agent ${JSON.stringify(b.agentId)} was not found`,
      );
      await app.graphqlUntyped(CreateMemory, { agentId: a.agentId, content: 'Ada collects stamps.' });
      expect(await updates.next()).toBe(memories);
      expect(updates.received).toEqual([persona, memories]);
      await stdio.unsubscribeResource({ uri: persona });
    } finally {
      await stdio.close();
    }

    const refused = new StdioClientTransport({
      command: 'npx',
      args: ['--no', 'agentmem', 'mcp'],
      cwd: projectRoot,
      env: { ...(process.env as Record<string, string>), AGENTMEM_URL: app.url, AGENTMEM_API_KEY: 'amk_bad', PORT: '' },
      stderr: 'pipe',
    });
    const rejected = new Client({ name: 'agentmem-stdio-test', version: '1.0.0' });
    await expect(rejected.connect(refused)).rejects.toThrow(/UNAUTHENTICATED/);
    await rejected.close();
  });
});

describe('the MCP server across two processes on one database', () => {
  let app: TestApp;
  let database: Awaited<ReturnType<typeof cloneMigratedDatabase>>;
  let other: ServerProcess | undefined;
  let redis: ThrowawayRedis | undefined;
  const withRedis: ServerProcess[] = [];

  beforeAll(async () => {
    // Both tests are skipped on PGlite: no server for them there.
    if (testDatabaseKind() !== 'postgres') return;
    database = await cloneMigratedDatabase('mcp_processes');
    app = await startTestApp('mcp_processes', { database: database.settings });
  });
  afterAll(async () => {
    await other?.stop();
    await Promise.all(withRedis.map((server) => server.stop()));
    await redis?.remove();
    await app?.close();
    await database?.drop();
  });

  onPostgres("is stateless: one client's requests alternate between the processes and all succeed", async () => {
    if (database.settings.kind !== 'postgres') throw new Error('PostgreSQL only');
    other = await startServerProcess({
      DATABASE_URL: database.settings.url,
      MIGRATE_ON_START: 'false',
      DEMO_DATA: 'false',
    });
    const { key, agentId } = await app.seedDemo();
    const servers = [mcpUrl(app.url), mcpUrl(other.url)];
    const served = [0, 0];
    let next = 0;
    // Every request of the client goes to the other process than the one before.
    const alternate = (_input: string | URL, init?: RequestInit) => {
      const index = next++ % 2;
      served[index]! += 1;
      return fetch(servers[index]!, init);
    };
    const client = await connect(servers[0]!, key, alternate);
    try {
      const remembered = await ok<{ memories: Array<{ id: string }> }>(client, 'remember', {
        agentId,
        memories: [{ content: 'Written through one process, read through the other.' }],
      });
      const recalled = await ok<{ hits: Array<{ memory: { id: string } }> }>(client, 'recall', {
        query: 'process',
        agentId,
      });
      expect(recalled.hits.map((hit) => hit.memory.id)).toEqual([remembered.memories[0]!.id]);
      expect((await client.listTools()).tools).toHaveLength(12);
    } finally {
      await client.close();
    }
    expect(served[0]).toBeGreaterThanOrEqual(2);
    expect(served[1]).toBeGreaterThanOrEqual(2);
  });

  onPostgres(
    "keeps a session's subscriptions across two processes with Redis, whichever one holds its stream",
    async () => {
      if (database.settings.kind !== 'postgres') throw new Error('PostgreSQL only');
      redis = await startThrowawayRedis();
      const env = {
        DATABASE_URL: database.settings.url,
        REDIS_URL: redis.url,
        MIGRATE_ON_START: 'false',
        DEMO_DATA: 'false',
      };
      withRedis.push(...(await Promise.all([startServerProcess(env), startServerProcess(env)])));
      const { key, agentId } = await app.seedDemo();
      const servers = withRedis.map((server) => mcpUrl(server.url));
      const served = [0, 0];
      let next = 0;
      const alternate = (_input: string | URL, init?: RequestInit) => {
        const index = next++ % 2;
        served[index]! += 1;
        return fetch(servers[index]!, init);
      };
      const watched = watchingStreams(alternate);
      const transport = new StreamableHTTPClientTransport(servers[0]!, {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
        fetch: watched.fetch,
      });
      const client = new Client({ name: 'agentmem-processes-test', version: '1.0.0' });
      await client.connect(transport);
      try {
        expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
        await watched.streamOpen;
        const updates = updatesOf(client);
        const memories = `agentmem://agents/${agentId}/memories`;
        await client.subscribeResource({ uri: memories });
        // Written through each process by another client: each change is told on the one stream.
        for (const server of withRedis) {
          const response = await fetch(server.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ query: CreateMemory, variables: { agentId, content: `Written at ${server.url}.` } }),
          });
          expect(await response.json()).toMatchObject({ data: { createMemory: { __typename: 'MemoryPayload' } } });
          expect(await updates.next()).toBe(memories);
        }
        expect(updates.received).toEqual([memories, memories]);
      } finally {
        await client.close();
      }
      expect(served[0]).toBeGreaterThanOrEqual(2);
      expect(served[1]).toBeGreaterThanOrEqual(2);
    },
  );
});
