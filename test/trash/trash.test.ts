import { newId } from '../../src/ids';
import { graphql } from '../generated';
import { startTestApp, type TestApp } from '../support/test-app';

const IssueTrashWriterKey = graphql(`
  mutation IssueTrashWriterKey { createApiKey(input: { name: "writer", scopes: [WRITE] }) {
    __typename ... on CreatedApiKey { key } } }
`);
const MakeTrashables = graphql(`
  mutation MakeTrashables {
    createAgent(input: { name: "to trash", blocks: [{ label: "persona", value: "gone for a while" }] }) {
      __typename ... on AgentPayload { agent { id blocks { id } } }
    }
    createTool(input: { name: "trash_tool" }) { __typename ... on ToolPayload { tool { id } } }
    createUser(input: { name: "Trashed User" }) { __typename ... on UserPayload { user { id } } }
  }
`);
const DeleteEverything = graphql(`
  mutation DeleteEverything($agent: ID!, $block: ID!, $tool: ID!, $user: ID!, $memory: ID!, $message: ID!) {
    agent: deleteAgent(id: $agent) { __typename }
    block: deleteBlock(id: $block) { __typename }
    tool: deleteTool(id: $tool) { __typename }
    user: deleteUser(id: $user) { __typename }
    memory: deleteMemory(id: $memory) { __typename }
    message: deleteMessage(id: $message) { __typename }
  }
`);
const Trash = graphql(`
  query Trash($agentId: ID!) {
    agents(deleted: true) { totalCount nodes { id name deletedAt deletedById deletedBy { id } blocks { id } } }
    blocks(deleted: true) { totalCount nodes { id deletedAt deletedById deletedBy { id } } }
    tools(deleted: true) { totalCount nodes { id deletedAt deletedById } }
    users(deleted: true) { totalCount nodes { id deletedAt deletedById } }
    memories(deleted: true) { totalCount nodes { id deletedAt deletedById } }
    messages(agentId: $agentId, deleted: true) { totalCount nodes { id deletedAt deletedById } }
  }
`);
const LiveLists = graphql(`
  query LiveLists($agentId: ID!) {
    agents { nodes { id deletedAt } }
    blocks { nodes { id } }
    tools { nodes { id } }
    users { nodes { id } }
    memories { nodes { id } }
    messages(agentId: $agentId) { nodes { id } }
  }
`);
const RestoreEverything = graphql(`
  mutation RestoreEverything($agent: ID!, $block: ID!, $tool: ID!, $user: ID!, $memory: ID!, $message: ID!) {
    agent: restoreAgent(id: $agent) { __typename ... on AgentPayload { agent {
      id deletedAt deletedById } } ... on Error { code field message } }
    block: restoreBlock(id: $block) { __typename ... on BlockPayload { block { id deletedAt deletedBy {
      id } } } ... on Error { code field message } }
    tool: restoreTool(id: $tool) { __typename ... on ToolPayload { tool { id deletedAt } } ... on Error {
      code field message } }
    user: restoreUser(id: $user) { __typename ... on UserPayload { user { id deletedAt } } ... on Error {
      code field message } }
    memory: restoreMemory(id: $memory) { __typename ... on MemoryPayload { memory { id deletedAt } } ... on Error {
      code field message } }
    message: restoreMessage(id: $message) { __typename ... on MessagesPayload { messages {
      id deletedAt } } ... on Error { code field message } }
  }
`);
const TrashCount = graphql(`
  query TrashCount($deleted: Boolean) { agents(deleted: $deleted) { totalCount nodes { id } } }
`);
const RestoreOneAgent = graphql(`
  mutation RestoreOneAgent($id: ID!) { restoreAgent(id: $id) { __typename ... on Error { code field message } } }
`);
const ReplacePersona = graphql(`
  mutation ReplacePersona($old: ID!) {
    deleteBlock(id: $old) { __typename }
    createBlock(input: { label: "persona", value: "the new persona" }) { __typename ... on BlockPayload { block {
      id } } }
  }
`);
const AttachAndRestore = graphql(`
  mutation AttachAndRestore($agentId: ID!, $new: ID!, $old: ID!) {
    attachBlock(agentId: $agentId, blockId: $new) { __typename ... on Error { code } }
    restoreBlock(id: $old) { __typename ... on Error { code field message } }
  }
`);
const DeleteMessages = graphql(`
  mutation DeleteTrashMessages($mine: ID!, $theirs: ID!) {
    mine: deleteMessage(id: $mine) { __typename }
    theirs: deleteMessage(id: $theirs) { __typename }
  }
`);
const DeleteTheirMessage = graphql(`
  mutation DeleteTheirMessage($id: ID!) { deleteMessage(id: $id) { __typename } }
`);
const MessageTrash = graphql(`
  query MessageTrash($first: Int, $after: String) {
    messages(deleted: true, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id agentId deletedAt deletedBy { id } }
    }
  }
`);
const MessagesWithoutAgent = graphql(`
  query MessagesWithoutAgent { messages(first: 5) { totalCount nodes { id } } }
`);
const DeleteOneAgent = graphql(`
  mutation DeleteOneAgent($id: ID!) { deleteAgent(id: $id) { __typename } }
`);

