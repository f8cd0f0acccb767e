-- Helpers of the runs API: the write check of the hot producer writes, run-end
-- notifications for POST /runs/wait, and the wait slots.

-- The project of a run the caller may write to (member or admin), or NULL: the access
-- check of the hot producer writes (events, metrics, heartbeats) folded into their one
-- statement. A token (token_project set; its scope is checked by the API) writes to its
-- own project's runs; a user to those of projects where they are a member or admin; an
-- instance admin to all. NULL says nothing of why: the API then asks the slow way to
-- answer 404 or 403 precisely.
CREATE OR REPLACE FUNCTION run_write_project(run uuid, token_project bigint, uid bigint, is_admin boolean)
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
