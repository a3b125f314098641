import { addAgentFleet } from '../../src/demo/agent-fleet';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const Append = graphql(`
  mutation AppendForWindow($agentId: ID!, $messages: [MessageInput!]!) {
    appendMessages(agentId: $agentId, messages: $messages) { __typename ... on MessagesPayload { messages { id } } }
  }
`);

const SetWindow = graphql(`
  mutation SetContextWindow($agentId: ID!, $messageIds: [ID!]!) {
    setContextWindow(agentId: $agentId, messageIds: $messageIds) {
      __typename
      ... on AgentPayload { agent { id messageIds contextMessages { id text } } }
      ... on Error { code field message }
    }
  }
`);

const UpdateWindow = graphql(`
  mutation UpdateAgentWindow($id: ID!, $messageIds: [String!]) {
    updateAgent(id: $id, input: { messageIds: $messageIds }) { __typename ... on Error { code field message } }
  }
`);

const Window = graphql(`
  query ContextWindow($id: ID!) { agent(id: $id) { messageIds contextMessages { id text } } }
`);

const FleetWindows = graphql(`
  query FleetWindows($first: Int!) { agents(first: $first) { nodes { id contextMessages {
    id } recentMessages(limit: 2) { id } } } }
`);

describe('the context window', () => {
  let app: TestApp;
  let demo: DemoData;
  let other: DemoData;
  let ids: string[];
  let otherAgentsMessage: string;
  let otherOrganizationsMessage: string;

  const append = async (agentId: string, texts: string[], key = demo.key) => {
    const result = (
      await app.graphqlAs(key, Append, { agentId, messages: texts.map((text) => ({ role: 'USER' as const, text })) })
    ).data!.appendMessages;
    if (result.__typename !== 'MessagesPayload') throw new Error(`appendMessages returned ${result.__typename}`);
    return result.messages.map((message) => message.id);
  };
  const setWindow = async (messageIds: string[], agentId = demo.agentId, key = demo.key) =>
    (await app.graphqlAs(key, SetWindow, { agentId, messageIds })).data!.setContextWindow;
  const storedWindow = async () =>
    (await app.database.owner.agent.findUniqueOrThrow({ where: { id: demo.agentId } })).messageIds;

  beforeAll(async () => {
    app = await startTestApp('context_window', { rateLimit: { requests: 0, windowSeconds: 60 } });
    demo = await app.seedDemo();
    other = await app.seedDemo();
    ids = await append(demo.agentId, ['zero', 'one', 'two', 'three']);
    const second = await app.graphqlUntyped(
      'mutation { createAgent(input: { name: "Second" }) { ... on AgentPayload { agent { id } } } }',
    );
    const secondId = (second.data as { createAgent: { agent: { id: string } } }).createAgent.agent.id;
    otherAgentsMessage = (await append(secondId, ['not yours']))[0]!;
    otherOrganizationsMessage = (await append(other.agentId, ['another tenant'], other.key))[0]!;
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it('sets the window and answers its messages in window order', async () => {
    const window = [ids[3]!, ids[0]!, ids[2]!];
    expect(await setWindow(window)).toEqual({
      __typename: 'AgentPayload',
      agent: {
        id: demo.agentId,
        messageIds: window,
        contextMessages: [
          { id: ids[3], text: 'three' },
          { id: ids[0], text: 'zero' },
          { id: ids[2], text: 'two' },
        ],
      },
    });
    expect(
      (await app.graphql(Window, { id: demo.agentId })).data!.agent!.contextMessages.map((message) => message.text),
    ).toEqual(['three', 'zero', 'two']);
    // The same through an agent reached from one of its blocks.
    const persona = await app.database.owner.block.findFirstOrThrow({
      where: { organizationId: demo.organizationId, label: 'persona' },
    });
    const throughBlock = await app.graphqlUntyped(
      `{ block(id: "${persona.id}") { agents { contextMessages { text } } } }`,
    );
    expect(throughBlock.data).toEqual({
      block: { agents: [{ contextMessages: [{ text: 'three' }, { text: 'zero' }, { text: 'two' }] }] },
    });
  });

  it('refuses an id that is not a live message of the agent, naming the first, and changes nothing', async () => {
    await setWindow([ids[1]!]);
    const before = await storedWindow();
    const refusals: [string[], string[]][] = [
      [
        [ids[0]!, ids[1]!, 'message-nowhere', 'message-also-nowhere'],
        ['messageIds', '2'],
      ],
      [
        [otherAgentsMessage, ids[0]!],
        ['messageIds', '0'],
      ],
      [
        [ids[0]!, otherOrganizationsMessage],
        ['messageIds', '1'],
      ],
      [
        [ids[0]!, ids[1]!, ids[0]!],
        ['messageIds', '2'],
      ],
    ];
    for (const [window, field] of refusals) {
      const answer = await setWindow(window);
      expect(answer).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION', field });
      expect(answer.__typename === 'ValidationError' && answer.message).toContain(window[Number(field[1])]!);
    }
    // Over the list's cap: refused before anything runs (src/schema/list-caps.ts), as a request error.
    const tooLong = await app.graphql(SetWindow, {
      agentId: demo.agentId,
      messageIds: Array.from({ length: 501 }, (_, index) => `message-${index}`),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['messageIds'] });
    expect(await setWindow([ids[0]!], 'agent-nobody')).toMatchObject({
      __typename: 'NotFoundError',
      field: ['agentId'],
    });
    // Another organization cannot set this agent's window, even with this agent's own messages.
    expect(await setWindow([ids[0]!], demo.agentId, other.key)).toMatchObject({
      __typename: 'NotFoundError',
      field: ['agentId'],
    });
    expect(await storedWindow()).toEqual(before);
  });

  it('holds updateAgent and createAgent to the same rule', async () => {
    const before = await storedWindow();
    expect(
      (await app.graphql(UpdateWindow, { id: demo.agentId, messageIds: [ids[2]!, otherAgentsMessage] })).data!
        .updateAgent,
    ).toMatchObject({
      __typename: 'ValidationError',
      field: ['input', 'messageIds', '1'],
    });
    expect(await storedWindow()).toEqual(before);
    expect(
      (await app.graphql(UpdateWindow, { id: demo.agentId, messageIds: [ids[2]!] })).data!.updateAgent.__typename,
    ).toBe('AgentPayload');
    const created = await app.graphqlUntyped(`mutation {
      createAgent(input: { name: "Fresh", messageIds: ["${ids[0]}"] }) { __typename ... on Error { field } } }`);
    expect(created.data).toEqual({
      createAgent: { __typename: 'ValidationError', field: ['input', 'messageIds', '0'] },
    });
    // An empty window is a window.
    expect(await setWindow([])).toMatchObject({
      __typename: 'AgentPayload',
      agent: { messageIds: [], contextMessages: [] },
    });
  });

  it('leaves out a message deleted since it was put in the window', async () => {
    await setWindow([ids[0]!, ids[1]!, ids[2]!]);
    await app.database.owner.message.update({ where: { id: ids[1]! }, data: { isDeleted: true } });
    expect(
      (await app.graphql(Window, { id: demo.agentId })).data!.agent!.contextMessages.map((message) => message.id),
    ).toEqual([ids[0], ids[2]]);
    await app.database.owner.message.update({ where: { id: ids[1]! }, data: { isDeleted: false } });
  });

  it('reads the windows of a whole page of agents in one statement', async () => {
    await addAgentFleet(app.database.owner, demo, 30);
    // Each fleet agent's window: its own last two messages, oldest last, and a stranger's id.
    const fleet = await app.database.owner.agent.findMany({
      where: { id: { startsWith: 'agent-fleet-' } },
      include: { messages: { orderBy: { createdAt: 'desc' }, take: 2 } },
    });
    for (const agent of fleet) {
      await app.database.owner.agent.update({
        where: { id: agent.id },
        data: { messageIds: [...agent.messages.map((message) => message.id), otherAgentsMessage] },
      });
    }
    await app.graphql(FleetWindows, { first: 1 }); // the key's last use is written once a minute: not part of the count

    const { result, statements } = await app.countStatements(() => app.graphql(FleetWindows, { first: 40 }));
    expect(result.errors).toBeUndefined();
    const agents = result.data!.agents.nodes;
    expect(agents.length).toBeGreaterThan(30);
    for (const agent of agents.filter((node) => node.id.startsWith('agent-fleet-'))) {
      const expected = fleet.find((row) => row.id === agent.id)!.messages.map((message) => message.id);
      expect(agent.contextMessages.map((message) => message.id)).toEqual(expected);
    }
    const messageReads = statements.filter((sql) => /FROM "public"\."messages"/.test(sql));
    // One for every window of the page; the recent messages are in the page's planned statement.
    expect(messageReads).toHaveLength(1);
    expect(
      statements.filter((sql) => sql.startsWith('SELECT /* planned agents */') && sql.includes('FROM messages')),
    ).toHaveLength(1);
    expect(messageReads.filter((sql) => /WHERE \("t0"\."id" IN .*"t0"\."agent_id" IN/.test(sql))).toHaveLength(1);
  });
});
