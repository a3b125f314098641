import fc from 'fast-check';
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';
import { addAgentFleet } from '../../src/demo/agent-fleet';
import type { DemoData } from '../../src/demo/seed';
import { schema } from '../../src/schema';
import { subscribe } from '../support/live-client';
import { propertySeed } from '../support/property-seed';
import { type GeneralPathServer, startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The read planner must answer any selection exactly as the general path (Prisma and DataLoader,
 * graphql-js) does: the same bytes from the same database. Selections are generated over the
 * whole schema, from every root field that reads rows: every field of every type the planner
 * reaches, with arguments, aliases, fragments and directives, nested 3 levels, and connection
 * pages in both directions from cursors of this organization, of another, of deleted rows and
 * of none.
 */

const MAX_DEPTH = 3;
/** Root fields that read rows, and the arguments they always get (memories are only looked at). */
const ROOTS: Record<string, string> = {
  agents: '',
  agent: 'id',
  blocks: '',
  block: 'id',
  blockTemplates: '',
  tools: '',
  tool: 'id',
  users: '',
  user: 'id',
  messages: 'agentId',
  organization: '',
  memories: 'track',
  memory: 'id track',
  apiKeys: '',
  me: '',
  searchMemories: 'query track',
};

interface Pools {
  ids: Record<string, string[]>;
  cursors: string[];
}

let aliasCounter = 0;
/**
 * A fresh alias; every other one is written as the planner names its own rows (`t1` to `t9`),
 * which its statements must not take for one of theirs (the memory list reads the columns it
 * names). Those may repeat in a selection: such a document is refused by both paths alike.
 */
function freshAlias(): string {
  aliasCounter += 1;
  return aliasCounter % 2 === 0 ? `t${(aliasCounter % 9) + 1}` : `a${aliasCounter}`;
}
/** A field as written: by its name, under a fresh alias, or under another field's name (`id: name`). */
const aliased = (name: string, alias: boolean | string) =>
  alias === false ? name : `${alias === true ? freshAlias() : alias}: ${name}`;

/** A literal for an input value: mostly sensible, now and then out of range. */
function argumentValue(
  arg: GraphQLArgument | { name: string; type: GraphQLInputType },
  pools: Pools,
  entity: string,
): fc.Arbitrary<string | undefined> {
  const type = getNullableType(arg.type);
  const optional = <T extends string>(value: fc.Arbitrary<T>) =>
    isNonNullType(arg.type) ? value : fc.option(value, { nil: undefined, freq: 2 });
  switch (arg.name) {
    case 'track':
      return fc.constant('false');
    case 'query':
      return fc.constantFrom('"fact"', '"fact 3"', '"persona OR fact"', '"-fact"');
    case 'deleted':
      return fc.constant(undefined);
    case 'id':
      return fc.constantFrom(...(pools.ids[entity] ?? ['none'])).map((id) => JSON.stringify(id));
    case 'agentId':
      return optional(fc.constantFrom(...pools.ids.Agent!).map((id) => JSON.stringify(id)));
    case 'limit':
      return fc.option(fc.constantFrom('1', '3', '14', '0', '101'), { nil: undefined, freq: 2 });
    case 'label':
      return optional(fc.constantFrom('"persona"', '"human"', '"none"'));
    case 'similarTo':
      // The planner leaves similarTo to the resolver (a counted reason): rarely, so that most requests are
      // planned. These memories have no embedding, or are another organization's: both paths must refuse alike.
      return fc.oneof(
        { weight: 9, arbitrary: fc.constant(undefined) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(
              fc.constantFrom(...pools.ids.Memory!),
              fc.constantFrom('', ', minSimilarity: 0.5', ', minSimilarity: 2'),
            )
            .map(([id, bound]) => `{ memoryId: ${JSON.stringify(id)}${bound} }`),
        },
      );
    default:
      break;
  }
  if (isEnumType(type)) return optional(fc.constantFrom(...type.getValues().map((value) => value.name)));
  if (isListType(type)) {
    const item = getNamedType(type);
    if (isEnumType(item))
      return optional(
        fc
          .subarray(
            item.getValues().map((value) => value.name),
            { minLength: 1 },
          )
          .map((names) => `[${names.join(', ')}]`),
      );
    return fc.constant(undefined);
  }
  if (isInputObjectType(type)) {
    if (type.name === 'MetadataFilter') return fc.constant(undefined);
    const fields = Object.values(type.getFields()).map((field) =>
      argumentValue({ name: field.name, type: field.type }, pools, entity).map((value) =>
        value === undefined ? '' : `${field.name}: ${value}`,
      ),
    );
    return optional(fc.tuple(...fields).map((parts) => `{ ${parts.filter((part) => part !== '').join(', ')} }`));
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'Boolean':
        return optional(fc.constantFrom('true', 'false'));
      case 'Int':
        return optional(fc.constantFrom('0', '1', '3'));
      case 'String':
        return optional(fc.constantFrom('"persona"', '"fleet"', '"core"', '"tag"', '"x"'));
      case 'ID':
        return optional(fc.constantFrom(...Object.values(pools.ids).flat()).map((id) => JSON.stringify(id)));
      case 'DateTime':
        return optional(fc.constantFrom('"2020-01-01T00:00:00Z"', '"2100-01-01T00:00:00Z"'));
      default:
        return fc.constant(undefined);
    }
  }
  return fc.constant(undefined);
}

