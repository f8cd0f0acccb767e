-- Lease expiry: a claimed run holds a lease, and a worker that does not renew it in
-- time loses the run. Called by a claim for its own queue (fcgi/src/api/queue.c, so a
-- claimer never waits for the housekeeper) and by the housekeeper for every queue (so
-- runs of a queue nobody claims from are not stuck as running).

-- Fails the running attempt of each run whose lease lapsed (lease_expired) and queues
-- the run again; both arguments NULL: every queue of every project. SKIP LOCKED: the
-- callers never wait on each other or on a worker's heartbeat. running → queued is a
-- system move of the run lifecycle, announced (transaction-local) to its trigger.
-- p_limit (NULL: none) caps how many runs one call moves when it is not a claim's own
-- queue, so the housekeeper, which holds the publishes of what it moved in memory
-- (70_housekeeping.sql), takes tens of thousands of lapsed leases in slices.
-- Returns the runs queued again.
CREATE OR REPLACE FUNCTION expire_leases(p_project bigint DEFAULT NULL, p_queue text DEFAULT NULL,
                                         p_limit integer DEFAULT NULL)
RETURNS TABLE (expired_project bigint, expired_run uuid)
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    -- Only the choice of runs differs: the claim's case (one queue) has its own query so
    -- that its plan walks runs_running_idx (project, queue, lease_expires_at); a generic
    -- plan of the NULL-tolerant one would not.
    IF p_project IS NOT NULL AND p_queue IS NOT NULL THEN
        SELECT array_agg(x.id) INTO ids
        FROM (SELECT r.id FROM runs r
              WHERE r.project_id = p_project AND r.queue = p_queue
                AND r.status = 'running' AND r.lease_expires_at < now()
              FOR UPDATE SKIP LOCKED) x;
    ELSE
        SELECT array_agg(x.id) INTO ids
        FROM (SELECT r.id FROM runs r
              WHERE (p_project IS NULL OR r.project_id = p_project)
                AND (p_queue IS NULL OR r.queue = p_queue)
                AND r.status = 'running' AND r.lease_expires_at < now()
              LIMIT p_limit
              FOR UPDATE SKIP LOCKED) x;
    END IF;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('runwatch.transition', 'lease_expiry', true);
    RETURN QUERY
    -- The failed attempt is the run's latest (only the latest may run): the run's copy of
    -- it (migration 0024) takes its new fields from att, joined by run.
    WITH att AS (UPDATE attempts a SET status = 'failed', ended_at = now(),
                        error_type = 'lease_expired',
                        error_message = 'the worker did not renew its lease in time'
                 WHERE a.run_id = ANY (ids) AND a.status = 'running'
                 RETURNING a.*),
    upd AS (UPDATE runs r SET status = 'queued', queued_at = now(), lease_expires_at = NULL,
                   worker_id = NULL, updated_at = now(),
                   attempt_status = CASE WHEN c.seq IS NULL THEN r.attempt_status ELSE c.status END,
                   attempt_ended_at = CASE WHEN c.seq IS NULL THEN r.attempt_ended_at
                                           ELSE c.ended_at END,
                   attempt_error_type = CASE WHEN c.seq IS NULL THEN r.attempt_error_type
                                             ELSE c.error_type END,
                   attempt_error_message = CASE WHEN c.seq IS NULL THEN r.attempt_error_message
                                                ELSE c.error_message END
            FROM unnest(ids) AS i(id)
            LEFT JOIN att c ON c.run_id = i.id
            WHERE r.id = i.id RETURNING r.project_id, r.id)
    SELECT u.project_id, u.id FROM upd u;
    -- The announcement ends with the move: later statements of a caller's transaction
    -- are checked as usual.
    PERFORM set_config('runwatch.transition', '', true);
END $$;
