import { graphql } from '../generated';
import { propertySeed } from '../support/property-seed';
import { seededRandom } from '../support/seeded-random';
import { startTestApp, type TestApp } from '../support/test-app';

// Agent.messageCount is the agent's own column, kept by the database's triggers (migration
// 20261207000000_agent_live_message_count). Generated sequences of every write that changes a
// conversation (appends, deletions, restores, purges of messages and of their users, imports)
// must leave it equal to the live messages the test expects and to what the conversation's
// totalCount counts.

const CreateCountedAgent = graphql(`
  mutation CreateCountedAgent($name: String!) {
    createAgent(input: { name: $name }) { __typename ... on AgentPayload { agent { id } } }
  }
`);
const CreateCountedUser = graphql(`
  mutation CreateCountedUser($name: String!) {
    createUser(input: { name: $name }) { __typename ... on UserPayload { user { id } } }
  }
`);
const AppendCounted = graphql(`
  mutation AppendCounted($agentId: ID!, $messages: [MessageInput!]!) {
    appendMessages(agentId: $agentId, messages: $messages) {
      __typename
      ... on MessagesPayload { messages { id } }
    }
  }
`);
const DeleteCountedMessage = graphql(`
  mutation DeleteCountedMessage($id: ID!) { deleteMessage(id: $id) { __typename } }
`);
const RestoreCountedMessage = graphql(`
  mutation RestoreCountedMessage($id: ID!) { restoreMessage(id: $id) { __typename } }
`);
const PurgeCountedMessage = graphql(`
  mutation PurgeCountedMessage($id: ID!) { purgeMessage(id: $id) { __typename } }
`);
const PurgeCountedUser = graphql(`
  mutation PurgeCountedUser($id: ID!) { purgeUser(id: $id) { __typename } }
`);
const ExportCountedAgent = graphql(`
  query ExportCountedAgent($id: ID!) { exportAgent(id: $id) }
`);
const ImportCountedAgent = graphql(`
  mutation ImportCountedAgent($document: JSON!) {
    importAgent(document: $document) { __typename ... on AgentPayload { agent { id } } }
  }
`);
const ImportedConversation = graphql(`
  query ImportedConversation($id: ID!) {
    agent(id: $id) { messages(first: 100) { nodes { id user { id } } } }
  }
`);
const CountedAgents = graphql(`
  query CountedAgents {
    agents(first: 100) { nodes { id messageCount messages { totalCount } } }
  }
`);

interface CountedMessage {
  id: string;
  agentId: string;
  userId: string | null;
  live: boolean;
}

describe('Agent.messageCount, kept by the database', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('message_count');
    await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  const typename = (payload: { __typename: string }, expected: string) => {
    if (payload.__typename !== expected) throw new Error(`expected ${expected}, got ${payload.__typename}`);
  };

  it('equals the live messages after generated appends, deletions, restores, purges and imports', async () => {
    const random = seededRandom(propertySeed('message counts'));
    const pick = <T>(items: T[]): T | undefined => items[Math.floor(random() * items.length)];
    const agents: string[] = [];
    for (const name of ['first', 'second', 'third']) {
      const created = (await app.graphql(CreateCountedAgent, { name })).data!.createAgent;
      if (created.__typename !== 'AgentPayload') throw new Error(created.__typename);
      agents.push(created.agent.id);
    }
    const users: string[] = [];
    const messages: CountedMessage[] = [];
    const steps: string[] = [];

    for (let step = 0; step < 60; step += 1) {
      const choice = random();
      const live = messages.filter((candidate) => candidate.live);
      const trashed = messages.filter((candidate) => !candidate.live);
      if (choice < 0.35 || messages.length === 0) {
        const agentId = pick(agents)!;
        const userId = random() < 0.3 ? (pick(users) ?? null) : null;
        const size = 1 + Math.floor(random() * 4);
        const appended = (
          await app.graphql(AppendCounted, {
            agentId,
            messages: Array.from({ length: size }, (_unused, index) => ({
              role: 'USER' as const,
              text: `step ${step}.${index}`,
              ...(userId && { userId }),
            })),
          })
        ).data!.appendMessages;
        if (appended.__typename !== 'MessagesPayload') throw new Error(appended.__typename);
        for (const { id } of appended.messages) messages.push({ id, agentId, userId, live: true });
        steps.push(`append ${size} to ${agentId}`);
      } else if (choice < 0.5) {
        const created = (await app.graphql(CreateCountedUser, { name: `user ${step}` })).data!.createUser;
        if (created.__typename !== 'UserPayload') throw new Error(created.__typename);
        users.push(created.user.id);
        steps.push(`user ${created.user.id}`);
      } else if (choice < 0.65 && live.length > 0) {
        const message = pick(live)!;
        typename((await app.graphql(DeleteCountedMessage, { id: message.id })).data!.deleteMessage, 'DeletedPayload');
        message.live = false;
        steps.push(`delete ${message.id}`);
      } else if (choice < 0.75 && trashed.length > 0) {
        const message = pick(trashed)!;
        typename(
          (await app.graphql(RestoreCountedMessage, { id: message.id })).data!.restoreMessage,
          'MessagesPayload',
        );
        message.live = true;
        steps.push(`restore ${message.id}`);
      } else if (choice < 0.85) {
        const message = pick(messages)!;
        typename((await app.graphql(PurgeCountedMessage, { id: message.id })).data!.purgeMessage, 'DeletedPayload');
        messages.splice(messages.indexOf(message), 1);
        steps.push(`purge ${message.id}`);
      } else if (choice < 0.93 && users.length > 0) {
        const userId = users.splice(Math.floor(random() * users.length), 1)[0]!;
        typename((await app.graphql(PurgeCountedUser, { id: userId })).data!.purgeUser, 'DeletedPayload');
        for (const gone of messages.filter((candidate) => candidate.userId === userId))
          messages.splice(messages.indexOf(gone), 1);
        steps.push(`purge user ${userId}`);
      } else {
        const source = pick(agents)!;
        const document = (await app.graphql(ExportCountedAgent, { id: source })).data!.exportAgent;
        const imported = (await app.graphql(ImportCountedAgent, { document })).data!.importAgent;
        if (imported.__typename !== 'AgentPayload') throw new Error(imported.__typename);
        const copy = imported.agent.id;
        agents.push(copy);
        const conversation = (await app.graphql(ImportedConversation, { id: copy })).data!.agent!.messages.nodes;
        for (const { id, user } of conversation)
          messages.push({ id, agentId: copy, userId: users.includes(user.id) ? user.id : null, live: true });
        steps.push(`import ${source} as ${copy} (${conversation.length} messages)`);
      }

      const { nodes } = (await app.graphql(CountedAgents)).data!.agents;
      for (const agentId of agents) {
        const expected = messages.filter((candidate) => candidate.agentId === agentId && candidate.live).length;
        const node = nodes.find((candidate) => candidate.id === agentId);
        expect({ steps, agentId, messageCount: node?.messageCount, totalCount: node?.messages.totalCount }).toEqual({
          steps,
          agentId,
          messageCount: expected,
          totalCount: expected,
        });
      }
    }
  });
});
