import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  buildSchema,
  type GraphQLInputType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  Kind,
  parseValue,
} from 'graphql';
import type { DemoData } from '../../src/demo/seed';
import { graphqlString, type StringStyle } from '../support/graphql-literals';
import { propertySeed } from '../support/property-seed';
import { rowsOfOrganization } from '../support/tenant-rows';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Acceptances proven as well as refusals: every mutation of the schema is generated, sent with
 * variables and literals mixed at every depth, and what it accepted is read back (through the
 * API's queries and directly from the tables) and compared with what was sent, field by field,
 * JSON included. What it refuses gets a typed error and changes none of the caller's rows.
 * test/http/generated-input.test.ts sends hostile requests; this file sends good ones and
 * precisely bad ones, and checks the outcome of each.
 */

const schema = buildSchema(fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));
const mutationFields = Object.keys(schema.getMutationType()!.getFields()).sort();

/**
 * Runs per mutation under graphql-jit (half as many under graphql-js): PROPERTY_RUNS scales them;
 * the default keeps the file near a minute a database.
 */
const RUNS = Number(process.env.PROPERTY_RUNS ?? '5');
const SEED = propertySeed('writes');

// ---------------------------------------------------------------------------------------------
// Values the rules accept

const storable = (text: string) => !text.includes('\u0000') && text.isWellFormed();

/** Text of any code points PostgreSQL can store, the GraphQL troublemakers often. */
const anyText = (maxLength: number) =>
  fc
    .oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'tea',
          'Ada Lovelace',
          '"""',
          '\\',
          '\\u0041',
          '$x',
          'line\nbreak',
          'é e\u0301',
          '😀',
          'Ω≈ç',
          '{ a: 1 }',
          "'; DROP TABLE agents; --",
        ),
      },
      { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: Math.min(maxLength, 24) }).filter(storable) },
    )
    .filter((text) => [...text].length <= maxLength);

/** What a rule that trims accepts as it is: something other than blanks, with no blanks around it. */
const word = (maxLength: number) =>
  fc
    .oneof(anyText(maxLength), fc.constant('😀'.repeat(maxLength)), fc.constant('x'.repeat(maxLength)))
    .filter((text) => text.trim() === text && text.length > 0);

// `__proto__` is refused (src/schema/rules.ts, unstorableKey): the bad values of createTool and updateMemory send it.
const jsonKey = fc.oneof(
  fc.constantFrom('source', 'tags', 'k', 'a b', '', 'constructor', 'toString', 'hasOwnProperty', '😀', '$x', '0', 'é'),
  fc.string({ maxLength: 6 }).filter((key) => storable(key) && key !== '__proto__'),
);
/** A JSON object that holds the key `__proto__` somewhere, as an own member. */
const withProtoKey = (value: Record<string, unknown>) => ({
  ...value,
  nested: [Object.fromEntries([['__proto__', { polluted: true }]])],
});
const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Object.is(value, -0));
// Prisma 7.10 rounds a JSON value that is itself a number to 16 significant digits on its way to
// PostgreSQL (README, "Hostile input"; the regression case below): there, doubles of at most 15.
// toPrecision(15) rounds the largest doubles up past the range: Infinity, which JSON cannot hold.
const fifteenDigits = anyDouble.map((value) => Number(value.toPrecision(15))).filter((value) => Number.isFinite(value));
const jsonLeaf = (double: fc.Arbitrary<number>) =>
  fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    double,
    anyText(20),
  );
const { json: nestedJson, object: jsonObject } = fc.letrec<{ json: unknown; object: Record<string, unknown> }>(
  (tie) => ({
    json: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      jsonLeaf(anyDouble),
      fc.array(tie('json'), { maxLength: 3 }),
      tie('object'),
    ),
    object: fc.array(fc.tuple(jsonKey, tie('json')), { maxLength: 3 }).map((entries) => Object.fromEntries(entries)),
  }),
);
/** A JSON value: inside an array or object, any double. */
const jsonValue = fc.oneof(jsonLeaf(fifteenDigits), fc.array(nestedJson, { maxLength: 3 }), jsonObject);

const float4 = fc.oneof(
  fc
    .double({ min: -1e6, max: 1e6, noNaN: true })
    .filter((value) => !Object.is(value, -0) && (value === 0 || Math.abs(value) > 1e-30)),
  fc.constantFrom(0, 0.1, 1, 0.5, 3.4e38, 1e-37),
);
const timezones = fc.constantFrom(
  'UTC',
  'Europe/Paris',
  'America/Argentina/Buenos_Aires',
  'Asia/Kolkata',
  'Pacific/Chatham',
);
const memoryTypes = fc.constantFrom('FACTUAL', 'EPISODIC', 'SEMANTIC', 'PROCEDURAL', 'WORKING');

/** A unique suffix: memories are deduplicated by content, templates found by name. */
let counter = 0;
const unique = (text: string) => `${text} #${(counter += 1)}`;

// ---------------------------------------------------------------------------------------------
// One request: variables and literals mixed at every depth

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * Writes argument values into a document, deciding at each value (argument, input field, list
 * item, JSON member) whether it goes as a variable or as a literal, so that an input object
 * literal holds variables, a JSON literal holds variables and a list mixes both.
 */
class MixedWriter {
  readonly definitions: string[] = [];
  readonly variables: Record<string, unknown> = {};
  private next = 0;
  constructor(
    private readonly coins: boolean[],
    private readonly style: StringStyle,
  ) {}

  private coin(): boolean {
    const value = this.coins[this.next % this.coins.length]!;
    this.next += 1;
    return value;
  }

  private variable(value: unknown, type: string): string {
    const name = `v${this.definitions.length}`;
    this.definitions.push(`$${name}: ${type}`);
    this.variables[name] = value;
    return `$${name}`;
  }

  value(value: unknown, type: GraphQLInputType): string {
    return this.coin() ? this.variable(value, String(type)) : this.literal(value, type);
  }

  /**
   * A string as the style writes it, unless that style cannot carry it (a block string drops
   * indentation and blank edges).
   */
  private string(value: string): string {
    const written = graphqlString(value, this.style);
    if (this.style !== 'block') return written;
    try {
      const read = parseValue(written);
      if (read.kind === Kind.STRING && read.value === value) return written;
    } catch {
      // An escaped triple quote followed by more, or a closing backslash, ends a block string early.
    }
    return graphqlString(value, 'braced');
  }

  private literal(value: unknown, type: GraphQLInputType): string {
    if (value === null) return 'null';
    const nullable = getNullableType(type);
    if (isListType(nullable))
      return Array.isArray(value)
        ? `[${value.map((item) => this.value(item, nullable.ofType as GraphQLInputType)).join(', ')}]`
        : this.value(value, nullable.ofType as GraphQLInputType);
    if (isInputObjectType(nullable)) {
      const fields = nullable.getFields();
      const written = Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => `${key}: ${fields[key] ? this.value(item, fields[key].type) : JSON.stringify(item)}`);
      return `{${written.join(', ')}}`;
    }
    if (isEnumType(nullable)) return String(value);
    if (nullable.name === 'JSON') return this.json(value);
    return typeof value === 'string' ? this.string(value) : String(value);
  }

  /** A JSON value as a literal, any member of it a variable now and then. */
  private json(value: unknown): string {
    if (value === null) return 'null';
    if (typeof value === 'string') return this.string(value);
    if (typeof value !== 'object') return String(value);
    if (Array.isArray(value)) return `[${value.map((item) => this.jsonMember(item)).join(', ')}]`;
    const entries = Object.entries(value as Record<string, unknown>);
    // A key that is not a GraphQL name cannot be written in a literal: that object is a variable.
    if (!entries.every(([key]) => NAME.test(key))) return this.variable(value, 'JSON');
    return `{${entries.map(([key, item]) => `${key}: ${this.jsonMember(item)}`).join(', ')}}`;
  }

  private jsonMember(value: unknown): string {
    return this.coin() ? this.variable(value, 'JSON') : this.json(value);
  }
}

interface Mixing {
  coins: boolean[];
  style: StringStyle;
}
const mixing: fc.Arbitrary<Mixing> = fc.record({
  coins: fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
  style: fc.constantFrom<StringStyle>('plain', 'fixed', 'braced', 'block'),
});

