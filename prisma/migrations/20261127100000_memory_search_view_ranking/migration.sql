-- Ranked recall (issue 10): the search's view gains the columns that the score and the metadata
-- filter read, so that a search still reads only the view, through idx_memories_content_fts
-- (see 20261125100000_memory_search_view for why the view exists and how it holds the tenancy).
-- Only columns are appended: its rows, its condition, its owner and its one grant (SELECT to
-- agentmem_app) stay as they were.
CREATE OR REPLACE VIEW "live_memories_in_scope" AS
    SELECT "id", "organization_id", "user_id", "agent_id", "content", "memory_type", "scope", "level", "created_at",
           "metadata", "importance", "access_count", "last_accessed"
    FROM "memories"
    WHERE "organization_id" = (SELECT current_setting('app.organization_id', true))
      AND NOT "is_deleted";
