-- Counters of run starts and ends for Prometheus (GET /metrics, fcgi/src/prom.c). Why
-- they live in PostgreSQL and are sharded: the table's comment in
-- sql/migrations/0008_prometheus_report_indexes.sql. Updates are counted by
-- runs_report_on_update() (50_rollups.sql), one trigger for both aggregates.

CREATE OR REPLACE FUNCTION run_counters_add(project bigint, d_started bigint, d_succeeded bigint,
                                 d_failed bigint, d_cancelled bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO run_counters AS c (project_id, shard, started, succeeded, failed, cancelled)
    VALUES (project, (pg_backend_pid() % 32)::smallint, d_started, d_succeeded, d_failed,
            d_cancelled)
    ON CONFLICT (project_id, shard) DO UPDATE
    SET started = c.started + EXCLUDED.started, succeeded = c.succeeded + EXCLUDED.succeeded,
        failed = c.failed + EXCLUDED.failed, cancelled = c.cancelled + EXCLUDED.cancelled
$$;

-- Inserts: once per statement over the inserted rows, so a bulk load of a million runs
-- costs one grouped pass, not a million function calls.
CREATE OR REPLACE FUNCTION run_counters_on_insert() RETURNS trigger
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

CREATE OR REPLACE TRIGGER runs_counters_insert AFTER INSERT ON runs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION run_counters_on_insert();
