-- Typo tolerance for HYBRID search (issue 19): "trians" should find the memories about trains.
-- When the query's exact words find too few memories, the search adds those with a word
-- trigram-similar to one of the query's words (pg_trgm's strict_word_similarity, `<<%`: whole
-- words are compared, so "trians" is nearer "trains" than "vegetarian"), through this
-- index: GIN over (organization_id, lower(content)) with pg_trgm's operator class, so that a scan
-- reads only the caller's organization's candidates, as the full-text index does (btree_gin,
-- migration 20261202160000_memory_search_index_by_organization, gives organization_id its GIN
-- operator class). pg_trgm is a trusted extension: the migrating login needs no superuser.
-- An expression index (lower(content)), like the full-text one, that Prisma does not describe.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX "idx_memories_organization_id_content_trgm" ON "memories"
    USING GIN ("organization_id", lower("content") gin_trgm_ops) WITH (fastupdate = off);

-- The memories of the scope's organization with a word like one of `query_words` (each of at
-- least 4 characters), best first, at most `candidates`: through live_memories_in_scope, for the
-- reason it exists (`<<%` is not leakproof, and beneath the policies of memories it could not be
-- an index condition). A function so that the threshold applies to this statement alone: 0.25
-- rather than pg_trgm's 0.5, since one transposition in a short word ("trians") shares only 3
-- of the 11 trigrams of the two words (0.27).
CREATE FUNCTION agentmem_fuzzy_memories(query_words TEXT[], candidates INTEGER)
RETURNS TABLE (id TEXT, similarity FLOAT8)
LANGUAGE plpgsql STABLE ROWS 100
SET pg_trgm.strict_word_similarity_threshold = 0.25 AS $$
DECLARE
    near TEXT;
BEGIN
    IF coalesce(cardinality(query_words), 0) = 0 THEN
        RETURN;
    END IF;
    -- One `<<%` per word, ORed: each an index condition, the scans' bitmaps ORed (a join with the
    -- words would make `<<%` a join filter over every row of the organization instead).
    SELECT string_agg(format('$1[%s] <<%% lower(f.content)', n), ' OR ')
      INTO near FROM generate_series(1, cardinality(query_words)) AS n;
    RETURN QUERY EXECUTE format(
        'SELECT f.id::text,
                (SELECT max(strict_word_similarity(w, lower(f.content))) FROM unnest($1) AS w)::float8
         FROM live_memories_in_scope f
         WHERE f.organization_id = current_setting(''app.organization_id'', true) AND (%s)
         ORDER BY 2 DESC, 1
         LIMIT $2', near)
        USING query_words, candidates;
END;
$$;

GRANT EXECUTE ON FUNCTION agentmem_fuzzy_memories(TEXT[], INTEGER) TO agentmem_app;
