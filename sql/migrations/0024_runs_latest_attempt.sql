-- 0024: the run row keeps a copy of its latest attempt's fields (what run_json() shows of it
-- as latest_attempt), so the run list and the reads of one run take them from the row they
-- read anyway instead of probing attempts (run_id, seq) once per run: the probe was 14-20%
-- of a list page's statement even when no run had an attempt (docs/PERFORMANCE.md,
-- "the latest attempt on the run row"). All NULL before the first attempt (attempt_seq is
-- NULL exactly then). Every statement that creates or changes an attempt writes them in the
-- same statement (sql/statements/queue.sql, runs.sql; expire_leases() in
-- sql/functions/25_leases.sql); a worker's deletion clears attempt_worker_id as the
-- attempts' ON DELETE SET NULL does (runs_workers_deleted, sql/functions/20_runs.sql); a
-- raw write to attempts outside those calls runs_latest_attempt_sync() (docs/SQL.md).
-- Nullable without a default: adding them rewrites nothing; the backfill rewrites the runs
-- that have an attempt.

ALTER TABLE runs
    ADD COLUMN attempt_seq integer,
    ADD COLUMN attempt_status text,
    ADD COLUMN attempt_worker_id bigint,
    ADD COLUMN attempt_created_at timestamptz,
    ADD COLUMN attempt_started_at timestamptz,
    ADD COLUMN attempt_ended_at timestamptz,
    ADD COLUMN attempt_last_heartbeat_at timestamptz,
    ADD COLUMN attempt_error_type text,
    ADD COLUMN attempt_error_message text,
    ADD COLUMN attempt_error_traceback text;

UPDATE runs r
SET attempt_seq = a.seq, attempt_status = a.status, attempt_worker_id = a.worker_id,
    attempt_created_at = a.created_at, attempt_started_at = a.started_at,
    attempt_ended_at = a.ended_at, attempt_last_heartbeat_at = a.last_heartbeat_at,
    attempt_error_type = a.error_type, attempt_error_message = a.error_message,
    attempt_error_traceback = a.error_traceback
FROM (SELECT DISTINCT ON (run_id) * FROM attempts ORDER BY run_id, seq DESC) a
WHERE r.id = a.run_id;

-- run_writable() (sql/functions/20_runs.sql) answers the copy's seq and status too, for the
-- heartbeat: a new result type, which CREATE OR REPLACE cannot give an existing function.
-- The functions are applied after the migrations, so it exists again before anything calls
-- it.
DROP FUNCTION IF EXISTS run_writable(uuid, bigint, bigint, boolean);