const PAGE = new Set(['first', 'last', 'after', 'before']);

/** A page of a connection: forwards, backwards or by default; now and then arguments that are refused. */
function pageArguments(pools: Pools): fc.Arbitrary<string[]> {
  const size = fc.constantFrom('0', '1', '2', '5', '30');
  const cursor = fc.constantFrom(...pools.cursors).map((value) => JSON.stringify(value));
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<string[]>([]) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.option(size, { nil: undefined }), fc.option(cursor, { nil: undefined }))
        .map(([first, after]) =>
          [first && `first: ${first}`, after && `after: ${after}`].filter((part): part is string => !!part),
        ),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.option(size, { nil: undefined }), fc.option(cursor, { nil: undefined }))
        .map(([last, before]) =>
          [last && `last: ${last}`, before && `before: ${before}`].filter((part): part is string => !!part),
        ),
    },
    { weight: 1, arbitrary: fc.tuple(size, cursor).map(([first, before]) => [`first: ${first}`, `before: ${before}`]) },
  );
}

function argumentsOf(field: GraphQLField<unknown, unknown>, pools: Pools, entity: string): fc.Arbitrary<string> {
  if (field.args.length === 0) return fc.constant('');
  const paged = field.args.some((arg) => arg.name === 'first');
  const others = field.args.filter((arg) => !PAGE.has(arg.name));
  return fc
    .tuple(
      paged ? pageArguments(pools) : fc.constant([]),
      ...others.map((arg) =>
        argumentValue(arg, pools, entity).map((value) => (value === undefined ? '' : `${arg.name}: ${value}`)),
      ),
    )
    .map(([page, ...parts]) => {
      const written = [...page, ...parts.filter((part) => part !== '')];
      return written.length > 0 ? `(${written.join(', ')})` : '';
    });
}

/** Connection types: those with edges and pageInfo. */
function isConnection(type: GraphQLObjectType): boolean {
  const fields = type.getFields();
  return 'edges' in fields && 'pageInfo' in fields;
}

const entityOf = (type: GraphQLObjectType) => type.name;

/** An edge's own leaf fields, beside cursor and node (QueryMemoriesConnectionEdge.similarity). */
function edgeLeaves(edge: GraphQLObjectType): string[] {
  return Object.values(edge.getFields())
    .filter((field) => field.name !== 'cursor' && field.name !== 'node' && isLeafType(getNamedType(field.type)))
    .map((field) => field.name);
}

