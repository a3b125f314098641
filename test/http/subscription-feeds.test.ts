import { issueApiKey } from '../../src/auth/keys';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { subscribe } from '../support/live-client';
import { sample } from '../support/metrics';
import { startTestApp, type TestApp } from '../support/test-app';

// Subscribers of the same subscription of the same caller share one feed (src/http/subscription-
// feeds.ts): the first one's execution answers all of them. What a subscriber sees must not
// depend on whom it shares with: who came first, who left, who else listens.

const Texts = graphql(`
  subscription FeedTexts($agentId: ID!) { messageAdded(agentId: $agentId) { id text } }
`);
const Append = graphql(`
  mutation FeedAppend($agentId: ID!, $text: String!) {
    appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) {
      __typename ... on MessagesPayload { messages { id } } }
  }
`);

const FEEDS_METRICS = 'test-feeds-metrics-token-0123456789';

describe('subscription feeds', () => {
  let app: TestApp;
  let a: DemoData;
  let b: DemoData;

  beforeAll(async () => {
    app = await startTestApp('subscription_feeds', { metricsToken: FEEDS_METRICS });
    a = await app.seedDemo();
    b = await app.seedDemo();
  });
  afterAll(async () => {
    await app?.close();
  });

  const append = async (text: string) => {
    const payload = (await app.graphqlAs(a.key, Append, { agentId: a.agentId, text })).data?.appendMessages;
    if (payload?.__typename !== 'MessagesPayload') throw new Error('appendMessages failed');
    return payload.messages[0]!.id;
  };
  const scrape = async () =>
    (await fetch(new URL('/metrics', app.url), { headers: { authorization: `Bearer ${FEEDS_METRICS}` } })).text();
  const openSubscriptions = async () => sample(await scrape(), 'agentmem_graphql_subscriptions_open');
  const openFeeds = async () => sample(await scrape(), 'agentmem_graphql_subscription_feeds_open');

  it('keeps serving the others when the first subscriber goes away, and each leaves on its own', async () => {
    const first = await subscribe(app.url, a.key, Texts, { agentId: a.agentId });
    const second = await subscribe(app.url, a.key, Texts, { agentId: a.agentId });
    const third = await subscribe(app.url, a.key, Texts, { agentId: a.agentId });
    const subscribers = [first, second, third];
    // Three subscriptions, one execution serving them, one listener on the bus: the two that
    // joined let theirs go.
    expect(await openSubscriptions()).toBe(3);
    expect(await openFeeds()).toBe(1);
    expect(app.live.listenerCount()).toBe(1);

    const before = await append('all three');
    for (const subscriber of subscribers)
      expect((await subscriber.next())?.data?.messageAdded).toEqual({ id: before, text: 'all three' });

    // The one whose request runs the feed goes: the others go on.
    first.close();
    const after = await append('two of them');
    for (const subscriber of [second, third])
      expect((await subscriber.next())?.data?.messageAdded).toEqual({ id: after, text: 'two of them' });

    // A newcomer joins the running feed from now on: not the events before it.
    const late = await subscribe(app.url, a.key, Texts, { agentId: a.agentId });
    const latest = await append('the newcomer too');
    for (const subscriber of [second, third, late])
      expect((await subscriber.next())?.data?.messageAdded).toEqual({ id: latest, text: 'the newcomer too' });

    for (const subscriber of [second, third, late]) {
      expect(subscriber.completed).toBe(false);
      subscriber.close();
    }
    // The server learns of the closed streams from their sockets, a moment later.
    let open = await openSubscriptions();
    for (let attempt = 0; attempt < 100 && open !== 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      open = await openSubscriptions();
    }
    expect(open).toBe(0);
    expect(await openFeeds()).toBe(0);
    // The feed's own stream is cancelled with the last subscriber, and its listener goes with it.
    for (let attempt = 0; attempt < 100 && app.live.listenerCount() !== 0; attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(app.live.listenerCount()).toBe(0);

    // With every subscriber gone, the feed is gone: a new one starts its own, and gets the next event.
    const again = await subscribe(app.url, a.key, Texts, { agentId: a.agentId });
    const next = await append('after everyone left');
    expect((await again.next())?.data?.messageAdded).toEqual({ id: next, text: 'after everyone left' });
    again.close();
  });

  it("lets no other caller into a feed: another organization's key is refused, another key has its own", async () => {
    const owner = await subscribe(app.url, a.key, Texts, { agentId: a.agentId });
    // The same document and variables from another organization: NOT_FOUND at its start, as ever,
    // although a feed with these answers is running.
    const stranger = await subscribe(app.url, b.key, Texts, { agentId: a.agentId });
    const refused = await stranger.rest();
    expect(refused).toHaveLength(1);
    expect(refused[0]?.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });

    // Another key of the same organization, with the read scope only: served, by a feed of its own.
    const { key } = await issueApiKey(app.database.owner, a, { name: 'reader', scopes: ['read'] });
    const reader = await subscribe(app.url, key, Texts, { agentId: a.agentId });
    expect(reader.status).toBe(200);
    expect(await openFeeds()).toBe(2);
    const id = await append('both keys');
    for (const subscriber of [owner, reader])
      expect((await subscriber.next())?.data?.messageAdded).toEqual({ id, text: 'both keys' });
    owner.close();
    reader.close();
  });
});
