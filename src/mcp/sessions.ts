import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Caller } from '../auth/caller';
import type { LiveBus } from '../live/bus';
import type { McpSessionChanged } from '../live/events';
import type { Logger } from '../logger';
import type { SessionRecord, SessionStore } from './session-store';
import { ResourceSubscriptions } from './subscriptions';

/**
 * Resource subscriptions over Streamable HTTP, for a server whose tools are stateless.
 *
 * `initialize` opens a session bound to the caller's API key (its id is the Mcp-Session-Id
 * header); the session's state (the subscribed URIs, which stream tells it) is in the session
 * store: Redis with REDIS_URL, so any process answers any of its requests. The client's GET
 * /mcp opens the session's stream, held by whichever process it reaches: that process follows
 * each subscribed resource through a GraphQL subscription of its own (the live updates, across
 * processes through the Redis event target) and writes each change as
 * notifications/resources/updated. A resources/subscribe that another process receives is told
 * to the holder over the live bus (an `mcpSessionChanged` event on the session's channel), and
 * answered once the holder listens for the resource, so that no change after the answer is lost.
 * Tools need no session: a POST without Mcp-Session-Id is served as before.
 */

/** How long a resources/subscribe waits for the stream's holder to listen before answering anyway. */
const LISTENING_WAIT_MS = 5000;
/** An SSE comment this often keeps proxies from closing a quiet stream, and the session from lapsing. */
const KEEP_ALIVE_MS = 30_000;

export class SessionNotFound extends Error {}

export class McpSessions {
  constructor(
    private readonly store: SessionStore,
    private readonly live: LiveBus,
    private readonly graphqlFetch: (url: string, init: RequestInit) => Promise<Response> | Response,
    private readonly graphqlUrl: string,
    private readonly logger: Logger,
  ) {}

  create(caller: Caller): Promise<string> {
    return this.store.create(caller);
  }

  /**
   * The session, when it is this key's. An unknown, lapsed or deleted session and another key's
   * are the same SessionNotFound: a session id is no way into another key's session.
   */
  async open(id: string, caller: Caller): Promise<SessionRecord> {
    const session = await this.store.touch(id);
    if (!session || session.organizationId !== caller.organizationId || session.apiKeyId !== caller.apiKeyId)
      throw new SessionNotFound(`no MCP session ${JSON.stringify(id)} for this API key; initialize a new one`);
    return session;
  }

  private tell(session: SessionRecord, id: string, change: McpSessionChanged['change'], uri: string): void {
    this.live.publish({ kind: 'mcpSessionChanged', organizationId: session.organizationId, agentId: id, change, uri });
  }

  /** Records the subscription (the resource already checked as readable) and waits for the stream to follow it. */
  async subscribe(id: string, session: SessionRecord, uri: string): Promise<void> {
    const acknowledgements =
      session.stream === '' ? undefined : await this.live.listen('mcpSessionChanged', session.organizationId, id);
    try {
      await this.store.subscribe(id, uri);
      this.tell(session, id, 'subscribed', uri);
      if (!acknowledgements) return;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, LISTENING_WAIT_MS)));
      const listening = (async () => {
        for await (const event of acknowledgements) if (event.change === 'listening' && event.uri === uri) return;
      })();
      // A stream whose holder is gone (its process died) does not answer: the subscription stands,
      // and the client's next stream follows it.
      await Promise.race([listening, waited]);
      clearTimeout(timer);
    } finally {
      await acknowledgements?.return?.();
    }
  }

  async unsubscribe(id: string, session: SessionRecord, uri: string): Promise<void> {
    await this.store.unsubscribe(id, uri);
    this.tell(session, id, 'unsubscribed', uri);
  }

  async delete(id: string, session: SessionRecord): Promise<void> {
    await this.store.delete(id);
    this.tell(session, id, 'ended', '');
  }

  /**
   * Holds the session's stream (GET /mcp) until the client closes it, the session is deleted or
   * a newer stream of the session opens: the MCP specification has a message sent on one stream
   * only, and a client that lost its connection opens a new one.
   */
  async stream(
    id: string,
    session: SessionRecord,
    authorization: string,
    response: http.ServerResponse,
  ): Promise<void> {
    const log = this.logger.child({ mcpSession: id });
    const token = randomUUID();
    const changes = await this.live.listen('mcpSessionChanged', session.organizationId, id);
    const write = (message: string) => {
      if (!response.writableEnded) response.write(message);
    };
    const updated = (uri: string) =>
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } });
    const subscriptions = new ResourceSubscriptions(
      this.graphqlFetch,
      this.graphqlUrl,
      authorization,
      (uri) => write(`event: message\ndata: ${updated(uri)}\n\n`),
      (message) => log.warn(message),
    );
    const follow = async (uri: string) => {
      try {
        await subscriptions.subscribe(uri);
      } catch (error) {
        // The resource went (its agent deleted): nothing to follow; its subscription stays recorded.
        log.info(
          { uri, reason: error instanceof Error ? error.message : String(error) },
          'MCP subscription not followed',
        );
      }
    };
    const keepAlive = setInterval(() => {
      write(': keep-alive\n\n');
      this.store.touch(id).catch(() => undefined);
    }, KEEP_ALIVE_MS);
    response.once('close', () => void changes.return?.());
    try {
      await this.store.setStream(id, token);
      this.tell(session, id, 'stream', token);
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'mcp-session-id': id,
      });
      response.flushHeaders();
      for (const uri of await this.store.uris(id)) await follow(uri);
      for await (const change of changes) {
        if (change.change === 'subscribed') {
          await follow(change.uri);
          this.tell(session, id, 'listening', change.uri);
        } else if (change.change === 'unsubscribed') subscriptions.unsubscribe(change.uri);
        else if (change.change === 'ended' || (change.change === 'stream' && change.uri !== token)) break;
      }
    } finally {
      clearInterval(keepAlive);
      subscriptions.close();
      await this.store.setStream(id, '', token).catch(() => undefined);
      response.end();
    }
  }
}
