-- Idempotency keys (issue 9): the first outcome of a mutation sent with an Idempotency-Key header,
-- kept per API key until expires_at. The application writes a row in the same transaction as the
-- mutation's own writes (src/idempotency/), so that a retry finds both or neither.
-- CreateTable
CREATE TABLE "idempotency_keys" (
    "api_key_id" VARCHAR(255) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "request_hash" VARCHAR(64) NOT NULL,
    "response_status" INTEGER NOT NULL,
    "response_body" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "expires_at" TIMESTAMPTZ NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("api_key_id","key")
);

-- CreateIndex
CREATE INDEX "idx_idempotency_keys_organization_id_expires_at" ON "idempotency_keys"("organization_id", "expires_at");

-- AddForeignKey
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;


-- Under row-level security like every other table: a row is visible to its organization only,
-- and may only name an API key of that organization (foreign keys are checked without the
-- policies). The application never updates a row: it inserts the outcome once and deletes it
-- once it has expired.
GRANT SELECT, INSERT, DELETE ON "idempotency_keys" TO agentmem_app;

ALTER TABLE "idempotency_keys" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "idempotency_keys" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "idempotency_keys"
    USING ("organization_id" = (SELECT current_setting('app.organization_id', true)))
    WITH CHECK (
        "organization_id" = (SELECT current_setting('app.organization_id', true))
        AND EXISTS (SELECT 1 FROM "api_keys" WHERE "api_keys"."id" = "idempotency_keys"."api_key_id")
    );
