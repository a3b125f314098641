import { startTestApp, type TestApp } from '../support/test-app';

/** Row counts of every tenant table: hostile input must leave them as they were. */
async function rowCounts(app: TestApp) {
  const prisma = app.database.owner;
  return Promise.all([
    prisma.agent.count(),
    prisma.block.count(),
    prisma.tool.count(),
    prisma.message.count(),
    prisma.memory.count(),
    prisma.user.count(),
  ]);
}

describe('hostile input', () => {
  let app: TestApp;
  let key: string;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('hostile');
    ({ key, agentId } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Sends a raw body, as an attacker would: no client library in the way. */
  async function send(body: string | Buffer, headers: Record<string, string> = {}) {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
      body: typeof body === 'string' ? body : Uint8Array.from(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      text,
      json: JSON.parse(text) as {
        data?: unknown;
        errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
      },
    };
  }
  const request = (query: string, variables: Record<string, unknown> = {}) =>
    send(JSON.stringify({ query, variables }));

  const CREATE_TOOL =
    'mutation ($input: CreateToolInput!) { createTool(input: $input) { __typename ... on Error { code field } } }';

  it.each([
    [
      'a NUL in a JSON value',
      CREATE_TOOL,
      { input: { name: 't', metadata: { note: 'a\u0000b' } } },
      ['$input', 'metadata', 'note'],
    ],
    [
      'a NUL in a JSON key',
      CREATE_TOOL,
      { input: { name: 't', metadata: { 'k\u0000': 1 } } },
      ['$input', 'metadata', 'k\u0000'],
    ],
    [
      'a NUL in a filter',
      'query ($n: String) { tools(filter: { nameContains: $n }) { totalCount } }',
      { n: 'x\u0000' },
      ['$n'],
    ],
    ['a NUL in an id', 'query ($id: ID!) { agent(id: $id) { id } }', { id: 'agent-\u0000' }, ['$id']],
    [
      'a lone surrogate',
      'mutation ($v: String!) { createBlock(input: { label: "x", value: $v }) { __typename } }',
      { v: 'half \ud800 a pair' },
      ['$v'],
    ],
    // Prisma rebuilds JSON as plain objects, where __proto__ is the prototype: the member would be dropped.
    [
      'the JSON key __proto__',
      CREATE_TOOL,
      { input: { name: 't', metadata: JSON.parse('{"a": {"__proto__": {"polluted": true}}}') as unknown } },
      ['$input', 'metadata', 'a', '__proto__'],
    ],
  ])('refuses %s with a VALIDATION error naming it, writing nothing', async (_case, query, variables, field) => {
    const before = await rowCounts(app);
    const answer = await request(query, variables);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field });
    expect(await rowCounts(app)).toEqual(before);
  });

  it('refuses the JSON key __proto__ written inline, which would not be stored, writing nothing', async () => {
    const before = await rowCounts(app);
    const answer = await request(
      'mutation { createTool(input: { name: "t", metadata: { a: [{ __proto__: 1 }] } }) { __typename } }',
    );
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toEqual({
      code: 'VALIDATION',
      field: ['input', 'metadata', 'a', '0', '__proto__'],
    });
    expect(await rowCounts(app)).toEqual(before);
  });

  // 1e999 is Infinity once parsed, which a JSON column cannot hold.
  it.each([
    [
      'inline JSON',
      'mutation { createAgent(input: { name: "a", toolRules: [[1e999]] }) { __typename } }',
      ['input', 'toolRules', '0', '0'],
    ],
    [
      'a Float',
      'mutation { createTool(input: { name: "t", metadata: { n: -1e400 } }) { __typename } }',
      ['input', 'metadata', 'n'],
    ],
  ])('refuses a number beyond a double in %s, writing nothing', async (_case, query, field) => {
    const before = await rowCounts(app);
    const answer = await request(query);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field });
    expect(await rowCounts(app)).toEqual(before);
  });

  // Found by generated-writes (CI, seed 1061870943): graphql-scalars' JSON reads a bare name as
  // undefined, so [[Infinity]] reached Prisma as a hole (INTERNAL_SERVER_ERROR), and { a: foo } was
  // stored as {}.
  it.each([
    ['a list', 'mutation { createAgent(input: { name: "a", toolRules: [[Infinity]] }) { __typename } }'],
    ['an object', 'mutation { createTool(input: { name: "t", metadata: { a: foo } }) { __typename } }'],
  ])('refuses a bare name inside inline JSON in %s, writing nothing', async (_case, query) => {
    const before = await rowCounts(app);
    const answer = await request(query);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.message).toContain('JSON cannot hold the bare name');
    expect(await rowCounts(app)).toEqual(before);
  });

  // GraphQL's own escapes (\u0000, \u{0}) are NULs once parsed: the raw text shows none.
  it.each([
    ['an id', '{ agent(id: "agent-\\u{0}") { id } }', ['id']],
    ["a tool's name", 'mutation { createTool(input: { name: "tool\\u0000" }) { __typename } }', ['input', 'name']],
    ['a filter', '{ agents(filter: { nameContains: "a\\u{0000}" }) { totalCount } }', ['filter', 'nameContains']],
    [
      'inline JSON',
      'mutation { createTool(input: { name: "t", metadata: { note: ["ok", "a\\u0000"] } }) { __typename } }',
      ['input', 'metadata', 'note', '1'],
    ],
    ['a search', '{ searchMemories(query: "tea\\u{0}") { rank } }', ['query']],
    [
      "a variable's default",
      'query ($n: String = "a\\u{0}") { tools(filter: { nameContains: $n }) { totalCount } }',
      ['$n'],
    ],
    ['a block string, raw', '{ searchMemories(query: """tea\u0000""") { rank } }', ['query']],
  ])('refuses a NUL written in the query text in %s, writing nothing', async (_case, query, field) => {
    const before = await rowCounts(app);
    const answer = await request(query);
    expect(answer.status).toBe(400);
    expect(answer.json.errors).toHaveLength(1);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field });
    expect(await rowCounts(app)).toEqual(before);
  });

  it('refuses JSON written inline deeper than 64 levels', async () => {
    const before = await rowCounts(app);
    // Prisma's own recursion limit, an internal error, is at 127.
    const deep = `${'{ a: '.repeat(130)}1${' }'.repeat(130)}`;
    const answer = await request(`mutation { createTool(input: { name: "deep", metadata: ${deep} }) { __typename } }`);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field: ['input', 'metadata', 'a'] });
    expect(await rowCounts(app)).toEqual(before);
  });

  const APPEND =
    'mutation ($agentId: ID!, $messages: [MessageInput!]!) { ' +
    'appendMessages(agentId: $agentId, messages: $messages) { __typename } }';
  it.each([
    [
      'a stored value for an enum',
      APPEND,
      () => ({ agentId, messages: [{ role: 'user', text: 'hi' }] }),
      ['$messages', '0', 'role'],
      /"USER"/,
    ],
    [
      'a word for an Int',
      'query ($first: Int) { agents(first: $first) { totalCount } }',
      () => ({ first: 'abc' }),
      ['$first'],
      /Int/,
    ],
    [
      'a number beyond Int',
      'query ($first: Int) { agents(first: $first) { totalCount } }',
      () => ({ first: 2 ** 31 }),
      ['$first'],
      /Int/,
    ],
    [
      'a word for a DateTime',
      'query ($a: ID!, $since: DateTime) { messages(agentId: $a, since: $since) { totalCount } }',
      () => ({ a: agentId, since: 'yesterday' }),
      ['$since'],
      /DateTime/,
    ],
    [
      'an unknown order field',
      'query ($orderBy: AgentOrder) { agents(orderBy: $orderBy) { totalCount } }',
      () => ({ orderBy: { field: 'SIZE' } }),
      ['$orderBy', 'field'],
      /AgentOrderField/,
    ],
    [
      'a missing required field',
      'mutation ($input: CreateToolInput!) { createTool(input: $input) { __typename } }',
      () => ({ input: { description: 'no name' } }),
      ['$input', 'name'],
      /String!/,
    ],
    [
      'an unknown input field',
      'mutation ($input: CreateToolInput!) { createTool(input: $input) { __typename } }',
      () => ({ input: { name: 't', owner: 'me' } }),
      ['$input', 'owner'],
      /owner/,
    ],
    ['a null for a required id', 'query ($id: ID!) { agent(id: $id) { id } }', () => ({ id: null }), ['$id'], /null/],
  ])(
    'refuses a variable of the wrong type (%s) with 400 VALIDATION naming it, executing nothing',
    async (_case, query, variables, field, message) => {
      const before = await rowCounts(app);
      const answer = await request(query, variables());
      expect(answer.status).toBe(400);
      expect(answer.json.data).toBeUndefined();
      expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field });
      expect(answer.json.errors?.[0]?.message).toMatch(message);
      expect(await rowCounts(app)).toEqual(before);
    },
  );

  it.each([
    ['inline', '{ messages(agentId: "agent-x", since: "0000-01-01T00:00:00Z") { totalCount } }', {}, ['since']],
    [
      'in a variable',
      'query ($until: DateTime) { messages(agentId: "agent-x", until: $until) { totalCount } }',
      { until: '9999-12-31T23:00:00-05:00' },
      ['$until'],
    ],
    [
      'an expiry',
      'mutation { createApiKey(input: { name: "k", scopes: [READ], expiresAt: "0001-01-01T00:00:00+01:00" }) { ' +
        '__typename } }',
      {},
      ['input', 'expiresAt'],
    ],
  ])('refuses a date PostgreSQL cannot store (%s)', async (_case, query, variables, field) => {
    const answer = await request(query, variables);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field });
    expect(answer.json.errors?.[0]?.message).toContain('0001-01-01T00:00:00Z');
  });

  it("refuses text beyond a column's documented maximum", async () => {
    const before = await rowCounts(app);
    // 1,000,000 characters of distinct words: more than a tsvector (1 MB) can index.
    const words = Array.from({ length: 200_000 }, (_, index) => `w${index.toString(36)}`)
      .join(' ')
      .slice(0, 1_000_000);
    const memory = await request(
      'mutation ($input: CreateMemoryInput!) { createMemory(input: $input) { __typename ... on Error { ' +
        'code field message } } }',
      { input: { agentId, content: words, memoryType: 'FACTUAL', scope: 'user', level: 'core' } },
    );
    expect(memory.json).toEqual({
      data: {
        createMemory: {
          __typename: 'ValidationError',
          code: 'VALIDATION',
          field: ['input', 'content'],
          message: 'input.content: must be at most 100000 characters',
        },
      },
    });
    const agent = await request(
      'mutation ($system: String) { createAgent(input: { system: $system }) { __typename ... on Error { ' +
        'code field } } }',
      { system: 'x'.repeat(1_000_001) },
    );
    expect(agent.json).toEqual({
      data: { createAgent: { __typename: 'ValidationError', code: 'VALIDATION', field: ['input', 'system'] } },
    });
    expect(await rowCounts(app)).toEqual(before);
  });

  it('refuses a body that is not UTF-8 instead of storing U+FFFD', async () => {
    const before = await rowCounts(app);
    const body = Buffer.from(JSON.stringify({ query: CREATE_TOOL, variables: { input: { name: 'bad-@@' } } }));
    const at = body.indexOf('@@');
    body[at] = 0xff;
    body[at + 1] = 0xfe;
    const answer = await send(body);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(await rowCounts(app)).toEqual(before);
  });

  it('refuses a form post without the CSRF header with a code of its own', async () => {
    const answer = await send('query=mutation%7BcreateTool(input%3A%7Bname%3A%22csrf%22%7D)%7B__typename%7D%7D', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(answer.status).toBe(403);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'CSRF_HEADER_REQUIRED' });
  });

  it('names the GraphQL values of an enum, not the stored ones', async () => {
    const memoryId = (await app.database.owner.memory.findFirstOrThrow()).id;
    const answer = await request(
      'mutation ($id: ID!) { updateMemory(id: $id, input: { memoryType: null }) { ... on Error { ' +
        'code field message } } }',
      { id: memoryId },
    );
    expect(answer.json).toEqual({
      data: {
        updateMemory: {
          code: 'VALIDATION',
          field: ['input', 'memoryType'],
          message: 'input.memoryType: must be one of FACTUAL, EPISODIC, PROCEDURAL, SEMANTIC, WORKING',
        },
      },
    });
  });

  it('refuses JSON nested 10,000 deep without effort', async () => {
    const before = await rowCounts(app);
    const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
    const answer = await send(
      `{"query": ${JSON.stringify(CREATE_TOOL)}, "variables": {"input": {"name": "deep", "metadata": ${deep}}}}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION',
      field: ['$input', 'metadata', '0'],
    });
    expect(await rowCounts(app)).toEqual(before);
  });

  it('refuses a 10 MB string before reading it', async () => {
    const answer = await request(CREATE_TOOL, { input: { name: 'big', description: 'x'.repeat(10 * 1024 * 1024) } });
    expect(answer.status).toBe(413);
    expect(answer.json.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('treats quotes and SQL fragments as plain text', async () => {
    const before = await rowCounts(app);
    const sql = `'; DROP TABLE agents; -- " OR 1=1`;
    const filtered = await request(
      'query ($n: String) { tools(filter: { nameContains: $n }) { ' +
        'totalCount } agents(filter: { nameContains: $n }) { totalCount } }',
      { n: sql },
    );
    expect(filtered.json).toEqual({ data: { tools: { totalCount: 0 }, agents: { totalCount: 0 } } });
    const created = await request(
      'mutation ($input: CreateToolInput!) { createTool(input: $input) { ... on ToolPayload { tool { name } } } }',
      { input: { name: sql } },
    );
    expect(created.json).toEqual({ data: { createTool: { tool: { name: sql } } } });
    const counts = await rowCounts(app);
    expect(counts[2]).toBe(before[2] + 1);
  });

  it.each([
    ['a page size beyond the cap, with only the count selected', '{ agents(first: 101) { totalCount } }', ['first']],
    ['a negative page size', '{ agents(first: -5) { totalCount } }', ['first']],
    ['a negative page size further down', '{ agents { nodes { messages(last: -1) { totalCount } } } }', ['last']],
    [
      'a cursor that is no id',
      `{ agents(after: "${Buffer.from('GPC:N:5').toString('base64')}") { totalCount } }`,
      ['after'],
    ],
    ['an unknown enum value', '{ memories(filter: { memoryType: GOSSIP }) { totalCount } }', ['filter', 'memoryType']],
    [
      'a block limit beyond Int',
      'mutation { createBlock(input: { label: "x", value: "v", limit: 99999999999 }) { __typename } }',
      ['input', 'limit'],
    ],
  ])('answers %s with 400 VALIDATION naming the field', async (_case, query, field) => {
    const answer = await request(query);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field });
  });

  it.each([
    ['a lone surrogate as an escape', '{ agent(id: "\\uD800") { id } }', 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', '{ agents { nodes { size } } }', 'GRAPHQL_VALIDATION_FAILED'],
  ])('answers %s with a typed error about the document, never a 500', async (_case, query, code) => {
    const answer = await request(query);
    expect(answer.status).toBeLessThan(500);
    expect(answer.json.errors?.[0]?.extensions?.code).toBe(code);
  });

  it('answers an id of the wrong type as not found', async () => {
    const answer = await request('mutation ($id: ID!) { deleteTool(id: $id) { __typename ... on Error { code } } }', {
      id: agentId,
    });
    expect(answer.json).toEqual({ data: { deleteTool: { __typename: 'NotFoundError', code: 'NOT_FOUND' } } });
    expect(await app.database.owner.agent.findUniqueOrThrow({ where: { id: agentId } })).toMatchObject({
      isDeleted: false,
    });
  });
});
