import { randomUUID } from 'node:crypto';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp, type TypedDocument } from '../support/test-app';
import { testDatabaseKind } from '../support/test-databases';

const AppendOne = graphql(`
  mutation IdempotentAppend($agentId: ID!, $text: String!) {
    appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) {
      __typename
      ... on MessagesPayload { messages { id text } }
      ... on Error { code field message }
    }
  }
`);
const CreateToolThenAppend = graphql(`
  mutation IdempotentToolAndAppend($tool: String!, $agentId: ID!, $text: String!) {
    createTool(input: { name: $tool }) { __typename ... on ToolPayload { tool { id } } }
    appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) { __typename }
  }
`);
const DeleteAgent = graphql(`
  mutation IdempotentDeleteAgent($id: ID!) { deleteAgent(id: $id) { __typename } }
`);
const RestoreAgent = graphql(`
  mutation IdempotentRestoreAgent($id: ID!) { restoreAgent(id: $id) { __typename } }
`);
const CreateAgent = graphql(`
  mutation IdempotentCreateAgent($name: String!) { createAgent(input: { name: $name }) {
    __typename ... on AgentPayload { agent { id } } } }
`);
const AgentCount = graphql(`
  query IdempotentAgentCount { agents { totalCount } }
`);
const IssueKey = graphql(`
  mutation IdempotentIssueKey { createApiKey(input: { name: "retrier", scopes: [WRITE] }) {
    __typename ... on CreatedApiKey { key } } }
`);

interface Answer {
  status: number;
  text: string;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  };
}

interface PostOptions {
  signal?: AbortSignal;
  /** The body as sent, when it must differ from the plain JSON of the document and variables. */
  body?: string;
}

