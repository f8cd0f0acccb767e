-- 0041: one index of running runs instead of two. runs_running_idx (project_id) and
-- runs_lease_idx (project_id, queue, lease_expires_at) both held the running runs (the
-- second only those with a lease), so a claim, whose update of runs is never HOT, wrote an
-- entry into each. The lease index without its "has a lease" clause holds every running
-- run and serves both: expire_leases (project, queue, lease_expires_at < now(): a NULL
-- lease never matches), and the stuck gauge, the anomalies and the watchdog, which read
-- the running runs of a project (its first column) or of all projects (the whole, small,
-- partial index, as before). docs/SQL.md, docs/PERFORMANCE.md ("the claim's indexes").
DROP INDEX runs_running_idx;
DROP INDEX runs_lease_idx;
CREATE INDEX runs_running_idx ON runs (project_id, queue, lease_expires_at)
    WHERE status = 'running';
