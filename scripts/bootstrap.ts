import 'dotenv/config';
import { parseArgs } from 'node:util';
import { bootstrapOrganization } from '../src/auth/bootstrap';
import { describeDatabase, loadSettings } from '../src/config/settings';
import { openDatabase } from '../src/db/database';

const usage = 'usage: npm run bootstrap -- --organization "Acme" --user "Ada Lovelace" [--key-name ci]';

// `npm run bootstrap`: a new organization, its first admin user and that user's API key, on
// the configured database (migrated first). The key is printed once; only its hash is kept.
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { organization: { type: 'string' }, user: { type: 'string' }, 'key-name': { type: 'string' } },
  });
  if (!values.organization?.trim() || !values.user?.trim()) throw new Error(usage);
  const settings = loadSettings();
  const database = await openDatabase(settings.database);
  try {
    await database.migrate();
    const created = await bootstrapOrganization(database.prisma, {
      organizationName: values.organization.trim(),
      userName: values.user.trim(),
      keyName: values['key-name'] ?? 'bootstrap',
    });
    process.stdout.write(
      [
        `organization ${created.organizationId} with admin ${created.userId} on ${describeDatabase(settings.database)}`,
        `API key (shown once, keep it safe): ${created.key}`,
        '',
      ].join('\n'),
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`agentmem: cannot bootstrap: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
