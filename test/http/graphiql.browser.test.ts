import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, type TestBrowser } from '../../scripts/chromium';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * GraphiQL as a new user meets it, in a real browser: Debian's Chromium (never a downloaded
 * one), driven by playwright-core. One browser is heavy for a 2-core CI: this runs in the
 * PostgreSQL half only, and is reported skipped on PGlite (see docs/testing.md).
 */
const SCREENSHOTS = path.resolve(__dirname, '../../artifacts/graphiql');
const onPostgres = process.env.DATABASE_URL !== undefined;

(onPostgres ? describe : describe.skip)('GraphiQL in a browser (PostgreSQL half only)', () => {
  let app: TestApp;
  let key: string;
  let browser: BrowserContext;
  let page: Page;
  let testBrowser: TestBrowser | undefined;
  const graphqlPosts: Array<{ authorization: string | undefined; body: string }> = [];
  const elsewhere: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    app = await startTestApp('graphiql-browser');
    ({ key } = await app.seedDemo());
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    testBrowser = await launchChromium({ width: 1400, height: 900 });
    browser = testBrowser.context;
    const origin = new URL(app.url).origin;
    // Offline: anything but the server itself is refused, and noted.
    await browser.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin)) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().startsWith(app.url))
        graphqlPosts.push({ authorization: request.headers().authorization, body: request.postData() ?? '' });
    });
  });
  afterAll(async () => {
    await testBrowser?.close();
    await app?.close();
  });

  const responsePane = () => page.locator('.graphiql-response');
  // Monaco lays text out with no-break spaces.
  const textOf = async (locator: ReturnType<Page['locator']>) => (await locator.innerText()).replace(/\u00a0/g, ' ');

  it('opens ready to use, offline, sending nothing before a key', async () => {
    await page.goto(app.url, { waitUntil: 'load' });
    await page.locator('.graphiql-execute-button').waitFor();
    await page.getByText('AgentMem: the memory of AI agents').first().waitFor();
    // Time for GraphiQL to ask for the schema, were it going to.
    await page.waitForTimeout(1500);
    await page.screenshot({ path: path.join(SCREENSHOTS, '1-first-screen.png') });
    expect(graphqlPosts).toEqual([]);
    expect(elsewhere).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(await responsePane().innerText()).toBe('');
    expect(await page.locator('body').innerText()).not.toMatch(/UNAUTHENTICATED|error/i);
    // The headers tab is open with the Authorization template.
    expect(await textOf(page.locator('.graphiql-editor-tool'))).toContain('"Authorization": "Bearer amk_..."');
  });

  it("runs the README's first query with the demo key and shows the demo agent", async () => {
    const headers = page.locator('.graphiql-editor-tool .monaco-editor[data-uri$="headers.json"]');
    await headers.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${key}` }));
    await page.screenshot({ path: path.join(SCREENSHOTS, '2-key-entered.png') });
    const answered = page.waitForResponse(
      (response) =>
        response.url().startsWith(app.url) &&
        response.request().method() === 'POST' &&
        !(response.request().postData() ?? '').includes('__schema'),
    );
    await page.locator('.graphiql-execute-button').click();
    const answer = (await (await answered).json()) as {
      data?: { agents: { nodes: Array<{ name: string }> }; searchMemories: Array<{ rank: number }> };
      errors?: unknown;
    };
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.agents.nodes.map((agent) => agent.name)).toEqual(['Demo Assistant']);
    expect(answer.data?.searchMemories.length).toBeGreaterThan(0);
    // What the result pane shows (Monaco draws the lines in view).
    await responsePane().getByText('Demo Assistant').first().waitFor({ timeout: 30_000 });
    const shown = await textOf(responsePane());
    expect(shown).toContain('"agents"');
    expect(shown).toContain('"persona"');
    expect(shown).not.toContain('"errors"');
    await page.screenshot({ path: path.join(SCREENSHOTS, '3-result.png') });
    expect(graphqlPosts.length).toBeGreaterThanOrEqual(1);
    expect(graphqlPosts.every((post) => post.authorization === `Bearer ${key}`)).toBe(true);
  });

  it('loads the schema once the key is there, and opens the docs explorer', async () => {
    await page.locator('button[aria-label="Show Documentation Explorer"]').click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Query', { exact: true }).first().waitFor({ timeout: 30_000 });
    await docs.getByText('Query', { exact: true }).first().click();
    await docs.getByText('searchMemories').first().waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, '4-docs.png') });
    expect(graphqlPosts.some((post) => post.body.includes('__schema'))).toBe(true);
    expect(elsewhere).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
