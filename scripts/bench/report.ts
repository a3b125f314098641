import fs from 'node:fs';
import os from 'node:os';
import type { Measurement } from './load';
import { SERVER_NAMES, type ServerId, type Shape } from './shapes';

function median(values: readonly number[]): number {
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
    sqlMsPerRequest: of((m) => m.sqlMsPerRequest),
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
      const ratio =
        server === shape.peer ? 'peer' : peerRate ? `${(values.requestsPerSecond / peerRate).toFixed(2)}×` : '—';
      return [{ shape: shape.title, server: SERVER_NAMES[server], ratio, ...values }];
    });
  });
}

/** The results as one Markdown table: readable in a terminal, pasteable into docs/performance.md. */
export function resultsTable(results: readonly ShapeResults[]): string {
  const header = [
    'shape',
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    'SQL statements / request',
    'SQL ms / request',
    'Node CPU ms / request',
    'RSS MB',
    'req/s vs peer',
  ];
  const body = rows(results).map((row) => [
    row.shape,
    row.server,
    row.requestsPerSecond.toFixed(1),
    row.p50Ms.toFixed(1),
    row.p99Ms.toFixed(1),
    Number.isNaN(row.statementsPerRequest) ? '—' : row.statementsPerRequest.toFixed(1),
    Number.isNaN(row.sqlMsPerRequest) ? '—' : row.sqlMsPerRequest.toFixed(2),
    row.cpuMsPerRequest.toFixed(2),
    row.rssMb.toFixed(0),
    row.ratio,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const numeric = (column: number) => column >= 2 && column <= 8;
  const cell = (text: string, column: number) =>
    numeric(column) ? text.padStart(widths[column]!) : text.padEnd(widths[column]!);
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const ruleOf = (width: number, column: number) =>
    numeric(column) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2);
  const rule = `|${widths.map(ruleOf).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** One bar of the chart: AgentMem's req/s divided by the shape's peer's. */
export interface Ratio {
  id: string;
  title: string;
  peer: string;
  ratio: number;
}

/** Per shape where AgentMem and a peer other than AgentMem both ran: AgentMem's req/s over the peer's. */
export function ratios(results: readonly ShapeResults[]): Ratio[] {
  return results.flatMap(({ shape, rounds }) => {
    const agentmem = rounds.get('agentmem');
    const peer = shape.peer && shape.peer !== 'agentmem' ? rounds.get(shape.peer) : undefined;
    if (!shape.peer || !agentmem?.length || !peer?.length) return [];
    const peerRate = medians(peer).requestsPerSecond;
    if (!(peerRate > 0)) return [];
    return [
      {
        id: shape.id,
        title: shape.title,
        peer: SERVER_NAMES[shape.peer],
        ratio: medians(agentmem).requestsPerSecond / peerRate,
      },
    ];
  });
}

const escapeXml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * The ratios as a horizontal bar chart, hand-written SVG: one bar per shape (AgentMem's req/s over
 * its peer's: PostGraphile, or bare graphql-yoga for `{ __typename }`, or the plain full-text
 * statement for search), a line at 1.0 where AgentMem and the peer are level.
 */
export function ratiosSvg(bars: readonly Ratio[], subtitle: string): string {
  const labelWidth = 330;
  const plotWidth = 460;
  const valueWidth = 70;
  const rowHeight = 26;
  const top = 64;
  const bottom = 40;
  const width = labelWidth + plotWidth + valueWidth + 20;
  const height = top + Math.max(bars.length, 1) * rowHeight + bottom;
  const highest = Math.max(1.5, ...bars.map((bar) => bar.ratio));
  const scaleMax = Math.ceil(highest / 0.5) * 0.5;
  const x = (ratio: number) => labelWidth + (Math.min(ratio, scaleMax) / scaleMax) * plotWidth;
  const plotBottom = top + bars.length * rowHeight;
  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ` +
      `${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">AgentMem req/s ÷ peer req/s, per request shape</text>`,
    `<text x="10" y="42" fill="#555555">${escapeXml(subtitle)}</text>`,
  ];
  for (let tick = 0; tick <= scaleMax + 1e-9; tick += 0.5) {
    const at = x(tick).toFixed(1);
    lines.push(`<line x1="${at}" y1="${top - 6}" x2="${at}" y2="${plotBottom}" stroke="#e3e3e3"/>`);
    lines.push(`<text x="${at}" y="${plotBottom + 16}" text-anchor="middle" fill="#555555">${tick.toFixed(1)}×</text>`);
  }
  bars.forEach((bar, index) => {
    const y = top + index * rowHeight;
    const fill = bar.ratio >= 1 ? '#2f7ed8' : '#e4572e';
    lines.push(
      `<g><title>${escapeXml(`${bar.title}: AgentMem ${bar.ratio.toFixed(2)}× ${bar.peer}`)}</title>`,
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(bar.id)} <tspan ` +
        `fill="#777777">vs ${escapeXml(bar.peer)}</tspan></text>`,
      `<rect x="${labelWidth}" y="${y + 5}" width="${(x(bar.ratio) - labelWidth).toFixed(1)}" ` +
        `height="${rowHeight - 10}" fill="${fill}"/>`,
      `<text x="${(x(bar.ratio) + 5).toFixed(1)}" y="${y + 17}">${bar.ratio.toFixed(2)}×</text></g>`,
    );
  });
  const one = x(1).toFixed(1);
  lines.push(
    `<line x1="${one}" y1="${top - 10}" x2="${one}" y2="${plotBottom + 4}" stroke="#222222" stroke-width="1.5"/>`,
  );
  lines.push(`<text x="${one}" y="${top - 14}" text-anchor="middle" font-size="11">1.0 = as fast as the peer</text>`);
  lines.push(
    `<text x="10" y="${height - 8}" fill="#777777" font-size="11">Medians over the rounds. Blue, above 1.0: ` +
      `AgentMem answers more requests per second than the peer; orange, fewer.</text>`,
  );
  lines.push('</svg>');
  return `${lines.join('\n')}\n`;
}

function cpuModel(): string {
  try {
    return (
      /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ??
      os.cpus()[0]?.model ??
      'unknown'
    );
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
  /** Settings AgentMem was given beside the bench's own (`--agentmem-env`). */
  agentmemSettings: Record<string, string>;
}

/** Date, machine, versions and settings: the lines above the table. */
export function runDescription(run: RunDescription): string {
  return [
    `date: ${run.startedAt.toISOString()}`,
    `machine: ${cpuModel()}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
      `${os.type()} ${os.release()}`,
    `node: AgentMem, plain statements and bare graphql-yoga ${run.agentmemNode}, PostGraphile ${run.postgraphileNode}`,
    `PostGraphile ${run.postgraphileVersion} (Amber preset, production), PostgreSQL ${run.postgresVersion}, ` +
      `autocannon ${run.autocannonVersion}`,
    `load: ${run.connections} connections, ${run.warmupSeconds} s warm-up + ${run.durationSeconds} s measured ` +
      `per turn, ` +
      `${run.rounds} round${run.rounds === 1 ? '' : 's'} with the servers taking turns; medians over the rounds`,
    ...(Object.keys(run.agentmemSettings).length > 0
      ? [
          `AgentMem settings: ${Object.entries(run.agentmemSettings)
            .map(([name, value]) => `${name}=${value}`)
            .join(' ')}`,
        ]
      : []),
  ].join('\n');
}
