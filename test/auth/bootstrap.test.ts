import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { hashApiKey } from '../../src/auth/keys';
import { openDatabase } from '../../src/db/database';

// `npm run bootstrap` on a new embedded database, whichever database the run tests: the command
// is the same on PostgreSQL. In a file of its own so that CI runs it once (.ci/run's
// database-independent suites), not again in the PostgreSQL half.
describe('npm run bootstrap', () => {
  it('creates an organization, its admin and a working key on the configured database', async () => {
    const projectRoot = path.resolve(__dirname, '..', '..');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agentmem-bootstrap-'));
    const dataDir = path.join(root, 'pglite');
    // The embedded database always: the command is the same on PostgreSQL, only slower to set up here.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PGLITE_DATA_DIR: dataDir };
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [require.resolve('tsx/cli'), 'scripts/bootstrap.ts', '--organization', 'Acme', '--user', 'Ada'],
        {
          cwd: projectRoot,
          env,
          encoding: 'utf8',
        },
      );
      const key = /API key \(shown once, keep it safe\): (amk_\S+)/.exec(stdout)?.[1];
      expect(key).toBeDefined();
      const database = await openDatabase({ kind: 'pglite', dataDir });
      try {
        const row = await database.owner.apiKey.findUniqueOrThrow({
          where: { keyHash: hashApiKey(key!) },
          include: { user: true, organization: true },
        });
        expect(row).toMatchObject({
          scopes: ['read', 'write', 'admin'],
          user: { name: 'Ada' },
          organization: { name: 'Acme' },
        });
      } finally {
        await database.close();
      }
      const refused = await promisify(execFile)(
        process.execPath,
        [require.resolve('tsx/cli'), 'scripts/bootstrap.ts'],
        { cwd: projectRoot, env },
      ).catch((error: { code: number; stderr: string }) => error);
      expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/^agentmem: cannot bootstrap: usage: /) });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
