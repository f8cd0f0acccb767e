-- The migration runner's statements (migrate.c), on its own connection before the schema
-- exists: none is prepared, they run as text. BEGIN, COMMIT and ROLLBACK are db.sql's.

-- name: migrate_quiet
-- connection: migrate
-- in:
-- out:
SET client_min_messages = warning;

-- name: migrate_lock
-- connection: migrate
-- Two starts at once cannot both apply the same file; closing the session releases it.
-- in:
-- out: pg_advisory_lock
SELECT pg_advisory_lock(7243001);

-- name: migrate_table
-- connection: migrate
-- in:
-- out:
CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());

-- name: migrate_checksum
-- connection: migrate
-- No row: not applied yet; false: the file changed after it was applied.
-- in: version, sql
-- out: unchanged
SELECT checksum = md5($2) AS unchanged
FROM schema_migrations
WHERE version = $1;

-- name: migrate_record
-- connection: migrate
-- in: version, sql
-- out:
INSERT INTO schema_migrations (version, checksum)
VALUES ($1, md5($2));

-- name: functions_table
-- connection: migrate
-- The checksums of sql/functions/'s files as last applied.
-- in:
-- out:
CREATE TABLE IF NOT EXISTS schema_functions (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());

-- name: functions_unchanged
-- connection: migrate
-- A row when the file was applied as it is now.
-- in: name, sql
-- out: unchanged
SELECT true AS unchanged
FROM schema_functions
WHERE name = $1 AND checksum = md5($2);

-- name: functions_record
-- connection: migrate
-- in: name, sql
-- out:
INSERT INTO schema_functions (name, checksum)
VALUES ($1, md5($2))
ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now();
