-- 0006: run list sorts by start, end and duration; run-end notifications for
-- POST /runs/wait; worker sessions and resource samples.

-- Keyset pages for sort=started|ended|duration: (key, id) in the index, so a page is
-- an index range scan whatever the table's size. Runs without the key (never started,
-- not ended) are not in these lists, which the API documents.
DROP INDEX runs_project_started_idx;
DROP INDEX runs_project_ended_idx;
CREATE INDEX runs_project_started_idx ON runs (project_id, started_at DESC, id DESC)
    WHERE started_at IS NOT NULL;
CREATE INDEX runs_project_ended_idx ON runs (project_id, ended_at DESC, id DESC)
    WHERE ended_at IS NOT NULL;
CREATE INDEX runs_project_duration_idx ON runs (project_id, (ended_at - started_at) DESC, id DESC)
    WHERE ended_at IS NOT NULL AND started_at IS NOT NULL;

-- POST /runs/wait sleeps on LISTEN instead of polling: a run that ends notifies its id,
-- delivered at COMMIT, so a waiter never sees an end that could still roll back.
CREATE FUNCTION runs_notify_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('runwatch_run_ended', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER runs_ended_notify AFTER UPDATE OF ended_at ON runs
    FOR EACH ROW WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION runs_notify_ended();
CREATE TRIGGER runs_created_ended_notify AFTER INSERT ON runs
    FOR EACH ROW WHEN (NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION runs_notify_ended();

-- A waiter holds an API worker for up to 30 s, so waits take one of a few slots: a
-- session-level advisory lock, released by PostgreSQL if the worker dies. Returns the
-- slot taken, or NULL when all n are busy.
CREATE FUNCTION wait_slot_take(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    FOR s IN 1..n LOOP
        IF pg_try_advisory_lock(1920165473, s) THEN
            RETURN s;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- Each registration of a worker is a session: host and pid of that process, when it
-- began and how it ended (stopped by itself, or replaced by a new registration).
CREATE TABLE worker_sessions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker_id  bigint NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    host       text NOT NULL DEFAULT '',
    pid        integer,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz,
    end_reason text CHECK (end_reason IN ('stopped', 'replaced'))
);
CREATE INDEX worker_sessions_worker_idx ON worker_sessions (worker_id, started_at DESC);
INSERT INTO worker_sessions (worker_id, host, pid, started_at, ended_at, end_reason)
    SELECT id, host, pid, started_at, stopped_at,
           CASE WHEN stopped_at IS NOT NULL THEN 'stopped' END FROM workers;

-- Resource samples sent with heartbeats, kept for a week (pruned as new ones arrive).
CREATE TABLE worker_samples (
    worker_id bigint NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    ts        timestamptz NOT NULL DEFAULT now(),
    sample    jsonb NOT NULL
);
CREATE INDEX worker_samples_worker_ts_idx ON worker_samples (worker_id, ts DESC);

-- The project of a run the caller may write to (member or admin), or NULL: the access
-- check of the hot producer writes (events, metrics, heartbeats) folded into their one
-- statement. A token (token_project set; its scope is checked by the API) writes to its
-- own project's runs; a user to those of projects where they are a member or admin; an
-- instance admin to all. NULL says nothing of why: the API then asks the slow way to
-- answer 404 or 403 precisely.
CREATE FUNCTION run_write_project(run uuid, token_project bigint, uid bigint, is_admin boolean)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT r.project_id FROM runs r
    WHERE r.id = run
      AND CASE WHEN token_project IS NOT NULL THEN r.project_id = token_project
               ELSE is_admin OR EXISTS (
                   SELECT 1 FROM project_members m
                   WHERE m.project_id = r.project_id AND m.user_id = uid
                     AND m.role IN ('member', 'admin')) END
$$;
