/**
 * Fails on any line of code longer than 120 characters (`npm run lint`). Biome's formatter breaks
 * code at that width but leaves a long string, template or comment as it is: this finds those.
 * Usage: tsx scripts/check-line-length.ts [--max=120]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const DEFAULT_MAX = 120;
const CHECKED_DIRECTORIES = ['src/', 'scripts/', 'test/', 'ui/'];
const CHECKED_EXTENSIONS = /\.(ts|tsx|mts|cts|js|mjs|cjs|css|html)$/;
// Written by `npm run generate` and `npm run codegen` (and ignored by git besides).
const GENERATED = ['src/generated/', 'test/generated/', 'ui/src/gql/', 'ui/dist/'];

interface LongLine {
  file: string;
  line: number;
  length: number;
}

/** Tracked files and new ones not ignored by git: what a commit would hold. */
function checkedFiles(): string[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...CHECKED_DIRECTORIES],
    {
      encoding: 'utf8',
    },
  );
  return listed
    .split('\n')
    .filter((file) => CHECKED_EXTENSIONS.test(file) && !GENERATED.some((directory) => file.startsWith(directory)))
    .filter((file) => fs.existsSync(file));
}

function longLinesOf(file: string, max: number): LongLine[] {
  const found: LongLine[] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const [index, text] of lines.entries()) {
    // Characters as an editor counts them (code points), not UTF-16 units.
    const length = [...text.replace(/\r$/, '')].length;
    if (length > max) found.push({ file, line: index + 1, length });
  }
  return found;
}

function main(): void {
  const option = process.argv.slice(2).find((argument) => argument.startsWith('--max='));
  const max = option ? Number(option.slice('--max='.length)) : DEFAULT_MAX;
  if (!Number.isInteger(max) || max < 1) throw new Error(`--max must be a positive whole number, not ${option}`);
  const found = checkedFiles().flatMap((file) => longLinesOf(file, max));
  for (const { file, line, length } of found) process.stdout.write(`${file}:${line}: ${length} characters\n`);
  if (found.length > 0) {
    const files = new Set(found.map(({ file }) => file)).size;
    process.stdout.write(`${found.length} lines in ${files} files are longer than ${max} characters.\n`);
    process.exitCode = 1;
  }
}

main();
