import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/caller';
import type { RedisConnections } from '../redis/connections';

/**
 * Where the MCP sessions of Streamable HTTP are kept (src/mcp/sessions.ts): in Redis when the
 * server has REDIS_URL, so that every process and replica knows every session; in the process
 * otherwise (one process: `npm start`, the embedded database). A session is bound to the API key
 * that opened it; it holds the resources its client subscribed to and the token of the stream
 * that tells it of their changes. It lapses SESSION_TTL_SECONDS after its last use.
 */

const SESSION_TTL_SECONDS = 24 * 60 * 60;

export interface SessionRecord {
  organizationId: string;
  apiKeyId: string;
  /** The token of the GET stream that holds the session's notifications; '' without one. */
  stream: string;
}

export interface SessionStore {
  create(caller: Caller): Promise<string>;
  /** The session, its lapse pushed back; undefined once lapsed, deleted or never made. */
  touch(id: string): Promise<SessionRecord | undefined>;
  uris(id: string): Promise<string[]>;
  subscribe(id: string, uri: string): Promise<void>;
  unsubscribe(id: string, uri: string): Promise<void>;
  /** Sets the stream's token; '' clears it, only while `previous` is still the token. */
  setStream(id: string, stream: string, previous?: string): Promise<void>;
  delete(id: string): Promise<void>;
}

const newSessionId = () => `mcp_${randomUUID()}`;

export function redisSessionStore(redis: RedisConnections): SessionStore {
  const commands = redis.commands;
  const key = (id: string) => `agentmem:mcp-session:${id}`;
  const urisKey = (id: string) => `agentmem:mcp-session:${id}:uris`;
  return {
    async create(caller) {
      const id = newSessionId();
      await commands
        .multi()
        .hset(key(id), { organizationId: caller.organizationId, apiKeyId: caller.apiKeyId, stream: '' })
        .expire(key(id), SESSION_TTL_SECONDS)
        .exec();
      return id;
    },
    async touch(id) {
      const replies = await commands
        .multi()
        .hgetall(key(id))
        .expire(key(id), SESSION_TTL_SECONDS)
        .expire(urisKey(id), SESSION_TTL_SECONDS)
        .exec();
      const fields = replies?.[0]?.[1] as Record<string, string> | undefined;
      if (!fields?.organizationId || !fields.apiKeyId) return undefined;
      return { organizationId: fields.organizationId, apiKeyId: fields.apiKeyId, stream: fields.stream ?? '' };
    },
    uris: (id) => commands.smembers(urisKey(id)),
    async subscribe(id, uri) {
      await commands.multi().sadd(urisKey(id), uri).expire(urisKey(id), SESSION_TTL_SECONDS).exec();
    },
    async unsubscribe(id, uri) {
      await commands.srem(urisKey(id), uri);
    },
    async setStream(id, stream, previous) {
      // Clearing is read-then-write: a stream opened in between may lose its token, which only
      // makes a subscription answer without waiting for that stream (src/mcp/sessions.ts).
      if (stream === '' && (await commands.hget(key(id), 'stream')) !== previous) return;
      if ((await commands.exists(key(id))) === 1) await commands.hset(key(id), 'stream', stream);
    },
    async delete(id) {
      await commands.del(key(id), urisKey(id));
    },
  };
}

export function memorySessionStore(): SessionStore {
  const sessions = new Map<string, SessionRecord & { uris: Set<string>; lapsesAt: number }>();
  const live = (id: string) => {
    const session = sessions.get(id);
    if (session && session.lapsesAt <= Date.now()) sessions.delete(id);
    return sessions.get(id);
  };
  return {
    async create(caller) {
      const id = newSessionId();
      // Lapsed sessions go when another is made: the map never holds more than the live ones and those.
      for (const [other, session] of sessions) if (session.lapsesAt <= Date.now()) sessions.delete(other);
      sessions.set(id, {
        organizationId: caller.organizationId,
        apiKeyId: caller.apiKeyId,
        stream: '',
        uris: new Set(),
        lapsesAt: Date.now() + SESSION_TTL_SECONDS * 1000,
      });
      return id;
    },
    async touch(id) {
      const session = live(id);
      if (!session) return undefined;
      session.lapsesAt = Date.now() + SESSION_TTL_SECONDS * 1000;
      return { organizationId: session.organizationId, apiKeyId: session.apiKeyId, stream: session.stream };
    },
    async uris(id) {
      return [...(live(id)?.uris ?? [])];
    },
    async subscribe(id, uri) {
      live(id)?.uris.add(uri);
    },
    async unsubscribe(id, uri) {
      live(id)?.uris.delete(uri);
    },
    async setStream(id, stream, previous) {
      const session = live(id);
      if (session && (stream !== '' || session.stream === previous)) session.stream = stream;
    },
    async delete(id) {
      sessions.delete(id);
    },
  };
}