/** A selection of `type`, `depth` levels below the root. */
function selectionOf(type: GraphQLObjectType, depth: number, pools: Pools): fc.Arbitrary<string> {
  if (isConnection(type)) {
    const edge = getNamedType(type.getFields().edges!.type) as GraphQLObjectType;
    const node = getNamedType(edge.getFields().node!.type) as GraphQLObjectType;
    const parts = [
      fc.option(
        selectionOf(node, depth, pools).map((inner) => `nodes { ${inner} }`),
        { nil: '' },
      ),
      fc.option(
        fc
          .tuple(fc.boolean(), fc.subarray(edgeLeaves(edge)), selectionOf(node, depth, pools))
          .map(([cursor, own, inner]) => `edges { ${cursor ? 'cursor ' : ''}${own.join(' ')} node { ${inner} } }`),
        { nil: '' },
      ),
      fc.option(
        fc
          .subarray(['hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor'], { minLength: 1 })
          .map((names) => `pageInfo { ${names.join(' ')} }`),
        { nil: '' },
      ),
      fc.option(fc.constant('totalCount'), { nil: '' }),
    ];
    return fc.tuple(...parts).map((chosen) => chosen.filter((part) => part !== '').join(' ') || 'totalCount');
  }
  const fields = Object.values(type.getFields()).filter((field) => {
    // A hit's score counts its recency from now(), which moves between the two requests.
    if (type.name === 'MemorySearchHit' && field.name !== 'memory' && field.name !== 'snippet') return false;
    const target = getNamedType(field.type);
    if (isLeafType(target)) return true;
    return depth < MAX_DEPTH && isObjectType(target);
  });
  const pick = fc.constantFrom(...fields).chain((field) => {
    const target = getNamedType(field.type);
    const args = argumentsOf(field, pools, entityOf(type));
    const sub = isObjectType(target)
      ? selectionOf(target, depth + 1, pools).map((inner) => ` { ${inner} }`)
      : fc.constant('');
    // Now and then under another field's name: a planned object must keep the two apart.
    const alias = fc.oneof(
      { arbitrary: fc.boolean(), weight: 9 },
      { arbitrary: fc.constantFrom(...fields.map((other) => other.name)), weight: 1 },
    );
    return fc.tuple(alias, args, sub).map(([as, written, inner]) => `${aliased(field.name, as)}${written}${inner}`);
  });
  return fc
    .tuple(
      fc.array(pick, { minLength: 1, maxLength: depth === 1 ? 6 : 3 }),
      fc.constantFrom('plain', 'plain', 'inline', 'skip', 'include', 'typename'),
    )
    .map(([picked, wrap]) => {
      const [first, ...rest] = picked;
      const body = rest.join(' ');
      if (wrap === 'inline') return `id ... on ${type.name} { ${first} } ${body}`;
      if (wrap === 'skip') return `id ${first} @skip(if: $on) ${body}`;
      if (wrap === 'include') return `id ${first} @include(if: $on) ${body}`;
      if (wrap === 'typename') return `__typename ${first} ${body}`;
      return `${first} ${body}`;
    });
}

function rootRequest(pools: Pools): fc.Arbitrary<string> {
  const query = schema.getQueryType()!.getFields();
  return fc.constantFrom(...Object.keys(ROOTS)).chain((name) => {
    const field = query[name]!;
    const type = getNamedType(field.type) as GraphQLObjectType;
    const entity = isConnection(type)
      ? (
          getNamedType(
            (getNamedType(type.getFields().edges!.type) as GraphQLObjectType).getFields().node!.type,
          ) as GraphQLObjectType
        ).name
      : type.name;
    return fc
      .tuple(argumentsOf(field, pools, entity), selectionOf(type, 1, pools), fc.boolean())
      .map(([args, selection, alias]) => `${aliased(name, alias)}${args} { ${selection} }`);
  });
}

