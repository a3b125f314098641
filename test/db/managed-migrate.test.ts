import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { migrateDeploy } from '../../src/db/migrate';
import { testDatabaseKind, urlFor, withAdminClient } from '../support/test-databases';

// A managed PostgreSQL (RDS, Cloud SQL, Azure) gives no superuser: an administrator creates the
// extensions that are not trusted (vector) once, and a login that owns the database, with
// CREATEROLE but no superuser, runs the migrations. This is that, on a throwaway login and
// database of the test server; PGlite has one superuser only, so it runs on PostgreSQL only.
const onPostgres = testDatabaseKind() === 'postgres' ? it : it.skip;

describe('prisma migrate deploy by a login that is not a superuser (managed PostgreSQL)', () => {
  onPostgres(
    'applies every migration where an administrator created the extensions, semantic recall included',
    async () => {
      const suffix = randomBytes(5).toString('hex');
      const login = `agentmem_migrator_${suffix}`;
      const database = `agentmem_test_managed_${suffix}`;
      await withAdminClient(async (admin) => {
        // CREATEROLE, as the administrator logins of RDS (rds_superuser), Cloud SQL
        // (cloudsqlsuperuser) and Azure (azure_pg_admin) have it; no superuser, no BYPASSRLS.
        await admin.query(`CREATE ROLE ${login} LOGIN NOSUPERUSER CREATEROLE NOCREATEDB NOBYPASSRLS`);
        await admin.query(`CREATE DATABASE ${database} OWNER ${login}`);
      });
      const asAdmin = new pg.Client({ connectionString: urlFor(database) });
      await asAdmin.connect();
      const url = new URL(urlFor(database));
      url.username = login;
      const asLogin = new pg.Client({ connectionString: url.toString() });
      try {
        await asAdmin.query('CREATE EXTENSION vector; CREATE EXTENSION pg_trgm; CREATE EXTENSION btree_gin');
        await migrateDeploy(url.toString());
        await asLogin.connect();
        const role = await asLogin.query<{ superuser: boolean; bypass: boolean }>(
          'SELECT rolsuper AS superuser, rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user',
        );
        expect(role.rows).toEqual([{ superuser: false, bypass: false }]);
        const migrations = fs
          .readdirSync(path.join(__dirname, '../../prisma/migrations'))
          .filter((name) => /^\d{14}_/.test(name));
        const applied = await asLogin.query<{ name: string }>(
          'SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1',
        );
        expect(applied.rows.map((row) => row.name)).toEqual(migrations.sort());
        // Semantic recall is on: the column and the view (organizations' HNSW indexes come later,
        // src/memories/vector-indexes.ts), and no index shared by all organizations.
        const reason = await asLogin.query<{ reason: string | null }>(
          'SELECT agentmem_enable_semantic_recall(3) AS reason',
        );
        expect(reason.rows[0]!.reason).toBeNull();
        const objects = await asLogin.query<{ name: string }>(
          `SELECT indexname AS name FROM pg_indexes
           WHERE indexname IN ('idx_memories_embedding_hnsw_3', 'idx_memories_organization_id_content_trgm')
           UNION ALL SELECT 'view' FROM pg_views WHERE viewname = 'live_memory_vectors_in_scope'
           ORDER BY 1`,
        );
        expect(objects.rows.map((row) => row.name)).toEqual(['idx_memories_organization_id_content_trgm', 'view']);
      } finally {
        await asLogin.end().catch(() => undefined);
        await asAdmin.end();
        await withAdminClient(async (admin) => {
          await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
          await admin.query(`DROP ROLE IF EXISTS ${login}`);
        });
      }
    },
    300_000,
  );
});
