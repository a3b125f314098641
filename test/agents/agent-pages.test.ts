import { newId } from '../../src/ids';
import { graphql } from '../generated';
import type { AgentToolsPageQuery } from '../generated/graphql';
import { type GeneralPathServer, startGeneralPathServer } from '../support/read-paths';
import { startTestApp, type TestApp } from '../support/test-app';

// An agent's blocks and tools a page at a time: the root lists filtered by agentId (what the
// inspector pages), the same rows as Agent.blocks and Agent.tools, on the planner and on the
// general path alike, and never another organization's.

const ToolsPage = graphql(`
  query AgentToolsPage($agentId: ID!, $first: Int, $after: String) {
    tools(filter: { agentId: $agentId }, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id name }
    }
  }
`);
const BlocksPage = graphql(`
  query AgentBlocksPage($agentId: ID!, $first: Int, $after: String) {
    blocks(filter: { agentId: $agentId }, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id label }
    }
  }
`);
const AgentLists = graphql(`
  query AgentListsWhole($id: ID!) { agent(id: $id) { blocks { id } tools { id } } }
`);

const TOOLS_PAGE = `query ($agentId: ID!, $after: String) {
  tools(filter: { agentId: $agentId, tag: null }, first: 7, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id name tags }
  }
  blocks(filter: { agentId: $agentId }, last: 1) { totalCount pageInfo { hasPreviousPage } nodes { id label } }
}`;

describe("an agent's blocks and tools, a page at a time", () => {
  let app: TestApp;
  let general: GeneralPathServer;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  let other: Awaited<ReturnType<TestApp['seedDemo']>>;

  beforeAll(async () => {
    app = await startTestApp('agent_pages');
    demo = await app.seedDemo();
    other = await app.seedDemo();
    general = await startGeneralPathServer(app);
    // 25 more tools on the demo agent, and one of the organization on no agent.
    const owner = app.database.owner;
    const audit = { createdById: demo.userId, lastUpdatedById: demo.userId };
    const tools = Array.from({ length: 26 }, (_, index) => ({
      id: newId('tool'),
      organizationId: demo.organizationId,
      name: `paged_tool_${String(index).padStart(2, '0')}`,
      ...audit,
    }));
    await owner.tool.createMany({ data: tools });
    await owner.toolAgent.createMany({
      data: tools
        .slice(0, 25)
        .map((tool) => ({ toolId: tool.id, agentId: demo.agentId, organizationId: demo.organizationId })),
    });
  });
  afterAll(async () => {
    await general?.close();
    await app?.close();
  });

  it('pages the tools and blocks attached to the agent: the same rows as Agent.tools and Agent.blocks', async () => {
    const whole = (await app.graphql(AgentLists, { id: demo.agentId })).data!.agent!;
    expect(whole.tools).toHaveLength(27);
    const paged: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: AgentToolsPageQuery['tools'] = (
        await app.graphql(ToolsPage, { agentId: demo.agentId, first: 10, after })
      ).data!.tools;
      expect(page.totalCount).toBe(27);
      expect(page.nodes.length).toBeLessThanOrEqual(10);
      paged.push(...page.nodes.map((node) => node.id));
      pages += 1;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor ?? null;
    }
    expect(pages).toBe(3);
    expect(new Set(paged).size).toBe(27);
    expect([...paged].sort()).toEqual(whole.tools.map((tool) => tool.id).sort());

    const blocks = (await app.graphql(BlocksPage, { agentId: demo.agentId, first: 1 })).data!.blocks;
    expect(blocks).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
    const rest = (await app.graphql(BlocksPage, { agentId: demo.agentId, first: 1, after: blocks.pageInfo.endCursor }))
      .data!.blocks;
    expect([...blocks.nodes, ...rest.nodes].map((node) => node.id).sort()).toEqual(
      whole.blocks.map((block) => block.id).sort(),
    );
  });

  it("finds nothing of another organization's agent", async () => {
    const tools = (await app.graphql(ToolsPage, { agentId: other.agentId })).data!.tools;
    const blocks = (await app.graphql(BlocksPage, { agentId: other.agentId })).data!.blocks;
    expect([tools.totalCount, tools.nodes, blocks.totalCount, blocks.nodes]).toEqual([0, [], 0, []]);
  });

  it('answers the same bytes on the planner and on the general path, pages both ways', async () => {
    let after: string | null = null;
    for (let page = 0; page < 4; page += 1) {
      const [fast, slow] = await general.both(demo.key, TOOLS_PAGE, { agentId: demo.agentId, after });
      expect(fast).toBe(slow);
      expect(fast).toMatch(/^200 /);
      const body = JSON.parse(fast.slice(4)) as { data: { tools: { pageInfo: { endCursor: string | null } } } };
      after = body.data.tools.pageInfo.endCursor;
    }
    const [fast, slow] = await general.both(other.key, TOOLS_PAGE, { agentId: demo.agentId, after: null });
    expect(fast).toBe(slow);
    expect(fast).toContain('"totalCount":0');
  });
});
