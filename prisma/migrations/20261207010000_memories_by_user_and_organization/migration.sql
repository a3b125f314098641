-- A user's memories carry their organization in the index that finds them (issue 22). With
-- `user_id` alone, PostgreSQL checked the organization condition of a read by user (the root
-- `memories` with `filter: { userId }`, mem0's commonest read) by ANDing a bitmap of every
-- memory of the organization, taken from the trigram index: 10,000 entries read to narrow one
-- user's 1,000, a quarter of the statement's time on the bench's data (pgbench, as the
-- application role: about 4.0 ms against 3.0 ms). With the column in
-- the index, the condition is met there. The index still serves the cascade from users, as
-- before, and replaces its predecessor so that writes update as many indexes as before.

DROP INDEX "idx_memories_user_id";
CREATE INDEX "idx_memories_user_id" ON "memories"("user_id", "organization_id");
