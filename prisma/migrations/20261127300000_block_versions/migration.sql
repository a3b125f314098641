-- Block versions and their history (issue 11).
--
-- blocks.version: optimistic concurrency. Every change of a block makes a new version; updateBlock
-- takes the version the writer last read and changes the block only while it is still that one
-- (one conditional UPDATE), so concurrent writers cannot silently overwrite each other.
-- AlterTable
ALTER TABLE "blocks" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 1;

-- block_history: the content of every version of a block (value, limit, description, metadata),
-- who made it (the API key's user, and the key) and when; written in the transaction of the change.
-- Its id is the block's id and the version ("<block id>:v<version>"), so writing one twice is a no-op.
-- CreateTable
CREATE TABLE "block_history" (
    "id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "block_id" VARCHAR(255) NOT NULL,
    "version" INTEGER NOT NULL,
    "value" TEXT NOT NULL,
    "limit" BIGINT NOT NULL,
    "description" TEXT,
    "metadata_" JSONB,
    "changed_by_id" VARCHAR(255),
    "api_key_id" VARCHAR(255),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),

    CONSTRAINT "block_history_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "block_history_block_id_version_key" ON "block_history"("block_id", "version");

-- CreateIndex
CREATE INDEX "idx_block_history_organization_id" ON "block_history"("organization_id");

-- CreateIndex
CREATE INDEX "idx_block_history_changed_by_id" ON "block_history"("changed_by_id");

-- CreateIndex
CREATE INDEX "idx_block_history_api_key_id" ON "block_history"("api_key_id");

-- AddForeignKey
ALTER TABLE "block_history" ADD CONSTRAINT "block_history_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "block_history" ADD CONSTRAINT "block_history_block_id_fkey" FOREIGN KEY ("block_id") REFERENCES "blocks"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "block_history" ADD CONSTRAINT "block_history_changed_by_id_fkey" FOREIGN KEY ("changed_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "block_history" ADD CONSTRAINT "block_history_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE NO ACTION;

-- Under row-level security like every other table: a row is visible to its organization only, and
-- may only name a block, user and API key visible to that organization (foreign keys are checked
-- without the policies). History is never rewritten: the application only inserts and reads it;
-- purging a block removes its history by the cascade.
GRANT SELECT, INSERT ON "block_history" TO agentmem_app;

ALTER TABLE "block_history" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "block_history" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "block_history"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "blocks" WHERE "blocks"."id" = "block_history"."block_id")
        AND ("changed_by_id" IS NULL OR EXISTS (SELECT 1 FROM "users" WHERE "users"."id" = "block_history"."changed_by_id"))
        AND ("api_key_id" IS NULL OR EXISTS (SELECT 1 FROM "api_keys" WHERE "api_keys"."id" = "block_history"."api_key_id"))
    );

-- The blocks written before this migration: their current content is version 1. Where the
-- migrating login is subject to the policies (an ordinary login on a managed service), it sees no
-- block here; the application then records a block's current version at its next change.
INSERT INTO "block_history" ("id", "organization_id", "block_id", "version", "value", "limit", "description", "metadata_", "changed_by_id", "created_at")
SELECT b."id" || ':v1', b."organization_id", b."id", 1, b."value", b."limit", b."description", b."metadata_",
       (SELECT u."id" FROM "users" u WHERE u."id" = coalesce(b."last_updated_by_id", b."created_by_id")),
       b."updated_at"
FROM "blocks" b;
