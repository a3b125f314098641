-- HNSW recall (issue 19): recall@10 against exact search was 0.78 at 200,000 memories of 384
-- dimensions (docs/performance.md), below the 0.95 the issue asks for. Two changes, nothing else:
-- - agentmem_nearest_memories searches the graph 4 times as wide as the candidates it returns, at
--   least 400 (was: as wide, at least 100), at most 1000 (pgvector's limit): on clustered,
--   high-dimension embeddings many neighbours are almost equally near, and a narrow search misses
--   some of them.
-- - agentmem_enable_semantic_recall builds a new HNSW index with ef_construction = 128 (pgvector's
--   default: 64), a better-connected graph for the same m. An index that exists already is kept
--   as it is (IF NOT EXISTS); to rebuild one with these parameters, DROP INDEX
--   idx_memories_embedding_hnsw_<dimensions> and start the server (docs/recall.md).
-- Both functions as migration 20261203161700_memory_validity_follow_up left them (the validity
-- columns of the vector view, the as_of and include_invalid arguments), with only these changes.

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
            'CREATE INDEX IF NOT EXISTS %I ON memories USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WITH (m = 16, ef_construction = 128) WHERE embedding_dimensions = %s AND NOT is_deleted',
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
    PERFORM set_config('hnsw.ef_search', least(greatest(4 * candidates, 400), 1000)::text, true);
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

