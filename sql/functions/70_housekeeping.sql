-- Housekeeping: the periodic tasks of housekeeping_tasks (migration 0010), run by the
-- housekeeper process (fcgi/src/housekeep.c) or once by `runwatch-api housekeep
-- --once`. A task is a function (settings jsonb) RETURNS jsonb: settings carries the
-- process's configuration ({"retention_days": {"events": 90}}); the result is what it
-- did, plus an optional "publish" array of live events ({project, type, run, data})
-- that the process sends to Redis once the task has committed, and "more": true when
-- it did a bounded slice of its work and more is left: the process then runs it again
-- at once, after those publishes, each slice a statement (so a commit) of its own. Each
-- task is safe to run from two processes at once (its own lock or SKIP LOCKED), so a
-- second box, or an operator's --once beside a running housekeeper, only repeats work.

-- The report rollups' deltas, folded (rollup_fold, 50_rollups.sql). A batch is capped
-- so one pass holds the folder's lock for about a second at most; the next goes on.
CREATE OR REPLACE FUNCTION housekeep_fold_rollups(settings jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('folded', greatest(rollup_fold(50000), 0))
$$;

-- Lapsed leases of every queue (25_leases.sql), with a live event for each run queued
-- again, like the claim sends. Tens of thousands can lapse at once (workers lost, the
-- stack down for a while): 1000 runs a slice, so the list of publishes the housekeeper
-- holds stays small, and "more" has it run the next slice at once.
CREATE OR REPLACE FUNCTION housekeep_expire_leases(settings jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'requeued', count(*),
        'more', count(*) >= 1000,
        'publish', coalesce(jsonb_agg(jsonb_build_object(
            'project', e.expired_project::text, 'type', 'run.updated', 'run', e.expired_run,
            'data', jsonb_build_object('status', 'queued', 'reason', 'lease_expired'))), '[]'))
    FROM expire_leases(NULL, NULL, 1000) e
$$;

-- The claim walks' starts (26_queue_heads.sql), moved past the runs claimed since the last
-- pass: 500 queues with queued runs a pass at most, the least recently looked at first.
CREATE OR REPLACE FUNCTION housekeep_queue_heads(settings jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('moved', queue_heads_advance(500))
$$;

-- Span number holds (span_seq_holds, migration 0044) that nobody will release: their
-- session is gone (a worker died between span_reserve and span_insert) or has been idle
-- for ten seconds since (a batch that failed after its reservation, on a session that has
-- taken no batch since). A live batch's hold is never older than its insert: span_insert
-- follows span_reserve on the same session at once. Until a hold goes, its run's readers
-- by sequence id stop below it. A session is the pid's only while it started before the
-- hold was made (a pid can be used again). settings.span_hold_s: the ten seconds (a test
-- sets 0).
CREATE OR REPLACE FUNCTION housekeep_span_holds(settings jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM span_seq_holds h
               WHERE h.created_at <= now() - interval '1 second' *
                     coalesce((settings ->> 'span_hold_s')::numeric, 10)
                 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                 WHERE a.pid = h.pid AND a.backend_start <= h.created_at
                                   AND a.state <> 'idle')
               RETURNING 1)
    SELECT jsonb_build_object('released', count(*)) FROM d
$$;

-- Workers' resource samples are kept for 7 days. Deleted worker by worker, along the
-- (worker_id, ts) index.
CREATE OR REPLACE FUNCTION housekeep_prune_samples(settings jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM worker_samples s USING workers w
               WHERE s.worker_id = w.id AND s.ts < now() - interval '7 days' RETURNING 1)
    SELECT jsonb_build_object('pruned', count(*)) FROM d
$$;

-- Failed-login counts (login_failures, migration 0014) a day after their last failure:
-- a lock lasts 15 minutes at most, and a client that failed then stopped starts afresh
-- (user_login_failed ignores such a count already; this keeps the table small).
CREATE OR REPLACE FUNCTION housekeep_prune_login_failures(settings jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM login_failures WHERE last_failed_at < now() - interval '1 day'
               RETURNING 1)
    SELECT jsonb_build_object('pruned', count(*)) FROM d
$$;

-- The Idempotency-Keys of event and metric batches are kept 24 hours (migration 0017).
CREATE OR REPLACE FUNCTION housekeep_prune_write_keys(settings jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM write_keys WHERE created_at < now() - interval '24 hours' RETURNING 1)
    SELECT jsonb_build_object('pruned', count(*)) FROM d
$$;

-- Every table of time_partitioned: months past its family's retention
-- (settings.retention_days.<parent>, else that of its retention_of family, absent: keep
-- everything) dropped first, then this
-- month and the months ahead created, and rows that landed in the default partition
-- given their own month. One pass at a time (the lock), and a parent busy for longer
-- than the lock_timeout fails this pass only: the next one tries again.
CREATE OR REPLACE FUNCTION housekeep_partitions(settings jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    days integer;
    result jsonb := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('runwatch.partitions'));
    PERFORM set_config('lock_timeout', '10s', true);
    FOR t IN SELECT * FROM time_partitioned ORDER BY parent LOOP
        -- A family without its own retention may follow another's (retention_of,
        -- migration 0031: worker_events are kept like events).
        days := coalesce(settings -> 'retention_days' ->> t.parent,
                         settings -> 'retention_days' ->> t.retention_of)::integer;
        result := result || jsonb_build_object(t.parent,
            partitions_drop_expired(t.parent, days) || partitions_ensure(t.parent, t.months_ahead));
    END LOOP;
    RETURN result;
END $$;

-- The tasks to run now, in name order: those whose interval has passed (all of them
-- when p_all).
CREATE OR REPLACE FUNCTION housekeeping_due(p_all boolean) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT name FROM housekeeping_tasks
    WHERE p_all OR last_run IS NULL OR last_run + every <= now()
    ORDER BY name
$$;

-- Runs one task and records its outcome. A failing task is rolled back alone (the
-- block's subtransaction) and reported, never raised: the caller goes on with the next.
-- Returns ok, the result without its "publish" array (or {"error": …}), and that array.
CREATE OR REPLACE FUNCTION housekeeping_run(p_name text, p_settings jsonb)
RETURNS TABLE (ok boolean, result jsonb, publish jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    t housekeeping_tasks;
    r jsonb;
    err text;
BEGIN
    SELECT * INTO t FROM housekeeping_tasks WHERE name = p_name;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, jsonb_build_object('error', 'no such task'), '[]'::jsonb;
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('SELECT %I($1)', t.fn) INTO r USING coalesce(p_settings, '{}');
        r := coalesce(r, '{}');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
    END;
    UPDATE housekeeping_tasks
    SET last_run = now(), last_ok = err IS NULL,
        last_result = CASE WHEN err IS NULL THEN (r - 'publish')::text ELSE last_result END,
        last_error = err
    WHERE name = p_name;
    IF err IS NOT NULL THEN
        RETURN QUERY SELECT false, jsonb_build_object('error', err), '[]'::jsonb;
    ELSE
        RETURN QUERY SELECT true, r - 'publish', coalesce(r -> 'publish', '[]');
    END IF;
END $$;
