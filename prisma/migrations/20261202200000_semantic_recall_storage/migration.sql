-- Semantic recall, storage (issue 19): a memory may carry an embedding, a pgvector `vector`, with
-- the model that made it and its number of dimensions.
--
-- pgvector is not everywhere (Debian 12 has no package of it for PostgreSQL 15; a managed service
-- may not allow it), and a deployment without it must still migrate, start, and search by text.
-- So the `embedding` column, whose type the extension defines, is added by a function rather
-- than by this script: where the extension is available, the function creates it and the column
-- now; where it is not, it does nothing and says why. The server calls it again at every start
-- and `npm run db:migrate` after applying migrations, so that installing pgvector later turns
-- semantic recall on with no data lost (prisma migrate deploy never runs a migration twice).
--
-- The column is a `vector` of no fixed length, since the number of dimensions is a setting
-- (EMBEDDINGS_DIMENSIONS) that a deployment may change with its model. A row's length is kept in
-- embedding_dimensions, and the HNSW index is per length: an expression index over
-- `embedding::vector(N)`, partial on embedding_dimensions = N, made by the same function when it is
-- given N (the server gives it its setting). Vectors of two models are never compared: search
-- filters on embedding_model.
--
-- The three columns change together, in one statement (src/memories/embeddings.ts, which takes
-- embedding_dimensions from vector_dims(embedding) itself). They carry no CHECK constraint: Prisma
-- 6.19's WASM schema engine panics ("RuntimeError: unreachable") describing a database that has
-- one, which would end `prisma migrate diff` and the drift test.
ALTER TABLE "memories"
    ADD COLUMN "embedding_model" VARCHAR(255),
    ADD COLUMN "embedding_dimensions" INTEGER;

-- Returns NULL when semantic recall is on, else why it is off. `dimensions`: the length whose HNSW
-- index should exist (NULL: none is made now).
CREATE FUNCTION agentmem_enable_semantic_recall(dimensions INTEGER) RETURNS TEXT
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        RETURN 'the PostgreSQL server has no pgvector extension (vector) installed';
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS vector;
    EXCEPTION WHEN insufficient_privilege THEN
        RETURN 'pgvector is installed but this role may not create the extension: ' || SQLERRM;
    END;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding' AND NOT attisdropped) THEN
        ALTER TABLE memories ADD COLUMN embedding vector;
    END IF;
    IF dimensions IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON memories USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WHERE embedding_dimensions = %s AND NOT is_deleted',
            'idx_memories_embedding_hnsw_' || dimensions, dimensions, dimensions);
    END IF;
    RETURN NULL;
END;
$$;

SELECT agentmem_enable_semantic_recall(NULL);
