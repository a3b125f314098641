import { graphql } from '../generated';
import type { CreateToolInput } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateTool = graphql(`
  mutation CreateTool($input: CreateToolInput!) {
    createTool(input: $input) { __typename ... on Error { code field } ... on ToolPayload { tool {
      id name tags jsonSchema } } }
  }
`);
const UpdateTool = graphql(`
  mutation UpdateTool($id: ID!, $input: UpdateToolInput!) {
    updateTool(id: $id, input: $input) { __typename ... on Error { code field } ... on ToolPayload { tool {
      id description } } }
  }
`);
const FilterTools = graphql(`
  query FilterTools($filter: ToolFilter) { tools(filter: $filter) { totalCount nodes { id } } }
`);
const AttachTool = graphql(`
  mutation AttachTool($agentId: ID!, $toolId: ID!) {
    attachTool(agentId: $agentId, toolId: $toolId) { __typename ... on AgentPayload { agent { tools { id } } } }
  }
`);
const DetachTool = graphql(`
  mutation DetachTool($agentId: ID!, $toolId: ID!) {
    detachTool(agentId: $agentId, toolId: $toolId) { __typename ... on AgentPayload { agent { tools { id } } } }
  }
`);
const ToolAgents = graphql(`
  query ToolAgents($id: ID!) { tool(id: $id) { agents { id } } }
`);
const AgentTools = graphql(`
  query AgentTools($id: ID!) { agent(id: $id) { tools { id } } }
`);
const DeleteTool = graphql(`
  mutation DeleteTool($id: ID!) { deleteTool(id: $id) { __typename } }
`);
const RestoreTool = graphql(`
  mutation RestoreTool($id: ID!) { restoreTool(id: $id) { __typename } }
`);
const PurgeTool = graphql(`
  mutation PurgeTool($id: ID!) { purgeTool(id: $id) { __typename } }
`);

describe('tools', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('tools');
    ({ agentId } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  const createTool = async (input: CreateToolInput) => (await app.graphql(CreateTool, { input })).data!.createTool;
  const agentToolIds = async () =>
    (await app.graphql(AgentTools, { id: agentId })).data!.agent!.tools.map((tool) => tool.id);

  it('creates, updates, filters, attaches, detaches, soft-deletes, restores and purges tools', async () => {
    const created = await createTool({ name: 'Web_Search', tags: ['web', 'search'], jsonSchema: { type: 'object' } });
    if (created.__typename !== 'ToolPayload') throw new Error(`createTool returned ${created.__typename}`);
    const toolId = created.tool.id;
    expect(created.tool.tags).toEqual(['web', 'search']);
    expect(
      (await app.graphql(UpdateTool, { id: toolId, input: { description: 'Searches the web.' } })).data!.updateTool,
    ).toMatchObject({
      tool: { description: 'Searches the web.' },
    });

    expect((await app.graphql(FilterTools, { filter: { nameContains: 'web_s' } })).data!.tools.nodes).toEqual([
      { id: toolId },
    ]);
    // `%` and `_` are the client's characters, not LIKE wildcards: "eb%se" would match Web_Search.
    expect((await app.graphql(FilterTools, { filter: { nameContains: 'eb%se' } })).data!.tools.nodes).toEqual([]);
    expect((await app.graphql(FilterTools, { filter: { tag: 'memory' } })).data!.tools.totalCount).toBe(1);

    expect((await app.graphql(AttachTool, { agentId, toolId })).data!.attachTool.__typename).toBe('AgentPayload');
    expect(await agentToolIds()).toContain(toolId);
    expect((await app.graphql(ToolAgents, { id: toolId })).data!.tool!.agents).toEqual([{ id: agentId }]);

    await app.graphql(DeleteTool, { id: toolId });
    expect(await agentToolIds()).not.toContain(toolId);
    await app.graphql(RestoreTool, { id: toolId });
    expect(await agentToolIds()).toContain(toolId);

    expect((await app.graphql(DetachTool, { agentId, toolId })).data!.detachTool.__typename).toBe('AgentPayload');
    expect(await agentToolIds()).not.toContain(toolId);
    expect((await app.graphql(PurgeTool, { id: toolId })).data!.purgeTool.__typename).toBe('DeletedPayload');
    expect(await app.database.owner.tool.findUnique({ where: { id: toolId } })).toBeNull();
  });

  it('refuses bad tool input, writing nothing', async () => {
    const before = await app.database.owner.tool.count();
    const inputs: CreateToolInput[] = [{ name: '' }, { name: 'x', jsonSchema: [1, 2] }, { name: 'x', tags: [''] }];
    for (const input of inputs) {
      expect(await createTool(input)).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    }
    // The schema says a name is required (CreateToolInput.name: String!), and it is refused as a VALIDATION error.
    const nameless = await app.graphqlUntyped(CreateTool.toString(), { input: { description: 'no name' } });
    expect(nameless.errors?.[0]?.extensions).toEqual({ code: 'VALIDATION', field: ['$input', 'name'] });
    expect(await app.database.owner.tool.count()).toBe(before);
  });
});
