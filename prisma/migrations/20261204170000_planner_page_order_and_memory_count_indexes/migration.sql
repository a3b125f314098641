-- Two of the read planner's indexes (20261202170000_planner_page_and_count_indexes) widened, so
-- that the commonest pages and counts read the index alone and stop early (issue 22):
--
-- - a conversation's page is ordered by (created_at, seq): with those columns in the live-messages
--   index, the first 50 messages of an agent are read in order and the scan stops after the
--   page's extra row, where every live message of the agent was read and sorted. The count of a
--   conversation (`Agent.messageCount`, `totalCount`) still reads this index alone, by agent_id.
-- - `Agent.memoryCount` counts the memories that are live, unexpired and valid now
--   (src/memories/validity.ts): with expires_at, valid_from and valid_until included, those
--   conditions are checked in the index, where each counted memory was read from the table.
--
-- Each replaces its predecessor rather than adding to it, so that a write updates as many indexes as
-- before. Partial indexes live here only, as the earlier ones (test/db/drift.test.ts).

DROP INDEX "idx_messages_agent_id_live";
CREATE INDEX "idx_messages_agent_id_live" ON "messages" ("agent_id", "created_at", "seq") INCLUDE ("organization_id")
  WHERE NOT "is_deleted";

DROP INDEX "idx_memories_agent_id_live";
CREATE INDEX "idx_memories_agent_id_live" ON "memories" ("agent_id")
  INCLUDE ("organization_id", "expires_at", "valid_from", "valid_until") WHERE NOT "is_deleted";
