-- Memory search through the GIN index idx_memories_content_fts, under row-level security.
--
-- Beneath a policy, PostgreSQL evaluates the policy's condition before any condition that is not
-- leakproof, and `@@` (ts_match_vq) is not: searched as agentmem_app, memories cannot be read
-- through the GIN index, and to_tsvector is computed for every memory of the organization.
--
-- This view applies the policy's own condition itself, as an ordinary condition that the planner
-- may order freely, so that a search's `@@` becomes an index condition. It reads memories with
-- its owner's rights (it is not security_invoker), so:
-- - owned by a superuser or a BYPASSRLS role (the migrating login on PGlite, in CI, on most
--   self-hosted servers), the policies do not apply beneath it, and the search uses the index;
-- - owned by an ordinary login (managed PostgreSQL), FORCE ROW LEVEL SECURITY still applies the
--   policies of memories beneath it: the same rows, read without the index.
-- The server says at start-up which of the two it has (src/memories/search-index.ts).
--
-- Why this holds the tenancy:
-- - it shows the rows the policy would (the scope's organization; none without a scope), and
--   of those only the live ones, with the columns a search needs;
-- - agentmem_app may only read it: written through, a view owned by a superuser would skip the
--   policies' WITH CHECK;
-- - no security_barrier, on purpose (it would evaluate the view's condition first again). So a
--   query on the view may evaluate its own conditions on other organizations' rows before the
--   organization is checked: the application's statement (src/memories/search.ts) has only
--   built-in operators there, with bound values, and a row reaches its result, its ranking or
--   its ordering only after the organization is checked. (A session that could send SQL of its
--   own as agentmem_app could set app.organization_id anyway: the view gives it nothing more.)
CREATE VIEW "live_memories_in_scope" AS
    SELECT "id", "organization_id", "user_id", "agent_id", "content", "memory_type", "scope", "level", "created_at"
    FROM "memories"
    WHERE "organization_id" = (SELECT current_setting('app.organization_id', true))
      AND NOT "is_deleted";

GRANT SELECT ON "live_memories_in_scope" TO agentmem_app;
