import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const MeAndOrganization = graphql(`
  query MeAndOrganization {
    me { user { name organizationId } organization { id } }
    organization { id name agentCount userCount }
  }
`);

describe('me and organization', () => {
  let app: TestApp;
  let organizationId: string;
  beforeAll(async () => {
    app = await startTestApp('organizations');
    ({ organizationId } = await app.seedDemo());
    await app.seedDemo(); // another tenant, never visible
  });
  afterAll(async () => {
    await app?.close();
  });

  it("answers the caller's user and organization, with live counts", async () => {
    const response = await app.graphql(MeAndOrganization);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({
      me: { user: { name: 'Demo User', organizationId }, organization: { id: organizationId } },
      organization: { id: organizationId, name: 'Demo Organization', agentCount: 1, userCount: 1 },
    });
  });
});
