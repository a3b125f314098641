import fs from 'node:fs';
import path from 'node:path';

/**
 * A V8 CPU profile (`node --cpu-prof`) summarized by self time: where the server's busy time
 * went, by function and by the package or part of AgentMem the function belongs to. Idle time is
 * left out, so the shares are of busy time.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a function lives: a package, a folder of src/, Node itself, or V8 (GC, the program). */
function ownerOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'native';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1]!;
  const sourceMatch = /\/src\/([^/]+)/.exec(url);
  if (sourceMatch) return `src/${sourceMatch[1]}`;
  if (url.startsWith('node:')) return 'node';
  return path.basename(url);
}

interface ProfileSummary {
  busyMs: number;
  byFunction: Array<{ name: string; ms: number; share: number }>;
  byOwner: Array<{ name: string; ms: number; share: number }>;
}

function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (const [index, id] of samples.entries()) selfMs.set(id, (selfMs.get(id) ?? 0) + (deltas[index] ?? 0) / 1000);
  const functions = new Map<string, number>();
  const owners = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of selfMs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busyMs += ms;
    const owner = ownerOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${owner}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + ms);
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
  }
  const ranked = (totals: Map<string, number>) =>
    [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }));
  return { busyMs, byFunction: ranked(functions), byOwner: ranked(owners) };
}

/**
 * The largest profile in `directory` (the main thread's: tsx's module loader thread writes a
 * small one of its own), summarized as Markdown.
 */
export function profileReport(directory: string): string {
  const files = fs.existsSync(directory)
    ? fs.readdirSync(directory).filter((file) => file.endsWith('.cpuprofile'))
    : [];
  if (files.length === 0) return `no CPU profile was written to ${directory}\n`;
  const largest = files
    .map((file) => path.join(directory, file))
    .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
  const summary = summarizeProfile(JSON.parse(fs.readFileSync(largest, 'utf8')) as CpuProfile);
  const rows = (entries: ProfileSummary['byFunction']) =>
    entries
      .map(
        (entry) =>
          `| ${entry.name.replaceAll('|', '\\|')} | ${entry.ms.toFixed(0)} | ${(entry.share * 100).toFixed(1)}% |`,
      )
      .join('\n');
  return [
    `CPU profile of AgentMem: ${largest}`,
    `busy ${summary.busyMs.toFixed(0)} ms of the main thread (start-up, verification and warm-up included; ` +
      `the table's CPU ms per request is the measured part alone)`,
    '',
    '| where (self time) | ms | share of busy |',
    '| --- | --- | --- |',
    rows(summary.byOwner),
    '',
    '| function (self time) | ms | share of busy |',
    '| --- | --- | --- |',
    rows(summary.byFunction),
    '',
  ].join('\n');
}
