-- 0043: the watchdog's candidates (housekeep_watchdog, sql/functions/80_agl.sql) without
-- reading every running run. Its pass each second read all of runs_running_idx and each run's
-- row to keep those with a policy of their own or agent-lightning's rollouts: 75 ms a pass
-- at 69,000 running runs, 4% of the CPU under a claim load (docs/PERFORMANCE.md). This index
-- holds only those runs (and requeuing rollouts); runs governed by their queue's policy are
-- read per policy queue from runs_running_idx (project_id, queue, …). A claim of a run
-- without either writes no entry.
CREATE INDEX runs_watch_idx ON runs (status)
    WHERE status IN ('running', 'retrying')
      AND (kind = 'rollout' OR timeout_s IS NOT NULL OR unresponsive_s IS NOT NULL);
