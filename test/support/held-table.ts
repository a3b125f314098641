import type { TestApp } from './test-app';

/**
 * Holds `table` (PostgreSQL: an ACCESS EXCLUSIVE lock; PGlite: its one session, held by an open
 * transaction) until the returned function is called: every statement reading it waits for as
 * long as the test wants, without a timing.
 */
export async function holdTable(app: TestApp, table: 'agents' | 'api_keys'): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const transaction = app.database.owner.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      locked();
      await released;
    },
    { timeout: 120_000, maxWait: 10_000 },
  );
  await Promise.race([isLocked, transaction]);
  return async () => {
    release();
    await transaction;
  };
}
