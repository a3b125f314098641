import { withOrganization, withWorkQueue } from '../../src/db/row-level-security';
import type { DemoData } from '../../src/demo/seed';
import { sweepExpiredMemories } from '../../src/memories/expiry';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The expiry sweep's own role (issue 17, migration 20261203161700_memory_validity_follow_up):
 * agentmem_expiry_sweep, taken by the `expiry` work queue's scope exactly as the sweep takes it
 * (src/memories/expiry.ts), under row-level security. It may learn which organizations have
 * expired memories, from three columns of the expired live rows, and nothing more: no other
 * column, row or table, and no write. Moving those memories to the trash is done in each
 * organization's own scope, as the application's role; this checks that it cannot be done as the
 * sweep's.
 */
describe("the expiry sweep's role can do only what the sweep needs", () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;

  beforeAll(async () => {
    app = await startTestApp('expiry_sweep_role', { memoryExpirySweepSeconds: 0 });
    own = await app.seedDemo();
    other = await app.seedDemo();
    for (const [owner, prefix] of [
      [own, 'own'],
      [other, 'other'],
    ] as const)
      await app.database.owner.$executeRawUnsafe(
        `INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level, expires_at,
           is_deleted)
         VALUES ($1 || '-expired', $2, $3, $4, 'secret expired', 'factual', 'user', 'core', now() - interval '1 hour',
                 false),
                ($1 || '-later', $2, $3, $4, 'secret later', 'factual', 'user', 'core', now() + interval '1 day',
                 false),
                ($1 || '-trashed', $2, $3, $4, 'secret trashed', 'factual', 'user', 'core', now() - interval '1 hour',
                 true),
                ($1 || '-forever', $2, $3, $4, 'secret forever', 'factual', 'user', 'core', NULL, false)`,
        `sweep-role-${prefix}`,
        owner.organizationId,
        owner.userId,
        owner.agentId,
      );
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  /** A statement as the sweep's role, in its scope: its rows, or the error's message. */
  const asSweep = (text: string) =>
    withWorkQueue('expiry', () => app.database.prisma.$queryRawUnsafe<Record<string, unknown>[]>(text)).then(
      (rows) => ({ rows, error: undefined }),
      (error: unknown) => ({ rows: undefined, error: String((error as Error).message) }),
    );

  it('is the role the sweep runs as, and sees only the expired live rows, of every organization', async () => {
    const [role] = (await asSweep('SELECT current_user::text AS role')).rows!;
    expect(role).toEqual({ role: 'agentmem_expiry_sweep' });
    const seen = await asSweep(
      `SELECT organization_id, is_deleted, expires_at <= clock_timestamp() AS expired FROM memories
       ORDER BY organization_id`,
    );
    expect(seen.error).toBeUndefined();
    expect(seen.rows).toEqual(
      [own.organizationId, other.organizationId]
        .sort()
        .map((organizationId) => ({ organization_id: organizationId, is_deleted: false, expired: true })),
    );
  });

  it("takes its role and leaves it statement by statement, between organizations' scopes", async () => {
    // One connection: each statement in its own scope, the first after a change of role too. (The
    // role was written into the scope's prepared statement, whose one name node-postgres refuses
    // for another text: the first statement after a change ran in the scope held before, a
    // request's as the sweep's role and the sweep's in an organization's.)
    const who = `SELECT current_user::text AS role, current_setting('app.organization_id', true) AS organization`;
    const read = () => app.database.prisma.$queryRawUnsafe<Array<{ role: string; organization: string }>>(who);
    const seen = [];
    for (const scope of [own.organizationId, 'expiry', 'expiry', other.organizationId, 'expiry', own.organizationId])
      seen.push(...(await (scope === 'expiry' ? withWorkQueue('expiry', read) : withOrganization(scope, read))));
    const app_ = (organization: string) => ({ role: 'agentmem_app', organization });
    const sweep = { role: 'agentmem_expiry_sweep', organization: '' };
    expect(seen).toEqual([
      app_(own.organizationId),
      sweep,
      sweep,
      app_(other.organizationId),
      sweep,
      app_(own.organizationId),
    ]);
  });

  it('reads no other column of memories, no other table, and writes nothing', async () => {
    for (const column of ['id', 'content', 'agent_id', 'user_id', 'metadata', 'embedding_status', '*']) {
      const { error } = await asSweep(`SELECT ${column} FROM memories`);
      expect({ column, error }).toEqual({ column, error: expect.stringMatching(/permission denied/) });
    }
    for (const table of [
      'agents',
      'organizations',
      'users',
      'api_keys',
      'memory_history',
      'messages',
      'blocks',
      'embedding_jobs',
      'idempotency_keys',
    ]) {
      const { error } = await asSweep(`SELECT count(*) FROM ${table}`);
      expect({ table, error }).toEqual({ table, error: expect.stringMatching(/permission denied/) });
    }
    for (const write of [
      `UPDATE memories SET is_deleted = true WHERE expires_at <= clock_timestamp()`,
      `UPDATE memories SET expires_at = NULL`,
      `DELETE FROM memories WHERE expires_at <= clock_timestamp()`,
      `INSERT INTO memories (id, organization_id, user_id, agent_id, content, memory_type, scope, level)
       VALUES ('sweep-role-forged', '${own.organizationId}', '${own.userId}', '${own.agentId}', 'x', 'factual',
               'user', 'core')`,
      `INSERT INTO memory_history (id, organization_id, memory_id, event) VALUES ('h', '${own.organizationId}',
         'sweep-role-own-expired', 'expire')`,
      `UPDATE agents SET is_deleted = true`,
    ]) {
      const { error } = await asSweep(write);
      expect({ write, error }).toEqual({ write, error: expect.stringMatching(/permission denied/) });
    }
    // Nothing moved: every row as it was inserted.
    const rows = await app.database.owner.$queryRawUnsafe<Array<{ id: string; is_deleted: boolean }>>(
      `SELECT id, is_deleted FROM memories WHERE id LIKE 'sweep-role-%' ORDER BY id`,
    );
    expect(rows.filter((row) => row.is_deleted).map((row) => row.id)).toEqual([
      'sweep-role-other-trashed',
      'sweep-role-own-trashed',
    ]);
    expect(rows).toHaveLength(8);
  });

  it("moves the expired memories to the trash in each organization's own scope, and only them", async () => {
    // The application's role in one organization's scope cannot reach the other's rows.
    const reached = await withOrganization(own.organizationId, () =>
      app.database.prisma.$queryRawUnsafe<Array<{ id: string }>>(
        `SELECT id FROM memories WHERE id LIKE 'sweep-role-%' ORDER BY id`,
      ),
    );
    expect(reached.map((row) => row.id).every((id) => id.startsWith('sweep-role-own-'))).toBe(true);
    for (const owner of [own, other])
      expect(await sweepExpiredMemories(app.database.prisma, app.live, owner.organizationId)).toBe(1);
    const trashed = await app.database.owner.$queryRawUnsafe<Array<{ id: string }>>(
      `SELECT id FROM memories WHERE id LIKE 'sweep-role-%' AND is_deleted ORDER BY id`,
    );
    expect(trashed.map((row) => row.id)).toEqual([
      'sweep-role-other-expired',
      'sweep-role-other-trashed',
      'sweep-role-own-expired',
      'sweep-role-own-trashed',
    ]);
    // And the sweep's role sees nothing left to sweep.
    const left = await asSweep(
      "SELECT current_user::text AS role, count(*)::int AS count FROM memories WHERE organization_id LIKE 'org-%'",
    );
    expect(left.rows).toEqual([{ role: 'agentmem_expiry_sweep', count: 0 }]);
  });
});
