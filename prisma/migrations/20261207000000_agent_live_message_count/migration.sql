-- Agent.messageCount read from the agent's row (issue 22). Counted per request, an agent's live
-- messages were half of the SQL time of a list of agents with their counts (50 agents of about
-- 100 messages: 5,000 index entries per request, each passed through the row-level security
-- filter). The count is kept by the database itself, in one place: the triggers below, so that no
-- write path (appends, deletions, restores, purges, cascades, imports, bulk loads) can leave it
-- behind.
--
-- The triggers are per statement, over transition tables: an append of 100 messages, or a bulk
-- load of millions, updates each agent once. They run in the writer's role and scope: a message
-- and its agent share their organization, so the row-level security policy of `agents` lets the
-- update through wherever the write itself was allowed.
--
-- Copies between databases (`npm run db:move`, src/backup/move.ts) leave the column at 0 and let
-- these triggers rebuild it from the copied messages, then compare the whole copy with the
-- source. pg_restore creates triggers after it loads the data, so a restore keeps the dumped
-- counts.

ALTER TABLE "agents" ADD COLUMN "live_message_count" INTEGER NOT NULL DEFAULT 0;

UPDATE "agents" SET "live_message_count" = "counted"."messages"
    FROM (SELECT "agent_id", count(*)::INTEGER AS "messages" FROM "messages" WHERE NOT "is_deleted" GROUP BY "agent_id") AS "counted"
    WHERE "agents"."id" = "counted"."agent_id";

CREATE FUNCTION agentmem_count_live_messages() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE agents SET live_message_count = agents.live_message_count + changed.messages
            FROM (SELECT agent_id, count(*)::INTEGER AS messages FROM new_messages WHERE NOT is_deleted GROUP BY agent_id) AS changed
            WHERE agents.id = changed.agent_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE agents SET live_message_count = agents.live_message_count - changed.messages
            FROM (SELECT agent_id, count(*)::INTEGER AS messages FROM old_messages WHERE NOT is_deleted GROUP BY agent_id) AS changed
            WHERE agents.id = changed.agent_id;
    ELSE
        UPDATE agents SET live_message_count = agents.live_message_count + changed.messages
            FROM (
                SELECT agent_id, sum(messages)::INTEGER AS messages FROM (
                    SELECT agent_id, count(*) AS messages FROM new_messages WHERE NOT is_deleted GROUP BY agent_id
                    UNION ALL
                    SELECT agent_id, -count(*) FROM old_messages WHERE NOT is_deleted GROUP BY agent_id
                ) AS moves
                GROUP BY agent_id
                HAVING sum(messages) <> 0
            ) AS changed
            WHERE agents.id = changed.agent_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "messages_live_count_insert"
    AFTER INSERT ON "messages" REFERENCING NEW TABLE AS new_messages
    FOR EACH STATEMENT EXECUTE FUNCTION agentmem_count_live_messages();

CREATE TRIGGER "messages_live_count_update"
    AFTER UPDATE ON "messages" REFERENCING OLD TABLE AS old_messages NEW TABLE AS new_messages
    FOR EACH STATEMENT EXECUTE FUNCTION agentmem_count_live_messages();

CREATE TRIGGER "messages_live_count_delete"
    AFTER DELETE ON "messages" REFERENCING OLD TABLE AS old_messages
    FOR EACH STATEMENT EXECUTE FUNCTION agentmem_count_live_messages();

-- TRUNCATE has no transition table: every agent's count is 0 after it.
CREATE FUNCTION agentmem_count_no_messages() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agents SET live_message_count = 0 WHERE live_message_count <> 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "messages_live_count_truncate"
    AFTER TRUNCATE ON "messages"
    FOR EACH STATEMENT EXECUTE FUNCTION agentmem_count_no_messages();
