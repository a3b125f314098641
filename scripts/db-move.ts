import 'dotenv/config';
import { parseArgs } from 'node:util';
import { moveToPostgres } from '../src/backup/move';
import { describeMove } from '../src/backup/report';
import { describeDatabase, loadSettings } from '../src/config/settings';

const usage = 'usage: npm run db:move -- --to postgresql://user:password@host:5432/database';

// `npm run db:move`: the embedded database (PGLITE_DATA_DIR) into a new PostgreSQL database,
// in one transaction, checked table by table; then set DATABASE_URL to it.
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { to: { type: 'string' } } });
  if (!values.to) throw new Error(usage);
  const settings = loadSettings();
  if (settings.database.kind !== 'pglite') {
    throw new Error(
      'db:move copies the embedded database: unset DATABASE_URL (PGLITE_DATA_DIR names the source) ' +
        'and give the target with --to',
    );
  }
  const target = loadSettings({ ...process.env, DATABASE_URL: values.to }).database;
  if (target.kind !== 'postgres') throw new Error(usage);
  const moved = await moveToPostgres(settings.database.dataDir, target, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(
    `${describeDatabase(settings.database)} moved to ` +
      `${describeDatabase(target).replace(' (DATABASE_URL)', '')}\n${describeMove(moved)}\n` +
      'every table matches; set DATABASE_URL to the target to serve from it\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`agentmem: cannot move: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
