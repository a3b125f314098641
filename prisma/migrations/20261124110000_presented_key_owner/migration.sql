-- Authentication in one statement: while a request is being authenticated (app.api_key_hash
-- set, no organization yet), the presented key's own user and organization are visible too, so
-- that one query can check the key, its user and its organization together. Nothing else is.
--
-- The policies ask a function rather than api_keys itself: the policies of api_keys look at
-- users (WITH CHECK), and PostgreSQL refuses policies that name each other's tables in a cycle.
-- The function's query is held to the policies of api_keys like any other, and those show a
-- request being authenticated only the key it presented.
CREATE FUNCTION "agentmem_presented_key"() RETURNS TABLE ("user_id" VARCHAR, "organization_id" VARCHAR)
    LANGUAGE sql STABLE
    AS $$
        SELECT "user_id", "organization_id" FROM "api_keys"
        WHERE "key_hash" = current_setting('app.api_key_hash', true)
    $$;

CREATE POLICY "presented_key_owner" ON "users" FOR SELECT
    USING ("id" IN (SELECT "user_id" FROM "agentmem_presented_key"()));

CREATE POLICY "presented_key_owner" ON "organizations" FOR SELECT
    USING ("id" IN (SELECT "organization_id" FROM "agentmem_presented_key"()));
