import path from 'node:path';
import { parseArgs } from 'node:util';
import { CATALOG, SHAPE_IDS } from './catalog';

export interface BenchOptions {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  rounds: number;
  /** Ids of the shapes to run; empty: all. */
  shapes: string[];
  /** List each server's statements per request (first round), to see where a count comes from. */
  showStatements: boolean;
  /** Check the answers of the shapes and stop: nothing timed. */
  verifyOnly: boolean;
  /** Run AgentMem, bare yoga and the plain statements on the bench's own Node, not Node 24. */
  nodeSelf: boolean;
  /** Settings given to AgentMem beside the bench's own (`--agentmem-env GRAPHQL_JIT=false`). */
  agentmemSettings: Record<string, string>;
  /** Where the table (results.md) and the chart (ratios.svg) are written. */
  outDirectory: string;
  /** Run AgentMem (one process) under `--cpu-prof` and summarize its profile in profile.md. */
  profile: boolean;
}

/** artifacts/bench in the repository (ignored by git). */
const DEFAULT_OUT = path.resolve(__dirname, '..', '..', 'artifacts', 'bench');

const width = Math.max(...SHAPE_IDS.map((id) => id.length));
const SHAPE_LIST = CATALOG.map((entry) => `    ${entry.id.padEnd(width)}  ${entry.summary}`).join('\n');

export const USAGE = `usage: npm run bench [-- options]

  --quick              1 round, 1 s warm-up, 3 s measured (a check that everything works, not figures)
  --rounds N           rounds, the servers taking turns in each (default 3)        env BENCH_ROUNDS
  --duration S         measured seconds per turn (default 10)                      env BENCH_DURATION
  --warmup S           warm-up seconds before each measured turn (default 3)       env BENCH_WARMUP
  --connections N      concurrent connections (default 10)                         env BENCH_CONNECTIONS
  --shapes a,b         only these shapes (default: all, in the order below)        env BENCH_SHAPES
  --verify-only        check that the servers agree on the shapes, time nothing    env BENCH_VERIFY_ONLY=1
  --node-self          AgentMem and the plain servers on this Node, not Node 24    env BENCH_NODE_SELF=1
                       (PostGraphile stays on 24): what the runtime itself moves
  --agentmem-env K=V   a setting for AgentMem (repeatable), e.g. GRAPHQL_JIT=false  env BENCH_AGENTMEM_ENV=K=V,K=V
  --statements         list the SQL statements of one request (first round)        env BENCH_STATEMENTS=1
  --out DIR            results.md and ratios.svg go there (default artifacts/bench) env BENCH_OUT
  --profile            CPU-profile AgentMem (one process) over the run; its summary env BENCH_PROFILE=1
                       by self time goes to profile.md (run it with one shape)
  BENCH_QUICK=1 is --quick. PostGraphile is installed once into ~/.cache/agentmem-bench
  ($XDG_CACHE_HOME/agentmem-bench if set, or $AGENTMEM_BENCH_CACHE).

shapes:
${SHAPE_LIST}`;

const DEFAULTS = { connections: 10, warmupSeconds: 3, durationSeconds: 10, rounds: 3 };
const QUICK = { connections: 10, warmupSeconds: 1, durationSeconds: 3, rounds: 1 };

function positive(name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (!allowZero && parsed === 0))
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, not "${value}"\n${USAGE}`);
  return parsed;
}

function integer(name: string, value: string | undefined, fallback: number): number {
  const parsed = positive(name, value, fallback);
  if (!Number.isInteger(parsed)) throw new Error(`${name} must be a whole number, not "${value}"\n${USAGE}`);
  return parsed;
}

/** `NAME=value` pairs, as settings; anything else is refused with the usage. */
function settingsOf(pairs: string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of pairs.filter((part) => part !== '')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new Error(`--agentmem-env takes NAME=value, not "${pair}"\n${USAGE}`);
    settings[match[1]!] = match[2]!;
  }
  return settings;
}

/** Flags first, then the BENCH_* environment, then --quick's or the full run's defaults. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      shapes: { type: 'string' },
      statements: { type: 'boolean' },
      'verify-only': { type: 'boolean' },
      'node-self': { type: 'boolean' },
      'agentmem-env': { type: 'string', multiple: true },
      out: { type: 'string' },
      profile: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const base = values.quick || env.BENCH_QUICK === '1' ? QUICK : DEFAULTS;
  return {
    rounds: integer('--rounds', values.rounds ?? env.BENCH_ROUNDS, base.rounds),
    durationSeconds: positive('--duration', values.duration ?? env.BENCH_DURATION, base.durationSeconds),
    warmupSeconds: positive('--warmup', values.warmup ?? env.BENCH_WARMUP, base.warmupSeconds, true),
    connections: integer('--connections', values.connections ?? env.BENCH_CONNECTIONS, base.connections),
    shapes: shapeList(values.shapes ?? env.BENCH_SHAPES ?? ''),
    showStatements: values.statements === true || env.BENCH_STATEMENTS === '1',
    verifyOnly: values['verify-only'] === true || env.BENCH_VERIFY_ONLY === '1',
    nodeSelf: values['node-self'] === true || env.BENCH_NODE_SELF === '1',
    agentmemSettings: settingsOf(values['agentmem-env'] ?? env.BENCH_AGENTMEM_ENV?.split(',') ?? []),
    outDirectory: path.resolve(values.out ?? env.BENCH_OUT ?? DEFAULT_OUT),
    profile: values.profile === true || env.BENCH_PROFILE === '1',
  };
}

function shapeList(value: string): string[] {
  const shapes = value
    .split(',')
    .map((shape) => shape.trim())
    .filter(Boolean);
  const unknown = shapes.filter((shape) => !SHAPE_IDS.includes(shape));
  if (unknown.length) throw new Error(`unknown shape ${unknown.join(', ')}\n${USAGE}`);
  return shapes;
}
