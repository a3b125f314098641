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
    -- What vector search reads, for the reason live_memories_in_scope exists (migration
    -- 20261125100000_memory_search_view): beneath the policies of memories, `<=>` (not
    -- leakproof) could not order an HNSW index scan. Same tenancy: the scope's organization, live
    -- rows, read-only for agentmem_app.
    IF to_regclass('live_memory_vectors_in_scope') IS NULL THEN
        CREATE VIEW live_memory_vectors_in_scope AS
            SELECT id, organization_id, embedding_model, embedding_dimensions, embedding
            FROM memories
            WHERE organization_id = (SELECT current_setting('app.organization_id', true))
              AND NOT is_deleted
              AND embedding IS NOT NULL;
        GRANT SELECT ON live_memory_vectors_in_scope TO agentmem_app;
    END IF;
    IF dimensions IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON memories USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WHERE embedding_dimensions = %s AND NOT is_deleted',
            'idx_memories_embedding_hnsw_' || dimensions, dimensions, dimensions);
    END IF;
    RETURN NULL;
END;
$$;

-- The nearest memories of the scope's organization to `query` (a vector's text), through the HNSW
-- index of `dimensions`, among the embeddings of `model`: at most `candidates` ids with their
-- cosine distance. In plpgsql because the index's expression needs the dimensions as a literal,
-- and so that the statement may use pgvector's settings for it alone:
-- - hnsw.iterative_scan: with relaxed_order, pgvector 0.8 goes on scanning the graph until
--   `candidates` rows pass the organization's condition, instead of stopping at ef_search rows
--   of which most may be other organizations';
-- - hnsw.ef_search: the graph search's width, at least `candidates` (at most 1000).
-- Set for the transaction only (set_config's third argument): a pooled connection keeps nothing.
-- An older pgvector without iterative scans refuses the setting, and the search goes on without.
-- Callers use it for organizations too large for an exact search (src/memories/vector-search.ts).
CREATE FUNCTION agentmem_nearest_memories(query TEXT, dimensions INTEGER, model TEXT, candidates INTEGER)
RETURNS TABLE (id TEXT, distance FLOAT8)
LANGUAGE plpgsql STABLE ROWS 100 AS $$
BEGIN
    BEGIN
        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
    EXCEPTION WHEN undefined_object OR invalid_parameter_value OR cant_change_runtime_param THEN
        NULL;
    END;
    PERFORM set_config('hnsw.ef_search', least(greatest(candidates, 40), 1000)::text, true);
    RETURN QUERY EXECUTE format(
        'SELECT v.id::text, (v.embedding::vector(%1$s) <=> $1::vector(%1$s))::float8
         FROM live_memory_vectors_in_scope v
         WHERE v.organization_id = current_setting(''app.organization_id'', true)
           AND v.embedding_dimensions = %1$s AND v.embedding_model = $2
         ORDER BY v.embedding::vector(%1$s) <=> $1::vector(%1$s)
         LIMIT $3', dimensions)
        USING query, model, candidates;
END;
$$;

GRANT EXECUTE ON FUNCTION agentmem_nearest_memories(TEXT, INTEGER, TEXT, INTEGER) TO agentmem_app;

-- How many embeddings of a model an organization has decides between an exact search and the
-- HNSW index (src/memories/vector-search.ts); this index counts them without reading a row.
CREATE INDEX "idx_memories_organization_id_embedding" ON "memories" ("organization_id", "embedding_model", "embedding_dimensions")
    WHERE "embedding_dimensions" IS NOT NULL AND NOT "is_deleted";

SELECT agentmem_enable_semantic_recall(NULL);
