import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, type TestBrowser } from '../../scripts/chromium';
import type { DemoData } from '../../src/demo/seed';
import { newId } from '../../src/ids';
import { enqueueEmbeddings } from '../../src/memories/embedding-worker';
import { graphql } from '../generated';
import { EmbeddingsStandIn, providerAt, STAND_IN_DIMENSIONS } from '../support/embeddings-stand-in';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The memory inspector (/ui) as a person uses it, in a real browser: Debian's Chromium (never a
 * downloaded one), driven by playwright-core, as the GraphiQL test does. One browser is heavy for
 * a 2-core CI: this runs in the PostgreSQL half only, and is reported skipped on PGlite (see
 * docs/testing.md). Each screen is checked by axe-core (no serious or critical violation) and left
 * as a screenshot in artifacts/inspector/.
 */
const ROOT = path.resolve(__dirname, '../..');
const SCREENSHOTS = path.join(ROOT, 'artifacts/inspector');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const onPostgres = process.env.DATABASE_URL !== undefined;

const IssueReadKey = graphql(`
  mutation InspectorTestReadKey {
    createApiKey(input: { name: "reader", scopes: [READ] }) {
      __typename
      ... on CreatedApiKey { key }
    }
  }
`);

const ToolConversation = graphql(`
  mutation InspectorTestToolCall($agentId: ID!, $messages: [MessageInput!]!) {
    appendMessages(agentId: $agentId, messages: $messages) {
      __typename
      ... on MessagesPayload { messages { id } }
    }
  }
`);

const RememberThis = graphql(`
  mutation InspectorTestRemember($agentId: ID!, $content: String!) {
    createMemory(input: { agentId: $agentId, content: $content, memoryType: EPISODIC, scope: "user", level: "core" }) {
      __typename
      ... on MemoryPayload { memory { id } }
    }
  }
`);

const DeleteMemory = graphql(`
  mutation InspectorTestDeleteMemory($id: ID!) {
    deleteMemory(id: $id) { __typename }
  }
`);

const DeletedMemories = graphql(`
  query InspectorTestDeletedMemories {
    memories(deleted: true, track: false) { nodes { id content } }
  }
`);

const SetContextWindow = graphql(`
  mutation InspectorTestContextWindow($agentId: ID!, $messageIds: [ID!]!) {
    setContextWindow(agentId: $agentId, messageIds: $messageIds) { __typename }
  }
`);

const BlockByLabel = graphql(`
  query InspectorTestBlock($agentId: ID!) {
    agent(id: $agentId) { blocks(label: "persona") { id value version } }
  }
`);

const MemoriesOfAgent = graphql(`
  query InspectorTestMemories($agentId: ID!) {
    memories(filter: { agentId: $agentId }, track: false) { nodes { id content deletedAt } }
  }
`);

const SearchBreakdown = graphql(`
  query InspectorTestSearch($mode: SearchMode) {
    searchMemories(query: "GraphQL", mode: $mode, track: false) {
      mode
      score
      breakdown { text importance recency use similarity }
      memory { id }
    }
  }
`);

const DeleteMessage = graphql(`
  mutation InspectorTestDeleteMessage($id: ID!) {
    deleteMessage(id: $id) { __typename }
  }
`);

const MessagesOfAgent = graphql(`
  query InspectorTestMessages($agentId: ID!) {
    messages(agentId: $agentId, last: 50) { nodes { id text } }
  }
`);

const DeletedMessages = graphql(`
  query InspectorTestDeletedMessages {
    messages(deleted: true, first: 50) { totalCount nodes { id text agentId } }
  }
`);

const AgentsWithCounts = graphql(`
  query InspectorTestAgents($nameContains: String) {
    agents(first: 100, filter: { nameContains: $nameContains }, orderBy: { field: UPDATED_AT, direction: DESC }) {
      totalCount
      nodes { name messageCount memoryCount updatedAt recentMessages(limit: 1) { createdAt } }
    }
  }
`);

const SecondAdmin = graphql(`
  mutation InspectorTestSecondAdmin {
    createUser(input: { name: "Grace Admin" }) {
      __typename
      ... on UserPayload { user { id } }
    }
  }
`);

const KeyFor = graphql(`
  mutation InspectorTestKeyFor($name: String!, $scopes: [Scope!]!, $userId: ID) {
    createApiKey(input: { name: $name, scopes: $scopes, userId: $userId }) {
      __typename
      ... on CreatedApiKey { key }
    }
  }
`);

/** One row of each kind the trash lists, for the demo agent (its memory and message). */
const RowsOfEachKind = graphql(`
  mutation InspectorTestRowsOfEachKind($agentId: ID!, $text: String!, $tool: String!) {
    createAgent(input: { name: $text }) {
      __typename
      ... on AgentPayload { agent { id } }
    }
    createBlock(input: { label: "notes", value: $text }) {
      __typename
      ... on BlockPayload { block { id } }
    }
    createTool(input: { name: $tool }) {
      __typename
      ... on ToolPayload { tool { id } }
    }
    createMemory(input: { agentId: $agentId, content: $text, memoryType: EPISODIC, scope: "user", level: "core" }) {
      __typename
      ... on MemoryPayload { memory { id } }
    }
    appendMessages(agentId: $agentId, messages: [{ role: USER, text: $text }]) {
      __typename
      ... on MessagesPayload { messages { id } }
    }
  }
`);

const DeleteOneOfEachKind = graphql(`
  mutation InspectorTestDeleteEachKind($agent: ID!, $block: ID!, $tool: ID!, $memory: ID!, $message: ID!) {
    deleteAgent(id: $agent) { __typename }
    deleteBlock(id: $block) { __typename }
    deleteTool(id: $tool) { __typename }
    deleteMemory(id: $memory) { __typename }
    deleteMessage(id: $message) { __typename }
  }
`);

const TrashOfEachKind = graphql(`
  query InspectorTestTrash {
    agents(deleted: true, first: 20) { nodes { id deletedAt deletedBy { name } } }
    blocks(deleted: true, first: 20) { nodes { id deletedAt deletedBy { name } } }
    tools(deleted: true, first: 20) { nodes { id deletedAt deletedBy { name } } }
    memories(deleted: true, first: 20, track: false) { nodes { id deletedAt deletedBy { name } } }
    messages(deleted: true, first: 20) { nodes { id deletedAt deletedBy { name } } }
  }
`);

const RestoreMemory = graphql(`
  mutation InspectorTestRestoreMemory($id: ID!) {
    restoreMemory(id: $id) { __typename }
  }
`);

type TrashKind = 'agent' | 'block' | 'tool' | 'memory' | 'message';
const TRASH_KINDS: readonly TrashKind[] = ['agent', 'block', 'tool', 'memory', 'message'];

interface AgentRow {
  name: string;
  messages: number;
  memories: number;
  /** The <time>'s instant, and its words as shown and as the browser words that instant. */
  last: string;
  lastShown: string;
  lastInWords: string;
}

/** Where the focus is, what it is called, and whether it is drawn (:focus-visible with an outline). */
interface Focus {
  tag: string;
  id: string;
  name: string;
  visible: boolean;
}

interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

