import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopTestPgBouncer } from './pgbouncer';
import { dropPostgresDatabase, TEMPLATE_ENV, testDatabaseKind } from './test-databases';

export default async function globalTeardown(): Promise<void> {
  await stopTestPgBouncer();
  const template = process.env[TEMPLATE_ENV];
  if (!template) return;
  if (testDatabaseKind() === 'postgres') await dropPostgresDatabase(template);
  else fs.rmSync(path.dirname(template), { recursive: true, force: true });
  fs.rmSync(path.join(os.tmpdir(), `agentmem-test-template-${process.pid}`), { force: true });
}