/** POSTs a document to `url` with an API key and, optionally, an Idempotency-Key: the raw answer. */
async function post<TData, TVariables>(
  url: string,
  key: string,
  document: TypedDocument<TData, TVariables>,
  variables: TVariables,
  idempotencyKey?: string,
  options: PostOptions = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${key}`,
      ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }),
    },
    body: options.body ?? JSON.stringify({ query: document.toString(), variables }),
    signal: options.signal,
  });
  const text = await response.text();
  return { status: response.status, text, headers: response.headers, body: JSON.parse(text) as Answer['body'] };
}

const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;
const onPglite = testDatabaseKind() === 'pglite' ? it : it.skip;

describe('Idempotency-Key on mutations', () => {
  let app: TestApp;
  let demo: DemoData;

  const send = <TData, TVariables>(
    key: string,
    document: TypedDocument<TData, TVariables>,
    variables: TVariables,
    idempotencyKey?: string,
    options?: PostOptions,
  ) => post(app.url, key, document, variables, idempotencyKey, options);

  const messageCount = () => app.database.owner.message.count({ where: { agentId: demo.agentId } });
  const keptCount = (key?: string) =>
    app.database.owner.idempotencyKey.count({ where: { organizationId: demo.organizationId, ...(key && { key }) } });

  beforeAll(async () => {
    app = await startTestApp('idempotency', { idempotencyTtlHours: 2 });
    demo = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('runs a mutation once per key: a retry writes nothing and gets its status and body, marked replayed', async () => {
    const key = randomUUID();
    const before = await messageCount();
    const first = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'once' }, key);
    expect(first.status).toBe(200);
    expect(first.body.data?.appendMessages).toMatchObject({ __typename: 'MessagesPayload' });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(await messageCount()).toBe(before + 1);

    const retry = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'once' }, key);
    expect(retry.status).toBe(200);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');

    // The same request written differently (key order, a null operation name, the draft's quoted
    // form of the key) is the same request.
    const rewritten = JSON.stringify({
      variables: { text: 'once', agentId: demo.agentId },
      operationName: null,
      query: AppendOne.toString(),
    });
    const again = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'once' }, `"${key}"`, {
      body: rewritten,
    });
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');

    expect(await messageCount()).toBe(before + 1);
    expect(await keptCount(key)).toBe(1);
    const kept = await app.database.owner.idempotencyKey.findFirstOrThrow({ where: { key } });
    expect(kept).toMatchObject({ responseStatus: 200, responseBody: first.text, organizationId: demo.organizationId });
    // IDEMPOTENCY_TTL_HOURS (2 here): stored values compared, not a duration measured.
    expect(Math.round((kept.expiresAt.getTime() - kept.createdAt.getTime()) / 60_000)).toBe(120);
  });

  it(
    'refuses the key with another request: 422 CONFLICT naming the header, nothing written, ' +
      'the first outcome still kept',
    async () => {
      const key = randomUUID();
      const first = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'first' }, key);
      const before = await messageCount();

      const other = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'something else' }, key);
      expect(other.status).toBe(422);
      expect(other.body.data).toBeUndefined();
      expect(other.body.errors).toHaveLength(1);
      expect(other.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: ['Idempotency-Key'] });
      expect(await messageCount()).toBe(before);

      const retry = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'first' }, key);
      expect(retry.text).toBe(first.text);
      expect(await keptCount(key)).toBe(1);
    },
  );

  it('keeps keys per API key: another key with the same Idempotency-Key runs on its own', async () => {
    const issued = await send(demo.key, IssueKey, {});
    const secondKey = (issued.body.data!.createApiKey as { key: string }).key;
    const key = randomUUID();
    const before = await messageCount();

    const mine = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'per key' }, key);
    const theirs = await send(secondKey, AppendOne, { agentId: demo.agentId, text: 'per key' }, key);
    expect(theirs.status).toBe(200);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.text).not.toBe(mine.text);
    expect(await messageCount()).toBe(before + 2);

    // Each key's retry gets its own outcome.
    expect((await send(secondKey, AppendOne, { agentId: demo.agentId, text: 'per key' }, key)).text).toBe(theirs.text);
    expect((await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'per key' }, key)).text).toBe(mine.text);
    expect(await messageCount()).toBe(before + 2);
  });

  it('keeps a typed error too: the retry gets it again, even once the request would succeed', async () => {
    const key = randomUUID();
    expect((await send(demo.key, DeleteAgent, { id: demo.agentId })).body.data?.deleteAgent).toMatchObject({
      __typename: 'DeletedPayload',
    });
    const before = await messageCount();
    const first = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'to a deleted agent' }, key);
    expect(first.body.data?.appendMessages).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });

    expect((await send(demo.key, RestoreAgent, { id: demo.agentId })).body.data?.restoreAgent).toMatchObject({
      __typename: 'AgentPayload',
    });
    const retry = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'to a deleted agent' }, key);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await messageCount()).toBe(before);
  });

  it("keeps no outcome that is the server's fault: the request's writes are undone, and the retry runs", async () => {
    // A real database failure in the second field, after the first one wrote its tool.
    await app.database.owner.$executeRawUnsafe(`
      CREATE FUNCTION idempotency_test_failure() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the disk is on fire'; END $$`);
    await app.database.owner.$executeRawUnsafe(
      'CREATE TRIGGER idempotency_test_failure BEFORE INSERT ' +
        'ON messages FOR EACH ROW EXECUTE FUNCTION idempotency_test_failure()',
    );
    const key = randomUUID();
    const variables = { tool: `tool-${key}`, agentId: demo.agentId, text: 'after the tool' };
    const tools = () => app.database.owner.tool.count({ where: { name: variables.tool } });
    const before = await messageCount();
    try {
      const failed = await send(demo.key, CreateToolThenAppend, variables, key);
      expect(failed.body.data).toBeNull();
      expect(failed.body.errors?.[0]?.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
      expect(failed.text).not.toContain('fire');
      expect(await tools()).toBe(0);
      expect(await keptCount(key)).toBe(0);
    } finally {
      await app.database.owner.$executeRawUnsafe('DROP TRIGGER idempotency_test_failure ON messages');
      await app.database.owner.$executeRawUnsafe('DROP FUNCTION idempotency_test_failure()');
    }

    const retry = await send(demo.key, CreateToolThenAppend, variables, key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.body.data).toMatchObject({
      createTool: { __typename: 'ToolPayload' },
      appendMessages: { __typename: 'MessagesPayload' },
    });
    expect(await tools()).toBe(1);
    expect(await messageCount()).toBe(before + 1);
    expect(await keptCount(key)).toBe(1);
  });

  it('forgets a key once it has expired: the request runs again, and expired keys are swept', async () => {
    // An organization of its own, whose first idempotent request in this process sweeps.
    const other = await app.seedDemo();
    const stale = {
      apiKeyId: '',
      organizationId: other.organizationId,
      requestHash: 'x'.repeat(64),
      responseStatus: 200,
      responseBody: '{}',
    };
    const [apiKey] = await app.database.owner.apiKey.findMany({ where: { organizationId: other.organizationId } });
    const past = new Date(Date.now() - 60_000);
    await app.database.owner.idempotencyKey.create({
      data: { ...stale, apiKeyId: apiKey!.id, key: 'long forgotten', expiresAt: past },
    });

    const key = randomUUID();
    const agents = () => app.database.owner.agent.count({ where: { organizationId: other.organizationId } });
    const before = await agents();
    const first = await send(other.key, CreateAgent, { name: 'expiring' }, key);
    expect(await app.database.owner.idempotencyKey.count({ where: { key: 'long forgotten' } })).toBe(0);
    await app.database.owner.idempotencyKey.updateMany({ where: { key }, data: { expiresAt: past } });

    const afterExpiry = await send(other.key, CreateAgent, { name: 'expiring' }, key);
    expect(afterExpiry.headers.get('idempotent-replayed')).toBeNull();
    expect(afterExpiry.text).not.toBe(first.text);
    expect(await agents()).toBe(before + 2);
    const kept = await app.database.owner.idempotencyKey.findMany({ where: { key } });
    expect(kept.map((row) => row.responseBody)).toEqual([afterExpiry.text]);
  });

  it('lets queries run as without the header, keeping nothing', async () => {
    const before = await keptCount();
    const key = randomUUID();
    for (const header of [key, key, '']) {
      const answer = await send(demo.key, AgentCount, {}, header);
      expect(answer.status).toBe(200);
      expect(answer.body.data).toEqual({ agents: { totalCount: 1 } });
      expect(answer.headers.get('idempotent-replayed')).toBeNull();
    }
    expect(await keptCount()).toBe(before);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['longer than 255 characters', 'k'.repeat(256)],
    ['not ASCII', 'clé'],
    ['a broken quoted string', '"a"b"'],
    ['a quoted string with a bad escape', '"a\\b"'],
  ])('refuses a key that is %s: 400 VALIDATION naming the header, nothing run or kept', async (_case, header) => {
    const before = await messageCount();
    const kept = await keptCount();
    const answer = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'malformed key' }, header);
    expect(answer.status).toBe(400);
    expect(answer.body.data).toBeUndefined();
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['Idempotency-Key'] });
    expect(await messageCount()).toBe(before);
    expect(await keptCount()).toBe(kept);
  });

  it('writes once for a client that gives up on an attempt the server still completes, then retries', async () => {
    const key = randomUUID();
    const before = await messageCount();
    const abandoned = new AbortController();
    // The client hangs up once the server is writing the message: the outcome is ambiguous to it.
    const stop = app.database.onStatement((sql) => {
      if (/INSERT INTO "public"\."messages"/.test(sql)) abandoned.abort();
    });
    try {
      await expect(
        send(demo.key, AppendOne, { agentId: demo.agentId, text: 'ambiguous' }, key, { signal: abandoned.signal }),
      ).rejects.toThrow();
    } finally {
      stop();
    }

    // The retrying client of docs/api.md: the same key until an answer that is not "in flight".
    let answer = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'ambiguous' }, key);
    for (let attempt = 1; answer.status === 409 && attempt < 30; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, Number(answer.headers.get('retry-after')) * 1000));
      answer = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'ambiguous' }, key);
    }
    expect(answer.status).toBe(200);
    expect(answer.body.data?.appendMessages).toMatchObject({
      __typename: 'MessagesPayload',
      messages: [{ text: 'ambiguous' }],
    });
    expect(await messageCount()).toBe(before + 1);
  });

  it('lets concurrent retries of one request write once: each gets the outcome or an in-flight CONFLICT', async () => {
    const key = randomUUID();
    const before = await messageCount();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => send(demo.key, AppendOne, { agentId: demo.agentId, text: 'concurrent' }, key)),
    );
    expect(await messageCount()).toBe(before + 1);
    const outcomes = answers.filter((answer) => answer.status === 200);
    expect(outcomes.filter((answer) => answer.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(new Set(outcomes.map((answer) => answer.text)).size).toBe(1);
    for (const answer of answers.filter((candidate) => candidate.status !== 200)) {
      expect(answer.status).toBe(409);
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({
        code: 'CONFLICT',
        field: ['Idempotency-Key'],
        retryAfterSeconds: 1,
      });
    }
  });

  // PGlite serves one transaction at a time: a retry cannot start while the first request's
  // transaction is open, so it waits its turn and then gets the kept outcome.
  onPglite(
    'makes a concurrent retry wait for the first request on the embedded database, then replays it',
    async () => {
      const key = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => send(demo.key, AppendOne, { agentId: demo.agentId, text: 'in turn' }, key)),
      );
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      expect(answers.filter((answer) => answer.headers.get('idempotent-replayed') === 'true')).toHaveLength(3);
    },
  );

  // On PostgreSQL another session can hold the first request inside its transaction: a lock on
  // the agent's row, which appendMessages takes after it has claimed the key.
  onPostgres(
    'answers a retry while the first request is in flight with 409 CONFLICT, retryAfterSeconds and Retry-After',
    async () => {
      const key = randomUUID();
      const before = await messageCount();
      let release!: () => void;
      let locked!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holding = app.database.owner.$transaction(
        async (tx) => {
          await tx.$queryRaw`SELECT id FROM agents WHERE id = ${demo.agentId} FOR UPDATE`;
          locked();
          await released;
        },
        { timeout: 60_000 },
      );
      await isLocked;
      const first = send(demo.key, AppendOne, { agentId: demo.agentId, text: 'held' }, key);
      try {
        // Until the first request waits for the row lock, holding its key.
        for (;;) {
          const [waiting] = await app.database.owner.$queryRaw<Array<{ count: number }>>`
          SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database()
            AND wait_event_type = 'Lock'`;
          if (waiting!.count > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const retry = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'held' }, key);
        expect(retry.status).toBe(409);
        expect(retry.headers.get('retry-after')).toBe('1');
        expect(retry.body.data).toBeUndefined();
        expect(retry.body.errors?.[0]?.extensions).toMatchObject({
          code: 'CONFLICT',
          field: ['Idempotency-Key'],
          retryAfterSeconds: 1,
        });
      } finally {
        release();
        await holding;
      }
      const done = await first;
      expect(done.status).toBe(200);
      const replay = await send(demo.key, AppendOne, { agentId: demo.agentId, text: 'held' }, key);
      expect(replay.text).toBe(done.text);
      expect(await messageCount()).toBe(before + 1);
    },
  );
});

// graphql-jit replaces the executor (GRAPHQL_JIT): the idempotent transaction must wrap it too.
describe('Idempotency-Key with graphql-jit executing', () => {
  let app: TestApp;
  let demo: DemoData;
  beforeAll(async () => {
    app = await startTestApp('idempotency_jit', { graphqlJit: true });
    demo = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('runs a mutation once and replays its bytes', async () => {
    const key = randomUUID();
    const variables = { agentId: demo.agentId, text: 'compiled' };
    const first = await post(app.url, demo.key, AppendOne, variables, key);
    const retry = await post(app.url, demo.key, AppendOne, variables, key);
    expect(first.body.data?.appendMessages).toMatchObject({ __typename: 'MessagesPayload' });
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await app.database.owner.message.count({ where: { agentId: demo.agentId, text: 'compiled' } })).toBe(1);
  });
});
