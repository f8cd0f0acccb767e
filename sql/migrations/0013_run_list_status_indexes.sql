-- 0013: the run list sorted by start, end or duration scans one status at a time, like the
-- list by creation (runs_project_status_idx): (project, status, key, id) per sort replaces
-- (project, key, id). With the status first, a list of succeeded runs is one range scan
-- however many newer runs of another status the project holds (before, 100,000 newer
-- queued runs were read and thrown away on every page), and a list of every status merges
-- six range scans (sql/statements/runs.sql, fragment run_list_statuses). The (project, key)
-- indexes of started and ended stay: the reports read them by time over every status
-- (index-only, through their INCLUDE columns: migration 0012); the duration one had no
-- other reader.

CREATE INDEX runs_project_status_started_idx ON runs (project_id, status, started_at DESC, id DESC)
    WHERE started_at IS NOT NULL;
CREATE INDEX runs_project_status_ended_idx ON runs (project_id, status, ended_at DESC, id DESC)
    WHERE ended_at IS NOT NULL;
CREATE INDEX runs_project_status_duration_idx
    ON runs (project_id, status, (ended_at - started_at) DESC, id DESC)
    WHERE ended_at IS NOT NULL AND started_at IS NOT NULL;

DROP INDEX runs_project_duration_idx;
