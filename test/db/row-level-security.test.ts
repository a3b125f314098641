import { hashApiKey } from '../../src/auth/keys';
import {
  APPLICATION_ROLE,
  withOrganization,
  withPresentedApiKey,
  withWorkQueue,
} from '../../src/db/row-level-security';
import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

/** Every table the application may touch, with how a row names its organization. */
const TENANT_TABLES = {
  organizations: 'id',
  users: 'organization_id',
  agents: 'organization_id',
  messages: 'organization_id',
  blocks: 'organization_id',
  tools: 'organization_id',
  memories: 'organization_id',
  api_keys: 'organization_id',
  idempotency_keys: 'organization_id',
  block_history: 'organization_id',
  memory_history: 'organization_id',
  embedding_jobs: 'organization_id',
  blocks_agents: '(SELECT organization_id FROM agents WHERE agents.id = agent_id)',
  tools_agents: '(SELECT organization_id FROM agents WHERE agents.id = agent_id)',
} as const;

type TenantTable = keyof typeof TENANT_TABLES;

/**
 * Every view the application may read. A view reads its tables with its owner's rights, which
 * may bypass the policies (memory search's does, to reach its index), so each must show only the
 * scope's rows by its own condition.
 */
const TENANT_VIEWS = {
  live_memories_in_scope: 'organization_id',
  live_memory_vectors_in_scope: 'organization_id',
} as const;

type TenantView = keyof typeof TENANT_VIEWS;
const TENANT_RELATIONS = { ...TENANT_TABLES, ...TENANT_VIEWS };

const KeptToolCreation = graphql(`
  mutation RowLevelSecurityKeptTool { createTool(input: { name: "kept" }) { __typename } }
`);

const KeptMemoryCreation = graphql(`
  mutation RowLevelSecurityKeptMemory($agentId: ID!) {
    createMemory(input: { agentId: $agentId, content: "kept", memoryType: FACTUAL, scope: "user", level: "core" }) {
      __typename }
  }
`);

const AgentsWithRelations = graphql(`
  query IsolatedAgents {
    me { organization { id } }
    agents(first: 100) { nodes { id blocks { id } tools { id } recentMessages(limit: 10) { id } } }
  }
`);

