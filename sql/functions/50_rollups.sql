-- The maintained rollups of the built-in reports: buckets, the deltas the run triggers
-- append and the folder that moves them into rollup_hourly and rollup_hist_daily. What
-- is kept and why it is kept this way: the comment at the top of
-- sql/migrations/0009_report_rollups.sql. The housekeeper folds (70_housekeeping.sql).

-- α, the one place it is set: the buckets below and the reports' `relative_error`.
CREATE OR REPLACE FUNCTION report.hist_relative_error() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 0.01::double precision $$;

CREATE OR REPLACE FUNCTION report.hist_gamma() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (1 + report.hist_relative_error()) / (1 - report.hist_relative_error())
$$;

-- Log buckets of relative accuracy α = 1% (the DDSketch scheme): bucket b holds the
-- values in (γ^(b−1), γ^b] with γ = (1 + α) / (1 − α), and hist_value(b) is within α
-- of every one of them. 2 ms to 30 days takes about 1,000 buckets; a kind's runs use
-- the few hundred around its typical length. Values under 1 ms (and negative ones, an
-- end reported before its start) share bucket −1000.
CREATE OR REPLACE FUNCTION report.hist_bucket(v double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v < 0.001 THEN -1000
                ELSE ceil(ln(v) / ln(report.hist_gamma()))::integer END::smallint
$$;

CREATE OR REPLACE FUNCTION report.hist_value(b smallint) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b = -1000 THEN 0
                ELSE 2 * power(report.hist_gamma(), b) / (report.hist_gamma() + 1) END
$$;

-- The part of [from_ts, to_ts) made of whole grains (hours, days) that the rollups
-- answer: [rollup_lo, rollup_hi). The rest, at each end, is read from the runs. When
-- the window holds no whole grain, the report's buckets are not whole grains, or grain
-- is NULL, both are to_ts: the rollups answer nothing and the runs everything.
CREATE OR REPLACE FUNCTION report.rollup_lo(from_ts timestamptz, to_ts timestamptz, grain interval,
                                 bucket interval) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN grain IS NOT NULL AND (bucket IS NULL OR (extract(epoch FROM bucket) >= extract(epoch FROM grain)
                                         AND mod(extract(epoch FROM bucket), extract(epoch FROM grain)) = 0))
                     AND c.lo < c.hi THEN c.lo ELSE to_ts END
    FROM (SELECT CASE WHEN date_bin(grain, from_ts, timestamptz '2000-01-03 00:00+00') = from_ts
                      THEN from_ts
                      ELSE date_bin(grain, from_ts, timestamptz '2000-01-03 00:00+00') + grain END AS lo,
                 date_bin(grain, to_ts, timestamptz '2000-01-03 00:00+00') AS hi) c
$$;

CREATE OR REPLACE FUNCTION report.rollup_hi(from_ts timestamptz, to_ts timestamptz, grain interval,
                                 bucket interval) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN report.rollup_lo(from_ts, to_ts, grain, bucket) = to_ts THEN to_ts
                ELSE date_bin(grain, to_ts, timestamptz '2000-01-03 00:00+00') END
$$;

-- The ends of the window that the runs answer, as two ranges [a, z): the report
-- functions join the runs to them (LATERAL, kept from being pulled up into a join whose
-- selectivity the planner cannot know), one index range scan each.
CREATE OR REPLACE FUNCTION report.rollup_edges(from_ts timestamptz, to_ts timestamptz, grain interval,
                                    bucket interval) RETURNS TABLE (a timestamptz, z timestamptz)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES (from_ts, report.rollup_lo(from_ts, to_ts, grain, bucket)),
           (report.rollup_hi(from_ts, to_ts, grain, bucket), to_ts)
$$;

-- A run's start and end as rollup_delta rows (n = +1). The queue wait and duration are
-- those the report functions read from the runs (60_reports.sql).
CREATE OR REPLACE FUNCTION rollup_contributions(r runs, n integer)
RETURNS SETOF rollup_delta
LANGUAGE sql IMMUTABLE AS $$
    SELECT r.project_id, 's'::"char", r.started_at, r.kind, r.queue, r.status, r.experiment_id,
           greatest(0, extract(epoch FROM r.started_at - coalesce(r.queued_at, r.created_at)))::double precision,
           n
    WHERE r.started_at IS NOT NULL
    UNION ALL
    SELECT r.project_id, 'e'::"char", r.ended_at, r.kind, r.queue, r.status, r.experiment_id,
           extract(epoch FROM r.ended_at - r.started_at)::double precision, n
    WHERE r.ended_at IS NOT NULL
$$;

-- Updates: one row trigger for both of the reports' aggregates, the rollup deltas and
-- the run counters (40_counters.sql; one call instead of two, measured in
-- tests/bench/producer.sh). It fires only for statements that set a column it reads
-- (heartbeats and progress never call it) and appends nothing when none of them changed.
-- Only the side whose contribution changed is appended (a claim: the start; an end: the
-- end, and the start's status). The values are rollup_contributions()'s, written out: a
-- call with the whole row costs more. (The trigger has no WHEN clause: PostgreSQL parses
-- and plans a WHEN clause again for every statement, which cost more than the call it
-- saved; docs/PERFORMANCE.md. Nor is it a statement trigger over transition tables:
-- those may have no column list, so it would run for every heartbeat, and it saved a
-- group's claim statement nothing measurable; docs/PERFORMANCE.md, 2026-12-04.)
CREATE OR REPLACE FUNCTION runs_report_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    s boolean := (OLD.project_id, OLD.started_at, OLD.kind, OLD.queue, OLD.status, OLD.queued_at)
                 IS DISTINCT FROM
                 (NEW.project_id, NEW.started_at, NEW.kind, NEW.queue, NEW.status, NEW.queued_at);
    e boolean := (OLD.project_id, OLD.ended_at, OLD.started_at, OLD.kind, OLD.queue, OLD.status,
                  OLD.experiment_id)
                 IS DISTINCT FROM
                 (NEW.project_id, NEW.ended_at, NEW.started_at, NEW.kind, NEW.queue, NEW.status,
                  NEW.experiment_id);
    fin boolean := NEW.status IN ('succeeded', 'failed', 'cancelled')
                   AND OLD.status IS DISTINCT FROM NEW.status;
    first_start boolean := OLD.started_at IS NULL AND NEW.started_at IS NOT NULL;
BEGIN
    IF s OR e THEN
        INSERT INTO rollup_delta (project_id, side, t, kind, queue, status, experiment_id, v, n)
        SELECT x.* FROM (VALUES
            (OLD.project_id, 's'::"char", OLD.started_at, OLD.kind, OLD.queue, OLD.status,
             OLD.experiment_id, greatest(0, extract(epoch FROM OLD.started_at
                 - coalesce(OLD.queued_at, OLD.created_at)))::double precision, -1),
            (NEW.project_id, 's'::"char", NEW.started_at, NEW.kind, NEW.queue, NEW.status,
             NEW.experiment_id, greatest(0, extract(epoch FROM NEW.started_at
                 - coalesce(NEW.queued_at, NEW.created_at)))::double precision, 1),
            (OLD.project_id, 'e'::"char", OLD.ended_at, OLD.kind, OLD.queue, OLD.status,
             OLD.experiment_id, extract(epoch FROM OLD.ended_at - OLD.started_at)::double precision, -1),
            (NEW.project_id, 'e'::"char", NEW.ended_at, NEW.kind, NEW.queue, NEW.status,
             NEW.experiment_id, extract(epoch FROM NEW.ended_at - NEW.started_at)::double precision, 1)
        ) x (project_id, side, t, kind, queue, status, experiment_id, v, n)
        WHERE x.t IS NOT NULL AND CASE x.side WHEN 's' THEN s ELSE e END;
    END IF;
    IF fin OR first_start THEN
        -- run_counters_add(), written out: a SQL function called from here is planned
        -- again on every call, this statement once a session.
        INSERT INTO run_counters AS c (project_id, shard, started, succeeded, failed, cancelled)
        VALUES (NEW.project_id, (pg_backend_pid() % 32)::smallint, first_start::int,
                (fin AND NEW.status = 'succeeded')::int, (fin AND NEW.status = 'failed')::int,
                (fin AND NEW.status = 'cancelled')::int)
        ON CONFLICT (project_id, shard) DO UPDATE
        SET started = c.started + EXCLUDED.started, succeeded = c.succeeded + EXCLUDED.succeeded,
            failed = c.failed + EXCLUDED.failed, cancelled = c.cancelled + EXCLUDED.cancelled;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER runs_report_update
    AFTER UPDATE OF status, started_at, ended_at, queued_at, kind, queue, experiment_id,
                    project_id ON runs
    FOR EACH ROW EXECUTE FUNCTION runs_report_on_update();

-- Inserts and deletes: once per statement. Most runs are created queued and add
-- nothing; an import of finished runs adds its starts and ends.
CREATE OR REPLACE FUNCTION rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_delta
    SELECT c.* FROM inserted r, rollup_contributions(r, 1) c
    WHERE r.started_at IS NOT NULL OR r.ended_at IS NOT NULL;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER runs_rollup_insert AFTER INSERT ON runs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_on_insert();

-- A deleted project's rollups go with it (ON DELETE CASCADE); its runs' deletion,
-- which runs after the project's row is gone, appends nothing.
CREATE OR REPLACE FUNCTION rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_delta
    SELECT c.* FROM deleted r, rollup_contributions(r, -1) c
    WHERE (r.started_at IS NOT NULL OR r.ended_at IS NOT NULL)
      AND EXISTS (SELECT 1 FROM projects p WHERE p.id = r.project_id);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER runs_rollup_delete AFTER DELETE ON runs
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_on_delete();

-- Moves up to max_rows deltas into the rollups; returns how many, or −1 when another
-- session is folding (the caller just tries again later). Only the folder writes the
-- rollups, and it adds in key order, so it waits on nobody and nobody on it.
--
-- Additions widen a bucket's min_s/max_s; a removal (a run deleted, or its kind or
-- experiment changed after it ended) cannot narrow them by arithmetic, so the buckets
-- of a day that lost runs get their bounds read again from that day's runs (one index
-- range scan a day). A status change moves nothing in the histograms, and costs none.
CREATE OR REPLACE FUNCTION rollup_fold(max_rows integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    folded bigint;
    shrunk_p bigint[];       -- (project, day, metric) of histogram rows that lost runs
    shrunk_day timestamptz[];
    shrunk_metric "char"[];
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('runwatch.rollup_fold')) THEN
        RETURN -1;
    END IF;
    -- The first max_rows deltas in the table's order, as the range of row addresses up to
    -- the last of them: one pass over the pages whatever the plan. (ctid = ANY (an array
    -- of them) became a filter on a sequential scan in the plan made while the table was
    -- empty: every row compared with every array element, 5,000 × 5,000 a fold at 5,000
    -- claims a second; docs/PERFORMANCE.md.) A scan that starts mid-table (a synchronized
    -- scan of a huge table) folds a little more than max_rows.
    WITH d AS (
        DELETE FROM rollup_delta
        WHERE ctid <= (SELECT max(ctid) FROM (SELECT ctid FROM rollup_delta LIMIT max_rows) s)
        RETURNING *),
    live AS (
        SELECT d.* FROM d WHERE EXISTS (SELECT 1 FROM projects p WHERE p.id = d.project_id)),
    h AS (
        INSERT INTO rollup_hourly AS r (project_id, hour, kind, queue, status, started, ended)
        SELECT project_id, date_bin('1 hour', t, timestamptz '2000-01-03 00:00+00'), kind,
               queue, status, coalesce(sum(n) FILTER (WHERE side = 's'), 0),
               coalesce(sum(n) FILTER (WHERE side = 'e'), 0)
        FROM live
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(n) FILTER (WHERE side = 's') <> 0 OR sum(n) FILTER (WHERE side = 'e') <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (project_id, hour, kind, queue, status) DO UPDATE
        SET started = r.started + EXCLUDED.started, ended = r.ended + EXCLUDED.ended),
    hg AS (
        SELECT project_id, date_bin('1 day', t, timestamptz '2000-01-03 00:00+00') AS day,
               CASE side WHEN 'e' THEN 'd' ELSE 'w' END::"char" AS metric, kind,
               CASE side WHEN 's' THEN queue ELSE '' END AS queue,
               CASE side WHEN 'e' THEN experiment_id END AS experiment_id,
               report.hist_bucket(v) AS b, sum(n) AS n, min(v) FILTER (WHERE n > 0) AS min_s,
               max(v) FILTER (WHERE n > 0) AS max_s
        FROM live
        WHERE v IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING sum(n) <> 0),
    g AS (
        INSERT INTO rollup_hist_daily AS r (project_id, day, metric, kind, queue, experiment_id,
                                            b, n, min_s, max_s)
        SELECT * FROM hg
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (project_id, day, metric, kind, queue, experiment_id, b) DO UPDATE
        SET n = r.n + EXCLUDED.n, min_s = least(r.min_s, EXCLUDED.min_s),
            max_s = greatest(r.max_s, EXCLUDED.max_s)),
    shrunk AS (
        SELECT DISTINCT project_id, day, metric FROM hg WHERE n < 0)
    SELECT (SELECT count(*) FROM d), (SELECT array_agg(project_id) FROM shrunk),
           (SELECT array_agg(day) FROM shrunk), (SELECT array_agg(metric) FROM shrunk)
    INTO folded, shrunk_p, shrunk_day, shrunk_metric;
    IF shrunk_p IS NOT NULL THEN
        UPDATE rollup_hist_daily h SET min_s = x.mn, max_s = x.mx
        FROM (SELECT a.p, a.day, a.m, c.kind,
                     CASE a.m WHEN 'w' THEN c.queue ELSE '' END AS queue,
                     CASE a.m WHEN 'd' THEN c.experiment_id END AS experiment_id,
                     report.hist_bucket(c.v) AS b, min(c.v) AS mn, max(c.v) AS mx
              FROM unnest(shrunk_p, shrunk_day, shrunk_metric) a (p, day, m)
              CROSS JOIN LATERAL (
                  SELECT r.* FROM runs r
                  WHERE a.m = 'd' AND r.project_id = a.p AND r.ended_at >= a.day
                    AND r.ended_at < a.day + interval '1 day'
                  UNION ALL
                  SELECT r.* FROM runs r
                  WHERE a.m = 'w' AND r.project_id = a.p AND r.started_at >= a.day
                    AND r.started_at < a.day + interval '1 day') r
              CROSS JOIN LATERAL rollup_contributions(r, 1) c
              WHERE c.side = CASE a.m WHEN 'd' THEN 'e' ELSE 's' END AND c.v IS NOT NULL
              GROUP BY 1, 2, 3, 4, 5, 6, 7) x
        WHERE h.project_id = x.p AND h.day = x.day AND h.metric = x.m AND h.kind = x.kind
          AND h.queue = x.queue AND h.experiment_id IS NOT DISTINCT FROM x.experiment_id
          AND h.b = x.b;
    END IF;
    IF folded > 0 THEN
        DELETE FROM rollup_hourly WHERE started = 0 AND ended = 0;
        DELETE FROM rollup_hist_daily WHERE n = 0;
    END IF;
    RETURN folded;
END $$;
