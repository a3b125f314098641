import type { DemoData } from '../../src/demo/seed';
import type { MessagesAdded } from '../../src/live/events';
import { readOnce } from '../../src/live/shared-reads';
import { graphql } from '../generated';
import { type LiveSubscription, subscribe } from '../support/live-client';
import { startTestApp, type TestApp } from '../support/test-app';

// Subscriptions at a scale CI can run (issue 21's target, 2,000 subscriptions and 50 appenders,
// is `npm run bench:subscriptions`): an event's rows are read once per event and organization,
// whatever the number of subscribers, and every subscriber gets every event of its agent, in
// order, and nothing of another organization. Counts only: no timing is asserted.

const ORGANIZATIONS = 2;
const AGENTS_PER_ORGANIZATION = 10;
const SUBSCRIBERS_PER_AGENT = 10;
const APPENDERS = 20;
const APPENDS_PER_APPENDER = 5;
/** A generous guard against a hang (a failure, with a message), not a bound on delivery time. */
const WAIT_MS = 60_000;

// Two selections that differ in scalar fields only: they share the read (every scalar column is
// read whatever is selected; the relations a selection includes would make it a read of its own).
const Narrow = graphql(`
  subscription ScaleNarrow($agentId: ID!) { messageAdded(agentId: $agentId) { id text agentId organizationId } }
`);
const Wide = graphql(`
  subscription ScaleWide($agent: ID!) { messageAdded(agentId: $agent) {
    id text agentId organizationId role createdAt } }
`);
// The payload selects no message: its read of the appended messages would be counted with the
// subscribers' reads otherwise.
const Append = graphql(`
  mutation ScaleAppend($agentId: ID!, $messages: [MessageInput!]!) {
    appendMessages(agentId: $agentId, messages: $messages) { __typename ... on Error { code } }
  }
`);
const CreateAgent = graphql(`
  mutation ScaleCreateAgent($name: String!) { createAgent(input: { name: $name }) { __typename ... on AgentPayload {
    agent { id } } } }
`);
const Conversation = graphql(`
  query ScaleConversation($agentId: ID!) { messages(agentId: $agentId, first: 100) { nodes { id text } } }
`);

interface Agent {
  id: string;
  organization: DemoData;
}

interface Received {
  id: string;
  text?: string | null;
  agentId: string;
  organizationId: string;
}

type Result = Awaited<ReturnType<LiveSubscription<{ messageAdded: Received }>['next']>>;

