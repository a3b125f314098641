import fc from 'fast-check';
import { isObjectType } from 'graphql';
import { issueApiKey } from '../../src/auth/keys';
import type { DatabaseSettings } from '../../src/config/settings';
import { addAgentFleet } from '../../src/demo/agent-fleet';
import type { DemoData } from '../../src/demo/seed';
import { schema } from '../../src/schema';
import { holdTable } from '../support/held-table';
import { throughTestPooler } from '../support/pgbouncer';
import { propertySeed } from '../support/property-seed';
import { type GeneralPathServer, startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';
import { cloneMigratedDatabase, testDatabaseKind } from '../support/test-databases';

/**
 * A query that the planner answers whole is answered by PostgreSQL's text of the response
 * (src/planner/response-text.ts): the same bytes as the general path, in one statement per root
 * field. What the text cannot hold as graphql-js writes it is executed as usual, and says so in
 * its statements: these tests tell the two apart by the statement's name (`as text`).
 */
describe('a query the planner answers whole is answered by its text', () => {
  let app: TestApp;
  let general: GeneralPathServer;
  let demo: DemoData;

  beforeAll(async () => {
    app = await startTestApp('response_text');
    demo = await app.seedDemo();
    await app.seedDemo();
    await addAgentFleet(app.database.owner, demo, 4);
    const owner = app.database.owner;
    await owner.$executeRawUnsafe(`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, importance)
      VALUES ('memory-tiny', '${demo.organizationId}', '${demo.userId}', '${demo.agentId}', 'tiny', 'semantic',
          'agent', 'core', 0.00001),
        ('memory-plain', '${demo.organizationId}', '${demo.userId}', '${demo.agentId}', 'plain "quoted"\n\ttext é',
          'semantic', 'user', 'core', 0.75)`);
    const withMetadata = (id: string, metadata: string) =>
      owner.$executeRawUnsafe(
        `INSERT INTO memories (id, organization_id, user_id, agent_id, content, metadata, memory_type, scope, level)
         VALUES ($1, $2, $3, $4, 'json', $5::jsonb, 'semantic', 'agent', 'core')`,
        id,
        demo.organizationId,
        demo.userId,
        demo.agentId,
        metadata,
      );
    await withMetadata(
      'memory-json',
      String.raw`{"n": null, "b": [1, 0.7, {"x y": "\u0001\n"}], "a": "q\"uo\\te, \" : x"}`,
    );
    await withMetadata('memory-json-key', '{"a": 1, "10": 2}');
    await withMetadata('memory-json-zero', '{"a": 1.50}');
    await withMetadata('memory-json-null', 'null');
    general = await startGeneralPathServer(app);
  }, 120_000);

  afterAll(async () => {
    await general?.close();
    await app?.close();
  });

  /** Both servers' answers to `query`, and the statements the planner sent for it, by form. */
  async function answer(query: string, variables: Record<string, unknown> = {}, key = demo.key) {
    const { result, statements } = await app.countStatements(() => general.both(key, query, variables));
    const planned = statements.filter((sql) => sql.startsWith('SELECT /* planned'));
    return {
      fast: result[0],
      slow: result[1],
      asText: planned.filter((sql) => sql.includes(' as text */')).length,
      asObjects: planned.filter((sql) => !sql.includes(' as text */')).length,
    };
  }

  it('answers lists, relations, connections, fragments, aliases, directives: a statement per root field', async () => {
    const { fast, slow, asText, asObjects } = await answer(
      `query ($skip: Boolean!) {
        __typename
        list: agents(first: 3) {
          __typename totalCount
          pageInfo { __typename hasNextPage endCursor }
          edges { cursor node { ...Agent } }
        }
        agent(id: "${demo.agentId}") { id again: name blocks { label value } name @skip(if: $skip) messageCount }
        memories(track: false, first: 5, filter: { scope: "user" }) { nodes { id content importance createdAt } }
      }
      fragment Agent on Agent { __typename id name tools { name } blocks { id label } createdAt }`,
      { skip: true },
    );
    expect(fast).toBe(slow);
    expect(fast).toMatch(/^200 \{"data":\{"__typename":"Query","list":\{"__typename":"QueryAgentsConnection"/);
    expect({ asText, asObjects }).toEqual({ asText: 3, asObjects: 0 });
  });

  it('writes JSON values as graphql-js does, and executes a query with a Float it would write otherwise', async () => {
    // JSON written as JavaScript writes it: without jsonb's spaces, strings escaped alike.
    const json = await answer(`{ memory(id: "memory-json", track: false) { metadata } }`);
    expect(json.fast).toBe(json.slow);
    expect(json.fast).toBe(
      '200 {"data":{"memory":{"metadata":{"a":"q\\"uo\\\\te, \\" : x","b":[1,0.7,{"x y":"\\u0001\\n"}],"n":null}}}}',
    );
    expect({ asText: json.asText, asObjects: json.asObjects }).toEqual({ asText: 1, asObjects: 0 });
    // An integer-like key, which JavaScript puts first, and 1.50, which it writes 1.5.
    const rewritten = await answer(
      `{ key: memory(id: "memory-json-key", track: false) { metadata }
        zero: memory(id: "memory-json-zero", track: false) { metadata } }`,
    );
    expect(rewritten.fast).toBe(rewritten.slow);
    expect(rewritten.fast).toBe('200 {"data":{"key":{"metadata":{"10":2,"a":1}},"zero":{"metadata":{"a":1.5}}}}');
    expect({ asText: rewritten.asText, asObjects: rewritten.asObjects }).toEqual({ asText: 2, asObjects: 0 });
    // A JSON null in a non-null field, an error in graphql-js: the text is refused, the query executed.
    const jsonNull = await answer(`{ memory(id: "memory-json-null", track: false) { metadata } }`);
    expect(jsonNull.fast).toMatch(/"path":\["memory","metadata"\]/);
    expect({ asText: jsonNull.asText, asObjects: jsonNull.asObjects }).toEqual({ asText: 1, asObjects: 1 });

    // 0.00001: PostgreSQL writes 1e-05. The text is read, found unanswerable, and the query executed.
    const tiny = await answer(`{ memory(id: "memory-tiny", track: false) { id importance } }`);
    expect(tiny.fast).toBe(tiny.slow);
    expect(tiny.fast).toContain('"importance":0.00001');
    expect({ asText: tiny.asText, asObjects: tiny.asObjects }).toEqual({ asText: 1, asObjects: 1 });

    const plain = await answer(`{ memory(id: "memory-plain", track: false) { content importance } }`);
    expect(plain.fast).toBe(plain.slow);
    expect({ asText: plain.asText, asObjects: plain.asObjects }).toEqual({ asText: 1, asObjects: 0 });
  });

  it('writes generated JSON values byte for byte as graphql-js does, or executes the query', async () => {
    const seed = propertySeed('json text');
    // Any JSON (deep, any Unicode, any double), and JSON as clients store it: short keys, small
    // numbers, decimals such as 0.7, text with punctuation. PostgreSQL holds no NUL. Not a JSON
    // null at the top: Memory.metadata is non-null, and the two executors word that error
    // differently (graphql-jit's has no locations); the text writes UNANSWERABLE for it.
    const plausible = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.integer({ min: -1000, max: 1_000_000 }),
        fc.integer({ min: -999, max: 999 }).map((n) => n / 10),
        fc.constantFrom(true, false, null, 'a, b: "c"', 'x\ty\\z', 'é ✓ 👍'),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'grapheme-ascii', maxLength: 6 }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    const storable = fc
      .oneof(fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' }), plausible)
      .filter((value) => value !== null && !JSON.stringify(value).includes('\\u0000'));
    const values = fc.sample(storable, { seed, numRuns: 60 });
    await app.database.owner.$executeRawUnsafe(
      `INSERT INTO memories (id, organization_id, user_id, agent_id, content, metadata, memory_type, scope, level)
       SELECT 'memory-generated-' || n, $1, $2, $3, 'generated', value, 'semantic', 'agent', 'core'
       FROM unnest($4::jsonb[]) WITH ORDINALITY AS generated(value, n)`,
      demo.organizationId,
      demo.userId,
      demo.agentId,
      values.map((value) => JSON.stringify(value)),
    );
    let answeredAsText = 0;
    for (const [index, value] of values.entries()) {
      const { fast, slow, asText, asObjects } = await answer(
        `{ memory(id: "memory-generated-${index + 1}", track: false) { id metadata } }`,
      );
      expect({ value, fast }).toEqual({ value, fast: slow });
      if (asText === 1 && asObjects === 0) answeredAsText += 1;
    }
    expect(answeredAsText).toBe(values.length);
  });

  it('executes what a hook or an authorization must see: a tracked memory, a field the key may not read', async () => {
    const accesses = async () =>
      (
        await app.database.owner.$queryRawUnsafe<Array<{ count: number }>>(
          `SELECT access_count::int AS count FROM memories WHERE id = 'memory-plain'`,
        )
      )[0]!.count;
    const before = await accesses();
    const tracked = await answer(`{ memory(id: "memory-plain") { id } }`);
    expect(tracked.fast).toBe(tracked.slow);
    expect(tracked.asText).toBe(0);
    // Counted by each server: the test app's and the general one's.
    expect(await accesses()).toBe(before + 2);

    // A tracked list is answered by its text: its statement gives the ids it shows beside it.
    const listed = await answer(`{ memories(first: 5, filter: { scope: "user" }) { totalCount nodes { id } } }`);
    expect(listed.fast).toBe(listed.slow);
    expect(listed.fast).toContain('"memory-plain"');
    expect({ asText: listed.asText, asObjects: listed.asObjects }).toEqual({ asText: 1, asObjects: 0 });
    expect(await accesses()).toBe(before + 4);

    const { key } = await issueApiKey(app.database.owner, demo, { name: 'reader', scopes: ['read'] });
    const forbidden = await answer(`{ apiKeys(first: 2) { nodes { id } } }`, {}, key);
    expect(forbidden.fast).toBe(forbidden.slow);
    expect(forbidden.fast).toContain('"FORBIDDEN"');
    expect(forbidden.asText).toBe(0);
    const admin = await answer(`{ apiKeys(first: 2) { nodes { id name } } }`);
    expect(admin.fast).toBe(admin.slow);
    expect(admin.asText).toBe(1);
  });

  it('executes a query whose variables or arguments are refused, with the same errors', async () => {
    for (const [query, variables] of [
      ['query ($n: Int!) { agents(first: $n) { nodes { id } } }', {}],
      ['query ($n: Int!) { agents(first: $n) { nodes { id } } }', { n: 'three' }],
      ['{ agents(first: -1) { nodes { id } } }', {}],
      ['{ agents(first: 2, after: "not a cursor") { nodes { id } } }', {}],
    ] as const) {
      const refused = await answer(query, variables);
      expect({ query, answer: refused.fast }).toEqual({ query, answer: refused.slow });
      expect({ query, asText: refused.asText }).toEqual({ query, asText: 0 });
    }
  });

  it('only ever reads rows in the scope of the caller: another organization sees its own agents', async () => {
    const other = await app.seedDemo();
    const own = await answer(`{ agents(first: 50) { nodes { id } } }`, {}, other.key);
    expect(own.fast).toBe(own.slow);
    expect(own.asText).toBe(1);
    const ids = (JSON.parse(own.fast.slice(4)) as { data: { agents: { nodes: Array<{ id: string }> } } }).data.agents
      .nodes;
    expect(ids.map((node) => node.id)).toEqual([other.agentId]);
    const foreign = await answer(`{ agent(id: "${demo.agentId}") { id } }`, {}, other.key);
    expect(foreign.fast).toBe(foreign.slow);
    expect(foreign.fast).toBe('200 {"data":{"agent":null}}');
  });
});

describe('the authorization that a query answered by its text is held to', () => {
  it('is declared only on the root types and their fields, where useResponseText checks it', () => {
    const scoped = (extensions: Readonly<Record<string, unknown>>) =>
      (extensions.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes !== undefined;
    const roots = new Set(['Query', 'Mutation', 'Subscription']);
    const elsewhere = Object.values(schema.getTypeMap()).flatMap((type) => {
      if (!isObjectType(type) || type.name.startsWith('__')) return [];
      const own = !roots.has(type.name) && scoped(type.extensions) ? [type.name] : [];
      const fields = roots.has(type.name)
        ? []
        : Object.values(type.getFields())
            .filter((field) => scoped(field.extensions))
            .map((field) => `${type.name}.${field.name}`);
      return [...own, ...fields];
    });
    // A type or a nested field with scopes of its own would be answered unchecked: the response
    // text would have to check it as well.
    expect(elsewhere).toEqual([]);
    expect(scoped(schema.getQueryType()!.getFields().apiKeys!.extensions)).toBe(true);
  });
});

// On PostgreSQL only (docs/testing.md, "Skipped tests"): the statement runs out of its own
// statement_timeout behind a lock, which PGlite, without a statement timeout, cannot show.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

describe('a statement of a query answered by its text that the database cannot serve', () => {
  let app: TestApp | undefined;
  let general: GeneralPathServer | undefined;
  let clone: Awaited<ReturnType<typeof cloneMigratedDatabase>> | undefined;

  afterAll(async () => {
    await general?.close();
    await app?.close();
    await clone?.drop();
  });

  onPostgres('is answered its 503 at once, as the general path answers it, and is not sent again', async () => {
    clone = await cloneMigratedDatabase('response_text_refused');
    const database = { ...throughTestPooler(clone.settings), statementTimeoutMs: 300 } as DatabaseSettings;
    app = await startTestApp('response_text_refused', { database });
    const demo = await app.seedDemo();
    general = await startGeneralPathServer(app);
    const server = general;
    // Users do not read agents: their root field is answered, and the agents' is refused.
    const query = `{ users(first: 1) { nodes { id } } agents(first: 2) { nodes { id name } } }`;
    expect((await server.both(demo.key, query, {}))[0]).toMatch(/^200 /);

    const release = await holdTable(app, 'agents');
    let answers: [string, string];
    let statements: string[];
    try {
      ({ result: answers, statements } = await app.countStatements(() => server.both(demo.key, query, {})));
    } finally {
      await release();
    }
    const [fast, slow] = answers;
    expect(fast).toBe(slow);
    expect(fast).toMatch(
      /^503 \{"errors":\[\{"message":"the request took too long[^\]]*\],"path":\["agents"\].*"REQUEST_TIMEOUT"/,
    );
    // One statement per root field, each sent once: the one that ran out of time was not run again.
    const planned = statements.filter((sql) => sql.startsWith('SELECT /* planned'));
    expect(planned.map((sql) => /^SELECT \/\* planned (\w+)/.exec(sql)?.[1]).sort()).toEqual(['agents', 'users']);
    expect(planned.every((sql) => sql.includes(' as text */'))).toBe(true);
  });
});