function mutationDocument(
  field: string,
  args: Record<string, unknown>,
  selection: string,
  how: Mixing,
): { query: string; variables: Record<string, unknown> } {
  const writer = new MixedWriter(how.coins, how.style);
  const definition = schema.getMutationType()!.getFields()[field]!;
  const written = definition.args
    .filter((argument) => args[argument.name] !== undefined)
    .map((argument) => `${argument.name}: ${writer.value(args[argument.name], argument.type)}`);
  const header = writer.definitions.length > 0 ? `(${writer.definitions.join(', ')})` : '';
  const call = written.length > 0 ? `${field}(${written.join(', ')})` : field;
  return {
    query: `mutation ${header} { result: ${call} { __typename ... on Error { code field message } ${selection} } }`,
    variables: writer.variables,
  };
}

// ---------------------------------------------------------------------------------------------
// What each mutation is sent, and how its outcome is checked

/** A request ready to send: accepted ones say how to check what they stored. */
interface Plan {
  args: Record<string, unknown>;
  selection?: string;
  /** For a request the rules accept: reads the rows back and compares them with what was sent. */
  stored?: (result: Record<string, unknown>) => Promise<void>;
  /** For a request the rules refuse: the error code it must get. */
  refused?: string;
}

interface Case<Draw> {
  draw: fc.Arbitrary<Draw>;
  plan: (draw: Draw) => Promise<Plan>;
}

/** A case with its draw's type inferred, kept beside the others. */
const writeCase = <Draw>(written: Case<Draw>) => written as unknown as Case<unknown>;

const USER = 'id name status timezone';
const AGENT =
  'id name agentType description system topic messageIds metadata llmConfig embeddingConfig toolRules mcpTools ' +
  'blocks { id label } tools { id } contextMessages { id }';
const BLOCK = 'id label value limit description isTemplate metadata templateName userId version';
const TOOL = 'id name description jsonSchema sourceType sourceCode tags metadata';
const MEMORY = 'id agentId userId content scope level memoryType importance score metadata';
const MESSAGE = 'id role text content model name toolCalls toolCallId stepId otid toolReturns groupId senderId userId';

/** The fields of `actual` that `expected` names, compared exactly (JSON by value, `{}` is not `{ a: 1 }`). */
function expectFields(actual: unknown, expected: Record<string, unknown>): void {
  expect(actual).not.toBeNull();
  const picked = Object.fromEntries(
    Object.keys(expected).map((key) => [key, (actual as Record<string, unknown>)[key]]),
  );
  expect(picked).toEqual(expected);
}

/**
 * A memory's importance and score are REAL columns (the schema document's): PostgreSQL keeps the
 * nearest 4-byte float and reads it back as the shortest decimal that is that float.
 */
function asReal(value: unknown): unknown {
  if (typeof value !== 'number') return value;
  const real = Math.fround(value);
  // The fewest digits that name the float, rounded from the float itself (as PostgreSQL does).
  for (let digits = 1; digits <= 9; digits += 1) {
    const decimal = Number(real.toPrecision(digits));
    if (Math.fround(decimal) === real) return decimal;
  }
  return real;
}

/** What was sent, without the fields left out (undefined). */
const sent = (input: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));

