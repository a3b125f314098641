-- Row-level security: tenancy enforced by PostgreSQL itself, beneath the API's own filters.
--
-- The application runs every statement inside a transaction that first switches to the role
-- agentmem_app and sets app.organization_id to the caller's organization (src/db/row-level-security.ts).
-- agentmem_app owns nothing, so the policies below always apply to it, and FORCE makes them
-- apply to the tables' owner as well (superusers and BYPASSRLS roles are the only exceptions).
-- With no organization set, current_setting() is empty or NULL and every policy matches nothing.

-- Roles belong to the whole server, so another database of the same server may have made it.
DO $$
BEGIN
    CREATE ROLE agentmem_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- The login that migrates is the login that serves: it must be allowed to switch to the role.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'agentmem_app', 'MEMBER') THEN
        EXECUTE format('GRANT agentmem_app TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO agentmem_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    "organizations", "users", "agents", "messages", "blocks", "tools", "memories",
    "blocks_agents", "tools_agents", "api_keys"
TO agentmem_app;

ALTER TABLE "organizations" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "organizations" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "organizations"
    USING ("id" = (SELECT current_setting('app.organization_id', true)));

ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "users"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)));

ALTER TABLE "agents" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "agents" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "agents"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)));

ALTER TABLE "tools" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tools" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "tools"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)));

-- Foreign keys are checked without row-level security, so a row could name another
-- organization's user or agent: the WITH CHECK clauses refuse that too. The subqueries are
-- themselves filtered by the policies of the tables they read.
ALTER TABLE "blocks" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "blocks" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "blocks"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "users" WHERE "users"."id" = "blocks"."user_id")
    );

ALTER TABLE "messages" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "messages" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "messages"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "users" WHERE "users"."id" = "messages"."user_id")
        AND EXISTS (SELECT 1 FROM "agents" WHERE "agents"."id" = "messages"."agent_id")
    );

ALTER TABLE "memories" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "memories" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "memories"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "users" WHERE "users"."id" = "memories"."user_id")
        AND EXISTS (SELECT 1 FROM "agents" WHERE "agents"."id" = "memories"."agent_id")
    );

ALTER TABLE "api_keys" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "api_keys" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "api_keys"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "users" WHERE "users"."id" = "api_keys"."user_id")
    );
-- Authentication happens before the organization is known: it may read the one key whose
-- hash the request presented, and nothing else.
CREATE POLICY "presented_key" ON "api_keys" FOR SELECT
    USING ("key_hash" = (SELECT current_setting('app.api_key_hash', true)));

-- The junctions have no organization of their own: a row is visible with its agent, and may
-- only join an agent and a block or tool that are both visible.
ALTER TABLE "blocks_agents" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "blocks_agents" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "blocks_agents"
    USING (EXISTS (SELECT 1 FROM "agents" WHERE "agents"."id" = "blocks_agents"."agent_id"))
    WITH CHECK (
        EXISTS (SELECT 1 FROM "agents" WHERE "agents"."id" = "blocks_agents"."agent_id")
        AND EXISTS (SELECT 1 FROM "blocks" WHERE "blocks"."id" = "blocks_agents"."block_id")
    );

ALTER TABLE "tools_agents" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tools_agents" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "tools_agents"
    USING (EXISTS (SELECT 1 FROM "agents" WHERE "agents"."id" = "tools_agents"."agent_id"))
    WITH CHECK (
        EXISTS (SELECT 1 FROM "agents" WHERE "agents"."id" = "tools_agents"."agent_id")
        AND EXISTS (SELECT 1 FROM "tools" WHERE "tools"."id" = "tools_agents"."tool_id")
    );
