import { graphql } from '../generated';
import type { MessageInput, MessagePageQuery } from '../generated/graphql';
import { type GraphqlResponse, startTestApp, type TestApp } from '../support/test-app';

const AppendMessages = graphql(`
  mutation AppendMessages($agentId: ID!, $messages: [MessageInput!]!) {
    appendMessages(agentId: $agentId, messages: $messages) {
      __typename
      ... on MessagesPayload { messages { id role text toolCallId createdAt } }
      ... on Error { code field message }
    }
  }
`);

const MessagePage = graphql(`
  query MessagePage($agentId: ID!, $first: Int, $after: String, $last: Int, $before: String, $roles: [MessageRole!],
    $since: DateTime) {
    messages(agentId: $agentId, first: $first, after: $after, last: $last, before: $before, roles: $roles,
      since: $since) {
      totalCount
      nodes { id text role createdAt }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

const CreateWalker = graphql(`
  mutation CreateWalker($name: String!) {
    createAgent(input: { name: $name }) { __typename ... on AgentPayload { agent { id } } }
  }
`);

describe('messages', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('messages');
    ({ agentId } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  const messageCount = () => app.database.owner.message.count({ where: { agentId } });

  it.each([
    ['a TOOL message without toolCallId', [{ role: 'TOOL', text: '42' }], ['messages', '0', 'toolCallId']],
    [
      'toolCalls that are not {id, type, function}',
      [{ role: 'ASSISTANT', text: 'x', toolCalls: [{ name: 'f' }] }],
      ['messages', '0', 'toolCalls', '0', 'id'],
    ],
    ['neither text nor content', [{ role: 'USER', text: '', content: [] }], ['messages', '0', 'text']],
    [
      'a bad message after good ones',
      [
        { role: 'USER', text: 'ok' },
        { role: 'USER', text: 'fine' },
        { role: 'TOOL', text: 'no id' },
      ],
      ['messages', '2', 'toolCallId'],
    ],
    ['no messages at all', [], ['messages']],
  ] as [string, MessageInput[], string[]][])('refuses %s, writing nothing', async (_case, messages, field) => {
    const before = await messageCount();
    const result = await app.graphql(AppendMessages, { agentId, messages });
    expect(result.data?.appendMessages).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION', field });
    expect(await messageCount()).toBe(before);
  });

  it('refuses an agent that does not exist', async () => {
    const result = await app.graphql(AppendMessages, {
      agentId: 'agent-nope',
      messages: [{ role: 'USER', text: 'hi' }],
    });
    expect(result.data?.appendMessages).toMatchObject({ __typename: 'NotFoundError', field: ['agentId'] });
  });

  it('checks and locks the agent in one statement, and looks no user up when none is named', async () => {
    const { result, statements } = await app.countStatements(() =>
      app.graphql(AppendMessages, { agentId, messages: [{ role: 'USER', text: 'counted' }] }),
    );
    expect(result.data?.appendMessages.__typename).toBe('MessagesPayload');
    expect(statements.filter((sql) => /\bFROM agents\b/i.test(sql) || /"agents"/.test(sql))).toEqual([
      expect.stringMatching(/FOR UPDATE/),
    ]);
    expect(statements.filter((sql) => /"users"|\bFROM users\b/i.test(sql))).toEqual([]);
  });

  it('refuses a deleted agent and one of another organization as not found, writing nothing', async () => {
    const created = await app.graphql(CreateWalker, { name: 'soon deleted' });
    if (created.data?.createAgent.__typename !== 'AgentPayload') throw new Error('createAgent failed');
    const deletedId = created.data.createAgent.agent.id;
    await app.database.owner.agent.update({ where: { id: deletedId }, data: { isDeleted: true } });
    const foreign = await app.database.owner.agent.create({
      data: {
        id: 'agent-of-another-org',
        name: 'theirs',
        organization: { create: { id: 'org-other', name: 'other' } },
      },
    });
    for (const id of [deletedId, foreign.id]) {
      const result = await app.graphql(AppendMessages, { agentId: id, messages: [{ role: 'USER', text: 'hi' }] });
      expect(result.data?.appendMessages).toMatchObject({ __typename: 'NotFoundError', field: ['agentId'] });
      expect(await app.database.owner.message.count({ where: { agentId: id } })).toBe(0);
    }
  });

  it('appends a tool exchange in order and atomically', async () => {
    const result = await app.graphql(AppendMessages, {
      agentId,
      messages: [
        {
          role: 'ASSISTANT',
          toolCalls: [{ id: 'call-1', type: 'function', function: { name: 'current_time', arguments: '{}' } }],
        },
        { role: 'TOOL', toolCallId: 'call-1', text: '12:00' },
        { role: 'ASSISTANT', text: 'It is noon.' },
      ],
    });
    const appended = result.data!.appendMessages;
    if (appended.__typename !== 'MessagesPayload')
      throw new Error(`expected MessagesPayload, got ${appended.__typename}`);
    expect(appended.messages.map((message) => message.role)).toEqual(['ASSISTANT', 'TOOL', 'ASSISTANT']);

    const tools = await app.graphql(MessagePage, { agentId, roles: ['TOOL'] });
    expect(tools.data!.messages.nodes.map((message) => message.text)).toEqual(['12:00']);
    // The messages of one append share one instant, and keep their order.
    expect(new Set(appended.messages.map((message) => message.createdAt)).size).toBe(1);
    const since = await app.graphql(MessagePage, { agentId, since: appended.messages[1]!.createdAt });
    expect(since.data!.messages.nodes.map((message) => message.text)).toEqual([null, '12:00', 'It is noon.']);
  });

  it('walks 250 messages forward then backward with cursors, each exactly once and in order', async () => {
    const created = (await app.graphql(CreateWalker, { name: 'Walker' })).data!.createAgent;
    if (created.__typename !== 'AgentPayload') throw new Error('createAgent failed');
    const walkAgent = created.agent.id;
    const texts = Array.from({ length: 250 }, (_, index) => `walk ${String(index).padStart(3, '0')}`);
    for (let start = 0; start < texts.length; start += 100) {
      const batch = texts.slice(start, start + 100).map((text) => ({ role: 'USER' as const, text }));
      const appended = await app.graphql(AppendMessages, { agentId: walkAgent, messages: batch });
      expect(appended.data?.appendMessages.__typename).toBe('MessagesPayload');
    }
    const lateTexts = ['late 1', 'late 2', 'late 3'];
    const expected = [...texts, ...lateTexts];

    const forward: Array<string | null | undefined> = [];
    let after: string | null | undefined = null;
    for (;;) {
      const page: GraphqlResponse<MessagePageQuery> = await app.graphql(MessagePage, {
        agentId: walkAgent,
        first: 37,
        after,
      });
      forward.push(...page.data!.messages.nodes.map((node) => node.text));
      if (forward.length === 37) {
        // New messages arrive while a client pages: cursors already handed out stay valid.
        const late = await app.graphql(AppendMessages, {
          agentId: walkAgent,
          messages: lateTexts.map((text) => ({ role: 'USER' as const, text })),
        });
        expect(late.data?.appendMessages.__typename).toBe('MessagesPayload');
      }
      if (!page.data!.messages.pageInfo.hasNextPage) break;
      after = page.data!.messages.pageInfo.endCursor;
    }
    expect(forward).toEqual(expected);

    const backward: Array<string | null | undefined> = [];
    let before: string | null | undefined = null;
    for (;;) {
      const page: GraphqlResponse<MessagePageQuery> = await app.graphql(MessagePage, {
        agentId: walkAgent,
        last: 41,
        before,
      });
      backward.unshift(...page.data!.messages.nodes.map((node) => node.text));
      if (!page.data!.messages.pageInfo.hasPreviousPage) break;
      before = page.data!.messages.pageInfo.startCursor;
    }
    expect(backward).toEqual(expected);
  });
});
