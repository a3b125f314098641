import fs from 'node:fs';
import path from 'node:path';
import { graphiqlOptions, renderAgentMemGraphiQL } from '../../src/http/graphiql';

// The page itself, without a server or a browser (test/http/graphiql.browser.test.ts drives it).
describe("GraphiQL's page", () => {
  const page = renderAgentMemGraphiQL(graphiqlOptions, '/graphql');

  it("opens with the README's first query, under AgentMem's own help", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    const firstQuery = /```graphql\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(firstQuery).toBeDefined();
    expect(graphiqlOptions.defaultQuery?.endsWith(firstQuery!)).toBe(true);
    expect(graphiqlOptions.defaultQuery).toMatch(/^# AgentMem/);
    expect(JSON.parse(graphiqlOptions.headers!)).toEqual({ Authorization: 'Bearer amk_...' });
  });

  it('loads nothing from another host, and holds introspection back before its own scripts run', () => {
    expect(page).not.toMatch(/(src|href)="https?:/);
    expect(page).not.toMatch(/https:\/\/(unpkg|cdn|esm\.sh)/);
    const gate = page.indexOf('window.fetch = ');
    expect(gate).toBeGreaterThan(0);
    expect(gate).toBeLessThan(page.indexOf('YogaGraphiQL.renderYogaGraphiQL'));
  });
});
