-- 0012: the write path made cheaper (issue 14). What each change saved, measured, is in
-- docs/PERFORMANCE.md ("the write path"); which index serves which statement, in
-- docs/SQL.md ("Indexes of runs and events").

-- The hot writes' access check is run_writable() (sql/functions/20_runs.sql), a
-- set-returning SQL function that PostgreSQL inlines; the scalar one it replaces was
-- planned again on every call.
DROP FUNCTION run_write_project(uuid, bigint, bigint, boolean);

-- Events and metrics lose their foreign key to runs. Checking it took a lock on the run's
-- row for every row written (a third of a 1000-event batch's CPU) and, with several
-- writers on one run, made MultiXacts. What it guaranteed is kept another way: the
-- statements that write them read the run's row in the same statement (run_writable,
-- worker_stop), the API never deletes a run, and a run deleted by hand takes its events
-- and metrics with it (the runs_delete_logs trigger, sql/functions/20_runs.sql).
ALTER TABLE events DROP CONSTRAINT events_run_id_fkey;
ALTER TABLE metrics DROP CONSTRAINT metrics_run_id_fkey;

-- No statement reads events by project and time (the API reads a run's log by
-- (run_id, id)); the index cost every event an entry and its WAL.
DROP INDEX events_project_ts_idx;

-- Indexes of runs no statement uses: nothing selects runs by experiment, group or root
-- (their columns are written, and shown, only).
DROP INDEX runs_experiment_idx;
DROP INDEX runs_group_idx;
DROP INDEX runs_root_idx;

-- The running runs (the stuck gauge, the anomalies) by project. The index it replaces was
-- keyed on last_heartbeat_at, which no query can use through coalesce(last_heartbeat_at,
-- started_at) and which made every heartbeat a non-HOT update: now a heartbeat of a run
-- without a lease changes no indexed column.
DROP INDEX runs_running_heartbeat_idx;
CREATE INDEX runs_running_idx ON runs (project_id) WHERE status = 'running';

-- The run list's started and ended sorts (migration 0006) and the reports' index-only
-- scans (migration 0008) each had their own index on the same rows and columns: one index
-- each now, the list's keys with the reports' columns included. A claim or a run's end
-- writes one index entry less.
DROP INDEX runs_project_started_idx;
DROP INDEX runs_report_started_idx;
CREATE INDEX runs_project_started_idx ON runs (project_id, started_at DESC, id DESC)
    INCLUDE (kind, queue, status, queued_at, created_at) WHERE started_at IS NOT NULL;
DROP INDEX runs_project_ended_idx;
DROP INDEX runs_report_ended_idx;
CREATE INDEX runs_project_ended_idx ON runs (project_id, ended_at DESC, id DESC)
    INCLUDE (kind, status, started_at, worker_id, experiment_id) WHERE ended_at IS NOT NULL;

-- PostgreSQL parses and plans a table's CHECK constraints again for every statement that
-- writes it, at a cost that grows with the constraint's stored text: a list of values
-- stored as an array of constants (ARRAY['a'::text, …]) is twice the text of one array
-- constant ('{a,…}'::text[]). The same three checks, in the short form (a claim writes
-- runs and attempts, every event insert events). The events' one is not validated again:
-- every row passed the check it replaces, which says the same, and validating would read
-- every event.
ALTER TABLE runs DROP CONSTRAINT runs_status_check,
    ADD CONSTRAINT runs_status_check
        CHECK (status = ANY ('{queued,running,retrying,succeeded,failed,cancelled}'::text[]));
ALTER TABLE attempts DROP CONSTRAINT attempts_status_check,
    ADD CONSTRAINT attempts_status_check
        CHECK (status = ANY ('{queued,running,succeeded,failed,cancelled}'::text[]));
ALTER TABLE events DROP CONSTRAINT events_level_check,
    ADD CONSTRAINT events_level_check
        CHECK (level = ANY ('{debug,info,warning,error,critical}'::text[])) NOT VALID;
