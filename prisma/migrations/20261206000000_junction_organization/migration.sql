-- The junctions carry their organization (issue 22). Their row-level security policies checked
-- each row's agent with a subquery, since `blocks_agents` and `tools_agents` had no organization
-- of their own: on the bench's data that cost the lists of agents with their blocks and tools
-- 25-30% of their SQL time. With the column, a junction's policy is the one-time comparison every
-- other table has, and the agent, block and tool are still checked where a row is written.
--
-- Every write names the organization, as it does on every other table; the policy refuses any
-- but the scope's, and an agent, block or tool outside the scope.

ALTER TABLE "blocks_agents" ADD COLUMN "organization_id" VARCHAR(255);
UPDATE "blocks_agents" SET "organization_id" = "agents"."organization_id"
    FROM "agents" WHERE "agents"."id" = "blocks_agents"."agent_id";
ALTER TABLE "blocks_agents" ALTER COLUMN "organization_id" SET NOT NULL;
ALTER TABLE "blocks_agents" ADD CONSTRAINT "blocks_agents_organization_id_fkey"
    FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

ALTER TABLE "tools_agents" ADD COLUMN "organization_id" VARCHAR(255);
UPDATE "tools_agents" SET "organization_id" = "agents"."organization_id"
    FROM "agents" WHERE "agents"."id" = "tools_agents"."agent_id";
ALTER TABLE "tools_agents" ALTER COLUMN "organization_id" SET NOT NULL;
ALTER TABLE "tools_agents" ADD CONSTRAINT "tools_agents_organization_id_fkey"
    FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

DROP POLICY "tenant_isolation" ON "blocks_agents";
CREATE POLICY "tenant_isolation" ON "blocks_agents"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "agents" WHERE "agents"."id" = "blocks_agents"."agent_id")
        AND EXISTS (SELECT 1 FROM "blocks" WHERE "blocks"."id" = "blocks_agents"."block_id")
    );

DROP POLICY "tenant_isolation" ON "tools_agents";
CREATE POLICY "tenant_isolation" ON "tools_agents"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "agents" WHERE "agents"."id" = "tools_agents"."agent_id")
        AND EXISTS (SELECT 1 FROM "tools" WHERE "tools"."id" = "tools_agents"."tool_id")
    );