/** The subscription fields, the type their selection is of, and the write that causes one of their events. */
const SUBSCRIPTIONS = {
  messageAdded: {
    type: 'Message',
    cause:
      'mutation ($agentId: ID!, $text: String!) { ' +
      'appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) { __typename } }',
  },
  memoryChanged: {
    type: 'MemoryChange',
    cause:
      'mutation ($agentId: ID!, $text: String!) { createMemory(input: { agentId: $agentId, content: $text, ' +
      'level: "core", scope: "user", memoryType: SEMANTIC }) { __typename } }',
  },
  blockChanged: {
    type: 'Block',
    cause:
      'mutation ($blockId: ID!, $text: String!) { updateBlock(id: $blockId, input: { value: $text }) { __typename } }',
  },
} as const;

/** A subscription to one of the demo agent's kinds of events, with a generated selection of its payload. */
function subscriptionRequest(pools: Pools, agentId: string) {
  return fc.constantFrom(...(Object.keys(SUBSCRIPTIONS) as Array<keyof typeof SUBSCRIPTIONS>)).chain((field) =>
    fc
      .tuple(selectionOf(schema.getType(SUBSCRIPTIONS[field].type) as GraphQLObjectType, 1, pools), fc.boolean())
      .map(([selection, alias]) => ({
        field,
        root: `${aliased(field, alias)}(agentId: ${JSON.stringify(agentId)}) { ${selection} }`,
      })),
  );
}

