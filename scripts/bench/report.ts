import fs from 'node:fs';
import os from 'node:os';
import type { Measurement } from './load';
import { SERVER_NAMES, type ServerId, type Shape } from './shapes';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface ShapeResults {
  shape: Shape;
  /** Every measured round of each server, in the order they ran. */
  rounds: Map<ServerId, Measurement[]>;
}

/** The medians of one server's rounds on one shape. */
type Figures = Omit<Measurement, 'requests' | 'statements'>;

interface Row extends Figures {
  shape: string;
  server: string;
  ratio: string;
}

function medians(measurements: readonly Measurement[]): Figures {
  const of = (pick: (measurement: Measurement) => number) => median(measurements.map(pick));
  return {
    requestsPerSecond: of((m) => m.requestsPerSecond),
    p50Ms: of((m) => m.p50Ms),
    p99Ms: of((m) => m.p99Ms),
    statementsPerRequest: of((m) => m.statementsPerRequest),
    cpuMsPerRequest: of((m) => m.cpuMsPerRequest),
    rssMb: of((m) => m.rssMb),
  };
}

function rows(results: readonly ShapeResults[]): Row[] {
  return results.flatMap(({ shape, rounds }) => {
    const peer = shape.peer && rounds.get(shape.peer);
    const peerRate = peer ? medians(peer).requestsPerSecond : undefined;
    return shape.participants.flatMap(({ server }) => {
      const measured = rounds.get(server);
      if (!measured?.length) return [];
      const values = medians(measured);
      const ratio = server === shape.peer ? 'peer' : peerRate ? `${(values.requestsPerSecond / peerRate).toFixed(2)}×` : '—';
      return [{ shape: shape.title, server: SERVER_NAMES[server], ratio, ...values }];
    });
  });
}

/** The results as one Markdown table: readable in a terminal, pasteable into the README. */
export function resultsTable(results: readonly ShapeResults[]): string {
  const header = ['shape', 'server', 'req/s', 'p50 ms', 'p99 ms', 'SQL statements / request', 'Node CPU ms / request', 'RSS MB', 'req/s vs peer'];
  const body = rows(results).map((row) => [
    row.shape,
    row.server,
    row.requestsPerSecond.toFixed(1),
    row.p50Ms.toFixed(1),
    row.p99Ms.toFixed(1),
    row.statementsPerRequest.toFixed(1),
    row.cpuMsPerRequest.toFixed(2),
    row.rssMb.toFixed(0),
    row.ratio,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const numeric = (column: number) => column >= 2 && column <= 7;
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => (numeric(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (numeric(column) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

export interface RunDescription {
  startedAt: Date;
  agentmemNode: string;
  postgraphileNode: string;
  postgraphileVersion: string;
  autocannonVersion: string;
  postgresVersion: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  rounds: number;
}

/** Date, machine, versions and settings: the lines above the table. */
export function runDescription(run: RunDescription): string {
  return [
    `date: ${run.startedAt.toISOString()}`,
    `machine: ${cpuModel()}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    `node: AgentMem and plain statements ${run.agentmemNode}, PostGraphile ${run.postgraphileNode}`,
    `PostGraphile ${run.postgraphileVersion} (Amber preset, production), PostgreSQL ${run.postgresVersion}, autocannon ${run.autocannonVersion}`,
    `load: ${run.connections} connections, ${run.warmupSeconds} s warm-up + ${run.durationSeconds} s measured per turn, ` +
      `${run.rounds} round${run.rounds === 1 ? '' : 's'} with the servers taking turns; medians over the rounds`,
  ].join('\n');
}
