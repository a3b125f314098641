import fc from 'fast-check';
import { addAgentFleet } from '../../src/demo/agent-fleet';
import type { DemoData } from '../../src/demo/seed';
import { propertySeed } from '../support/property-seed';
import { type GeneralPathServer, startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The one-statement read of agents (src/agents/page.ts) must answer exactly as the general path
 * (Prisma, graphql-js) does, for any selection: the same bytes, from the same database. Two servers
 * share one database here: the test app (fast path, graphql-jit) and a general one beside it.
 */

const agentScalars = [
  'id',
  'organizationId',
  'name',
  'agentType',
  'description',
  'system',
  'topic',
  'messageIds',
  'metadata',
  'llmConfig',
  'embeddingConfig',
  'toolRules',
  'mcpTools',
  'createdAt',
  'updatedAt',
  'createdById',
  'lastUpdatedById',
];
const blockScalars = [
  'id',
  'organizationId',
  'userId',
  'label',
  'value',
  'limit',
  'description',
  'templateName',
  'isTemplate',
  'metadata',
  'createdAt',
  'updatedAt',
  'createdById',
  'lastUpdatedById',
  'version',
];
const toolScalars = [
  'id',
  'organizationId',
  'name',
  'description',
  'jsonSchema',
  'sourceType',
  'sourceCode',
  'tags',
  'metadata',
  'createdAt',
  'updatedAt',
  'createdById',
  'lastUpdatedById',
];
const messageScalars = [
  'id',
  'organizationId',
  'userId',
  'agentId',
  'role',
  'text',
  'content',
  'model',
  'name',
  'toolCalls',
  'toolCallId',
  'stepId',
  'otid',
  'toolReturns',
  'groupId',
  'senderId',
  'createdAt',
  'updatedAt',
  'createdById',
  'lastUpdatedById',
];

const alias = fc.option(fc.constantFrom('x', 'y', 'z'), { nil: undefined });
// Aliases are numbered apart, so that two picks never give one response key two meanings.
let aliases = 0;
const fields = (names: string[]) =>
  fc
    .array(fc.tuple(fc.boolean(), fc.constantFrom(...names)), { minLength: 1, maxLength: 5 })
    .map((picked) => picked.map(([aliased, name]) => (aliased ? `f${(aliases += 1)}: ${name}` : name)).join(' '));

// Fields beyond the fast path's columns send the request the general way on both servers: they
// are generated too, rarely, so that the choice itself is tested.
const blockSelection = fc
  .tuple(fields(blockScalars), fc.constantFrom('', '', '', '', '', 'user { id name }'))
  .map((parts) => parts.join(' '));
const relation = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(alias, fc.option(fc.constantFrom('persona', 'human', 'none'), { nil: undefined }), blockSelection)
      .map(
        ([as, label, selection]) =>
          `${as ? `${as}: ` : ''}blocks${label ? `(label: "${label}")` : ''} { ${selection} }`,
      ),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(alias, fields(toolScalars))
      .map(([as, selection]) => `${as ? `${as}: ` : ''}tools { ${selection} }`),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(alias, fc.option(fc.integer({ min: 1, max: 14 }), { nil: undefined }), fields(messageScalars))
      .map(
        ([as, limit, selection]) =>
          `${as ? `${as}: ` : ''}recentMessages${limit ? `(limit: ${limit})` : ''} { ${selection} }`,
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'messageCount',
      'memories(first: 2) { nodes { id } }',
      'contextMessages { id text }',
      'blocks { id history(first: 1) { nodes { version } } }',
    ),
  },
);

/** An Agent selection: columns, relations, fragments and directives. */
const agentSelection = fc
  .tuple(
    fields(agentScalars),
    fc.array(relation, { maxLength: 3 }),
    fc.boolean(),
    fc.boolean(),
    fc.constantFrom('', '@include(if: $on)', '@skip(if: $on)'),
  )
  .map(([columns, relations, inline, named, directive]) => {
    const [first, ...rest] = relations;
    let selection = columns;
    if (first) selection += inline ? ` ... on Agent ${directive} { ${first} }` : ` ${first}`;
    if (rest.length > 0) selection += named ? ' ...more' : ` ${rest.join(' ')}`;
    return { selection, fragment: named && rest.length > 0 ? `fragment more on Agent { ${rest.join(' ')} }` : '' };
  });

const page = fc
  .record({
    size: fc.constantFrom('first: 5', 'first: 0', 'last: 3', '', '', 'first: 40'),
    order: fc.constantFrom(
      '',
      '',
      'orderBy: { field: CREATED_AT }',
      'orderBy: { field: CREATED_AT, direction: desc }',
      'orderBy: { field: UPDATED_AT, direction: desc }',
      'orderBy: { field: UPDATED_AT }',
      'orderBy: { field: NAME }',
    ),
    filter: fc.constantFrom('', '', '', 'filter: { agentType: "fleet" }', 'filter: { nameContains: "1" }'),
    cursor: fc.constantFrom('none', 'none', 'after', 'before', 'deleted', 'unknown'),
    edges: fc.boolean(),
  })
  // Mostly pages the arguments allow; now and then one they refuse, which both paths must refuse alike.
  .map((args) =>
    args.cursor === 'before' && args.size.startsWith('first') && args.size !== 'first: 0'
      ? { ...args, size: 'last: 3' }
      : args,
  );