describe('the read planner answers as the general path does', () => {
  let app: TestApp;
  let general: GeneralPathServer;
  let demo: DemoData;
  const pools: Pools = { ids: {}, cursors: [] };

  beforeAll(async () => {
    app = await startTestApp('planner_agrees');
    demo = await app.seedDemo();
    const other = await app.seedDemo();
    await addAgentFleet(app.database.owner, demo, 12);
    const owner = app.database.owner;
    // Sub-millisecond instants, ties, shared blocks, deleted rows, history, JSON of every kind.
    await owner.$executeRawUnsafe(`UPDATE messages SET created_at = created_at + interval '987 microseconds'`);
    await owner.$executeRawUnsafe(`UPDATE agents
      SET created_at = (SELECT min(created_at) FROM agents WHERE id LIKE 'agent-fleet-%'), agent_type = 'fleet'
      WHERE id IN ('agent-fleet-003', 'agent-fleet-004')`);
    await owner.$executeRawUnsafe(
      `UPDATE agents SET metadata_ = '{"b": [1, 2.50, null], "n": 1e3}', name = NULL WHERE id = 'agent-fleet-006'`,
    );
    await owner.$executeRawUnsafe(`UPDATE agents
      SET is_deleted = true, deleted_at = now(), deleted_by_id = '${demo.userId}' WHERE id = 'agent-fleet-010'`);
    await owner.$executeRawUnsafe(`INSERT INTO blocks_agents (block_id, block_label, agent_id, organization_id)
      VALUES ('block-fleet-1-persona', 'persona', 'agent-fleet-002', '${demo.organizationId}')`);
    await owner.$executeRawUnsafe(`UPDATE blocks SET is_deleted = true WHERE id = 'block-fleet-2-human'`);
    await owner.$executeRawUnsafe(`UPDATE messages SET is_deleted = true WHERE id = 'message-fleet-1-11'`);
    await owner.$executeRawUnsafe(
      `UPDATE tools SET tags = '["tag", "x"]' WHERE organization_id = '${demo.organizationId}'`,
    );
    await owner.$executeRawUnsafe(`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, metadata, memory_type, scope, level,
        importance, created_at)
      SELECT 'memory-fleet-' || n, '${demo.organizationId}', '${demo.userId}', 'agent-fleet-00' || (n % 3),
        'fact ' || n, ('{"k": ' || n || '}')::jsonb, 'semantic', 'user', 'core', (n % 4) / 4.0,
        now() - n * interval '1 second'
      FROM generate_series(1, 9) n`);
    // Facts that change: a chain 3 → 2 → 1, a merge (5 and 6 → 4), one ended, one expired, one that will expire.
    await owner.$executeRawUnsafe(`UPDATE memories SET valid_from = created_at WHERE id LIKE 'memory-fleet-%'`);
    for (const [old, successor] of [
      ['3', '2'],
      ['2', '1'],
      ['5', '4'],
      ['6', '4'],
    ])
      await owner.$executeRawUnsafe(`UPDATE memories SET superseded_by_id = 'memory-fleet-${successor}',
        valid_until = (SELECT valid_from FROM memories WHERE id = 'memory-fleet-${successor}')
        WHERE id = 'memory-fleet-${old}'`);
    await owner.$executeRawUnsafe(`UPDATE memories SET valid_until = valid_from + interval '500 microseconds'
      WHERE id = 'memory-fleet-7'`);
    await owner.$executeRawUnsafe(
      `UPDATE memories SET expires_at = now() - interval '1 hour' WHERE id = 'memory-fleet-8'`,
    );
    await owner.$executeRawUnsafe(
      `UPDATE memories SET expires_at = now() + interval '1 day' WHERE id = 'memory-fleet-9'`,
    );
    await owner.$executeRawUnsafe(`ANALYZE`);
    for (const [query, variables] of [
      [
        'mutation ($id: ID!) { updateBlock(id: $id, input: { value: "changed" }) { __typename } }',
        { id: 'block-fleet-0-persona' },
      ],
      [
        'mutation ($id: ID!) { updateBlock(id: $id, input: { value: "changed again" }) { __typename } }',
        { id: 'block-fleet-0-persona' },
      ],
    ] as const) {
      const response = await app.graphqlUntyped(query, variables);
      expect(response.errors).toBeUndefined();
    }

    const ids = async (sql: string) => (await owner.$queryRawUnsafe<Array<{ id: string }>>(sql)).map((row) => row.id);
    pools.ids.Agent = ['agent-fleet-001', 'agent-fleet-006', 'agent-fleet-010', demo.agentId, other.agentId];
    pools.ids.Block = [
      'block-fleet-0-persona',
      'block-fleet-1-persona',
      'block-fleet-2-human',
      ...(await ids(`SELECT id FROM blocks WHERE organization_id = '${other.organizationId}' LIMIT 1`)),
    ];
    pools.ids.Tool = await ids(`SELECT id FROM tools ORDER BY id LIMIT 3`);
    pools.ids.User = [demo.userId, other.userId];
    pools.ids.Memory = [
      'memory-fleet-1',
      'memory-fleet-2',
      'memory-fleet-3',
      'memory-fleet-4',
      'memory-fleet-8',
      ...(await ids(`SELECT id FROM memories WHERE organization_id = '${other.organizationId}' LIMIT 1`)),
    ];
    const cursorOf = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');
    const sample = await ids(`SELECT id FROM (SELECT id FROM agents UNION ALL SELECT id FROM messages
      WHERE agent_id = 'agent-fleet-001' UNION ALL SELECT id FROM blocks UNION ALL SELECT id FROM memories UNION ALL
      SELECT id FROM block_history) s ORDER BY md5(id) LIMIT 24`);
    pools.cursors = [
      ...sample.map(cursorOf),
      cursorOf('agent-fleet-010'),
      cursorOf(other.agentId),
      cursorOf('agent-nobody'),
      'not a cursor',
    ];
    general = await startGeneralPathServer(app);
  }, 240_000);

  afterAll(async () => {
    await general?.close();
    await app?.close();
  });

  it("pages a relation from a cursor of another parent's rows as the general path does: empty", async () => {
    const cursorOf = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');
    const [message] = await app.database.owner.$queryRawUnsafe<Array<{ id: string }>>(
      `SELECT id FROM messages WHERE agent_id = 'agent-fleet-001' ORDER BY created_at LIMIT 1 OFFSET 3`,
    );
    for (const [field, id] of [
      ['messages', message!.id],
      ['memories', 'memory-fleet-3'],
      ['memories', 'memory-fleet-9'],
    ] as const) {
      for (const page of [
        `after: "${cursorOf(id)}"`,
        `before: "${cursorOf(id)}"`,
        `last: 2, before: "${cursorOf(id)}"`,
        `first: 1, after: "${cursorOf(id)}"`,
      ]) {
        const query = `{ agents { nodes { id ${field}(${page}) { edges { cursor node { id } } pageInfo {
          hasNextPage hasPreviousPage } } } } }`;
        const [fast, slow] = await general.both(demo.key, query, {});
        expect({ query, answer: fast }).toEqual({ query, answer: slow });
      }
    }
  });

  it("delivers blockChanged with its history paged from another block's version as a query does: empty", async () => {
    // A query and the planner answer none; so must the general path's subscription. The generated
    // comparison found it failing (seeds 28 and 39: Pothos, not told in the event's own context what
    // the block was loaded with, read the history again with a cursor not bound to the block); this
    // case alone, on a fresh subscription, passed before that was fixed too.
    const [attached] = await app.database.owner.$queryRawUnsafe<Array<{ block_id: string }>>(
      `SELECT block_id FROM blocks_agents WHERE agent_id = '${demo.agentId}' ORDER BY block_id LIMIT 1`,
    );
    const [foreign] = await app.database.owner.$queryRawUnsafe<Array<{ id: string }>>(
      `SELECT id FROM block_history WHERE block_id <> '${attached!.block_id}' AND version = 1 ORDER BY id LIMIT 1`,
    );
    const cause = (text: string) =>
      app.graphqlUntyped(SUBSCRIPTIONS.blockChanged.cause, { blockId: attached!.block_id, text });
    // Versions after the cursor's own number: what a cursor not bound to the block would page.
    for (const text of ['a version after', 'another version after']) expect((await cause(text)).errors).toBeUndefined();
    const cursor = Buffer.from(`GPC:S:${foreign!.id}`).toString('base64');
    const query = `subscription { blockChanged(agentId: "${demo.agentId}") {
      id history(last: 5, before: "${cursor}") { pageInfo { endCursor } nodes { version } } } }`;
    const document = { toString: () => query };
    const [fast, slow] = await Promise.all([app.url, general.url].map((url) => subscribe(url, demo.key, document, {})));
    try {
      expect((await cause('paged from elsewhere')).errors).toBeUndefined();
      const [fastEvent, slowEvent] = await Promise.all([fast!.next(), slow!.next()]);
      expect(fastEvent?.data).toEqual({
        blockChanged: { id: attached!.block_id, history: { pageInfo: { endCursor: null }, nodes: [] } },
      });
      expect(JSON.stringify(slowEvent)).toEqual(JSON.stringify(fastEvent));
    } finally {
      fast!.close();
      slow!.close();
    }
  });

  it('delivers memoryChanged as the general path does when aliases of memory share a response key', async () => {
    // One object planned for both aliases would answer `old.updatedAt` with `memory.updatedAt`'s
    // instant, which the scope's enum cannot serialize (an INTERNAL_SERVER_ERROR): seed 19.
    const query = `subscription { memoryChanged(agentId: "${demo.agentId}") {
      kind memory { updatedAt } old: memory { updatedAt: scope } } }`;
    const document = { toString: () => query };
    const [fast, slow] = await Promise.all([app.url, general.url].map((url) => subscribe(url, demo.key, document, {})));
    try {
      const caused = await app.graphqlUntyped(SUBSCRIPTIONS.memoryChanged.cause, {
        agentId: demo.agentId,
        text: 'aliases of memory',
      });
      expect(caused.errors).toBeUndefined();
      const [fastEvent, slowEvent] = await Promise.all([fast!.next(), slow!.next()]);
      expect(fastEvent?.errors).toBeUndefined();
      expect(fastEvent?.data).toMatchObject({ memoryChanged: { old: { updatedAt: expect.any(String) } } });
      expect(JSON.stringify(fastEvent)).toEqual(JSON.stringify(slowEvent));
    } finally {
      fast!.close();
      slow!.close();
    }
  });

  it("delivers a subscription's events as the general path does, for generated selections", async () => {
    const [attached] = await app.database.owner.$queryRawUnsafe<Array<{ block_id: string }>>(
      `SELECT block_id FROM blocks_agents WHERE agent_id = '${demo.agentId}' ORDER BY block_id LIMIT 1`,
    );
    let run = 0;
    let delivered = 0;
    await fc.assert(
      fc.asyncProperty(subscriptionRequest(pools, demo.agentId), fc.boolean(), async ({ field, root }, on) => {
        // A subscription may not declare a variable it does not use.
        const query = `subscription ${root.includes('$on') ? '($on: Boolean!) ' : ''}{ ${root} }`;
        const document = { toString: () => query };
        const [fast, slow] = await Promise.all(
          [app.url, general.url].map((url) => subscribe(url, demo.key, document, { on })),
        );
        try {
          expect({ query, status: fast!.status }).toEqual({ query, status: slow!.status });
          if (fast!.status !== 200) return;
          run += 1;
          const text = `planned event ${run}`;
          const caused = await app.graphqlUntyped(SUBSCRIPTIONS[field].cause, {
            agentId: demo.agentId,
            blockId: attached!.block_id,
            text,
          });
          expect(caused.errors).toBeUndefined();
          const [fastEvent, slowEvent] = await Promise.all([fast!.next(), slow!.next()]);
          // The same bytes, except where a relation connection's arguments are refused two or more
          // levels down: the general path refuses at the relation whose Prisma query would load
          // the connection, the planner at the connection itself (each with the same message,
          // code and data).
          const refusal = (event: typeof fastEvent) =>
            event?.errors?.length
              ? JSON.stringify({
                  data: event.data,
                  errors: event.errors.map(({ message, extensions }) => [message, extensions]),
                })
              : JSON.stringify(event);
          expect({ query, on, event: refusal(fastEvent) }).toEqual({ query, on, event: refusal(slowEvent) });
          if (fastEvent?.data) delivered += 1;
        } finally {
          fast!.close();
          slow!.close();
        }
      }),
      { numRuns: 80, seed: propertySeed('planner-subscriptions') },
    );
    // Many were valid subscriptions whose event was delivered: the planned reads are what was compared.
    expect(delivered).toBeGreaterThan(30);
  });

  it('gives the same bytes for generated selections over the whole schema', async () => {
    let planned = 0;
    // Requests answered by the response's text (src/planner/response-text.ts).
    let asText = 0;
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(rootRequest(pools), { minLength: 1, maxLength: 2 }),
        fc.boolean(),
        async (roots, on) => {
          const query = `query ($on: Boolean!) { ${roots.join(' ')} }`;
          const {
            result: [fast, slow],
            statements,
          } = await app.countStatements(() => general.both(demo.key, query, { on }));
          expect({ query, on, answer: fast }).toEqual({ query, on, answer: slow });
          if (!fast.includes('"GRAPHQL_VALIDATION_FAILED"')) valid += 1;
          if (statements.some((sql) => sql.startsWith('SELECT /* planned'))) planned += 1;
          if (statements.some((sql) => sql.includes(' as text */'))) asText += 1;
        },
      ),
      { numRuns: 250, seed: propertySeed('planner') },
    );
    // Most were valid requests, and many of those planned: the planner is what was compared.
    expect(valid).toBeGreaterThan(100);
    expect(planned).toBeGreaterThan(0.4 * valid);
    // And about half of those answered by their text (40 to 51 of 81 to 94 in five runs).
    expect(asText).toBeGreaterThan(0.25 * planned);
  });
});
