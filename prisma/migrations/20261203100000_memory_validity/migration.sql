-- Memories that change (issue 17): a fact holds for a period, one memory may replace another,
-- and a memory may expire.
--
-- - valid_from: when the fact became true. Existing rows: their creation. New rows: now(), or
--   what the client says.
-- - valid_until: when it stopped being true; null while it holds.
-- - superseded_by_id: the memory that replaced it (supersedeMemory, createMemory's supersedes).
-- - expires_at: a time to live. From then on no read returns the memory (each read compares it
--   with now(), no job needed); a periodic sweep later moves it to the trash
--   (src/memories/expiry.ts).
ALTER TABLE "memories"
    ADD COLUMN "valid_from" TIMESTAMPTZ,
    ADD COLUMN "valid_until" TIMESTAMPTZ,
    ADD COLUMN "superseded_by_id" VARCHAR(255),
    ADD COLUMN "expires_at" TIMESTAMPTZ;

UPDATE "memories" SET "valid_from" = "created_at";

ALTER TABLE "memories" ALTER COLUMN "valid_from" SET DEFAULT now(), ALTER COLUMN "valid_from" SET NOT NULL;

-- The successor is a memory. Purging it leaves the fact it replaced ended, with no successor.
-- (A move between databases copies the column after every row of the table: src/backup/move.ts.)
ALTER TABLE "memories" ADD CONSTRAINT "memories_superseded_by_id_fkey" FOREIGN KEY ("superseded_by_id") REFERENCES "memories"("id") ON DELETE SET NULL ON UPDATE NO ACTION;

-- The coherence of the columns, checked by a trigger on every row that ends or names a successor
-- (a CHECK constraint would do for the first rule, but Prisma's WASM schema engine panics
-- describing a table that has one, and a constraint trigger, also in pg_constraint, makes
-- `prisma migrate diff` print nothing at all):
-- - a period never ends before it starts (valid_until >= valid_from);
-- - the successor is a memory of the same organization: read with the writer's rights, under
--   row-level security, another organization's memory is not found, as if it did not exist;
-- - no cycle: the walk along the chain from the successor must not come back to the row. The
--   mutations cannot make one (a successor is always a memory created in the same transaction);
--   this holds the line for everything else (imports, SQL).
CREATE FUNCTION agentmem_check_supersession() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    successor_organization TEXT;
    next_id TEXT;
    steps INTEGER := 0;
BEGIN
    IF NEW.valid_until IS NOT NULL AND NEW.valid_until < NEW.valid_from THEN
        RAISE EXCEPTION 'memory % would stop being valid (%) before it became valid (%)', NEW.id, NEW.valid_until, NEW.valid_from
            USING ERRCODE = 'check_violation', CONSTRAINT = 'memories_valid_period';
    END IF;
    IF NEW.superseded_by_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT organization_id INTO successor_organization FROM memories WHERE id = NEW.superseded_by_id;
    IF successor_organization IS DISTINCT FROM NEW.organization_id THEN
        RAISE EXCEPTION 'memory % is superseded by %, which is not a memory of its organization', NEW.id, NEW.superseded_by_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'memories_supersession_same_organization';
    END IF;
    next_id := NEW.superseded_by_id;
    WHILE next_id IS NOT NULL LOOP
        IF next_id = NEW.id THEN
            RAISE EXCEPTION 'memory % would supersede itself through a cycle', NEW.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'memories_supersession_acyclic';
        END IF;
        steps := steps + 1;
        IF steps > 100000 THEN
            RAISE EXCEPTION 'the supersession chain of memory % is longer than 100000', NEW.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'memories_supersession_acyclic';
        END IF;
        SELECT superseded_by_id INTO next_id FROM memories WHERE id = next_id;
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "memories_supersession"
    AFTER INSERT OR UPDATE OF "superseded_by_id", "organization_id", "valid_from", "valid_until" ON "memories"
    FOR EACH ROW WHEN (NEW."superseded_by_id" IS NOT NULL OR NEW."valid_until" IS NOT NULL)
    EXECUTE FUNCTION agentmem_check_supersession();

-- CreateIndex: the chain backwards (Memory.supersedes, Memory.lineage).
CREATE INDEX "idx_memories_superseded_by_id" ON "memories"("superseded_by_id");

-- What the sweep looks for: an organization's memories past their expiry. Partial (Prisma cannot
-- express it, so it lives here only): most memories never expire.
CREATE INDEX "idx_memories_organization_id_expires_at_live" ON "memories" ("organization_id", "expires_at")
    WHERE "expires_at" IS NOT NULL AND NOT "is_deleted";

-- The search's view (20261125100000_memory_search_view) gains the columns of validity, so that a
-- search filters by them and still reads only the view, through the full-text index. Only
-- columns are appended: its rows, its condition, its owner and its one grant stay as they were.
CREATE OR REPLACE VIEW "live_memories_in_scope" AS
    SELECT "id", "organization_id", "user_id", "agent_id", "content", "memory_type", "scope", "level", "created_at",
           "metadata", "importance", "access_count", "last_accessed",
           "valid_from", "valid_until", "superseded_by_id", "expires_at"
    FROM "memories"
    WHERE "organization_id" = (SELECT current_setting('app.organization_id', true))
      AND NOT "is_deleted";

-- memory_history: why a fact was ended (invalidateMemory's reason).
ALTER TABLE "memory_history" ADD COLUMN "reason" VARCHAR(1000);
