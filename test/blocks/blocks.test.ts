import { graphql } from '../generated';
import type { CreateBlockInput, UpdateBlockInput } from '../generated/graphql';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateBlock = graphql(`
  mutation CreateBlock($input: CreateBlockInput!) {
    createBlock(input: $input) {
      __typename
      ... on Error { code field message }
      ... on BlockLimitExceededError { length limit }
      ... on BlockPayload { block { id value limit } }
    }
  }
`);

const UpdateBlock = graphql(`
  mutation UpdateBlock($id: ID!, $input: UpdateBlockInput!) {
    updateBlock(id: $id, input: $input) {
      __typename
      ... on Error { code field message }
      ... on BlockLimitExceededError { length limit }
      ... on BlockPayload { block { id value limit } }
    }
  }
`);

const AttachBlock = graphql(`
  mutation AttachBlock($agentId: ID!, $blockId: ID!) {
    attachBlock(agentId: $agentId, blockId: $blockId) {
      __typename
      ... on Error { code field message }
      ... on AgentPayload { agent { id blocks { id label } } }
    }
  }
`);

const DetachBlock = graphql(`
  mutation DetachBlock($agentId: ID!, $blockId: ID!) {
    detachBlock(agentId: $agentId, blockId: $blockId) {
      __typename
      ... on Error { code field message }
      ... on AgentPayload { agent { id blocks { id label } } }
    }
  }
`);

const DeleteBlock = graphql(`
  mutation DeleteBlock($id: ID!) { deleteBlock(id: $id) { __typename ... on DeletedPayload { id } ... on Error {
    code } } }
`);
const RestoreBlock = graphql(`
  mutation RestoreBlock($id: ID!) { restoreBlock(id: $id) { __typename ... on BlockPayload { block {
    id } } ... on Error { code } } }
`);
const PurgeBlock = graphql(`
  mutation PurgeBlock($id: ID!) { purgeBlock(id: $id) { __typename ... on DeletedPayload { id } ... on Error {
    code } } }
`);
const DeleteAgent = graphql(`
  mutation DeleteAgent($id: ID!) { deleteAgent(id: $id) { __typename ... on DeletedPayload { id } ... on Error {
    code } } }
`);

const DiaryReads = graphql(`
  query DiaryReads($id: ID!, $agentId: ID!) {
    block(id: $id) { id }
    blocks(filter: { label: "diary" }) { totalCount nodes { id } }
    agent(id: $agentId) { blocks { id } }
  }
`);

const CreateEphemeral = graphql(`
  mutation CreateEphemeral {
    createAgent(input: { name: "Ephemeral", blocks: [{ label: "persona", value: "brief" }] }) {
      __typename
      ... on AgentPayload { agent { id blocks { id } } }
    }
  }
`);

const SayHello = graphql(`
  mutation SayHello($id: ID!) { appendMessages(agentId: $id, messages: [{ role: USER, text: "hello" }]) { __typename } }
`);

const AfterAgentDeleted = graphql(`
  query AfterAgentDeleted($id: ID!, $block: ID!) {
    agent(id: $id) { id }
    messages(agentId: $id) { totalCount }
    block(id: $block) { agents { id } }
  }
`);

const FilterBlocks = graphql(`
  query FilterBlocks($filter: BlockFilter) { blocks(filter: $filter) { totalCount nodes { id label templateName } } }
`);

