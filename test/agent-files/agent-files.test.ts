import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { graphql } from '../generated';
import { rowsOfOrganization } from '../support/tenant-rows';
import { startTestApp, type TestApp } from '../support/test-app';

const ExportAgentFile = graphql(`
  query ExportAgentFileForTest($id: ID!) { exportAgent(id: $id) }
`);
const ImportAgentFile = graphql(`
  mutation ImportAgentFileForTest($document: JSON!) {
    importAgent(document: $document) {
      __typename
      ... on AgentPayload { agent { id organizationId name blocks { label value } tools { id name } recentMessages {
        role text } memoryCount } }
      ... on BlockLimitExceededError { length limit }
      ... on Error { code field message }
    }
  }
`);
const MakeExportTool = graphql(`
  mutation MakeExportTool($agentId: ID!) {
    createTool(input: { name: "export_only_tool", description: "made for the export", tags: ["export"], jsonSchema: {
      type: "object" } }) {
      __typename ... on ToolPayload { tool { id } }
    }
    createBlock(input: { label: "scratch", value: "to be deleted" }) { __typename ... on BlockPayload { block { id } } }
    appendMessages(agentId: $agentId, messages: [
      { role: ASSISTANT, toolCalls: [{ id: "call-1", type: "function", function: {
        name: "current_time", arguments: "{}" } }] }
      { role: TOOL, toolCallId: "call-1", text: "12:00", toolReturns: [{ status: "success" }] }
      { role: USER, text: "a message taken back" }
    ]) { __typename ... on MessagesPayload { messages { id } } }
  }
`);
const FinishExportAgent = graphql(`
  mutation FinishExportAgent($agentId: ID!, $toolId: ID!, $blockId: ID!, $deletedMessage: ID!,
    $changes: UpdateAgentInput!) {
    attachTool(agentId: $agentId, toolId: $toolId) { __typename }
    attachBlock(agentId: $agentId, blockId: $blockId) { __typename }
    updateAgent(id: $agentId, input: $changes) { __typename }
    deleteBlock(id: $blockId) { __typename }
    deleteMessage(id: $deletedMessage) { __typename }
  }
`);
const AgentOfMine = graphql(`
  query AgentOfMine($id: ID!) { agent(id: $id) { id } }
`);

type AgentFileDocument = {
  exportedAt?: string;
  agent: Record<string, unknown> & { id: string; messageIds: string[] | null };
  blocks: Array<Record<string, unknown> & { id: string; label: string; value: string; limit: number }>;
  tools: Array<Record<string, unknown> & { id: string; name: string }>;
  messages: Array<Record<string, unknown> & { id: string; role: string }>;
  memories: Array<Record<string, unknown> & { id: string }>;
  links: { blocksAgents: Array<{ blockId: string; blockLabel: string }>; toolsAgents: Array<{ toolId: string }> };
} & Record<string, unknown>;

/**
 * The file with every id of the installation replaced by its row's place in the file, so that two
 * files of the same agent compare field by field whatever ids they got. Tools keep their names.
 */
function comparable(file: AgentFileDocument) {
  const place = (list: Array<{ id: string }>, kind: string) =>
    new Map(list.map((row, index) => [row.id, `${kind}#${index}`]));
  const blocks = place(file.blocks, 'block');
  const messages = place(file.messages, 'message');
  const tools = new Map(file.tools.map((tool) => [tool.id, `tool:${tool.name}`]));
  const memories = place(file.memories, 'memory');
  const { exportedAt: _exportedAt, ...rest } = file;
  return {
    ...rest,
    agent: { ...file.agent, id: 'agent', messageIds: file.agent.messageIds?.map((id) => messages.get(id)) ?? null },
    blocks: file.blocks.map((block) => ({ ...block, id: blocks.get(block.id) })),
    tools: file.tools.map((tool) => ({ ...tool, id: tools.get(tool.id) })),
    messages: file.messages.map((message) => ({ ...message, id: messages.get(message.id) })),
    memories: file.memories.map((memory) => ({
      ...memory,
      id: memories.get(memory.id),
      supersededById: memory.supersededById == null ? null : memories.get(memory.supersededById as string),
    })),
    links: {
      blocksAgents: file.links.blocksAgents.map((link) => ({ ...link, blockId: blocks.get(link.blockId) })),
      toolsAgents: file.links.toolsAgents.map((link) => ({ toolId: tools.get(link.toolId) })),
    },
  };
}

