import { Readable } from 'node:stream';
import { type FetchAPI, getSSEProcessor, isAsyncIterable, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import type { Context } from '../context/types';
import { LiveUpdatesUnavailableError } from '../errors';
import type { Metrics } from '../observability/metrics';

/** Events one subscriber may have undelivered before its subscription is ended. */
const MAX_UNDELIVERED_EVENTS = 1000;

// What a subscriber's stream starts with: yoga's own SSE stream starts with this comment, "because
// some browsers dont accept a header flush"; a subscriber that joins a running feed needs its own.
const PING = new TextEncoder().encode(':\n\n');

// yoga exports its hook's payload only through Plugin.
type ResultProcessor = Parameters<Parameters<NonNullable<Plugin['onResultProcess']>>[0]['setResultProcessor']>[0];
type Frame = Uint8Array;

/**
 * One subscriber's response body: a Node stream of the feed's frames in object mode, so that what
 * its connection has not taken yet is counted in frames. @whatwg-node's Response takes it as it
 * is, and pipes it to the socket (`sendNodeResponse`): a frame costs one write, not a web
 * stream's pull, promise and controller.
 */
class Subscriber {
  readonly body = new Readable({ objectMode: true, read: () => undefined });

  constructor(
    greet: boolean,
    private readonly fellBehind: Frame,
    leave: () => void,
  ) {
    if (greet) this.body.push(PING);
    this.body.once('close', leave);
  }

  /** Queues a frame, or ends this subscriber when its connection has fallen too far behind. */
  send(frame: Frame): boolean {
    if (this.body.readableEnded || this.body.destroyed) return true;
    if (this.body.readableLength >= MAX_UNDELIVERED_EVENTS) {
      this.body.push(this.fellBehind);
      this.end();
      return false;
    }
    this.body.push(frame);
    return true;
  }

  end(error?: unknown): void {
    if (error === undefined) this.body.push(null);
    else this.body.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * The subscribers of one subscription: one document, operation and variables, one caller. Their
 * answers are the same bytes, so the operation runs once for all of them, on the first one's
 * request, and each event is executed, serialized and encoded once (yoga's SSE processor, on the
 * first one's result), then queued to every subscriber.
 */
class Feed {
  private readonly subscribers = new Set<Subscriber>();
  private started = false;
  private reader: ReadableStreamDefaultReader<Frame> | undefined;

  constructor(
    private readonly fetchAPI: FetchAPI,
    private readonly source: Promise<Response>,
    private readonly fellBehind: Frame,
    private readonly forget: (feed: Feed) => void,
    private readonly metrics: Metrics | undefined,
  ) {}

  /** A new subscriber's response: the feed's status and headers, and its frames from now on. */
  async join(): Promise<Response> {
    const subscriber: Subscriber = new Subscriber(this.started, this.fellBehind, () => this.leave(subscriber));
    this.subscribers.add(subscriber);
    this.metrics?.subscriptionOpened();
    if (!this.started) void this.pump();
    const { status, headers } = await this.source;
    // The ponyfill's Response takes a Node stream (its BodyInit is the web one's type only).
    const body = subscriber.body as unknown as ReadableStream<Frame>;
    return new this.fetchAPI.Response(body, { status, headers: new this.fetchAPI.Headers(headers) });
  }

  private leave(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    this.metrics?.subscriptionClosed();
    if (this.subscribers.size > 0) return;
    this.forget(this);
    // The last one gone: the operation's stream is cancelled, and with it its listener.
    void this.reader?.cancel().catch(() => undefined);
  }

  private async pump(): Promise<void> {
    this.started = true;
    try {
      const { body } = await this.source;
      if (!body) return this.finish();
      this.reader = body.getReader() as ReadableStreamDefaultReader<Frame>;
      for (let read = await this.reader.read(); !read.done; read = await this.reader.read()) {
        for (const subscriber of this.subscribers) {
          if (!subscriber.send(read.value)) this.leave(subscriber);
        }
      }
      this.finish();
    } catch (error) {
      this.finish(error);
    }
  }

  private finish(error?: unknown): void {
    this.forget(this);
    for (const subscriber of [...this.subscribers]) {
      subscriber.end(error);
      this.leave(subscriber);
    }
  }
}

/**
 * What decides a subscription's answer besides the events: the caller (its organization, key and
 * scopes), the document, the operation and the variables. Subscribers with the same key share a feed.
 */
function feedKey(context: Context & YogaInitialContext, operationName: string | null | undefined, variables: unknown) {
  const { organizationId, apiKeyId, userId, scopes } = context.caller;
  return JSON.stringify([organizationId, apiKeyId, userId, scopes, context.params.query, operationName, variables]);
}

/**
 * Subscriptions over Server-Sent Events served as feeds: the subscribers of the same subscription
 * of the same caller in this process share one execution of each event and its bytes, instead of
 * each running yoga's pipeline (execution, plugins, serialization, encoding) once per event.
 * Each subscriber still subscribes for itself (authenticated, its agent checked, listening before
 * its response starts); one that joins a running feed then lets its own stream go. A subscriber
 * whose connection falls MAX_UNDELIVERED_EVENTS behind is ended with LIVE_UPDATES_UNAVAILABLE.
 */
export function useSubscriptionFeeds(maskError: (error: unknown) => Error, metrics: Metrics | undefined): Plugin {
  const keys = new WeakMap<Request, string>();
  const feeds = new Map<string, Feed>();
  // What yoga's stream would answer to its stream's error: the error, masked, then the end.
  const fellBehind = new TextEncoder().encode(
    `event: next\ndata: ${JSON.stringify({
      errors: [
        maskError(
          new LiveUpdatesUnavailableError(`this subscription fell more than ${MAX_UNDELIVERED_EVENTS} events behind`),
        ),
      ],
    })}\n\nevent: complete\ndata:\n\n`,
  );
  const processSSE = getSSEProcessor();
  const serve =
    (key: string): ResultProcessor =>
    (result, fetchAPI, mediaType) => {
      const running = feeds.get(key);
      if (running && isAsyncIterable(result)) {
        // Its own stream is let go; the running feed has listened since before this one did.
        void result[Symbol.asyncIterator]().return?.();
        return running.join();
      }
      const source = Promise.resolve(processSSE(result, fetchAPI, mediaType));
      const forget = (ended: Feed) => {
        if (feeds.get(key) !== ended) return;
        feeds.delete(key);
        metrics?.subscriptionFeedClosed();
      };
      const feed = new Feed(fetchAPI, source, fellBehind, forget, metrics);
      feeds.set(key, feed);
      metrics?.subscriptionFeedOpened();
      return feed.join();
    };

  return {
    onSubscribe({ args }) {
      const context = args.contextValue as Context & YogaInitialContext;
      keys.set(context.request, feedKey(context, args.operationName, args.variableValues));
    },
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      const key = keys.get(request);
      // A subscription's stream has only one processor, SSE's (yoga's subscription list).
      if (key === undefined || !resultProcessor || !isAsyncIterable(result)) return;
      setResultProcessor(serve(key), 'text/event-stream');
    },
  };
}