describe('the fast read path of agents', () => {
  let app: TestApp;
  let general: GeneralPathServer;
  let demo: DemoData;
  const cursors: Record<string, string> = {};

  beforeAll(async () => {
    app = await startTestApp('fast_path');
    demo = await app.seedDemo();
    await addAgentFleet(app.database.owner, demo, 24);
    const owner = app.database.owner;
    // What a byte-for-byte comparison needs to meet: sub-millisecond timestamps, ties in the
    // order, JSON of every kind, nulls, a deleted agent, block and message.
    await owner.$executeRawUnsafe(`UPDATE messages
      SET created_at = created_at + interval '987 microseconds', updated_at = updated_at + interval '1 microsecond'`);
    await owner.$executeRawUnsafe(`UPDATE agents
      SET created_at = (SELECT min(created_at) FROM agents WHERE id LIKE 'agent-fleet-%'), agent_type = 'fleet'
      WHERE id IN ('agent-fleet-003', 'agent-fleet-004', 'agent-fleet-005')`);
    await owner.$executeRawUnsafe(`UPDATE agents
      SET metadata_ = '{"b": [1, 2.50, null], "a": {"nested": "é\\u00e9"}, "n": 1e3}', llm_config = 'null',
      message_ids = '["x", "y"]', name = NULL WHERE id = 'agent-fleet-006'`);
    await owner.$executeRawUnsafe(`UPDATE agents SET is_deleted = true WHERE id = 'agent-fleet-010'`);
    // A context window of live and deleted messages, newest first: contextMessages is generated too.
    await owner.$executeRawUnsafe(`UPDATE agents
      SET message_ids = (SELECT jsonb_agg(id ORDER BY created_at DESC, id) FROM messages
      WHERE agent_id = 'agent-fleet-001') WHERE id = 'agent-fleet-001'`);
    await owner.$executeRawUnsafe(`UPDATE blocks SET is_deleted = true WHERE id = 'block-fleet-2-human'`);
    await owner.$executeRawUnsafe(`UPDATE blocks
      SET metadata_ = '{"k": true}', description = 'a "quoted" description' WHERE id = 'block-fleet-1-persona'`);
    await owner.$executeRawUnsafe(`UPDATE messages SET is_deleted = true WHERE id = 'message-fleet-1-11'`);
    await owner.$executeRawUnsafe(`UPDATE messages
      SET tool_calls = '[{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]',
      role = 'tool' WHERE id = 'message-fleet-1-10'`);
    await owner.$executeRawUnsafe(`ANALYZE`);

    general = await startGeneralPathServer(app);

    const ids = await app.graphqlUntyped('{ agents(first: 30) { edges { cursor node { id } } } }');
    const edges = (ids.data as { agents: { edges: Array<{ cursor: string; node: { id: string } }> } }).agents.edges;
    cursors.after = edges[4]!.cursor;
    cursors.before = edges[12]!.cursor;
    cursors.deleted = Buffer.from('GPC:S:agent-fleet-010').toString('base64');
    cursors.unknown = Buffer.from('GPC:S:agent-nobody').toString('base64');
  }, 240_000);

  afterAll(async () => {
    await general?.close();
    await app?.close();
  });

  const both = (query: string, variables: Record<string, unknown>) => general.both(demo.key, query, variables);

  it('answers generated selections of agents(...) byte for byte as the general path does', async () => {
    let fastServed = 0;
    await fc.assert(
      fc.asyncProperty(
        agentSelection,
        page,
        fc.boolean(),
        async ({ selection, fragment }, { size, order, filter, cursor, edges }, on) => {
          const cursorArgument =
            cursor === 'none'
              ? ''
              : cursor === 'before'
                ? `before: "${cursors.before}"`
                : `after: "${cursors[cursor]}"`;
          const args = [size, order, filter, cursorArgument].filter((part) => part !== '').join(', ');
          const nodes = edges ? `edges { cursor node { ${selection} } }` : `nodes { ${selection} }`;
          const query = `query ($on: Boolean!) { __typename @include(if: $on) agents${args ? `(${args})` : ''} {
          ${nodes} pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } ${fragment}`;
          const {
            result: [fast, slow],
            statements,
          } = await app.countStatements(() => both(query, { on }));
          expect({ query, on, answer: fast }).toEqual({ query, on, answer: slow });
          if (statements.some((sql) => sql.startsWith('SELECT /* planned agents'))) fastServed += 1;
        },
      ),
      { numRuns: 120, seed: propertySeed('agents fast path') },
    );
    // Most generated selections are ones the fast path serves: it was the one tested.
    expect(fastServed).toBeGreaterThan(20);
  });

  it('answers agent(id) byte for byte as the general path does', async () => {
    await fc.assert(
      fc.asyncProperty(
        agentSelection,
        fc.constantFrom('agent-fleet-001', 'agent-fleet-006', 'agent-fleet-010', 'agent-nobody', demo.agentId),
        fc.boolean(),
        async ({ selection, fragment }, id, on) => {
          const query = `query ($on: Boolean!, $id: ID!) { __typename @include(if: $on) agent(id: $id) {
          ${selection} } } ${fragment}`;
          const [fast, slow] = await both(query, { on, id });
          expect({ query, answer: fast }).toEqual({ query, answer: slow });
        },
      ),
      { numRuns: 60, seed: propertySeed('agent(id) fast path') },
    );
  });
});
