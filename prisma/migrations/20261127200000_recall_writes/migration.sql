-- Recall, the writing half (issue 10): the order of messages whose timestamps tie, the history
-- of every memory, and the look-up of a memory by its content hash for deduplication.

-- A tie-breaker for messages: conversations are ordered by (created_at, seq) everywhere, so the
-- messages of one appendMessages call, which share one instant, keep the order they were sent in.
-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "seq" BIGSERIAL NOT NULL;

-- Rows that already exist are numbered in the order they were read in before.
UPDATE "messages" AS m SET "seq" = o.n
FROM (SELECT "id", row_number() OVER (ORDER BY "created_at", "id") AS n FROM "messages") AS o
WHERE m."id" = o."id";
SELECT setval(pg_get_serial_sequence('"messages"', 'seq'), coalesce((SELECT max("seq") FROM "messages"), 0) + 1, false);

-- CreateTable
CREATE TABLE "memory_history" (
    "id" VARCHAR(255) NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "memory_id" VARCHAR(255) NOT NULL,
    "event" VARCHAR(20) NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "actor_user_id" VARCHAR(255),
    "api_key_id" VARCHAR(255),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT "memory_history_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "idx_memory_history_memory_id_seq" ON "memory_history"("memory_id", "seq");

-- CreateIndex
CREATE INDEX "idx_memory_history_organization_id" ON "memory_history"("organization_id");

-- CreateIndex
CREATE INDEX "idx_memories_agent_id_hash" ON "memories"("agent_id", "hash");

-- AddForeignKey
ALTER TABLE "memory_history" ADD CONSTRAINT "memory_history_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "memory_history" ADD CONSTRAINT "memory_history_memory_id_fkey" FOREIGN KEY ("memory_id") REFERENCES "memories"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- The server now owns memories.hash: SHA-256 (hex) of the normalized content (src/memories/content-hash.ts:
-- Unicode NFKC, lower case, runs of whitespace as one space, trimmed). Rows written before held
-- whatever hash a client sent. Content made only of ASCII normalizes the same in SQL as in the
-- server (NFKC and lower case change no ASCII letter differently in any locale), so it is hashed
-- here; other content gets no hash, and is not deduplicated against, until it is next changed.
UPDATE "memories" SET "hash" = CASE
    WHEN "content" ~ '^[\x01-\x7f]*$'
    THEN encode(sha256(convert_to(btrim(regexp_replace(lower("content"), '[\t\n\v\f\r ]+', ' ', 'g'), ' '), 'UTF8')), 'hex')
END;

-- Appending messages and recording history draw from the two new sequences.
GRANT USAGE ON SEQUENCE "messages_seq_seq", "memory_history_seq_seq" TO agentmem_app;

-- History is under row-level security like every other table: a row is visible to its
-- organization only, and may only name a memory of that organization (foreign keys are checked
-- without the policies). It is written once and never changed by the application; a purge of
-- the memory or of the organization removes it with them (ON DELETE CASCADE).
GRANT SELECT, INSERT ON "memory_history" TO agentmem_app;

ALTER TABLE "memory_history" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "memory_history" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "memory_history"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "memories" WHERE "memories"."id" = "memory_history"."memory_id")
    );
