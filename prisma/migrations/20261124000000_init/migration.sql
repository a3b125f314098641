-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "organizations" (
    "id" VARCHAR(255) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "organizations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "status" VARCHAR(50) NOT NULL DEFAULT 'active',
    "timezone" VARCHAR(100) NOT NULL DEFAULT 'UTC',
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" VARCHAR(255),
    "last_updated_by_id" VARCHAR(255),

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "agent_type" VARCHAR(100),
    "name" VARCHAR(255),
    "description" TEXT,
    "system" TEXT,
    "topic" TEXT,
    "message_ids" JSONB,
    "metadata_" JSONB,
    "llm_config" JSONB,
    "embedding_config" JSONB,
    "tool_rules" JSONB,
    "mcp_tools" JSONB,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" VARCHAR(255),
    "last_updated_by_id" VARCHAR(255),

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "user_id" VARCHAR(255) NOT NULL,
    "agent_id" VARCHAR(255) NOT NULL,
    "role" VARCHAR(50) NOT NULL,
    "text" TEXT,
    "content" JSONB,
    "model" VARCHAR(255),
    "name" VARCHAR(255),
    "tool_calls" JSONB,
    "tool_call_id" VARCHAR(255),
    "step_id" VARCHAR(255),
    "otid" VARCHAR(255),
    "tool_returns" JSONB,
    "group_id" VARCHAR(255),
    "sender_id" VARCHAR(255),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" VARCHAR(255),
    "last_updated_by_id" VARCHAR(255),

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "blocks" (
    "id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "user_id" VARCHAR(255) NOT NULL,
    "template_name" VARCHAR(255),
    "description" TEXT,
    "label" VARCHAR(50) NOT NULL,
    "is_template" BOOLEAN NOT NULL DEFAULT false,
    "value" TEXT NOT NULL,
    "limit" BIGINT NOT NULL DEFAULT 2000,
    "metadata_" JSONB,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" VARCHAR(255),
    "last_updated_by_id" VARCHAR(255),

    CONSTRAINT "blocks_pkey" PRIMARY KEY ("id"),
    -- A constraint, as in the DDL, rather than the unique index Prisma would write.
    CONSTRAINT "unique_block_id_label" UNIQUE ("id", "label")
);

-- CreateTable
CREATE TABLE "tools" (
    "id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "description" TEXT,
    "json_schema" JSONB,
    "source_type" VARCHAR(100),
    "source_code" TEXT,
    "tags" JSONB,
    "metadata_" JSONB,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" VARCHAR(255),
    "last_updated_by_id" VARCHAR(255),

    CONSTRAINT "tools_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "memories" (
    "id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "user_id" VARCHAR(255) NOT NULL,
    "agent_id" VARCHAR(255) NOT NULL,
    "content" TEXT NOT NULL,
    "hash" VARCHAR(64),
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "score" REAL,
    "memory_type" VARCHAR(50) NOT NULL,
    "scope" VARCHAR(50) NOT NULL,
    "level" VARCHAR(50) NOT NULL,
    "importance" REAL NOT NULL DEFAULT 0.0,
    "access_count" BIGINT NOT NULL DEFAULT 0,
    "last_accessed" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" VARCHAR(255),
    "last_updated_by_id" VARCHAR(255),

    CONSTRAINT "memories_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "blocks_agents" (
    "block_id" VARCHAR(255) NOT NULL,
    "block_label" VARCHAR(50) NOT NULL,
    "agent_id" VARCHAR(255) NOT NULL,

    CONSTRAINT "blocks_agents_pkey" PRIMARY KEY ("block_id","block_label","agent_id")
);

-- CreateTable
CREATE TABLE "tools_agents" (
    "tool_id" VARCHAR(255) NOT NULL,
    "agent_id" VARCHAR(255) NOT NULL,

    CONSTRAINT "tools_agents_pkey" PRIMARY KEY ("tool_id","agent_id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" VARCHAR(255) NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "user_id" VARCHAR(255) NOT NULL,
    "organization_id" VARCHAR(255) NOT NULL,
    "scopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "expires_at" TIMESTAMPTZ,
    "last_used_at" TIMESTAMPTZ,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "idx_users_organization_id" ON "users"("organization_id");

-- CreateIndex
CREATE INDEX "idx_agents_organization_id" ON "agents"("organization_id");

-- CreateIndex
CREATE INDEX "idx_messages_agent_created_at" ON "messages"("agent_id", "created_at");

-- CreateIndex
CREATE INDEX "idx_messages_organization_id" ON "messages"("organization_id");

-- CreateIndex
CREATE INDEX "idx_messages_user_id" ON "messages"("user_id");

-- CreateIndex
CREATE INDEX "idx_blocks_organization_id" ON "blocks"("organization_id");

-- CreateIndex
CREATE INDEX "idx_blocks_user_id" ON "blocks"("user_id");

-- CreateIndex
CREATE INDEX "idx_tools_organization_id" ON "tools"("organization_id");

-- CreateIndex
-- Full-text search over memories: an expression index, which schema.prisma cannot describe.
-- It matches the search query: to_tsvector('english', content) @@ plainto_tsquery('english', $1)
CREATE INDEX "idx_memories_content_fts" ON "memories" USING GIN (to_tsvector('english', "content"));

-- CreateIndex
CREATE INDEX "idx_memories_agent_id" ON "memories"("agent_id");

-- CreateIndex
CREATE INDEX "idx_memories_organization_id" ON "memories"("organization_id");

-- CreateIndex
CREATE INDEX "idx_memories_user_id" ON "memories"("user_id");

-- CreateIndex
CREATE INDEX "idx_blocks_agents_agent_id" ON "blocks_agents"("agent_id");

-- CreateIndex
CREATE INDEX "idx_tools_agents_agent_id" ON "tools_agents"("agent_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- CreateIndex
CREATE INDEX "idx_api_keys_organization_id" ON "api_keys"("organization_id");

-- CreateIndex
CREATE INDEX "idx_api_keys_user_id" ON "api_keys"("user_id");

-- AddForeignKey
ALTER TABLE "users" ADD CONSTRAINT "users_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "agents" ADD CONSTRAINT "agents_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "tools" ADD CONSTRAINT "tools_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "memories" ADD CONSTRAINT "memories_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "memories" ADD CONSTRAINT "memories_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "memories" ADD CONSTRAINT "memories_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "blocks_agents" ADD CONSTRAINT "blocks_agents_block_id_block_label_fkey" FOREIGN KEY ("block_id", "block_label") REFERENCES "blocks"("id", "label") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "blocks_agents" ADD CONSTRAINT "blocks_agents_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "tools_agents" ADD CONSTRAINT "tools_agents_tool_id_fkey" FOREIGN KEY ("tool_id") REFERENCES "tools"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "tools_agents" ADD CONSTRAINT "tools_agents_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

