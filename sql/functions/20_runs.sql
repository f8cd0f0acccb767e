-- Helpers of the runs API: the write check of the hot producer writes, what a run's
-- deletion takes with it, run-end notifications for POST /runs/wait, and the wait slots.

-- The project of a run the caller may write to (member or admin), as one row, or no row:
-- the access check of the hot producer writes (events, metrics, heartbeats), which select
-- from it in their one statement. With it the run's latest attempt's seq and status (the
-- row's copy, migration 0024), which a heartbeat checks its attempt against: read with the
-- access check, not by a probe of attempts. A token (token_project set; its scope is checked by the
-- API) writes to its own project's runs; a user to those of projects where they are a
-- member or admin; an instance admin to all. No row says nothing of why: the API then
-- asks the slow way to answer 404 or 403 precisely.
--
-- A set-returning SQL function with one SELECT: PostgreSQL inlines it into the calling
-- statement (EXPLAIN VERBOSE shows an index scan of runs_pkey, no function call), so the
-- check is planned once with the prepared statement. A scalar function (migration 0006's
-- run_write_project) is not inlined when its body has a FROM: it was planned again on
-- every call, 0.2 ms of every write (docs/PERFORMANCE.md).
CREATE OR REPLACE FUNCTION run_writable(run uuid, token_project bigint, uid bigint, is_admin boolean)
RETURNS TABLE (project_id bigint, attempt_seq integer, attempt_status text)
LANGUAGE sql STABLE AS $$
    SELECT r.project_id, r.attempt_seq, r.attempt_status FROM runs r
    WHERE r.id = run
      AND CASE WHEN token_project IS NOT NULL THEN r.project_id = token_project
               ELSE is_admin OR EXISTS (
                   SELECT 1 FROM project_members m
                   WHERE m.project_id = r.project_id AND m.user_id = uid
                     AND m.role IN ('member', 'admin')) END
$$;

-- Events, metrics and spans have no foreign key to runs (migration 0012: checking it locked the
-- run's row for every row written). The statements that add them read the run's row in
-- the same statement, and the API never deletes a run; a run deleted otherwise (by hand,
-- or with its project) takes its events, metrics and spans with it here, as ON DELETE CASCADE
-- did. The lock waits for the writes in flight, whose rows the deletes then see, and holds
-- new ones back until this transaction ends, when the run is gone for them too (a
-- statement takes its snapshot after its locks). Reads are not blocked.
CREATE OR REPLACE FUNCTION runs_delete_logs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE events, metrics, spans IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM events e USING deleted d WHERE e.run_id = d.id;
    DELETE FROM metrics m USING deleted d WHERE m.run_id = d.id;
    DELETE FROM spans s USING deleted d WHERE s.run_id = d.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER runs_delete_logs AFTER DELETE ON runs
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION runs_delete_logs();

-- TRUNCATE runs (CASCADE, for the attempts' key) empties them too.
CREATE OR REPLACE FUNCTION runs_truncate_logs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE events, metrics;
    DELETE FROM spans WHERE run_id IS NOT NULL;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER runs_truncate_logs AFTER TRUNCATE ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION runs_truncate_logs();

-- POST /runs/wait sleeps on LISTEN instead of polling: a run that ends notifies its id,
-- delivered at COMMIT, so a waiter never sees an end that could still roll back.
CREATE OR REPLACE FUNCTION runs_notify_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('runwatch_run_ended', NEW.id::text);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER runs_ended_notify AFTER UPDATE OF ended_at ON runs
    FOR EACH ROW WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION runs_notify_ended();

CREATE OR REPLACE TRIGGER runs_created_ended_notify AFTER INSERT ON runs
    FOR EACH ROW WHEN (NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION runs_notify_ended();

-- A waiter holds an API worker for up to 30 s, so waits take one of a few slots: a
-- session-level advisory lock, released by PostgreSQL if the worker dies. Returns the
-- slot taken, or NULL when all n are busy.
CREATE OR REPLACE FUNCTION wait_slot_take(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    FOR s IN 1..n LOOP
        IF pg_try_advisory_lock(1920165473, s) THEN
            RETURN s;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- The run row's copy of its latest attempt (migration 0024), made again from attempts for
-- the given runs (NULL: every run). The statements that write attempts keep the copy in the
-- same statement; a write to attempts that bypasses them (an import, a test's fixture, a
-- fix by hand) calls this after it. Only runs whose copy differs are written (a run without
-- attempts and without a copy is left as it is). Returns how many runs it wrote.
CREATE OR REPLACE FUNCTION runs_latest_attempt_sync(run_ids uuid[] DEFAULT NULL)
RETURNS bigint
LANGUAGE sql AS $$
    WITH u AS (UPDATE runs r
        SET attempt_seq = a.seq, attempt_status = a.status, attempt_worker_id = a.worker_id,
            attempt_created_at = a.created_at, attempt_started_at = a.started_at,
            attempt_ended_at = a.ended_at, attempt_last_heartbeat_at = a.last_heartbeat_at,
            attempt_error_type = a.error_type, attempt_error_message = a.error_message,
            attempt_error_traceback = a.error_traceback
        FROM (SELECT x.id FROM runs x WHERE run_ids IS NULL OR x.id = ANY (run_ids)) k
        LEFT JOIN LATERAL (SELECT * FROM attempts a WHERE a.run_id = k.id ORDER BY a.seq DESC
            LIMIT 1) a ON true
        WHERE r.id = k.id AND row(r.attempt_seq, r.attempt_status, r.attempt_worker_id,
            r.attempt_created_at, r.attempt_started_at, r.attempt_ended_at,
            r.attempt_last_heartbeat_at, r.attempt_error_type, r.attempt_error_message,
            r.attempt_error_traceback) IS DISTINCT FROM row(a.seq, a.status, a.worker_id,
            a.created_at, a.started_at, a.ended_at, a.last_heartbeat_at, a.error_type,
            a.error_message, a.error_traceback)
        RETURNING 1)
    SELECT count(*) FROM u
$$;

-- A deleted worker leaves its attempts with worker_id NULL (ON DELETE SET NULL), and so the
-- runs' copy of their latest attempt: here, once per statement, rather than a foreign key
-- on runs.attempt_worker_id, whose check would cost every claim. A worker's attempts are
-- of its own project's runs (claims and attempt starts check it), whose range of
-- runs_project_created_idx is read. The API never deletes a worker; a project's deletion
-- (which takes its workers) and a deletion by hand do.
CREATE OR REPLACE FUNCTION runs_workers_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE runs r SET attempt_worker_id = NULL
    FROM deleted d
    WHERE r.project_id = d.project_id AND r.attempt_worker_id = d.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER runs_workers_deleted AFTER DELETE ON workers
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION runs_workers_deleted();
