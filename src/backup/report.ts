import type { MovedTable } from './move';
import type { TableDigest } from './table-catalog';

/** Columns padded to their widest cell: what the commands print. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, index) => Math.max(cell.length, ...rows.map((row) => row[index]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function describeDigests(digests: TableDigest[]): string {
  return table(
    ['table', 'rows', 'checksum'],
    digests.map((digest) => [digest.table, String(digest.rows), digest.checksum]),
  );
}

export function describeMove(moved: MovedTable[]): string {
  return table(
    ['table', 'rows (embedded)', 'rows (PostgreSQL)', 'checksum (embedded)', 'checksum (PostgreSQL)', ''],
    moved.map((entry) => [
      entry.table,
      String(entry.source.rows),
      String(entry.target.rows),
      entry.source.checksum,
      entry.target.checksum,
      entry.source.rows === entry.target.rows && entry.source.checksum === entry.target.checksum ? 'same' : 'DIFFERENT',
    ]),
  );
}

export function describeRowCounts(counts: Record<string, number>): string {
  return table(
    ['table', 'rows'],
    Object.entries(counts).map(([name, rows]) => [name, String(rows)]),
  );
}
