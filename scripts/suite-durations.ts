/**
 * Writes each suite's wall time from a jest `--json` results file into
 * test/support/suite-durations.json, which the test sequencer (test/support/sequencer.cjs) reads
 * to start the longest suites first. Usage, after a whole run on one database:
 *   npm run test:durations -- postgres results.json
 *   npm run test:durations -- pglite results.json
 * Only that database's table is replaced. Times are rounded to 100 ms: the order is what matters.
 */
import fs from 'node:fs';
import path from 'node:path';

const projectRoot = path.resolve(__dirname, '..');
const table = path.join(projectRoot, 'test', 'support', 'suite-durations.json');

interface JestResults {
  testResults: Array<{ name: string; startTime: number; endTime: number }>;
}

const [kind, resultsFile] = process.argv.slice(2);
if ((kind !== 'postgres' && kind !== 'pglite') || !resultsFile) {
  console.error('usage: npm run test:durations -- <postgres|pglite> <jest --json results file>');
  process.exit(2);
}

const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as JestResults;
const durations: Record<string, number> = {};
for (const suite of [...results.testResults].sort((a, b) => a.name.localeCompare(b.name))) {
  const file = path.relative(projectRoot, suite.name).split(path.sep).join('/');
  durations[file] = Math.round((suite.endTime - suite.startTime) / 100) * 100;
}
const current = fs.existsSync(table)
  ? (JSON.parse(fs.readFileSync(table, 'utf8')) as Record<string, Record<string, number>>)
  : {};
fs.writeFileSync(table, `${JSON.stringify({ ...current, [kind]: durations }, null, 2)}\n`);
console.log(
  `${Object.keys(durations).length} suites' times on ${kind} written to ${path.relative(projectRoot, table)}`,
);
