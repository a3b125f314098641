-- Search candidates that are valid (issue 17). The nearest-vector and the typo-tolerant searches
-- pick at most `candidates` memories; validity and expiry applied only after that picking left a
-- page short whenever invalid facts (superseded near-duplicates) were nearest to the query. Both
-- functions now take the instant the search is about (`as_of`: the statement's now() or the
-- client's asOf) and `include_invalid`, and apply inside the picking the conditions that
-- src/memories/validity.ts writes for every other read (`presentRows`; that file is their one
-- definition, these two bodies repeat it because a migration's SQL cannot import it):
-- - not expired: expires_at IS NULL OR expires_at > clock_timestamp();
-- - unless include_invalid: valid_from <= as_of AND (valid_until IS NULL OR valid_until > as_of).
-- The HNSW scan reads on past invalid rows with pgvector's iterative scan, as it already did past
-- other organizations' rows. The signatures change, so the old functions are dropped, not kept
-- beside (one way to search).
--
-- The vector view gains the validity columns, so that the conditions are filters on the rows the
-- HNSW scan returns (a join to another view there lowered the scan's recall). It exists only where
-- pgvector does, and agentmem_enable_semantic_recall makes it where pgvector comes later: both
-- are replaced, columns appended only.
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
            'CREATE INDEX IF NOT EXISTS %I ON memories USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WHERE embedding_dimensions = %s AND NOT is_deleted',
            'idx_memories_embedding_hnsw_' || dimensions, dimensions, dimensions);
    END IF;
    RETURN NULL;
END;
$$;

DO $$
BEGIN
    IF to_regclass('live_memory_vectors_in_scope') IS NOT NULL THEN
        CREATE OR REPLACE VIEW live_memory_vectors_in_scope AS
            SELECT id, organization_id, agent_id, embedding_model, embedding_dimensions, embedding,
                   valid_from, valid_until, expires_at
            FROM memories
            WHERE organization_id = (SELECT current_setting('app.organization_id', true))
              AND NOT is_deleted
              AND embedding_dimensions IS NOT NULL;
    END IF;
END
$$;

DROP FUNCTION agentmem_nearest_memories(TEXT, INTEGER, TEXT, INTEGER);

CREATE FUNCTION agentmem_nearest_memories(query TEXT, dimensions INTEGER, model TEXT, candidates INTEGER,
    as_of TIMESTAMPTZ, include_invalid BOOLEAN)
RETURNS TABLE (id TEXT, distance FLOAT8)
LANGUAGE plpgsql STABLE ROWS 100 AS $$
BEGIN
    BEGIN
        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
    EXCEPTION WHEN undefined_object OR invalid_parameter_value OR cant_change_runtime_param THEN
        NULL;
    END;
    PERFORM set_config('hnsw.ef_search', least(greatest(candidates, 100), 1000)::text, true);
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

GRANT EXECUTE ON FUNCTION agentmem_nearest_memories(TEXT, INTEGER, TEXT, INTEGER, TIMESTAMPTZ, BOOLEAN) TO agentmem_app;

DROP FUNCTION agentmem_fuzzy_memories(TEXT[], INTEGER);

CREATE FUNCTION agentmem_fuzzy_memories(query_words TEXT[], candidates INTEGER, as_of TIMESTAMPTZ,
    include_invalid BOOLEAN)
RETURNS TABLE (id TEXT, similarity FLOAT8)
LANGUAGE plpgsql STABLE ROWS 100
SET pg_trgm.strict_word_similarity_threshold = 0.25 AS $$
DECLARE
    near TEXT;
BEGIN
    IF coalesce(cardinality(query_words), 0) = 0 THEN
        RETURN;
    END IF;
    SELECT string_agg(format('$1[%s] <<%% lower(f.content)', n), ' OR ')
      INTO near FROM generate_series(1, cardinality(query_words)) AS n;
    RETURN QUERY EXECUTE format(
        'SELECT f.id::text,
                (SELECT max(strict_word_similarity(w, lower(f.content))) FROM unnest($1) AS w)::float8
         FROM live_memories_in_scope f
         WHERE f.organization_id = current_setting(''app.organization_id'', true) AND (%s)
           AND (f.expires_at IS NULL OR f.expires_at > clock_timestamp())
           AND ($4 OR (f.valid_from <= $3 AND (f.valid_until IS NULL OR f.valid_until > $3)))
         ORDER BY 2 DESC, 1
         LIMIT $2', near)
        USING query_words, candidates, as_of, include_invalid;
END;
$$;

GRANT EXECUTE ON FUNCTION agentmem_fuzzy_memories(TEXT[], INTEGER, TIMESTAMPTZ, BOOLEAN) TO agentmem_app;

-- The sweep of expired memories, for every organization (src/memories/expiry.ts). It needs to
-- know which organizations have expired memories, which no organization's scope can tell it, so
-- it asks as a role of its own, agentmem_expiry_sweep, that may read three columns of memories
-- (organization_id, expires_at, is_deleted: never content) of the live rows past their expiry,
-- and nothing else. It then moves each organization's to the trash in that organization's scope,
-- as agentmem_app. A policy for this role alone leaves agentmem_app's policies, and so its plans,
-- as they were. Roles belong to the whole server (see 20261124100000_row_level_security).
DO $$
BEGIN
    CREATE ROLE agentmem_expiry_sweep NOLOGIN NOSUPERUSER NOBYPASSRLS;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'agentmem_expiry_sweep', 'MEMBER') THEN
        EXECUTE format('GRANT agentmem_expiry_sweep TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO agentmem_expiry_sweep;
GRANT SELECT ("organization_id", "expires_at", "is_deleted") ON "memories" TO agentmem_expiry_sweep;
CREATE POLICY "expiry_sweep_reads" ON "memories" FOR SELECT TO agentmem_expiry_sweep
    USING ("expires_at" IS NOT NULL AND NOT "is_deleted" AND "expires_at" <= clock_timestamp());
