import 'dotenv/config';
import { describeDatabase, loadSettings } from '../src/config/settings';
import { openDatabase } from '../src/db/database';
import { prepareSemanticRecall } from '../src/memories/embeddings';

// `npm run db:migrate`: applies pending migrations to the configured database, PostgreSQL or
// embedded, through the same path the server takes at start.
async function main(): Promise<void> {
  const settings = loadSettings();
  const database = await openDatabase(settings.database);
  try {
    await database.migrate();
    process.stdout.write(`migrations applied to ${describeDatabase(settings.database)}\n`);
    // Not a migration: it also runs after pgvector is installed later, and makes the index of the
    // configured EMBEDDINGS_DIMENSIONS (src/memories/embeddings.ts).
    const semanticRecall = await prepareSemanticRecall(database.owner, settings.embeddings);
    process.stdout.write(
      semanticRecall.on ? 'semantic recall is on (pgvector)\n' : `semantic recall is off: ${semanticRecall.reason}\n`,
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`agentmem: cannot migrate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
