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

    await page.getByLabel('Import an agent file').setInputFiles(file);
    await page.waitForURL((url) => url.pathname.startsWith('/ui/agents/') && !url.pathname.endsWith(demo.agentId));
    await page.getByRole('heading', { name: 'Demo Assistant', level: 1 }).waitFor();
    await page.getByTestId('block-persona').waitFor();
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByText('2 agents').waitFor();
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
    await owner.toolAgent.createMany({ data: tools.map((tool) => ({ toolId: tool.id, agentId: large.agentId })) });
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
    const keys = [demo.key, readKey, otherOrganization.key];
    expect(requests.filter((request) => !request.url.startsWith(origin))).toEqual([]);
    expect(requests.filter((request) => keys.some((key) => request.url.includes(key)))).toEqual([]);
    const withKey = requests.filter((request) => request.authorization !== undefined);
    expect(withKey.length).toBeGreaterThan(0);
    expect(withKey.filter((request) => new URL(request.url).pathname !== '/graphql')).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

const demoMemoryText = 'Ada is learning GraphQL and likes concise answers.';
