import { APPLICATION_ROLE, withOrganization } from '../../src/db/row-level-security';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import type { MessageInput } from '../generated/graphql';
import { planOf } from '../support/plans';
import { type GeneralPathServer, startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';

const Append = graphql(`
  mutation ConversationAppend($agentId: ID!, $messages: [MessageInput!]!) {
    appendMessages(agentId: $agentId, messages: $messages) {
      __typename
      ... on MessagesPayload { messages { id text createdAt } }
      ... on Error { code field message }
    }
  }
`);
const Conversation = graphql(`
  query ConversationList($agentId: ID!, $otid: String, $stepId: String, $groupId: String) {
    messages(agentId: $agentId, first: 100, otid: $otid, stepId: $stepId, groupId: $groupId) { nodes { text } }
  }
`);
const Recent = `query ConversationRecent($id: ID!) { agent(id: $id) { id recentMessages(limit: 10) {
  id role text createdAt } } }`;
const ToolLinks = graphql(`
  query ConversationToolLinks($agentId: ID!) {
    messages(agentId: $agentId, first: 100) {
      nodes { text role toolCall { id text } toolReturnMessages { text toolCallId } }
    }
  }
`);
const RecentToolLinks = graphql(`
  query ConversationRecentToolLinks {
    agents(first: 100) { nodes { id recentMessages(limit: 5) { text toolCall { text } toolReturnMessages { text } } } }
  }
`);

const call = (id: string, name = 'current_time') => ({ id, type: 'function', function: { name, arguments: '{}' } });

describe('conversations: order, tool calls, look-ups', () => {
  let app: TestApp;
  let general: GeneralPathServer;
  let own: DemoData;
  let other: DemoData;
  let agents = 0;

  beforeAll(async () => {
    app = await startTestApp('conversation');
    own = await app.seedDemo();
    other = await app.seedDemo();
    general = await startGeneralPathServer(app);
  });
  afterAll(async () => {
    await general?.close();
    await app?.close();
  });

  async function newAgent(): Promise<string> {
    agents += 1;
    const id = `agent-conversation-${agents}`;
    await app.database.owner.agent.create({ data: { id, organizationId: own.organizationId, name: id } });
    return id;
  }
  async function append(agentId: string, messages: MessageInput[]) {
    return (await app.graphql(Append, { agentId, messages })).data!.appendMessages;
  }
  const texts = async (agentId: string, filter: { otid?: string; stepId?: string; groupId?: string } = {}) =>
    (await app.graphql(Conversation, { agentId, ...filter })).data!.messages.nodes.map((node) => node.text);

  it('keeps the order of one append, whose messages share one instant, on every path', async () => {
    const agentId = await newAgent();
    const sent = Array.from({ length: 30 }, (_, index) => `m${index}`);
    const appended = await append(
      agentId,
      sent.map((text) => ({ role: 'USER', text })),
    );
    if (appended.__typename !== 'MessagesPayload') throw new Error(JSON.stringify(appended));
    expect(new Set(appended.messages.map((message) => message.createdAt)).size).toBe(1);
    expect(appended.messages.map((message) => message.text)).toEqual(sent);
    expect(await texts(agentId)).toEqual(sent);

    // recentMessages: the one-statement path and the general path agree, and keep the order.
    const [fast, slow] = await general.both(own.key, Recent, { id: agentId });
    expect(fast).toBe(slow);
    expect(
      JSON.parse(fast.slice(4)).data.agent.recentMessages.map((message: { text: string }) => message.text),
    ).toEqual(sent.slice(-10));
  });

  it('orders rows whose instants tie by the order they were written in, whatever their ids', async () => {
    const agentId = await newAgent();
    const at = new Date('2026-01-01T00:00:00Z');
    // Ids that sort the other way round from the order of writing.
    for (const [index, id] of ['message-z', 'message-m', 'message-a'].entries()) {
      await app.database.owner.message.create({
        data: {
          id: `${id}-${agentId}`,
          organizationId: own.organizationId,
          userId: own.userId,
          agentId,
          role: 'user',
          text: `tie ${index}`,
          createdAt: at,
        },
      });
    }
    expect(await texts(agentId)).toEqual(['tie 0', 'tie 1', 'tie 2']);
    const [fast, slow] = await general.both(own.key, Recent, { id: agentId });
    expect(fast).toBe(slow);
    expect(
      JSON.parse(fast.slice(4)).data.agent.recentMessages.map((message: { text: string }) => message.text),
    ).toEqual(['tie 0', 'tie 1', 'tie 2']);
  });

  it('accepts a TOOL message only for a call an earlier assistant message of the same agent made', async () => {
    const agentId = await newAgent();
    const before = await app.database.owner.message.count();
    // A call made by nobody, a call made later in the same append, another agent's call.
    expect(
      await append(agentId, [
        { role: 'USER', text: 'time?' },
        { role: 'TOOL', toolCallId: 'call-unknown', text: 'x' },
      ]),
    ).toMatchObject({
      code: 'VALIDATION',
      field: ['messages', '1', 'toolCallId'],
    });
    expect(
      await append(agentId, [
        { role: 'TOOL', toolCallId: 'call-late', text: 'x' },
        { role: 'ASSISTANT', toolCalls: [call('call-late')] },
      ]),
    ).toMatchObject({
      code: 'VALIDATION',
      field: ['messages', '0', 'toolCallId'],
    });
    const elsewhere = await newAgent();
    expect((await append(elsewhere, [{ role: 'ASSISTANT', toolCalls: [call('call-elsewhere')] }])).__typename).toBe(
      'MessagesPayload',
    );
    expect(await append(agentId, [{ role: 'TOOL', toolCallId: 'call-elsewhere', text: 'x' }])).toMatchObject({
      code: 'VALIDATION',
      field: ['messages', '0', 'toolCallId'],
    });
    expect(await app.database.owner.message.count()).toBe(before + 1);

    // Earlier in the same append, and in an earlier append: both answer.
    expect(
      (
        await append(agentId, [
          { role: 'ASSISTANT', toolCalls: [call('call-1'), call('call-2', 'search')] },
          { role: 'TOOL', toolCallId: 'call-1', text: 'noon' },
        ])
      ).__typename,
    ).toBe('MessagesPayload');
    expect(
      (
        await append(agentId, [
          { role: 'TOOL', toolCallId: 'call-2', text: 'found' },
          { role: 'ASSISTANT', text: 'It is noon.' },
        ])
      ).__typename,
    ).toBe('MessagesPayload');

    // Links both ways.
    const nodes = (await app.graphql(ToolLinks, { agentId })).data!.messages.nodes;
    const assistant = nodes.find((node) => node.role === 'ASSISTANT' && node.text === null)!;
    expect(
      nodes.map((node) => [
        node.text,
        node.toolCall?.text ?? null,
        node.toolReturnMessages.map((answer) => answer.text),
      ]),
    ).toEqual([
      [null, null, ['noon', 'found']],
      ['noon', null, []],
      ['found', null, []],
      ['It is noon.', null, []],
    ]);
    expect(nodes.filter((node) => node.role === 'TOOL').every((node) => node.toolCall?.id !== undefined)).toBe(true);
    const assistantId = (
      await app.database.owner.message.findFirstOrThrow({ where: { agentId, role: 'assistant', text: null } })
    ).id;
    expect(nodes.filter((node) => node.role === 'TOOL').map((node) => node.toolCall!.id)).toEqual([
      assistantId,
      assistantId,
    ]);
    expect(assistant.toolReturnMessages.map((answer) => answer.toolCallId)).toEqual(['call-1', 'call-2']);

    // A deleted assistant message no longer makes the call.
    await app.database.owner.message.update({ where: { id: assistantId }, data: { isDeleted: true } });
    expect(await append(agentId, [{ role: 'TOOL', toolCallId: 'call-1', text: 'again' }])).toMatchObject({
      code: 'VALIDATION',
    });
  });

  it(
    'links tool calls for a whole page in a fixed number of statements, ' +
      'and another organization sees none of them',
    async () => {
      const exchange = async (index: number) =>
        append(await newAgent(), [
          { role: 'ASSISTANT', toolCalls: [call(`call-batch-${index}`)] },
          { role: 'TOOL', toolCallId: `call-batch-${index}`, text: `answer ${index}` },
        ]);
      const messageStatements = async () => {
        const { result, statements } = await app.countStatements(() => app.graphql(RecentToolLinks, {}));
        expect(result.errors).toBeUndefined();
        return {
          agents: result.data!.agents.nodes,
          count: statements.filter((sql) => /\bmessages\b/.test(sql)).length,
        };
      };
      await exchange(0);
      const few = await messageStatements();
      for (let index = 1; index < 5; index += 1) await exchange(index);
      const many = await messageStatements();
      // Agents with their recent messages (one statement), then one batch per link: the same for 1 exchange as for 5.
      expect(many.count).toBe(few.count);
      const withCalls = many.agents.filter((agent) =>
        agent.recentMessages.some((message) => message.text?.startsWith('answer ')),
      );
      expect(withCalls).toHaveLength(5);
      for (const agent of withCalls) {
        const [assistant, answer] = agent.recentMessages.slice(-2);
        expect(answer!.toolCall).toEqual({ text: null });
        expect(assistant!.toolReturnMessages).toEqual([{ text: answer!.text }]);
      }

      app.useKey(other.key);
      try {
        const seen = (await app.graphql(RecentToolLinks, {})).data!.agents.nodes;
        expect(seen.map((agent) => agent.id)).toEqual([other.agentId]);
      } finally {
        app.useKey(own.key);
      }
    },
  );

  it('finds messages by otid, stepId and groupId', async () => {
    const agentId = await newAgent();
    await append(agentId, [
      { role: 'USER', text: 'hello', otid: 'otid-1', groupId: 'group-a' },
      { role: 'ASSISTANT', text: 'thinking', stepId: 'step-1', groupId: 'group-a' },
      { role: 'ASSISTANT', text: 'hi', stepId: 'step-1', groupId: 'group-b', otid: 'otid-2' },
    ]);
    expect(await texts(agentId, { otid: 'otid-2' })).toEqual(['hi']);
    expect(await texts(agentId, { stepId: 'step-1' })).toEqual(['thinking', 'hi']);
    expect(await texts(agentId, { groupId: 'group-a' })).toEqual(['hello', 'thinking']);
    expect(await texts(agentId, { stepId: 'step-1', groupId: 'group-a' })).toEqual(['thinking']);
    expect(await texts(agentId, { otid: 'otid-none' })).toEqual([]);
  });

  it(
    'reads recentMessages through idx_messages_agent_id_live in its order, as the application role, ' +
      'on a realistically sized table',
    async () => {
      // 300 agents of 100 messages in each organization, a third of them in runs that share an instant.
      for (const owner of [own, other]) {
        await app.database.owner.$executeRaw`
        INSERT INTO agents (id, organization_id, name)
        SELECT 'agent-bulk-' || ${owner.organizationId} || '-' || a, ${owner.organizationId}, 'bulk ' || a
          FROM generate_series(1, 300) AS a`;
        await app.database.owner.$executeRaw`
        INSERT INTO messages (id, organization_id, user_id, agent_id, role, text, created_at)
        SELECT 'message-bulk-' || md5(${owner.organizationId} || a || '-' || i), ${owner.organizationId},
          ${owner.userId},
               'agent-bulk-' || ${owner.organizationId} || '-' || a, 'user', 'bulk ' || i,
               timestamptz '2026-01-01' + make_interval(secs => i - i % 3)
        FROM generate_series(1, 300) AS a, generate_series(1, 100) AS i`;
      }
      await app.database.owner.$executeRawUnsafe('ANALYZE');
      // On PGlite the fill held the event loop for seconds: the client's idle keep-alive socket
      // may have been closed by the server meanwhile, and the first request on it be reset.
      await app.graphqlUntyped('{ __typename }').catch(() => undefined);
      const agentId = `agent-bulk-${own.organizationId}-7`;

      const { result, statements } = await app.countStatements(() => app.graphqlUntyped(Recent, { id: agentId }));
      expect((result.data as { agent: { recentMessages: unknown[] } }).agent.recentMessages).toHaveLength(10);
      // Answered by its text (src/planner/response-text.ts): its statement is the response form's.
      const statement = planOf(Recent.toString(), own.organizationId, { id: agentId }, undefined, 'response')!;
      expect(statement.fallbacks).toEqual([]);
      expect(statements).toContain(statement.text);

      const plan = await withOrganization(own.organizationId, async () => {
        const [role] = await app.database.prisma.$queryRaw<Array<{ role: string }>>`SELECT current_user::text AS role`;
        expect(role?.role).toBe(APPLICATION_ROLE);
        const lines = await app.database.prisma.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(
          `EXPLAIN ${statement.text}`,
          ...statement.values,
        );
        return lines.map((line) => line['QUERY PLAN']).join('\n');
      });
      if (process.env.SHOW_PLAN) console.log(plan);
      // In the page's order (agent, created_at, seq): read backwards and stopped after `limit`, with
      // no sort of tied instants by seq (only the page itself is turned oldest first, by its aggregate).
      expect(plan).toMatch(/Index Scan Backward using idx_messages_agent_id_live on messages t\d+/);
      expect(plan).not.toMatch(/Incremental Sort/);
      expect(plan).not.toMatch(/Seq Scan on messages/);
    },
  );
});
