-- Memory search reads only the caller's organization's entries of the full-text index.
--
-- idx_memories_content_fts indexed the words of every organization together: a search's bitmap
-- scan returned the row pointers of every memory of every organization that holds the word, and
-- the organization was checked only afterwards, on each row. So a search's time grew with how
-- much other organizations wrote about its words (issue 21, item 7: 1.4-2.6x slower for a word
-- 50,000 of another organization's memories held).
--
-- This index leads with organization_id (an ordinary equality, whose GIN operator class
-- btree_gin provides), so the scan intersects the caller's organization with the word inside the
-- index and returns only the caller's matches; the search statement already says
-- `organization_id = <the caller's>` (src/memories/search.ts). A multicolumn GIN index serves a
-- condition on any of its columns, so it serves everything idx_memories_content_fts did, which
-- is dropped: kept, the planner could still choose it, and every write would maintain both.
--
-- fastupdate = off: with it on (GIN's default), new entries wait in a pending list, unsorted,
-- that every search reads whole until VACUUM (or 4 MB of them) merges it into the index; those
-- are every organization's recent writes, the same leak again, and on PGlite, which runs no
-- autovacuum, a slow one. Off, each insert updates the index itself: a little more per write.
--
-- Privileges: btree_gin is a trusted extension (PostgreSQL 13 and later), so the migrating login
-- needs no superuser, only CREATE on the database (its owner has it); managed services (RDS,
-- Cloud SQL, Azure) offer it. PGlite opens every database with it (src/db/pglite.ts).
--
-- The expression is exactly the search's, `to_tsvector('english', content)`: schema.prisma
-- cannot describe an expression index, so Prisma neither creates nor reports it (npm run db:drift).
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE INDEX "idx_memories_organization_id_content_fts" ON "memories"
    USING GIN ("organization_id", to_tsvector('english', "content")) WITH (fastupdate = off);

DROP INDEX "idx_memories_content_fts";
