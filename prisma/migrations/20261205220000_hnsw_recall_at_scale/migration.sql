-- HNSW recall at 200,000 memories (issue 19): recall@10 against exact search was 0.86 with 98,140
-- embeddings of 384 dimensions in one organization (docs/performance.md, "Ranked search"), below
-- the 0.95 the issue asks for. On clustered embeddings many neighbours are almost equally near
-- (there, the 10th nearest of a query is 2% nearer than the 100th), and a graph of 16 links per
-- element missed some of them however wide its search: 0.935 at ef_search 1000, pgvector's limit.
-- Measured on that database, as the application role, over the benchmark's 20 queries:
--
--   m 16, ef_construction 128: ef_search 400 0.850, 1000 0.935
--   m 32, ef_construction 200: ef_search 400 0.950,  600 0.985, 1000 1.000
--
-- Two changes, nothing else:
-- - agentmem_enable_semantic_recall builds a new HNSW index with m = 32, ef_construction = 200;
-- - agentmem_nearest_memories searches the graph 6 times as wide as the candidates it returns, at
--   least 600 (was: 4 times, at least 400), at most 1000.
-- An index that exists already keeps its parameters (IF NOT EXISTS, as in
-- 20261203161900_hnsw_recall): to rebuild one with these, DROP INDEX
-- idx_memories_embedding_hnsw_<dimensions> and start the server (docs/recall.md). Both functions
-- as 20261203161900_hnsw_recall left them, with only these changes.

CREATE OR REPLACE FUNCTION agentmem_enable_semantic_recall(dimensions INTEGER) RETURNS TEXT
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
    -- See 20261202200000_semantic_recall_storage; the validity columns since
    -- 20261203161700_memory_validity_follow_up.
    IF to_regclass('live_memory_vectors_in_scope') IS NULL THEN
        CREATE VIEW live_memory_vectors_in_scope AS
            SELECT id, organization_id, agent_id, embedding_model, embedding_dimensions, embedding,
                   valid_from, valid_until, expires_at
            FROM memories
            WHERE organization_id = (SELECT current_setting('app.organization_id', true))
              AND NOT is_deleted
              AND embedding_dimensions IS NOT NULL;
        GRANT SELECT ON live_memory_vectors_in_scope TO agentmem_app;
    END IF;
    IF dimensions IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON memories USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WITH (m = 32, ef_construction = 200) WHERE embedding_dimensions = %s AND NOT is_deleted',
            'idx_memories_embedding_hnsw_' || dimensions, dimensions, dimensions);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION agentmem_nearest_memories(query TEXT, dimensions INTEGER, model TEXT, candidates INTEGER,
    as_of TIMESTAMPTZ, include_invalid BOOLEAN)
RETURNS TABLE (id TEXT, distance FLOAT8)
LANGUAGE plpgsql STABLE ROWS 100 AS $$
BEGIN
    BEGIN
        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
    EXCEPTION WHEN undefined_object OR invalid_parameter_value OR cant_change_runtime_param THEN
        NULL;
    END;
    PERFORM set_config('hnsw.ef_search', least(greatest(6 * candidates, 600), 1000)::text, true);
    RETURN QUERY EXECUTE format(
        'SELECT v.id::text, (v.embedding::vector(%1$s) <=> $1::vector(%1$s))::float8
         FROM live_memory_vectors_in_scope v
         WHERE v.organization_id = current_setting(''app.organization_id'', true)
           AND v.embedding_dimensions = %1$s AND v.embedding_model = $2
           AND (v.expires_at IS NULL OR v.expires_at > clock_timestamp())
           AND ($5 OR (v.valid_from <= $4 AND (v.valid_until IS NULL OR v.valid_until > $4)))
         ORDER BY v.embedding::vector(%1$s) <=> $1::vector(%1$s)
         LIMIT $3', dimensions)
        USING query, model, candidates, as_of, include_invalid;
END;
$$;