describe('agent files: exportAgent, importAgent and the CLI', () => {
  let app: TestApp;
  let a: Awaited<ReturnType<TestApp['seedDemo']>>;
  let b: Awaited<ReturnType<TestApp['seedDemo']>>;
  let original: AgentFileDocument;
  let deletedMessageId: string;
  beforeAll(async () => {
    app = await startTestApp('agent_files');
    a = await app.seedDemo();
    b = await app.seedDemo();
    const made = (await app.graphql(MakeExportTool, { agentId: a.agentId })).data!;
    if (
      made.createTool.__typename !== 'ToolPayload' ||
      made.createBlock.__typename !== 'BlockPayload' ||
      made.appendMessages.__typename !== 'MessagesPayload'
    ) {
      throw new Error('could not build the agent to export');
    }
    const appended = made.appendMessages.messages.map((message) => message.id);
    deletedMessageId = appended[2]!;
    const all = await app.database.owner.message.findMany({
      where: { agentId: a.agentId },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    const finished = (
      await app.graphql(FinishExportAgent, {
        agentId: a.agentId,
        toolId: made.createTool.tool.id,
        blockId: made.createBlock.block.id,
        deletedMessage: deletedMessageId,
        // The window, out of conversation order, with a message that is deleted after it is put in
        // the window (export leaves it out).
        changes: {
          messageIds: [all[3]!.id, all[0]!.id, appended[0]!, appended[1]!, deletedMessageId],
          metadata: { team: 'x' },
          toolRules: [{ type: 'exit_loop' }],
          topic: 'export',
        },
      })
    ).data!;
    expect(
      Object.entries(finished)
        .filter(([field]) => field !== '__typename')
        .map(([, result]) => (result as { __typename: string }).__typename),
    ).toEqual(['AgentPayload', 'AgentPayload', 'AgentPayload', 'DeletedPayload', 'DeletedPayload']);
    original = (await app.graphql(ExportAgentFile, { id: a.agentId })).data!.exportAgent as AgentFileDocument;
  });
  afterAll(async () => {
    await app?.close();
  });

  const importAs = (key: string, document: unknown) => app.graphqlAs(key, ImportAgentFile, { document });

  it('exports the live agent, blocks, tools, messages, memories and links as one versioned document', () => {
    expect(original).toMatchObject({
      format: 'agentmem.agent',
      version: 2,
      agent: { id: a.agentId, name: 'Demo Assistant', topic: 'export', metadata: { team: 'x' } },
    });
    expect(original.blocks.map((block) => block.label)).toEqual(['human', 'persona']);
    expect(original.tools.map((tool) => tool.name).sort()).toEqual([
      'archival_memory_search',
      'current_time',
      'export_only_tool',
    ]);
    expect(original.messages).toHaveLength(6);
    expect(original.messages.map((message) => message.id)).not.toContain(deletedMessageId);
    expect(original.agent.messageIds).toHaveLength(4);
    expect(original.memories).toHaveLength(1);
    expect(original.links.blocksAgents).toHaveLength(2);
    expect(original.links.toolsAgents).toHaveLength(3);
  });

  it('imports a round trip that matches the original field by field, with new ids and the same tools', async () => {
    const imported = (await importAs(a.key, original)).data!.importAgent;
    if (imported.__typename !== 'AgentPayload') throw new Error(`importAgent returned ${JSON.stringify(imported)}`);
    expect(imported.agent.id).not.toBe(a.agentId);
    const again = (await app.graphql(ExportAgentFile, { id: imported.agent.id })).data!
      .exportAgent as AgentFileDocument;
    expect(comparable(again)).toEqual(comparable(original));
    // New ids everywhere, except the tools, which are matched by name in the same organization.
    const ids = (file: AgentFileDocument) => [...file.blocks, ...file.messages, ...file.memories].map((row) => row.id);
    expect(ids(again).filter((id) => ids(original).includes(id))).toEqual([]);
    expect(again.tools.map((tool) => tool.id).sort()).toEqual(original.tools.map((tool) => tool.id).sort());
    expect(
      await app.database.owner.tool.count({ where: { organizationId: a.organizationId, name: 'export_only_tool' } }),
    ).toBe(1);
  });

  it('imports into another organization, which owns every row, and leaks nothing back', async () => {
    const before = await rowsOfOrganization(app.database.owner, a.organizationId);
    const imported = (await importAs(b.key, original)).data!.importAgent;
    if (imported.__typename !== 'AgentPayload') throw new Error(`importAgent returned ${JSON.stringify(imported)}`);
    expect(imported.agent).toMatchObject({ organizationId: b.organizationId, name: 'Demo Assistant', memoryCount: 1 });
    expect(imported.agent.blocks).toEqual([
      { label: 'human', value: 'Name: Ada. Learning GraphQL.' },
      { label: 'persona', value: 'I am a friendly, concise assistant.' },
    ]);

    const owner = app.database.owner;
    const newAgent = imported.agent.id;
    const rows = await Promise.all([
      owner.agent.findMany({ where: { id: newAgent } }),
      owner.block.findMany({ where: { agentLinks: { some: { agentId: newAgent } } } }),
      owner.tool.findMany({ where: { agentLinks: { some: { agentId: newAgent } } } }),
      owner.message.findMany({ where: { agentId: newAgent } }),
      owner.memory.findMany({ where: { agentId: newAgent } }),
    ]);
    for (const row of rows.flat()) expect(row.organizationId).toBe(b.organizationId);
    for (const row of [...rows[1], ...rows[3], ...rows[4]])
      expect(row).toMatchObject({ userId: b.userId, createdById: b.userId });
    // B's own tools of those names were reused; the one B lacked was created in B.
    const bTools = await owner.tool.findMany({ where: { organizationId: b.organizationId }, orderBy: { name: 'asc' } });
    expect(bTools.map((tool) => tool.name)).toEqual(['archival_memory_search', 'current_time', 'export_only_tool']);
    expect(rows[2].map((tool) => tool.id).sort()).toEqual(bTools.map((tool) => tool.id).sort());

    expect(await rowsOfOrganization(owner, a.organizationId)).toEqual(before);
    expect((await app.graphqlAs(a.key, AgentOfMine, { id: newAgent })).data!.agent).toBeNull();
    expect((await app.graphqlAs(a.key, ExportAgentFile, { id: newAgent })).data!.exportAgent).toBeNull();
    expect((await app.graphqlAs(b.key, ExportAgentFile, { id: a.agentId })).data!.exportAgent).toBeNull();
  });

  it('carries validity and supersession chains (version 2); a version 1 file still imports', async () => {
    const agentId = 'agent-export-chains';
    await app.database.owner.agent.create({ data: { id: agentId, organizationId: a.organizationId, name: 'Chains' } });
    const made = await app.graphqlAs(
      a.key,
      graphql(`
        mutation ExportChainStart($paris: CreateMemoryInput!, $chess: CreateMemoryInput!, $hotel: CreateMemoryInput!) {
          paris: createMemory(input: $paris) { __typename ... on MemoryPayload { memory { id } } }
          chess: createMemory(input: $chess) { __typename ... on MemoryPayload { memory { id } } }
          hotel: createMemory(input: $hotel) { __typename ... on MemoryPayload { memory { id } } }
        }
      `),
      {
        paris: {
          agentId,
          content: 'Lives in Paris',
          memoryType: 'FACTUAL',
          scope: 'user',
          level: 'core',
          validFrom: '2020-01-01T00:00:00Z',
        },
        chess: { agentId, content: 'Plays chess', memoryType: 'FACTUAL', scope: 'user', level: 'core' },
        hotel: {
          agentId,
          content: 'Stays at a hotel',
          memoryType: 'FACTUAL',
          scope: 'user',
          level: 'core',
          expiresAt: '2999-01-01T00:00:00Z',
        },
      },
    );
    const idOf = (result: unknown) => (result as { memory: { id: string } }).memory.id;
    const paris = idOf(made.data!.paris);
    const chess = idOf(made.data!.chess);
    const moved = await app.graphqlUntyped(
      `mutation { supersedeMemory(id: "${paris}",
        input: { content: "Lives in Lyon", validFrom: "2022-01-01T00:00:00Z" })
        { __typename ... on MemoryPayload { memory { id } } } invalidateMemory(id: "${chess}") { __typename } }`,
    );
    expect(moved.data).toMatchObject({ supersedeMemory: { __typename: 'MemoryPayload' }, invalidateMemory: {} });
    const lyon = idOf(moved.data!.supersedeMemory);

    const file = (await app.graphqlAs(a.key, ExportAgentFile, { id: agentId })).data!.exportAgent as AgentFileDocument;
    expect(file.version).toBe(2);
    const byContent = new Map(file.memories.map((memory) => [memory.content as string, memory]));
    expect(byContent.get('Lives in Paris')).toMatchObject({
      id: paris,
      validFrom: '2020-01-01T00:00:00.000Z',
      validUntil: '2022-01-01T00:00:00.000Z',
      supersededById: lyon,
      expiresAt: null,
    });
    expect(byContent.get('Lives in Lyon')).toMatchObject({ validUntil: null, supersededById: null });
    expect(byContent.get('Plays chess')).toMatchObject({ validUntil: expect.any(String), supersededById: null });
    expect(byContent.get('Stays at a hotel')).toMatchObject({ expiresAt: '2999-01-01T00:00:00.000Z' });

    // Into another organization, and back out: the same chain, periods and expiries.
    const imported = (await importAs(b.key, file)).data!.importAgent;
    if (imported.__typename !== 'AgentPayload') throw new Error(`importAgent returned ${JSON.stringify(imported)}`);
    const again = (await app.graphqlAs(b.key, ExportAgentFile, { id: imported.agent.id })).data!
      .exportAgent as AgentFileDocument;
    expect(comparable(again).memories).toEqual(comparable(file).memories);

    // A version 1 file: no periods, every memory holds from its creation.
    const v1 = structuredClone(file) as AgentFileDocument & { version: number };
    v1.version = 1;
    for (const memory of v1.memories) {
      for (const key of ['validFrom', 'validUntil', 'supersededById', 'expiresAt']) delete memory[key];
    }
    const old = (await importAs(b.key, v1)).data!.importAgent;
    if (old.__typename !== 'AgentPayload') throw new Error(`importAgent returned ${JSON.stringify(old)}`);
    const rows = await app.database.owner.memory.findMany({ where: { agentId: old.agent.id } });
    expect(rows).toHaveLength(4);
    for (const row of rows)
      expect(row).toMatchObject({ validFrom: row.createdAt, validUntil: null, supersededById: null, expiresAt: null });

    // A chain that loops back, or names a memory the file does not have, is refused, and nothing is written.
    const before = await rowsOfOrganization(app.database.owner, b.organizationId);
    const looped = structuredClone(file);
    looped.memories[0]!.supersededById = looped.memories[1]!.id;
    looped.memories[1]!.supersededById = looped.memories[0]!.id;
    expect((await importAs(b.key, looped)).data!.importAgent).toMatchObject({
      code: 'VALIDATION',
      field: ['document', 'memories', '0', 'supersededById'],
    });
    const dangling = structuredClone(file);
    dangling.memories[0]!.supersededById = 'memory-elsewhere';
    expect((await importAs(b.key, dangling)).data!.importAgent).toMatchObject({
      code: 'VALIDATION',
      field: ['document', 'memories', '0', 'supersededById'],
    });
    const backwards = structuredClone(file);
    Object.assign(backwards.memories[0]!, { validFrom: '2030-01-01T00:00:00Z', validUntil: '2029-01-01T00:00:00Z' });
    expect((await importAs(b.key, backwards)).data!.importAgent).toMatchObject({
      code: 'VALIDATION',
      field: ['document', 'memories', '0', 'validUntil'],
    });
    expect(await rowsOfOrganization(app.database.owner, b.organizationId)).toEqual(before);
  });

  const broken = (change: (file: AgentFileDocument) => unknown): unknown => {
    const file = structuredClone(original);
    return change(file) ?? file;
  };
  it.each([
    [
      'a wrong version',
      (file: AgentFileDocument) => void (file.version = 3),
      'ValidationError',
      ['document', 'version'],
    ],
    [
      'another format',
      (file: AgentFileDocument) => void (file.format = 'letta.agent'),
      'ValidationError',
      ['document', 'format'],
    ],
    [
      'a block link to no block of the file',
      (file: AgentFileDocument) => void (file.links.blocksAgents[1]!.blockId = 'block-elsewhere'),
      'ValidationError',
      ['document', 'links', 'blocksAgents', '1', 'blockId'],
    ],
    [
      'a tool link to no tool of the file',
      (file: AgentFileDocument) => void (file.links.toolsAgents[0]!.toolId = 'tool-elsewhere'),
      'ValidationError',
      ['document', 'links', 'toolsAgents', '0', 'toolId'],
    ],
    [
      'a window entry naming no message of the file',
      (file: AgentFileDocument) => void file.agent.messageIds!.splice(1, 0, 'message-elsewhere'),
      'ValidationError',
      ['document', 'agent', 'messageIds', '1'],
    ],
    [
      'a block over its limit',
      (file: AgentFileDocument) => void Object.assign(file.blocks[1]!, { limit: 5 }),
      'BlockLimitExceededError',
      ['document', 'blocks', '1', 'value'],
    ],
    [
      'a message role of no kind',
      (file: AgentFileDocument) => void (file.messages[2]!.role = 'robot'),
      'ValidationError',
      ['document', 'messages', '2', 'role'],
    ],
    [
      'a block without its label',
      (file: AgentFileDocument) => void delete (file.blocks[0] as Partial<AgentFileDocument['blocks'][0]>).label,
      'ValidationError',
      ['document', 'blocks', '0', 'label'],
    ],
    [
      'two blocks with one label',
      (file: AgentFileDocument) => void (file.blocks[1]!.label = file.links.blocksAgents[1]!.blockLabel = 'human'),
      'ValidationError',
      ['document', 'links', 'blocksAgents', '1', 'blockLabel'],
    ],
    [
      'an instant PostgreSQL cannot store',
      (file: AgentFileDocument) => void (file.messages[0]!.createdAt = '0000-01-01T00:00:00Z'),
      'ValidationError',
      ['document', 'messages', '0', 'createdAt'],
    ],
    // The DateTime scalar's rule: a date that does not exist is refused, never moved to March 1st.
    [
      'a date that does not exist',
      (file: AgentFileDocument) => void (file.messages[0]!.createdAt = '2024-02-30T00:00:00Z'),
      'ValidationError',
      ['document', 'messages', '0', 'createdAt'],
    ],
    [
      'an instant that is not RFC 3339',
      (file: AgentFileDocument) => void (file.blocks[0]!.createdAt = 'March 3, 2024'),
      'ValidationError',
      ['document', 'blocks', '0', 'createdAt'],
    ],
    ['not an object at all', (file: AgentFileDocument) => [file], 'ValidationError', ['document']],
  ])('refuses %s, naming its path, and writes nothing', async (_case, change, typename, field) => {
    const before = await rowsOfOrganization(app.database.owner, b.organizationId);
    const refused = (await importAs(b.key, broken(change))).data!.importAgent;
    expect(refused).toMatchObject({ __typename: typename, field });
    expect(await rowsOfOrganization(app.database.owner, b.organizationId)).toEqual(before);
  });

  it('ignores properties it does not know, so that later releases can add optional ones', async () => {
    const extended = broken((file) => {
      file.producer = 'a later AgentMem';
      Object.assign(file.blocks[0]!, { version: 7 });
      Object.assign(file.messages[0]!, { seq: 1 });
      return undefined;
    });
    expect((await importAs(b.key, extended)).data!.importAgent.__typename).toBe('AgentPayload');
  });

  it('runs `npm run agent:export -- <id> > agent.json` and `npm run agent:import < agent.json` ' +
    'against a running server', async () => {
    const run = promisify(execFile);
    const directory = await mkdtemp(path.join(os.tmpdir(), 'agent-file-'));
    try {
      const file = path.join(directory, 'agent.json');
      const cwd = path.resolve(__dirname, '..', '..');
      const env = (key: string) => ({ ...process.env, AGENTMEM_URL: app.url, AGENTMEM_API_KEY: key });
      // Through a shell, exactly as written, npm's banner included.
      await run('sh', ['-c', `npm run agent:export -- "${a.agentId}" > "${file}"`], { cwd, env: env(a.key) });
      const { stdout } = await run('sh', ['-c', `npm run --silent agent:import < "${file}"`], { cwd, env: env(b.key) });
      const newAgent = stdout.trim();
      expect(newAgent).toMatch(/^agent-/);
      const imported = (await app.graphqlAs(b.key, ExportAgentFile, { id: newAgent })).data!
        .exportAgent as AgentFileDocument;
      expect(comparable(imported).messages).toEqual(comparable(original).messages);
      expect(imported.blocks.map((block) => block.value)).toEqual(original.blocks.map((block) => block.value));

      // --silent writes the document alone: plain JSON.
      await run('sh', ['-c', `npm run --silent agent:export -- "${a.agentId}" > "${file}"`], { cwd, env: env(a.key) });
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ format: 'agentmem.agent', version: 2 });

      // A refusal: the path on standard error, exit code 1, nothing written.
      await writeFile(file, JSON.stringify({ ...original, version: 9 }));
      const failed = await run('sh', ['-c', `npm run --silent agent:import < "${file}"`], {
        cwd,
        env: env(b.key),
      }).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toMatch(/VALIDATION at document\.version/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 60_000);
});
