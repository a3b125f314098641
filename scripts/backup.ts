import 'dotenv/config';
import { parseArgs } from 'node:util';
import { backup } from '../src/backup/commands';
import { describeDigests, describeRowCounts } from '../src/backup/report';
import { describeDatabase, loadSettings } from '../src/config/settings';

const usage = 'usage: npm run backup -- --out FILE [--organization ID] [--force]';

// `npm run backup`: the configured database into FILE (docs/operations.md, "Backup, restore and moving to
// PostgreSQL"); with --organization, only that organization's rows, as JSON lines.
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, organization: { type: 'string' }, force: { type: 'boolean', default: false } },
  });
  if (!values.out) throw new Error(usage);
  const settings = loadSettings();
  const outcome = await backup(settings, { out: values.out, force: values.force, organizationId: values.organization });
  const from = describeDatabase(settings.database);
  if (outcome.kind === 'organization') {
    process.stdout.write(
      `organization ${values.organization} of ${from} exported to ${values.out}\n${describeRowCounts(outcome.rows)}\n`,
    );
  } else {
    process.stdout.write(
      `${from} backed up to ${values.out}\n${outcome.tables ? `${describeDigests(outcome.tables)}\n` : ''}`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`agentmem: cannot back up: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
