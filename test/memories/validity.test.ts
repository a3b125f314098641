import { loadSettings } from '../../src/config/settings';
import { withOrganization } from '../../src/db/row-level-security';
import type { DemoData } from '../../src/demo/seed';
import { createLogger } from '../../src/logger';
import { createExpiredMemorySweeper, sweepExpiredMemories } from '../../src/memories/expiry';
import { memorySearchStatement } from '../../src/memories/search';
import { graphql } from '../generated';
import type { CreateMemoryInput } from '../generated/graphql';
import { subscribe } from '../support/live-client';
import { type GeneralPathServer, startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Memories that change (issue 17), over HTTP: a user moves Paris → Lyon → Berlin; recall sees the
 * present, `asOf` the past, `includeInvalid` everything; concurrent writers never fork a chain;
 * expired memories leave every read at their expiresAt; bad input is a typed error and stores
 * nothing.
 */

const Create = graphql(`
  mutation ValidityCreate($input: CreateMemoryInput!) {
    createMemory(input: $input) {
      __typename
      ... on Error { code field message }
      ... on AlreadySupersededError { supersededById }
      ... on MemoryPayload { deduplicated memory { id validFrom validUntil expiresAt supersedes { id } } }
    }
  }
`);
const AgentMemories = `query AgentMemories($id: ID!) {
  agent(id: $id) {
    memoryCount
    memoryStats { total byType { memoryType count } }
    now: memories { totalCount nodes { content } }
    past: memories(asOf: "2021-06-01T00:00:00Z") { totalCount nodes { content } }
    all: memories(includeInvalid: true, first: 2) { totalCount nodes { content validUntil } }
  }
}`;
const Supersede = graphql(`
  mutation ValiditySupersede($id: ID!, $input: SupersedeMemoryInput!) {
    supersedeMemory(id: $id, input: $input) {
      __typename
      ... on Error { code field message }
      ... on AlreadySupersededError { memoryId supersededById }
      ... on MemoryPayload { memory { id content agentId scope validFrom supersedes { id validUntil } } }
    }
  }
`);
const Invalidate = graphql(`
  mutation ValidityInvalidate($id: ID!, $at: DateTime, $reason: String) {
    invalidateMemory(id: $id, at: $at, reason: $reason) {
      __typename
      ... on Error { code field message }
      ... on AlreadySupersededError { supersededById }
      ... on MemoryPayload { memory { id validUntil } }
    }
  }
`);
const List = graphql(`
  query ValidityList($agentId: ID!, $asOf: DateTime, $includeInvalid: Boolean) {
    memories(
      filter: { agentId: $agentId }
      asOf: $asOf
      includeInvalid: $includeInvalid
      orderBy: { field: CREATED_AT, direction: ASC }
      first: 100
      track: false
    ) {
      totalCount
      nodes { id content validFrom validUntil supersededBy { id content } }
    }
  }
`);
const Search = graphql(`
  query ValiditySearch($query: String!, $agentId: ID!, $asOf: DateTime, $includeInvalid: Boolean) {
    searchMemories(
      query: $query
      filter: { agentId: $agentId }
      asOf: $asOf
      includeInvalid: $includeInvalid
      limit: 50
      track: false
    ) {
      breakdown { recency }
      memory { id content }
    }
  }
`);
const RecencyOf = graphql(`
  query ValidityRecency($query: String!, $agentId: ID!, $asOf: DateTime) {
    searchMemories(query: $query, filter: { agentId: $agentId }, asOf: $asOf, limit: 5, track: false) {
      breakdown { recency }
      memory { id }
    }
  }
`);
const One = graphql(`
  query ValidityOne($id: ID!) { memory(id: $id, track: false) { id content } }
`);
const History = graphql(`
  query ValidityHistory($id: ID!) { memory(id: $id, track: false) { history { nodes { event reason changedFields } } } }
`);
const Trash = graphql(`
  query ValidityTrash { memories(deleted: true, first: 100) { nodes { id } } }
`);

const Changes = graphql(`
  subscription ValidityChanges($agentId: ID!) { memoryChanged(agentId: $agentId) { kind memoryId memory { content } } }
`);
const ByMetadata = graphql(`
  query ValidityByMetadata($agentId: ID!, $source: JSON!, $asOf: DateTime) {
    memories(filter: { agentId: $agentId, metadata: { path: "source", eq: $source } }, asOf: $asOf, track: false) {
      nodes { content }
    }
    searchMemories(query: "lives", filter: { agentId: $agentId, metadata: { path: "source", eq: $source } },
      asOf: $asOf, track: false) {
      memory { content }
    }
  }
`);

const CHAIN = `{ id content validFrom validUntil supersededById supersededBy { id } supersedes { id }
  lineage { id content } }`;

describe('memories that change: validity, supersession, expiry', () => {
  let app: TestApp;
  let general: GeneralPathServer;
  let own: DemoData;
  let other: DemoData;
  let agents = 0;

  beforeAll(async () => {
    // The background sweep is off: the tests sweep when they mean to (the last one runs sweepers of its own).
    app = await startTestApp('memory_validity', { memoryExpirySweepSeconds: 0 });
    own = await app.seedDemo();
    other = await app.seedDemo();
    general = await startGeneralPathServer(app);
  });
  afterAll(async () => {
    await general?.close();
    await app?.close();
  });

  /** A fresh agent of `owner`'s (the caller's by default), so that each test starts with no memories. */
  async function newAgent(owner: DemoData = own): Promise<string> {
    agents += 1;
    const id = `agent-validity-${agents}`;
    await app.database.owner.agent.create({ data: { id, organizationId: owner.organizationId, name: id } });
    return id;
  }
  const fact = (agentId: string, content: string, extra: Partial<CreateMemoryInput> = {}): CreateMemoryInput => ({
    agentId,
    content,
    memoryType: 'FACTUAL',
    scope: 'user',
    level: 'core',
    ...extra,
  });
  async function create(input: CreateMemoryInput): Promise<string> {
    const created = (await app.graphql(Create, { input })).data!.createMemory;
    if (created.__typename !== 'MemoryPayload') throw new Error(JSON.stringify(created));
    return created.memory.id;
  }
  async function supersede(id: string, input: { content: string; validFrom?: string }): Promise<string> {
    const replaced = (await app.graphql(Supersede, { id, input })).data!.supersedeMemory;
    if (replaced.__typename !== 'MemoryPayload') throw new Error(JSON.stringify(replaced));
    return replaced.memory.id;
  }
  const listed = async (agentId: string, extra: { asOf?: string; includeInvalid?: boolean } = {}) => {
    const response = await app.graphql(List, { agentId, ...extra });
    expect(response.errors).toBeUndefined();
    return response.data!.memories;
  };
  const searched = async (agentId: string, extra: { asOf?: string; includeInvalid?: boolean } = {}) => {
    const response = await app.graphql(Search, { query: 'lives', agentId, ...extra });
    expect(response.errors).toBeUndefined();
    return response.data!.searchMemories.map((hit) => hit.memory.content);
  };
  const memoryCount = () => app.database.owner.memory.count();
  const historyCount = () => app.database.owner.memoryHistory.count();

  it('tells the story of a move: Paris → Lyon → Berlin, now, as of each time, and all of it', async () => {
    const agentId = await newAgent();
    const paris = await create(fact(agentId, 'The user lives in Paris', { validFrom: '2020-01-01T00:00:00.000Z' }));
    const lyon = await supersede(paris, { content: 'The user lives in Lyon', validFrom: '2022-01-01T00:00:00.000Z' });
    const berlin = await supersede(lyon, {
      content: 'The user lives in Berlin',
      validFrom: '2024-01-01T00:00:00.000Z',
    });

    // Now: Berlin alone, in the list and in search.
    expect((await listed(agentId)).nodes.map((node) => node.content)).toEqual(['The user lives in Berlin']);
    expect((await listed(agentId)).totalCount).toBe(1);
    expect(await searched(agentId)).toEqual(['The user lives in Berlin']);

    // As of any moment: the city of that time.
    for (const [asOf, city] of [
      ['2019-06-01T00:00:00Z', []],
      ['2021-06-01T00:00:00Z', ['The user lives in Paris']],
      ['2022-01-01T00:00:00Z', ['The user lives in Lyon']],
      ['2023-12-31T23:59:59.999Z', ['The user lives in Lyon']],
      ['2025-06-01T00:00:00Z', ['The user lives in Berlin']],
    ] as const) {
      expect({ asOf, list: (await listed(agentId, { asOf })).nodes.map((node) => node.content) }).toEqual({
        asOf,
        list: city,
      });
      expect({ asOf, search: await searched(agentId, { asOf }) }).toEqual({ asOf, search: city });
    }

    // Everything, in order, each with its period and its successor.
    const all = await listed(agentId, { includeInvalid: true });
    expect(all.nodes).toEqual([
      {
        id: paris,
        content: 'The user lives in Paris',
        validFrom: '2020-01-01T00:00:00.000Z',
        validUntil: '2022-01-01T00:00:00.000Z',
        supersededBy: { id: lyon, content: 'The user lives in Lyon' },
      },
      {
        id: lyon,
        content: 'The user lives in Lyon',
        validFrom: '2022-01-01T00:00:00.000Z',
        validUntil: '2024-01-01T00:00:00.000Z',
        supersededBy: { id: berlin, content: 'The user lives in Berlin' },
      },
      {
        id: berlin,
        content: 'The user lives in Berlin',
        validFrom: '2024-01-01T00:00:00.000Z',
        validUntil: null,
        supersededBy: null,
      },
    ]);
    expect((await searched(agentId, { includeInvalid: true })).sort()).toEqual([
      'The user lives in Berlin',
      'The user lives in Lyon',
      'The user lives in Paris',
    ]);
    // asOf with includeInvalid: everything, recency as of then.
    const asOf = '2021-06-01T00:00:00Z';
    expect((await listed(agentId, { asOf, includeInvalid: true })).nodes).toHaveLength(3);
    expect(await searched(agentId, { asOf, includeInvalid: true })).toHaveLength(3);

    // The chain as relations, the same on the read planner and on the general path.
    for (const id of [paris, lyon, berlin]) {
      const query = `{ memory(id: "${id}", track: false) ${CHAIN} }`;
      const [fast, slow] = await general.both(own.key, query, {});
      expect(fast).toEqual(slow);
      const memory = JSON.parse(fast.slice(fast.indexOf(' ') + 1)).data.memory;
      expect(memory.lineage.map((link: { id: string }) => link.id)).toEqual([paris, lyon, berlin]);
    }
    const listQuery = `{ memories(filter: { agentId: "${agentId}" }, includeInvalid: true, track: false) {
      nodes ${CHAIN} } }`;
    const [fastList, slowList] = await general.both(own.key, listQuery, {});
    expect(fastList).toEqual(slowList);

    // Both sides of each supersession are in the history.
    const history = async (id: string) =>
      (await app.graphql(History, { id })).data!.memory!.history.nodes.map((node) => node.event);
    expect(await history(paris)).toEqual(['SUPERSEDE', 'CREATE']);
    expect(await history(lyon)).toEqual(['SUPERSEDE', 'CREATE']);
    expect(await history(berlin)).toEqual(['CREATE']);

    // Storing "Paris" again after the move is a new fact: the superseded one is not revived.
    const again = (await app.graphql(Create, { input: fact(agentId, 'The user lives in Paris') })).data!.createMemory;
    expect(again).toMatchObject({ __typename: 'MemoryPayload', deduplicated: false });
    if (again.__typename === 'MemoryPayload') expect(again.memory.id).not.toBe(paris);
  });

  it('inherits what it supersedes, supersedes several at once, and ends a fact without a successor', async () => {
    const agentId = await newAgent();
    const old = await create(fact(agentId, 'Works at Acme', { scope: 'work' }));
    const replaced = (await app.graphql(Supersede, { id: old, input: { content: 'Works at Initech' } })).data!
      .supersedeMemory;
    expect(replaced).toMatchObject({ memory: { agentId, scope: 'work', supersedes: [{ id: old }] } });

    const first = await create(fact(agentId, 'Likes tea'));
    const second = await create(fact(agentId, 'Likes coffee'));
    const both = (
      await app.graphql(Create, { input: fact(agentId, 'Likes tea and coffee', { supersedes: [first, second] }) })
    ).data!.createMemory;
    expect(both.__typename).toBe('MemoryPayload');
    if (both.__typename === 'MemoryPayload')
      expect(both.memory.supersedes.map((memory) => memory.id).sort()).toEqual([first, second].sort());

    const hobby = await create(fact(agentId, 'Plays chess'));
    const ended = (await app.graphql(Invalidate, { id: hobby, reason: 'gave it up' })).data!.invalidateMemory;
    expect(ended).toMatchObject({ __typename: 'MemoryPayload', memory: { id: hobby, validUntil: expect.any(String) } });
    expect((await listed(agentId)).nodes.map((node) => node.content)).toEqual([
      'Works at Initech',
      'Likes tea and coffee',
    ]);
    const entries = (await app.graphql(History, { id: hobby })).data!.memory!.history.nodes;
    expect(entries[0]).toMatchObject({ event: 'INVALIDATE', reason: 'gave it up', changedFields: ['validUntil'] });
    // Ended once: a second time is a CONFLICT.
    expect((await app.graphql(Invalidate, { id: hobby })).data!.invalidateMemory).toMatchObject({
      code: 'CONFLICT',
      field: ['id'],
    });
  });

  it('gives one winner to two writers superseding the same memory, and the other a CONFLICT naming it', async () => {
    const agentId = await newAgent();
    const paris = await create(fact(agentId, 'The user lives in Paris'));
    const answers = await Promise.all(
      ['Lyon', 'Marseille'].map((city) =>
        app.graphqlAs(own.key, Supersede, { id: paris, input: { content: `The user lives in ${city}` } }),
      ),
    );
    const outcomes = answers.map((answer) => answer.data!.supersedeMemory);
    const won = outcomes.filter((outcome) => outcome.__typename === 'MemoryPayload');
    const lost = outcomes.filter((outcome) => outcome.__typename === 'AlreadySupersededError');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = won[0]!.__typename === 'MemoryPayload' ? won[0]!.memory.id : '';
    expect(lost[0]).toMatchObject({ code: 'CONFLICT', field: ['id'], memoryId: paris, supersededById: winner });
    expect((await listed(agentId, { includeInvalid: true })).totalCount).toBe(2);
  });

  it('keeps exactly one valid fact at every instant under 8 concurrent writers', async () => {
    const agentId = await newAgent();
    const start = await create(fact(agentId, 'The user lives in city 0'));
    const namedWinners: string[] = [];
    const writer = async (n: number) => {
      // Each supersedes what it believes current; a CONFLICT names the newer fact, which it supersedes instead.
      let head = start;
      for (;;) {
        const answer = (
          await app.graphqlAs(own.key, Supersede, { id: head, input: { content: `The user lives in city ${n}` } })
        ).data!.supersedeMemory;
        if (answer.__typename === 'MemoryPayload') return answer.memory.id;
        if (answer.__typename !== 'AlreadySupersededError') throw new Error(JSON.stringify(answer));
        namedWinners.push(answer.supersededById);
        head = answer.supersededById;
      }
    };
    const written = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(writer));
    expect(new Set(written).size).toBe(8);

    const chain = (await listed(agentId, { includeInvalid: true })).nodes.sort((a, b) =>
      a.validFrom === b.validFrom ? 0 : a.validFrom < b.validFrom ? -1 : 1,
    );
    expect(chain).toHaveLength(9);
    // A line, not a tree: each fact is superseded by the next, ending where the next begins.
    chain.forEach((memory, index) => {
      const next = chain[index + 1];
      expect(memory.supersededBy?.id ?? null).toBe(next?.id ?? null);
      expect(memory.validUntil).toBe(next?.validFrom ?? null);
    });
    // Every CONFLICT named a fact of the chain, one that had won.
    const ids = new Set(chain.map((memory) => memory.id));
    expect(namedWinners.filter((id) => !ids.has(id))).toEqual([]);
    // At every instant where the chain changes, and just before, exactly one fact holds.
    for (const memory of chain) {
      for (const offset of [0, -1]) {
        const asOf = new Date(Date.parse(memory.validFrom) + offset).toISOString();
        const facts = (await listed(agentId, { asOf })).nodes;
        if (memory === chain[0] && offset === -1) expect(facts).toHaveLength(0);
        else expect({ asOf, facts: facts.length }).toEqual({ asOf, facts: 1 });
      }
    }
    expect((await listed(agentId)).nodes.map((node) => node.id)).toEqual([chain[8]!.id]);
  });

  it('stops returning a memory at its expiresAt, to a search begun before too, then sweeps it away', async () => {
    const agentId = await newAgent();
    const expiresAt = new Date(Date.now() + 1500);
    const fleeting = await create(fact(agentId, 'The user lives in a hotel', { expiresAt: expiresAt.toISOString() }));
    expect(await searched(agentId)).toEqual(['The user lives in a hotel']);

    // A search whose transaction began before the expiry, run after it: its clock is the row's, not the transaction's.
    const search = memorySearchStatement({
      organizationId: own.organizationId,
      mode: 'TEXT',
      query: 'hotel',
      limit: 10,
      ranking: loadSettings({}).ranking,
      filter: { agentId },
    });
    const late = await withOrganization(own.organizationId, () =>
      app.database.prisma.$transaction(async (tx) => {
        const before = await tx.$queryRawUnsafe<Array<{ id: string }>>(search.text, ...search.values);
        while (Date.now() <= expiresAt.getTime() + 50) await new Promise((resolve) => setTimeout(resolve, 100));
        const after = await tx.$queryRawUnsafe<Array<{ id: string }>>(search.text, ...search.values);
        return { before: before.map((row) => row.id), after: after.map((row) => row.id) };
      }),
    );
    expect(late).toEqual({ before: [fleeting], after: [] });

    // Every read, without any sweep having run.
    expect(await app.database.owner.memory.count({ where: { id: fleeting, isDeleted: false } })).toBe(1);
    expect(await searched(agentId)).toEqual([]);
    expect(await searched(agentId, { includeInvalid: true })).toEqual([]);
    expect((await listed(agentId, { includeInvalid: true })).nodes).toEqual([]);
    expect((await app.graphql(One, { id: fleeting })).data!.memory).toBeNull();

    // The sweep moves it to the trash, with its history, once.
    expect(await sweepExpiredMemories(app.database.prisma, app.live, own.organizationId, 1)).toBe(1);
    expect(await sweepExpiredMemories(app.database.prisma, app.live, own.organizationId)).toBe(0);
    expect((await app.graphql(Trash, {})).data!.memories.nodes.map((node) => node.id)).toContain(fleeting);
    const events = await app.database.owner.memoryHistory.findMany({
      where: { memoryId: fleeting },
      orderBy: { seq: 'desc' },
    });
    expect(events.map((event) => event.event)).toEqual(['expire', 'create']);
  });

  it("publishes SUPERSEDED, INVALIDATED and EXPIRED to the agent's subscribers", async () => {
    const agentId = await newAgent();
    const live = await subscribe(app.url, own.key, Changes, { agentId });
    const paris = await create(fact(agentId, 'The user lives in Paris'));
    const lyon = await supersede(paris, { content: 'The user lives in Lyon' });
    const chess = await create(fact(agentId, 'Plays chess'));
    expect((await app.graphql(Invalidate, { id: chess })).data!.invalidateMemory.__typename).toBe('MemoryPayload');
    const expiresAt = new Date(Date.now() + 1000);
    const hotel = await create(fact(agentId, 'Stays at a hotel', { expiresAt: expiresAt.toISOString() }));
    while (Date.now() <= expiresAt.getTime() + 50) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await sweepExpiredMemories(app.database.prisma, app.live, own.organizationId)).toBe(1);

    const received = [];
    for (let index = 0; index < 7; index += 1) received.push((await live.next())?.data?.memoryChanged);
    live.close();
    expect(received).toEqual([
      { kind: 'CREATED', memoryId: paris, memory: { content: 'The user lives in Paris' } },
      { kind: 'CREATED', memoryId: lyon, memory: { content: 'The user lives in Lyon' } },
      { kind: 'SUPERSEDED', memoryId: paris, memory: { content: 'The user lives in Paris' } },
      { kind: 'CREATED', memoryId: chess, memory: { content: 'Plays chess' } },
      { kind: 'INVALIDATED', memoryId: chess, memory: { content: 'Plays chess' } },
      { kind: 'CREATED', memoryId: hotel, memory: { content: 'Stays at a hotel' } },
      { kind: 'EXPIRED', memoryId: hotel, memory: { content: 'Stays at a hotel' } },
    ]);
  });

  it("computes the score's recency as of asOf, and as of now without it", async () => {
    const agentId = await newAgent();
    const id = await create(fact(agentId, 'The user lives in Porto'));
    // Created (and valid from) 10 days ago, never accessed: recency counts from the creation.
    const day = 86_400_000;
    const created = new Date(Math.floor(Date.now() / 1000) * 1000 - 10 * day);
    await app.database.owner.memory.update({
      where: { id },
      data: { createdAt: created, validFrom: created, lastAccessed: null },
    });
    const halfLife = loadSettings({}).ranking.recencyHalfLifeDays;
    /** recency = 0.5 ^ (age / half-life), the age in days at `at` (src/memories/ranking.ts). */
    const expected = (at: number) => 0.5 ** ((at - created.getTime()) / day / halfLife);
    const recency = async (query: string, asOf?: string) => {
      const response = await app.graphql(RecencyOf, { query, agentId, asOf });
      expect(response.errors).toBeUndefined();
      const hits = response.data!.searchMemories;
      expect(hits.map((hit) => hit.memory.id)).toEqual([id]);
      return hits[0]!.breakdown.recency;
    };

    // Two instants, two recencies, each the formula's at that instant: by the words, and by near words.
    for (const query of ['Porto', 'Portto']) {
      for (const days of [2, 7]) {
        const asOf = new Date(created.getTime() + days * day);
        expect({ query, days, recency: await recency(query, asOf.toISOString()) }).toEqual({
          query,
          days,
          recency: expect.closeTo(expected(asOf.getTime()), 12),
        });
      }
      expect(expected(created.getTime() + 2 * day)).toBeGreaterThan(expected(created.getTime() + 7 * day) + 0.05);
    }
    // The same on the general path as on the read planner.
    const asOf = new Date(created.getTime() + 2 * day).toISOString();
    const [fast, slow] = await general.both(own.key, RecencyOf.toString(), { query: 'Porto', agentId, asOf });
    expect(fast).toEqual(slow);

    // Without asOf: as of now, between the clock before and after the search (10 days: 0.79 at a 30-day half-life).
    const before = Date.now();
    const now = await recency('Porto');
    const after = Date.now();
    expect(now).toBeLessThanOrEqual(expected(before) + 1e-12);
    expect(now).toBeGreaterThanOrEqual(expected(after) - 1e-12);
  });

  it('combines metadata filters with validity', async () => {
    const agentId = await newAgent();
    const chat = await create(
      fact(agentId, 'The user lives in Paris', { metadata: { source: 'chat' }, validFrom: '2020-01-01T00:00:00Z' }),
    );
    await create(fact(agentId, 'The user lives in Rome', { metadata: { source: 'email' } }));
    await supersede(chat, { content: 'The user lives in Lyon', validFrom: '2022-01-01T00:00:00Z' });
    const read = async (asOf?: string) => {
      const data = (await app.graphql(ByMetadata, { agentId, source: 'chat', asOf })).data!;
      return [data.memories.nodes.map((node) => node.content), data.searchMemories.map((hit) => hit.memory.content)];
    };
    // The successor inherited the metadata: the filter finds it now, and the old fact then.
    expect(await read()).toEqual([['The user lives in Lyon'], ['The user lives in Lyon']]);
    expect(await read('2021-01-01T00:00:00Z')).toEqual([['The user lives in Paris'], ['The user lives in Paris']]);
  });

  it('refuses bad input with a typed error naming the field, and stores nothing', async () => {
    const agentId = await newAgent();
    const paris = await create(fact(agentId, 'The user lives in Paris', { validFrom: '2020-01-01T00:00:00.000Z' }));
    const lyon = await supersede(paris, { content: 'The user lives in Lyon' });
    const elsewhere = await newAgent(other);
    const foreign = await app.database.owner.memory.create({
      data: {
        id: 'memory-validity-foreign',
        organizationId: other.organizationId,
        userId: other.userId,
        agentId: elsewhere,
        content: 'Not yours',
        memoryType: 'factual',
        scope: 'user',
        level: 'core',
      },
    });
    const memories = await memoryCount();
    const entries = await historyCount();

    // Another organization's memory: word for word what an unknown id gets.
    const foreignAnswer = (await app.graphql(Supersede, { id: foreign.id, input: { content: 'x' } })).data!
      .supersedeMemory;
    const unknownAnswer = (await app.graphql(Supersede, { id: 'memory-none', input: { content: 'x' } })).data!
      .supersedeMemory;
    expect(foreignAnswer).toMatchObject({ code: 'NOT_FOUND', field: ['id'] });
    expect(unknownAnswer).toMatchObject({ code: 'NOT_FOUND', field: ['id'] });
    if (foreignAnswer.__typename === 'NotFoundError' && unknownAnswer.__typename === 'NotFoundError')
      expect(foreignAnswer.message.replace(foreign.id, 'ID')).toBe(unknownAnswer.message.replace('memory-none', 'ID'));
    expect(
      (await app.graphql(Create, { input: fact(agentId, 'x', { supersedes: [foreign.id] }) })).data!.createMemory,
    ).toMatchObject({ code: 'NOT_FOUND', field: ['input', 'supersedes', '0'] });
    expect((await app.graphql(Invalidate, { id: foreign.id })).data!.invalidateMemory).toMatchObject({
      code: 'NOT_FOUND',
      field: ['id'],
    });

    // Already superseded: a CONFLICT that names its successor.
    expect(
      (await app.graphql(Supersede, { id: paris, input: { content: 'The user lives in Nice' } })).data!.supersedeMemory,
    ).toMatchObject({
      __typename: 'AlreadySupersededError',
      code: 'CONFLICT',
      field: ['id'],
      supersededById: lyon,
    });
    expect(
      (await app.graphql(Create, { input: fact(agentId, 'Nice', { supersedes: [lyon, paris] }) })).data!.createMemory,
    ).toMatchObject({ code: 'CONFLICT', field: ['input', 'supersedes', '1'], supersededById: lyon });
    expect((await app.graphql(Invalidate, { id: paris })).data!.invalidateMemory).toMatchObject({
      code: 'CONFLICT',
      supersededById: lyon,
    });

    // A period that ends before it begins; a successor that begins before what it supersedes.
    expect(
      (
        await app.graphql(Create, {
          input: fact(agentId, 'Was in Rome', {
            validFrom: '2021-01-01T00:00:00Z',
            validUntil: '2020-01-01T00:00:00Z',
          }),
        })
      ).data!.createMemory,
    ).toMatchObject({ code: 'VALIDATION', field: ['input', 'validUntil'] });
    expect(
      (await app.graphql(Create, { input: fact(agentId, 'Was in Rome', { validUntil: '2001-01-01T00:00:00Z' }) })).data!
        .createMemory,
    ).toMatchObject({ code: 'VALIDATION', field: ['input', 'validUntil'] });
    expect(
      (await app.graphql(Invalidate, { id: lyon, at: '2019-01-01T00:00:00Z' })).data!.invalidateMemory,
    ).toMatchObject({
      code: 'VALIDATION',
      field: ['at'],
    });
    expect(
      (await app.graphql(Supersede, { id: lyon, input: { content: 'Nice', validFrom: '2019-01-01T00:00:00Z' } })).data!
        .supersedeMemory,
    ).toMatchObject({ code: 'VALIDATION', field: ['input', 'validFrom'] });
    expect(
      (await app.graphql(Create, { input: fact(agentId, 'Gone', { expiresAt: '2001-01-01T00:00:00Z' }) })).data!
        .createMemory,
    ).toMatchObject({ code: 'VALIDATION', field: ['input', 'expiresAt'] });
    expect(
      (await app.graphql(Create, { input: fact(agentId, 'Twice', { supersedes: [lyon, lyon] }) })).data!.createMemory,
    ).toMatchObject({ code: 'VALIDATION', field: ['input', 'supersedes', '1'] });

    // asOf in the year 10000.
    const far = await app.graphql(List, { agentId, asOf: '10000-01-01T00:00:00Z' });
    expect(far.status).toBe(400);
    expect(far.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field: ['$asOf'] });
    const inline = await app.graphqlUntyped(
      `{ searchMemories(query: "lives", asOf: "+010000-01-01T00:00:00Z") { score } }`,
    );
    expect(inline.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['asOf'] });

    // A cycle, or a successor of another organization: the database refuses them, whoever writes.
    const write = (sql: string) =>
      withOrganization(own.organizationId, () => app.database.prisma.$executeRawUnsafe(sql));
    await expect(write(`UPDATE memories SET superseded_by_id = '${lyon}' WHERE id = '${lyon}'`)).rejects.toThrow(
      /memories_supersession_acyclic|supersede itself/,
    );
    await expect(
      write(`UPDATE memories SET superseded_by_id = '${lyon}', valid_until = now() WHERE id = '${lyon}'`),
    ).rejects.toThrow(/supersede itself/);
    const head = await create(fact(agentId, 'Head of a chain'));
    const tail = await supersede(head, { content: 'Tail of a chain' });
    await expect(write(`UPDATE memories SET superseded_by_id = '${head}' WHERE id = '${tail}'`)).rejects.toThrow(
      /supersede itself/,
    );
    await expect(
      app.database.owner.$executeRawUnsafe(
        `UPDATE memories SET superseded_by_id = '${foreign.id}' WHERE id = '${tail}'`,
      ),
    ).rejects.toThrow(/not a memory of its organization/);
    await expect(
      write(`UPDATE memories SET valid_until = valid_from - interval '1 day' WHERE id = '${tail}'`),
    ).rejects.toThrow(/before it became valid/);

    // Nothing of the refused writes was stored (the chain made for the cycle aside).
    expect(await memoryCount()).toBe(memories + 2);
    expect(await historyCount()).toBe(entries + 3);
  });

  it("lists and counts an agent's memories as the root memories does: the present, on both paths", async () => {
    const agentId = await newAgent();
    const paris = await create(fact(agentId, 'The user lives in Paris', { validFrom: '2020-01-01T00:00:00.000Z' }));
    const lyon = await supersede(paris, { content: 'The user lives in Lyon', validFrom: '2022-01-01T00:00:00.000Z' });
    await supersede(lyon, { content: 'The user lives in Berlin', validFrom: '2024-01-01T00:00:00.000Z' });
    const gone = await create(fact(agentId, 'Stays at a hostel', { validFrom: '2020-01-01T00:00:00.000Z' }));
    await app.database.owner.$executeRaw`UPDATE memories SET expires_at = now() - interval '1 hour' WHERE id = ${gone}`;

    const [fast, slow] = await general.both(own.key, AgentMemories, { id: agentId });
    expect(fast).toEqual(slow);
    const agent = JSON.parse(fast.slice(fast.indexOf(' ') + 1)).data.agent;
    expect(agent).toEqual({
      memoryCount: 1,
      memoryStats: { total: 1, byType: [{ memoryType: 'FACTUAL', count: 1 }] },
      now: { totalCount: 1, nodes: [{ content: 'The user lives in Berlin' }] },
      past: { totalCount: 1, nodes: [{ content: 'The user lives in Paris' }] },
      // Newest first; the expired one never, whatever the arguments.
      all: {
        totalCount: 3,
        nodes: [
          { content: 'The user lives in Berlin', validUntil: null },
          { content: 'The user lives in Lyon', validUntil: '2024-01-01T00:00:00.000Z' },
        ],
      },
    });
  });

  it('revives a superseded fact through dedupe only when the client asks', async () => {
    const agentId = await newAgent();
    const paris = await create(fact(agentId, 'The user lives in Paris', { validFrom: '2020-01-01T00:00:00.000Z' }));
    await supersede(paris, { content: 'The user lives in Lyon', validFrom: '2022-01-01T00:00:00.000Z' });
    const again = async (dedupe?: { reviveSuperseded: boolean }) => {
      const created = (await app.graphql(Create, { input: fact(agentId, ' the user LIVES in Paris', { dedupe }) }))
        .data!.createMemory;
      if (created.__typename !== 'MemoryPayload') throw new Error(JSON.stringify(created));
      return { id: created.memory.id, deduplicated: created.deduplicated, validUntil: created.memory.validUntil };
    };
    const before = await memoryCount();
    // Asked: merged into the superseded Paris, its period unchanged, nothing created.
    expect(await again({ reviveSuperseded: true })).toEqual({
      id: paris,
      deduplicated: true,
      validUntil: '2022-01-01T00:00:00.000Z',
    });
    expect(await memoryCount()).toBe(before);
    // By default (and when said false): a new fact.
    const fresh = await again({ reviveSuperseded: false });
    expect(fresh).toMatchObject({ deduplicated: false, validUntil: null });
    expect(fresh.id).not.toBe(paris);
    expect(await memoryCount()).toBe(before + 1);
    // A fact that holds is preferred over a superseded one, asked or not.
    expect(await again({ reviveSuperseded: true })).toEqual({ ...fresh, deduplicated: true });
    expect(await again()).toEqual({ ...fresh, deduplicated: true });
    expect(await memoryCount()).toBe(before + 1);
  });

  it("sweeps every organization's expired memories in the background, one that sends no requests too", async () => {
    // Seeded and written in the database only: this organization never sends a request.
    const quiet = await app.seedDemo();
    const expired = [`memory-quiet-${quiet.organizationId}-1`, `memory-quiet-${quiet.organizationId}-2`];
    for (const id of expired)
      await app.database.owner.$executeRaw`
        INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, expires_at)
        VALUES (${id}, ${quiet.organizationId}, ${quiet.userId}, ${quiet.agentId}, 'a passing note', 'factual',
          'user', 'core', now() - interval '1 minute')`;
    const kept = `memory-quiet-${quiet.organizationId}-kept`;
    await app.database.owner.$executeRaw`
      INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, expires_at)
      VALUES (${kept}, ${quiet.organizationId}, ${quiet.userId}, ${quiet.agentId}, 'a lasting note', 'factual',
        'user', 'core', now() + interval '1 day')`;
    const events = await app.live.listen('memoryChanged', quiet.organizationId, quiet.agentId);
    const trashed = () =>
      app.database.owner.memory.count({ where: { id: { in: expired }, isDeleted: true, deletedAt: { not: null } } });

    // Two processes' sweepers at once: each row moved once, one history entry each.
    const sweepers = [1, 2].map(() =>
      createExpiredMemorySweeper(app.database.prisma, app.live, createLogger('silent'), 1),
    );
    for (const sweeper of sweepers) sweeper.start();
    const deadline = Date.now() + 30_000;
    while ((await trashed()) < expired.length && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all(sweepers.map((sweeper) => sweeper.stop()));

    expect(await trashed()).toBe(expired.length);
    expect(await app.database.owner.memory.count({ where: { id: kept, isDeleted: false } })).toBe(1);
    expect(
      await app.database.owner.memoryHistory.count({ where: { memoryId: { in: expired }, event: 'expire' } }),
    ).toBe(expired.length);
    const published: string[] = [];
    while (published.length < expired.length) {
      const next = await events.next();
      if (next.done) break;
      expect(next.value).toMatchObject({
        kind: 'memoryChanged',
        change: 'expired',
        organizationId: quiet.organizationId,
      });
      published.push(...next.value.memoryIds);
    }
    await events.return?.();
    expect(published.sort()).toEqual([...expired].sort());
  });
});
