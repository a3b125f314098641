import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import {
  createPubSub,
  type PubSub,
  Repeater,
  type PubSubEvent as YogaPubSubEvent,
  type PubSubEventTarget as YogaPubSubEventTarget,
} from 'graphql-yoga';
import { LiveUpdatesUnavailableError } from '../errors';
import type { Logger } from '../logger';
import type { RedisConnections } from '../redis/connections';
import { receiveRelayedEvents, relaysThroughPrimary, sendToPrimary } from './cluster-relay';
import { type LiveEvent, type LiveEventKind, type LiveEventOf, liveTopic } from './events';

/** Events one subscriber may have undelivered before its subscription is ended (see `listen`). */
const MAX_UNDELIVERED_EVENTS = 1000;

/**
 * How live updates travel from the process that committed a change to the subscribers: within
 * the process (yoga's createPubSub), or, with REDIS_URL, over Redis pub/sub to every replica
 * (@graphql-yoga/redis-event-target). Events carry ids only (src/live/events.ts).
 */
export interface LiveBus {
  /** Tells every subscriber of the event's agent. Never throws: a lost event is logged. */
  publish(event: LiveEvent): void;
  /**
   * The events of one agent from now on. Resolves once they are certain to arrive (on Redis, once
   * it acknowledged the subscription), so that a client whose subscription has started misses
   * nothing committed after that. Refused with LiveUpdatesUnavailableError while the bus is
   * away; ends with it when the bus goes away.
   */
  listen<K extends LiveEventKind>(
    kind: K,
    organizationId: string,
    agentId: string,
  ): Promise<AsyncIterableIterator<LiveEventOf<K>>>;
  /** The listeners open in this process: one per subscription feed, and per MCP session followed. */
  listenerCount(): number;
  /** Ends every subscription (they complete) and releases the bus. */
  close(): Promise<void>;
}

type Topics = Record<string, [LiveEvent]>;
type PubSubEvent = YogaPubSubEvent<Topics, string>;
type PubSubEventTarget = YogaPubSubEventTarget<Topics>;

/** Whether the bus is reachable, and a promise that rejects when it stops being so. */
interface Link {
  readonly up: boolean;
  readonly lost: Promise<never>;
}

const alwaysUp: Link = { up: true, lost: new Promise<never>(() => undefined) };

/** The subscriber connection's state, as a Link: lost on close, up again once ready. */
function redisLink(subscriber: RedisConnections['subscriber']): Link {
  let lose: (error: Error) => void = () => undefined;
  const nextLoss = () => {
    const lost = new Promise<never>((_resolve, reject) => (lose = reject));
    lost.catch(() => undefined); // rejected whether or not anyone listens
    return lost;
  };
  let lost = nextLoss();
  let up = subscriber.status === 'ready';
  subscriber.on('ready', () => (up = true));
  subscriber.on('close', () => {
    if (!up) return;
    up = false;
    lose(new LiveUpdatesUnavailableError());
    lost = nextLoss();
  });
  return {
    get up() {
      return up;
    },
    get lost() {
      return lost;
    },
  };
}

export function createLiveBus(redis: RedisConnections | undefined, logger: Logger): LiveBus {
  const log = logger.child({ component: 'live' });
  // Listeners and the in-process publisher share one event target: Redis's, or one in memory.
  const eventTarget: PubSubEventTarget = redis
    ? createRedisEventTarget<PubSubEvent>({ publishClient: redis.commands, subscribeClient: redis.subscriber })
    : (new EventTarget() as PubSubEventTarget);
  const pubSub: PubSub<Topics> = createPubSub<Topics>({ eventTarget });
  const link = redis ? redisLink(redis.subscriber) : alwaysUp;
  const open = new Set<() => void>();
  // A worker of npm run start:cluster without Redis: every worker's events, through the primary.
  const relayed = !redis && relaysThroughPrimary();
  const stopReceiving = relayed
    ? receiveRelayedEvents((event) => pubSub.publish(liveTopic(event.kind, event.organizationId, event.agentId), event))
    : undefined;

  function publish(event: LiveEvent): void {
    const topic = liveTopic(event.kind, event.organizationId, event.agentId);
    if (relayed) {
      sendToPrimary(event, (error) =>
        log.warn({ topic, reason: error.message }, 'live update not published: the cluster primary is out of reach'),
      );
      return;
    }
    if (!redis) {
      pubSub.publish(topic, event);
      return;
    }
    // redis-event-target would publish without handling a refusal; Redis away is an everyday
    // event here, so the command is sent (in its format: the JSON of the event) and its failure
    // logged: the write is committed, its subscribers were told the bus is away.
    redis.commands.publish(topic, JSON.stringify(event)).catch((error: unknown) => {
      log.warn(
        { topic, reason: error instanceof Error ? error.message : String(error) },
        'live update not published: Redis is out of reach',
      );
    });
  }

  async function listen<K extends LiveEventKind>(
    kind: K,
    organizationId: string,
    agentId: string,
  ): Promise<AsyncIterableIterator<LiveEventOf<K>>> {
    if (!link.up) throw new LiveUpdatesUnavailableError();
    const topic = liveTopic(kind, organizationId, agentId);
    const { lost } = link;
    let started: () => void = () => undefined;
    const listening = new Promise<void>((resolve) => (started = resolve));
    // yoga's pubSub.subscribe starts listening at the first pull, too late to promise that the
    // subscription has started, and its pushes throw once 1024 are pending, inside the publisher
    // (or Redis's message handler): so the same event target is listened to directly, and a
    // subscriber that falls MAX_UNDELIVERED_EVENTS behind is ended with an error instead.
    const events = new Repeater<LiveEventOf<K>>(async (push, stop) => {
      let undelivered = 0;
      const deliver = (event: PubSubEvent) => {
        if (undelivered >= MAX_UNDELIVERED_EVENTS) {
          stop(
            new LiveUpdatesUnavailableError(`this subscription fell more than ${MAX_UNDELIVERED_EVENTS} events behind`),
          );
          return;
        }
        undelivered += 1;
        void push(event.detail as LiveEventOf<K>).then(() => (undelivered -= 1));
      };
      eventTarget.addEventListener(topic, deliver);
      const end = () => stop();
      open.add(end);
      lost.catch((error: Error) => stop(error));
      void stop.then(() => {
        open.delete(end);
        eventTarget.removeEventListener(topic, deliver);
      });
      if (redis) await redis.subscriber.subscribe(topic);
      started();
    });
    // The executor runs at the first pull: pulled now, its first event is kept for the consumer.
    const first = events.next();
    first.catch(() => undefined); // its consumer sees a rejection; unconsumed, it is no fault
    try {
      await Promise.race([listening, lost]);
    } catch (error) {
      await events.return();
      throw error;
    }
    let pending: Promise<IteratorResult<LiveEventOf<K>>> | undefined = first;
    const iterator: AsyncIterableIterator<LiveEventOf<K>> = {
      next: () => {
        const next = pending ?? events.next();
        pending = undefined;
        return next;
      },
      return: (value?: unknown) => events.return(value as LiveEventOf<K>),
      throw: (error?: unknown) => events.throw(error),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  return {
    publish,
    listen,
    listenerCount: () => open.size,
    async close() {
      for (const end of [...open]) end();
      stopReceiving?.();
    },
  };
}
