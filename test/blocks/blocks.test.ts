import { startTestApp, type TestApp } from '../support/test-app';
import { seedDemoData } from '../../src/demo/seed';

interface Outcome {
  __typename: string;
  code?: string;
  field?: string[];
  length?: number;
  limit?: number;
  block?: { id: string; value: string; limit: number };
  agent?: { id: string; blocks: Array<{ id: string; label: string }> };
  id?: string;
}

const ERRORS = '__typename ... on Error { code field message }';
const BLOCK_OUTCOME = `${ERRORS} ... on BlockLimitExceededError { length limit } ... on BlockPayload { block { id value limit } }`;
const AGENT_OUTCOME = `${ERRORS} ... on AgentPayload { agent { id blocks { id label } } }`;
const DELETED_OUTCOME = `${ERRORS} ... on DeletedPayload { id }`;

describe('blocks', () => {
  let app: TestApp;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp('blocks');
    ({ agentId } = await seedDemoData(app.database.prisma));
  });
  afterAll(async () => {
    await app?.close();
  });

  async function mutate(field: string, document: string, variables: Record<string, unknown>): Promise<Outcome> {
    const response = await app.graphql<Record<string, Outcome>>(document, variables);
    expect(response.errors).toBeUndefined();
    return response.data![field]!;
  }
  const createBlock = (input: Record<string, unknown>) =>
    mutate('createBlock', `mutation ($input: CreateBlockInput!) { createBlock(input: $input) { ${BLOCK_OUTCOME} } }`, { input });
  const updateBlock = (id: string, input: Record<string, unknown>) =>
    mutate('updateBlock', `mutation ($id: ID!, $input: UpdateBlockInput!) { updateBlock(id: $id, input: $input) { ${BLOCK_OUTCOME} } }`, { id, input });
  const onBlock = (name: string, variables: Record<string, unknown>) =>
    mutate(name, `mutation ($agentId: ID!, $blockId: ID!) { ${name}(agentId: $agentId, blockId: $blockId) { ${AGENT_OUTCOME} } }`, variables);
  const lifecycle = (name: string, id: string) => mutate(name, `mutation ($id: ID!) { ${name}(id: $id) { ${DELETED_OUTCOME} } }`, { id });

  it('refuses a value longer than the limit, in characters, writing nothing', async () => {
    const before = await app.database.prisma.block.count();
    // Five code points, ten UTF-16 units: the limit counts characters.
    expect((await createBlock({ label: 'notes', value: '😀😀😀😀😀', limit: 5 })).__typename).toBe('BlockPayload');
    const refused = await createBlock({ label: 'notes', value: 'x'.repeat(11), limit: 10 });
    expect(refused).toMatchObject({ __typename: 'BlockLimitExceededError', code: 'BLOCK_LIMIT_EXCEEDED', length: 11, limit: 10, field: ['input', 'value'] });
    expect(await app.database.prisma.block.count()).toBe(before + 1);
  });

  it('refuses an update past the limit, and lowering the limit below the value', async () => {
    const created = await createBlock({ label: 'scratch', value: 'twelve chars', limit: 20 });
    const id = created.block!.id;
    expect(await updateBlock(id, { value: 'x'.repeat(21) })).toMatchObject({ __typename: 'BlockLimitExceededError', length: 21, limit: 20, field: ['input', 'value'] });
    expect(await updateBlock(id, { limit: 11 })).toMatchObject({ __typename: 'BlockLimitExceededError', length: 12, limit: 11, field: ['input', 'limit'] });
    expect(await updateBlock(id, { limit: 12 })).toMatchObject({ __typename: 'BlockPayload', block: { value: 'twelve chars', limit: 12 } });
    const stored = await app.database.prisma.block.findUniqueOrThrow({ where: { id } });
    expect(stored.value).toBe('twelve chars');
    expect(stored.lastUpdatedById).not.toBeNull();
    expect(stored.updatedAt.getTime()).toBeGreaterThan(stored.createdAt.getTime());
  });

  it('validates labels and limits', async () => {
    expect(await createBlock({ label: '', value: 'v' })).toMatchObject({ code: 'VALIDATION', field: ['input', 'label'] });
    expect(await createBlock({ label: 'x'.repeat(51), value: 'v' })).toMatchObject({ code: 'VALIDATION', field: ['input', 'label'] });
    expect(await createBlock({ label: 'ok', value: 'v', limit: 0 })).toMatchObject({ code: 'VALIDATION', field: ['input', 'limit'] });
  });

  it('attaches and detaches, takes the label from the block, and refuses a second block of one label', async () => {
    const notes = (await createBlock({ label: 'notes2', value: 'n' })).block!;
    const attached = await onBlock('attachBlock', { agentId, blockId: notes.id });
    expect(attached.agent!.blocks.map((block) => block.label)).toEqual(['human', 'notes2', 'persona']);
    expect((await onBlock('attachBlock', { agentId, blockId: notes.id })).__typename).toBe('AgentPayload'); // idempotent

    const secondPersona = (await createBlock({ label: 'persona', value: 'another persona' })).block!;
    expect(await onBlock('attachBlock', { agentId, blockId: secondPersona.id })).toMatchObject({ __typename: 'ConflictError', field: ['blockId'] });

    const detached = await onBlock('detachBlock', { agentId, blockId: notes.id });
    expect(detached.agent!.blocks.map((block) => block.label)).toEqual(['human', 'persona']);
    expect(await onBlock('attachBlock', { agentId: 'agent-nope', blockId: notes.id })).toMatchObject({ __typename: 'NotFoundError', field: ['agentId'] });
  });

  it('hides a soft-deleted block from every read and relation, restores it, and purges it', async () => {
    const block = (await createBlock({ label: 'diary', value: 'dear diary' })).block!;
    await onBlock('attachBlock', { agentId, blockId: block.id });
    const read = () =>
      app.graphql<{ block: { id: string } | null; blocks: { totalCount: number; nodes: Array<{ id: string }> }; agent: { blocks: Array<{ id: string }> } }>(
        `query ($id: ID!, $agentId: ID!) {
          block(id: $id) { id }
          blocks(filter: { label: "diary" }) { totalCount nodes { id } }
          agent(id: $agentId) { blocks { id } }
        }`,
        { id: block.id, agentId },
      );

    expect((await lifecycle('deleteBlock', block.id)).id).toBe(block.id);
    let seen = (await read()).data!;
    expect(seen.block).toBeNull();
    expect(seen.blocks).toEqual({ totalCount: 0, nodes: [] });
    expect(seen.agent.blocks.map((b) => b.id)).not.toContain(block.id);
    expect((await lifecycle('deleteBlock', block.id)).__typename).toBe('NotFoundError'); // already deleted

    expect((await lifecycle('restoreBlock', block.id)).__typename).toBe('DeletedPayload');
    seen = (await read()).data!;
    expect(seen.block?.id).toBe(block.id);
    expect(seen.agent.blocks.map((b) => b.id)).toContain(block.id);

    expect((await lifecycle('purgeBlock', block.id)).__typename).toBe('DeletedPayload');
    expect(await app.database.prisma.block.findUnique({ where: { id: block.id } })).toBeNull();
    expect(await app.database.prisma.blockAgent.count({ where: { blockId: block.id } })).toBe(0);
  });

  it("hides a soft-deleted agent's messages and links, and counts only live rows", async () => {
    const created = await app.graphql<{ createAgent: { agent: { id: string } } }>(
      'mutation { createAgent(input: { name: "Ephemeral", blocks: [{ label: "persona", value: "brief" }] }) { ... on AgentPayload { agent { id } } } }',
    );
    const ephemeral = created.data!.createAgent.agent.id;
    await app.graphql('mutation ($id: ID!) { appendMessages(agentId: $id, messages: [{ role: USER, text: "hello" }]) { __typename } }', { id: ephemeral });
    const persona = await app.graphql<{ agent: { blocks: Array<{ id: string }> } }>('query ($id: ID!) { agent(id: $id) { blocks { id } } }', { id: ephemeral });
    const personaId = persona.data!.agent.blocks[0]!.id;

    expect((await lifecycle('deleteAgent', ephemeral)).__typename).toBe('DeletedPayload');
    const after = await app.graphql<{ agent: null; messages: { totalCount: number }; block: { agents: Array<{ id: string }> } }>(
      'query ($id: ID!, $block: ID!) { agent(id: $id) { id } messages(agentId: $id) { totalCount } block(id: $block) { agents { id } } }',
      { id: ephemeral, block: personaId },
    );
    expect(after.data).toEqual({ agent: null, messages: { totalCount: 0 }, block: { agents: [] } });
  });
});
