import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { testDatabaseKind } from '../support/test-databases';

const projectRoot = path.resolve(__dirname, '..', '..');

// `migrate diff --from-migrations` replays the migrations into a shadow database, which needs a
// PostgreSQL server: on the embedded database this test is reported as skipped, not passed.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

describe('migrations versus schema.prisma', () => {
  onPostgres('leave nothing for Prisma to change (the expression index included)', async () => {
    const cli = require.resolve('prisma/build/index.js');
    const run = promisify(execFile)(
      process.execPath,
      [cli, 'migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema-datamodel', 'prisma/schema.prisma', '--script', '--exit-code'],
      { cwd: projectRoot, env: { ...process.env, CHECKPOINT_DISABLE: '1' }, encoding: 'utf8' },
    );
    // Exit code 2 would mean a difference; the script would show it.
    const { stdout } = await run;
    expect(stdout.trim()).toBe('-- This is an empty migration.');
  });
});
