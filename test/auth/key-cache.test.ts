import { KeyCache } from '../../src/auth/key-cache';
import { type ServerProcess, startServerProcess } from '../support/server-process';
import { startTestApp, type TestApp } from '../support/test-app';
import { cloneMigratedDatabase, testDatabaseKind } from '../support/test-databases';

// Two processes share one PostgreSQL database (PGlite is one process's alone: this runs on the
// PostgreSQL half). A checked key is trusted for AUTH_CACHE_MS (900) without a statement.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

const IssueKey =
  'mutation { createApiKey(input: { name: "short-lived", scopes: [READ] }) { ... on CreatedApiKey { ' +
  'key apiKey { id } } } }';
const Revoke = 'mutation ($id: ID!) { revokeApiKey(id: $id) { __typename } }';

async function status(url: string, key: string): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('the key check cache (AUTH_CACHE_MS)', () => {
  let app: TestApp;
  let database: Awaited<ReturnType<typeof cloneMigratedDatabase>>;
  let other: ServerProcess | undefined;

  beforeAll(async () => {
    database = await cloneMigratedDatabase('key_cache');
    app = await startTestApp('key_cache', { database: database.settings });
    await app.seedDemo();
  });
  afterAll(async () => {
    await other?.stop();
    await app?.close();
    await database?.drop();
  });

  onPostgres('stops a revoked key at once on the process that revoked it, and within 1 s on every other', async () => {
    if (database.settings.kind !== 'postgres') throw new Error('PostgreSQL only');
    other = await startServerProcess({
      DATABASE_URL: database.settings.url,
      MIGRATE_ON_START: 'false',
      DEMO_DATA: 'false',
      AUTH_CACHE_MS: '900',
    });
    const issued = (await app.graphqlUntyped(IssueKey)).data as {
      createApiKey: { key: string; apiKey: { id: string } };
    };
    const { key, apiKey } = issued.createApiKey;

    // Both processes have checked the key, and trust it now.
    expect(await status(app.url, key)).toBe(200);
    expect(await status(other.url, key)).toBe(200);
    expect(await status(other.url, key)).toBe(200);

    const revoked = await app.graphqlUntyped(Revoke, { id: apiKey.id });
    expect(revoked.errors).toBeUndefined();
    const revokedAt = Date.now();
    // This process forgot every key with the mutation.
    expect(await status(app.url, key)).toBe(401);

    // The other process: asked every 50 ms until it refuses. The first refusal must have been
    // sent within the contract's second (its cache holds a key 900 ms at most; the margin is
    // the polling interval, not the machine's load: a late answer does not move when it was sent).
    let refusedSentAt: number | undefined;
    while (refusedSentAt === undefined && Date.now() - revokedAt < 5_000) {
      const sentAt = Date.now();
      if ((await status(other.url, key)) === 401) refusedSentAt = sentAt;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(refusedSentAt).toBeDefined();
    expect(refusedSentAt! - revokedAt).toBeLessThan(1_000);
  });

  it('checks a key once for all the requests that present it at the same time', async () => {
    const issued = (await app.graphqlUntyped(IssueKey)).data as { createApiKey: { key: string } };
    const { key } = issued.createApiKey;
    const { result: statuses, statements } = await app.countStatements(() =>
      Promise.all(Array.from({ length: 10 }, () => status(app.url, key))),
    );
    expect(statuses).toEqual(Array.from({ length: 10 }, () => 200));
    expect(statements.filter((statement) => /FROM api_keys k\b/.test(statement))).toHaveLength(1);
  });
});

describe('the key check cache, alone', () => {
  const caller = { userId: 'user-1', organizationId: 'org-1', apiKeyId: 'key-1', scopes: [] };

  it('holds a presented key no longer than its time: the next key checked drops it', () => {
    const cache = new KeyCache(1_000);
    cache.set('amk_first', caller, 0, null);
    expect(cache.get('amk_first', 500)).toBe(caller);
    cache.set('amk_second', caller, 1_000, null);
    // Asked as of before its time: it is no longer there to answer.
    expect(cache.get('amk_first', 500)).toBeUndefined();
    expect(cache.get('amk_second', 1_500)).toBe(caller);
  });

  it('holds a key only until it expires, if sooner', () => {
    const cache = new KeyCache(1_000);
    cache.set('amk_soon', caller, 0, new Date(100));
    expect(cache.get('amk_soon', 99)).toBe(caller);
    expect(cache.get('amk_soon', 100)).toBeUndefined();
  });
});
