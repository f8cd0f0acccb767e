-- Lease expiry: a claimed run holds a lease, and a worker that does not renew it in
-- time loses the run. Called by a claim for its own queue (fcgi/src/api/queue.c, so a
-- claimer never waits for the housekeeper) and by the housekeeper for every queue (so
-- runs of a queue nobody claims from are not stuck as running).

-- Fails the running attempt of each run whose lease lapsed (lease_expired) and queues
-- the run again; both arguments NULL: every queue of every project. SKIP LOCKED: the
-- callers never wait on each other or on a worker's heartbeat. running → queued is a
-- system move of the run lifecycle, announced (transaction-local) to its trigger.
-- Returns the runs queued again.
CREATE OR REPLACE FUNCTION expire_leases(p_project bigint DEFAULT NULL, p_queue text DEFAULT NULL)
RETURNS TABLE (expired_project bigint, expired_run uuid)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('runwatch.transition', 'lease_expiry', true);
    IF p_project IS NOT NULL AND p_queue IS NOT NULL THEN
        -- The claim's case, along runs_lease_idx (project, queue, lease_expires_at).
        RETURN QUERY
        WITH expired AS (SELECT r.id FROM runs r
                         WHERE r.project_id = p_project AND r.queue = p_queue
                           AND r.status = 'running' AND r.lease_expires_at < now()
                         FOR UPDATE SKIP LOCKED),
        att AS (UPDATE attempts a SET status = 'failed', ended_at = now(),
                       error_type = 'lease_expired',
                       error_message = 'the worker did not renew its lease in time'
                FROM expired e WHERE a.run_id = e.id AND a.status = 'running'
                RETURNING a.run_id),
        upd AS (UPDATE runs r SET status = 'queued', queued_at = now(), lease_expires_at = NULL,
                       worker_id = NULL, updated_at = now()
                FROM expired e WHERE r.id = e.id RETURNING r.project_id, r.id)
        SELECT u.project_id, u.id FROM upd u;
    ELSE
        RETURN QUERY
        WITH expired AS (SELECT r.id FROM runs r
                         WHERE (p_project IS NULL OR r.project_id = p_project)
                           AND (p_queue IS NULL OR r.queue = p_queue)
                           AND r.status = 'running' AND r.lease_expires_at < now()
                         FOR UPDATE SKIP LOCKED),
        att AS (UPDATE attempts a SET status = 'failed', ended_at = now(),
                       error_type = 'lease_expired',
                       error_message = 'the worker did not renew its lease in time'
                FROM expired e WHERE a.run_id = e.id AND a.status = 'running'
                RETURNING a.run_id),
        upd AS (UPDATE runs r SET status = 'queued', queued_at = now(), lease_expires_at = NULL,
                       worker_id = NULL, updated_at = now()
                FROM expired e WHERE r.id = e.id RETURNING r.project_id, r.id)
        SELECT u.project_id, u.id FROM upd u;
    END IF;
    PERFORM set_config('runwatch.transition', '', true);
END $$;
