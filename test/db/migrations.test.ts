import { type Database, openDatabase } from '../../src/db/database';
import { readCatalog } from '../support/catalog';
import { createEmptyDatabase } from '../support/test-databases';

describe('prisma migrate deploy', () => {
  let empty: Awaited<ReturnType<typeof createEmptyDatabase>>;
  let database: Database;

  beforeAll(async () => {
    empty = await createEmptyDatabase('migrations');
    database = await openDatabase(empty.settings);
  });
  afterAll(async () => {
    await database?.close();
    await empty?.drop();
  });

  const appliedMigrations = () =>
    database.owner.$queryRawUnsafe<Array<{ migration_name: string; finished: boolean }>>(
      'SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY migration_name',
    );

  it('creates the whole schema on an empty database, then re-running it changes nothing', async () => {
    expect((await readCatalog(database.owner)).size).toBe(0);

    await database.migrate();
    const first = await readCatalog(database.owner);
    const applied = await appliedMigrations();
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.every((migration) => migration.finished)).toBe(true);
    const tables = [...first.values()].filter((entry) => entry.kind === 'table').map((entry) => entry.name);
    expect(tables.sort()).toEqual(
      [
        'agents',
        'api_keys',
        'block_history',
        'blocks',
        'blocks_agents',
        'embedding_jobs',
        'idempotency_keys',
        'memories',
        'memory_history',
        'messages',
        'organizations',
        'tools',
        'tools_agents',
        'users',
      ].sort(),
    );

    await database.migrate();
    expect(await appliedMigrations()).toEqual(applied);
    expect(await readCatalog(database.owner)).toEqual(first);
  });
});
