-- The ad-hoc SQL connection's own statements (db_report.c). That connection logs in as
-- runwatch_report, runs none of the API's statements and prepares nothing: these run as
-- text. The setup pins what the user's statement runs under: the signed grant, the
-- timeout, and only the report schema on the search path; everything is LOCAL to the
-- read-only transaction.

-- name: adhoc_begin
-- connection: adhoc
-- in:
-- out:
BEGIN READ ONLY;

-- name: adhoc_setup
-- connection: adhoc
-- timeout_ms is both the statement and the lock timeout.
-- in: grant, timeout_ms
-- out: runwatch_grant, statement_timeout, lock_timeout, search_path
SELECT set_config('runwatch.grant', $1, true) AS runwatch_grant,
    set_config('statement_timeout', $2, true) AS statement_timeout,
    set_config('lock_timeout', $2, true) AS lock_timeout,
    set_config('search_path', 'report', true) AS search_path;

-- name: adhoc_end
-- connection: adhoc
-- Rolls back and clears what a rollback does not: prepared statements and session advisory
-- locks. A script of three commands (run with PQexec).
-- in:
-- out: pg_advisory_unlock_all
ROLLBACK; DEALLOCATE ALL; SELECT pg_advisory_unlock_all();
