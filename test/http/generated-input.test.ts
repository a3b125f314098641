import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  buildSchema,
  type GraphQLNamedType,
  getNamedType,
  isInputObjectType,
  parse,
  typeFromAST,
  visit,
} from 'graphql';
import type { DemoData } from '../../src/demo/seed';
import { graphqlString, inlineVariables, type StringStyle } from '../support/graphql-literals';
import { propertySeed } from '../support/property-seed';
import { rowsOfOrganization } from '../support/tenant-rows';
import { startTestApp, type TestApp } from '../support/test-app';

const schema = buildSchema(fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));

/** Strings a careless client or an attacker might send: any code point, and the known troublemakers. */
const nastyString = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom(
        '\u0000',
        '\ud800',
        '\udfff',
        "'",
        '"',
        '\\',
        '"""',
        '\\u0000',
        '\\u{0}',
        '%',
        '_',
        '😀',
        "'; DROP TABLE agents; --",
        ' ',
        '',
        '\n',
      ),
    ),
    { maxLength: 4 },
  )
  .map((parts) => parts.join(''));

/** 1,000,000 characters of distinct words: what once overflowed the full-text index. */
const distinctWords = Array.from({ length: 200_000 }, (_, index) => `w${index.toString(36)}`)
  .join(' ')
  .slice(0, 1_000_000);

/**
 * Mostly what the rules accept, now and then anything: a request whose every field is hostile
 * is refused by its first rule, and the rules behind it would never be reached.
 */
const word = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('user', 'core', 'persona', 'Ada', 'likes tea', 'x') },
  { weight: 1, arbitrary: nastyString },
);

/** Texts around the documented maxima (50, 255, 1,000, 100,000, 1,000,000 characters) now and then. */
const sizedString = fc.oneof(
  { weight: 8, arbitrary: word },
  {
    weight: 1,
    arbitrary: fc.constantFrom(50, 51, 255, 256, 1000, 1001, 100_000, 100_001).map((length) => 'x'.repeat(length)),
  },
  { weight: 1, arbitrary: fc.constantFrom(distinctWords, 'y'.repeat(1_000_001)) },
);

/** Memory content is indexed for search, which has limits of its own: large texts more often. */
const memoryContent = fc.oneof(
  { weight: 2, arbitrary: word },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(100_001), distinctWords) },
);

const nastyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(nastyString, nastyString, { maxKeys: 3 }),
  fc.array(nastyString, { maxLength: 3 }),
);

/** Where a JSON object is expected (metadata): mostly one, now and then any JSON. */
const jsonObject = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.constantFrom('source', 'tags', 'k'), word, { maxKeys: 2 }) },
  { weight: 1, arbitrary: nastyJson },
);

/** Instants PostgreSQL or the DateTime scalar cannot take, around the edges, and any JavaScript can. */
const extremeDate = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '0001-01-01T00:00:00+01:00',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:00:00-05:00',
    '2024-02-30T00:00:00Z',
    '1970-01-01T00:00:00+14:00',
    'yesterday',
    '',
  ),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
);

const extremeInt = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 100 }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 120 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(-1, 101, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 1e21, 1.5),
  },
);
const extremeFloat = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: -1000, max: 1000, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 5e-324, 1e-46, 3.4e38, 3.5e38, 1e308, -1e308) },
);

/**
 * Metadata filters: paths good and bad, operands of every JSON kind, and/or/not nested past the
 * allowed depth now and then.
 */
const metadataFilter: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 7 },
    tie('comparison'),
    fc.record({ and: fc.array(tie('node'), { maxLength: 3 }) }),
    fc.record({ or: fc.array(tie('node'), { maxLength: 3 }) }),
    fc.record({ not: tie('node') }),
  ),
  comparison: fc.record(
    {
      path: fc.oneof(fc.constantFrom('source', 'tags', 'a.b', 'a..b', '', '.', 'x'.repeat(300)), nastyString),
      eq: nastyJson,
      in: fc.array(nastyJson, { maxLength: 3 }),
      gt: fc.oneof(extremeFloat, word, fc.boolean()),
      contains: nastyJson,
      exists: fc.boolean(),
    },
    { requiredKeys: ['path'] },
  ),
})).node;

