-- The ad-hoc SQL connection's own statements (db_report.c). That connection logs in as
-- runwatch_report, runs none of the API's statements and prepares nothing: these run as
-- text. The setup pins what the user's statement runs under: the signed grant, the
-- timeout, and only the report schema on the search path; everything is LOCAL to the
-- read-only transaction.

-- name: adhoc_confined
-- connection: adhoc
-- Run once on each new connection, as runwatch_report: 't' only when the superuser's
-- sql/setup/report_confine.sql took from it what would let one tenant see or touch
-- another's queries (statistics, signals, advisory locks, size estimates). Ad-hoc SQL is
-- refused on a login that still has them.
-- in:
-- out: confined
SELECT NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND (p.proname LIKE 'pg\_stat\_get\_%'
               OR p.proname IN ('pg_terminate_backend', 'pg_cancel_backend', 'pg_lock_status',
                                'pg_relation_size', 'pg_current_snapshot', 'txid_current')
               OR (p.proname LIKE '%advisory%lock%' AND p.proname <> 'pg_advisory_unlock_all'))
          AND has_function_privilege(p.oid, 'EXECUTE'))
    AND NOT has_table_privilege('pg_catalog.pg_stat_activity', 'SELECT')
    AND NOT has_column_privilege('pg_catalog.pg_class', 'reltuples', 'SELECT') AS confined;

-- name: adhoc_query_check
-- connection: adhoc
-- Only a query runs: a user's statement is parsed (never run) behind this prefix first,
-- and PostgreSQL's grammar takes nothing after it but a query (SELECT, VALUES, TABLE,
-- WITH … SELECT, in any parentheses, comments or case). EXPLAIN, SHOW, FETCH, SET and
-- every other command fail that parse: EXPLAIN's row counts ("Rows Removed by Filter")
-- and estimates are counted before the views' project filter, over every tenant's rows.
-- in:
-- out:
DECLARE runwatch_query_check NO SCROLL CURSOR FOR

-- name: adhoc_begin
-- connection: adhoc
-- in:
-- out:
BEGIN READ ONLY;

-- name: adhoc_setup
-- connection: adhoc
-- timeout_ms is both the statement and the lock timeout. replica_lag_s: on a streaming
-- replica, the seconds since the last commit it replayed (the answer's replica_lag_s, which
-- the dashboard shows); NULL on a primary.
-- in: grant, timeout_ms
-- out: runwatch_grant, statement_timeout, lock_timeout, search_path, replica_lag_s
SELECT set_config('runwatch.grant', $1, true) AS runwatch_grant,
    set_config('statement_timeout', $2, true) AS statement_timeout,
    set_config('lock_timeout', $2, true) AS lock_timeout,
    set_config('search_path', 'report', true) AS search_path,
    CASE WHEN pg_catalog.pg_is_in_recovery()
         THEN coalesce(extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp())::float8, 0)
    END AS replica_lag_s;

-- name: adhoc_end
-- connection: adhoc
-- Rolls back and clears what a rollback does not: prepared statements and session advisory
-- locks. A script of three commands (run with PQexec).
-- in:
-- out: pg_advisory_unlock_all
ROLLBACK; DEALLOCATE ALL; SELECT pg_advisory_unlock_all();

-- name: adhoc_replica
-- What a connection reads from: whether its server is a standby (a streaming replica), and
-- then the seconds since the last commit it replayed: its lag behind the primary while the primary writes
-- (on an idle primary it grows though nothing is missing). NULL on a primary. Run as text
-- on the ad-hoc SQL connection for /metrics (db_report.c, prom.c), and prepared on the API's
-- connections for the built-in reports' X-Runwatch-Replica-Lag (api/reports.c, db_read).
-- in:
-- out: standby, lag_s
SELECT pg_catalog.pg_is_in_recovery() AS standby,
       CASE WHEN pg_catalog.pg_is_in_recovery()
            THEN extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp())::float8
       END AS lag_s;
