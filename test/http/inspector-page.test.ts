import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { INSPECTOR_BUILD, withInspector } from '../../src/http/inspector';
import { startTestApp, type TestApp } from '../support/test-app';

/** A raw GET: fetch would resolve `..` in the path before sending it. */
function get(
  port: number,
  rawPath: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: rawPath, method, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

async function serve(root: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(
    withInspector((_request, response) => {
      response.writeHead(418);
      response.end('elsewhere');
    }, root),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const INDEX = '<!doctype html><title>inspector</title>';

describe('the inspector is served at /ui (src/http/inspector.ts)', () => {
  let built: string;
  let missing: string;
  let servers: http.Server[] = [];

  beforeAll(() => {
    built = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-ui-'));
    fs.mkdirSync(path.join(built, 'assets'));
    fs.writeFileSync(path.join(built, 'index.html'), INDEX);
    fs.writeFileSync(path.join(built, 'assets', 'app-1234.js'), 'console.log(1)');
    fs.writeFileSync(path.join(os.tmpdir(), 'agentmem-outside.txt'), 'secret');
    missing = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-ui-missing-'));
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    servers = [];
    fs.rmSync(built, { recursive: true, force: true });
    fs.rmSync(missing, { recursive: true, force: true });
  });

  it("serves the page at /ui and at the app's own routes, with its security headers", async () => {
    const { server, port } = await serve(built);
    servers.push(server);
    for (const route of ['/ui', '/ui/', '/ui/agents/agent-123', '/ui/trash?x=1']) {
      const answer = await get(port, route);
      expect({ route, status: answer.status, body: answer.body }).toEqual({
        route,
        status: 200,
        body: INDEX,
      });
      expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(answer.headers['content-security-policy']).toContain("connect-src 'self'");
      expect(answer.headers['content-security-policy']).toContain("script-src 'self'");
      expect(answer.headers['referrer-policy']).toBe('no-referrer');
    }
    const asset = await get(port, '/ui/assets/app-1234.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await get(port, '/ui/assets/app-1234.js', 'HEAD')).body).toBe('');
    // Everything else is the next handler's.
    expect((await get(port, '/graphql')).status).toBe(418);
    expect((await get(port, '/uix')).status).toBe(418);
  });

  it('serves nothing outside its directory, and only GET and HEAD', async () => {
    const { server, port } = await serve(built);
    servers.push(server);
    const outside = path.relative(built, path.join(os.tmpdir(), 'agentmem-outside.txt'));
    for (const route of [
      `/ui/assets/${outside}`,
      `/ui/assets/${outside.replaceAll('.', '%2e')}`,
      `/ui/assets/..%2f..%2f${path.basename(built)}%2findex.html`,
      '/ui/assets/nothing.js',
      '/ui/assets/',
    ]) {
      const answer = await get(port, route);
      // Refused, or (where the URL's own `..` resolution left /ui/assets) the app's page.
      const served = answer.status === 404 ? 'refused' : answer.body === INDEX ? 'the page' : answer.body;
      expect({ route, served }).toEqual({ route, served: expect.stringMatching(/^(refused|the page)$/) });
    }
    expect((await get(port, '/ui/%E0%A4%A')).status).toBe(400);
    const post = await get(port, '/ui', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('says how to build it when ui/dist is missing', async () => {
    const { server, port } = await serve(missing);
    servers.push(server);
    const answer = await get(port, '/ui/agents/agent-1');
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('npm run build:ui');
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  describe('beside GraphQL on the server', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp('inspector-page');
    });
    afterAll(async () => {
      await app?.close();
    });

    it('answers /ui on the GraphQL port: the build when there is one, else how to make it', async () => {
      const answer = await fetch(new URL('/ui/agents/anything', app.url));
      const isBuilt = fs.existsSync(path.join(INSPECTOR_BUILD, 'index.html'));
      expect(answer.status).toBe(isBuilt ? 200 : 503);
      expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(answer.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await answer.text()).toContain(isBuilt ? '/ui/assets/' : 'npm run build:ui');
    });
  });
});
