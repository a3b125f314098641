import { graphql } from '../generated';
import type { AgentsPageQueryVariables } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateNamedAgent = graphql(`
  mutation CreateNamedAgent($input: CreateAgentInput!) {
    createAgent(input: $input) { __typename ... on AgentPayload { agent { id } } ... on Error { code field } }
  }
`);
const UpdateAgent = graphql(`
  mutation UpdateAgent($id: ID!, $input: UpdateAgentInput!) {
    updateAgent(id: $id, input: $input) {
      __typename
      ... on AgentPayload { agent { id name topic llmConfig createdAt updatedAt lastUpdatedById } }
      ... on Error { code field }
    }
  }
`);
const AgentsPage = graphql(`
  query AgentsPage($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {
    agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      nodes { name }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const AgentConversation = graphql(`
  query AgentConversation($id: ID!) {
    agent(id: $id) { messages(first: 2) { totalCount nodes { text user { name } agent { id } } pageInfo {
      hasNextPage } } }
  }
`);
const RestoreAgent = graphql(`
  mutation RestoreAgent($id: ID!) { restoreAgent(id: $id) { __typename } }
`);
const PurgeAgent = graphql(`
  mutation PurgeAgent($id: ID!) { purgeAgent(id: $id) { __typename } }
`);
const DeleteAgentById = graphql(`
  mutation DeleteAgentById($id: ID!) { deleteAgent(id: $id) { __typename } }
`);
const AgentName = graphql(`
  query AgentName($id: ID!) { agent(id: $id) { name } }
`);
const AddMemories = graphql(`
  mutation AddMemories($inputs: [CreateMemoryInput!]!) {
    createMemories(inputs: $inputs) { __typename ... on MemoriesPayload { memories { id } } }
  }
`);
const MemoriesByAccess = graphql(`
  query MemoriesByAccess($agentId: ID!, $direction: SortDirection) {
    memories(filter: { agentId: $agentId }, orderBy: { field: LAST_ACCESSED, direction: $direction }, track: false) {
      nodes { id content } }
  }
`);
const RestoreMemory = graphql(`
  mutation RestoreMemory($id: ID!) { restoreMemory(id: $id) { __typename } }
`);
const PurgeMemory = graphql(`
  mutation PurgeMemory($id: ID!) { purgeMemory(id: $id) { __typename } }
`);
const DeleteMemoryById = graphql(`
  mutation DeleteMemoryById($id: ID!) { deleteMemory(id: $id) { __typename } }
`);

describe('agent lifecycle, filters and ordering', () => {
  let app: TestApp;
  let demoAgent: string;
  beforeAll(async () => {
    app = await startTestApp('agent_lifecycle');
    ({ agentId: demoAgent } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  const createAgent = async (name: string, agentType?: string) => {
    const result = (await app.graphql(CreateNamedAgent, { input: { name, agentType } })).data!.createAgent;
    if (result.__typename !== 'AgentPayload') throw new Error(`createAgent returned ${result.__typename}`);
    return result.agent.id;
  };

  it('updates an agent with the audit trail, and refuses bad input', async () => {
    const id = await createAgent('Before');
    const updated = (
      await app.graphql(UpdateAgent, { id, input: { name: 'After', topic: 'GraphQL', llmConfig: { model: 'x' } } })
    ).data!.updateAgent;
    if (updated.__typename !== 'AgentPayload') throw new Error(`updateAgent returned ${updated.__typename}`);
    expect(updated.agent).toMatchObject({ name: 'After', topic: 'GraphQL', llmConfig: { model: 'x' } });
    expect(updated.agent.lastUpdatedById).toMatch(/^user-/);
    expect(new Date(updated.agent.updatedAt).getTime()).toBeGreaterThan(new Date(updated.agent.createdAt).getTime());

    expect((await app.graphql(UpdateAgent, { id, input: { name: 'x'.repeat(256) } })).data!.updateAgent).toMatchObject({
      code: 'VALIDATION',
      field: ['input', 'name'],
    });
    expect(
      (await app.graphql(UpdateAgent, { id: 'agent-nope', input: { name: 'y' } })).data!.updateAgent,
    ).toMatchObject({ code: 'NOT_FOUND', field: ['id'] });
    expect((await app.graphql(AgentName, { id })).data!.agent?.name).toBe('After');
  });

  it('filters by name and type, orders by name both ways, and pages through the order', async () => {
    for (const name of ['alpha', 'Bravo', 'charlie', 'delta']) await createAgent(name, 'sorter');
    const page = (variables: AgentsPageQueryVariables) => app.graphql(AgentsPage, variables);
    expect((await page({ filter: { nameContains: 'RAV' } })).data!.agents.nodes).toEqual([{ name: 'Bravo' }]);
    // `_` and `%` match themselves, not any character.
    expect((await page({ filter: { agentType: 'sorter', nameContains: 'r_v' } })).data!.agents.nodes).toEqual([]);
    expect((await page({ filter: { agentType: 'sorter', nameContains: '%' } })).data!.agents.nodes).toEqual([]);

    const first = (
      await page({ filter: { agentType: 'sorter' }, orderBy: { field: 'NAME', direction: 'DESC' }, first: 3 })
    ).data!.agents;
    expect(first.totalCount).toBe(4);
    expect(first.nodes.map((node) => node.name)).toEqual(['delta', 'charlie', 'alpha']);
    const rest = (
      await page({
        filter: { agentType: 'sorter' },
        orderBy: { field: 'NAME', direction: 'DESC' },
        first: 3,
        after: first.pageInfo.endCursor,
      })
    ).data!.agents;
    expect(rest.nodes.map((node) => node.name)).toEqual(['Bravo']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it("pages an agent's conversation with its users", async () => {
    const conversation = (await app.graphql(AgentConversation, { id: demoAgent })).data!.agent!.messages;
    expect(conversation.totalCount).toBe(4);
    expect(conversation.pageInfo.hasNextPage).toBe(true);
    expect(conversation.nodes).toEqual([
      { text: 'Hi! I am Ada. I am learning GraphQL.', user: { name: 'Demo User' }, agent: { id: demoAgent } },
      {
        text: 'Nice to meet you, Ada. I will remember that you are learning GraphQL.',
        user: { name: 'Demo User' },
        agent: { id: demoAgent },
      },
    ]);
  });

  it('restores a deleted agent with its conversation, and purges it with everything that depends on it', async () => {
    const id = await createAgent('Phoenix');
    await app.database.owner.message.create({
      data: {
        id: 'message-phoenix',
        organizationId: (await app.database.owner.agent.findUniqueOrThrow({ where: { id } })).organizationId,
        userId: (await app.database.owner.user.findFirstOrThrow()).id,
        agentId: id,
        role: 'user',
        text: 'rise',
      },
    });
    await app.graphql(DeleteAgentById, { id });
    expect((await app.graphql(AgentName, { id })).data!.agent).toBeNull();
    expect((await app.graphql(RestoreAgent, { id })).data!.restoreAgent.__typename).toBe('AgentPayload');
    expect((await app.graphql(AgentName, { id })).data!.agent?.name).toBe('Phoenix');
    expect((await app.graphql(PurgeAgent, { id })).data!.purgeAgent.__typename).toBe('DeletedPayload');
    expect(await app.database.owner.message.count({ where: { agentId: id } })).toBe(0);
    expect((await app.graphql(PurgeAgent, { id })).data!.purgeAgent.__typename).toBe('NotFoundError');
  });

  it('orders memories by last access with never-accessed last, and restores and purges them', async () => {
    const created = (
      await app.graphql(AddMemories, {
        inputs: ['seen long ago', 'never seen', 'seen just now'].map((content) => ({
          agentId: demoAgent,
          content,
          memoryType: 'SEMANTIC' as const,
          scope: 'agent',
          level: 'archival',
        })),
      })
    ).data!.createMemories;
    if (created.__typename !== 'MemoriesPayload') throw new Error('createMemories failed');
    const [old, never, recent] = created.memories.map((memory) => memory.id);
    await app.database.owner.memory.update({
      where: { id: old! },
      data: { lastAccessed: new Date(Date.now() - 86_400_000), accessCount: 3 },
    });
    await app.database.owner.memory.update({
      where: { id: recent! },
      data: { lastAccessed: new Date(), accessCount: 1 },
    });
    // Only this test's memories: the demo agent comes with one of its own. Read with track: false,
    // since a read that counts would make every memory just accessed.
    const ours = new Set(created.memories.map((memory) => memory.id));
    const contents = async (direction: 'ASC' | 'DESC') =>
      (await app.graphql(MemoriesByAccess, { agentId: demoAgent, direction }))
        .data!.memories.nodes.filter((node) => ours.has(node.id))
        .map((node) => node.content);
    expect(await contents('DESC')).toEqual(['seen just now', 'seen long ago', 'never seen']);
    expect(await contents('ASC')).toEqual(['seen long ago', 'seen just now', 'never seen']);

    await app.graphql(DeleteMemoryById, { id: never! });
    expect(await contents('DESC')).not.toContain('never seen');
    expect((await app.graphql(RestoreMemory, { id: never! })).data!.restoreMemory.__typename).toBe('MemoryPayload');
    expect(await contents('DESC')).toContain('never seen');
    expect((await app.graphql(PurgeMemory, { id: never! })).data!.purgeMemory.__typename).toBe('DeletedPayload');
    expect(await app.database.owner.memory.findUnique({ where: { id: never! } })).toBeNull();
  });
});
