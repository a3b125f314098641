import { randomUUID } from 'node:crypto';
import { issueApiKey } from '../../src/auth/keys';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { subscribe } from '../support/live-client';
import { startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';

// Live updates within one process (the in-memory bus), on both databases. Across processes, over
// Redis: test/live/replicas.test.ts.

const MessageAdded = graphql(`
  subscription LiveMessageAdded($agentId: ID!) { messageAdded(agentId: $agentId) {
    id agentId organizationId role text user { id } } }
`);
const MessageTextAdded = graphql(`
  subscription LiveMessageTextAdded($agentId: ID!) { messageAdded(agentId: $agentId) { id text } }
`);
const MemoryChanged = graphql(`
  subscription LiveMemoryChanged($agentId: ID!) { memoryChanged(agentId: $agentId) { kind memoryId memory {
    id content agentId } } }
`);
const Append = graphql(`
  mutation LiveAppend($agentId: ID!, $messages: [MessageInput!]!) {
    appendMessages(agentId: $agentId, messages: $messages) { __typename ... on MessagesPayload { messages {
      id } } ... on Error { code } }
  }
`);
const MessagesQuery = graphql(`
  query LiveMessagesOf($agentId: ID!) { messages(agentId: $agentId, first: 1) { totalCount } }
`);
const CreateMemory = graphql(`
  mutation LiveCreateMemory($input: CreateMemoryInput!) { createMemory(input: $input) {
    __typename ... on MemoryPayload { memory { id } } } }
`);
const CreateMemories = graphql(`
  mutation LiveCreateMemories($inputs: [CreateMemoryInput!]!) { createMemories(inputs: $inputs) {
    __typename ... on MemoriesPayload { memories { id } } } }
`);
const UpdateMemory = graphql(`
  mutation LiveUpdateMemory($id: ID!, $content: String!) { updateMemory(id: $id, input: { content: $content }) {
    __typename } }
`);
const DeleteMemory = graphql(`mutation LiveDeleteMemory($id: ID!) { deleteMemory(id: $id) { __typename } }`);
const RestoreMemory = graphql(`mutation LiveRestoreMemory($id: ID!) { restoreMemory(id: $id) { __typename } }`);
const PurgeMemory = graphql(`mutation LivePurgeMemory($id: ID!) { purgeMemory(id: $id) { __typename } }`);
const MemoryCounted = graphql(`
  subscription LiveMemoryCounted($agentId: ID!) { memoryChanged(agentId: $agentId) { memory { agent {
    memoryCount } } } }
`);
const CreateAgent = graphql(`
  mutation LiveCreateAgent($name: String!) { createAgent(input: { name: $name }) { __typename ... on AgentPayload {
    agent { id } } } }
`);

const userMessage = (text: string) => ({ role: 'USER' as const, text });

describe('subscriptions in one process', () => {
  let app: TestApp;
  let a: DemoData;
  let b: DemoData;

  beforeAll(async () => {
    app = await startTestApp('live');
    a = await app.seedDemo();
    b = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  const appendAs = async (key: string, agentId: string, texts: string[]) => {
    const response = await app.graphqlAs(key, Append, { agentId, messages: texts.map(userMessage) });
    const payload = response.data?.appendMessages;
    if (payload?.__typename !== 'MessagesPayload') throw new Error(`appendMessages: ${JSON.stringify(response)}`);
    return payload.messages.map((message) => message.id);
  };

  it('messageAdded: every appended message, in order, read with the selection (relations included)', async () => {
    const live = await subscribe(app.url, a.key, MessageAdded, { agentId: a.agentId });
    expect(live.status).toBe(200);
    const first = await appendAs(a.key, a.agentId, ['one', 'two', 'three']);
    const second = await appendAs(a.key, a.agentId, ['four']);
    const received = [];
    for (let index = 0; index < 4; index += 1) received.push(await live.next());
    live.close();
    expect(received.map((result) => result?.errors)).toEqual([undefined, undefined, undefined, undefined]);
    expect(received.map((result) => result?.data?.messageAdded.id)).toEqual([...first, ...second]);
    expect(received.map((result) => result?.data?.messageAdded.text)).toEqual(['one', 'two', 'three', 'four']);
    expect(received[0]?.data?.messageAdded).toMatchObject({
      agentId: a.agentId,
      organizationId: a.organizationId,
      role: 'USER',
      user: { id: a.userId },
    });
  });

  it('subscribers of one agent with and without a relation each get their selection, from one read', async () => {
    // The one without a relation listens first, so its read is the event's first: a read made
    // for its selection alone would leave the other without its user.
    const plain = await subscribe(app.url, a.key, MessageTextAdded, { agentId: a.agentId });
    const withUser = await subscribe(app.url, a.key, MessageAdded, { agentId: a.agentId });
    const { result, statements } = await app.countStatements(async () => {
      const [appended] = await appendAs(a.key, a.agentId, ['both see it']);
      return { id: appended, plainResult: await plain.next(), withUserResult: await withUser.next() };
    });
    const { id, plainResult, withUserResult } = result;
    plain.close();
    withUser.close();
    expect(plainResult).toEqual({ data: { messageAdded: { id, text: 'both see it' } } });
    expect(withUserResult?.errors).toBeUndefined();
    expect(withUserResult?.data?.messageAdded).toMatchObject({ id, text: 'both see it', user: { id: a.userId } });
    // One planned statement answers both selections (src/live/shared-reads.ts), the user
    // included: a relation left to each subscriber's resolvers would be read apart.
    const eventReads = statements.filter((sql) => /FROM messages m WHERE/.test(sql) && /m\.id = ANY\(/.test(sql));
    expect(eventReads).toHaveLength(1);
    expect(eventReads[0]).toMatch(/FROM users /);
    // The append's own check of the users it names (none here: `1=0`) aside, no other read of users.
    expect(statements.filter((sql) => /"public"\."users"/.test(sql) && !/1=0/.test(sql))).toHaveLength(0);
  });

  it("another organization's agent is NOT_FOUND, as an agent that does not exist; no key is 401", async () => {
    const foreign = await subscribe(app.url, a.key, MessageAdded, { agentId: b.agentId });
    const missing = await subscribe(app.url, a.key, MessageAdded, {
      agentId: 'agent-00000000-0000-4000-8000-000000000000',
    });
    const [foreignResults, missingResults] = [await foreign.rest(), await missing.rest()];
    expect(foreignResults).toHaveLength(1);
    expect(foreignResults[0]?.data ?? null).toBeNull();
    expect(foreignResults[0]?.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: ['agentId'] });
    expect(foreignResults[0]?.errors?.[0]?.message).not.toContain('organization');
    // The same answer but for the id it names.
    expect(JSON.stringify(foreignResults).replaceAll(b.agentId, 'ID')).toBe(
      JSON.stringify(missingResults).replaceAll('agent-00000000-0000-4000-8000-000000000000', 'ID'),
    );

    const anonymous = await subscribe(app.url, null, MessageAdded, { agentId: a.agentId });
    expect(anonymous.status).toBe(401);
    anonymous.close();
  });

  it('needs the read scope, as queries do', async () => {
    // No key the API issues lacks read; one written directly shows the check is applied at all.
    const { key } = await issueApiKey(app.database.owner, a, { name: 'no scopes', scopes: [] });
    const refused = await subscribe(app.url, key, MessageAdded, { agentId: a.agentId });
    const results = await refused.rest();
    expect(results).toHaveLength(1);
    expect(results[0]?.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
  });

  it("never shows another organization's events, nor rows its scope cannot read", async () => {
    const liveA = await subscribe(app.url, a.key, MessageAdded, { agentId: a.agentId });
    const liveB = await subscribe(app.url, b.key, MessageAdded, { agentId: b.agentId });
    const [bMessage] = await appendAs(b.key, b.agentId, ['for B only']);

    // An event on A's channel naming B's message (what a bug in a publisher could send): A's
    // subscriber reads it under A's scope, where it does not exist, and is shown nothing.
    app.live.publish({
      kind: 'messageAdded',
      organizationId: a.organizationId,
      agentId: a.agentId,
      messageIds: [bMessage!],
    });
    const [aMessage] = await appendAs(a.key, a.agentId, ['for A only']);

    expect((await liveA.next())?.data?.messageAdded.id).toBe(aMessage);
    expect((await liveB.next())?.data?.messageAdded.id).toBe(bMessage);
    // A's append reached A's channel only: B's next event is its own next append.
    const [bSecond] = await appendAs(b.key, b.agentId, ['B again']);
    expect((await liveB.next())?.data?.messageAdded.id).toBe(bSecond);
    liveA.close();
    liveB.close();
  });

  it('publishes committed writes only: a rolled-back append is never announced', async () => {
    const live = await subscribe(app.url, a.key, MessageAdded, { agentId: a.agentId });
    const before = (await app.graphqlAs(a.key, MessagesQuery, { agentId: a.agentId })).data?.messages.totalCount;
    // The second message names another organization's user: NOT_FOUND inside the transaction,
    // after the first was checked; nothing is written.
    const refused = await app.graphqlAs(a.key, Append, {
      agentId: a.agentId,
      messages: [userMessage('rolled back'), { ...userMessage('rolled back too'), userId: b.userId }],
    });
    expect(refused.data?.appendMessages).toMatchObject({ __typename: 'NotFoundError' });
    expect((await app.graphqlAs(a.key, MessagesQuery, { agentId: a.agentId })).data?.messages.totalCount).toBe(before);
    const [kept] = await appendAs(a.key, a.agentId, ['committed']);
    expect((await live.next())?.data?.messageAdded).toMatchObject({ id: kept, text: 'committed' });
    live.close();
  });

  it('with an Idempotency-Key: announced once, after the commit, and not again on a replay', async () => {
    const live = await subscribe(app.url, a.key, MessageAdded, { agentId: a.agentId });
    const idempotencyKey = randomUUID();
    const send = () =>
      fetch(app.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${a.key}`,
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify({
          query: Append.toString(),
          variables: { agentId: a.agentId, messages: [userMessage('once')] },
        }),
      }).then(
        (response) => response.json() as Promise<{ data: { appendMessages: { messages: Array<{ id: string }> } } }>,
      );
    const first = await send();
    const replay = await send();
    expect(replay).toEqual(first);
    const [after] = await appendAs(a.key, a.agentId, ['after the replay']);
    expect((await live.next())?.data?.messageAdded.id).toBe(first.data.appendMessages.messages[0]?.id);
    expect((await live.next())?.data?.messageAdded.id).toBe(after);
    live.close();
  });

  it('memoryChanged: create (one, many), update, delete, restore, purge, in order; other agents apart', async () => {
    const other = (await app.graphqlAs(a.key, CreateAgent, { name: 'another agent' })).data?.createAgent;
    if (other?.__typename !== 'AgentPayload') throw new Error('createAgent failed');
    const live = await subscribe(app.url, a.key, MemoryChanged, { agentId: a.agentId });
    const input = (agentId: string, content: string) => ({
      agentId,
      content,
      memoryType: 'FACTUAL' as const,
      scope: 'user',
      level: 'core',
    });

    const created = (await app.graphqlAs(a.key, CreateMemory, { input: input(a.agentId, 'likes tea') })).data
      ?.createMemory;
    if (created?.__typename !== 'MemoryPayload') throw new Error('createMemory failed');
    const id = created.memory.id;
    const batch = (
      await app.graphqlAs(a.key, CreateMemories, {
        inputs: [
          input(a.agentId, 'first of many'),
          input(other.agent.id, 'for the other agent'),
          input(a.agentId, 'second of many'),
        ],
      })
    ).data?.createMemories;
    if (batch?.__typename !== 'MemoriesPayload') throw new Error('createMemories failed');
    expect(
      (await app.graphqlAs(a.key, UpdateMemory, { id, content: 'likes green tea' })).data?.updateMemory.__typename,
    ).toBe('MemoryPayload');
    expect((await app.graphqlAs(a.key, DeleteMemory, { id })).data?.deleteMemory.__typename).toBe('DeletedPayload');
    // Already deleted: NOT_FOUND, and nothing to announce.
    expect((await app.graphqlAs(a.key, DeleteMemory, { id })).data?.deleteMemory.__typename).toBe('NotFoundError');
    expect((await app.graphqlAs(a.key, RestoreMemory, { id })).data?.restoreMemory.__typename).toBe('MemoryPayload');
    expect((await app.graphqlAs(a.key, PurgeMemory, { id })).data?.purgeMemory.__typename).toBe('DeletedPayload');

    const received = [];
    for (let index = 0; index < 7; index += 1) received.push((await live.next())?.data?.memoryChanged);
    live.close();
    const [firstOfMany, , secondOfMany] = batch.memories.map((memory) => memory.id);
    expect(received).toEqual([
      { kind: 'CREATED', memoryId: id, memory: { id, content: 'likes tea', agentId: a.agentId } },
      {
        kind: 'CREATED',
        memoryId: firstOfMany,
        memory: { id: firstOfMany, content: 'first of many', agentId: a.agentId },
      },
      {
        kind: 'CREATED',
        memoryId: secondOfMany,
        memory: { id: secondOfMany, content: 'second of many', agentId: a.agentId },
      },
      { kind: 'UPDATED', memoryId: id, memory: { id, content: 'likes green tea', agentId: a.agentId } },
      { kind: 'DELETED', memoryId: id, memory: { id, content: 'likes green tea', agentId: a.agentId } },
      { kind: 'RESTORED', memoryId: id, memory: { id, content: 'likes green tea', agentId: a.agentId } },
      { kind: 'PURGED', memoryId: id, memory: null },
    ]);
  });

  it("resolves each event with its own loaders: a count a loader reads is the event's, not the first's", async () => {
    // The general path reads memoryCount with a loader (the planner counts in its statement).
    const general = await startGeneralPathServer(app);
    try {
      const live = await subscribe(general.url, a.key, MemoryCounted, { agentId: a.agentId });
      const counts: number[] = [];
      for (const content of ['counted once', 'counted twice']) {
        const created = await app.graphqlAs(a.key, CreateMemory, {
          input: { agentId: a.agentId, content, level: 'core', scope: 'user', memoryType: 'SEMANTIC' },
        });
        expect(created.data?.createMemory.__typename).toBe('MemoryPayload');
        counts.push((await live.next())?.data?.memoryChanged.memory?.agent?.memoryCount ?? -1);
      }
      live.close();
      expect(counts[1]).toBe(counts[0]! + 1);
    } finally {
      await general.close();
    }
  });

  it('a client that goes away ends its subscription, and the server listens no more', async () => {
    const live = await subscribe(app.url, a.key, MessageAdded, { agentId: a.agentId });
    live.close();
    // Appends go on; the next subscriber starts from its own start.
    await appendAs(a.key, a.agentId, ['nobody listens']);
    const next = await subscribe(app.url, a.key, MessageAdded, { agentId: a.agentId });
    const [latest] = await appendAs(a.key, a.agentId, ['somebody listens']);
    expect((await next.next())?.data?.messageAdded.id).toBe(latest);
    next.close();
  });
});

describe('subscriptions at shutdown', () => {
  it('complete when the server stops, rather than being cut off at the shutdown deadline', async () => {
    const app = await startTestApp('live_shutdown', { shutdownTimeoutMs: 60_000 });
    try {
      const demo = await app.seedDemo();
      const live = await subscribe(app.url, demo.key, MessageAdded, { agentId: demo.agentId });
      expect(live.status).toBe(200);
      // A contract bound, kept on purpose: a stop that left the connection the completed stream
      // leaves to the keep-alive timeouts (4-5 s, client's or server's) would still end, only
      // later, so only a time tells "closed by the server at once" from that. The server takes
      // about 0.1 s; 3 s is a margin of 30 times that, and stays below those timeouts.
      const stopping = await Promise.race([
        app.stop().then(() => 'stopped'),
        new Promise((resolve) => setTimeout(resolve, 3_000, 'still waiting for open connections')),
      ]);
      expect(stopping).toBe('stopped');
      expect(await live.rest()).toEqual([]);
      expect(live.completed).toBe(true);
    } finally {
      await app.close();
    }
  });
});
