import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';

/** Where the memory inspector is served: the same port as GraphQL (docs/inspector.md). */
const INSPECTOR_PATH = '/ui';

/** What `npm run build:ui` writes (git-ignored); `npm start` builds it when missing or stale. */
export const INSPECTOR_BUILD = path.resolve(__dirname, '../../ui/dist');

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may talk to this origin only ('self': the key goes to /graphql and nowhere else),
 * runs only its own scripts, and cannot be framed. Inline styles: the gauges' and bars' widths.
 */
const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AgentMem inspector: not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<main>
<h1>The memory inspector is not built</h1>
<p>This server serves the inspector from <code>ui/dist</code>, which is missing. Build it with</p>
<pre>npm run build:ui</pre>
<p>and reload this page (no restart needed). <code>npm start</code> builds it by itself when it is missing or
stale; an install without development dependencies (<code>npm ci --omit=dev</code>) cannot build it.</p>
<p>GraphiQL, at <a href="/graphql">/graphql</a>, works without it.</p>
</main></body></html>`;

function send(
  response: http.ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer | string,
  method: string,
): void {
  response.writeHead(status, { ...securityHeaders, 'content-length': String(Buffer.byteLength(body)), ...headers });
  response.end(method === 'HEAD' ? undefined : body);
}

/**
 * The inspector's files under /ui: its assets (content-hashed names, cached for good) and, for
 * every other path under /ui (the app's own routes, e.g. /ui/agents/agent-…), its index.html.
 * Reads no key and needs none: the page asks for one and sends it to /graphql only.
 */
function serveInspector(request: http.IncomingMessage, response: http.ServerResponse, root: string): void {
  const method = request.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    send(response, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }, 'GET only\n', method);
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
  } catch {
    send(response, 400, { 'content-type': 'text/plain; charset=utf-8' }, 'bad path\n', method);
    return;
  }
  const inside = pathname.slice(INSPECTOR_PATH.length).replace(/^\/+/, '');
  const index = path.join(root, 'index.html');
  if (!fs.existsSync(index)) {
    send(
      response,
      503,
      { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
      notBuiltPage,
      method,
    );
    return;
  }
  if (inside.startsWith('assets/')) {
    const file = path.resolve(root, inside);
    // Nothing outside the build directory, whatever the path says (`..`, encoded or not).
    const readable =
      file.startsWith(root + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile() ? file : undefined;
    if (!readable) {
      send(response, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'no such file\n', method);
      return;
    }
    const type = contentTypes[path.extname(readable)] ?? 'application/octet-stream';
    send(
      response,
      200,
      { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' },
      fs.readFileSync(readable),
      method,
    );
    return;
  }
  send(
    response,
    200,
    { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' },
    fs.readFileSync(index),
    method,
  );
}

/** Serves /ui and below from `root`; everything else goes to `handler`. */
export function withInspector(handler: http.RequestListener, root: string = INSPECTOR_BUILD): http.RequestListener {
  return (request, response) => {
    const pathname = (request.url ?? '/').split('?')[0] ?? '/';
    if (pathname === INSPECTOR_PATH || pathname.startsWith(`${INSPECTOR_PATH}/`)) {
      serveInspector(request, response, root);
      return;
    }
    handler(request, response);
  };
}
