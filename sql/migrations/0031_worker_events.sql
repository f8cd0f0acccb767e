-- A worker's own log (POST /api/v1/workers/{worker}/events): lines about the worker, not
-- about one run (it started, lost its GPU, drained, is short of disk). Kept like a run's
-- events: monthly partitions on ts with a DEFAULT partition, listed in time_partitioned,
-- so the housekeeper creates months ahead and drops the months past their retention.
-- Read by worker and id only (the worker page's tail, and its cursor), so the key leads
-- with the worker. No foreign key to workers (like events since 0012): an append must not
-- lock the worker's row, and the API never deletes a worker.
CREATE SEQUENCE worker_events_id_seq AS bigint;
CREATE TABLE worker_events (
    id          bigint NOT NULL DEFAULT nextval('worker_events_id_seq'),
    project_id  bigint NOT NULL,
    worker_id   bigint NOT NULL,
    ts          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL DEFAULT 'log' CHECK (length(kind) BETWEEN 1 AND 100),
    level       text NOT NULL DEFAULT 'info'
                CHECK (level IN ('debug', 'info', 'warning', 'error', 'critical')),
    message     text NOT NULL DEFAULT '',
    data        jsonb,
    PRIMARY KEY (worker_id, id, ts)
) PARTITION BY RANGE (ts);
ALTER SEQUENCE worker_events_id_seq OWNED BY worker_events.id;
CREATE TABLE worker_events_default PARTITION OF worker_events DEFAULT;

-- "Kept like run events": a family with no retention of its own
-- (RUNWATCH_RETENTION_DAYS_WORKER_EVENTS unset) follows the retention of the family named
-- here (RUNWATCH_RETENTION_DAYS_EVENTS); housekeep_partitions reads it.
ALTER TABLE time_partitioned ADD COLUMN retention_of text;
-- The housekeeper's first pass creates the months; until then rows wait in the default.
INSERT INTO time_partitioned (parent, months_ahead, retention_of) VALUES ('worker_events', 3, 'events');
