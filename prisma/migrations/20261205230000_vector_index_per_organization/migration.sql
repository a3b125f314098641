-- One HNSW index per organization instead of one shared by all (issue 19's tenancy rule, issue 21's
-- "semantic recall must meet the same rule"). The shared index held every organization's vectors
-- and the caller's organization only filtered what its scan returned: another organization's
-- vectors near the query were read first, so they slowed the search (4.4x in
-- `npm run bench:search-tenants -- --vector --own 20000`) and, past pgvector's
-- hnsw.max_scan_tuples, left the caller's answer short or wrong. Now:
-- - an organization with few embeddings is searched exactly (its own rows only), as before;
-- - one with many gets an index of its own, a partial index whose predicate names it, built by
--   the server (src/memories/vector-indexes.ts) as `idx_memories_embedding_hnsw_<dimensions>_<16
--   hex digits of md5(organization id)>`, with the graph parameters of
--   20261205220000_hnsw_recall_at_scale (m 32, ef_construction 200); a search reads only that index;
-- - agentmem_enable_semantic_recall no longer creates the shared index, and any shared index is
--   dropped here. Both functions keep their arguments and results.

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
    RETURN NULL;
END;
$$;

-- The shared indexes, named by their dimensions alone.
DO $$
DECLARE
    shared RECORD;
BEGIN
    FOR shared IN
        SELECT indexname FROM pg_indexes
        WHERE tablename = 'memories' AND indexname ~ '^idx_memories_embedding_hnsw_[0-9]+$'
    LOOP
        EXECUTE format('DROP INDEX %I', shared.indexname);
    END LOOP;
END;
$$;

-- As 20261205220000_hnsw_recall_at_scale left it (searched 6 times as wide as its candidates,
-- 600 to 1000), but with the caller's organization written into the
-- statement as a constant: PostgreSQL uses a partial index only where the query's conditions
-- prove its predicate, and a setting read at run time proves nothing at planning.
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
         WHERE v.organization_id = %2$L
           AND v.organization_id = current_setting(''app.organization_id'', true)
           AND v.embedding_dimensions = %1$s AND v.embedding_model = $2
           AND (v.expires_at IS NULL OR v.expires_at > clock_timestamp())
           AND ($5 OR (v.valid_from <= $4 AND (v.valid_until IS NULL OR v.valid_until > $4)))
         ORDER BY v.embedding::vector(%1$s) <=> $1::vector(%1$s)
         LIMIT $3', dimensions, coalesce(current_setting('app.organization_id', true), ''))
        USING query, model, candidates, as_of, include_invalid;
END;
$$;
