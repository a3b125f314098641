import type { DemoData } from '../../src/demo/seed';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const CreateTemplateBlock = graphql(`
  mutation CreateTemplateBlock($input: CreateBlockInput!) {
    createBlock(input: $input) { __typename ... on BlockPayload { block { id } } ... on Error { code field message } }
  }
`);

const CreateBareAgent = graphql(`
  mutation CreateBareAgent($name: String!) {
    createAgent(input: { name: $name }) { __typename ... on AgentPayload { agent { id } } }
  }
`);

const Instantiate = graphql(`
  mutation InstantiateTemplate($name: String!, $agentId: ID!) {
    instantiateTemplate(name: $name, agentId: $agentId) {
      __typename
      ... on AgentPayload { agent { id blocks { id label value limit description metadata isTemplate templateName
        version history { totalCount } } } }
      ... on Error { code field message }
    }
  }
`);

const TemplateLists = graphql(`
  query TemplateLists($name: String) {
    blockTemplates(name: $name) { totalCount nodes { id label templateName isTemplate } }
    blocks(first: 100) { nodes { id isTemplate } }
  }
`);

describe('block templates', () => {
  let app: TestApp;
  let demo: DemoData;
  let other: DemoData;
  const templateIds: string[] = [];

  const createBlock = async (
    input: {
      label: string;
      value: string;
      templateName?: string;
      isTemplate?: boolean;
      limit?: number;
      description?: string;
      metadata?: unknown;
    },
    key = demo.key,
  ) => {
    const created = (await app.graphqlAs(key, CreateTemplateBlock, { input })).data!.createBlock;
    if (created.__typename !== 'BlockPayload') throw new Error(`createBlock returned ${JSON.stringify(created)}`);
    return created.block.id;
  };
  const newAgent = async (name: string, key = demo.key) => {
    const created = (await app.graphqlAs(key, CreateBareAgent, { name })).data!.createAgent;
    if (created.__typename !== 'AgentPayload') throw new Error(`createAgent returned ${created.__typename}`);
    return created.agent.id;
  };
  const instantiate = async (name: string, agentId: string, key = demo.key) =>
    (await app.graphqlAs(key, Instantiate, { name, agentId })).data!.instantiateTemplate;
  const blockCount = () => app.database.owner.block.count();

  beforeAll(async () => {
    app = await startTestApp('block_templates', { rateLimit: { requests: 0, windowSeconds: 60 } });
    demo = await app.seedDemo();
    other = await app.seedDemo();
    templateIds.push(
      await createBlock({
        label: 'persona',
        value: 'I help with support tickets.',
        templateName: 'support',
        isTemplate: true,
        limit: 500,
        description: 'who',
        metadata: { tone: 'calm' },
      }),
    );
    templateIds.push(
      await createBlock({
        label: 'policy',
        value: 'Refunds within 30 days.',
        templateName: 'support',
        isTemplate: true,
      }),
    );
    await createBlock({ label: 'persona', value: 'Sales persona.', templateName: 'sales', isTemplate: true });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it('lists templates apart from the blocks agents hold', async () => {
    const lists = (await app.graphql(TemplateLists, { name: 'support' })).data!;
    expect(lists.blockTemplates.totalCount).toBe(2);
    expect(lists.blockTemplates.nodes.map((node) => [node.templateName, node.label, node.isTemplate])).toEqual([
      ['support', 'persona', true],
      ['support', 'policy', true],
    ]);
    expect(lists.blocks.nodes.some((node) => node.isTemplate)).toBe(false);
    const all = (await app.graphql(TemplateLists, {})).data!.blockTemplates;
    expect(all.nodes.map((node) => `${node.templateName}/${node.label}`)).toEqual([
      'sales/persona',
      'support/persona',
      'support/policy',
    ]);
    // Another organization's templates are not listed.
    expect((await app.graphqlAs(other.key, TemplateLists, { name: 'support' })).data!.blockTemplates.totalCount).toBe(
      0,
    );
  });

  it("copies a template's blocks to an agent and attaches them, as new first versions", async () => {
    const agentId = await newAgent('Support bot');
    const result = await instantiate('support', agentId);
    if (result.__typename !== 'AgentPayload') throw new Error(`instantiateTemplate returned ${JSON.stringify(result)}`);
    expect(result.agent.blocks).toEqual([
      expect.objectContaining({
        label: 'persona',
        value: 'I help with support tickets.',
        limit: 500,
        description: 'who',
        metadata: { tone: 'calm' },
        isTemplate: false,
        templateName: 'support',
        version: 1,
        history: { totalCount: 1 },
      }),
      expect.objectContaining({
        label: 'policy',
        value: 'Refunds within 30 days.',
        limit: 2000,
        isTemplate: false,
        templateName: 'support',
        version: 1,
      }),
    ]);
    for (const copy of result.agent.blocks) expect(templateIds).not.toContain(copy.id);
    // The templates themselves are untouched and still templates.
    const templates = await app.database.owner.block.findMany({ where: { id: { in: templateIds } } });
    expect(templates.every((template) => template.isTemplate && template.version === 1)).toBe(true);
  });

  it('refuses a label the agent already holds, naming it, and writes nothing', async () => {
    const agentId = await newAgent('Has a policy');
    const policy = await createBlock({ label: 'policy', value: 'Our own policy.' });
    await app.graphqlUntyped(`mutation { attachBlock(agentId: "${agentId}", blockId: "${policy}") { __typename } }`);
    const before = await blockCount();
    const agentBefore = await app.database.owner.agent.findUniqueOrThrow({ where: { id: agentId } });

    const refused = await instantiate('support', agentId);
    expect(refused).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT', field: ['name'] });
    expect(refused.__typename === 'ConflictError' && refused.message).toContain('"policy"');
    expect(await blockCount()).toBe(before);
    expect(await app.database.owner.blockAgent.count({ where: { agentId } })).toBe(1);
    expect(await app.database.owner.agent.findUniqueOrThrow({ where: { id: agentId } })).toEqual(agentBefore);
  });

  it('answers NOT_FOUND for an unknown template or agent, and VALIDATION for an empty name', async () => {
    const agentId = await newAgent('Nobody');
    const before = await blockCount();
    expect(await instantiate('no-such-template', agentId)).toMatchObject({
      __typename: 'NotFoundError',
      field: ['name'],
    });
    expect(await instantiate('support', 'agent-nobody')).toMatchObject({
      __typename: 'NotFoundError',
      field: ['agentId'],
    });
    expect(await instantiate('', agentId)).toMatchObject({ __typename: 'ValidationError', field: ['name'] });
    // Another organization can use neither this organization's template nor its agent.
    expect(await instantiate('support', agentId, other.key)).toMatchObject({
      __typename: 'NotFoundError',
      field: ['agentId'],
    });
    expect(await instantiate('support', await newAgent('Theirs', other.key), other.key)).toMatchObject({
      __typename: 'NotFoundError',
      field: ['name'],
    });
    expect(await blockCount()).toBe(before);
  });

  it('refuses a template with two blocks of one label', async () => {
    await createBlock({ label: 'persona', value: 'one', templateName: 'twins', isTemplate: true });
    await createBlock({ label: 'persona', value: 'two', templateName: 'twins', isTemplate: true });
    const agentId = await newAgent('Twins');
    const before = await blockCount();
    expect(await instantiate('twins', agentId)).toMatchObject({ __typename: 'ConflictError', field: ['name'] });
    expect(await blockCount()).toBe(before);
  });

  it('lets one of two concurrent instantiations into one agent win; the other finds the labels taken', async () => {
    const agentId = await newAgent('Raced');
    const answers = await Promise.all([instantiate('support', agentId), instantiate('support', agentId)]);
    expect(answers.map((answer) => answer.__typename).sort()).toEqual(['AgentPayload', 'ConflictError']);
    const links = await app.database.owner.blockAgent.findMany({ where: { agentId }, orderBy: { blockLabel: 'asc' } });
    expect(links.map((link) => link.blockLabel)).toEqual(['persona', 'policy']);
  });
});
