-- Parley database layout: one schema per service, owned by that service's own role.
-- A role can read and write only its own schema; nothing is granted on the others, so a bug or a
-- breach in one service cannot read another's data. Idempotent: safe to run on every start.
-- Used by the embedded dev stack, the tests, and docker-compose (as a docker-entrypoint-initdb.d script).
-- Passwords are set separately (deploy/postgres/10-passwords.sh); the embedded stack uses socket trust.

DO $$
DECLARE
    svc text;
    role text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['intake', 'pricing', 'negotiation', 'agreements', 'reporting'] LOOP
        role := 'parley_' || svc;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', role);
        END IF;
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, role);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', svc, role);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc);
        -- Every statement names its schema; a search_path would only blur which schema is meant.
        EXECUTE format('ALTER ROLE %I RESET search_path', role);
        EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), role);
    END LOOP;
END
$$;

-- Nobody but the owner creates objects in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
