import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/database';
import { PGBOUNCER_ENV, startPgBouncer, testPoolerWanted } from './pgbouncer';
import { createEmptyDatabase, TEMPLATE_ENV, testDatabaseKind } from './test-databases';

/** Migrates one template database per run; each test file works on a copy of it. */
export default async function globalSetup(): Promise<void> {
  const empty = await createEmptyDatabase('template');
  const database = await openDatabase(empty.settings);
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
  const location =
    empty.settings.kind === 'postgres' ? new URL(empty.settings.url).pathname.slice(1) : empty.settings.dataDir;
  process.env[TEMPLATE_ENV] = location;
  if (empty.settings.kind === 'postgres' && testPoolerWanted()) {
    const pgbouncer = await startPgBouncer(empty.settings.url);
    process.env[PGBOUNCER_ENV] = `${pgbouncer.port} ${pgbouncer.pid} ${pgbouncer.directory}`;
  }
  // Teardown runs in this process too, but write it down in case a run is interrupted.
  fs.writeFileSync(
    path.join(os.tmpdir(), `agentmem-test-template-${process.pid}`),
    `${testDatabaseKind()} ${location}\n`,
  );
}
