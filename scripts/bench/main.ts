import fs from 'node:fs';
import path from 'node:path';
import { buildShapes } from './catalog';
import { Cleanup } from './cleanup';
import { type Cluster, startCluster } from './cluster';
import { AGENTMEM_DATABASE, POSTGRAPHILE_DATABASE, prepareDatabases } from './databases';
import { EXPECTED_ROWS } from './dataset';
import { type Measurement, measure } from './load';
import { type BenchOptions, parseOptions, USAGE } from './options';
import { ensurePostGraphile } from './postgraphile';
import { profileReport } from './profile';
import { ratios, ratiosSvg, resultsTable, runDescription, type ShapeResults } from './report';
import { BENCH_PROCESS_NODE, ensureBenchNode } from './runtime';
import { type BenchServer, startAgentMem, startPostGraphile, startReference, startYoga } from './servers';
import { SERVER_NAMES, type ServerId, type Shape } from './shapes';
import { verifyShapes } from './verify';

// `npm run bench`: AgentMem beside PostGraphile v5, two plain-statement servers and a bare
// graphql-yoga, on the same data, over loopback (issue 8), on a matrix of request shapes (issue
// 22, catalog.ts). See docs/performance.md for what it does and prints.

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** Round r starts with the r-th server, so that no server always runs first or last. */
function turnOrder<T>(items: readonly T[], round: number): T[] {
  const start = round % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/** Each shape in turn; within a shape, the rounds; within a round, each server once. */
async function runShapes(
  shapes: Shape[],
  servers: Map<ServerId, BenchServer>,
  options: BenchOptions,
  cluster: Cluster,
): Promise<ShapeResults[]> {
  const results: ShapeResults[] = [];
  for (const shape of shapes) {
    const rounds = new Map<ServerId, Measurement[]>();
    for (let round = 0; round < options.rounds; round += 1) {
      for (const participant of turnOrder(shape.participants, round)) {
        const server = servers.get(participant.server)!;
        const measurement = await measure(cluster, server, participant, options);
        rounds.set(participant.server, [...(rounds.get(participant.server) ?? []), measurement]);
        progress(
          `  round ${round + 1}/${options.rounds} ${shape.title} · ${server.name}: ` +
            `${measurement.requestsPerSecond.toFixed(1)} req/s, ` +
            `p99 ${measurement.p99Ms.toFixed(0)} ms, ` +
            (Number.isNaN(measurement.statementsPerRequest)
              ? 'no database'
              : `${measurement.statementsPerRequest.toFixed(1)} statements/request`),
        );
        if (options.showStatements && round === 0) {
          for (const statement of measurement.statements) {
            progress(
              `      ${statement.calls.toFixed(2).padStart(6)} × ${statement.execMs.toFixed(2).padStart(6)} ` +
                `ms ${statement.query.replace(/\s+/g, ' ').slice(0, 160)}`,
            );
          }
        }
      }
    }
    results.push({ shape, rounds });
  }
  return results;
}

async function bench(options: BenchOptions, cleanup: Cleanup): Promise<void> {
  const startedAt = new Date();
  const install = ensurePostGraphile(progress);
  progress(`PostGraphile ${install.postgraphileVersion} on Node ${install.nodeVersion}, from ${install.directory}`);
  // Every server on one Node (runtime.ts), unless asked to run AgentMem's on the bench's own.
  const runtime = options.nodeSelf ? BENCH_PROCESS_NODE : ensureBenchNode(progress);
  progress(`AgentMem, bare graphql-yoga and the plain statements on Node ${runtime.version} (${runtime.binary})`);

  const cluster = await startCluster(cleanup);
  progress(`throwaway PostgreSQL ${cluster.version} on port ${cluster.port}, in ${cluster.directory}`);
  const rows = Object.entries(EXPECTED_ROWS)
    .map(([table, count]) => `${count} ${table}`)
    .join(', ');
  progress(
    `building the dataset in ${AGENTMEM_DATABASE} (prisma migrate deploy) ` +
      `and ${POSTGRAPHILE_DATABASE} (schema.sql): ${rows}`,
  );
  const databases = await prepareDatabases(cluster);
  progress(
    `indexes of AgentMem's migrations added to ${POSTGRAPHILE_DATABASE}: ` +
      `${databases.copiedIndexes.join(', ') || 'none'}`,
  );
  if (databases.skippedIndexes.length)
    progress(`WARNING: indexes PostGraphile's database could not take: ${databases.skippedIndexes.join('; ')}`);

  const profileDirectory = path.join(options.outDirectory, 'profiles');
  const shapes = buildShapes(
    { facts: databases.facts, agentmemKey: databases.agentmemKey, agentmemAppendKey: databases.agentmemAppendKey },
    options.shapes,
  );
  const needed = new Set(shapes.flatMap((shape) => shape.participants.map((participant) => participant.server)));
  progress(`starting ${[...needed].map((id) => SERVER_NAMES[id]).join(', ')}`);
  // One process answers both /graphql and /mcp: the MCP shape's two participants are that process.
  let agentmem: Promise<BenchServer> | undefined;
  const startAgentMemOnce = () =>
    (agentmem ??= startAgentMem(cluster, cleanup, AGENTMEM_DATABASE, {
      profileDirectory: options.profile ? profileDirectory : undefined,
      settings: options.agentmemSettings,
      runtime,
    }));
  const starters: Record<ServerId, () => Promise<BenchServer>> = {
    agentmem: startAgentMemOnce,
    'agentmem-mcp': async () => ({
      ...(await startAgentMemOnce()),
      id: 'agentmem-mcp',
      name: SERVER_NAMES['agentmem-mcp'],
    }),
    'agentmem-1-worker': () =>
      startAgentMem(cluster, cleanup, AGENTMEM_DATABASE, { workers: 1, settings: options.agentmemSettings, runtime }),
    'agentmem-2-workers': () =>
      startAgentMem(cluster, cleanup, AGENTMEM_DATABASE, { workers: 2, settings: options.agentmemSettings, runtime }),
    postgraphile: () => startPostGraphile(cluster, cleanup, POSTGRAPHILE_DATABASE, install),
    'json-agg': () =>
      startReference(cluster, cleanup, 'json-agg', POSTGRAPHILE_DATABASE, databases.facts.organizationId, runtime),
    // On AgentMem's database, as a superuser: the same memories, without row-level security.
    'full-text': () =>
      startReference(cluster, cleanup, 'full-text', AGENTMEM_DATABASE, databases.facts.organizationId, runtime),
    yoga: () => startYoga(cluster, cleanup, runtime),
  };
  const servers = new Map(
    (await Promise.all([...needed].map((id) => starters[id]()))).map((server) => [server.id, server]),
  );

  progress('checking that the servers give the same answers');
  for (const line of await verifyShapes(shapes, servers)) progress(`  ${line}`);
  progress(`all ${shapes.length} shape${shapes.length === 1 ? '' : 's'} verified`);
  if (options.verifyOnly) return;

  const turns = shapes.reduce((sum, shape) => sum + shape.participants.length, 0) * options.rounds;
  const minutes = (turns * (options.warmupSeconds + options.durationSeconds + 2)) / 60;
  progress(`timing: ${turns} turns, about ${minutes.toFixed(1)} min`);
  const results = await runShapes(shapes, servers, options, cluster);
  if (options.profile && servers.has('agentmem')) {
    // V8 writes the profile as the process exits.
    fs.mkdirSync(options.outDirectory, { recursive: true });
    await servers.get('agentmem')!.process.stop('SIGTERM', 10_000);
    const report = profileReport(profileDirectory);
    fs.writeFileSync(path.join(options.outDirectory, 'profile.md'), report);
    process.stdout.write(`\n${report}\n`);
  }

  const autocannonVersion = (
    JSON.parse(fs.readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string }
  ).version;
  const description = runDescription({
    startedAt,
    agentmemNode: runtime.version,
    postgraphileNode: install.nodeVersion,
    postgraphileVersion: install.postgraphileVersion,
    autocannonVersion,
    postgresVersion: cluster.version,
    ...options,
  });
  const table = resultsTable(results);
  process.stdout.write(`\n${description}\n\n${table}\n\n`);
  const subtitle =
    `${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${options.rounds} ` +
    `round${options.rounds === 1 ? '' : 's'} of ` +
    `${options.warmupSeconds} s warm-up + ${options.durationSeconds} s measured, ${options.connections} ` +
    `connections; medians`;
  writeResults(options.outDirectory, description, table, ratiosSvg(ratios(results), subtitle));
}

/** The table as Markdown (results.md) and the ratios as a chart (ratios.svg), in `directory`. */
function writeResults(directory: string, description: string, table: string, svg: string): void {
  fs.mkdirSync(directory, { recursive: true });
  const markdown = path.join(directory, 'results.md');
  const chart = path.join(directory, 'ratios.svg');
  fs.writeFileSync(
    markdown,
    `\`\`\`\n${description}\n\`\`\`\n\n${table}\n\n![AgentMem req/s over the peer's, per shape](ratios.svg)\n`,
  );
  fs.writeFileSync(chart, svg);
  progress(`wrote ${markdown} and ${chart}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    await bench(options, cleanup);
  } catch (error) {
    if (cleanup.interrupted) return;
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    if (!cleanup.interrupted) {
      progress('stopping the servers and removing the cluster');
      await cleanup.run();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