describe('row-level security', () => {
  let app: TestApp;
  let own: DemoData;
  let other: DemoData;

  /** The organizations whose rows `table` shows: read through the application's own connection. */
  async function organizationsSeenIn(table: TenantTable | TenantView): Promise<string[]> {
    // Deliberately unfiltered: no WHERE, as a resolver with a forgotten filter would send it.
    const rows = await app.database.prisma.$queryRawUnsafe<Array<{ organization: string }>>(
      `SELECT ${TENANT_RELATIONS[table]} AS organization FROM ${table}`,
    );
    return [...new Set(rows.map((row) => row.organization))];
  }

  async function ownerCount(table: TenantTable, organizationId: string): Promise<number> {
    const rows = await app.database.owner.$queryRawUnsafe<Array<{ count: number }>>(
      `SELECT count(*)::int AS count FROM ${table} WHERE ${TENANT_TABLES[table]} = $1`,
      organizationId,
    );
    return rows[0]!.count;
  }

  beforeAll(async () => {
    app = await startTestApp('row_level_security');
    own = await app.seedDemo();
    other = await app.seedDemo();
    // A mutation with an Idempotency-Key per organization, so that idempotency_keys has rows of both.
    for (const caller of [own, other]) {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${caller.key}`,
          'idempotency-key': 'row-level-security',
        },
        body: JSON.stringify({ query: KeptToolCreation.toString() }),
      });
      expect(response.status).toBe(200);
      // A memory's creation, so that memory_history has rows of both.
      expect(
        (await app.graphqlAs(caller.key, KeptMemoryCreation, { agentId: caller.agentId })).data?.createMemory
          .__typename,
      ).toBe('MemoryPayload');
    }
    // An embedding per organization, so that the vector search's view has rows of both.
    await app.database.owner.$executeRawUnsafe(
      `UPDATE memories SET embedding = '[1,0,0]', embedding_model = 'rls', embedding_dimensions = 3
       WHERE content = 'kept' AND organization_id IN ($1, $2)`,
      own.organizationId,
      other.organizationId,
    );
    // A job for the embedding provider per organization, so that embedding_jobs has rows of both.
    await app.database.owner.$executeRawUnsafe(
      `INSERT INTO embedding_jobs (memory_id, organization_id)
       SELECT id, organization_id FROM memories WHERE content = 'kept' AND organization_id IN ($1, $2)`,
      own.organizationId,
      other.organizationId,
    );
  });
  afterAll(async () => {
    await app?.close();
  });

  it('gives a query without any tenant filter only the rows of the organization in scope', async () => {
    for (const table of Object.keys(TENANT_TABLES) as TenantTable[]) {
      expect(await ownerCount(table, other.organizationId)).toBeGreaterThan(0);
      const seen = await withOrganization(own.organizationId, () => organizationsSeenIn(table));
      expect({ table, seen }).toEqual({ table, seen: [own.organizationId] });
    }
    for (const view of Object.keys(TENANT_VIEWS) as TenantView[]) {
      const seen = await withOrganization(own.organizationId, () => organizationsSeenIn(view));
      expect({ view, seen }).toEqual({ view, seen: [own.organizationId] });
    }
    // Prisma's own queries, unfiltered, are held the same way.
    const agents = await withOrganization(own.organizationId, () => app.database.prisma.agent.findMany());
    expect(agents.map((agent) => agent.id)).toEqual([own.agentId]);
  });

  it('shows no row at all to a statement outside any organization', async () => {
    for (const table of Object.keys(TENANT_RELATIONS) as Array<TenantTable | TenantView>) {
      expect({ table, seen: await organizationsSeenIn(table) }).toEqual({ table, seen: [] });
    }
  });

  it("shows the embedding worker's scope all organizations' jobs, to reschedule only, and no other row", async () => {
    await withWorkQueue('embeddings', async () => {
      for (const table of Object.keys(TENANT_RELATIONS) as Array<TenantTable | TenantView>) {
        const seen = (await organizationsSeenIn(table)).sort();
        const expected = table === 'embedding_jobs' ? [own.organizationId, other.organizationId].sort() : [];
        expect({ table, seen }).toEqual({ table, seen: expected });
      }
      expect(
        await app.database.prisma.$executeRawUnsafe(
          "UPDATE embedding_jobs SET next_attempt_at = now() + interval '1 minute'",
        ),
      ).toBe(2);
      // Neither deleted nor created there: a job ends in its organization's scope, with its memory.
      expect(await app.database.prisma.$executeRawUnsafe('DELETE FROM embedding_jobs')).toBe(0);
      const memory = await app.database.owner.memory.findFirstOrThrow({
        where: { organizationId: own.organizationId, content: { not: 'kept' } },
      });
      await expect(
        app.database.prisma.$executeRawUnsafe(
          'INSERT INTO embedding_jobs (memory_id, organization_id) VALUES ($1, $2)',
          memory.id,
          own.organizationId,
        ),
      ).rejects.toThrow(/row-level security/);
    });
  });

  it('shows authentication the presented key, its user and its organization, and nothing else', async () => {
    const seen = await withPresentedApiKey(hashApiKey(own.key), async () => ({
      keys: (await app.database.prisma.apiKey.findMany()).map((key) => key.userId),
      users: (await app.database.prisma.user.findMany()).map((user) => user.id),
      organizations: (await app.database.prisma.organization.findMany()).map((organization) => organization.id),
      agents: await organizationsSeenIn('agents'),
      blocks: await organizationsSeenIn('blocks'),
    }));
    expect(seen).toEqual({
      keys: [own.userId],
      users: [own.userId],
      organizations: [own.organizationId],
      agents: [],
      blocks: [],
    });
  });

  it('refuses rows written into another organization, or naming its users, agents, blocks, tools or keys', async () => {
    const prisma = app.database.prisma;
    const [ownBlock, ownTool, otherUser, otherBlock, otherTool, otherKey] = await Promise.all([
      app.database.owner.block.findFirstOrThrow({ where: { organizationId: own.organizationId } }),
      app.database.owner.tool.findFirstOrThrow({ where: { organizationId: own.organizationId } }),
      app.database.owner.user.findFirstOrThrow({ where: { organizationId: other.organizationId } }),
      app.database.owner.block.findFirstOrThrow({ where: { organizationId: other.organizationId } }),
      app.database.owner.tool.findFirstOrThrow({ where: { organizationId: other.organizationId } }),
      app.database.owner.apiKey.findFirstOrThrow({ where: { organizationId: other.organizationId } }),
    ]);
    const expiresAt = new Date(Date.now() + 60_000);
    const kept = { key: 'smuggled', requestHash: '0'.repeat(64), responseStatus: 200, responseBody: '{}', expiresAt };
    const attempts: Array<() => Promise<unknown>> = [
      () =>
        prisma.agent.create({ data: { id: 'agent-smuggled', organizationId: other.organizationId, name: 'smuggled' } }),
      () =>
        prisma.message.create({
          data: {
            id: 'message-smuggled',
            organizationId: own.organizationId,
            userId: otherUser.id,
            agentId: own.agentId,
            role: 'user',
            text: 'hi',
          },
        }),
      () =>
        prisma.blockAgent.create({
          data: {
            blockId: otherBlock.id,
            blockLabel: otherBlock.label,
            agentId: own.agentId,
            organizationId: own.organizationId,
          },
        }),
      () =>
        prisma.toolAgent.create({
          data: { toolId: otherTool.id, agentId: own.agentId, organizationId: own.organizationId },
        }),
      () =>
        prisma.idempotencyKey.create({ data: { ...kept, apiKeyId: otherKey.id, organizationId: own.organizationId } }),
      () =>
        prisma.idempotencyKey.create({
          data: { ...kept, apiKeyId: otherKey.id, organizationId: other.organizationId },
        }),
      // A version of another organization's block, or one of its own naming another's user or key.
      () =>
        prisma.blockVersion.create({
          data: {
            id: `${otherBlock.id}:v9`,
            organizationId: own.organizationId,
            blockId: otherBlock.id,
            version: 9,
            value: 'x',
            limit: 10,
          },
        }),
      () =>
        prisma.blockVersion.create({
          data: {
            id: `${ownBlock.id}:v9`,
            organizationId: own.organizationId,
            blockId: ownBlock.id,
            version: 9,
            value: 'x',
            limit: 10,
            changedById: otherUser.id,
          },
        }),
      () =>
        prisma.blockVersion.create({
          data: {
            id: `${ownBlock.id}:v9`,
            organizationId: own.organizationId,
            blockId: ownBlock.id,
            version: 9,
            value: 'x',
            limit: 10,
            apiKeyId: otherKey.id,
          },
        }),
    ];
    for (const attempt of attempts) {
      await expect(withOrganization(own.organizationId, attempt)).rejects.toThrow();
    }

    // A junction row of the organization's own agent and block or tool is refused when it names
    // another organization, and taken when it names its own: the column is what the policy reads.
    const unlinked = await app.database.owner.agent.create({
      data: { id: `agent-unlinked-${Date.now()}`, organizationId: own.organizationId },
    });
    const blockLink = { blockId: ownBlock.id, blockLabel: ownBlock.label, agentId: unlinked.id };
    const toolLink = { toolId: ownTool.id, agentId: unlinked.id };
    for (const attempt of [
      (): Promise<unknown> =>
        prisma.blockAgent.create({ data: { ...blockLink, organizationId: other.organizationId } }),
      () => prisma.toolAgent.create({ data: { ...toolLink, organizationId: other.organizationId } }),
    ]) {
      await expect(withOrganization(own.organizationId, attempt)).rejects.toThrow(/row-level security/);
    }
    await withOrganization(own.organizationId, async () => {
      await prisma.blockAgent.create({ data: { ...blockLink, organizationId: own.organizationId } });
      await prisma.toolAgent.create({ data: { ...toolLink, organizationId: own.organizationId } });
    });
    expect(await app.database.owner.blockAgent.count({ where: { agentId: unlinked.id } })).toBe(1);
    expect(await app.database.owner.toolAgent.count({ where: { agentId: unlinked.id } })).toBe(1);
    await app.database.owner.agent.delete({ where: { id: unlinked.id } });

    const before = await app.database.owner.agent.findUniqueOrThrow({ where: { id: other.agentId } });
    const changed = await withOrganization(own.organizationId, async () => [
      (await prisma.agent.updateMany({ where: { id: other.agentId }, data: { name: 'taken over' } })).count,
      (await prisma.message.deleteMany({ where: { agentId: other.agentId } })).count,
      (await prisma.organization.updateMany({ where: { id: other.organizationId }, data: { name: 'taken over' } }))
        .count,
    ]);
    expect(changed).toEqual([0, 0, 0]);
    expect(await app.database.owner.agent.findUniqueOrThrow({ where: { id: other.agentId } })).toEqual(before);
    expect(await ownerCount('messages', other.organizationId)).toBeGreaterThan(0);
  });

  it('runs the application as a role that owns no table and cannot bypass the policies', async () => {
    const [role] = await withOrganization(
      own.organizationId,
      () =>
        app.database.prisma.$queryRaw<Array<{ name: string; superuser: boolean; bypass: boolean }>>`
        SELECT current_user::text AS name, rolsuper AS superuser, rolbypassrls AS bypass FROM pg_roles
          WHERE rolname = current_user`,
    );
    expect(role).toEqual({ name: APPLICATION_ROLE, superuser: false, bypass: false });

    // Every table, including any a later migration adds, is covered: enabled, forced, with a policy.
    const tables = await app.database.owner.$queryRaw<
      Array<{ table: string; enabled: boolean; forced: boolean; policies: number; owner: string }>
    >`
      SELECT c.relname::text AS "table", c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
               pg_get_userbyid(c.relowner)::text AS owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_prisma_migrations'
      ORDER BY 1`;
    expect(tables.map((table) => table.table).sort()).toEqual(Object.keys(TENANT_TABLES).sort());
    for (const table of tables) {
      expect(table).toMatchObject({ enabled: true, forced: true });
      expect(table.policies).toBeGreaterThan(0);
      expect(table.owner).not.toBe(APPLICATION_ROLE);
    }
    await expect(
      withOrganization(own.organizationId, () =>
        app.database.prisma.$queryRawUnsafe('SELECT count(*) FROM _prisma_migrations'),
      ),
    ).rejects.toThrow();

    // Every view the application may read, including any a later migration adds, is one the
    // tests above hold to the scope; and it may only read them.
    const views = await app.database.owner.$queryRaw<Array<{ view: string; writable: boolean }>>`
      SELECT c.relname::text AS view,
             has_table_privilege(${APPLICATION_ROLE}, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS writable
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
        AND has_table_privilege(${APPLICATION_ROLE}, c.oid, 'SELECT')
      ORDER BY 1`;
    expect(views).toEqual(
      Object.keys(TENANT_VIEWS)
        .sort()
        .map((view) => ({ view, writable: false })),
    );
  });

  it('keeps concurrent requests of two organizations apart, through loaders and batching', async () => {
    const callers = Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? own : other));
    const responses = await Promise.all(callers.map((caller) => app.graphqlAs(caller.key, AgentsWithRelations)));
    responses.forEach((response, index) => {
      const caller = callers[index]!;
      expect(response.errors).toBeUndefined();
      expect(response.data?.me.organization.id).toBe(caller.organizationId);
      expect(response.data?.agents.nodes.map((agent) => agent.id)).toEqual([caller.agentId]);
      expect(response.data?.agents.nodes[0]?.blocks).toHaveLength(2);
      expect(response.data?.agents.nodes[0]?.recentMessages.length).toBeGreaterThan(0);
    });
  });
});
