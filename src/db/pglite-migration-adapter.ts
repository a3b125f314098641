import { messages, PGlite } from '@electric-sql/pglite';
import {
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { EXTENSIONS } from './pglite';

/**
 * The schema engine's database when the CLI has no DATABASE_URL (the embedded database's
 * convention): one in-memory PGlite, for both the engine's connection and the shadow database that
 * `migrate diff --from-migrations` replays the migrations into. Commands that change a real
 * database (`migrate deploy`) need a URL; the embedded database is migrated by the process that
 * holds it (src/db/migrate.ts).
 *
 * It differs from pglite-prisma-adapter's own factory in two things: the shadow database has the
 * contrib extensions the migrations create, and a script's failure reaches the engine (0.7.2 does
 * not wait for `exec`, so a failing migration would go unnoticed).
 */
export class InMemoryPgliteMigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = 'pglite-prisma-adapter';
  // Creating it runs initdb, some 15 s: once, and only when the engine connects.
  private pglite: Promise<PGlite> | undefined;

  private async adapter(): Promise<SqlDriverAdapter> {
    this.pglite ??= PGlite.create({ extensions: EXTENSIONS });
    const pglite = await this.pglite;
    const adapter = await new PrismaPGlite(pglite).connect();
    adapter.executeScript = async (script) => {
      try {
        await pglite.exec(script);
      } catch (error) {
        if (!(error instanceof messages.DatabaseError)) throw error;
        throw new DriverAdapterError({
          kind: 'postgres',
          code: error.code ?? 'XX000',
          severity: error.severity ?? 'ERROR',
          message: error.message,
          detail: error.detail,
          column: error.column,
          hint: error.hint,
        });
      }
    };
    return adapter;
  }

  connect(): Promise<SqlDriverAdapter> {
    return this.adapter();
  }

  connectToShadowDb(): Promise<SqlDriverAdapter> {
    return this.adapter();
  }
}