/** A value of some other type, for a variable or an input field that expects something else. */
const wrongValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  fc.constantFrom(2 ** 31, 'yesterday', 'USER', 'user', 'factual', 'GOSSIP', { field: 'SIZE' }),
);

/**
 * Bytes that are not UTF-8 wherever they are inserted: 0xFF, an overlong NUL, an encoded surrogate,
 * beyond U+10FFFF, a stray continuation byte.
 */
const invalidUtf8 = fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80]);

interface Ids {
  own: { agentId: string; userId: string; blockId: string; toolId: string; memoryId: string };
  other: { agentId: string; userId: string; blockId: string };
}

/** One GraphQL operation with generated variables. */
interface Operation {
  query: string;
  variables: Record<string, unknown>;
}

/** The operations the requests are made of: every mutation that takes input, and the reads with arguments. */
function operations(ids: Ids): Array<{ query: string; variables: fc.Arbitrary<Record<string, unknown>> }> {
  // The caller's own rows mostly, so that requests reach the writes; another tenant's and no one's now and then.
  const agentId = fc.oneof(
    { weight: 3, arbitrary: fc.constant(ids.own.agentId) },
    { weight: 1, arbitrary: fc.constantFrom(ids.other.agentId, 'agent-unknown', '') },
  );
  const userId = fc.option(fc.constantFrom(ids.own.userId, ids.other.userId, 'user-unknown'), { nil: undefined });
  const blockInput = fc.record(
    {
      label: word,
      value: sizedString,
      limit: extremeInt,
      description: nastyString,
      isTemplate: fc.boolean(),
      metadata: jsonObject,
      userId,
    },
    { requiredKeys: ['label', 'value'] },
  );
  const memoryFields = {
    content: memoryContent,
    scope: word,
    level: word,
    memoryType: fc.constantFrom('FACTUAL', 'EPISODIC', 'WORKING'),
    importance: extremeFloat,
    score: extremeFloat,
    hash: word,
    metadata: jsonObject,
  };
  return [
    {
      query: 'mutation ($input: CreateBlockInput!) { createBlock(input: $input) { __typename } }',
      variables: fc.record({ input: blockInput }),
    },
    {
      query: 'mutation ($input: CreateToolInput!) { createTool(input: $input) { __typename } }',
      variables: fc.record({
        input: fc.record(
          {
            name: word,
            tags: fc.array(word, { maxLength: 3 }),
            metadata: jsonObject,
            jsonSchema: jsonObject,
            sourceCode: sizedString,
          },
          { requiredKeys: ['name'] },
        ),
      }),
    },
    {
      query:
        'mutation ($agentId: ID!, $messages: [MessageInput!]!) { ' +
        'appendMessages(agentId: $agentId, messages: $messages) { __typename } }',
      variables: fc.record({
        agentId,
        messages: fc.array(
          fc.record({
            role: fc.constantFrom('USER', 'ASSISTANT', 'SYSTEM', 'TOOL'),
            text: fc.option(sizedString),
            content: fc.option(nastyJson),
            toolCallId: fc.option(nastyString),
            toolCalls: fc.option(nastyJson),
            userId,
          }),
          { maxLength: 3 },
        ),
      }),
    },
    {
      query: 'mutation ($inputs: [CreateMemoryInput!]!) { createMemories(inputs: $inputs) { __typename } }',
      variables: fc.record({
        inputs: fc.array(
          fc.record(
            { agentId, userId, ...memoryFields },
            { requiredKeys: ['agentId', 'content', 'scope', 'level', 'memoryType'] },
          ),
          { minLength: 1, maxLength: 2 },
        ),
      }),
    },
    {
      // Only the content varies: its maximum is reached whatever the other fields draw.
      query: `mutation ($content: String!) { createMemory(input: {
        agentId: "${ids.own.agentId}", content: $content, memoryType: FACTUAL, scope: "user", level: "core" }) {
        __typename } }`,
      variables: fc.record({ content: memoryContent }),
    },
    {
      query: 'mutation ($input: CreateAgentInput!) { createAgent(input: $input) { __typename } }',
      variables: fc.record({
        input: fc.record(
          {
            name: nastyString,
            system: sizedString,
            messageIds: fc.array(nastyString, { maxLength: 2 }),
            llmConfig: nastyJson,
            blocks: fc.array(blockInput, { maxLength: 2 }),
            blockIds: fc.array(fc.constantFrom(ids.own.blockId, ids.other.blockId, 'block-unknown'), { maxLength: 2 }),
            toolIds: fc.array(fc.constantFrom(ids.own.toolId, 'tool-unknown'), { maxLength: 2 }),
          },
          { requiredKeys: [] },
        ),
      }),
    },
    {
      query: 'mutation ($id: ID!, $input: UpdateAgentInput!) { updateAgent(id: $id, input: $input) { __typename } }',
      variables: fc.record({
        id: agentId,
        input: fc.record({ description: sizedString, topic: nastyString, toolRules: nastyJson }, { requiredKeys: [] }),
      }),
    },
    {
      query: 'mutation ($id: ID!, $input: UpdateBlockInput!) { updateBlock(id: $id, input: $input) { __typename } }',
      variables: fc.record({
        id: fc.constantFrom(ids.own.blockId, ids.other.blockId),
        input: fc.record({ value: sizedString, limit: extremeInt, templateName: nastyString }, { requiredKeys: [] }),
      }),
    },
    {
      query: 'mutation ($id: ID!, $input: UpdateMemoryInput!) { updateMemory(id: $id, input: $input) { __typename } }',
      variables: fc.record({ id: fc.constant(ids.own.memoryId), input: fc.record(memoryFields, { requiredKeys: [] }) }),
    },
    {
      // The first that succeeds supersedes the memory; the rest find it superseded (or the dates wrong).
      query:
        'mutation ($id: ID!, $input: SupersedeMemoryInput!) { supersedeMemory(id: $id, input: $input) { __typename } }',
      variables: fc.record({
        id: fc.constantFrom(ids.own.memoryId, 'memory-unknown'),
        input: fc.record(
          {
            ...memoryFields,
            validFrom: extremeDate,
            validUntil: extremeDate,
            expiresAt: extremeDate,
          },
          { requiredKeys: ['content'] },
        ),
      }),
    },
    {
      query: 'mutation ($id: ID!, $input: UpdateToolInput!) { updateTool(id: $id, input: $input) { __typename } }',
      variables: fc.record({
        id: fc.constant(ids.own.toolId),
        input: fc.record(
          { name: nastyString, description: sizedString, sourceType: nastyString },
          { requiredKeys: [] },
        ),
      }),
    },
    {
      query: 'mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { __typename } }',
      variables: fc.record({
        id: fc.constantFrom(ids.own.userId, ids.other.userId),
        input: fc.record(
          { name: nastyString, status: nastyString, timezone: fc.constantFrom('UTC', 'Mars/Olympus', '') },
          { requiredKeys: [] },
        ),
      }),
    },
    {
      query: 'mutation ($input: CreateUserInput!) { createUser(input: $input) { __typename } }',
      variables: fc.record({
        input: fc.record(
          { name: nastyString, status: nastyString, timezone: fc.constantFrom('Europe/Paris', 'Nowhere/Else') },
          { requiredKeys: ['name'] },
        ),
      }),
    },
    {
      query: 'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }',
      variables: fc.record({
        input: fc.record(
          { name: word, scopes: fc.subarray(['READ', 'WRITE', 'ADMIN']), expiresAt: extremeDate, userId },
          { requiredKeys: ['name', 'scopes'] },
        ),
      }),
    },
    {
      query:
        'mutation ($agentId: ID!, $blockId: ID!) { attachBlock(agentId: $agentId, blockId: $blockId) { __typename } }',
      variables: fc.record({ agentId, blockId: fc.constantFrom(ids.other.blockId, 'block-unknown') }),
    },
    {
      query:
        'query ($tools: ToolFilter, $blocks: BlockFilter, $last: Int) { tools(filter: $tools) { ' +
        'totalCount nodes { id name } } blocks(filter: $blocks, last: $last) { nodes { id value } } }',
      variables: fc.record(
        {
          tools: fc.record({ nameContains: nastyString, tag: nastyString }, { requiredKeys: [] }),
          blocks: fc.record(
            { label: nastyString, isTemplate: fc.boolean(), templateName: nastyString, userId },
            { requiredKeys: [] },
          ),
          last: extremeInt,
        },
        { requiredKeys: [] },
      ),
    },
    {
      query: `query ($agents: AgentFilter, $first: Int, $after: String, $order: AgentOrder, $agentId: ID!,
        $label: String, $limit: Int) {
        agents(filter: $agents, first: $first, after: $after, orderBy: $order) { nodes { id name } }
        agent(id: $agentId) { id blocks(label: $label) { id } recentMessages(limit: $limit) {
          id } messages(first: $first) { totalCount } }
      }`,
      variables: fc.record(
        {
          agents: fc.record({ nameContains: nastyString, agentType: nastyString }, { requiredKeys: [] }),
          first: extremeInt,
          after: fc.oneof(
            nastyString,
            fc.constantFrom(
              'R1BDOk46NQ==',
              Buffer.from(`GPC:S:${ids.own.agentId}`).toString('base64'),
              Buffer.from(`GPC:S:${ids.other.agentId}`).toString('base64'),
            ),
          ),
          order: fc.record({
            field: fc.constantFrom('CREATED_AT', 'UPDATED_AT', 'NAME'),
            direction: fc.constantFrom('ASC', 'DESC'),
          }),
          agentId,
          label: nastyString,
          limit: extremeInt,
        },
        { requiredKeys: ['agentId'] },
      ),
    },
    {
      query: `query ($agentId: ID!, $roles: [MessageRole!], $since: DateTime, $until: DateTime, $first: Int) {
        messages(agentId: $agentId, roles: $roles, since: $since, until: $until, first: $first) { totalCount nodes {
          id text } }
      }`,
      variables: fc.record(
        {
          agentId,
          roles: fc.array(fc.constantFrom('USER', 'TOOL'), { maxLength: 2 }),
          since: extremeDate,
          until: extremeDate,
          first: extremeInt,
        },
        { requiredKeys: ['agentId'] },
      ),
    },
    {
      query: `query ($query: String, $vector: [Float!], $embeddingModel: String, $mode: SearchMode, $filter:
        MemoryFilter,
        $order: MemoryOrder, $first: Int, $limit: Int, $minScore: Float, $track: Boolean) {
        memories(filter: $filter, orderBy: $order, first: $first, track: $track) { totalCount nodes { id content } }
        searchMemories(query: $query, vector: $vector, embeddingModel: $embeddingModel, mode: $mode, filter: $filter,
          limit: $limit, minScore: $minScore, track: $track) {
          score snippet breakdown { text use relevance similarity textRank vectorRank } memory { id } }
      }`,
      variables: fc.record(
        {
          query: sizedString,
          filter: fc.record(
            {
              agentId,
              userId,
              memoryType: fc.constantFrom('FACTUAL', 'SEMANTIC'),
              memoryTypes: fc.array(fc.constantFrom('FACTUAL', 'WORKING'), { maxLength: 2 }),
              scope: nastyString,
              scopes: fc.array(word, { maxLength: 3 }),
              level: nastyString,
              levels: fc.array(nastyString, { maxLength: 2 }),
              metadata: metadataFilter,
              createdAfter: extremeDate,
              createdBefore: extremeDate,
            },
            { requiredKeys: [] },
          ),
          order: fc.record({
            field: fc.constantFrom('IMPORTANCE', 'CREATED_AT', 'LAST_ACCESSED'),
            direction: fc.constantFrom('ASC', 'DESC'),
          }),
          first: extremeInt,
          limit: extremeInt,
          minScore: extremeFloat,
          track: fc.boolean(),
          // Of the server's EMBEDDINGS_DIMENSIONS (1536) now and then; mostly the wrong length.
          vector: fc.oneof(
            fc.array(extremeFloat, { maxLength: 8 }),
            fc.array(extremeFloat, { minLength: 1536, maxLength: 1536 }),
          ),
          embeddingModel: nastyString,
          mode: fc.constantFrom('TEXT', 'VECTOR', 'HYBRID'),
        },
        { requiredKeys: ['query'] },
      ),
    },
  ];
}

