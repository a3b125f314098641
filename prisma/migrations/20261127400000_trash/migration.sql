-- The trash (issue 11): when a row was soft-deleted and by whom, so that an administrator can
-- list deleted rows and restore the one that was lost. Set by every delete*, cleared by restore*.
-- deleted_by_id is a user id like created_by_id and last_updated_by_id: no foreign key, so that
-- purging a user does not rewrite the trash of others.
ALTER TABLE "users" ADD COLUMN "deleted_at" TIMESTAMPTZ, ADD COLUMN "deleted_by_id" VARCHAR(255);
ALTER TABLE "agents" ADD COLUMN "deleted_at" TIMESTAMPTZ, ADD COLUMN "deleted_by_id" VARCHAR(255);
ALTER TABLE "messages" ADD COLUMN "deleted_at" TIMESTAMPTZ, ADD COLUMN "deleted_by_id" VARCHAR(255);
ALTER TABLE "blocks" ADD COLUMN "deleted_at" TIMESTAMPTZ, ADD COLUMN "deleted_by_id" VARCHAR(255);
ALTER TABLE "tools" ADD COLUMN "deleted_at" TIMESTAMPTZ, ADD COLUMN "deleted_by_id" VARCHAR(255);
ALTER TABLE "memories" ADD COLUMN "deleted_at" TIMESTAMPTZ, ADD COLUMN "deleted_by_id" VARCHAR(255);
