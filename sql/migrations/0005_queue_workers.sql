-- 0005: the work queue and workers. A claimed run holds a lease: its worker must beat
-- before lease_expires_at, or the next claim on the queue fails the attempt
-- (lease_expired) and queues the run again as a new attempt.
ALTER TABLE runs
    ADD COLUMN lease_s integer CHECK (lease_s BETWEEN 1 AND 86400),
    ADD COLUMN lease_expires_at timestamptz;

-- Expired leases of a queue, found by the claim that reclaims them.
CREATE INDEX runs_lease_idx ON runs (project_id, queue, lease_expires_at)
    WHERE status = 'running' AND lease_expires_at IS NOT NULL;

-- The latest attempt of a run (seq DESC) comes from the unique (run_id, seq) index.

CREATE FUNCTION worker_json(w workers) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', w.id, 'name', w.name, 'host', w.host, 'pid', w.pid, 'labels', w.labels,
        'kinds', w.kinds, 'status', w.status, 'started_at', w.started_at,
        'last_heartbeat_at', w.last_heartbeat_at, 'stopped_at', w.stopped_at,
        'resources', w.resources)
$$;
