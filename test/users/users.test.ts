import { seedDemoData } from '../../src/demo/seed';
import { startTestApp, type TestApp } from '../support/test-app';

const USER_OUTCOME = '__typename ... on Error { code field } ... on UserPayload { user { id name status timezone createdById } }';

describe('users', () => {
  let app: TestApp;
  let otherOrganizationUser: string;
  beforeAll(async () => {
    app = await startTestApp('users');
    await seedDemoData(app.database.prisma);
    const other = await seedDemoData(app.database.prisma);
    otherOrganizationUser = (await app.database.prisma.user.findFirstOrThrow({ where: { organizationId: other.organizationId } })).id;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates, updates, lists, soft-deletes and restores users, with the audit trail', async () => {
    const created = await app.graphql<{ createUser: { __typename: string; user: { id: string; status: string; timezone: string; createdById: string } } }>(
      `mutation { createUser(input: { name: "Grace", timezone: "Europe/Paris" }) { ${USER_OUTCOME} } }`,
    );
    const user = created.data!.createUser.user;
    expect(user).toMatchObject({ status: 'active', timezone: 'Europe/Paris' });
    expect(user.id).toMatch(/^user-/);
    expect(user.createdById).toMatch(/^user-/);

    const updated = await app.graphql<{ updateUser: { user: { name: string } } }>(
      `mutation ($id: ID!) { updateUser(id: $id, input: { name: "Grace H." }) { ${USER_OUTCOME} } }`,
      { id: user.id },
    );
    expect(updated.data!.updateUser.user.name).toBe('Grace H.');

    const list = () => app.graphql<{ users: { totalCount: number; nodes: Array<{ id: string }> } }>('{ users { totalCount nodes { id } } }');
    expect((await list()).data!.users.totalCount).toBe(2);
    await app.graphql('mutation ($id: ID!) { deleteUser(id: $id) { __typename } }', { id: user.id });
    expect((await list()).data!.users.nodes.map((node) => node.id)).not.toContain(user.id);
    await app.graphql('mutation ($id: ID!) { restoreUser(id: $id) { __typename } }', { id: user.id });
    expect((await list()).data!.users.nodes.map((node) => node.id)).toContain(user.id);
  });

  it('refuses bad input and other organizations\' users', async () => {
    const badZone = await app.graphql<{ createUser: { code: string; field: string[] } }>(
      `mutation { createUser(input: { name: "X", timezone: "Mars/Olympus" }) { ${USER_OUTCOME} } }`,
    );
    expect(badZone.data!.createUser).toMatchObject({ code: 'VALIDATION', field: ['input', 'timezone'] });
    const blank = await app.graphql<{ createUser: { code: string; field: string[] } }>(`mutation { createUser(input: { name: "  " }) { ${USER_OUTCOME} } }`);
    expect(blank.data!.createUser).toMatchObject({ code: 'VALIDATION', field: ['input', 'name'] });

    const foreign = await app.graphql<{ user: null; updateUser: { __typename: string } }>(
      `query ($id: ID!) { user(id: $id) { id } }`,
      { id: otherOrganizationUser },
    );
    expect(foreign.data!.user).toBeNull();
    const change = await app.graphql<{ updateUser: { __typename: string } }>(
      `mutation ($id: ID!) { updateUser(id: $id, input: { name: "Hijacked" }) { ${USER_OUTCOME} } }`,
      { id: otherOrganizationUser },
    );
    expect(change.data!.updateUser.__typename).toBe('NotFoundError');
    expect((await app.database.prisma.user.findUniqueOrThrow({ where: { id: otherOrganizationUser } })).name).toBe('Demo User');
  });
});
