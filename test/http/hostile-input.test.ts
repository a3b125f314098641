import { startTestApp, type TestApp } from '../support/test-app';

/** Row counts of every tenant table: hostile input must leave them as they were. */
async function rowCounts(app: TestApp) {
  const prisma = app.database.owner;
  return Promise.all([prisma.agent.count(), prisma.block.count(), prisma.tool.count(), prisma.message.count(), prisma.memory.count(), prisma.user.count()]);
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
  async function send(body: string) {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
    });
    const text = await response.text();
    return { status: response.status, text, json: JSON.parse(text) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };
  }
  const request = (query: string, variables: Record<string, unknown> = {}) => send(JSON.stringify({ query, variables }));

  const CREATE_TOOL = 'mutation ($input: CreateToolInput!) { createTool(input: $input) { __typename ... on Error { code field } } }';

  it.each([
    ['a NUL in a JSON value', CREATE_TOOL, { input: { name: 't', metadata: { note: 'a\u0000b' } } }, ['$input', 'metadata', 'note']],
    ['a NUL in a JSON key', CREATE_TOOL, { input: { name: 't', metadata: { 'k\u0000': 1 } } }, ['$input', 'metadata', 'k\u0000']],
    ['a NUL in a filter', 'query ($n: String) { tools(filter: { nameContains: $n }) { totalCount } }', { n: 'x\u0000' }, ['$n']],
    ['a NUL in an id', 'query ($id: ID!) { agent(id: $id) { id } }', { id: 'agent-\u0000' }, ['$id']],
    ['a lone surrogate', 'mutation ($v: String!) { createBlock(input: { label: "x", value: $v }) { __typename } }', { v: 'half \ud800 a pair' }, ['$v']],
  ])('refuses %s with a VALIDATION error naming it, writing nothing', async (_case, query, variables, field) => {
    const before = await rowCounts(app);
    const answer = await request(query, variables);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field });
    expect(await rowCounts(app)).toEqual(before);
  });

  it('refuses a NUL written as an escape inside the query text', async () => {
    const answer = await send(JSON.stringify({ query: '{ tools(filter: { nameContains: "a\\u0000" }) { totalCount } }' }));
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions?.code).toBe('VALIDATION');
  });

  it('refuses JSON nested 10,000 deep without effort', async () => {
    const before = await rowCounts(app);
    const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
    const answer = await send(`{"query": ${JSON.stringify(CREATE_TOOL)}, "variables": {"input": {"name": "deep", "metadata": ${deep}}}}`);
    expect(answer.status).toBe(400);
    expect(answer.json.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['$input', 'metadata', '0'] });
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
    const filtered = await request('query ($n: String) { tools(filter: { nameContains: $n }) { totalCount } agents(filter: { nameContains: $n }) { totalCount } }', { n: sql });
    expect(filtered.json).toEqual({ data: { tools: { totalCount: 0 }, agents: { totalCount: 0 } } });
    const created = await request('mutation ($input: CreateToolInput!) { createTool(input: $input) { ... on ToolPayload { tool { name } } } }', { input: { name: sql } });
    expect(created.json).toEqual({ data: { createTool: { tool: { name: sql } } } });
    const counts = await rowCounts(app);
    expect(counts[2]).toBe(before[2] + 1);
  });

  it.each([
    ['a page size beyond Int', '{ agents(first: 2147483648) { totalCount } }'],
    ['a negative page size', '{ agents(first: -5) { totalCount } }'],
    ['an unknown enum value', '{ memories(filter: { memoryType: GOSSIP }) { totalCount } }'],
    ['a block limit beyond Int', 'mutation { createBlock(input: { label: "x", value: "v", limit: 99999999999 }) { __typename } }'],
  ])('answers %s with a typed error, never a 500', async (_case, query) => {
    const answer = await request(query);
    // 200 or 400 as GraphQL over HTTP has it for a plain JSON client; never a server error.
    expect(answer.status).toBeLessThan(500);
    expect(answer.json.errors?.[0]?.extensions?.code).toMatch(/^(VALIDATION|GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT)$/);
  });

  it('answers an id of the wrong type as not found', async () => {
    const answer = await request('mutation ($id: ID!) { deleteTool(id: $id) { __typename ... on Error { code } } }', { id: agentId });
    expect(answer.json).toEqual({ data: { deleteTool: { __typename: 'NotFoundError', code: 'NOT_FOUND' } } });
    expect(await app.database.owner.agent.findUniqueOrThrow({ where: { id: agentId } })).toMatchObject({ isDeleted: false });
  });
});