describe('blocks', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('blocks');
    ({ agentId } = await app.seedDemo());
  });
  afterAll(async () => {
    await app?.close();
  });

  const createBlock = async (input: CreateBlockInput) => (await app.graphql(CreateBlock, { input })).data!.createBlock;
  const updateBlock = async (id: string, input: UpdateBlockInput) =>
    (await app.graphql(UpdateBlock, { id, input })).data!.updateBlock;
  const attach = async (variables: { agentId: string; blockId: string }) =>
    (await app.graphql(AttachBlock, variables)).data!.attachBlock;
  const newBlockId = async (input: CreateBlockInput) => {
    const created = await createBlock(input);
    if (created.__typename !== 'BlockPayload') throw new Error(`createBlock returned ${created.__typename}`);
    return created.block.id;
  };
  const labelsOf = (result: Awaited<ReturnType<typeof attach>>) =>
    result.__typename === 'AgentPayload' ? result.agent.blocks.map((block) => block.label) : result.__typename;

  it('refuses a value longer than the limit, in characters, writing nothing', async () => {
    const before = await app.database.owner.block.count();
    // Five code points, ten UTF-16 units: the limit counts characters.
    expect((await createBlock({ label: 'notes', value: '😀😀😀😀😀', limit: 5 })).__typename).toBe('BlockPayload');
    const refused = await createBlock({ label: 'notes', value: 'x'.repeat(11), limit: 10 });
    expect(refused).toMatchObject({
      __typename: 'BlockLimitExceededError',
      code: 'BLOCK_LIMIT_EXCEEDED',
      length: 11,
      limit: 10,
      field: ['input', 'value'],
    });
    expect(await app.database.owner.block.count()).toBe(before + 1);
  });

  it('refuses an update past the limit, and lowering the limit below the value', async () => {
    const id = await newBlockId({ label: 'scratch', value: 'twelve chars', limit: 20 });
    expect(await updateBlock(id, { value: 'x'.repeat(21) })).toMatchObject({
      __typename: 'BlockLimitExceededError',
      length: 21,
      limit: 20,
      field: ['input', 'value'],
    });
    expect(await updateBlock(id, { limit: 11 })).toMatchObject({
      __typename: 'BlockLimitExceededError',
      length: 12,
      limit: 11,
      field: ['input', 'limit'],
    });
    expect(await updateBlock(id, { limit: 12 })).toMatchObject({
      __typename: 'BlockPayload',
      block: { value: 'twelve chars', limit: 12 },
    });
    const stored = await app.database.owner.block.findUniqueOrThrow({ where: { id } });
    expect(stored.value).toBe('twelve chars');
    expect(stored.lastUpdatedById).not.toBeNull();
    expect(stored.updatedAt.getTime()).toBeGreaterThan(stored.createdAt.getTime());
  });

  it('lists blocks by label, user, template flag and template name', async () => {
    const template = await newBlockId({
      label: 'persona',
      value: 'template persona',
      isTemplate: true,
      templateName: 'friendly',
    });
    const ofTemplate = await newBlockId({
      label: 'human',
      value: 'template human',
      isTemplate: true,
      templateName: 'friendly',
    });
    const filter = async (filter: Record<string, unknown>) =>
      (await app.graphql(FilterBlocks, { filter })).data!.blocks;
    // Templates are listed apart: only when asked for.
    expect((await filter({ templateName: 'friendly' })).nodes).toEqual([]);
    expect(
      (await filter({ templateName: 'friendly', isTemplate: true })).nodes.map((block) => block.id).sort(),
    ).toEqual([template, ofTemplate].sort());
    expect((await filter({ isTemplate: true, label: 'human' })).nodes.map((block) => block.id)).toEqual([ofTemplate]);
    const owner = (await app.database.owner.block.findUniqueOrThrow({ where: { id: template } })).userId;
    expect((await filter({ userId: owner })).totalCount).toBeGreaterThanOrEqual(4);
    expect((await filter({ userId: owner })).nodes.map((block) => block.id)).not.toContain(template);
    expect((await filter({ userId: 'user-nobody' })).totalCount).toBe(0);
  });

  it('validates labels and limits', async () => {
    expect(await createBlock({ label: '', value: 'v' })).toMatchObject({
      code: 'VALIDATION',
      field: ['input', 'label'],
    });
    expect(await createBlock({ label: 'x'.repeat(51), value: 'v' })).toMatchObject({
      code: 'VALIDATION',
      field: ['input', 'label'],
    });
    expect(await createBlock({ label: 'ok', value: 'v', limit: 0 })).toMatchObject({
      code: 'VALIDATION',
      field: ['input', 'limit'],
    });
  });

  it('attaches and detaches, takes the label from the block, and refuses a second block of one label', async () => {
    const notes = await newBlockId({ label: 'notes2', value: 'n' });
    expect(labelsOf(await attach({ agentId, blockId: notes }))).toEqual(['human', 'notes2', 'persona']);
    expect(labelsOf(await attach({ agentId, blockId: notes }))).toEqual(['human', 'notes2', 'persona']); // idempotent

    const secondPersona = await newBlockId({ label: 'persona', value: 'another persona' });
    expect(await attach({ agentId, blockId: secondPersona })).toMatchObject({
      __typename: 'ConflictError',
      field: ['blockId'],
    });

    const detached = (await app.graphql(DetachBlock, { agentId, blockId: notes })).data!.detachBlock;
    expect(labelsOf(detached)).toEqual(['human', 'persona']);
    expect(await attach({ agentId: 'agent-nope', blockId: notes })).toMatchObject({
      __typename: 'NotFoundError',
      field: ['agentId'],
    });
  });

  it('hides a soft-deleted block from every read and relation, restores it, and purges it', async () => {
    const id = await newBlockId({ label: 'diary', value: 'dear diary' });
    await attach({ agentId, blockId: id });
    const read = async () => (await app.graphql(DiaryReads, { id, agentId })).data!;

    expect((await app.graphql(DeleteBlock, { id })).data!.deleteBlock).toEqual({ __typename: 'DeletedPayload', id });
    let seen = await read();
    expect(seen.block).toBeNull();
    expect(seen.blocks).toEqual({ totalCount: 0, nodes: [] });
    expect(seen.agent!.blocks.map((block) => block.id)).not.toContain(id);
    // Already deleted.
    expect((await app.graphql(DeleteBlock, { id })).data!.deleteBlock.__typename).toBe('NotFoundError');

    expect((await app.graphql(RestoreBlock, { id })).data!.restoreBlock.__typename).toBe('BlockPayload');
    seen = await read();
    expect(seen.block?.id).toBe(id);
    expect(seen.agent!.blocks.map((block) => block.id)).toContain(id);

    expect((await app.graphql(PurgeBlock, { id })).data!.purgeBlock.__typename).toBe('DeletedPayload');
    expect(await app.database.owner.block.findUnique({ where: { id } })).toBeNull();
    expect(await app.database.owner.blockAgent.count({ where: { blockId: id } })).toBe(0);
  });

  it("hides a soft-deleted agent's messages and links", async () => {
    const created = (await app.graphql(CreateEphemeral)).data!.createAgent;
    if (created.__typename !== 'AgentPayload') throw new Error('createAgent failed');
    const ephemeral = created.agent.id;
    const personaId = created.agent.blocks[0]!.id;
    await app.graphql(SayHello, { id: ephemeral });

    expect((await app.graphql(DeleteAgent, { id: ephemeral })).data!.deleteAgent.__typename).toBe('DeletedPayload');
    const after = await app.graphql(AfterAgentDeleted, { id: ephemeral, block: personaId });
    expect(after.data).toEqual({ agent: null, messages: { totalCount: 0 }, block: { agents: [] } });
  });
});
