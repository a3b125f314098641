import { AsyncResource } from 'node:async_hooks';
import { GraphQLError } from 'graphql';
import type { Database } from '../db/database';
import { readFromPrimaryFromNowOn, readMayUseReplica } from '../db/read-routing';
import { withOrganization, withPresentedApiKey } from '../db/row-level-security';
import { type Caller, SCOPES, type Scope } from './caller';
import type { KeyCache } from './key-cache';
import { hashApiKey, looksLikeApiKey } from './keys';

/** How often, at most, a key's last_used_at is written: not a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * One answer for every way a key can fail (missing, malformed, unknown, expired, revoked, its
 * user or organization deleted), so that the answer tells an attacker nothing.
 */
function unauthenticated(): GraphQLError {
  return new GraphQLError('a valid API key is required: send Authorization: Bearer <key>', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

function bearerToken(request: Request): string | null {
  const header = request.headers.get('authorization');
  const match = header ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null;
  return match?.[1] ?? null;
}

interface PresentedKey {
  id: string;
  userId: string;
  organizationId: string;
  scopes: string[] | null;
  expiresAt: Date | null;
}

// Every request runs this, so it is plain SQL rather than a Prisma query (compiled and mapped
// per call). Row-level security lets it see the presented key, its user and its organization.
const findPresentedKey = `
  SELECT k.id, k.user_id AS "userId", k.organization_id AS "organizationId", k.scopes, k.expires_at AS "expiresAt"
  FROM api_keys k
  JOIN users u ON u.id = k.user_id AND NOT u.is_deleted
  JOIN organizations o ON o.id = k.organization_id AND NOT o.is_deleted
  WHERE k.key_hash = $1 AND k.is_active AND NOT k.is_deleted AND (k.expires_at IS NULL OR k.expires_at > $2)`;

/**
 * The request authenticator, over `keys` (the process's cache of checked keys). `clock` is the
 * time in milliseconds, the only part a test moves.
 */
export function createAuthenticator(
  { prisma, sql }: Pick<Database, 'prisma' | 'sql'>,
  keys: KeyCache,
  clock: () => number = Date.now,
) {
  const lastUsedWrites = new Map<string, number>();

  /** Writes the key's last_used_at in its organization's scope, unless written a moment ago. */
  async function recordUse(organizationId: string, keyId: string, now: Date): Promise<void> {
    const previous = lastUsedWrites.get(keyId) ?? 0;
    // Checked before entering the scope: most requests write nothing, and pay nothing for it.
    if (now.getTime() - previous < LAST_USED_RESOLUTION_MS) return;
    lastUsedWrites.set(keyId, now.getTime());
    await withOrganization(organizationId, () => writeLastUsed(keyId, now));
  }

  async function writeLastUsed(keyId: string, now: Date): Promise<void> {
    await prisma.apiKey.updateMany({
      where: {
        id: keyId,
        OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) } }],
      },
      data: { lastUsedAt: now },
    });
  }

  /**
   * The key's check in the database, and its caller remembered. Concurrent requests with the same
   * key share one check: when a cached key's time runs out under load, every request in flight
   * would otherwise check it at once (ten statements, and as many scopes changed and changed back).
   */
  const checking = new Map<string, Promise<Caller>>();

  async function check(token: string): Promise<Caller> {
    const now = new Date(clock());
    const generation = keys.generation;
    const keyHash = hashApiKey(token);
    // Row-level security lets this read see the presented key, its user and its organization,
    // and nothing else: the organization is not known yet.
    const lookUp = () =>
      withPresentedApiKey(keyHash, () => sql.query<PresentedKey>(findPresentedKey, [keyHash, now.toISOString()]));
    let [key] = await lookUp();
    if (!key && readMayUseReplica()) {
      // A read replica may not have replayed a key created a moment ago: the primary decides.
      readFromPrimaryFromNowOn();
      [key] = await lookUp();
    }
    if (!key) {
      keys.forget(token);
      throw unauthenticated();
    }
    const scopes = (key.scopes ?? []).filter((scope): scope is Scope => (SCOPES as readonly string[]).includes(scope));
    const caller = { userId: key.userId, organizationId: key.organizationId, apiKeyId: key.id, scopes };
    keys.set(token, caller, now.getTime(), key.expiresAt === null ? null : new Date(key.expiresAt), generation);
    return caller;
  }

  function checkOnce(token: string): Promise<Caller> {
    let pending = checking.get(token);
    if (!pending) {
      pending = check(token).finally(() => checking.delete(token));
      checking.set(token, pending);
    }
    return pending;
  }

  // Made now, outside any request: a check ahead of a key's end runs in this context, so that it
  // is no request's statement and no request's deadline ends it.
  const background = new AsyncResource('agentmem.key-check');

  /** The key checked again while its remembered caller still answers (KeyCache's `refreshDue`). */
  function checkAhead(token: string): void {
    if (checking.has(token)) return;
    // A key found invalid is forgotten by `check`; a database fault leaves the key to run out,
    // and the request after that checks it itself and is answered with the fault.
    background.runInAsyncScope(() => void checkOnce(token).catch(() => undefined));
  }

  /** The caller behind a request's bearer key; throws `unauthenticated()` otherwise. */
  return async function authenticate(request: Request): Promise<Caller> {
    const token = bearerToken(request);
    if (!token || !looksLikeApiKey(token)) throw unauthenticated();
    const now = new Date(clock());
    const cached = keys.get(token, now.getTime());
    if (cached?.refreshDue) checkAhead(token);
    const caller = cached?.caller ?? (await checkOnce(token));
    await recordUse(caller.organizationId, caller.apiKeyId, now);
    return caller;
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
