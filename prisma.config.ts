import 'dotenv/config';
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { loadSettings } from './src/config/settings';

const settings = loadSettings();

// The schema engine is the WebAssembly build (@prisma/schema-engine-wasm) run by Node
// (src/db/schema-engine.ts), never a native binary: Prisma would download that from its CDN.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(__dirname, 'scripts', 'schema-engine');

export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  // The embedded database has no URL: it is migrated by the process that holds it (src/db/migrate.ts).
  ...(settings.database.kind === 'postgres' && { datasource: { url: settings.database.url } }),
});
