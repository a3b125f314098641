import 'dotenv/config';
import { parseArgs } from 'node:util';
import { restore } from '../src/backup/commands';
import { describeDigests } from '../src/backup/report';
import { describeDatabase, loadSettings } from '../src/config/settings';

const usage = 'usage: npm run restore -- --in FILE [--force]   (--force replaces a database that is not empty)';

// `npm run restore`: a file of `npm run backup` into the configured database, which must be
// empty unless --force is given.
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { in: { type: 'string' }, force: { type: 'boolean', default: false } } });
  if (!values.in) throw new Error(usage);
  const settings = loadSettings();
  const tables = await restore(settings, { in: values.in, force: values.force });
  const counts = tables
    ? describeDigests(tables)
    : '(rows not counted: row-level security limits this login; a superuser or BYPASSRLS role sees them)';
  process.stdout.write(`${values.in} restored into ${describeDatabase(settings.database)}\n${counts}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`agentmem: cannot restore: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