/** The statements that read an event's messages for subscribers: by id, of one agent, in conversation order. */
const isEventRead = (sql: string) =>
  /FROM messages m WHERE/.test(sql) && /m\.id = ANY\(/.test(sql) && /ORDER BY m\.created_at, m\.seq$/.test(sql);

describe('subscriptions at scale: one read per event and organization', () => {
  let app: TestApp;
  let organizations: DemoData[];
  let agents: Agent[];

  beforeAll(async () => {
    app = await startTestApp('live_scale');
    organizations = [];
    for (let index = 0; index < ORGANIZATIONS; index += 1) organizations.push(await app.seedDemo());
    agents = [];
    for (const organization of organizations) {
      agents.push({ id: organization.agentId, organization });
      for (let index = 1; index < AGENTS_PER_ORGANIZATION; index += 1) {
        const created = (await app.graphqlAs(organization.key, CreateAgent, { name: `scale agent ${index}` })).data
          ?.createAgent;
        if (created?.__typename !== 'AgentPayload') throw new Error('createAgent failed');
        agents.push({ id: created.agent.id, organization });
      }
    }
  }, 240_000);
  afterAll(async () => {
    await app?.close();
  });

  it(
    `${ORGANIZATIONS * AGENTS_PER_ORGANIZATION * SUBSCRIBERS_PER_AGENT} subscribers, ${APPENDERS} ` +
      `concurrent appenders: every event to every subscriber of its agent, in order, read once`,
    async () => {
      // Subscribed one by one: each answers its headers once it listens.
      const subscribers: Array<{
        agent: Agent;
        live: LiveSubscription<{ messageAdded: Received }>;
        results: Result[];
      }> = [];
      for (const agent of agents) {
        for (let index = 0; index < SUBSCRIBERS_PER_AGENT; index += 1) {
          const live =
            index % 2 === 0
              ? await subscribe(app.url, agent.organization.key, Narrow, { agentId: agent.id })
              : await subscribe(app.url, agent.organization.key, Wide, { agent: agent.id });
          expect(live.status).toBe(200);
          subscribers.push({ agent, live, results: [] });
        }
      }

      // Appender a's k-th append goes to agent (a + k) mod 20, so appends to one agent come from
      // several appenders at once; one or two messages each, with texts unique to the run.
      let appended = 0;
      const perAgent = new Map<string, number>(agents.map((agent) => [agent.id, 0]));
      const { statements } = await app.countStatements(async () => {
        await Promise.all(
          Array.from({ length: APPENDERS }, async (_unused, appender) => {
            for (let k = 0; k < APPENDS_PER_APPENDER; k += 1) {
              const agent = agents[(appender + k) % agents.length]!;
              const texts = Array.from(
                { length: 1 + ((appender + k) % 2) },
                (_none, n) => `scale ${appender}.${k}.${n}`,
              );
              const answer = await app.graphqlAs(agent.organization.key, Append, {
                agentId: agent.id,
                messages: texts.map((text) => ({ role: 'USER' as const, text })),
              });
              expect(answer.data?.appendMessages.__typename).toBe('MessagesPayload');
              appended += 1;
              perAgent.set(agent.id, perAgent.get(agent.id)! + texts.length);
            }
          }),
        );
        // Every subscriber has received as many messages as its agent was sent (and then, below,
        // nothing more): the reads for delivery are all in the count.
        await Promise.all(
          subscribers.map(async (subscriber) => {
            for (let index = 0; index < perAgent.get(subscriber.agent.id)!; index += 1)
              subscriber.results.push(await subscriber.live.next(WAIT_MS));
          }),
        );
      });
      const events = APPENDERS * APPENDS_PER_APPENDER;
      expect(appended).toBe(events);

      // Each agent's messages of this run, in conversation order, as a query reads them.
      const conversations = new Map<string, string[]>();
      for (const agent of agents) {
        const nodes =
          (await app.graphqlAs(agent.organization.key, Conversation, { agentId: agent.id })).data?.messages.nodes ?? [];
        conversations.set(
          agent.id,
          nodes.filter((node) => node.text?.startsWith('scale ')).map((node) => node.id),
        );
      }
      for (const subscriber of subscribers) {
        const { results } = subscriber;
        expect(results.map((result) => result?.errors)).toEqual(results.map(() => undefined));
        const received = results.map((result) => result!.data!.messageAdded);
        // Every message of its agent, in conversation order, and only of its agent and organization.
        expect(received.map((message) => message.id)).toEqual(conversations.get(subscriber.agent.id));
        expect(new Set(received.map((message) => `${message.organizationId}/${message.agentId}`))).toEqual(
          new Set(received.length ? [`${subscriber.agent.organization.organizationId}/${subscriber.agent.id}`] : []),
        );
      }
      // Nothing more arrived, and none was ended: a publication that made each subscriber read would
      // show here as a result too many, an ended one as a completed stream.
      const last = await app.graphqlAs(organizations[0]!.key, Append, {
        agentId: agents[0]!.id,
        messages: [{ role: 'USER', text: 'the last' }],
      });
      expect(last.data?.appendMessages.__typename).toBe('MessagesPayload');
      for (const subscriber of subscribers.filter(({ agent }) => agent.id === agents[0]!.id)) {
        expect((await subscriber.live.next(WAIT_MS))?.data?.messageAdded.text).toBe('the last');
      }
      for (const { live } of subscribers) {
        expect(live.completed).toBe(false);
        live.close();
      }

      // One read per event (each event is one organization's), not one per subscriber (10 per event):
      // both selections shared it.
      expect(statements.filter(isEventRead)).toHaveLength(events);
    },
  );

  it("shares a read only within one organization, agent and relation set, in that organization's scope", async () => {
    const [a, b] = organizations as [DemoData, DemoData];
    const texts = ['read for A', 'read for B'];
    const ids: string[] = [];
    for (const [index, organization] of [a, b].entries()) {
      await app.graphqlAs(organization.key, Append, {
        agentId: organization.agentId,
        messages: [{ role: 'USER', text: texts[index]! }],
      });
      const nodes =
        (await app.graphqlAs(organization.key, Conversation, { agentId: organization.agentId })).data?.messages.nodes ??
        [];
      ids.push(nodes.find((node) => node.text === texts[index])!.id);
    }
    // One event object naming both messages (what a bug in a publisher could send): each
    // organization's read sees its own row only, and never reuses the other's.
    const event: MessagesAdded = {
      kind: 'messageAdded',
      organizationId: a.organizationId,
      agentId: a.agentId,
      messageIds: ids,
    };
    const read = () => app.database.prisma.message.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const { result, statements } = await app.countStatements(async () => {
      const forA = readOnce(event, { organizationId: a.organizationId, agentId: a.agentId, query: {} }, read);
      const forAAgain = readOnce(event, { organizationId: a.organizationId, agentId: a.agentId, query: {} }, read);
      const forB = readOnce(event, { organizationId: b.organizationId, agentId: a.agentId, query: {} }, read);
      const withRelation = readOnce(
        event,
        { organizationId: a.organizationId, agentId: a.agentId, query: { include: { user: true } } },
        read,
      );
      expect(forAAgain).toBe(forA);
      return { a: await forA, b: await forB, withRelation: await withRelation };
    });
    expect(result.a.map((row) => row.id)).toEqual([ids[0]]);
    expect(result.b.map((row) => row.id)).toEqual([ids[1]]);
    expect(result.withRelation.map((row) => row.id)).toEqual([ids[0]]);
    expect(statements.filter((sql) => /FROM "public"\."messages"/.test(sql))).toHaveLength(3);
  });
});
