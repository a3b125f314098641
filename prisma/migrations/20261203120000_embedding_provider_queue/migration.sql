-- Semantic recall, embeddings from a provider (issue 19): with EMBEDDINGS_URL set, a memory written
-- without a vector is embedded asynchronously and durably. Its write records, in the same
-- transaction, that it needs an embedding (embedding_status PENDING, a row of embedding_jobs); a
-- worker in every server process claims jobs in batches (FOR UPDATE SKIP LOCKED), calls the
-- provider, and writes the vector, or after EMBEDDINGS_MAX_ATTEMPTS failures marks the memory
-- FAILED with the reason (src/memories/embedding-worker.ts).

-- AlterTable
ALTER TABLE "memories" ADD COLUMN     "embedding_error" TEXT,
ADD COLUMN     "embedding_status" VARCHAR(16);

-- A memory that already has a vector (a client's) is READY.
UPDATE "memories" SET "embedding_status" = 'READY' WHERE "embedding_dimensions" IS NOT NULL;

-- CreateTable
CREATE TABLE "embedding_jobs" (
    "memory_id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "claimed_by" VARCHAR(64),
    "claimed_until" TIMESTAMPTZ,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT "embedding_jobs_pkey" PRIMARY KEY ("memory_id")
);

-- CreateIndex
CREATE INDEX "idx_embedding_jobs_next_attempt_at" ON "embedding_jobs"("next_attempt_at");

-- CreateIndex
CREATE INDEX "idx_embedding_jobs_organization_id" ON "embedding_jobs"("organization_id");

-- AddForeignKey
ALTER TABLE "embedding_jobs" ADD CONSTRAINT "embedding_jobs_memory_id_fkey" FOREIGN KEY ("memory_id") REFERENCES "memories"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "embedding_jobs" ADD CONSTRAINT "embedding_jobs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- Under row-level security like every table. A request sees and writes its organization's jobs
-- (its writes enqueue, a client's vector dequeues), and only for its organization's memories.
-- The worker claims across organizations in a scope of its own, app.work_queue = 'embeddings'
-- (src/db/row-level-security.ts), with no organization: there it may read and reschedule jobs,
-- which hold ids and times, never content, and no other table shows it a row. It reads a
-- memory's content and writes its vector in that memory's organization's scope.
GRANT SELECT, INSERT, UPDATE, DELETE ON "embedding_jobs" TO agentmem_app;

ALTER TABLE "embedding_jobs" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "embedding_jobs" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "embedding_jobs"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "memories" WHERE "memories"."id" = "embedding_jobs"."memory_id")
    );
CREATE POLICY "embedding_worker_reads" ON "embedding_jobs" FOR SELECT
    USING ((SELECT current_setting('app.work_queue', true)) = 'embeddings');
CREATE POLICY "embedding_worker_schedules" ON "embedding_jobs" FOR UPDATE
    USING ((SELECT current_setting('app.work_queue', true)) = 'embeddings')
    WITH CHECK ((SELECT current_setting('app.work_queue', true)) = 'embeddings');
