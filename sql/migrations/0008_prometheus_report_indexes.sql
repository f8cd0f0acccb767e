-- 0008: counters of run starts and ends for Prometheus (GET /metrics, fcgi/src/prom.c),
-- and the indexes the built-in reports need at 1M runs and 10M events
-- (tests/bench/reports.sh, docs/PERFORMANCE.md).

-- ---------------------------------------------------------------- run counters
-- Why in PostgreSQL and not in the API's shared counters: runs start and end in many
-- statements (a create, a PATCH, a claim, an attempt's end, a cancel), and the database
-- is the one place that sees every one of them, once, and only when it commits. The
-- counts survive API restarts and are the same whichever API box is scraped.
--
-- Why sharded rows: one row per project would make every start and end of a project
-- queue behind the others on that row's lock until COMMIT. A row per (project, shard),
-- the shard taken from the backend's pid, gives each API worker's connection its own
-- row, so two writers meet on a row only when their pids collide modulo 32. A scrape
-- sums the shards.
CREATE TABLE run_counters (
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    shard      smallint NOT NULL,
    started    bigint NOT NULL DEFAULT 0, -- runs that got a started_at (first start only)
    succeeded  bigint NOT NULL DEFAULT 0, -- runs that reached a final status
    failed     bigint NOT NULL DEFAULT 0,
    cancelled  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, shard)
);

CREATE FUNCTION run_counters_add(project bigint, d_started bigint, d_succeeded bigint,
                                 d_failed bigint, d_cancelled bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO run_counters AS c (project_id, shard, started, succeeded, failed, cancelled)
    VALUES (project, (pg_backend_pid() % 32)::smallint, d_started, d_succeeded, d_failed,
            d_cancelled)
    ON CONFLICT (project_id, shard) DO UPDATE
    SET started = c.started + EXCLUDED.started, succeeded = c.succeeded + EXCLUDED.succeeded,
        failed = c.failed + EXCLUDED.failed, cancelled = c.cancelled + EXCLUDED.cancelled
$$;

-- Updates: a row trigger whose WHEN clause PostgreSQL checks without calling the
-- function, so heartbeats and progress updates cost nothing here. Final statuses are
-- final (runs_transition_ok), so a run is counted as finished once.
CREATE FUNCTION run_counters_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    fin boolean := NEW.status IN ('succeeded', 'failed', 'cancelled')
                   AND OLD.status IS DISTINCT FROM NEW.status;
BEGIN
    PERFORM run_counters_add(NEW.project_id,
        (OLD.started_at IS NULL AND NEW.started_at IS NOT NULL)::int,
        (fin AND NEW.status = 'succeeded')::int, (fin AND NEW.status = 'failed')::int,
        (fin AND NEW.status = 'cancelled')::int);
    RETURN NULL;
END $$;
CREATE TRIGGER runs_counters_update AFTER UPDATE OF status, started_at ON runs
    FOR EACH ROW
    WHEN ((OLD.started_at IS NULL AND NEW.started_at IS NOT NULL)
          OR (OLD.status IS DISTINCT FROM NEW.status
              AND NEW.status IN ('succeeded', 'failed', 'cancelled')))
    EXECUTE FUNCTION run_counters_on_update();

-- Inserts: once per statement over the inserted rows, so a bulk load of a million runs
-- costs one grouped pass, not a million function calls.
CREATE FUNCTION run_counters_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM run_counters_add(n.project_id, n.started, n.succeeded, n.failed, n.cancelled)
    FROM (SELECT project_id,
                 count(*) FILTER (WHERE started_at IS NOT NULL) AS started,
                 count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                 count(*) FILTER (WHERE status = 'failed') AS failed,
                 count(*) FILTER (WHERE status = 'cancelled') AS cancelled
          FROM inserted
          WHERE started_at IS NOT NULL OR status IN ('succeeded', 'failed', 'cancelled')
          GROUP BY project_id) n;
    RETURN NULL;
END $$;
CREATE TRIGGER runs_counters_insert AFTER INSERT ON runs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION run_counters_on_insert();

-- Runs that existed before this migration count from here, so the counters start at
-- the totals stored now rather than at zero.
INSERT INTO run_counters (project_id, shard, started, succeeded, failed, cancelled)
SELECT project_id, 0, count(*) FILTER (WHERE started_at IS NOT NULL),
       count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'cancelled')
FROM runs GROUP BY project_id;

-- ---------------------------------------------------------------- report indexes
-- The built-in reports read every run that started (throughput, queue wait) or ended
-- (throughput, durations, failure rate) in a window. Through the plain time indexes of
-- 0006 each row cost a heap visit in time order; at 1M runs over 30 days that was most
-- of the time (throughput 2.7 s, durations 2.0 s, queue wait 1.5 s, failure rate
-- 0.9 s; docs/PERFORMANCE.md). These carry every column those reports read, so they
-- are answered by index-only scans. The price: runs updates that change an indexed
-- column (status, heartbeats: already not HOT) write two more index entries.
CREATE INDEX runs_report_started_idx ON runs (project_id, started_at)
    INCLUDE (kind, queue, status, queued_at, created_at) WHERE started_at IS NOT NULL;
CREATE INDEX runs_report_ended_idx ON runs (project_id, ended_at)
    INCLUDE (kind, status, started_at, worker_id, experiment_id) WHERE ended_at IS NOT NULL;
