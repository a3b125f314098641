import { seedDemoData } from '../../src/demo/seed';
import { startTestApp, type TestApp } from '../support/test-app';

const APPEND = `mutation ($agentId: ID!, $messages: [MessageInput!]!) {
  appendMessages(agentId: $agentId, messages: $messages) {
    __typename
    ... on MessagesPayload { messages { id role text toolCallId createdAt } }
    ... on Error { code field message }
  }
}`;

interface AppendResult {
  appendMessages: { __typename: string; code?: string; field?: string[]; messages?: Array<{ id: string; role: string; text: string | null }> };
}

interface Page {
  messages: { totalCount: number; nodes: Array<{ id: string; text: string }>; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } };
}

const PAGE = `query ($agentId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  messages(agentId: $agentId, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    nodes { id text }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

describe('messages', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('messages');
    ({ agentId } = await seedDemoData(app.database.prisma));
  });
  afterAll(async () => {
    await app?.close();
  });

  const messageCount = () => app.database.prisma.message.count({ where: { agentId } });

  it.each([
    ['a TOOL message without toolCallId', [{ role: 'TOOL', text: '42' }], ['messages', '0', 'toolCallId']],
    ['toolCalls that are not {id, type, function}', [{ role: 'ASSISTANT', text: 'x', toolCalls: [{ name: 'f' }] }], ['messages', '0', 'toolCalls', '0', 'id']],
    ['neither text nor content', [{ role: 'USER', text: '', content: [] }], ['messages', '0', 'text']],
    ['a NUL character', [{ role: 'USER', text: 'a\u0000b' }], ['messages', '0', 'text']],
    ['a bad message after good ones', [{ role: 'USER', text: 'ok' }, { role: 'USER', text: 'fine' }, { role: 'TOOL', text: 'no id' }], ['messages', '2', 'toolCallId']],
    ['no messages at all', [], ['messages']],
  ])('refuses %s, writing nothing', async (_case, messages, field) => {
    const before = await messageCount();
    const result = await app.graphql<AppendResult>(APPEND, { agentId, messages });
    expect(result.data?.appendMessages).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION', field });
    expect(await messageCount()).toBe(before);
  });

  it('refuses an agent that does not exist', async () => {
    const result = await app.graphql<AppendResult>(APPEND, { agentId: 'agent-nope', messages: [{ role: 'USER', text: 'hi' }] });
    expect(result.data?.appendMessages).toMatchObject({ __typename: 'NotFoundError', field: ['agentId'] });
  });

  it('appends a tool exchange in order and atomically', async () => {
    const result = await app.graphql<AppendResult>(APPEND, {
      agentId,
      messages: [
        { role: 'ASSISTANT', toolCalls: [{ id: 'call-1', type: 'function', function: { name: 'current_time', arguments: '{}' } }] },
        { role: 'TOOL', toolCallId: 'call-1', text: '12:00' },
        { role: 'ASSISTANT', text: 'It is noon.' },
      ],
    });
    expect(result.data?.appendMessages.__typename).toBe('MessagesPayload');
    expect(result.data?.appendMessages.messages?.map((message) => message.role)).toEqual(['ASSISTANT', 'TOOL', 'ASSISTANT']);
  });

  it('walks 250 messages forward then backward with cursors, each exactly once and in order', async () => {
    const created = await app.graphql<{ createAgent: { agent: { id: string } } }>(
      'mutation { createAgent(input: { name: "Walker" }) { ... on AgentPayload { agent { id } } } }',
    );
    const walkAgent = created.data!.createAgent.agent.id;
    const texts = Array.from({ length: 250 }, (_, index) => `walk ${String(index).padStart(3, '0')}`);
    for (let start = 0; start < texts.length; start += 100) {
      const batch = texts.slice(start, start + 100).map((text) => ({ role: 'USER', text }));
      const appended = await app.graphql<AppendResult>(APPEND, { agentId: walkAgent, messages: batch });
      expect(appended.data?.appendMessages.__typename).toBe('MessagesPayload');
    }
    const expected = texts;

    const forward: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { data?: Page } = await app.graphql<Page>(PAGE, { agentId: walkAgent, first: 37, after });
      forward.push(...page.data!.messages.nodes.map((node) => node.text));
      expect(page.data!.messages.totalCount).toBe(250);
      if (!page.data!.messages.pageInfo.hasNextPage) break;
      after = page.data!.messages.pageInfo.endCursor;
    }
    expect(forward).toEqual(expected);

    const backward: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page: { data?: Page } = await app.graphql<Page>(PAGE, { agentId: walkAgent, last: 41, before });
      backward.unshift(...page.data!.messages.nodes.map((node) => node.text));
      if (!page.data!.messages.pageInfo.hasPreviousPage) break;
      before = page.data!.messages.pageInfo.startCursor;
    }
    expect(backward).toEqual(expected);
  });
});
