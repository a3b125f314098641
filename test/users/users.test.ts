import { graphql } from '../generated';
import type { CreateUserInput } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateUser = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) { __typename ... on Error { code field } ... on UserPayload { user {
      id name status timezone createdById } } }
  }
`);
const UpdateUser = graphql(`
  mutation UpdateUser($id: ID!, $input: UpdateUserInput!) {
    updateUser(id: $id, input: $input) { __typename ... on Error { code field } ... on UserPayload { user {
      id name } } }
  }
`);
const DeleteUser = graphql(`
  mutation DeleteUser($id: ID!) { deleteUser(id: $id) { __typename } }
`);
const RestoreUser = graphql(`
  mutation RestoreUser($id: ID!) { restoreUser(id: $id) { __typename } }
`);
const PurgeUser = graphql(`
  mutation PurgeUser($id: ID!) { purgeUser(id: $id) { __typename } }
`);
const Users = graphql(`
  query Users { users { totalCount nodes { id } } }
`);
const UserById = graphql(`
  query UserById($id: ID!) { user(id: $id) { id organization { id } } }
`);

describe('users', () => {
  let app: TestApp;
  let otherOrganizationUser: string;
  beforeAll(async () => {
    app = await startTestApp('users');
    await app.seedDemo();
    const other = await app.seedDemo();
    otherOrganizationUser = (
      await app.database.owner.user.findFirstOrThrow({ where: { organizationId: other.organizationId } })
    ).id;
  });
  afterAll(async () => {
    await app?.close();
  });

  const createUser = async (input: CreateUserInput) => (await app.graphql(CreateUser, { input })).data!.createUser;
  const listedIds = async () => (await app.graphql(Users)).data!.users.nodes.map((node) => node.id);

  it('creates, updates, lists, soft-deletes, restores and purges users, with the audit trail', async () => {
    const created = await createUser({ name: 'Grace', timezone: 'Europe/Paris' });
    if (created.__typename !== 'UserPayload') throw new Error(`createUser returned ${created.__typename}`);
    const user = created.user;
    expect(user).toMatchObject({ status: 'active', timezone: 'Europe/Paris' });
    expect(user.id).toMatch(/^user-/);
    expect(user.createdById).toMatch(/^user-/);

    const updated = (await app.graphql(UpdateUser, { id: user.id, input: { name: 'Grace H.' } })).data!.updateUser;
    expect(updated).toMatchObject({ __typename: 'UserPayload', user: { name: 'Grace H.' } });
    expect((await app.graphql(Users)).data!.users.totalCount).toBe(2);

    await app.graphql(DeleteUser, { id: user.id });
    expect(await listedIds()).not.toContain(user.id);
    expect((await app.graphql(UserById, { id: user.id })).data!.user).toBeNull();
    await app.graphql(RestoreUser, { id: user.id });
    expect(await listedIds()).toContain(user.id);
    expect((await app.graphql(PurgeUser, { id: user.id })).data!.purgeUser.__typename).toBe('DeletedPayload');
    expect(await app.database.owner.user.findUnique({ where: { id: user.id } })).toBeNull();
  });

  it("refuses bad input and another organization's users, changing nothing", async () => {
    expect(await createUser({ name: 'X', timezone: 'Mars/Olympus' })).toMatchObject({
      code: 'VALIDATION',
      field: ['input', 'timezone'],
    });
    expect(await createUser({ name: '  ' })).toMatchObject({ code: 'VALIDATION', field: ['input', 'name'] });

    expect((await app.graphql(UserById, { id: otherOrganizationUser })).data!.user).toBeNull();
    const change = (await app.graphql(UpdateUser, { id: otherOrganizationUser, input: { name: 'Hijacked' } })).data!
      .updateUser;
    expect(change.__typename).toBe('NotFoundError');
    expect((await app.graphql(DeleteUser, { id: otherOrganizationUser })).data!.deleteUser.__typename).toBe(
      'NotFoundError',
    );
    const stored = await app.database.owner.user.findUniqueOrThrow({ where: { id: otherOrganizationUser } });
    expect(stored).toMatchObject({ name: 'Demo User', isDeleted: false });
  });
});