describe.each([
  ['graphql-jit', true, RUNS],
  ['graphql-js', false, Math.ceil(RUNS / 2)],
] as const)('generated writes on %s: every mutation, read back', (_executor, graphqlJit, runs) => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;
  let otherBlockId: string;

  async function api(query: string, variables: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const answer = await app.graphqlUntyped(query, variables);
    if (answer.errors) throw new Error(`setup failed: ${JSON.stringify(answer.errors)}`);
    return answer.data!;
  }
  async function mutate(field: string, args: string, selection: string): Promise<Record<string, unknown>> {
    const data = await api(
      `mutation { result: ${field}(${args}) { __typename ... on Error { code message } ${selection} } }`,
    );
    const result = data.result as Record<string, unknown>;
    if ('code' in result) throw new Error(`setup ${field} failed: ${JSON.stringify(result)}`);
    return result;
  }
  const literal = (value: unknown) => JSON.stringify(value);
  const newAgent = async () =>
    (
      (
        await mutate(
          'createAgent',
          `input: { name: ${literal(unique('agent'))} }`,
          '... on AgentPayload { agent { id } }',
        )
      ).agent as { id: string }
    ).id;
  const newBlock = async (value = 'v', options = '') =>
    (
      (
        await mutate(
          'createBlock',
          `input: { label: ${literal(unique('label'))}, value: ${literal(value)} ${options} }`,
          '... on BlockPayload { block { id } }',
        )
      ).block as { id: string }
    ).id;
  const newTool = async () =>
    (
      (await mutate('createTool', `input: { name: ${literal(unique('tool'))} }`, '... on ToolPayload { tool { id } }'))
        .tool as { id: string }
    ).id;
  const newUser = async () =>
    (
      (await mutate('createUser', `input: { name: ${literal(unique('user'))} }`, '... on UserPayload { user { id } }'))
        .user as { id: string }
    ).id;
  const newMemory = async (agentId: string, importance = 0) =>
    (
      (
        await mutate(
          'createMemory',
          `input: { agentId: ${literal(agentId)}, content: ${literal(unique('memory'))}, memoryType: ` +
            `FACTUAL, scope: "user", level: "core", importance: ${importance} }`,
          '... on MemoryPayload { memory { id } }',
        )
      ).memory as { id: string }
    ).id;
  const newMessages = async (agentId: string, count: number) =>
    (
      (
        await mutate(
          'appendMessages',
          `agentId: ${literal(agentId)}, messages: ` +
            `[${Array.from({ length: count }, (_, index) => `{ role: USER, text: "m${index}" }`).join(', ')}]`,
          '... on MessagesPayload { messages { id } }',
        )
      ).messages as Array<{ id: string }>
    ).map((message) => message.id);
  const query = async (field: string, id: string, selection: string) =>
    (await api(`query ($id: ID!) { row: ${field}(id: $id) { ${selection} } }`, { id })).row as Record<
      string,
      unknown
    > | null;
  const owner = () => app.database.owner;
  /** Rows gone for good, or soft-deleted: hidden from the API, marked in the table. */
  const expectSoftDeleted = async (
    field: string,
    id: string,
    row: () => Promise<{ isDeleted: boolean; deletedAt: Date | null } | null>,
  ) => {
    expect(await query(field, id, 'id')).toBeNull();
    expect(await row()).toMatchObject({ isDeleted: true, deletedAt: expect.any(Date) });
  };
  const expectLive = async (
    field: string,
    id: string,
    row: () => Promise<{ isDeleted: boolean; deletedAt: Date | null } | null>,
  ) => {
    expect(await query(field, id, 'id')).toEqual({ id });
    expect(await row()).toMatchObject({ isDeleted: false, deletedAt: null });
  };
  /** The argument an id-taking mutation is refused for: another tenant's row, or none. */
  const foreignId = fc.constantFrom('other', 'unknown');
  const foreign = (kind: string, otherId: string, prefix: string) =>
    kind === 'other' ? otherId : `${prefix}-00000000-0000-4000-8000-000000000000`;

  /** The soft-delete, restore and purge trio of one kind of row, and their refusals. */
  function lifecycle(
    field: 'agent' | 'block' | 'tool' | 'user' | 'memory',
    make: () => Promise<string>,
    row: (id: string) => Promise<{ isDeleted: boolean; deletedAt: Date | null } | null>,
    otherId: () => string,
  ): Record<string, Case<unknown>> {
    const name = field[0]!.toUpperCase() + field.slice(1);
    const deleted = async () => {
      const id = await make();
      await mutate(`delete${name}`, `id: ${literal(id)}`, '... on DeletedPayload { id }');
      return id;
    };
    return {
      [`delete${name}`]: writeCase({
        draw: fc.option(foreignId, { nil: undefined }),
        plan: async (bad) => {
          if (bad !== undefined)
            return { args: { id: foreign(bad as string, otherId(), field) }, refused: 'NOT_FOUND' };
          const id = await make();
          return {
            args: { id },
            selection: '... on DeletedPayload { id }',
            stored: async (result) => {
              expect(result.id).toBe(id);
              await expectSoftDeleted(field, id, () => row(id));
            },
          };
        },
      }),
      [`restore${name}`]: writeCase({
        draw: fc.constantFrom('good', 'live', 'other', 'unknown'),
        plan: async (kind) => {
          if (kind === 'live') return { args: { id: await make() }, refused: 'CONFLICT' };
          if (kind !== 'good') return { args: { id: foreign(kind as string, otherId(), field) }, refused: 'NOT_FOUND' };
          const id = await deleted();
          return {
            args: { id },
            selection: `... on ${name}Payload { ${field} { id } }`,
            stored: () => expectLive(field, id, () => row(id)),
          };
        },
      }),
      [`purge${name}`]: writeCase({
        draw: fc.constantFrom('live', 'deleted', 'other', 'unknown'),
        plan: async (kind) => {
          if (kind === 'other' || kind === 'unknown')
            return { args: { id: foreign(kind as string, otherId(), field) }, refused: 'NOT_FOUND' };
          const id = kind === 'live' ? await make() : await deleted();
          return {
            args: { id },
            selection: '... on DeletedPayload { id }',
            stored: async () => {
              expect(await query(field, id, 'id')).toBeNull();
              expect(await row(id)).toBeNull();
            },
          };
        },
      }),
    };
  }

  function cases(): Record<string, Case<unknown>> {
    const userRow = (id: string) => owner().user.findUnique({ where: { id } });
    const agentRow = (id: string) => owner().agent.findUnique({ where: { id } });
    const blockRow = (id: string) => owner().block.findUnique({ where: { id } });
    const toolRow = (id: string) => owner().tool.findUnique({ where: { id } });
    const memoryRow = (id: string) => owner().memory.findUnique({ where: { id } });
    const messageRow = (id: string) => owner().message.findUnique({ where: { id } });

    const userInput = fc.record(
      {
        name: word(255),
        status: fc.option(word(50), { nil: undefined }),
        timezone: fc.option(timezones, { nil: undefined }),
      },
      { requiredKeys: ['name'] },
    );
    const agentFields = {
      name: fc.option(anyText(255)),
      agentType: fc.option(anyText(100)),
      description: fc.option(anyText(1000)),
      system: fc.option(anyText(1000)),
      topic: fc.option(anyText(1000)),
      metadata: fc.option(jsonObject),
      llmConfig: fc.option(jsonValue),
      embeddingConfig: fc.option(jsonValue),
      toolRules: fc.option(jsonValue),
      mcpTools: fc.option(jsonValue),
    };
    const blockFields = {
      value: anyText(200),
      limit: fc.option(fc.integer({ min: 200, max: 1_000_000 }), { nil: undefined }),
      description: fc.option(anyText(300)),
      isTemplate: fc.boolean(),
      metadata: fc.option(jsonObject),
      templateName: fc.option(anyText(255)),
    };
    const blockInput = fc.record({ label: word(50), ...blockFields }, { requiredKeys: ['label', 'value'] });
    const toolInput = fc.record(
      {
        name: word(255),
        description: fc.option(anyText(300)),
        jsonSchema: fc.option(jsonObject),
        sourceType: fc.option(word(100)),
        sourceCode: fc.option(anyText(1000)),
        tags: fc.option(fc.array(word(50), { maxLength: 3 })),
        metadata: fc.option(jsonObject),
      },
      { requiredKeys: ['name'] },
    );
    const memoryFields = {
      content: anyText(300),
      scope: word(50),
      level: word(50),
      memoryType: memoryTypes,
      importance: fc.option(float4, { nil: undefined }),
      score: fc.option(float4),
      metadata: fc.option(jsonObject, { nil: undefined }),
    };
    const memoryInput = fc.record(memoryFields, { requiredKeys: ['content', 'scope', 'level', 'memoryType'] });
    const messageInput = fc.record(
      {
        role: fc.constantFrom('USER', 'ASSISTANT', 'SYSTEM'),
        text: anyText(500).filter((text) => text.length > 0),
        content: fc.option(jsonValue),
        model: fc.option(anyText(255)),
        name: fc.option(anyText(255)),
        toolCalls: fc.option(
          fc.array(
            fc.record({
              id: word(20),
              type: fc.constant('function'),
              function: fc.record({ name: word(20), arguments: anyText(40) }),
            }),
            { maxLength: 2 },
          ),
        ),
        stepId: fc.option(anyText(255)),
        otid: fc.option(anyText(255)),
        toolReturns: fc.option(jsonValue),
        groupId: fc.option(anyText(255)),
        senderId: fc.option(anyText(255)),
      },
      { requiredKeys: ['role', 'text'] },
    );

    /** A memory as stored: its memory type in capitals, as the API shows it, and metadata `{}` when none was given. */
    const memoryAsSent = (input: Record<string, unknown>): Record<string, unknown> => ({
      ...sent(input),
      metadata: input.metadata ?? {},
      importance: asReal(input.importance ?? 0),
      ...('score' in input && { score: asReal(input.score) }),
    });
    const expectMemory = async (id: string, input: Record<string, unknown>) => {
      expectFields(await query('memory', id, MEMORY), memoryAsSent(input));
      const { memoryType, ...columns } = memoryAsSent(input);
      expectFields(await memoryRow(id), { ...columns, memoryType: String(memoryType).toLowerCase() });
    };
    const expectBlock = async (id: string, input: Record<string, unknown>) => {
      expectFields(await query('block', id, BLOCK), sent(input));
      const row = await blockRow(id);
      expectFields({ ...row, limit: Number(row!.limit) }, sent(input));
    };
    const expectTool = async (id: string, input: Record<string, unknown>) => {
      expectFields(await query('tool', id, TOOL), sent(input));
      expectFields(await toolRow(id), sent(input));
    };
    const expectAgent = async (id: string, input: Record<string, unknown>) => {
      expectFields(await query('agent', id, AGENT), sent(input));
      expectFields(await agentRow(id), sent(input));
    };
    const expectUser = async (id: string, input: Record<string, unknown>) => {
      expectFields(await query('user', id, USER), sent(input));
      expectFields(await userRow(id), sent(input));
    };

    return {
      createUser: writeCase({
        draw: fc.record({
          input: userInput,
          padded: fc.boolean(),
          bad: fc.option(fc.constantFrom('timezone', 'name'), { nil: undefined }),
        }),
        plan: async ({ input, padded, bad }) => {
          // Names are stored without the whitespace around them (docs/api.md); other texts as sent.
          if (padded && !bad)
            return {
              args: { input: { ...input, name: ` ${input.name}\n\t` } },
              selection: '... on UserPayload { user { id } }',
              stored: async (result) => expectUser((result.user as { id: string }).id, input),
            };
          if (bad === 'timezone')
            return { args: { input: { ...input, timezone: 'Mars/Olympus' } }, refused: 'VALIDATION' };
          if (bad === 'name') return { args: { input: { ...input, name: 'x'.repeat(256) } }, refused: 'VALIDATION' };
          return {
            args: { input },
            selection: '... on UserPayload { user { id } }',
            stored: async (result) => expectUser((result.user as { id: string }).id, input),
          };
        },
      }),
      updateUser: writeCase({
        draw: fc.record({
          input: fc.record({ name: word(255), status: word(50), timezone: timezones }, { requiredKeys: [] }),
          bad: fc.option(foreignId, { nil: undefined }),
        }),
        plan: async ({ input, bad }) => {
          if (bad !== undefined)
            return { args: { id: foreign(bad, other.userId, 'user'), input }, refused: 'NOT_FOUND' };
          const id = await newUser();
          return {
            args: { id, input },
            selection: '... on UserPayload { user { id } }',
            stored: () => expectUser(id, input),
          };
        },
      }),
      ...lifecycle('user', newUser, userRow, () => other.userId),

      createAgent: writeCase({
        draw: fc.record({
          input: fc.record(agentFields, { requiredKeys: [] }),
          blocks: fc.array(blockInput, { maxLength: 2 }),
          existing: fc.nat({ max: 2 }),
          tools: fc.nat({ max: 2 }),
          bad: fc.option(fc.constantFrom('blockId', 'messageIds'), { nil: undefined }),
        }),
        plan: async ({ input, blocks, existing, tools, bad }) => {
          const labelled = blocks.map((block) => ({ ...block, label: unique(block.label.slice(0, 40)) }));
          const blockIds = await Promise.all(Array.from({ length: existing }, () => newBlock()));
          const toolIds = await Promise.all(Array.from({ length: tools }, () => newTool()));
          const full = { ...input, blocks: labelled, blockIds, toolIds };
          if (bad === 'blockId')
            return { args: { input: { ...full, blockIds: [...blockIds, otherBlockId] } }, refused: 'NOT_FOUND' };
          if (bad === 'messageIds')
            return { args: { input: { ...full, messageIds: ['message-unknown'] } }, refused: 'VALIDATION' };
          return {
            args: { input: full },
            selection: '... on AgentPayload { agent { id } }',
            stored: async (result) => {
              const id = (result.agent as { id: string }).id;
              await expectAgent(id, input);
              const agent = (await query('agent', id, AGENT))!;
              const held = agent.blocks as Array<{ id: string; label: string }>;
              expect(
                held
                  .map((block) => block.id)
                  .filter((block) => blockIds.includes(block))
                  .sort(),
              ).toEqual([...blockIds].sort());
              expect((agent.tools as Array<{ id: string }>).map((tool) => tool.id).sort()).toEqual([...toolIds].sort());
              for (const block of labelled) {
                const made = held.find((candidate) => candidate.label === block.label);
                expect(made).toBeDefined();
                await expectBlock(made!.id, block);
              }
            },
          };
        },
      }),
      updateAgent: writeCase({
        draw: fc.record({
          input: fc.record({ ...agentFields, window: fc.nat({ max: 3 }) }, { requiredKeys: [] }),
          bad: fc.option(fc.constantFrom('other', 'unknown', 'window'), { nil: undefined }),
        }),
        plan: async ({ input: { window, ...input }, bad }) => {
          if (bad === 'other' || bad === 'unknown')
            return { args: { id: foreign(bad, other.agentId, 'agent'), input }, refused: 'NOT_FOUND' };
          const id = await newAgent();
          const messageIds = window === undefined ? undefined : (await newMessages(id, 3)).slice(0, window).reverse();
          if (bad === 'window')
            return { args: { id, input: { ...input, messageIds: ['message-unknown'] } }, refused: 'VALIDATION' };
          const full = sent({ ...input, messageIds });
          return {
            args: { id, input: full },
            selection: '... on AgentPayload { agent { id } }',
            stored: () => expectAgent(id, full),
          };
        },
      }),
      ...lifecycle('agent', newAgent, agentRow, () => other.agentId),

      createBlock: writeCase({
        draw: fc.record({
          input: blockInput,
          withUser: fc.boolean(),
          bad: fc.option(fc.constantFrom('limit', 'label', 'user'), { nil: undefined }),
        }),
        plan: async ({ input, withUser, bad }) => {
          const labelled = {
            ...input,
            label: unique(input.label.slice(0, 40)),
            ...(withUser && { userId: own.userId }),
          };
          if (bad === 'user') return { args: { input: { ...labelled, userId: other.userId } }, refused: 'NOT_FOUND' };
          if (bad === 'limit')
            return {
              args: { input: { ...labelled, value: 'x'.repeat(11), limit: 10 } },
              refused: 'BLOCK_LIMIT_EXCEEDED',
            };
          if (bad === 'label')
            return { args: { input: { ...labelled, label: '😀'.repeat(51) } }, refused: 'VALIDATION' };
          return {
            args: { input: labelled },
            selection: '... on BlockPayload { block { id } version }',
            stored: async (result) => expectBlock((result.block as { id: string }).id, { ...labelled, version: 1 }),
          };
        },
      }),
      updateBlock: writeCase({
        draw: fc.record({
          input: fc.record(blockFields, { requiredKeys: [] }),
          expected: fc.boolean(),
          bad: fc.option(fc.constantFrom('version', 'limit', 'other'), { nil: undefined }),
        }),
        plan: async ({ input, expected, bad }) => {
          if (bad === 'other') return { args: { id: otherBlockId, input }, refused: 'NOT_FOUND' };
          const id = await newBlock();
          if (bad === 'version') return { args: { id, input, expectedVersion: 2 }, refused: 'CONFLICT' };
          if (bad === 'limit')
            return { args: { id, input: { value: 'x'.repeat(30), limit: 20 } }, refused: 'BLOCK_LIMIT_EXCEEDED' };
          return {
            args: { id, input, ...(expected && { expectedVersion: 1 }) },
            selection: '... on BlockPayload { version }',
            stored: async (result) => {
              expect(result.version).toBe(2);
              await expectBlock(id, { ...sent(input), version: 2 });
            },
          };
        },
      }),
      revertBlock: writeCase({
        draw: fc.record({
          values: fc.array(
            fc.record({ value: anyText(100), description: fc.option(anyText(100)), metadata: fc.option(jsonObject) }),
            { minLength: 1, maxLength: 3 },
          ),
          pick: fc.nat(),
          expected: fc.boolean(),
          bad: fc.option(fc.constantFrom('version', 'expected', 'limit'), { nil: undefined }),
        }),
        plan: async ({ values, pick, expected, bad }) => {
          const id = await newBlock(values[0]!.value);
          // Writes the later versions with variables: the setup must not depend on literals.
          for (const version of values) {
            const answer = await app.graphqlUntyped(
              'mutation ($id: ID!, $input: UpdateBlockInput!) { updateBlock(id: $id, input: $input) { __typename } }',
              { id, input: version },
            );
            expect(answer.data).toEqual({ updateBlock: { __typename: 'BlockPayload' } });
          }
          const current = values.length + 1;
          // Version 1 is the block as created; version 2 gave it the first draw's description and metadata.
          const versions = [{ value: values[0]!.value, description: null, metadata: null }, ...values];
          const version = 1 + (pick % versions.length);
          if (bad === 'version') return { args: { id, version: current + 1 }, refused: 'NOT_FOUND' };
          if (bad === 'expected') return { args: { id, version, expectedVersion: current - 1 }, refused: 'CONFLICT' };
          if (bad === 'limit') {
            await app.graphqlUntyped(
              'mutation ($id: ID!) { updateBlock(id: $id, input: { value: "", limit: 1 }) { __typename } }',
              { id },
            );
            if ([...versions[version - 1]!.value].length <= 1)
              return { args: { id, version: current + 2 }, refused: 'NOT_FOUND' };
            return { args: { id, version }, refused: 'VALIDATION' };
          }
          const restored = versions[version - 1]!;
          return {
            args: { id, version, ...(expected && { expectedVersion: current }) },
            selection: '... on BlockPayload { version }',
            stored: async (result) => {
              expect(result.version).toBe(current + 1);
              await expectBlock(id, {
                value: restored.value,
                description: restored.description ?? null,
                metadata: restored.metadata ?? null,
                version: current + 1,
              });
            },
          };
        },
      }),
      ...lifecycle(
        'block',
        () => newBlock(),
        blockRow,
        () => otherBlockId,
      ),
      attachBlock: writeCase({
        draw: fc.option(fc.constantFrom('other', 'label'), { nil: undefined }),
        plan: async (bad) => {
          const agentId = await newAgent();
          if (bad === 'other') return { args: { agentId, blockId: otherBlockId }, refused: 'NOT_FOUND' };
          const blockId = await newBlock();
          if (bad === 'label') {
            const label = (await query('block', blockId, 'label'))!.label as string;
            const twin = await newBlock();
            await owner().block.update({ where: { id: twin }, data: { label } });
            await mutate(
              'attachBlock',
              `agentId: ${literal(agentId)}, blockId: ${literal(twin)}`,
              '... on AgentPayload { agent { id } }',
            );
            return { args: { agentId, blockId }, refused: 'CONFLICT' };
          }
          return {
            args: { agentId, blockId },
            selection: '... on AgentPayload { agent { id } }',
            stored: async () =>
              expect((await query('agent', agentId, 'blocks { id }'))!.blocks).toEqual([{ id: blockId }]),
          };
        },
      }),
      detachBlock: writeCase({
        draw: fc.option(foreignId, { nil: undefined }),
        plan: async (bad) => {
          const agentId = await newAgent();
          if (bad !== undefined)
            return { args: { agentId, blockId: foreign(bad, otherBlockId, 'block') }, refused: 'NOT_FOUND' };
          const blockId = await newBlock();
          await mutate(
            'attachBlock',
            `agentId: ${literal(agentId)}, blockId: ${literal(blockId)}`,
            '... on AgentPayload { agent { id } }',
          );
          return {
            args: { agentId, blockId },
            selection: '... on AgentPayload { agent { id } }',
            stored: async () => expect((await query('agent', agentId, 'blocks { id }'))!.blocks).toEqual([]),
          };
        },
      }),
      instantiateTemplate: writeCase({
        draw: fc.record({
          blocks: fc.array(blockInput, { minLength: 1, maxLength: 3 }),
          bad: fc.option(fc.constantFrom('name', 'label'), { nil: undefined }),
        }),
        plan: async ({ blocks, bad }) => {
          const name = unique('template');
          const template = blocks.map((block, index) => ({
            ...block,
            label: `${index}:${block.label.slice(0, 40)}`,
            isTemplate: true,
            templateName: name,
          }));
          for (const block of template) {
            const answer = await app.graphqlUntyped(
              'mutation ($input: CreateBlockInput!) { createBlock(input: $input) { __typename } }',
              { input: block },
            );
            expect(answer.data).toEqual({ createBlock: { __typename: 'BlockPayload' } });
          }
          const agentId = await newAgent();
          if (bad === 'name') return { args: { agentId, name: unique('no such template') }, refused: 'NOT_FOUND' };
          if (bad === 'label') {
            await mutate('createAgent', `input: { blocks: [] }`, '... on AgentPayload { agent { id } }');
            const holder = await newBlock('held');
            await owner().block.update({ where: { id: holder }, data: { label: template[0]!.label } });
            await mutate(
              'attachBlock',
              `agentId: ${literal(agentId)}, blockId: ${literal(holder)}`,
              '... on AgentPayload { agent { id } }',
            );
            return { args: { agentId, name }, refused: 'CONFLICT' };
          }
          return {
            args: { agentId, name },
            selection: '... on AgentPayload { agent { id } }',
            stored: async () => {
              const held = (await query('agent', agentId, `blocks { ${BLOCK} }`))!.blocks as Record<string, unknown>[];
              expect(held).toHaveLength(template.length);
              for (const block of template) {
                const copy = held.find((candidate) => candidate.label === block.label);
                expectFields(copy, { ...sent(block), isTemplate: false, templateName: name, version: 1 });
                await expectBlock(copy!.id as string, {
                  ...sent(block),
                  isTemplate: false,
                  templateName: name,
                  version: 1,
                });
              }
            },
          };
        },
      }),

      createTool: writeCase({
        draw: fc.record({
          input: toolInput,
          bad: fc.option(fc.constantFrom('jsonSchema', 'tag', 'proto'), { nil: undefined }),
        }),
        plan: async ({ input, bad }) => {
          if (bad === 'proto')
            return {
              args: { input: { ...input, metadata: withProtoKey(input.metadata ?? {}) } },
              refused: 'VALIDATION',
            };
          if (bad === 'jsonSchema') return { args: { input: { ...input, jsonSchema: [1, 2] } }, refused: 'VALIDATION' };
          if (bad === 'tag') return { args: { input: { ...input, tags: ['x'.repeat(51)] } }, refused: 'VALIDATION' };
          return {
            args: { input },
            selection: '... on ToolPayload { tool { id } }',
            stored: async (result) => expectTool((result.tool as { id: string }).id, input),
          };
        },
      }),
      updateTool: writeCase({
        draw: fc.record({
          input: toolInput.map((input) => ({ ...input })),
          partial: fc.boolean(),
          bad: fc.option(fc.constantFrom('other', 'name'), { nil: undefined }),
        }),
        plan: async ({ input, partial, bad }) => {
          const change = partial ? { description: input.description } : input;
          if (bad === 'other')
            return { args: { id: foreign('unknown', '', 'tool'), input: change }, refused: 'NOT_FOUND' };
          const id = await newTool();
          if (bad === 'name') return { args: { id, input: { name: '' } }, refused: 'VALIDATION' };
          return {
            args: { id, input: change },
            selection: '... on ToolPayload { tool { id } }',
            stored: () => expectTool(id, change),
          };
        },
      }),
      ...lifecycle('tool', newTool, toolRow, () => foreign('unknown', '', 'tool')),
      attachTool: writeCase({
        draw: fc.option(foreignId, { nil: undefined }),
        plan: async (bad) => {
          const agentId = await newAgent();
          if (bad !== undefined)
            return { args: { agentId, toolId: foreign('unknown', '', 'tool') }, refused: 'NOT_FOUND' };
          const toolId = await newTool();
          return {
            args: { agentId, toolId },
            selection: '... on AgentPayload { agent { id } }',
            stored: async () =>
              expect((await query('agent', agentId, 'tools { id }'))!.tools).toEqual([{ id: toolId }]),
          };
        },
      }),
      detachTool: writeCase({
        draw: fc.option(fc.constantFrom('agent'), { nil: undefined }),
        plan: async (bad) => {
          const agentId = await newAgent();
          const toolId = await newTool();
          if (bad !== undefined) return { args: { agentId: other.agentId, toolId }, refused: 'NOT_FOUND' };
          await mutate(
            'attachTool',
            `agentId: ${literal(agentId)}, toolId: ${literal(toolId)}`,
            '... on AgentPayload { agent { id } }',
          );
          return {
            args: { agentId, toolId },
            selection: '... on AgentPayload { agent { id } }',
            stored: async () => expect((await query('agent', agentId, 'tools { id }'))!.tools).toEqual([]),
          };
        },
      }),

      createMemory: writeCase({
        draw: fc.record({
          input: memoryInput,
          withUser: fc.boolean(),
          bad: fc.option(fc.constantFrom('agent', 'importance', 'scope'), { nil: undefined }),
        }),
        plan: async ({ input, withUser, bad }) => {
          const agentId = await newAgent();
          const full = { ...input, content: unique(input.content), agentId, ...(withUser && { userId: own.userId }) };
          if (bad === 'agent') return { args: { input: { ...full, agentId: other.agentId } }, refused: 'NOT_FOUND' };
          if (bad === 'importance') return { args: { input: { ...full, importance: 1e39 } }, refused: 'VALIDATION' };
          if (bad === 'scope') return { args: { input: { ...full, scope: ' ' } }, refused: 'VALIDATION' };
          return {
            args: { input: full },
            selection: '... on MemoryPayload { deduplicated memory { id } }',
            stored: async (result) => {
              expect(result.deduplicated).toBe(false);
              await expectMemory((result.memory as { id: string }).id, full);
            },
          };
        },
      }),
      createMemories: writeCase({
        draw: fc.record({
          inputs: fc.array(memoryInput, { minLength: 1, maxLength: 3 }),
          bad: fc.option(fc.nat(), { nil: undefined }),
        }),
        plan: async ({ inputs, bad }) => {
          const agentId = await newAgent();
          const full = inputs.map((input) => ({ ...input, content: unique(input.content), agentId }));
          if (bad !== undefined)
            return {
              args: {
                inputs: full.map((input, index) => (index === bad % full.length ? { ...input, level: '' } : input)),
              },
              refused: 'VALIDATION',
            };
          return {
            args: { inputs: full },
            selection: '... on MemoriesPayload { results { deduplicated memory { id } } }',
            stored: async (result) => {
              const results = result.results as Array<{ deduplicated: boolean; memory: { id: string } }>;
              expect(results.map((item) => item.deduplicated)).toEqual(full.map(() => false));
              for (const [index, input] of full.entries()) await expectMemory(results[index]!.memory.id, input);
            },
          };
        },
      }),
      updateMemory: writeCase({
        draw: fc.record({
          input: fc.record(memoryFields, { requiredKeys: [] }),
          bad: fc.option(fc.constantFrom('duplicate', 'score', 'proto'), { nil: undefined }),
        }),
        plan: async ({ input, bad }) => {
          const agentId = await newAgent();
          const id = await newMemory(agentId);
          const change = sent({ ...input, content: input.content === undefined ? undefined : unique(input.content) });
          const expectedRow = sent({ ...change, importance: asReal(change.importance), score: asReal(change.score) });
          if (bad === 'duplicate') {
            const twin = await newMemory(agentId);
            const { content } = (await query('memory', twin, 'content'))!;
            return { args: { id, input: { content } }, refused: 'CONFLICT' };
          }
          if (bad === 'score') return { args: { id, input: { score: 1e-60 } }, refused: 'VALIDATION' };
          if (bad === 'proto')
            return { args: { id, input: { ...change, metadata: withProtoKey({}) } }, refused: 'VALIDATION' };
          return {
            args: { id, input: change },
            selection: '... on MemoryPayload { memory { id } }',
            stored: async () => {
              const { memoryType, ...columns } = expectedRow;
              expectFields(await query('memory', id, MEMORY), expectedRow);
              expectFields(await memoryRow(id), {
                ...columns,
                ...(memoryType !== undefined && { memoryType: String(memoryType).toLowerCase() }),
              });
            },
          };
        },
      }),
      supersedeMemory: writeCase({
        draw: fc.record({
          content: word(40),
          bad: fc.option(fc.constantFrom('superseded', 'foreign', 'period'), { nil: undefined }),
        }),
        plan: async ({ content, bad }) => {
          const id = await newMemory(await newAgent());
          const input = { content: unique(content) };
          if (bad === 'foreign') return { args: { id: foreign('unknown', '', 'memory'), input }, refused: 'NOT_FOUND' };
          if (bad === 'period')
            return {
              args: { id, input: { ...input, validFrom: '2030-01-01T00:00:00Z', validUntil: '2029-01-01T00:00:00Z' } },
              refused: 'VALIDATION',
            };
          if (bad === 'superseded') {
            await mutate('supersedeMemory', `id: ${literal(id)}, input: { content: ${literal(unique(content))} }`, '');
            return { args: { id, input }, refused: 'CONFLICT' };
          }
          return {
            args: { id, input },
            selection: '... on MemoryPayload { memory { id content } }',
            stored: async (result) => {
              const successor = result.memory as { id: string; content: string };
              expect(successor.content).toBe(input.content);
              expect(await memoryRow(id)).toMatchObject({ supersededById: successor.id, validUntil: expect.any(Date) });
            },
          };
        },
      }),
      invalidateMemory: writeCase({
        draw: fc.record({
          reason: fc.option(word(100), { nil: undefined }),
          bad: fc.option(fc.constantFrom('twice', 'foreign', 'early'), { nil: undefined }),
        }),
        plan: async ({ reason, bad }) => {
          const id = await newMemory(await newAgent());
          if (bad === 'foreign') return { args: { id: foreign('unknown', '', 'memory') }, refused: 'NOT_FOUND' };
          if (bad === 'early') return { args: { id, at: '2001-01-01T00:00:00Z' }, refused: 'VALIDATION' };
          if (bad === 'twice') {
            await mutate('invalidateMemory', `id: ${literal(id)}`, '');
            return { args: { id }, refused: 'CONFLICT' };
          }
          return {
            args: { id, ...(reason !== undefined && { reason }) },
            selection: '... on MemoryPayload { memory { id } }',
            stored: async () =>
              expect(await memoryRow(id)).toMatchObject({ supersededById: null, validUntil: expect.any(Date) }),
          };
        },
      }),
      ...lifecycle(
        'memory',
        async () => newMemory(await newAgent()),
        memoryRow,
        () => foreign('unknown', '', 'memory'),
      ),
      pruneMemories: writeCase({
        draw: fc.record({
          importances: fc.array(fc.constantFrom(0, 0.25, 0.5, 1), { maxLength: 5 }),
          keep: fc.nat({ max: 6 }),
          bad: fc.option(fc.constantFrom('keep', 'agent'), { nil: undefined }),
        }),
        plan: async ({ importances, keep, bad }) => {
          const agentId = await newAgent();
          const ids: string[] = [];
          for (const importance of importances) ids.push(await newMemory(agentId, importance));
          if (bad === 'keep') return { args: { agentId, keep: -1 }, refused: 'VALIDATION' };
          if (bad === 'agent') return { args: { agentId: other.agentId, keep }, refused: 'NOT_FOUND' };
          // The most important stay; of equal importance, the newest (created last).
          const ranked = ids
            .map((id, index) => ({ id, importance: importances[index]!, index }))
            .sort((a, b) => b.importance - a.importance || b.index - a.index);
          const kept = ranked
            .slice(0, keep)
            .map((memory) => memory.id)
            .sort();
          return {
            args: { agentId, keep },
            selection: '... on PruneMemoriesPayload { agentId removed }',
            stored: async (result) => {
              expect(result).toMatchObject({ agentId, removed: ids.length - kept.length });
              const live = (
                await api(
                  'query ($agentId: ID!) { memories(filter: { agentId: $agentId }, first: 100) { nodes { id } } }',
                  { agentId },
                )
              ).memories as { nodes: Array<{ id: string }> };
              expect(live.nodes.map((memory) => memory.id).sort()).toEqual(kept);
              const rows = await owner().memory.findMany({ where: { agentId, isDeleted: false } });
              expect(rows.map((row) => row.id).sort()).toEqual(kept);
            },
          };
        },
      }),

      appendMessages: writeCase({
        draw: fc.record({
          messages: fc.array(messageInput, { minLength: 1, maxLength: 3 }),
          withUser: fc.boolean(),
          bad: fc.option(fc.constantFrom('toolCallId', 'empty', 'agent'), { nil: undefined }),
        }),
        plan: async ({ messages, withUser, bad }) => {
          const agentId = await newAgent();
          const sentMessages: Record<string, unknown>[] = messages.map((message) => ({
            ...message,
            ...(withUser && { userId: own.userId }),
          }));
          // A TOOL message answering a call made earlier in the same append, when there is one.
          const call = messages.find((message) => message.role === 'ASSISTANT' && (message.toolCalls?.length ?? 0) > 0)
            ?.toolCalls?.[0];
          const full = call
            ? [...sentMessages, { role: 'TOOL', text: 'the tool said', toolCallId: call.id }]
            : sentMessages;
          if (bad === 'toolCallId')
            return {
              args: { agentId, messages: [...full, { role: 'TOOL', text: 'ok', toolCallId: 'call-never-made' }] },
              refused: 'VALIDATION',
            };
          if (bad === 'empty')
            return { args: { agentId, messages: [...full, { role: 'USER', text: '' }] }, refused: 'VALIDATION' };
          if (bad === 'agent') return { args: { agentId: other.agentId, messages: full }, refused: 'NOT_FOUND' };
          return {
            args: { agentId, messages: full },
            selection: '... on MessagesPayload { messages { id } }',
            stored: async (result) => {
              const ids = (result.messages as Array<{ id: string }>).map((message) => message.id);
              const read = (
                await api(
                  `query ($agentId: ID!) { messages(agentId: $agentId, first: 100) { nodes { ${MESSAGE} } } }`,
                  { agentId },
                )
              ).messages as { nodes: Record<string, unknown>[] };
              expect(read.nodes.map((message) => message.id)).toEqual(ids);
              for (const [index, message] of full.entries()) {
                const expected: Record<string, unknown> = { ...sent(message), userId: own.userId };
                expectFields(read.nodes[index], expected);
                const { role, ...columns } = expected;
                expectFields(await messageRow(ids[index]!), { ...columns, role: String(role).toLowerCase() });
              }
            },
          };
        },
      }),
      setContextWindow: writeCase({
        draw: fc.record({
          order: fc.array(fc.nat({ max: 3 }), { maxLength: 4 }).map((indexes) => [...new Set(indexes)]),
          bad: fc.option(fc.constantFrom('twice', 'foreign', 'deleted'), { nil: undefined }),
        }),
        plan: async ({ order, bad }) => {
          const agentId = await newAgent();
          const messageIds = await newMessages(agentId, 4);
          const window = order.map((index) => messageIds[index]!);
          if (bad === 'twice')
            return {
              args: { agentId, messageIds: [...window, messageIds[0]!, messageIds[0]!] },
              refused: 'VALIDATION',
            };
          if (bad === 'foreign')
            return {
              args: { agentId, messageIds: [...window, (await newMessages(await newAgent(), 1))[0]!] },
              refused: 'VALIDATION',
            };
          if (bad === 'deleted') {
            await mutate('deleteMessage', `id: ${literal(messageIds[3])}`, '... on DeletedPayload { id }');
            return {
              args: { agentId, messageIds: [...window.filter((id) => id !== messageIds[3]), messageIds[3]!] },
              refused: 'VALIDATION',
            };
          }
          return {
            args: { agentId, messageIds: window },
            selection: '... on AgentPayload { agent { id } }',
            stored: async () => {
              expect(
                (
                  (await query('agent', agentId, 'contextMessages { id }'))!.contextMessages as Array<{ id: string }>
                ).map((message) => message.id),
              ).toEqual(window);
              expect((await agentRow(agentId))!.messageIds).toEqual(window);
            },
          };
        },
      }),
      deleteMessage: writeCase({
        draw: fc.option(fc.constantFrom('unknown', 'deleted'), { nil: undefined }),
        plan: async (bad) => {
          const [id] = await newMessages(await newAgent(), 1);
          if (bad === 'unknown') return { args: { id: foreign('unknown', '', 'message') }, refused: 'NOT_FOUND' };
          if (bad === 'deleted') {
            await mutate('deleteMessage', `id: ${literal(id)}`, '... on DeletedPayload { id }');
            return { args: { id }, refused: 'NOT_FOUND' };
          }
          return {
            args: { id },
            selection: '... on DeletedPayload { id }',
            stored: async () =>
              expect(await messageRow(id!)).toMatchObject({ isDeleted: true, deletedAt: expect.any(Date) }),
          };
        },
      }),
      restoreMessage: writeCase({
        draw: fc.option(fc.constantFrom('live', 'unknown'), { nil: undefined }),
        plan: async (bad) => {
          const agentId = await newAgent();
          const [id] = await newMessages(agentId, 1);
          if (bad === 'live') return { args: { id }, refused: 'CONFLICT' };
          if (bad === 'unknown') return { args: { id: foreign('unknown', '', 'message') }, refused: 'NOT_FOUND' };
          await mutate('deleteMessage', `id: ${literal(id)}`, '... on DeletedPayload { id }');
          return {
            args: { id },
            selection: '... on MessagesPayload { messages { id } }',
            stored: async () => {
              expect(
                (
                  (await api('query ($agentId: ID!) { messages(agentId: $agentId) { nodes { id } } }', { agentId }))
                    .messages as { nodes: unknown[] }
                ).nodes,
              ).toEqual([{ id }]);
              expect(await messageRow(id!)).toMatchObject({ isDeleted: false, deletedAt: null });
            },
          };
        },
      }),
      purgeMessage: writeCase({
        draw: fc.option(fc.constantFrom('unknown'), { nil: undefined }),
        plan: async (bad) => {
          const [id] = await newMessages(await newAgent(), 1);
          if (bad !== undefined) return { args: { id: foreign('unknown', '', 'message') }, refused: 'NOT_FOUND' };
          return {
            args: { id },
            selection: '... on DeletedPayload { id }',
            stored: async () => expect(await messageRow(id!)).toBeNull(),
          };
        },
      }),

      createApiKey: writeCase({
        draw: fc.record({
          name: word(255),
          scopes: fc.subarray(['READ', 'WRITE', 'ADMIN'], { minLength: 1 }),
          expiresAt: fc.option(
            fc.tuple(
              fc.date({
                min: new Date('2100-01-01T00:00:00Z'),
                max: new Date('9999-12-30T00:00:00Z'),
                noInvalidDate: true,
              }),
              fc.integer({ min: -12 * 60, max: 14 * 60 }),
            ),
            { nil: undefined },
          ),
          withUser: fc.boolean(),
          bad: fc.option(fc.constantFrom('user', 'date'), { nil: undefined }),
        }),
        plan: async ({ name, scopes, expiresAt, withUser, bad }) => {
          // An instant written with an offset: the same instant must come back, in UTC.
          const written = expiresAt && withOffset(expiresAt[0], expiresAt[1]);
          const input = sent({ name, scopes, expiresAt: written, userId: withUser ? own.userId : undefined });
          if (bad === 'user') return { args: { input: { ...input, userId: other.userId } }, refused: 'NOT_FOUND' };
          if (bad === 'date')
            return { args: { input: { ...input, expiresAt: '2024-02-30T00:00:00Z' } }, refused: 'VALIDATION' };
          return {
            args: { input },
            selection: '... on CreatedApiKey { key apiKey { id name scopes expiresAt isActive userId } }',
            stored: async (result) => {
              const { id } = result.apiKey as { id: string };
              // ApiKey.scopes is a list of strings, the stored spelling: the input's READ reads back as "read".
              const expected = {
                id,
                name,
                scopes: scopes.map((scope) => scope.toLowerCase()),
                expiresAt: expiresAt ? expiresAt[0].toISOString() : null,
                isActive: true,
                userId: own.userId,
              };
              const keys = (await api('{ apiKeys(first: 100) { nodes { id name scopes expiresAt isActive userId } } }'))
                .apiKeys as { nodes: Array<{ id: string }> };
              expectFields(
                keys.nodes.find((key) => key.id === id),
                expected,
              );
              const row = await owner().apiKey.findUnique({ where: { id } });
              expectFields({ ...row, expiresAt: row?.expiresAt?.toISOString() ?? null, scopes: row?.scopes }, expected);
            },
          };
        },
      }),
      revokeApiKey: writeCase({
        draw: fc.option(fc.constantFrom('unknown'), { nil: undefined }),
        plan: async (bad) => {
          if (bad !== undefined) return { args: { id: foreign('unknown', '', 'apikey') }, refused: 'NOT_FOUND' };
          const { apiKey } = (await mutate(
            'createApiKey',
            `input: { name: ${literal(unique('key'))}, scopes: [READ] }`,
            '... on CreatedApiKey { apiKey { id } }',
          )) as { apiKey: { id: string } };
          return {
            args: { id: apiKey.id },
            selection: '... on RevokedApiKey { apiKey { id isActive } }',
            stored: async () =>
              expect(await owner().apiKey.findUnique({ where: { id: apiKey.id } })).toMatchObject({ isActive: false }),
          };
        },
      }),

      importAgent: writeCase({
        draw: fc.record({
          agent: fc.record(agentFields, { requiredKeys: [] }),
          blocks: fc.array(blockInput, { maxLength: 2 }),
          tools: fc.array(toolInput, { maxLength: 2 }),
          messages: fc.array(messageInput, { maxLength: 3 }),
          // When each message was written, at any offset: the instant must come back, in UTC.
          instants: fc.array(
            fc.tuple(
              fc.date({
                min: new Date('0001-01-02T00:00:00Z'),
                max: new Date('9999-12-30T00:00:00Z'),
                noInvalidDate: true,
              }),
              fc.integer({ min: -12 * 60, max: 14 * 60 }),
            ),
            { minLength: 3, maxLength: 3 },
          ),
          memories: fc.array(memoryInput, { maxLength: 2 }),
          window: fc.boolean(),
          bad: fc.option(fc.constantFrom('version', 'date', 'link'), { nil: undefined }),
        }),
        plan: async ({ agent, blocks, tools, messages, instants, memories, window, bad }) => {
          const file = importDocument(agent, blocks, tools, messages, instants, memories, window);
          if (bad === 'version')
            return { args: { document: { ...file.document, version: 99 } }, refused: 'VALIDATION' };
          if (bad === 'date')
            return {
              args: {
                document: {
                  ...file.document,
                  messages: [{ id: 'message-x', role: 'user', text: 'x', createdAt: '2024-02-30T00:00:00Z' }],
                },
              },
              refused: 'VALIDATION',
            };
          if (bad === 'link')
            return {
              args: {
                document: {
                  ...file.document,
                  links: { blocksAgents: [{ blockId: 'block-nowhere', blockLabel: 'x' }], toolsAgents: [] },
                },
              },
              refused: 'VALIDATION',
            };
          return {
            args: { document: file.document },
            selection: '... on AgentPayload { agent { id } }',
            stored: async (result) => file.check((result.agent as { id: string }).id),
          };
        },
      }),
    };

    /** An agent file of generated rows, and how to find each of them in the imported agent. */
    function importDocument(
      agent: Record<string, unknown>,
      blocks: Record<string, unknown>[],
      tools: Record<string, unknown>[],
      messages: Record<string, unknown>[],
      instants: [Date, number][],
      memories: Record<string, unknown>[],
      window: boolean,
    ) {
      const lower = (value: unknown) => String(value).toLowerCase();
      const fileBlocks = blocks.map((block, index) => ({
        id: `block-f${index}`,
        ...sent(block),
        label: `${index}:${String(block.label).slice(0, 40)}`,
      }));
      const fileTools = tools.map((tool, index) => ({
        id: `tool-f${index}`,
        ...sent(tool),
        name: unique(String(tool.name).slice(0, 200)),
      }));
      const fileMessages = messages.map(
        (message, index): Record<string, unknown> => ({
          id: `message-f${index}`,
          ...sent(message),
          role: lower(message.role),
          createdAt: withOffset(...instants[index]!),
        }),
      );
      // The conversation as stored: by instant, the file's order where instants tie.
      const conversation = fileMessages
        .map((message, index) => ({ ...message, createdAt: instants[index]![0].toISOString(), index }))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.index - b.index)
        .map(({ index: _index, ...message }): Record<string, unknown> => message);
      const fileMemories = memories.map((memory, index) => ({
        id: `memory-f${index}`,
        ...sent(memory),
        content: unique(String(memory.content)),
        memoryType: lower(memory.memoryType),
      }));
      const messageIds = window ? fileMessages.map((message) => message.id).reverse() : [];
      const document = {
        format: 'agentmem.agent',
        version: 1,
        exportedAt: new Date().toISOString(),
        agent: { id: 'agent-f', ...sent(agent), messageIds },
        blocks: fileBlocks,
        tools: fileTools,
        messages: fileMessages,
        memories: fileMemories,
        links: {
          blocksAgents: fileBlocks.map((block) => ({ blockId: block.id, blockLabel: block.label })),
          toolsAgents: fileTools.map((tool) => ({ toolId: tool.id })),
        },
      };
      const check = async (agentId: string) => {
        await expectAgent(agentId, sent(agent));
        // Read in parts: the whole selection at once is over the request cost limit.
        const read = {
          ...(await query('agent', agentId, `blocks { ${BLOCK} } contextMessages { id text }`))!,
          ...(await query('agent', agentId, `tools { ${TOOL} }`))!,
          ...(await query('agent', agentId, `messages(first: 10) { nodes { ${MESSAGE} createdAt } }`))!,
          ...(await query('agent', agentId, `memories(first: 10) { nodes { ${MEMORY} } }`))!,
        };
        const without = (row: Record<string, unknown>, ...keys: string[]) =>
          Object.fromEntries(Object.entries(row).filter(([key]) => !keys.includes(key)));
        const held = read.blocks as Record<string, unknown>[];
        expect(held).toHaveLength(fileBlocks.length);
        for (const block of fileBlocks)
          expectFields(
            held.find((candidate) => candidate.label === block.label),
            without(block, 'id'),
          );
        const attached = read.tools as Record<string, unknown>[];
        expect(attached).toHaveLength(fileTools.length);
        for (const tool of fileTools)
          expectFields(
            attached.find((candidate) => candidate.name === tool.name),
            without(tool, 'id'),
          );
        const stored = (read.messages as { nodes: Record<string, unknown>[] }).nodes;
        expect(stored).toHaveLength(fileMessages.length);
        for (const [index, message] of conversation.entries())
          expectFields(stored[index], {
            ...without(message, 'id'),
            role: String(message.role).toUpperCase(),
            userId: own.userId,
          });
        expect((read.contextMessages as Array<{ text: string }>).map((message) => message.text)).toEqual(
          [...fileMessages]
            .reverse()
            .filter(() => window)
            .map((message) => message.text),
        );
        const remembered = (read.memories as { nodes: Record<string, unknown>[] }).nodes;
        expect(remembered).toHaveLength(fileMemories.length);
        for (const memory of fileMemories) {
          const { id: _id, memoryType, ...fields } = memory;
          expectFields(
            remembered.find((candidate) => candidate.content === memory.content),
            { ...memoryAsSent(fields), memoryType: String(memoryType).toUpperCase() },
          );
        }
      };
      return { document, check };
    }
  }

  beforeAll(async () => {
    app = await startTestApp(`generated_writes_${graphqlJit ? 'jit' : 'js'}`, {
      graphqlJit,
      rateLimit: { requests: 0, windowSeconds: 60 },
    });
    own = await app.seedDemo();
    other = await app.seedDemo();
    otherBlockId = (
      await app.database.owner.block.findFirstOrThrow({ where: { organizationId: other.organizationId } })
    ).id;
  });
  afterAll(async () => {
    await app?.close();
  });

  /** The caller's rows, but for what every request changes: its keys' last use and the memories' access counts. */
  const ownRows = async () =>
    (await rowsOfOrganization(app.database.owner, own.organizationId)).map((rows, table) =>
      (rows as Record<string, unknown>[]).map((row) =>
        table === 7
          ? { ...row, lastUsedAt: null }
          : 'accessCount' in row
            ? { ...row, accessCount: null, lastAccessed: null }
            : row,
      ),
    );

  it('has a generator for every mutation of the schema', () => {
    expect(Object.keys(cases()).sort()).toEqual(mutationFields);
  });

  it('writes a variable inside a JSON literal and inside an input object literal as it was sent', async () => {
    const agentId = (
      await api('mutation { createAgent(input: { name: "regression" }) { ... on AgentPayload { agent { id } } } }')
    ).createAgent as { agent: { id: string } };
    const answer = await app.graphqlUntyped(
      `mutation ($s: String!, $n: JSON, $c: String!) {
        createMemory(input: { agentId: "${agentId.agent.id}", content: $c, memoryType: FACTUAL, scope: "user",
        level: "core", metadata: { source: $s, nested: [1, $n] } }) { ... on MemoryPayload { memory {
        metadata } } } }`,
      { s: 'chat', n: { deep: true }, c: unique('literal with variables') },
    );
    expect(answer.data).toEqual({
      createMemory: { memory: { metadata: { source: 'chat', nested: [1, { deep: true }] } } },
    });
  });

  // Prisma 6.19's query compiler rounded some doubles of 16 or 17 significant digits by a unit in
  // the last place on their way to PostgreSQL (-1.0000062970122861e-53 was stored as
  // -1.000006297012286e-53); Prisma 7.10 keeps them inside an array or object.
  it('keeps every digit of a number in a JSON object', async () => {
    const number = -1.0000062970122861e-53;
    const answer = await app.graphqlUntyped(
      'mutation ($m: JSON) { createTool(input: { name: "digits", metadata: $m }) { ... on ToolPayload { tool { ' +
        'id } } } }',
      { m: { number } },
    );
    const { id } = (answer.data as { createTool: { tool: { id: string } } }).createTool.tool;
    expect((await app.database.owner.tool.findUnique({ where: { id } }))!.metadata).toEqual({ number });
  });

  // A JSON value that is itself a number still loses digits in Prisma 7.10 (0.30000000000000004 is
  // stored as 0.3; 16 significant digits). Not this project's code, and not fixed here: README,
  // "Hostile input". This passes while the loss stands, and fails, as a reminder to draw any double
  // at the top level too, once a Prisma release keeps the digits.
  it.failing('keeps every digit of a JSON number value (a known loss in Prisma: fails while it stands)', async () => {
    const agent = (
      await api('mutation { createAgent(input: { name: "digits" }) { ... on AgentPayload { agent { id } } } }')
    ).createAgent as { agent: { id: string } };
    const content = 0.30000000000000004;
    const answer = await app.graphqlUntyped(
      'mutation ($agentId: ID!, $content: JSON) { appendMessages(agentId: $agentId, messages: [{ role: USER, ' +
        'text: "digits", content: $content }]) { __typename } }',
      { agentId: agent.agent.id, content },
    );
    expect(answer.errors).toBeUndefined();
    const stored = await app.database.owner.message.findFirstOrThrow({ where: { agentId: agent.agent.id } });
    expect(stored.content).toBe(content);
  });

  for (const field of mutationFields) {
    it(`${field}: stores what it accepts, refuses what it must with a typed error and changes nothing`, async () => {
      const writeCase = cases()[field];
      expect(writeCase).toBeDefined();
      await fc.assert(
        fc.asyncProperty(writeCase!.draw, mixing, async (draw, how) => {
          const plan = await writeCase!.plan(draw);
          const before = plan.refused ? await ownRows() : undefined;
          const { query, variables } = mutationDocument(field, plan.args, plan.selection ?? '', how);
          const answer = await app.graphqlUntyped(query, variables);
          for (const error of answer.errors ?? []) expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
          expect(answer.status).toBeLessThan(500);
          const result = (answer.data?.result ?? null) as Record<string, unknown> | null;
          if (plan.refused) {
            // A refusal before execution is a GraphQL error; during it, the mutation's typed result.
            const code = result ? result.code : answer.errors?.[0]?.extensions?.code;
            expect({ code, field }).toEqual({ code: plan.refused, field });
            expect(await ownRows()).toEqual(before);
          } else {
            expect({ errors: answer.errors, result: result && 'code' in result ? result : 'accepted' }).toEqual({
              errors: undefined,
              result: 'accepted',
            });
            await plan.stored!(result!);
          }
        }),
        { numRuns: runs, seed: SEED },
      );
    }, 120_000);
  }
});

/** An instant written at a UTC offset of `minutes`, as ISO 8601 allows. */
function withOffset(instant: Date, minutes: number): string {
  const local = new Date(instant.getTime() + minutes * 60_000).toISOString().slice(0, -1);
  const sign = minutes < 0 ? '-' : '+';
  const hours = String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0');
  return `${local}${sign}${hours}:${String(Math.abs(minutes) % 60).padStart(2, '0')}`;
}