/** The results of an operation's aliased fields, without the `__typename` codegen types it with. */
function resultsOf<T extends { __typename?: string }>(data: T): Exclude<T[keyof T], string | undefined>[] {
  const { __typename: _type, ...fields } = data;
  return Object.values(fields) as Exclude<T[keyof T], string | undefined>[];
}

describe('the trash: deleted rows listed, restored, refused', () => {
  let app: TestApp;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  let other: Awaited<ReturnType<TestApp['seedDemo']>>;
  let ids: { agent: string; block: string; tool: string; user: string; memory: string; message: string };
  beforeAll(async () => {
    app = await startTestApp('trash');
    demo = await app.seedDemo();
    other = await app.seedDemo();
    const made = (await app.graphql(MakeTrashables)).data!;
    if (
      made.createAgent.__typename !== 'AgentPayload' ||
      made.createTool.__typename !== 'ToolPayload' ||
      made.createUser.__typename !== 'UserPayload'
    ) {
      throw new Error('could not create the rows to trash');
    }
    const owner = app.database.owner;
    const memory = await owner.memory.findFirstOrThrow({ where: { agentId: demo.agentId } });
    const message = await owner.message.findFirstOrThrow({ where: { agentId: demo.agentId } });
    ids = {
      agent: made.createAgent.agent.id,
      block: made.createAgent.agent.blocks[0]!.id,
      tool: made.createTool.tool.id,
      user: made.createUser.user.id,
      memory: memory.id,
      message: message.id,
    };
  });
  afterAll(async () => {
    await app?.close();
  });

  it('lists only deleted rows (when, by whom), hides them elsewhere, and restores each with its payload', async () => {
    const before = Date.now();
    const deleted = (await app.graphql(DeleteEverything, ids)).data!;
    expect(resultsOf(deleted).map((result) => result.__typename)).toEqual(Array(6).fill('DeletedPayload'));

    const trash = (await app.graphql(Trash, { agentId: demo.agentId })).data!;
    const expectTrashed = (
      nodes: Array<{ id: string; deletedAt?: unknown; deletedById?: string | null }>,
      id: string,
    ) => {
      expect(nodes.map((node) => node.id)).toEqual([id]);
      expect(nodes[0]!.deletedById).toBe(demo.userId);
      expect(Date.parse(String(nodes[0]!.deletedAt))).toBeGreaterThanOrEqual(before - 1000);
    };
    expectTrashed(trash.agents.nodes, ids.agent);
    expectTrashed(trash.blocks.nodes, ids.block);
    expectTrashed(trash.tools.nodes, ids.tool);
    expectTrashed(trash.users.nodes, ids.user);
    expectTrashed(trash.memories.nodes, ids.memory);
    expectTrashed(trash.messages.nodes, ids.message);
    expect(trash.agents.nodes[0]!.deletedBy).toEqual({ id: demo.userId });
    expect(trash.blocks.nodes[0]!.deletedBy).toEqual({ id: demo.userId });
    expect(
      [trash.agents, trash.blocks, trash.tools, trash.users, trash.memories, trash.messages].map(
        (list) => list.totalCount,
      ),
    ).toEqual(Array(6).fill(1));

    const live = (await app.graphql(LiveLists, { agentId: demo.agentId })).data!;
    const liveIds = new Set(resultsOf(live).flatMap((list) => list.nodes.map((node) => node.id)));
    for (const id of Object.values(ids)) expect(liveIds.has(id)).toBe(false);
    expect(live.agents.nodes.every((agent) => agent.deletedAt === null)).toBe(true);

    const restored = (await app.graphql(RestoreEverything, ids)).data!;
    expect(restored.agent).toEqual({
      __typename: 'AgentPayload',
      agent: { id: ids.agent, deletedAt: null, deletedById: null },
    });
    expect(restored.block).toEqual({
      __typename: 'BlockPayload',
      block: { id: ids.block, deletedAt: null, deletedBy: null },
    });
    expect(restored.tool).toEqual({ __typename: 'ToolPayload', tool: { id: ids.tool, deletedAt: null } });
    expect(restored.user).toEqual({ __typename: 'UserPayload', user: { id: ids.user, deletedAt: null } });
    expect(restored.memory).toEqual({ __typename: 'MemoryPayload', memory: { id: ids.memory, deletedAt: null } });
    expect(restored.message).toEqual({
      __typename: 'MessagesPayload',
      messages: [{ id: ids.message, deletedAt: null }],
    });

    const emptied = (await app.graphql(Trash, { agentId: demo.agentId })).data!;
    expect(resultsOf(emptied).map((list) => list.totalCount)).toEqual(Array(6).fill(0));
    const back = (await app.graphql(LiveLists, { agentId: demo.agentId })).data!;
    const backIds = new Set(resultsOf(back).flatMap((list) => list.nodes.map((node) => node.id)));
    for (const id of Object.values(ids)) expect(backIds.has(id)).toBe(true);
  });

  it('answers a restore of a live row with CONFLICT "not deleted", and of a missing one with NOT_FOUND', async () => {
    const again = (await app.graphql(RestoreEverything, ids)).data!;
    for (const result of resultsOf(again)) {
      expect(result).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT', field: ['id'] });
      expect((result as { message: string }).message).toMatch(/is not deleted/);
    }
    const missing = (await app.graphql(RestoreOneAgent, { id: 'agent-00000000-0000-0000-0000-000000000000' })).data!
      .restoreAgent;
    expect(missing).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND', field: ['id'] });
  });

  it('shows the trash to admin keys only: FORBIDDEN for others, who still list live rows', async () => {
    const issued = (await app.graphql(IssueTrashWriterKey)).data!.createApiKey;
    if (issued.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${issued.__typename}`);
    const refused = await app.graphqlAs(issued.key, TrashCount, { deleted: true });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: ['deleted'] });
    expect(refused.data ?? null).toBeNull();
    const allowed = await app.graphqlAs(issued.key, TrashCount, { deleted: false });
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data!.agents.totalCount).toBeGreaterThan(0);
  });

  it('refuses to restore a block whose label its agent has given to another block meanwhile', async () => {
    const persona = await app.database.owner.blockAgent.findFirstOrThrow({
      where: { agentId: demo.agentId, blockLabel: 'persona' },
    });
    const replaced = (await app.graphql(ReplacePersona, { old: persona.blockId })).data!;
    if (replaced.createBlock.__typename !== 'BlockPayload') throw new Error('could not create the new persona');
    const result = (
      await app.graphql(AttachAndRestore, {
        agentId: demo.agentId,
        new: replaced.createBlock.block.id,
        old: persona.blockId,
      })
    ).data!;
    expect(result.attachBlock.__typename).toBe('AgentPayload');
    expect(result.restoreBlock).toMatchObject({ __typename: 'ConflictError', field: ['id'] });
    expect((result.restoreBlock as { message: string }).message).toContain('"persona"');
    expect(await app.database.owner.block.findUniqueOrThrow({ where: { id: persona.blockId } })).toMatchObject({
      isDeleted: true,
      deletedById: demo.userId,
    });
  });

  it("lists every agent's deleted messages without agentId, by cursor, to admin keys, never another's", async () => {
    const owner = app.database.owner;
    const second = await owner.message.findFirstOrThrow({
      where: { agentId: demo.agentId, isDeleted: false, id: { not: ids.message } },
    });
    // One of another agent of the organization: the agent made for the trash (restored above).
    const made = await owner.message.create({
      data: {
        id: newId('message'),
        organizationId: demo.organizationId,
        userId: demo.userId,
        agentId: ids.agent,
        role: 'user',
        text: 'to the trash from another agent',
      },
    });
    const theirs = await owner.message.findFirstOrThrow({ where: { agentId: other.agentId } });
    expect(resultsOf((await app.graphql(DeleteMessages, { mine: second.id, theirs: made.id })).data!)).toEqual([
      { __typename: 'DeletedPayload' },
      { __typename: 'DeletedPayload' },
    ]);
    expect((await app.graphqlAs(other.key, DeleteTheirMessage, { id: theirs.id })).data!.deleteMessage).toEqual({
      __typename: 'DeletedPayload',
    });

    // Two pages of one: both agents' messages, oldest first, none of the other organization's.
    const first = (await app.graphql(MessageTrash, { first: 1 })).data!.messages;
    expect(first).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
    const next = (await app.graphql(MessageTrash, { first: 1, after: first.pageInfo.endCursor })).data!.messages;
    expect(next.pageInfo.hasNextPage).toBe(false);
    const listed = [...first.nodes, ...next.nodes];
    expect(listed.map((node) => node.id)).toEqual([second.id, made.id]);
    expect(listed.map((node) => node.agentId)).toEqual([demo.agentId, ids.agent]);
    expect(listed.every((node) => node.deletedBy?.id === demo.userId && node.deletedAt !== null)).toBe(true);
    const theirTrash = (await app.graphqlAs(other.key, MessageTrash, {})).data!.messages;
    expect(theirTrash.nodes.map((node) => node.id)).toEqual([theirs.id]);

    // A write key may not list it; a live conversation still needs its agent.
    const issued = (await app.graphql(IssueTrashWriterKey)).data!.createApiKey;
    if (issued.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${issued.__typename}`);
    const refused = await app.graphqlAs(issued.key, MessageTrash, {});
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: ['deleted'] });
    const noAgent = await app.graphql(MessagesWithoutAgent);
    expect(noAgent.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', field: ['agentId'] });
    expect(noAgent.data ?? null).toBeNull();
  });

  it("never shows or restores another organization's deleted rows", async () => {
    expect((await app.graphqlAs(other.key, DeleteOneAgent, { id: other.agentId })).data!.deleteAgent.__typename).toBe(
      'DeletedPayload',
    );
    const mine = (await app.graphql(TrashCount, { deleted: true })).data!.agents;
    expect(mine.nodes.map((node) => node.id)).not.toContain(other.agentId);
    expect((await app.graphql(RestoreOneAgent, { id: other.agentId })).data!.restoreAgent).toMatchObject({
      __typename: 'NotFoundError',
      field: ['id'],
    });
    const stillDeleted = await app.database.owner.agent.findUniqueOrThrow({ where: { id: other.agentId } });
    expect(stillDeleted).toMatchObject({ isDeleted: true, deletedById: other.userId });
    expect(
      (await app.graphqlAs(other.key, TrashCount, { deleted: true })).data!.agents.nodes.map((node) => node.id),
    ).toEqual([other.agentId]);
  });
});
