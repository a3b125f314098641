import { createAuthenticator } from '../../src/auth/authenticate';
import { KeyCache } from '../../src/auth/key-cache';
import { holdTable } from '../support/held-table';
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

  it('checks a key past half its time again while its caller still answers, and never past its time', async () => {
    const issued = (await app.graphqlUntyped(IssueKey)).data as {
      createApiKey: { key: string; apiKey: { id: string } };
    };
    const { key, apiKey } = issued.createApiKey;
    // A process of its own, as the server's: its clock moves only when the test moves it.
    const start = Date.now();
    let now = start;
    const keys = new KeyCache(1_000);
    const authenticate = createAuthenticator(app.database, keys, () => now);
    const presented = () => new Request(app.url, { headers: { authorization: `Bearer ${key}` } });
    let checks = 0;
    const stopCounting = app.database.onStatement((sql) => {
      if (/FROM api_keys k\b/.test(sql)) checks += 1;
    });
    const checked = async (count: number) => {
      while (checks < count) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    try {
      const caller = await authenticate(presented());
      expect(checks).toBe(1);
      now = start + 400;
      await expect(authenticate(presented())).resolves.toEqual(caller);
      expect(checks).toBe(1);

      // Past half its time: answered while the check runs, here held behind the api_keys table.
      now = start + 600;
      let release = await holdTable(app, 'api_keys');
      await expect(authenticate(presented())).resolves.toEqual(caller);
      await release();
      await checked(2);
      // That check, from 600, holds the key until 1,600; past it, a request waits for its own.
      now = start + 1_700;
      release = await holdTable(app, 'api_keys');
      let answered = false;
      const waiting = authenticate(presented()).finally(() => (answered = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(answered).toBe(false);
      await release();
      await expect(waiting).resolves.toEqual(caller);
      expect(checks).toBe(3);

      // Revoked on another process: the check ahead finds it gone, and the key stops at once.
      const revoked = await app.graphqlUntyped(Revoke, { id: apiKey.id });
      expect(revoked.errors).toBeUndefined();
      now = start + 2_300;
      await expect(authenticate(presented())).resolves.toEqual(caller);
      while (keys.get(key, now) !== undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      await expect(authenticate(presented())).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    } finally {
      stopCounting();
    }
  });
});

describe('the key check cache, alone', () => {
  const caller = { userId: 'user-1', organizationId: 'org-1', apiKeyId: 'key-1', scopes: [] };

  it('holds a presented key no longer than its time: the next key checked drops it', () => {
    const cache = new KeyCache(1_000);
    cache.set('amk_first', caller, 0, null, cache.generation);
    expect(cache.get('amk_first', 500)?.caller).toBe(caller);
    cache.set('amk_second', caller, 1_000, null, cache.generation);
    // Asked as of before its time: it is no longer there to answer.
    expect(cache.get('amk_first', 500)).toBeUndefined();
    expect(cache.get('amk_second', 1_500)?.caller).toBe(caller);
  });

  it('is due a check past half its time', () => {
    const cache = new KeyCache(1_000);
    cache.set('amk_key', caller, 0, null, cache.generation);
    expect(cache.get('amk_key', 499)).toEqual({ caller, refreshDue: false });
    expect(cache.get('amk_key', 500)).toEqual({ caller, refreshDue: true });
    expect(cache.get('amk_key', 1_000)).toBeUndefined();
  });

  it('does not take back what a check read before a mutation made it forget every key', () => {
    const cache = new KeyCache(1_000);
    const generation = cache.generation;
    cache.forgetAll();
    cache.set('amk_key', caller, 0, null, generation);
    expect(cache.get('amk_key', 1)).toBeUndefined();
  });

  it('holds a key only until it expires, if sooner', () => {
    const cache = new KeyCache(1_000);
    cache.set('amk_soon', caller, 0, new Date(100), cache.generation);
    expect(cache.get('amk_soon', 99)?.caller).toBe(caller);
    expect(cache.get('amk_soon', 100)).toBeUndefined();
  });
});
