import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { loadSettings } from '../../src/config/settings';
import { capturedLogger } from '../support/captured-logs';
import { call, connect, errorOf, type Failure, failure, mcpUrl, ok } from '../support/mcp-client';
import { sample } from '../support/metrics';
import { startTestApp, type TestApp } from '../support/test-app';

// What /graphql guarantees holds over /mcp too, since every tool runs as a GraphQL operation
// (src/mcp/graphql.ts): idempotent retries, the rate limit, semantic recall and the body limit.
// Through the SDK's own Client, each checked against the database; and the metrics and logs of a call.

/** A JSON-RPC message POSTed to /mcp as the SDK's transport sends it, with `headers` beside. */
function postMcp(app: TestApp, key: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(mcpUrl(app.url), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${key}`,
      ...headers,
    },
    body,
  });
}

type Remembered = { memories: Array<{ id: string; deduplicated: boolean }> };

describe('idempotent retries over MCP (the idempotencyKey argument)', () => {
  let app: TestApp;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  let client: Client;
  beforeAll(async () => {
    app = await startTestApp('mcp_idempotency');
    demo = await app.seedDemo();
    client = await connect(mcpUrl(app.url), demo.key);
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it('runs a retried remember once and answers it with the first answer', async () => {
    const idempotencyKey = randomUUID();
    const args = { agentId: demo.agentId, memories: [{ content: 'Ada retries after timeouts.' }], idempotencyKey };
    const rows = () => app.database.owner.memory.count({ where: { content: 'Ada retries after timeouts.' } });
    const first = await ok<Remembered>(client, 'remember', args);
    const retried = await ok<Remembered>(client, 'remember', args);
    // The first answer again: a second execution would have found the memory and said deduplicated.
    expect(retried).toEqual(first);
    expect(retried.memories.map((memory) => memory.deduplicated)).toEqual([false]);
    expect(await rows()).toBe(1);
    const again = await ok<Remembered>(client, 'remember', { ...args, idempotencyKey: randomUUID() });
    expect(again.memories).toEqual([{ ...first.memories[0], deduplicated: true }]);
  });

  it('appends a retried conversation_append once', async () => {
    const idempotencyKey = randomUUID();
    const args = {
      agentId: demo.agentId,
      messages: [{ role: 'user', text: 'Said once, sent twice.' }],
      idempotencyKey,
    };
    const first = await ok<{ messages: Array<{ id: string }> }>(client, 'conversation_append', args);
    expect(await ok(client, 'conversation_append', args)).toEqual(first);
    expect(await app.database.owner.message.count({ where: { text: 'Said once, sent twice.' } })).toBe(1);
  });

  it('refuses the same key with other arguments as GraphQL does, naming the argument, and writes nothing', async () => {
    const idempotencyKey = randomUUID();
    await ok(client, 'remember', { agentId: demo.agentId, memories: [{ content: 'First use.' }], idempotencyKey });
    const before = await app.database.owner.memory.count({ where: { organizationId: demo.organizationId } });
    const refused = await failure(client, 'remember', {
      agentId: demo.agentId,
      memories: [{ content: 'Another request.' }],
      idempotencyKey,
    });
    expect(refused).toEqual({
      code: 'CONFLICT',
      field: ['idempotencyKey'],
      message: 'Idempotency-Key was already used for another request: send a new key with a new request',
    });
    expect(await app.database.owner.memory.count({ where: { organizationId: demo.organizationId } })).toBe(before);
  });
});

describe('the rate limit over MCP', () => {
  const limit = 6;
  let app: TestApp;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  beforeAll(async () => {
    app = await startTestApp('mcp_rate_limit', { rateLimit: { requests: limit, windowSeconds: 3600 } });
    demo = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  it(
    'refuses a tool call over the limit with a RATE_LIMITED tool error that writes nothing, ' +
      'and any other message with 429 and Retry-After',
    async () => {
      const client = await connect(mcpUrl(app.url), demo.key);
      const memories = () => app.database.owner.memory.count({ where: { organizationId: demo.organizationId } });
      const before = await memories();
      // initialize and notifications/initialized counted already (and the client's GET stream, if it opened).
      let written = 0;
      let refused: Failure | undefined;
      for (let attempt = 0; attempt < limit && !refused; attempt += 1) {
        const result = await call(client, 'remember', {
          agentId: demo.agentId,
          memories: [{ content: `Rate-limited memory ${attempt}.` }],
        });
        if (result.isError) refused = errorOf(result);
        else written += 1;
      }
      expect(written).toBeGreaterThan(0);
      expect(refused).toEqual({
        code: 'RATE_LIMITED',
        field: null,
        message: expect.stringMatching(/^too many requests for this API key: retry in \d+ s$/),
      });
      expect(await memories()).toBe(before + written);
      // Still refused, and still nothing written.
      expect(
        await failure(client, 'remember', { agentId: demo.agentId, memories: [{ content: 'One more try.' }] }),
      ).toMatchObject({ code: 'RATE_LIMITED' });
      expect(await memories()).toBe(before + written);

      // A message that is no GraphQL operation is refused by /mcp itself, as /graphql refuses: 429.
      const listed = await postMcp(
        app,
        demo.key,
        JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} }),
      );
      expect(listed.status).toBe(429);
      expect(Number(listed.headers.get('retry-after'))).toBeGreaterThan(3500);
      expect(await listed.json()).toMatchObject({ error: { message: expect.stringMatching(/^RATE_LIMITED: /) } });
      await client.close();
    },
  );
});

const CreateEmbeddedMemory =
  'mutation ($agentId: ID!, $content: String!, $embedding: [Float!]) { createMemory(input: { agentId: $agentId, ' +
  'content: $content, memoryType: FACTUAL, scope: "user", level: "core", embedding: $embedding }) { __typename } }';
const SearchMemories =
  'query ($query: String, $vector: [Float!], $mode: SearchMode, $agentId: ID, $limit: Int) { ' +
  'searchMemories(query: $query, vector: $vector, mode: $mode, filter: { agentId: $agentId }, limit: $limit, ' +
  'track: false) { score snippet memory { id } } }';

describe('recall over MCP by meaning (pgvector)', () => {
  let app: TestApp;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  let client: Client;
  beforeAll(async () => {
    // The embedding stand-in of test/memories/vector-search.test.ts: vectors given with each memory.
    app = await startTestApp('mcp_vector', { embeddings: { dimensions: 3, model: 'test-model' } });
    demo = await app.seedDemo();
    const memories: [string, number[] | null][] = [
      ['Earl Grey tea, no milk', [1, 0.1, 0]],
      ['oolong from Taiwan', [0.9, 0.3, 0]],
      ['espresso, a double shot', [0, 1, 0]],
      ['prefers trains to planes', [0, 0, 1]],
      ['tea without a vector', null],
    ];
    for (const [content, embedding] of memories) {
      const created = await app.graphqlUntyped(CreateEmbeddedMemory, { agentId: demo.agentId, content, embedding });
      expect(created.data).toEqual({ createMemory: { __typename: 'MemoryPayload' } });
    }
    client = await connect(mcpUrl(app.url), demo.key);
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it.each([
    ['vector', { vector: [0, 0.2, 1] }],
    ['hybrid', { query: 'tea', vector: [0, 0, 1] }],
  ] as const)('answers mode %s with what searchMemories answers for the same arguments', async (mode, args) => {
    const overGraphql = await app.graphqlUntyped(SearchMemories, {
      ...args,
      mode: mode.toUpperCase(),
      agentId: demo.agentId,
      limit: 10,
    });
    expect(overGraphql.errors).toBeUndefined();
    const expected = (
      overGraphql.data as { searchMemories: Array<{ score: number; snippet: string; memory: { id: string } }> }
    ).searchMemories;
    // The four memories with a vector by meaning; in hybrid mode the one without, by its word, too.
    expect(expected).toHaveLength(mode === 'vector' ? 4 : 5);
    const recalled = await ok<{ hits: Array<{ score: number; snippet: string; memory: { id: string } }> }>(
      client,
      'recall',
      { ...args, mode, agentId: demo.agentId, limit: 10, track: false },
    );
    // The same hits in the same order with the same snippets; the scores too, but for the recency
    // that decays between the two requests.
    expect(recalled.hits.map(({ snippet, memory }) => ({ snippet, id: memory.id }))).toEqual(
      expected.map(({ snippet, memory }) => ({ snippet, id: memory.id })),
    );
    recalled.hits.forEach((hit, index) => {
      expect(hit.score).toBeCloseTo(expected[index]!.score, 6);
    });
  });
});

/** POSTs `body`'s headers only (its Content-Length): the status of a refusal that reads no byte of it. */
function statusOfDeclared(url: URL, key: string, body: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'content-length': String(Buffer.byteLength(body)),
        authorization: `Bearer ${key}`,
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
}

describe('the body limit over MCP, at its default', () => {
  let app: TestApp;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  beforeAll(async () => {
    app = await startTestApp('mcp_body_limit');
    demo = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses a 2 MB argument with 413, as /graphql refuses the same body, and stores nothing', async () => {
    expect(loadSettings({}).maxRequestBytes).toBe(1024 * 1024);
    const content = 'x'.repeat(2 * 1024 * 1024);
    const toolsCall = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'remember', arguments: { agentId: demo.agentId, memories: [{ content }] } },
    });
    const before = await app.database.owner.memory.count({ where: { organizationId: demo.organizationId } });
    expect(await statusOfDeclared(new URL('/mcp', app.url), demo.key, toolsCall)).toBe(413);
    const mutation = JSON.stringify({
      query: 'mutation ($input: CreateMemoryInput!) { createMemory(input: $input) { __typename } }',
      variables: { input: { agentId: demo.agentId, content, memoryType: 'FACTUAL', scope: 'user', level: 'core' } },
    });
    expect(await statusOfDeclared(new URL(app.url), demo.key, mutation)).toBe(413);
    expect(await app.database.owner.memory.count({ where: { organizationId: demo.organizationId } })).toBe(before);
    // Just under the limit, a call reaches the tool: nine memories of 100000 characters (each one's most).
    const memories = Array.from({ length: 9 }, (_, index) => ({
      content: String.fromCharCode(97 + index).repeat(1e5),
    }));
    const fits = JSON.stringify({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'remember', arguments: { agentId: demo.agentId, memories } },
    });
    expect(Buffer.byteLength(fits)).toBeLessThan(1024 * 1024);
    const answered = await postMcp(app, demo.key, fits, { 'mcp-protocol-version': '2025-06-18' });
    expect(answered.status).toBe(200);
    expect(((await answered.json()) as { result: { isError?: boolean } }).result.isError ?? false).toBe(false);
    expect(await app.database.owner.memory.count({ where: { organizationId: demo.organizationId } })).toBe(before + 9);
  });
});

/** `npx --no agentmem mcp` relaying to `app`, as test/mcp/mcp.test.ts starts it. */
async function connectStdio(app: TestApp, key: string): Promise<Client> {
  const client = new Client({ name: 'agentmem-guarantees-stdio', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: 'npx',
      args: ['--no', 'agentmem', 'mcp'],
      cwd: path.resolve(__dirname, '..', '..'),
      env: { ...(process.env as Record<string, string>), AGENTMEM_URL: app.url, AGENTMEM_API_KEY: key, PORT: '' },
      stderr: 'pipe',
    }),
  );
  return client;
}

describe('the stdio command, when the server refuses or is gone', () => {
  it('tells a body over the limit as PAYLOAD_TOO_LARGE and a server gone as SERVER_UNREACHABLE', async () => {
    const app = await startTestApp('mcp_stdio_refusals');
    const demo = await app.seedDemo();
    const stdio = await connectStdio(app, demo.key);
    try {
      const memories = () => app.database.owner.memory.count({ where: { organizationId: demo.organizationId } });
      const before = await memories();
      const tooLarge = await failure(stdio, 'remember', {
        agentId: demo.agentId,
        memories: [{ content: 'x'.repeat(2 * 1024 * 1024) }],
      });
      expect(tooLarge).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: null });
      expect(tooLarge.message).toContain('answered 413');
      expect(await memories()).toBe(before);
    } finally {
      await app.close();
    }
    try {
      const gone = await failure(stdio, 'remember', { agentId: demo.agentId, memories: [{ content: 'Lost.' }] });
      expect(gone).toMatchObject({ code: 'SERVER_UNREACHABLE', field: null });
      expect(gone.message).toContain(`cannot reach the AgentMem server at ${new URL('/mcp', app.url).href}`);
    } finally {
      await stdio.close();
    }
  });
});

describe('metrics and logs over MCP', () => {
  const TOKEN = 'test-metrics-token-0123456789';
  const { logger, lines } = capturedLogger('info');
  let app: TestApp;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  beforeAll(async () => {
    app = await startTestApp('mcp_observability', { metricsToken: TOKEN }, logger);
    demo = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  const scrape = async () =>
    (await fetch(new URL('/metrics', app.url), { headers: { authorization: `Bearer ${TOKEN}` } })).text();

  it('counts a tool call as its GraphQL operation in /metrics, and logs it under its request id', async () => {
    const series = 'agentmem_graphql_requests_total{operation="McpRecall",type="query"}';
    const before = sample(await scrape(), series) ?? 0;
    const requestId = randomUUID();
    const response = await postMcp(
      app,
      demo.key,
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'recall', arguments: { agentId: demo.agentId, query: 'tea' } },
      }),
      { 'x-request-id': requestId },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { result: { isError?: boolean } }).result.isError).toBeFalsy();
    expect(sample(await scrape(), series)).toBe(before + 1);
    // pino writes asynchronously to its stream: let it drain before reading.
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((line) => line.requestId === requestId && line.msg === 'request')).toEqual([
      expect.objectContaining({
        path: '/mcp',
        status: 200,
        operation: 'McpRecall',
        operationType: 'query',
        organizationId: demo.organizationId,
      }),
    ]);
  });
});
