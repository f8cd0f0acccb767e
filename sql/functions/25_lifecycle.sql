-- The lifecycle of runs and attempts: the one table of legal status moves, the trigger
-- that enforces it on every write (API, claims, lease expiry, raw SQL), and the status
-- decisions built on it (cancel wins over retry, lease expiry).
--
-- An illegal move raises SQLSTATE RW409 with the message "cannot move a run from X to Y"
-- (or "an attempt"), DETAIL {"from": X, "to": Y} and COLUMN status; runwatch-api answers
-- it as 409 illegal_transition with that message, field and details (db_err.c).
--
-- Only moves are checked, not a row's first status: imports insert ended runs, and the
-- API lets a run be created only queued or running.

-- Every legal move; moving to the status a row already has is always legal. A move with a
-- system_move is legal only inside a transaction that announced that move with
-- set_config('runwatch.transition', <system_move>, true), as expire_leases() (25_leases.sql) does.
CREATE OR REPLACE FUNCTION lifecycle_transitions()
RETURNS TABLE (entity text, from_status text, to_status text, system_move text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES
        ('run', 'queued', 'running', NULL),
        ('run', 'queued', 'cancelled', NULL),
        ('run', 'queued', 'failed', NULL),
        ('run', 'running', 'succeeded', NULL),
        ('run', 'running', 'failed', NULL),
        ('run', 'running', 'cancelled', NULL),
        ('run', 'running', 'retrying', NULL),
        ('run', 'retrying', 'running', NULL),
        ('run', 'retrying', 'queued', NULL),
        ('run', 'retrying', 'failed', NULL),
        ('run', 'retrying', 'cancelled', NULL),
        -- A worker that let its lease lapse loses the run: it is queued for another.
        ('run', 'running', 'queued', 'lease_expiry'),
        -- A worker failed it and its retry policy retries on `failed` (run_policy_requeue).
        ('run', 'running', 'queued', 'retry_policy'),
        ('attempt', 'running', 'succeeded', NULL),
        ('attempt', 'running', 'failed', NULL),
        ('attempt', 'running', 'cancelled', NULL)
$$;

CREATE OR REPLACE FUNCTION lifecycle_legal(entity text, from_status text, to_status text,
                                           system_move text)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    -- 'agl': the agent-lightning store's functions (80_agl.sql), whose status machine lets
    -- any update set any status (docs/AGENT_LIGHTNING.md); they announce it as a system move.
    -- 'celery': the Celery bridge's ingest (85_celery.sql), which applies Celery's own
    -- precedence to events that arrive out of order or after a gap (a task seen succeeding
    -- whose start was missed goes from queued to succeeded).
    SELECT from_status = to_status OR coalesce(system_move, '') IN ('agl', 'celery') OR EXISTS (
        SELECT 1 FROM lifecycle_transitions() t
        WHERE t.entity = lifecycle_legal.entity AND t.from_status = lifecycle_legal.from_status
          AND t.to_status = lifecycle_legal.to_status
          AND (t.system_move IS NULL OR t.system_move = lifecycle_legal.system_move))
$$;

-- The run's table, as the issue names it.
CREATE OR REPLACE FUNCTION run_transition_legal(from_status text, to_status text, system_move text)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT lifecycle_legal('run', from_status, to_status, system_move)
$$;

-- The one error of an illegal move (see the top of this file).
CREATE OR REPLACE FUNCTION lifecycle_refuse(entity text, from_status text, to_status text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'RW409',
        MESSAGE = format('cannot move %s from %s to %s',
                         CASE entity WHEN 'attempt' THEN 'an attempt' ELSE 'a run' END,
                         from_status, to_status),
        DETAIL = json_build_object('from', from_status, 'to', to_status)::text,
        COLUMN = 'status';
END $$;

-- The plain moves (those without a system_move) as 'entity:from>to' texts: the triggers'
-- fast path.
CREATE OR REPLACE FUNCTION lifecycle_plain_moves() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(t.entity || ':' || t.from_status || '>' || t.to_status)
    FROM lifecycle_transitions() t
    WHERE t.system_move IS NULL
$$;

-- The trigger of runs and attempts (TG_ARGV[0]: the entity), called for every change of
-- status. A plain legal move returns at the first test: lifecycle_plain_moves() is
-- immutable with no arguments, so PostgreSQL folds it into a constant array when it plans
-- the expression, once a session. Anything else (an illegal move, or a system move) asks
-- the table; the system move the transaction announced, if any, is read here and nowhere
-- else.
CREATE OR REPLACE FUNCTION lifecycle_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] || ':' || OLD.status || '>' || NEW.status = ANY (lifecycle_plain_moves()) THEN
        RETURN NEW;
    END IF;
    IF NOT lifecycle_legal(TG_ARGV[0], OLD.status, NEW.status,
                           nullif(current_setting('runwatch.transition', true), '')) THEN
        PERFORM lifecycle_refuse(TG_ARGV[0], OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END $$;

-- The triggers. Their WHEN clause is as small as it can be: PostgreSQL parses and plans a
-- trigger's WHEN clause again for every statement that updates the table, and the earlier
-- clause that listed every plain legal move cost a claim about 18% of its CPU, more than
-- the function call it saved (docs/PERFORMANCE.md).
CREATE OR REPLACE TRIGGER runs_lifecycle BEFORE UPDATE OF status ON runs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION lifecycle_check('run');

CREATE OR REPLACE TRIGGER attempts_lifecycle BEFORE UPDATE OF status ON attempts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION lifecycle_check('attempt');

-- The status a run reported as `requested` (NULL: unchanged) gets. The request itself
-- must be a legal move; then a cancel that was asked for wins over a retry: a run asked
-- to stop that would be retried or queued again is cancelled instead. A request is legal
-- when it keeps the status or is a plain move (no system move is requested through the
-- API): tested against the constant array, as the trigger does, rather than by asking
-- run_transition_legal(), a SQL function planned again on every call (a third of a run's
-- end in CPU; docs/PERFORMANCE.md).
CREATE OR REPLACE FUNCTION run_next_status(cur text, requested text, cancel_requested boolean)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF requested IS NULL THEN
        RETURN cur;
    END IF;
    IF cur <> requested AND NOT ('run:' || cur || '>' || requested) = ANY (lifecycle_plain_moves()) THEN
        PERFORM lifecycle_refuse('run', cur, requested);
    END IF;
    IF cancel_requested AND requested IN ('retrying', 'queued') THEN
        RETURN 'cancelled';
    END IF;
    RETURN requested;
END $$;

-- The status a running run a worker reports `failed` (ns, from run_next_status) gets under
-- its retry policy, its own else its queue's: back to its queue ('queued', claimed later as a
-- new attempt) while `failed` is in retry_on and attempts remain, as the watchdog does for
-- `timeout` and `unresponsive`; a run asked to stop is not requeued. The move is a system
-- move, announced for the caller's transaction (the API's statements are one each). Only
-- called for a failure (run_update's CASE), so other updates pay nothing for it.
CREATE OR REPLACE FUNCTION run_policy_requeue(r runs, ns text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF ns = 'failed' AND r.status = 'running' AND NOT r.cancel_requested AND EXISTS (
        SELECT 1 FROM (SELECT 1) one
        LEFT JOIN queue_policies q ON q.project_id = r.project_id AND q.queue = r.queue
        WHERE 'failed' = ANY (coalesce(r.retry_on, q.retry_on, '{}'))
          AND coalesce(r.attempt_seq, 0) < coalesce(r.max_attempts, q.max_attempts, 1)) THEN
        PERFORM set_config('runwatch.transition', 'retry_policy', true);
        RETURN 'queued';
    END IF;
    RETURN ns;
END $$;

-- Derived states (stuck, stale, lease expired) are never stored: they are computed from a
-- project's anomaly thresholds (anomaly_thresholds), and where a project has set none,
-- from these defaults, their one home. The API's thresholds (which the dashboard's
-- badges use), the anomalies report (report.thresholds) and Prometheus' stuck gauge all
-- read them through here, so a badge and the anomalies panel always agree. (Migration
-- 0007's column defaults are history: every write names all three values.) In the report
-- schema so that the ad-hoc SQL role may call it through report.thresholds.
CREATE OR REPLACE FUNCTION report.anomaly_defaults(OUT stuck_after_s integer,
                                                   OUT stale_after_s integer,
                                                   OUT lease_window_s integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 300, 3600, 3600
$$;
