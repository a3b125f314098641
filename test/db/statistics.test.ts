import { startTestApp } from '../support/test-app';
import { testDatabaseKind } from '../support/test-databases';

// A PostgreSQL server has autovacuum for this: on it the test is reported as skipped, not passed.
const onPglite = testDatabaseKind() === 'pglite' ? it : it.skip;

describe('planner statistics of the embedded database', () => {
  onPglite('are gathered whenever it is opened, since PGlite runs no autovacuum', async () => {
    const app = await startTestApp('statistics');
    try {
      const tables = await app.database.owner.$queryRaw<Array<{ table: string; analyzed: boolean }>>`
        SELECT relname::text AS "table", last_analyze IS NOT NULL AS analyzed
        FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname <> '_prisma_migrations'`;
      expect(tables.length).toBeGreaterThanOrEqual(10);
      expect(tables.filter((table) => !table.analyzed)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
