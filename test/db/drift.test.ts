import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const projectRoot = path.resolve(__dirname, '..', '..');

// `migrate diff --from-migrations` replays the migrations into a shadow database: a temporary
// database on the PostgreSQL server of DATABASE_URL, or, without one, an in-memory PGlite
// (src/db/pglite-migration-adapter.ts).
describe('migrations versus schema.prisma', () => {
  it('leave nothing for Prisma to change (the expression index included)', async () => {
    const cli = require.resolve('prisma/build/index.js');
    const run = promisify(execFile)(
      process.execPath,
      [
        cli,
        'migrate',
        'diff',
        '--from-migrations',
        'prisma/migrations',
        '--to-schema',
        'prisma/schema.prisma',
        '--script',
        '--exit-code',
      ],
      { cwd: projectRoot, env: { ...process.env, CHECKPOINT_DISABLE: '1' }, encoding: 'utf8' },
    );
    // Exit code 2 would mean a difference; the script would show it.
    const { stdout } = await run;
    expect(stdout.trim()).toBe('-- This is an empty migration.');
  });
});