(onPostgres ? describe : describe.skip)('the memory inspector in a browser (PostgreSQL half only)', () => {
  let app: TestApp;
  let origin: string;
  let demo: DemoData;
  let otherOrganization: DemoData;
  let readKey: string;
  let browser: BrowserContext;
  let page: Page;
  let testBrowser: TestBrowser | undefined;
  let standIn: EmbeddingsStandIn | undefined;
  let profile: string;
  const requests: Array<{ url: string; authorization: string | undefined }> = [];
  /** Keys issued by the tests beside the three of beforeAll: none may appear in a URL either. */
  const extraKeys: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // The build `npm start` would make (built again only when its sources changed).
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-inspector.ts', '--if-stale'], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    // An embedding provider (the stand-in of test/memories/embedding-provider.test.ts, a real HTTP
    // server): memories get embeddings, and a search by default uses meaning too (HYBRID).
    standIn = new EmbeddingsStandIn(STAND_IN_DIMENSIONS);
    app = await startTestApp('inspector-browser', { embeddings: providerAt(await standIn.start()) });
    origin = new URL(app.url).origin;
    demo = await app.seedDemo();
    otherOrganization = await app.seedDemo();
    // The demo's memories are seeded without embeddings: queued, as a write queues them, for the
    // server's worker to embed through the stand-in (untilEmbedded waits for it).
    const seeded = await app.database.owner.memory.findMany({
      where: { organizationId: demo.organizationId },
      select: { id: true },
    });
    await app.database.owner.$transaction((tx) =>
      enqueueEmbeddings(
        tx,
        demo.organizationId,
        seeded.map((memory) => memory.id),
      ),
    );
    const issued = (await app.graphql(IssueReadKey)).data!.createApiKey;
    if (issued.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${issued.__typename}`);
    readKey = issued.key;
    // A tool call and its reply, threaded together on the screen.
    const appended = await app.graphql(ToolConversation, {
      agentId: demo.agentId,
      messages: [
        {
          role: 'ASSISTANT',
          text: 'Let me look that up.',
          toolCalls: [
            { id: 'call-1', type: 'function', function: { name: 'current_time', arguments: '{"zone": "UTC"}' } },
          ],
        },
        { role: 'TOOL', toolCallId: 'call-1', name: 'current_time', text: '12:00 UTC' },
      ],
    });
    if (appended.data?.appendMessages.__typename !== 'MessagesPayload') throw new Error('appendMessages failed');
    // The call and its reply are the context window.
    const window = await app.graphql(SetContextWindow, {
      agentId: demo.agentId,
      messageIds: appended.data.appendMessages.messages.map((message) => message.id),
    });
    expect(window.data?.setContextWindow.__typename).toBe('AgentPayload');

    fs.rmSync(SCREENSHOTS, { recursive: true, force: true });
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    testBrowser = await launchChromium({ width: 1400, height: 1000 });
    browser = testBrowser.context;
    profile = testBrowser.profile;
    browser.on('request', (request) =>
      requests.push({ url: request.url(), authorization: request.headers().authorization }),
    );
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });
  afterAll(async () => {
    await testBrowser?.close();
    await app?.close();
    await standIn?.close();
  });

  const shoot = (target: Page, name: string) =>
    target.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** axe-core, evaluated in the page (the page's CSP allows no injected script tag). */
  async function seriousViolations(target: Page): Promise<AxeFinding[]> {
    if (!(await target.evaluate('typeof window.axe !== "undefined"'))) await target.evaluate(AXE);
    const findings = (await target.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((result) =>
      result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map((n) => String(n.target)) })))`)) as AxeFinding[];
    return findings.filter((finding) => finding.impact === 'serious' || finding.impact === 'critical');
  }

  async function checkScreen(target: Page, name: string): Promise<void> {
    await shoot(target, name);
    expect(await seriousViolations(target)).toEqual([]);
  }

  async function enterKey(target: Page, key: string): Promise<void> {
    await target.getByLabel('API key').fill(key);
    await target.getByRole('button', { name: 'Open' }).click();
    await target.getByRole('button', { name: 'Forget key' }).waitFor();
  }

  const agentUrl = (id: string) => `${origin}/ui/agents/${id}`;

  /** Waits until the embedding worker has embedded every memory (it runs beside requests). */
  async function untilEmbedded(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [pending] = await app.database.owner.$queryRawUnsafe<Array<{ count: number }>>(
        "SELECT count(*)::int AS count FROM memories WHERE embedding_status = 'PENDING'",
      );
      if (pending!.count === 0) return;
      if (Date.now() > deadline) throw new Error(`${pending!.count} memories still PENDING`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  function focusOf(target: Page): Promise<Focus> {
    return target.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      if (!element || element === document.body) return { tag: 'body', id: '', name: '', visible: false };
      const labelled = (element as HTMLInputElement).labels?.[0]?.textContent;
      const style = getComputedStyle(element);
      return {
        tag: element.tagName.toLowerCase(),
        id: element.id,
        name: (labelled ?? element.textContent ?? '').trim(),
        visible:
          element.matches(':focus-visible') &&
          style.outlineStyle !== 'none' &&
          Number.parseFloat(style.outlineWidth) > 0,
      };
    });
  }

  /**
   * Presses Tab (or Shift+Tab) until the focus is on `name`, at most `most` times; every stop on
   * the way must show its focus. Returns the names of the stops, in order.
   */
  async function tabTo(target: Page, name: string, most: number, key = 'Tab'): Promise<string[]> {
    const stops: string[] = [];
    while (stops.length < most) {
      await target.keyboard.press(key);
      const focus = await focusOf(target);
      expect(focus).toMatchObject({ visible: true });
      stops.push(focus.name);
      if (focus.name === name) return stops;
    }
    throw new Error(`${name} not reached in ${most} presses of ${key}: ${stops.join(', ')}`);
  }

  /** The agents list as shown: each row's name, counts and last activity. */
  function agentRows(target: Page): Promise<AgentRow[]> {
    return target.locator('table.agents tbody tr').evaluateAll((rows) =>
      rows.map((row) => {
        const cells = row.querySelectorAll('td');
        const time = row.querySelector('time');
        const last = time?.getAttribute('datetime') ?? '';
        return {
          name: cells[0]?.querySelector('a')?.textContent ?? '',
          messages: Number(cells[2]?.textContent),
          memories: Number(cells[3]?.textContent),
          last,
          lastShown: time?.textContent ?? '',
          lastInWords: new Date(last).toLocaleString(),
        };
      }),
    );
  }

  /** Waits until the first agent listed is another than `name` (a page was turned). */
  async function untilFirstAgentIsNot(target: Page, name: string): Promise<void> {
    await target.waitForFunction(
      (before) => document.querySelector('table.agents tbody tr td a')?.textContent !== before,
      name,
    );
  }

  /** A row of the trash as the database holds it: live, still in the trash, or purged. */
  async function stateOf(kind: TrashKind, id: string): Promise<'live' | 'deleted' | 'gone'> {
    const owner = app.database.owner;
    const query = { where: { id }, select: { isDeleted: true } };
    const row =
      kind === 'agent'
        ? await owner.agent.findUnique(query)
        : kind === 'block'
          ? await owner.block.findUnique(query)
          : kind === 'tool'
            ? await owner.tool.findUnique(query)
            : kind === 'memory'
              ? await owner.memory.findUnique(query)
              : await owner.message.findUnique(query);
    return row ? (row.isDeleted ? 'deleted' : 'live') : 'gone';
  }

  it('opens /ui, takes the demo key and opens the demo agent', async () => {
    await page.goto(`${origin}/ui`);
    await page.getByLabel('API key').waitFor();
    await checkScreen(page, '1-key');
    // By keyboard only: Tab to the key field, type, Enter; then Tab to the agent, Enter.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('api-key');
    await page.keyboard.type(demo.key);
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'Demo Assistant' }).waitFor();
    expect(await page.getByRole('row').count()).toBe(2);
    await checkScreen(page, '2-agents');
    let presses = 0;
    while ((await page.evaluate('document.activeElement.textContent')) !== 'Demo Assistant' && presses < 20) {
      await page.keyboard.press('Tab');
      presses += 1;
    }
    expect(presses).toBeLessThan(20);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Demo Assistant', level: 1 }).waitFor();
    await page.getByTestId('live-state').getByText('live').waitFor();
    expect(page.url()).toBe(agentUrl(demo.agentId));
    // Blocks with their gauge and version, tools, the conversation with the tool call threaded.
    await page.getByTestId('block-persona').getByText('version 1', { exact: true }).waitFor();
    expect(await page.getByRole('meter', { name: /persona fill: 35 of 2000 characters/ }).count()).toBe(1);
    expect(await page.getByText('archival_memory_search').count()).toBe(1);
    const call = page.locator('.tool-call');
    await call.getByText('12:00 UTC').waitFor();
    expect(await call.locator('code').first().innerText()).toBe('current_time');
    // The reply is shown under its call, not again on its own.
    expect(await page.getByText('12:00 UTC').count()).toBe(1);
    expect(await page.getByTestId('message').count()).toBe(5);
    // The context window's two messages are marked, the call's and its reply's.
    expect(await page.locator('.message.in-context').count()).toBe(2);
    expect(await page.locator('.message.in-context .text').allInnerTexts()).toEqual([
      'Let me look that up.',
      '12:00 UTC',
    ]);
    await page.getByText('2 in the context window').waitFor();
    await page.getByText(demoMemoryText).waitFor();
    await checkScreen(page, '3-agent');
  });

  it('marks the first screen once the agents are listed with their counts', async () => {
    // How long that takes is measured by `npm run bench:ui` (docs/inspector.md), never asserted here.
    await page.goto(`${origin}/ui`);
    await page.getByRole('link', { name: 'Demo Assistant' }).waitFor();
    await page.getByText('1 agent', { exact: true }).waitFor();
    expect(await page.evaluate(`performance.getEntriesByName('agentmem:first-screen').length`)).toBe(1);
  });

  it("lists agents with the API's counts and last activity, searches by name, and pages by cursor", async () => {
    // An organization of its own: 25 agents besides its demo one, updated a minute apart (the list is
    // newest first), with 0 to 3 messages and 0 to 2 memories each. The even ones' messages came after
    // their last update (their last activity is their newest message), the odd ones' before it.
    // Agent 2 also has a newer message and a memory in the trash: neither counts, nor is activity.
    const team = await app.seedDemo();
    extraKeys.push(team.key);
    const owner = app.database.owner;
    const audit = { createdById: team.userId, lastUpdatedById: team.userId };
    const base = Date.now() - 3_600_000;
    const agents = Array.from({ length: 25 }, (_, index) => ({
      id: newId('agent'),
      organizationId: team.organizationId,
      name:
        index < 22 ? `${index % 2 ? 'Team' : 'TEAM'} agent ${String(index).padStart(2, '0')}` : `Solo agent ${index}`,
      updatedAt: new Date(base - index * 60_000),
      ...audit,
    }));
    await owner.agent.createMany({ data: agents });
    const owned = { organizationId: team.organizationId, userId: team.userId, ...audit };
    const trashed = { isDeleted: true, deletedAt: new Date(), deletedById: team.userId };
    const message = (
      agent: (typeof agents)[number],
      text: string,
      at: number,
      state: Partial<typeof trashed> = {},
    ) => ({
      id: newId('message'),
      agentId: agent.id,
      role: 'user',
      text,
      createdAt: new Date(agent.updatedAt.getTime() + at),
      ...owned,
      ...state,
    });
    const memory = (agent: (typeof agents)[number], content: string, state: Partial<typeof trashed> = {}) => ({
      id: newId('memory'),
      agentId: agent.id,
      content,
      memoryType: 'factual',
      scope: 'user',
      level: 'archival',
      ...owned,
      ...state,
    });
    await owner.message.createMany({
      data: [
        ...agents.flatMap((agent, index) =>
          Array.from({ length: index % 4 }, (_, k) =>
            message(agent, `Message ${k} of ${agent.name}.`, (index % 2 ? -1 : 1) * (k + 1) * 1000),
          ),
        ),
        message(agents[2]!, 'Deleted, newer than the rest.', 10_000, trashed),
      ],
    });
    await owner.memory.createMany({
      data: [
        ...agents.flatMap((agent, index) =>
          Array.from({ length: index % 3 }, (_, k) => memory(agent, `Memory ${k} of ${agent.name}.`)),
        ),
        memory(agents[2]!, 'A deleted memory.', trashed),
      ],
    });

    // What the rows should show, from the database itself: live rows counted, the later of the
    // newest live message and the agent's last update.
    const live = { organizationId: team.organizationId, isDeleted: false };
    const [all, messageStats, memoryStats] = await Promise.all([
      owner.agent.findMany({
        where: live,
        orderBy: { updatedAt: 'desc' },
        select: { id: true, name: true, updatedAt: true },
      }),
      owner.message.groupBy({ by: ['agentId'], where: live, _count: { _all: true }, _max: { createdAt: true } }),
      owner.memory.groupBy({ by: ['agentId'], where: live, _count: { _all: true } }),
    ]);
    const expected = all.map((agent) => {
      const messages = messageStats.find((stat) => stat.agentId === agent.id);
      const newest = messages?._max.createdAt;
      return {
        name: agent.name ?? '',
        messages: messages?._count._all ?? 0,
        memories: memoryStats.find((stat) => stat.agentId === agent.id)?._count._all ?? 0,
        last: (newest && newest > agent.updatedAt ? newest : agent.updatedAt).toISOString(),
      };
    });
    expect(expected).toHaveLength(26);
    expect(expected.find((row) => row.name === 'TEAM agent 02')).toMatchObject({
      messages: 2,
      memories: 2,
      last: new Date(agents[2]!.updatedAt.getTime() + 2000).toISOString(),
    });
    expect(expected.find((row) => row.name === 'Team agent 03')).toMatchObject({
      messages: 3,
      memories: 0,
      last: agents[3]!.updatedAt.toISOString(),
    });
    // The API says the same of the same agents.
    const answered = (await app.graphqlAs(team.key, AgentsWithCounts, {})).data!.agents;
    expect(
      answered.nodes.map((agent) => {
        const newest = agent.recentMessages[0]?.createdAt;
        return {
          name: agent.name,
          messages: agent.messageCount,
          memories: agent.memoryCount,
          last: newest && newest > agent.updatedAt ? newest : agent.updatedAt,
        };
      }),
    ).toEqual(expected);

    const lister = await browser.newPage();
    await lister.goto(`${origin}/ui`);
    await enterKey(lister, team.key);
    await lister.getByText('26 agents', { exact: true }).waitFor();
    const shown = async () => {
      const rows = await agentRows(lister);
      for (const row of rows) expect(row.lastShown).toBe(row.lastInWords);
      return rows.map(({ name, messages, memories, last }) => ({ name, messages, memories, last }));
    };
    const firstPage = await shown();
    expect(firstPage).toEqual(expected.slice(0, 20));
    await checkScreen(lister, '2-agents-counts');

    // Next: the 6 others, by the end cursor; Previous: the first 20 again, by the start cursor.
    const pages = lister.getByRole('navigation', { name: 'Agents pages' });
    await pages.getByRole('button', { name: 'Next →' }).click();
    await untilFirstAgentIsNot(lister, expected[0]!.name);
    expect(await shown()).toEqual(expected.slice(20));
    await pages.getByRole('button', { name: '← Previous' }).click();
    await untilFirstAgentIsNot(lister, expected[20]!.name);
    expect(await shown()).toEqual(firstPage);
    expect(await pages.getByRole('button', { name: '← Previous' }).isDisabled()).toBe(true);
    expect(await pages.getByRole('button', { name: 'Next →' }).isDisabled()).toBe(false);

    // The search box: the API filters (case-insensitive), and its answer is what is listed.
    const filtered = lister.waitForRequest(
      (request) => request.url().endsWith('/graphql') && (request.postData() ?? '').includes('"nameContains":"team"'),
    );
    await lister.getByLabel('Name contains').fill('team');
    await lister.getByLabel('Name contains').press('Enter');
    await filtered;
    await lister.getByText('22 agents whose name contains “team”').waitFor();
    const teams = expected.filter((row) => row.name.toLowerCase().includes('team'));
    expect(teams).toHaveLength(22);
    expect(await shown()).toEqual(teams.slice(0, 20));
    const teamAnswer = (await app.graphqlAs(team.key, AgentsWithCounts, { nameContains: 'team' })).data!.agents;
    expect(teamAnswer.totalCount).toBe(22);
    expect(teamAnswer.nodes.map((agent) => agent.name)).toEqual(teams.map((row) => row.name));
    await pages.getByRole('button', { name: 'Next →' }).click();
    await untilFirstAgentIsNot(lister, teams[0]!.name);
    expect(await shown()).toEqual(teams.slice(20));
    // Another search starts again at its first page.
    await lister.getByLabel('Name contains').fill('solo');
    await lister.getByLabel('Name contains').press('Enter');
    await lister.getByText('3 agents whose name contains “solo”').waitFor();
    expect((await shown()).map((row) => row.name)).toEqual(['Solo agent 22', 'Solo agent 23', 'Solo agent 24']);
    await lister.close();
  });

  it('takes a whole flow by keyboard alone, the focus shown and landing where the person goes on from', async () => {
    // Its own organization, so that its edit leaves the demo agent's versions as the tests below expect.
    const own = await app.seedDemo();
    extraKeys.push(own.key);
    const keyboard = await browser.newPage();
    await keyboard.goto(`${origin}/ui`);
    await keyboard.getByLabel('API key').waitFor();
    expect(await tabTo(keyboard, 'API key', 1)).toEqual(['API key']);
    // A key the API refuses: said in words, and the focus stays in the field to type it again.
    await keyboard.keyboard.type('amk_not-a-key');
    await keyboard.keyboard.press('Enter');
    const refusal = keyboard.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.innerText()).toMatch(/^API key refused: .*\(UNAUTHENTICATED\)$/s);
    expect(await focusOf(keyboard)).toEqual({ tag: 'input', id: 'api-key', name: 'API key', visible: true });
    await keyboard.keyboard.press('ControlOrMeta+A');
    await keyboard.keyboard.type(own.key);
    await keyboard.keyboard.press('Enter');

    // The agents: the focus is on their title, and the search box comes next, then the agent.
    await keyboard.getByRole('link', { name: 'Demo Assistant' }).waitFor();
    expect(await focusOf(keyboard)).toEqual({ tag: 'h1', id: '', name: 'Agents', visible: true });
    expect(await tabTo(keyboard, 'Demo Assistant', 3)).toEqual(['Name contains', 'Search', 'Demo Assistant']);
    await keyboard.keyboard.press('Enter');
    await keyboard.getByTestId('block-persona').waitFor();
    expect(await focusOf(keyboard)).toEqual({ tag: 'h1', id: '', name: 'Demo Assistant', visible: true });
    expect(keyboard.url()).toBe(agentUrl(own.agentId));

    // To the persona block (the blocks' order is their ids'), edit it, save it.
    const toBlock = await tabTo(keyboard, 'Edit persona', 4);
    expect(toBlock[0]).toBe('Export agent file');
    await keyboard.keyboard.press('Enter');
    expect(await focusOf(keyboard)).toMatchObject({ tag: 'textarea', name: 'New value of persona', visible: true });
    await keyboard.keyboard.press('ControlOrMeta+A');
    await keyboard.keyboard.type('Typed from the keyboard alone.');
    expect(await tabTo(keyboard, 'Save persona', 1)).toEqual(['Save persona']);
    await keyboard.keyboard.press('Enter');
    const persona = keyboard.getByTestId('block-persona');
    await persona.getByText('version 2', { exact: true }).waitFor();
    expect(await focusOf(keyboard)).toEqual({ tag: 'button', id: '', name: 'Edit persona', visible: true });
    const stored = (await app.graphqlAs(own.key, BlockByLabel, { agentId: own.agentId })).data!.agent!.blocks[0]!;
    expect(stored).toMatchObject({ value: 'Typed from the keyboard alone.', version: 2 });
    await checkScreen(keyboard, '3-keyboard-edit');

    // Back up to the header's Recall, then a search: the focus on its title, the words next.
    const up = await tabTo(keyboard, 'Recall', 8, 'Shift+Tab');
    expect(up.slice(-4)).toEqual(['Forget key', 'GraphiQL', 'Trash', 'Recall']);
    await keyboard.keyboard.press('Enter');
    await keyboard.getByLabel('Words to search for').waitFor();
    expect(await focusOf(keyboard)).toEqual({ tag: 'h1', id: '', name: 'Recall', visible: true });
    expect(await tabTo(keyboard, 'Words to search for', 1)).toEqual(['Words to search for']);
    await keyboard.keyboard.type('GraphQL');
    await keyboard.keyboard.press('Enter');
    const hit = keyboard.getByTestId('hit');
    await hit.first().waitFor();
    expect(await hit.count()).toBe(1);
    expect(await hit.first().innerText()).toContain(own.agentId);
    expect(await focusOf(keyboard)).toMatchObject({ id: 'recall-query', visible: true });
    await keyboard.close();
  });

  it('edits a block with its version', async () => {
    await page.goto(agentUrl(demo.agentId));
    const persona = page.getByTestId('block-persona');
    await persona.getByRole('button', { name: 'Edit persona' }).click();
    await persona.getByLabel('New value of persona').fill('I am a friendly assistant who keeps notes.');
    await persona.getByRole('button', { name: 'Save persona' }).click();
    await persona.getByText('version 2', { exact: true }).waitFor();
    const stored = (await app.graphql(BlockByLabel, { agentId: demo.agentId })).data!.agent!.blocks[0]!;
    expect(stored).toMatchObject({ value: 'I am a friendly assistant who keeps notes.', version: 2 });
    // Over its limit: refused, in words, with the field named; nothing stored.
    await persona.getByRole('button', { name: 'Edit persona' }).click();
    await persona.getByLabel('New value of persona').fill('x'.repeat(2001));
    await persona.getByRole('button', { name: 'Save persona' }).click();
    const refusal = persona.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.innerText()).toMatch(/^Field input\.value: .*2000.*\(BLOCK_LIMIT_EXCEEDED\)$/s);
    await persona.getByRole('button', { name: 'Cancel' }).click();
    expect((await app.graphql(BlockByLabel, { agentId: demo.agentId })).data!.agent!.blocks[0]!.version).toBe(2);
    await persona.getByRole('button', { name: 'History' }).click();
    await persona.locator('ins').first().waitFor();
    expect(await persona.locator('ins').allInnerTexts()).toContain('who keeps notes.');
    await checkScreen(page, '4-block-history');
  });

  it('shows a version conflict from a second page and lets the person keep theirs', async () => {
    const persona = page.getByTestId('block-persona');
    await persona.getByRole('button', { name: 'Edit persona' }).click();
    await persona.getByLabel('New value of persona').fill('Mine: a careful assistant.');

    const second = await browser.newPage();
    await second.goto(agentUrl(demo.agentId));
    await enterKey(second, demo.key);
    const theirs = second.getByTestId('block-persona');
    await theirs.getByText('version 2', { exact: true }).waitFor();
    await theirs.getByRole('button', { name: 'Edit persona' }).click();
    await theirs.getByLabel('New value of persona').fill('Theirs: a cheerful assistant.');
    await theirs.getByRole('button', { name: 'Save persona' }).click();
    await theirs.getByText('version 3', { exact: true }).waitFor();
    await second.close();

    await persona.getByRole('button', { name: 'Save persona' }).click();
    const conflict = persona.locator('.conflict');
    await conflict.getByText('version 3 is current').waitFor();
    expect(await conflict.getByText('Mine: a careful assistant.').count()).toBeGreaterThan(0);
    expect(await conflict.getByText('Theirs: a cheerful assistant.').count()).toBe(1);
    await checkScreen(page, '5-conflict');
    await conflict.getByRole('button', { name: 'Keep mine' }).click();
    await persona.getByText('version 4', { exact: true }).waitFor();
    const stored = (await app.graphql(BlockByLabel, { agentId: demo.agentId })).data!.agent!.blocks[0]!;
    expect(stored).toMatchObject({ value: 'Mine: a careful assistant.', version: 4 });
  });

  it('searches memories and shows each part of the score, the semantic part included', async () => {
    await untilEmbedded();
    await page.getByRole('link', { name: 'Recall' }).click();
    await page.getByLabel('Words to search for').fill('GraphQL');
    await page.getByRole('button', { name: 'Search' }).click();
    const hit = page.getByTestId('hit').first();
    await hit.waitFor();
    expect(await hit.locator('mark').first().innerText()).toBe('GraphQL');
    // The API's default with an embedding provider: words and meaning.
    const expected = (await app.graphql(SearchBreakdown, {})).data!.searchMemories[0]!;
    expect(expected.mode).toBe('HYBRID');
    expect(expected.breakdown.similarity).toEqual(expect.any(Number));
    await page.getByText(/ranked by words and meaning \(HYBRID\)/).waitFor();
    for (const part of ['similarity', 'text', 'importance', 'recency', 'use'] as const) {
      const label = `${part}: ${expected.breakdown[part]!.toFixed(3)}`;
      expect(await hit.getByRole('meter', { name: label }).count()).toBe(1);
    }
    expect(await hit.getByText(`score ${expected.score.toFixed(3)}`).count()).toBe(1);
    await checkScreen(page, '6-recall-hybrid');

    // By words only: no semantic bar.
    await page.getByLabel('Mode').selectOption('TEXT');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText(/ranked by words \(TEXT\)/).waitFor();
    expect(await hit.getByRole('meter', { name: /^similarity/ }).count()).toBe(0);
    // By meaning: the similarity bar, as the API gives it.
    const byMeaning = (await app.graphql(SearchBreakdown, { mode: 'VECTOR' })).data!.searchMemories[0]!;
    await page.getByLabel('Mode').selectOption('VECTOR');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText(/ranked by meaning \(VECTOR\)/).waitFor();
    const similarity = `similarity: ${byMeaning.breakdown.similarity!.toFixed(3)}`;
    expect(await hit.getByRole('meter', { name: similarity }).count()).toBe(1);
    // The provider down: the default search answers by words alone, and says so with the reason.
    await page.getByLabel('Mode').selectOption('');
    standIn!.down = true;
    try {
      await page.getByRole('button', { name: 'Search' }).click();
      const degraded = page.getByTestId('degraded');
      await degraded.waitFor();
      expect(await degraded.innerText()).toMatch(/^Searched by words only: .*\(.+\)\.$/s);
      expect(await hit.getByRole('meter', { name: /^similarity/ }).count()).toBe(0);
      await checkScreen(page, '6-recall-degraded');
    } finally {
      standIn!.down = false;
    }
    await page.getByLabel('Mode').selectOption('TEXT');
    // A metadata filter nothing matches: no hits, said in words.
    await page.getByLabel('Metadata path').fill('source');
    await page.getByLabel(/^equals/).fill('"nowhere"');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('0 hits, best first.').waitFor();
    await page.getByLabel('Metadata path').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await hit.waitFor();
    await checkScreen(page, '6-recall');
    // An error from the API, in words with its field named: a query of stop words only, by words.
    // (By default, with a provider, its meaning is searched for: no error.)
    await page.getByLabel('Words to search for').fill('the');
    await page.getByRole('button', { name: 'Search' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/Field query: .*\(VALIDATION\)/);
  });

  it('shows a screen that fails on an answer of an unexpected shape in words, and recovers on leaving', async () => {
    // A server that answers hits without their breakdown (one of another version, say): the Recall
    // screen throws while it renders. Only this test's browser sees that answer (page.route): the
    // bundle has no way to fail on purpose.
    const unexpected = {
      data: {
        searchMemories: [
          {
            score: 0.5,
            snippet: 'Ada is learning **GraphQL**.',
            mode: 'TEXT',
            degraded: false,
            degradedReason: null,
            memory: {
              id: 'memory-x',
              content: 'x',
              agentId: demo.agentId,
              memoryType: 'EPISODIC',
              scope: 'user',
              level: 'core',
              importance: 0.5,
              metadata: {},
              createdAt: new Date().toISOString(),
            },
          },
        ],
      },
    };
    await page.route('**/graphql', (route) =>
      (route.request().postData() ?? '').includes('query InspectorSearch')
        ? route.fulfill({ contentType: 'application/graphql-response+json', body: JSON.stringify(unexpected) })
        : route.continue(),
    );
    await page.goto(`${origin}/ui/search`);
    await page.getByLabel('Words to search for').fill('GraphQL');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Something went wrong on this page', level: 1 }).waitFor();
    expect(await page.getByRole('alert').innerText()).toBe(
      'This screen stopped while showing what the server answered: ' +
        "Cannot read properties of undefined (reading 'similarity')",
    );
    // Never a blank screen: the header and its links stay, and a way back is offered.
    expect(await page.getByRole('navigation', { name: 'Screens' }).getByRole('link').count()).toBe(4);
    expect(await page.getByRole('link', { name: 'Back to the agents' }).getAttribute('href')).toBe('/ui/');
    await checkScreen(page, '6-recall-failed');
    await page.unroute('**/graphql');

    // Leaving the screen recovers: another screen works, and Back gives a fresh Recall.
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('link', { name: 'Demo Assistant' }).waitFor();
    expect(await page.getByText('Something went wrong').count()).toBe(0);
    await page.goBack();
    await page.getByLabel('Words to search for').fill('GraphQL');
    await page.getByRole('button', { name: 'Search' }).click();
    await page
      .getByTestId('hit')
      .first()
      .getByRole('meter', { name: /^text: / })
      .waitFor();
    expect(await page.getByText('Something went wrong').count()).toBe(0);
  });

  it('deletes a memory, and restores it from the trash', async () => {
    await page.goto(agentUrl(demo.agentId));
    const memory = page.getByTestId('memory').filter({ hasText: demoMemoryText });
    await memory.getByRole('button', { name: 'Delete memory' }).click();
    await memory.waitFor({ state: 'detached' });
    const [deleted] = (await app.graphql(MemoriesOfAgent, { agentId: demo.agentId })).data!.memories.nodes.filter(
      (row) => row.content === demoMemoryText,
    );
    expect(deleted).toBeUndefined();
    await page.getByRole('link', { name: 'Trash' }).click();
    const row = page.getByTestId('trashed-memory').filter({ hasText: demoMemoryText });
    await row.waitFor();
    expect(await row.innerText()).toContain('Demo User');
    await checkScreen(page, '7-trash');
    await row.getByRole('button', { name: 'Restore' }).click();
    await row.waitFor({ state: 'detached' });
    const restored = (await app.graphql(MemoriesOfAgent, { agentId: demo.agentId })).data!.memories.nodes;
    expect(restored.map((row) => row.content)).toContain(demoMemoryText);

    // Purge, after the browser's confirmation: gone for good, from the trash too.
    const created = (await app.graphql(RememberThis, { agentId: demo.agentId, content: 'A memory to purge.' })).data!
      .createMemory;
    if (created.__typename !== 'MemoryPayload') throw new Error(`createMemory returned ${created.__typename}`);
    expect((await app.graphql(DeleteMemory, { id: created.memory.id })).data?.deleteMemory.__typename).toBe(
      'DeletedPayload',
    );
    await page.reload();
    const doomed = page.getByTestId('trashed-memory').filter({ hasText: 'A memory to purge.' });
    page.once('dialog', (dialog) => void dialog.accept());
    await doomed.getByRole('button', { name: 'Purge' }).click();
    await doomed.waitFor({ state: 'detached' });
    const trash = (await app.graphql(DeletedMemories)).data!.memories.nodes;
    expect(trash.map((row) => row.id)).not.toContain(created.memory.id);
  });

  it("lists every agent's deleted messages in the trash, and restores and purges them", async () => {
    const conversation = (await app.graphql(MessagesOfAgent, { agentId: demo.agentId })).data!.messages.nodes;
    const [first, second] = conversation.filter((message) => message.text);
    for (const message of [first!, second!]) {
      expect((await app.graphql(DeleteMessage, { id: message.id })).data?.deleteMessage.__typename).toBe(
        'DeletedPayload',
      );
    }
    await page.goto(`${origin}/ui/trash`);
    const restored = page.getByTestId('trashed-message').filter({ hasText: first!.text! });
    await restored.waitFor();
    expect(await restored.getByRole('link', { name: demo.agentId }).count()).toBe(1);
    expect(await restored.innerText()).toContain('Demo User');
    await page.getByText('2 deleted messages.').waitFor();
    await checkScreen(page, '7-trash-messages');
    await restored.getByRole('button', { name: 'Restore' }).click();
    await restored.waitFor({ state: 'detached' });
    const live = (await app.graphql(MessagesOfAgent, { agentId: demo.agentId })).data!.messages.nodes;
    expect(live.map((message) => message.id)).toContain(first!.id);
    const purged = page.getByTestId('trashed-message').filter({ hasText: second!.text! });
    page.once('dialog', (dialog) => void dialog.accept());
    await purged.getByRole('button', { name: 'Purge' }).click();
    await purged.waitFor({ state: 'detached' });
    const trash = (await app.graphql(DeletedMessages)).data!.messages;
    expect(trash).toMatchObject({ totalCount: 0, nodes: [] });
    const after = (await app.graphql(MessagesOfAgent, { agentId: demo.agentId })).data!.messages.nodes;
    expect(after.map((message) => message.id)).not.toContain(second!.id);
  });

  it('shows who deleted each kind of row and when, restores and purges it, and gives a write key neither', async () => {
    // Rows of each kind, made by the demo user, deleted by a second admin of the organization.
    const grace = (await app.graphql(SecondAdmin)).data!.createUser;
    if (grace.__typename !== 'UserPayload') throw new Error(`createUser returned ${grace.__typename}`);
    const keyOf = async (name: string, scopes: Array<'READ' | 'WRITE' | 'ADMIN'>, userId?: string) => {
      const issued = (await app.graphql(KeyFor, { name, scopes, userId })).data!.createApiKey;
      if (issued.__typename !== 'CreatedApiKey') throw new Error(`createApiKey returned ${issued.__typename}`);
      extraKeys.push(issued.key);
      return issued.key;
    };
    const graceKey = await keyOf('grace', ['READ', 'WRITE', 'ADMIN'], grace.user.id);
    const writeKey = await keyOf('writer', ['READ', 'WRITE']);
    const makeAndDelete = async (fate: 'restore' | 'purge'): Promise<Record<TrashKind, string>> => {
      const rows = (
        await app.graphql(RowsOfEachKind, { agentId: demo.agentId, text: `To ${fate}`, tool: `to_${fate}` })
      ).data!;
      if (
        rows.createAgent.__typename !== 'AgentPayload' ||
        rows.createBlock.__typename !== 'BlockPayload' ||
        rows.createTool.__typename !== 'ToolPayload' ||
        rows.createMemory.__typename !== 'MemoryPayload' ||
        rows.appendMessages.__typename !== 'MessagesPayload'
      )
        throw new Error(`a row was refused: ${JSON.stringify(rows)}`);
      const ids = {
        agent: rows.createAgent.agent.id,
        block: rows.createBlock.block.id,
        tool: rows.createTool.tool.id,
        memory: rows.createMemory.memory.id,
        message: rows.appendMessages.messages[0]!.id,
      };
      const deleted = (await app.graphqlAs(graceKey, DeleteOneOfEachKind, ids)).data!;
      const outcomes = [
        deleted.deleteAgent,
        deleted.deleteBlock,
        deleted.deleteTool,
        deleted.deleteMemory,
        deleted.deleteMessage,
      ];
      expect(outcomes.map((payload) => payload.__typename)).toEqual(Array(5).fill('DeletedPayload'));
      return ids;
    };
    const made = { restore: await makeAndDelete('restore'), purge: await makeAndDelete('purge') };
    // How a row reads in the trash: its text, or the tool's name.
    const shownAs = (kind: TrashKind, fate: 'restore' | 'purge') => (kind === 'tool' ? `to_${fate}` : `To ${fate}`);
    const answered = await app.graphql(TrashOfEachKind);
    if (!answered.data) throw new Error(`the trash query was refused: ${JSON.stringify(answered.errors)}`);
    const trash = answered.data;
    const inTrash = (kind: TrashKind, id: string) => {
      const lists = {
        agent: trash.agents,
        block: trash.blocks,
        tool: trash.tools,
        memory: trash.memories,
        message: trash.messages,
      };
      const row = lists[kind].nodes.find((node) => node.id === id);
      if (!row?.deletedAt) throw new Error(`${kind} ${id} is not in the API's trash`);
      return { deletedAt: row.deletedAt, deletedBy: row.deletedBy?.name };
    };

    // A write key: no restore or purge anywhere, and the server refuses both.
    const writer = await browser.newPage();
    await writer.goto(`${origin}/ui/trash`);
    await enterKey(writer, writeKey);
    await writer.getByText('for admin keys only').waitFor();
    expect(await writer.getByRole('button', { name: /^(Restore|Purge)/ }).count()).toBe(0);
    await writer.goto(agentUrl(demo.agentId));
    await writer.getByTestId('memory').first().waitFor();
    expect(await writer.getByRole('button', { name: /^(Restore|Purge)/ }).count()).toBe(0);
    for (const operation of ['restoreMemory', 'purgeMemory']) {
      const write = `mutation { ${operation}(id: "${made.purge.memory}") { __typename } }`;
      const answer = (await writer.evaluate(
        ([query, key]) =>
          fetch('/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ query }),
          }).then((response) => response.json()),
        [write, writeKey],
      )) as { errors?: Array<{ extensions?: { code?: string } }> };
      expect(answer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(await stateOf('memory', made.purge.memory)).toBe('deleted');
    await writer.close();

    // An admin's trash: each row says who deleted it and when, as the API has it.
    await page.goto(`${origin}/ui/trash`);
    for (const kind of TRASH_KINDS) {
      for (const fate of ['restore', 'purge'] as const) {
        const row = page.getByTestId(`trashed-${kind}`).filter({ hasText: shownAs(kind, fate) });
        await row.waitFor();
        const { deletedAt, deletedBy } = inTrash(kind, made[fate][kind]);
        expect(deletedBy).toBe('Grace Admin');
        expect(await row.locator('td').nth(1).innerText()).toBe('Grace Admin');
        const time = row.locator('td').nth(2).locator('time');
        expect(await time.getAttribute('datetime')).toBe(deletedAt);
        expect(await time.innerText()).toBe(await page.evaluate((iso) => new Date(iso).toLocaleString(), deletedAt));
      }
    }
    await checkScreen(page, '7-trash-who-and-when');

    // Restored meanwhile from another tab: the refusal is in words, with its field.
    expect((await app.graphql(RestoreMemory, { id: made.restore.memory })).data?.restoreMemory.__typename).toBe(
      'MemoryPayload',
    );
    const stale = page.getByTestId('trashed-memory').filter({ hasText: 'To restore' });
    await stale.getByRole('button', { name: 'Restore' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.innerText()).toMatch(/^Field id: .*is not deleted \(CONFLICT\)$/s);
    await stale.waitFor({ state: 'detached' });

    // Restore brings each back; purge, after the confirmation, removes it for good.
    for (const kind of TRASH_KINDS) {
      if (kind !== 'memory') {
        const restored = page.getByTestId(`trashed-${kind}`).filter({ hasText: shownAs(kind, 'restore') });
        await restored.getByRole('button', { name: 'Restore' }).click();
        await restored.waitFor({ state: 'detached' });
      }
      expect(await stateOf(kind, made.restore[kind])).toBe('live');
      const purged = page.getByTestId(`trashed-${kind}`).filter({ hasText: shownAs(kind, 'purge') });
      page.once('dialog', (dialog) => void dialog.accept());
      await purged.getByRole('button', { name: 'Purge' }).click();
      await purged.waitFor({ state: 'detached' });
      expect(await stateOf(kind, made.purge[kind])).toBe('gone');
    }
  });

  it('shows a message appended through the API without a reload, and a lost connection', async () => {
    await page.goto(agentUrl(demo.agentId));
    await page.getByTestId('live-state').getByText('live').waitFor();
    await page.evaluate('window.__sameDocument = true');
    const appended = await app.graphql(ToolConversation, {
      agentId: demo.agentId,
      messages: [{ role: 'USER', text: 'Appended through the API while the inspector watches.' }],
    });
    expect(appended.data?.appendMessages.__typename).toBe('MessagesPayload');
    await page.getByText('Appended through the API while the inspector watches.').waitFor();
    // A memory change too: the list of memories reloads by itself.
    const remembered = await app.graphql(RememberThis, {
      agentId: demo.agentId,
      content: 'Remembered through the API while the inspector watches.',
    });
    expect(remembered.data?.createMemory.__typename).toBe('MemoryPayload');
    await page.getByTestId('memory').getByText('Remembered through the API while the inspector watches.').waitFor();
    expect(await page.evaluate('window.__sameDocument === true')).toBe(true);
    await checkScreen(page, '8-live');

    // The server ends every stream and refuses new ones for a while: the banner, then back.
    await page.route('**/graphql', (route) =>
      route.request().headers().accept === 'text/event-stream' ? route.abort() : route.continue(),
    );
    await app.live.close();
    const banner = page.getByRole('alert').filter({ hasText: 'Live updates lost' });
    await banner.waitFor();
    await checkScreen(page, '9-connection-lost');
    expect(await banner.getByRole('button', { name: 'Reconnect now' }).count()).toBe(1);
    // It tries again by itself (0.5 s, then up to 8 s apart): once the server answers, the banner goes.
    await page.unroute('**/graphql');
    await banner.waitFor({ state: 'detached' });
    await page.getByTestId('live-state').getByText('live').waitFor();
    await app.graphql(ToolConversation, {
      agentId: demo.agentId,
      messages: [{ role: 'USER', text: 'After the reconnection.' }],
    });
    await page.getByText('After the reconnection.').waitFor();
  });

  it('exports the agent file, and imports it back as a new agent', async () => {
    await page.goto(agentUrl(demo.agentId));
    const downloaded = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export agent file' }).click();
    const download = await downloaded;
    expect(download.suggestedFilename()).toBe('Demo-Assistant.agent.json');
    const file = path.join(profile, 'exported.agent.json');
    await download.saveAs(file);
    const document = JSON.parse(fs.readFileSync(file, 'utf8')) as { format: string; agent: { name: string } };
    expect(document).toMatchObject({ format: 'agentmem.agent', agent: { name: 'Demo Assistant' } });

    await page.getByRole('link', { name: 'Agents' }).click();
    // A document that is not an agent file: refused, with the path of what is wrong.
    const broken = path.join(profile, 'broken.agent.json');
    fs.writeFileSync(broken, JSON.stringify({ format: 'agentmem.agent', version: 1 }));
    await page.getByLabel('Import an agent file').setInputFiles(broken);
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.innerText()).toMatch(/^Field document\b.*\((VALIDATION)\)/s);

    const agentsBefore = (await app.graphql(AgentsWithCounts, {})).data!.agents.totalCount;
    await page.getByLabel('Import an agent file').setInputFiles(file);
    await page.waitForURL((url) => url.pathname.startsWith('/ui/agents/') && !url.pathname.endsWith(demo.agentId));
    await page.getByRole('heading', { name: 'Demo Assistant', level: 1 }).waitFor();
    await page.getByTestId('block-persona').waitFor();
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByText(`${agentsBefore + 1} agents`, { exact: true }).waitFor();
    expect(await page.getByRole('link', { name: 'Demo Assistant' }).count()).toBe(2);
    await checkScreen(page, '10-imported');
  });

  it('shows a read key no edit controls, and refuses its writes', async () => {
    const reader = await browser.newPage();
    await reader.goto(`${origin}/ui`);
    await enterKey(reader, readKey);
    await reader.goto(agentUrl(demo.agentId));
    await reader.getByTestId('block-persona').waitFor();
    await reader.getByTestId('memory').first().waitFor();
    expect(await reader.getByRole('button', { name: /^(Edit|Save|Delete|Restore|Purge)/ }).count()).toBe(0);
    expect(await reader.getByLabel('Import an agent file').count()).toBe(0);
    await checkScreen(reader, '11-read-key');
    // What the page could send anyway: the server refuses it, and nothing changes.
    const persona = (await app.graphql(BlockByLabel, { agentId: demo.agentId })).data!.agent!.blocks[0]!;
    const write = `mutation { updateBlock(id: "${persona.id}", input: { value: "x" }) { __typename } }`;
    const answer = (await reader.evaluate(`fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ${readKey}' },
      body: JSON.stringify({ query: ${JSON.stringify(write)} }),
    }).then((response) => response.json())`)) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(answer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const after = (await app.graphql(BlockByLabel, { agentId: demo.agentId })).data!.agent!.blocks[0]!;
    expect(after).toEqual(persona);
    await reader.getByRole('link', { name: 'Trash' }).click();
    await reader.getByText('for admin keys only').waitFor();
    await reader.close();
  });

  it('shows a key of another organization nothing of the first, even at its URLs', async () => {
    const stranger = await browser.newPage();
    await stranger.goto(agentUrl(demo.agentId));
    await enterKey(stranger, otherOrganization.key);
    await stranger.getByRole('heading', { name: 'No such agent' }).waitFor();
    await checkScreen(stranger, '12-other-organization');
    await stranger.getByRole('link', { name: 'See the agents' }).click();
    await stranger.getByRole('link', { name: 'Demo Assistant' }).waitFor();
    expect(await stranger.getByRole('link', { name: 'Demo Assistant' }).getAttribute('href')).toBe(
      `/ui/agents/${otherOrganization.agentId}`,
    );
    expect(await stranger.locator('body').innerText()).not.toContain(demo.agentId);
    await stranger.getByRole('link', { name: 'Recall' }).click();
    await stranger.getByLabel('Words to search for').fill('GraphQL');
    await stranger.getByRole('button', { name: 'Search' }).click();
    await stranger.getByTestId('hit').first().waitFor();
    const hits = await stranger.getByTestId('hit').allInnerTexts();
    expect(hits.every((text) => text.includes(otherOrganization.agentId) && !text.includes(demo.agentId))).toBe(true);
    await stranger.close();
  });

  // Seeding 14,000 rows and paging four lists: over jest's 120 s default on a loaded 2-core machine.
  it('pages 1,000 agents, 10,000 memories, 1,200 tools and 1,200 deleted messages through the API', async () => {
    const large = await app.seedDemo();
    const owner = app.database.owner;
    const audit = { createdById: large.userId, lastUpdatedById: large.userId };
    await owner.agent.createMany({
      data: Array.from({ length: 999 }, (_, index) => ({
        id: newId('agent'),
        organizationId: large.organizationId,
        name: `Scale agent ${String(index).padStart(4, '0')}`,
        ...audit,
      })),
    });
    await owner.memory.createMany({
      data: Array.from({ length: 9_999 }, (_, index) => ({
        id: newId('memory'),
        organizationId: large.organizationId,
        userId: large.userId,
        agentId: large.agentId,
        content: `Scale memory number ${index}.`,
        memoryType: 'factual',
        scope: 'user',
        level: 'archival',
        ...audit,
      })),
    });
    // 1,200 tools attached to one agent (attachTool has no cap), and 1,200 deleted messages.
    const tools = Array.from({ length: 1_200 }, (_, index) => ({
      id: newId('tool'),
      organizationId: large.organizationId,
      name: `scale_tool_${String(index).padStart(4, '0')}`,
      ...audit,
    }));
    await owner.tool.createMany({ data: tools });
    await owner.toolAgent.createMany({
      data: tools.map((tool) => ({ toolId: tool.id, agentId: large.agentId, organizationId: large.organizationId })),
    });
    await owner.message.createMany({
      data: Array.from({ length: 1_200 }, (_, index) => ({
        id: newId('message'),
        organizationId: large.organizationId,
        userId: large.userId,
        agentId: large.agentId,
        role: 'user',
        text: `Deleted scale message ${index}.`,
        isDeleted: true,
        deletedAt: new Date(),
        deletedById: large.userId,
        ...audit,
      })),
    });
    const sizes: number[] = [];
    const reader = await browser.newPage();
    reader.on('response', (response) => {
      if (new URL(response.url()).pathname !== '/graphql') return;
      if (!(response.request().postData() ?? '').includes('query Inspector')) return;
      void response.json().then(
        (body: { data?: Record<string, { nodes?: unknown[] } | null> }) => {
          for (const value of Object.values(body.data ?? {})) if (value?.nodes) sizes.push(value.nodes.length);
        },
        () => undefined,
      );
    });
    await reader.goto(`${origin}/ui`);
    await enterKey(reader, large.key);
    await reader.getByText('1000 agents').waitFor();
    expect(await reader.getByRole('row').count()).toBe(21);
    const firstPageNames = await reader.locator('tbody tr td:first-child a').allInnerTexts();
    await reader.getByRole('navigation', { name: 'Agents pages' }).getByRole('button', { name: 'Next →' }).click();
    await reader.waitForFunction(
      (first) => document.querySelector('tbody tr td:first-child a')?.textContent !== first,
      firstPageNames[0],
    );
    const secondPageNames = await reader.locator('tbody tr td:first-child a').allInnerTexts();
    expect(secondPageNames).toHaveLength(20);
    expect(secondPageNames.filter((name) => firstPageNames.includes(name))).toEqual([]);

    await reader.goto(agentUrl(large.agentId));
    await reader.getByText('10000 memories, newest first.').waitFor();
    expect(await reader.getByTestId('memory').count()).toBe(10);
    const memoryPages = reader.getByRole('navigation', { name: 'Memories pages' });
    const firstMemory = await reader.getByTestId('memory').first().locator('p').first().innerText();
    await memoryPages.getByRole('button', { name: 'Next →' }).click();
    await reader.waitForFunction(
      (first) => document.querySelector('[data-testid="memory"] p')?.textContent !== first,
      firstMemory,
    );
    expect(await reader.getByTestId('memory').count()).toBe(10);
    // Back to the first page, by its cursor.
    await memoryPages.getByRole('button', { name: '← Previous' }).click();
    await reader.waitForFunction(
      (first) => document.querySelector('[data-testid="memory"] p')?.textContent === first,
      firstMemory,
    );
    expect(await memoryPages.getByRole('button', { name: '← Previous' }).isDisabled()).toBe(true);
    // The agent's tools, 20 a page: the next page holds the next 20.
    await reader.getByText('1202 tools.').waitFor();
    expect(await reader.getByTestId('tool').count()).toBe(20);
    const firstTools = await reader.getByTestId('tool').allInnerTexts();
    await reader.getByRole('navigation', { name: 'Tools pages' }).getByRole('button', { name: 'Next →' }).click();
    await reader.waitForFunction(
      (first) => document.querySelector('[data-testid="tool"]')?.textContent !== first,
      firstTools[0],
    );
    const nextTools = await reader.getByTestId('tool').allInnerTexts();
    expect(nextTools).toHaveLength(20);
    expect(nextTools.filter((tool) => firstTools.includes(tool))).toEqual([]);
    await checkScreen(reader, '13-scale');
    // The trash: 1,200 deleted messages, 20 a page.
    await reader.getByRole('link', { name: 'Trash' }).click();
    await reader.getByText('1200 deleted messages.').waitFor();
    expect(await reader.getByTestId('trashed-message').count()).toBe(20);
    const trashPages = reader.getByRole('navigation', { name: 'Deleted messages pages' });
    const firstTrashed = await reader.getByTestId('trashed-message').first().innerText();
    await trashPages.getByRole('button', { name: 'Next →' }).click();
    await reader.waitForFunction(
      (first) => (document.querySelector('[data-testid="trashed-message"]') as HTMLElement | null)?.innerText !== first,
      firstTrashed,
    );
    expect(await reader.getByTestId('trashed-message').count()).toBe(20);
    await reader.close();
    // No answer carried more than a page.
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(20);
  }, 240_000);

  it('sent the key only to /graphql, loaded nothing from elsewhere, and put no key in a URL', () => {
    const keys = [demo.key, readKey, otherOrganization.key, ...extraKeys];
    expect(requests.filter((request) => !request.url.startsWith(origin))).toEqual([]);
    expect(requests.filter((request) => keys.some((key) => request.url.includes(key)))).toEqual([]);
    const withKey = requests.filter((request) => request.authorization !== undefined);
    expect(withKey.length).toBeGreaterThan(0);
    expect(withKey.filter((request) => new URL(request.url).pathname !== '/graphql')).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

const demoMemoryText = 'Ada is learning GraphQL and likes concise answers.';
