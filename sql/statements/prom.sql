-- Prometheus (prom.c).

-- name: prom_runs
-- One row a project for GET /metrics: runs by status (one pass over runs_project_status_idx,
-- index only), the start/end counters of migration 0008 summed over their shards, and stuck
-- runs (the partial index of running runs) by each project's threshold.
-- in:
-- out: slug, queued, running, retrying, succeeded, failed, cancelled, started_total, succeeded_total, failed_total, cancelled_total, stuck
SELECT p.slug, coalesce(s.queued, 0) AS queued, coalesce(s.running, 0) AS running,
    coalesce(s.retrying, 0) AS retrying, coalesce(s.succeeded, 0) AS succeeded,
    coalesce(s.failed, 0) AS failed, coalesce(s.cancelled, 0) AS cancelled,
    coalesce(c.started, 0) AS started_total, coalesce(c.succeeded, 0) AS succeeded_total,
    coalesce(c.failed, 0) AS failed_total, coalesce(c.cancelled, 0) AS cancelled_total,
    coalesce(k.stuck, 0) AS stuck
FROM projects p
LEFT JOIN (SELECT project_id, count(*) FILTER (WHERE status = 'queued') AS queued, count(*)
    FILTER (WHERE status = 'running') AS running, count(*) FILTER (WHERE status =
    'retrying') AS retrying, count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
    count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE status =
    'cancelled') AS cancelled FROM runs GROUP BY project_id) s ON s.project_id = p.id
LEFT JOIN (SELECT project_id, sum(started) AS started, sum(succeeded) AS succeeded,
    sum(failed) AS failed, sum(cancelled) AS cancelled FROM run_counters GROUP BY
    project_id) c ON c.project_id = p.id
LEFT JOIN (SELECT r.project_id, count(*) AS stuck FROM runs r LEFT JOIN anomaly_thresholds t
    ON t.project_id = r.project_id WHERE r.status = 'running' AND
    coalesce(r.last_heartbeat_at, r.started_at) < now() - make_interval(secs =>
    coalesce(t.stuck_after_s, (SELECT
    stuck_after_s FROM report.anomaly_defaults()))) GROUP BY r.project_id) k ON k.project_id = p.id
ORDER BY p.slug;