/** Every place in a value that could hold something else: the value itself, its fields and items. */
function placesIn(value: unknown, at: string[] = []): string[][] {
  const places = [at];
  if (Array.isArray(value))
    for (const [index, item] of value.entries()) places.push(...placesIn(item, [...at, String(index)]));
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) places.push(...placesIn(item, [...at, key]));
  return places;
}

function replacedAt(variables: Record<string, unknown>, at: string[], replacement: unknown): Record<string, unknown> {
  if (at.length === 0) return variables;
  const copy = structuredClone(variables);
  let parent: Record<string, unknown> = copy;
  for (const key of at.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  parent[at.at(-1)!] = replacement;
  return copy;
}

/** How an operation is sent. */
type Request = { isMutation: boolean } & (
  | { kind: 'variables' | 'wrong variable'; query: string; variables: Record<string, unknown> }
  | { kind: 'inline'; query: string; style: StringStyle }
  | { kind: 'invalid UTF-8'; body: Buffer }
);

const isMutation = (query: string) => query.trimStart().startsWith('mutation');

function requests(operation: fc.Arbitrary<Operation>): fc.Arbitrary<Request> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: operation.map(
        ({ query, variables }): Request => ({ kind: 'variables', query, variables, isMutation: isMutation(query) }),
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(operation, fc.constantFrom<StringStyle>('plain', 'fixed', 'braced', 'block')).map(
        ([{ query, variables }, style]): Request => ({
          kind: 'inline',
          query: inlineVariables(schema, query, variables, style),
          style,
          isMutation: isMutation(query),
        }),
      ),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(operation, fc.nat(), wrongValue).map(([{ query, variables }, choice, wrong]): Request => {
        const places = placesIn(variables).filter((at) => at.length > 0);
        const at = places.length > 0 ? places[choice % places.length]! : ['unexpected'];
        return {
          kind: 'wrong variable',
          query,
          variables: replacedAt(variables, at, wrong),
          isMutation: isMutation(query),
        };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(operation, fc.nat(), invalidUtf8).map(([{ query, variables }, choice, bytes]): Request => {
        const body = Buffer.from(JSON.stringify({ query, variables }));
        const at = choice % (body.length + 1);
        return {
          kind: 'invalid UTF-8',
          body: Buffer.concat([body.subarray(0, at), Buffer.from(bytes), body.subarray(at)]),
          isMutation: isMutation(query),
        };
      }),
    },
  );
}

function bodyOf(request: Request): string | Uint8Array<ArrayBuffer> {
  if (request.kind === 'invalid UTF-8') return Uint8Array.from(request.body);
  return JSON.stringify({ query: request.query, ...(request.kind !== 'inline' && { variables: request.variables }) });
}

/** The named input types an operation's variables reach, through input object fields. */
function inputTypesOf(query: string): Set<string> {
  const reached = new Set<string>();
  const visitType = (type: GraphQLNamedType) => {
    if (reached.has(type.name)) return;
    reached.add(type.name);
    if (isInputObjectType(type))
      for (const field of Object.values(type.getFields())) visitType(getNamedType(field.type));
  };
  visit(parse(query), {
    VariableDefinition(node) {
      const type = typeFromAST(schema, node.type);
      if (type) visitType(getNamedType(type));
    },
  });
  return reached;
}

/** Every type a field argument of the schema can take, directly or inside input objects. */
function allInputTypes(): Set<string> {
  const reached = new Set<string>();
  const visitType = (type: GraphQLNamedType) => {
    if (reached.has(type.name)) return;
    reached.add(type.name);
    if (isInputObjectType(type))
      for (const field of Object.values(type.getFields())) visitType(getNamedType(field.type));
  };
  for (const root of [schema.getQueryType()!, schema.getMutationType()!]) {
    for (const field of Object.values(root.getFields()))
      for (const argument of field.args) visitType(getNamedType(argument.type));
  }
  return reached;
}

const ERROR_RESULTS = new Set(['ValidationError', 'NotFoundError', 'ConflictError', 'BlockLimitExceededError']);

describe('generated hostile requests', () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  let ids: Ids;
  beforeAll(async () => {
    // Requests are not counted: the property runs more of them than a key may make in a minute.
    app = await startTestApp('generated_input', { rateLimit: { requests: 0, windowSeconds: 60 } });
    own = await app.seedDemo();
    other = await app.seedDemo(); // another tenant: its rows must never change or show
    const owner = app.database.owner;
    const first = async (organizationId: string) => ({
      blockId: (await owner.block.findFirstOrThrow({ where: { organizationId } })).id,
      toolId: (await owner.tool.findFirstOrThrow({ where: { organizationId } })).id,
      memoryId: (await owner.memory.findFirstOrThrow({ where: { organizationId } })).id,
    });
    ids = {
      own: { agentId: own.agentId, userId: own.userId, ...(await first(own.organizationId)) },
      other: { agentId: other.agentId, userId: other.userId, blockId: (await first(other.organizationId)).blockId },
    };
  });
  afterAll(async () => {
    await app?.close();
  });

  /**
   * The caller's own rows but its API keys, whose last use is recorded as requests come, and but
   * the memories' access counts, which reads raise (src/memories/access.ts).
   */
  const ownRows = async () =>
    (await rowsOfOrganization(app.database.owner, own.organizationId))
      .filter((_rows, table) => table !== 7)
      .map((rows) =>
        (rows as Record<string, unknown>[]).map((row) =>
          'accessCount' in row ? { ...row, accessCount: null, lastAccessed: null } : row,
        ),
      );

  it('generates values of every input type of the schema, each written inline too', () => {
    const generated = new Set(operations(ids).flatMap(({ query }) => [...inputTypesOf(query)]));
    expect([...allInputTypes()].filter((type) => !generated.has(type))).toEqual([]);
    // Written inline, a string is a GraphQL string: escapes and block strings hide what the raw text shows.
    expect(graphqlString('a\u0000😀"', 'braced')).toBe('"a\\u{0}\\u{1F600}\\""');
    expect(graphqlString('a\u0000😀', 'fixed')).toBe('"a\\u0000\\uD83D\\uDE00"');
    expect(graphqlString('say """hi"""', 'block')).toBe('"""say \\"""hi\\""""""');
  });

  it('never answers with a server error or an untyped error, stores nothing it refuses, ' +
    'and never touches another tenant', async () => {
    const operation = fc.oneof(
      ...operations(ids).map(({ query, variables }) =>
        variables.map((values): Operation => ({ query, variables: values })),
      ),
    );
    const before = await rowsOfOrganization(app.database.owner, other.organizationId);
    const otherIds = [other.organizationId, ids.other.agentId, ids.other.userId, ids.other.blockId];
    const seen = new Map<string, number>();

    await fc.assert(
      fc.asyncProperty(requests(operation), async (request) => {
        seen.set(request.kind, (seen.get(request.kind) ?? 0) + 1);
        const ownBefore = await ownRows();
        const body = bodyOf(request);
        const response = await fetch(app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${own.key}` },
          body,
        });
        const text = await response.text();
        expect(response.status).toBeLessThan(500);
        const answer = JSON.parse(text) as {
          data?: Record<string, { __typename?: string } | null> | null;
          errors?: Array<{ extensions?: { code?: string } }>;
        };
        for (const error of answer.errors ?? []) {
          expect(error.extensions?.code).toBeDefined();
          expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
        }
        // Refused unread when it is too large, refused as a whole when it is not UTF-8.
        if (request.kind === 'invalid UTF-8' && response.status !== 413) {
          expect(response.status).toBe(400);
          expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
        }
        // Another tenant's ids show only where the request itself carried them.
        const sent = typeof body === 'string' ? body : Buffer.from(body).toString('latin1');
        for (const id of otherIds) if (!sent.includes(id)) expect(text).not.toContain(id);

        // Only a mutation that succeeded may change the caller's rows: what is refused stores nothing.
        const result = Object.values(answer.data ?? {})[0];
        const succeeded =
          answer.errors === undefined &&
          result !== undefined &&
          result !== null &&
          !ERROR_RESULTS.has(result.__typename ?? '');
        if (!(request.isMutation && succeeded)) expect(await ownRows()).toEqual(ownBefore);
      }),
      { numRuns: 250, seed: propertySeed('hostile') },
    );

    expect(await rowsOfOrganization(app.database.owner, other.organizationId)).toEqual(before);
    // Every way of sending was tried.
    expect([...seen.keys()].sort()).toEqual(['inline', 'invalid UTF-8', 'variables', 'wrong variable']);
  }, 600_000);
});
