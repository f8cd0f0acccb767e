-- 0010: housekeeping (fcgi/src/housekeep.c, `runwatch-api housekeeper` under serve): the
-- periodic tasks, each one SQL function of sql/functions/70_housekeeping.sql, and the
-- time-partitioned tables whose partitions it keeps (created ahead, dropped past their
-- retention).

-- One row a task. fn names a function (settings jsonb) RETURNS jsonb; the housekeeper
-- runs it through housekeeping_run() when `every` has passed since last_run, and the
-- outcome stays here for an operator to read (`SELECT * FROM housekeeping_tasks`).
CREATE TABLE housekeeping_tasks (
    name        text PRIMARY KEY,
    fn          text NOT NULL,
    every       interval NOT NULL CHECK (every >= interval '1 second'),
    last_run    timestamptz,
    last_ok     boolean,
    last_result text,
    last_error  text
);
INSERT INTO housekeeping_tasks (name, fn, every) VALUES
    ('fold_rollups', 'housekeep_fold_rollups', interval '1 second'),
    ('expire_leases', 'housekeep_expire_leases', interval '5 seconds'),
    ('prune_samples', 'housekeep_prune_samples', interval '1 hour'),
    ('partitions', 'housekeep_partitions', interval '1 hour');

-- Tables partitioned by month on one timestamptz column, with a DEFAULT partition. The
-- housekeeper keeps a partition for this month and months_ahead more, gives the rows
-- that landed in the default their own month, and drops months past the retention of
-- the table's family (RUNWATCH_RETENTION_DAYS_<PARENT>, default: keep everything).
CREATE TABLE time_partitioned (
    parent       text PRIMARY KEY,
    months_ahead integer NOT NULL DEFAULT 3 CHECK (months_ahead BETWEEN 1 AND 120)
);
INSERT INTO time_partitioned (parent, months_ahead) VALUES ('events', 3);
