import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

/** The README's first query, under a short guide: what a new user needs on the first screen. */
const defaultQuery = `# AgentMem: the memory of AI agents, per organization:
# agents, their core memory (blocks), tools, conversation
# and long-term memories.
#
# 1. Put your API key in the Headers tab below, in place
#    of amk_... (\`npm start\` prints the demo key once).
#    Nothing is sent before a key is there; the schema and
#    the docs load with the first request.
# 2. Run this query (the ▶ button, or Ctrl-Enter): the demo
#    agent with its blocks, tools and recent messages, and a
#    full-text search of the memories.
# 3. The Docs button (top left) lists every query and
#    mutation with its arguments.
#
# A key sees only its organization, within its scopes.
{
  agents { nodes { id name blocks { label value limit } tools { name } recentMessages { role text } } }
  searchMemories(query: "graphql") { score snippet memory { content } }
}
`;

/** What GraphiQL opens with. Headers are not kept in the browser's storage: they hold a key. */
export const graphiqlOptions: GraphiQLOptions = {
  title: 'AgentMem',
  defaultQuery,
  // ASCII only: a header value outside ISO-8859-1 cannot even be sent.
  headers: JSON.stringify({ Authorization: 'Bearer amk_...' }, null, 2),
  shouldPersistHeaders: false,
  // Passed through to GraphiQL: the Headers tab is open on the first screen.
  ...({ defaultEditorToolsVisibility: 'headers' } as object),
};

/**
 * Runs in the page before GraphiQL: GraphiQL asks for the schema as soon as it opens, which,
 * without a key, answers 401 UNAUTHENTICATED and paints the first screen red. The schema request
 * (introspection) is held back until the page sends its first request with a key (the user's
 * first run), then sent with that key. Everything else goes out as it is. The server still
 * answers introspection only to a key (INTROSPECTION), as it does every request.
 */
const holdIntrospectionUntilAKey = (endpoint: string) => `
(() => {
  const endpoint = new URL(${JSON.stringify(endpoint)}, location.href).pathname;
  const key = /^Bearer\\s+amk_[A-Za-z0-9_-]{20,}$/;
  const send = window.fetch.bind(window);
  let waiting = [];
  const introspects = (url, init) => {
    const body = typeof init.body === 'string' ? init.body : url.searchParams.get('query') || '';
    return body.includes('__schema');
  };
  window.fetch = (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    if (url.pathname !== endpoint) return send(input, init);
    let authorization = '';
    try {
      authorization = new Headers(init.headers).get('authorization') || '';
    } catch {
      // Headers a browser cannot send (e.g. not ISO-8859-1): no key either.
    }
    if (key.test(authorization)) {
      const held = waiting;
      waiting = [];
      for (const release of held) release(authorization);
      return send(input, init);
    }
    if (!introspects(url, init)) return send(input, init);
    return new Promise((resolve, reject) => {
      waiting.push((withKey) => {
        const headers = new Headers(init.headers);
        headers.set('authorization', withKey);
        send(input, { ...init, headers }).then(resolve, reject);
      });
    });
  };
})();
`;

/** yoga's GraphiQL page (its assets inline: no CDN), with the key gate above run first. */
export function renderAgentMemGraphiQL(options: GraphiQLOptions, endpoint: string): string {
  const page = renderGraphiQL(options);
  const gate = `<script>${holdIntrospectionUntilAKey(endpoint)}</script>`;
  const at = page.indexOf('<script>');
  return at < 0 ? page : page.slice(0, at) + gate + page.slice(at);
}
