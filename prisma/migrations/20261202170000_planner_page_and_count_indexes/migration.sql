-- Indexes for what the read planner asks most (issue 22), each partial on live rows, as every
-- planned read of these tables is:
--
-- - the first page of `agents` and of `blocks`, in their default order (created_at, id) within the
--   organization: an index scan that stops after the page, where a whole organization was read
--   and sorted for 50 rows (blocks also by is_template, which the list always compares);
-- - `Agent.messageCount`, `Agent.memoryCount` and a conversation's `totalCount`: counted from the
--   index alone (agent_id, with organization_id included for the planner's own tenancy
--   condition), where each counted row was read from the table.
--
-- Prisma cannot express a partial index: like the full-text index, these live here only, and
-- `prisma migrate diff` leaves them alone (test/db/drift.test.ts).

CREATE INDEX "idx_agents_organization_id_created_at_live" ON "agents" ("organization_id", "created_at", "id") WHERE NOT "is_deleted";

CREATE INDEX "idx_blocks_organization_id_created_at_live" ON "blocks" ("organization_id", "is_template", "created_at", "id") WHERE NOT "is_deleted";

CREATE INDEX "idx_messages_agent_id_live" ON "messages" ("agent_id") INCLUDE ("organization_id") WHERE NOT "is_deleted";

CREATE INDEX "idx_memories_agent_id_live" ON "memories" ("agent_id") INCLUDE ("organization_id") WHERE NOT "is_deleted";
