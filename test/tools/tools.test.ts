import { seedDemoData } from '../../src/demo/seed';
import { startTestApp, type TestApp } from '../support/test-app';

const TOOL_OUTCOME = '__typename ... on Error { code field } ... on ToolPayload { tool { id name tags jsonSchema agents { id } } }';

describe('tools', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('tools');
    ({ agentId } = await seedDemoData(app.database.prisma));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates, filters, attaches, detaches and soft-deletes tools', async () => {
    const created = await app.graphql<{ createTool: { tool: { id: string; tags: string[] } } }>(
      `mutation { createTool(input: { name: "Web_Search", tags: ["web", "search"], jsonSchema: { type: "object" } }) { ${TOOL_OUTCOME} } }`,
    );
    const toolId = created.data!.createTool.tool.id;
    expect(created.data!.createTool.tool.tags).toEqual(['web', 'search']);

    const byName = await app.graphql<{ tools: { nodes: Array<{ id: string }> } }>('{ tools(filter: { nameContains: "web_s" }) { nodes { id } } }');
    expect(byName.data!.tools.nodes.map((tool) => tool.id)).toEqual([toolId]);
    const byTag = await app.graphql<{ tools: { totalCount: number } }>('{ tools(filter: { tag: "memory" }) { totalCount } }');
    expect(byTag.data!.tools.totalCount).toBe(1);

    const attach = await app.graphql<{ attachTool: { agent: { tools: Array<{ id: string }> } } }>(
      'mutation ($agentId: ID!, $toolId: ID!) { attachTool(agentId: $agentId, toolId: $toolId) { ... on AgentPayload { agent { tools { id } } } } }',
      { agentId, toolId },
    );
    expect(attach.data!.attachTool.agent.tools.map((tool) => tool.id)).toContain(toolId);
    const tool = await app.graphql<{ tool: { agents: Array<{ id: string }> } }>('query ($id: ID!) { tool(id: $id) { agents { id } } }', { id: toolId });
    expect(tool.data!.tool.agents).toEqual([{ id: agentId }]);

    await app.graphql('mutation ($id: ID!) { deleteTool(id: $id) { __typename } }', { id: toolId });
    const agent = await app.graphql<{ agent: { tools: Array<{ id: string }> } }>('query ($id: ID!) { agent(id: $id) { tools { id } } }', { id: agentId });
    expect(agent.data!.agent.tools.map((t) => t.id)).not.toContain(toolId);

    await app.graphql('mutation ($id: ID!) { restoreTool(id: $id) { __typename } }', { id: toolId });
    const detach = await app.graphql<{ detachTool: { agent: { tools: Array<{ id: string }> } } }>(
      'mutation ($agentId: ID!, $toolId: ID!) { detachTool(agentId: $agentId, toolId: $toolId) { ... on AgentPayload { agent { tools { id } } } } }',
      { agentId, toolId },
    );
    expect(detach.data!.detachTool.agent.tools.map((t) => t.id)).not.toContain(toolId);
  });

  it('refuses bad tool input, writing nothing', async () => {
    const before = await app.database.prisma.tool.count();
    for (const input of ['{ name: "" }', '{ name: "x", jsonSchema: [1, 2] }', '{ name: "x", tags: [""] }']) {
      const result = await app.graphql<{ createTool: { code: string } }>(`mutation { createTool(input: ${input}) { ${TOOL_OUTCOME} } }`);
      expect(result.data!.createTool.code).toBe('VALIDATION');
    }
    expect(await app.database.prisma.tool.count()).toBe(before);
  });
});
