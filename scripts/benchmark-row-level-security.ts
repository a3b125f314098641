import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type DatabaseSettings, loadSettings } from '../src/config/settings';
import { type Database, openDatabase } from '../src/db/database';
import { addAgentFleet } from '../src/demo/agent-fleet';
import { seedDemoData } from '../src/demo/seed';
import { createGraphqlHandler } from '../src/http/yoga';
import { createLiveBus } from '../src/live/bus';
import { createLogger } from '../src/logger';

// `npm run bench:rls`: what row-level security costs on the nested agents request, 50 agents with
// their blocks, tools and 10 recent messages, over HTTP. The same server code answers twice:
// as the application does (every statement scoped, as agentmem_app, under the policies), and with
// the connection's superuser login, which skips both the scoping transactions and the policies.
// On PostgreSQL when DATABASE_URL is set (a scratch database on that server, dropped after),
// otherwise on embedded PGlite in a temporary directory.

const NESTED_AGENTS = `query NestedAgents {
  agents(first: 50) {
    nodes {
      id name
      blocks { id label value }
      tools { id name }
      recentMessages(limit: 10) { id role text createdAt }
    }
  }
}`;

interface ScratchDatabase {
  settings: DatabaseSettings;
  drop(): Promise<void>;
}

async function scratchDatabase(): Promise<ScratchDatabase> {
  const configured = loadSettings().database;
  if (configured.kind === 'pglite') {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-bench-'));
    return {
      settings: { kind: 'pglite', dataDir: path.join(root, 'pglite') },
      drop: async () => fs.rmSync(root, { recursive: true, force: true }),
    };
  }
  const name = `agentmem_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: configured.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(configured.url);
  url.pathname = `/${name}`;
  return {
    settings: { ...configured, url: url.toString() },
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/** A demo organization with 50 agents, each with 2 blocks, 2 tools and 12 messages; its key. */
async function seedFiftyAgents(database: Database): Promise<string> {
  const { organizationId, userId, key } = await seedDemoData(database.prisma);
  const prisma = database.owner;
  await addAgentFleet(prisma, { organizationId, userId }, 50);
  // Planner statistics, as autovacuum would gather them on a live server (PGlite has no
  // autovacuum): without them the policies' organization filters can steer plans to poor indexes.
  await prisma.$executeRawUnsafe('ANALYZE');
  return key;
}

async function serve(database: Database): Promise<{ url: string; close(): Promise<void> }> {
  const settings = loadSettings({ LOG_LEVEL: 'silent' });
  const logger = createLogger('silent');
  const server = http.createServer(
    createGraphqlHandler(database, settings, logger, { live: createLiveBus(undefined, logger), redis: undefined }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function timeRequest(url: string, key: string): Promise<number> {
  const started = process.hrtime.bigint();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: NESTED_AGENTS }),
  });
  const body = (await response.json()) as { data?: { agents: { nodes: unknown[] } }; errors?: unknown };
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (body.errors || body.data?.agents.nodes.length !== 50)
    throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
  return elapsed;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return { median: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), mean };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '10' }, requests: { type: 'string', default: '30' } },
  });
  const rounds = Number(values.rounds);
  const perRound = Number(values.requests);
  const scratch = await scratchDatabase();
  const database = await openDatabase(scratch.settings);
  try {
    await database.migrate();
    const key = await seedFiftyAgents(database);
    const scoped = await serve(database);
    const unscoped = await serve({ ...database, prisma: database.owner });
    const samples = { scoped: [] as number[], unscoped: [] as number[] };
    try {
      for (let warmup = 0; warmup < 30; warmup += 1) {
        await timeRequest(scoped.url, key);
        await timeRequest(unscoped.url, key);
      }
      // Request by request, alternating which of the two goes first, so that drift in the
      // machine's speed falls on both alike.
      for (let request = 0; request < rounds * perRound; request += 1) {
        const order = request % 2 === 0 ? ([scoped, unscoped] as const) : ([unscoped, scoped] as const);
        for (const server of order)
          (server === scoped ? samples.scoped : samples.unscoped).push(await timeRequest(server.url, key));
      }
    } finally {
      await scoped.close();
      await unscoped.close();
    }
    const withRls = summary(samples.scoped);
    const without = summary(samples.unscoped);
    const format = (value: number) => value.toFixed(2).padStart(8);
    const lines = [
      `nested agents request (50 agents, blocks, tools, 10 recent messages) on ${database.kind}, ` +
        `${samples.scoped.length} requests each, ms`,
      `                          median      p95     mean`,
      `without row-level security ${format(without.median)} ${format(without.p95)} ${format(without.mean)}`,
      `with row-level security    ${format(withRls.median)} ${format(withRls.p95)} ${format(withRls.mean)}`,
      `cost of row-level security: ${(((withRls.median - without.median) / without.median) * 100).toFixed(1)}% ` +
        `(median), ${(((withRls.mean - without.mean) / without.mean) * 100).toFixed(1)}% (mean)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await database.close();
    await scratch.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
