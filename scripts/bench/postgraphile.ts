import fs from 'node:fs';
import path from 'node:path';
import { ensurePeerInstall, installedVersion } from '../peer-install';
import { BENCH_NODE_MAJOR } from './runtime';

export interface PostGraphileInstall {
  directory: string;
  nodeBinary: string;
  nodeVersion: string;
  postgraphileVersion: string;
  /** The server script, copied into the install so that its imports resolve there. */
  serverScript: string;
}

/** PostGraphile v5 (which requires Node >= 22) with the bench's Node, installed once outside the repository. */
export function ensurePostGraphile(log: (line: string) => void): PostGraphileInstall {
  const install = ensurePeerInstall(
    { name: 'postgraphile', packages: { postgraphile: '^5.0.0' }, nodeMajor: BENCH_NODE_MAJOR },
    log,
  );
  const serverScript = path.join(install.directory, 'bench-server.mjs');
  fs.copyFileSync(path.join(__dirname, 'postgraphile-server.mjs'), serverScript);
  return { ...install, postgraphileVersion: installedVersion(install, 'postgraphile'), serverScript };
}
