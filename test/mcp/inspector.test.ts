import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensurePeerInstall, type PeerInstall } from '../../scripts/peer-install';
import { startTestApp, type TestApp } from '../support/test-app';

// A client no one here wrote: the MCP Inspector's CLI mode (@modelcontextprotocol/inspector from
// the npm registry), against /mcp over Streamable HTTP. It requires Node >= 22.19, so it is not a
// devDependency (it would warn at every install on Node 20): it is installed once outside the
// repository with a Node 22 of its own (scripts/peer-install.ts), as the bench installs PostGraphile.

const run = promisify(execFile);
const projectRoot = path.resolve(__dirname, '..', '..');
const INSPECTOR = '@modelcontextprotocol/inspector';

describe('the MCP Inspector CLI against /mcp', () => {
  let app: TestApp;
  let demo: Awaited<ReturnType<TestApp['seedDemo']>>;
  let directory: string;
  let install: PeerInstall;
  beforeAll(async () => {
    install = ensurePeerInstall({ name: 'mcp-inspector', packages: { [INSPECTOR]: '^2.12.0' } }, () => {});
    app = await startTestApp('mcp_inspector');
    demo = await app.seedDemo();
    // The Inspector keeps a catalog of servers: in a directory of this test's, not the home one.
    directory = await mkdtemp(path.join(os.tmpdir(), 'agentmem-inspector-'));
    // The first run installs the Inspector and a Node 22 from the registry.
  }, 600_000);
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
    await app?.close();
  });

  const cli = async (...args: string[]) => {
    const url = new URL('/mcp', app.url).href;
    const launcher = path.join(
      install.directory,
      'node_modules',
      INSPECTOR,
      'clients',
      'launcher',
      'build',
      'index.js',
    );
    const { stdout } = await run(
      install.nodeBinary,
      [launcher, '--cli', url, '--transport', 'http', '--header', `Authorization: Bearer ${demo.key}`, ...args],
      { cwd: projectRoot, env: { ...process.env, MCP_CATALOG_PATH: path.join(directory, 'mcp.json') } },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  it('lists the tools and calls recall and agent_context', async () => {
    const listed = (await cli('--method', 'tools/list')) as { tools: Array<{ name: string }> };
    expect(listed.tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['remember', 'recall']));

    const recalled = (await cli('--method', 'tools/call', '--tool-name', 'recall', '--tool-arg', 'query=GraphQL')) as {
      structuredContent: { hits: Array<{ memory: { content: string } }> };
    };
    expect(recalled.structuredContent.hits.map((hit) => hit.memory.content)).toEqual([
      'Ada is learning GraphQL and likes concise answers.',
    ]);

    const context = (await cli(
      '--method',
      'tools/call',
      '--tool-name',
      'agent_context',
      '--tool-arg',
      `agentId=${demo.agentId}`,
    )) as { structuredContent: { text: string } };
    expect(context.structuredContent.text).toContain('<block label="persona"');
  });
});
