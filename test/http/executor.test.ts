import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const AgentsAndSearch = graphql(`
  query AgentsAndSearch {
    agents(first: 5) { nodes { id blocks { label } } }
    searchMemories(query: "graphql") { memory { id } }
  }
`);

// The row scope wraps whatever executor is set before it (src/http/yoga.ts): with graphql-jit
// placed after it, every statement ran outside the caller's scope and every list came back empty.
describe.each([false, true])('executing with graphql-jit: %s', (graphqlJit) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('executor', { graphqlJit });
  });
  afterAll(async () => {
    await app?.close();
  });

  it("runs inside the caller's row scope", async () => {
    const demo = await app.seedDemo();
    const response = await app.graphql(AgentsAndSearch);
    expect(response.errors).toBeUndefined();
    expect(response.data?.agents.nodes.map((agent) => agent.id)).toEqual([demo.agentId]);
    expect(response.data?.agents.nodes[0]?.blocks.map((block) => block.label)).toEqual(['human', 'persona']);
    expect(response.data?.searchMemories.length).toBeGreaterThan(0);
  });
});
