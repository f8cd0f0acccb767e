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
        ('attempt', 'running', 'succeeded', NULL),
        ('attempt', 'running', 'failed', NULL),
        ('attempt', 'running', 'cancelled', NULL)
$$;

CREATE OR REPLACE FUNCTION lifecycle_legal(entity text, from_status text, to_status text,
                                           system_move text)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT from_status = to_status OR EXISTS (
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

-- The trigger of runs and attempts (TG_ARGV[0]: the entity). The system move the
-- transaction announced, if any, is read here and nowhere else.
CREATE OR REPLACE FUNCTION lifecycle_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT lifecycle_legal(TG_ARGV[0], OLD.status, NEW.status,
                           nullif(current_setting('runwatch.transition', true), '')) THEN
        PERFORM lifecycle_refuse(TG_ARGV[0], OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END $$;

-- The triggers. Their WHEN clause lets every plain legal move through at the executor's
-- speed, with no function call: a move that is not in the table's plain moves (an illegal
-- one, or a system move) calls lifecycle_check, which decides. The clause is written from
-- lifecycle_transitions() when this file is applied, so the table stays the one home of
-- the rules. (A plpgsql call on every status change cost claims and run ends 15-20% of
-- their rate: docs/PERFORMANCE.md.)
DO $$
DECLARE
    e record;
BEGIN
    FOR e IN SELECT 'run' AS entity, 'runs' AS tab
             UNION ALL SELECT 'attempt', 'attempts' LOOP
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER %I BEFORE UPDATE OF status ON %I FOR EACH ROW '
            'WHEN (OLD.status IS DISTINCT FROM NEW.status AND (OLD.status, NEW.status) NOT IN (%s)) '
            'EXECUTE FUNCTION lifecycle_check(%L)',
            e.tab || '_lifecycle', e.tab,
            (SELECT string_agg(format('(%L::text, %L::text)', t.from_status, t.to_status), ', '
                               ORDER BY t.from_status, t.to_status)
             FROM lifecycle_transitions() t
             WHERE t.entity = e.entity AND t.system_move IS NULL),
            e.entity);
    END LOOP;
END $$;

-- The status a run reported as `requested` (NULL: unchanged) gets. The request itself
-- must be a legal move; then a cancel that was asked for wins over a retry: a run asked
-- to stop that would be retried or queued again is cancelled instead.
CREATE OR REPLACE FUNCTION run_next_status(cur text, requested text, cancel_requested boolean)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF requested IS NULL THEN
        RETURN cur;
    END IF;
    IF NOT run_transition_legal(cur, requested, NULL) THEN
        PERFORM lifecycle_refuse('run', cur, requested);
    END IF;
    IF cancel_requested AND requested IN ('retrying', 'queued') THEN
        RETURN 'cancelled';
    END IF;
    RETURN requested;
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
