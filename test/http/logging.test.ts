import { capturedLogger } from '../support/captured-logs';
import { startTestApp, type TestApp } from '../support/test-app';

const INFO = 30;
const WARN = 40;
const ERROR = 50;

describe('the log tells faults from mistakes', () => {
  let app: TestApp;
  let key: string;
  let agentId: string;
  const { logger, lines } = capturedLogger('debug');
  beforeAll(async () => {
    app = await startTestApp('logging', {}, logger);
    ({ key, agentId } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Sends a request with its own id and returns what the log says about that request. */
  async function logged(
    requestId: string,
    init: { body: string; contentType?: string; authorization?: string | null },
  ) {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: {
        'content-type': init.contentType ?? 'application/json',
        'x-request-id': requestId,
        ...(init.authorization !== null && { authorization: init.authorization ?? `Bearer ${key}` }),
      },
      body: init.body,
    });
    const body = await response.text();
    // pino writes asynchronously to its stream: let it drain before reading.
    await new Promise((resolve) => setImmediate(resolve));
    return {
      status: response.status,
      body,
      lines: lines.filter((line) => line.requestId === requestId),
      all: [...lines],
    };
  }
  const query = (text: string) => JSON.stringify({ query: text });

  it.each([
    ['an empty search', { body: query('{ searchMemories(query: "") { rank } }') }, 'VALIDATION'],
    ['a page beyond the cap', { body: query('{ agents(first: 101) { totalCount } }') }, 'VALIDATION'],
    ['a limit beyond the cap', { body: query('{ searchMemories(query: "tea", limit: 101) { rank } }') }, 'VALIDATION'],
    ['a bad cursor', { body: query('{ agents(after: "garbage") { nodes { id } } }') }, 'VALIDATION'],
    [
      'a variable of the wrong type',
      {
        body: JSON.stringify({
          query: 'query ($f: Int) { agents(first: $f) { totalCount } }',
          variables: { f: 'abc' },
        }),
      },
      'VALIDATION',
    ],
    [
      'a form post without the CSRF header',
      { body: 'query={__typename}', contentType: 'application/x-www-form-urlencoded' },
      'CSRF_HEADER_REQUIRED',
    ],
    [
      'an unknown key',
      { body: query('{ __typename }'), authorization: `Bearer amk_${'A'.repeat(43)}` },
      'UNAUTHENTICATED',
    ],
  ])('logs %s once, at info, without a stack', async (_case, init, code) => {
    const before = lines.length;
    const { status, lines: about, all } = await logged(`mistake-${code}-${before}`, init);
    expect(status).toBeLessThan(500);
    expect(about.filter((line) => line.msg === 'client error')).toEqual([
      expect.objectContaining({ level: INFO, code }),
    ]);
    // …and its request line names the code too.
    expect(about.filter((line) => line.msg === 'request')).toEqual([expect.objectContaining({ level: INFO, code })]);
    const since = all.slice(before);
    expect(since.filter((line) => line.level >= WARN)).toEqual([]);
    expect(since.filter((line) => line.err?.stack !== undefined)).toEqual([]);
  });

  it('logs an unexpected failure once, at error, with its stack and the request id', async () => {
    // A database failure the API does not expect: a table disappears under a request.
    await app.database.owner.$executeRawUnsafe('ALTER TABLE agents RENAME TO agents_gone');
    try {
      const before = lines.length;
      const { lines: about, all } = await logged('fault-1', { body: query('{ agents { nodes { name } } }') });
      const faults = all.slice(before).filter((line) => line.level >= WARN);
      expect(faults).toHaveLength(1);
      expect(faults[0]).toMatchObject({
        level: ERROR,
        requestId: 'fault-1',
        err: { stack: expect.stringContaining('agents') },
      });
      // The client was told only of an internal error, and that is not logged as its mistake.
      expect(about.filter((line) => line.msg === 'client error')).toEqual([]);
    } finally {
      await app.database.owner.$executeRawUnsafe('ALTER TABLE agents_gone RENAME TO agents');
    }
  });
  it('logs the code, the field and the kind of a client mistake, never the value it refused', async () => {
    const secret = 'sekret-4f2a9c';
    const name = secret.replaceAll('-', '_');
    // Every kind of mistake a client can make, each carrying the secret where a message or an
    // error could repeat it: the document, variables, enums, scalars, caps, the body, the headers.
    const attempts: Array<{ kind: string; body: string; authorization?: string; contentType?: string }> = [
      ...[
        // A value of the wrong type, inline and in a variable, at the top and inside an input.
        { kind: 'wrong type inline', query: `{ agents(first: "${secret}") { totalCount } }` },
        {
          kind: 'wrong type variable',
          query: 'query ($f: Int) { agents(first: $f) { totalCount } }',
          variables: { f: secret },
        },
        {
          kind: 'wrong type in an input',
          query: 'mutation ($i: CreateMemoryInput!) { createMemory(input: $i) { __typename } }',
          variables: {
            i: { agentId: 'a', content: { nested: secret }, level: 'x', scope: 'y', memoryType: 'SEMANTIC' },
          },
        },
        // An enum value that does not exist, inline and in a variable.
        { kind: 'enum inline', query: `{ messages(agentId: "a", roles: [${name.toUpperCase()}]) { totalCount } }` },
        {
          kind: 'enum variable',
          query: 'query ($r: [MessageRole!]) { messages(agentId: "a", roles: $r) { totalCount } }',
          variables: { r: [secret] },
        },
        // An instant that is not one, a cursor that is not ours, an unknown input field.
        {
          kind: 'instant',
          query: 'query ($s: DateTime) { messages(agentId: "a", since: $s) { totalCount } }',
          variables: { s: secret },
        },
        { kind: 'cursor', query: `{ agents(after: "${secret}") { totalCount } }` },
        {
          kind: 'unknown input field',
          query: 'query ($f: AgentFilter) { agents(filter: $f) { totalCount } }',
          variables: { f: { agentType: 'x', [name]: secret } },
        },
        // The document itself: a syntax error at the secret, an unknown field, argument,
        // variable, fragment or operation named by it, a number out of range.
        { kind: 'syntax error', query: `{ agents(first: 1) { ${secret} } }` },
        { kind: 'unterminated string', query: `{ agents(after: "${secret}) { totalCount } }` },
        { kind: 'unknown field', query: `{ ${name} }` },
        { kind: 'unknown argument', query: `{ agents(${name}: 1) { totalCount } }` },
        { kind: 'undefined variable', query: `{ agents(first: $${name}) { totalCount } }` },
        { kind: 'unknown fragment', query: `{ agents { ...${name} } }` },
        { kind: 'unknown type', query: `query ($v: ${name}) { agents { totalCount } }`, variables: { v: 1 } },
        { kind: 'integer out of range', query: '{ agents(first: 41234567890123) { totalCount } }' },
        {
          kind: 'float in an int',
          query: 'query ($f: Int) { agents(first: $f) { totalCount } }',
          variables: { f: 4.123456 },
        },
        {
          kind: 'missing variable',
          query: 'query ($f: Int!) { agents(first: $f) { totalCount } }',
          variables: { g: secret },
        },
        { kind: 'unknown operation', query: '{ __typename }', operationName: name },
        // Values refused by the API's own rules: a list over its cap, a text over its limit, an
        // impossible date, a JSON value where an object is wanted, an id of another kind.
        {
          kind: 'list over its cap',
          query: 'query ($t: [String!]) { memories(filter: { memoryTypes: $t }) { totalCount } }',
          variables: { t: Array.from({ length: 1001 }, () => secret) },
        },
        {
          kind: 'text over its limit',
          query:
            'mutation ($a: ID!, $c: String!) { createMemory(input: { agentId: $a, content: $c, level: "core", ' +
            'scope: "user", memoryType: FACTUAL }) { __typename } }',
          variables: { a: agentId, c: `${secret} `.repeat(8_000) },
        },
        {
          kind: 'JSON where an object is wanted',
          query:
            'mutation ($a: ID!, $m: JSON) { createMemory(input: { agentId: $a, content: "c", level: "core", ' +
            'scope: "user", memoryType: FACTUAL, metadata: $m }) { __typename } }',
          variables: { a: agentId, m: [secret] },
        },
        {
          kind: 'impossible date in an import',
          query: 'mutation ($f: JSON!) { importAgent(file: $f) { __typename } }',
          variables: {
            f: {
              version: 1,
              agent: { name: secret },
              messages: [{ role: 'user', text: secret, createdAt: '2024-02-30T00:00:00Z' }],
            },
          },
        },
        // The request's shape: variables that are not an object, a batch that is not allowed.
        { kind: 'variables not an object', query: '{ __typename }', variables: secret },
      ].map(({ kind, ...body }) => ({ kind, body: JSON.stringify(body) })),
      // Bodies GraphQL never reads: not JSON, JSON that is not a request.
      { kind: 'body not JSON', body: `{"query": "{ __typename }", "${secret}` },
      { kind: 'body a JSON string', body: JSON.stringify(secret) },
      // A key that is not one, and a key of the right form that does not exist.
      { kind: 'malformed key', body: query('{ __typename }'), authorization: `Bearer ${secret}` },
      { kind: 'unknown key', body: query('{ __typename }'), authorization: `Bearer amk_${secret}${'A'.repeat(30)}` },
      { kind: 'another scheme', body: query('{ __typename }'), authorization: `Basic ${secret}` },
    ];
    for (const [index, attempt] of attempts.entries()) {
      const before = lines.length;
      const { status, body, lines: about, all } = await logged(`secrets-${index}`, attempt);
      // Refused, whatever status the media type gives a refusal (test/http/errors.test.ts has those).
      // A mutation answers its own mistakes as a typed payload (`ValidationError`), not as errors.
      const answeredAsError = body.includes('"errors"') || /"__typename":"\w+Error"/.test(body);
      const refused = (status >= 400 || answeredAsError) && status < 500;
      expect({ kind: attempt.kind, refused, body }).toEqual({ kind: attempt.kind, refused: true, body });
      const clientErrors = about.filter((line) => line.msg === 'client error');
      const expectLine = status >= 400 || body.includes('"errors"');
      expect({ kind: attempt.kind, logged: clientErrors.length > 0 }).toEqual({
        kind: attempt.kind,
        logged: expectLine,
      });
      for (const line of clientErrors)
        expect(line).toMatchObject({ code: expect.any(String), fault: expect.any(String) });
      // Every line written meanwhile, at any level and whoever wrote it, not only the request's.
      const written = JSON.stringify(all.slice(before)).toLowerCase();
      expect({ kind: attempt.kind, leaked: written.includes('sekret') || written.includes('4f2a9c') }).toEqual({
        kind: attempt.kind,
        leaked: false,
      });
    }
  });
});

describe('each request has one line that says what a person needs', () => {
  let app: TestApp;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  const { logger, lines, text } = capturedLogger('debug');
  beforeAll(async () => {
    app = await startTestApp('request-log', {}, logger);
    demo = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  async function send(requestId: string, body: unknown, authorization = `Bearer ${demo.key}`) {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, authorization },
      body: JSON.stringify(body),
    });
    await response.text();
    await new Promise((resolve) => setImmediate(resolve));
    return lines.filter((line) => line.requestId === requestId && line.msg === 'request');
  }

  it('names the request, its operation, organization, duration, statements and status', async () => {
    const { result: logged, statements } = await app.countStatements(() =>
      send('named-1', { query: 'query DemoAgents { agents { nodes { name } } }' }),
    );
    expect(logged).toEqual([
      expect.objectContaining({
        level: INFO,
        requestId: 'named-1',
        method: 'POST',
        path: '/graphql',
        status: 200,
        operation: 'DemoAgents',
        operationType: 'query',
        organizationId: demo.organizationId,
        durationMs: expect.any(Number),
        // As many as the database saw for the same request.
        statements: statements.length,
      }),
    ]);
    expect(logged[0]).not.toHaveProperty('code');
    expect(statements.length).toBeGreaterThan(0);
  });

  it('names the error code of a refused request, with the operation the document names', async () => {
    const logged = await send('refused-1', { query: 'query Page { agents(first: 101) { totalCount } }' });
    expect(logged).toEqual([
      expect.objectContaining({
        status: 400,
        operation: 'Page',
        code: 'VALIDATION',
        organizationId: demo.organizationId,
      }),
    ]);
    const unauthenticated = await send(
      'refused-2',
      { query: 'mutation Forget { __typename }' },
      'Bearer amk_not-a-key',
    );
    expect(unauthenticated).toEqual([
      expect.objectContaining({ status: 401, operation: 'Forget', operationType: 'mutation', code: 'UNAUTHENTICATED' }),
    ]);
    expect(unauthenticated[0]).not.toHaveProperty('organizationId');
  });

  it('names the code of a body refused before GraphQL reads it', async () => {
    const logged = await send('too-large-1', { query: '{ __typename }', padding: 'x'.repeat(1024 * 1024 + 1) });
    expect(logged).toEqual([expect.objectContaining({ status: 413, code: 'PAYLOAD_TOO_LARGE', path: '/graphql' })]);
  });

  it('never logs a key, a message text or a memory content, even of the request that wrote them', async () => {
    const secretText = 'the vault code is 7-4-1-9, tell nobody';
    const secretMemory = 'remembers that the vault code is 7-4-1-9';
    const write = await send('writes-1', {
      query: `mutation Remember($agentId: ID!, $text: String!, $content: String!) {
        appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) { __typename }
        createMemory(input: { agentId: $agentId, content: $content, level: "core", scope: "user",
          memoryType: FACTUAL }) { __typename }
      }`,
      variables: { agentId: demo.agentId, text: secretText, content: secretMemory },
    });
    expect(write).toEqual([expect.objectContaining({ operation: 'Remember', operationType: 'mutation', status: 200 })]);
    expect(write[0]).not.toHaveProperty('code');
    await send('reads-1', { query: '{ agents { nodes { recentMessages { text } memories { nodes { content } } } } }' });
    await send('bad-key-1', { query: '{ __typename }' }, `Bearer ${demo.key.slice(0, -2)}xx`);
    const log = text.join('\n');
    expect(log).not.toContain(demo.key);
    expect(log).not.toContain(demo.key.slice(4, 24));
    expect(log).not.toContain('7-4-1-9');
    expect(log).not.toContain('learning GraphQL');
  });
});
