import 'dotenv/config';
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { loadSettings } from './src/config/settings';
import { PostgresMigrationAdapterFactory } from './src/db/postgres';

const settings = loadSettings();

// Prisma 6.19 reads env("DATABASE_URL") from schema.prisma even though the JavaScript schema
// engine talks through the adapter below, and falls back to downloading a native engine when
// that is not a postgres URL. Commands that need no database (generate, validate, diff from
// files) must work without one, so they get a placeholder that is never connected to.
if (settings.database.kind === 'pglite') {
  process.env.DATABASE_URL = 'postgresql://placeholder@localhost/unused';
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  adapter: async () => {
    if (settings.database.kind !== 'postgres') {
      throw new Error(
        'the Prisma CLI needs DATABASE_URL; the embedded database is migrated by `npm run db:migrate` (and by `npm start`)',
      );
    }
    return new PostgresMigrationAdapterFactory(settings.database);
  },
});
