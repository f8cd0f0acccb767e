-- 0009: maintained rollups, so the built-in reports answer from aggregates instead of
-- reading every run of a long window (docs/PERFORMANCE.md: at 1M runs over 30 days,
-- throughput took 1.7 s, durations 1.2 s, queue wait 1.1 s, all of it aggregating or
-- sorting a million rows).
--
-- What is kept. Two tables, in the report's own terms:
--   rollup_hourly      runs started and ended per hour, by project, kind, queue and the
--                      run's status now (throughput, failure rate);
--   rollup_hist_daily  per day, a histogram of run durations (by end day; by kind and
--                      experiment) and of queue waits (by start day; by kind and queue),
--                      in log buckets 2% wide (percentiles within 1%; see hist_bucket).
-- A report reads the whole hours or days of its window from these and the ragged ends
-- (the part of the first and last hour or day inside the window) from the runs, so its
-- counts are exact; percentiles are within 1% of the exact value; max is exact (after a
-- run is deleted, once that is folded).
--
-- How it is kept. A run's contribution is its start (started_at, kind, queue, status,
-- queue wait) and its end (ended_at, kind, queue, status, experiment, duration). A
-- trigger on runs appends the change of contribution, −1 for the old and +1 for the
-- new, to rollup_delta, an append-only table with no index; rollup_fold() moves the
-- deltas into the rollups, one folder at a time. Why not update the rollups from the
-- trigger: every claim of a queue would update the same row (this hour, this kind,
-- this queue, running) and hold its lock until COMMIT, serialising the claims of a
-- fleet behind one row, and a statement that updates many runs could deadlock against
-- another on those rows. Appending takes no lock anyone else wants. The readers add the
-- unfolded deltas to the rollups in the same snapshot, so a report is exact whether or
-- not the folder has caught up; folding only keeps the deltas few. runwatch-api folds
-- after answering a request, at most every few seconds per worker (serve.c).

-- ---------------------------------------------------------------- tables

CREATE TABLE rollup_delta (
    -- No foreign key: its check would take a share lock on the project's row for every
    -- append. The folder drops the deltas of projects that no longer exist.
    project_id    bigint NOT NULL,
    side          "char" NOT NULL CHECK (side IN ('s', 'e')), -- a start or an end
    t             timestamptz NOT NULL,                       -- started_at or ended_at
    kind          text NOT NULL,
    queue         text NOT NULL,
    status        text NOT NULL,
    experiment_id bigint,
    v             double precision, -- seconds: queue wait ('s'), duration ('e'; NULL if never started)
    n             integer NOT NULL  -- +1 or −1 (or a count, from a bulk insert)
);

CREATE TABLE rollup_hourly (
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL,
    kind       text NOT NULL,
    queue      text NOT NULL,
    status     text NOT NULL,
    started    bigint NOT NULL,
    ended      bigint NOT NULL,
    PRIMARY KEY (project_id, hour, kind, queue, status)
);
-- A run that ends moves its start from the (hour, running) row to the (hour, succeeded)
-- one, so the running rows of past hours fall to zero: the folder deletes them.
CREATE INDEX rollup_hourly_zero_idx ON rollup_hourly (project_id) WHERE started = 0 AND ended = 0;

CREATE TABLE rollup_hist_daily (
    project_id    bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    day           timestamptz NOT NULL,
    metric        "char" NOT NULL CHECK (metric IN ('d', 'w')), -- duration, queue wait
    kind          text NOT NULL,
    queue         text NOT NULL,    -- '' for durations
    experiment_id bigint,           -- NULL for queue waits
    b             smallint NOT NULL, -- hist_bucket()
    n             bigint NOT NULL,
    -- The least and greatest value of the bucket's runs: a bucket of one value answers
    -- exactly, and max_s makes the max exact. NULL only while a removal has been folded
    -- before the addition it undoes (the folder takes deltas in no particular order).
    min_s         double precision,
    max_s         double precision,
    UNIQUE NULLS NOT DISTINCT (project_id, day, metric, kind, queue, experiment_id, b)
);
CREATE INDEX rollup_hist_daily_zero_idx ON rollup_hist_daily (project_id) WHERE n = 0;

-- ---------------------------------------------------------------- buckets

-- α, the one place it is set: the buckets below and the reports' `relative_error`.
CREATE FUNCTION report.hist_relative_error() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 0.01::double precision $$;

CREATE FUNCTION report.hist_gamma() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (1 + report.hist_relative_error()) / (1 - report.hist_relative_error())
$$;

-- Log buckets of relative accuracy α = 1% (the DDSketch scheme): bucket b holds the
-- values in (γ^(b−1), γ^b] with γ = (1 + α) / (1 − α), and hist_value(b) is within α
-- of every one of them. 2 ms to 30 days takes about 1,000 buckets; a kind's runs use
-- the few hundred around its typical length. Values under 1 ms (and negative ones, an
-- end reported before its start) share bucket −1000.
CREATE FUNCTION report.hist_bucket(v double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v < 0.001 THEN -1000
                ELSE ceil(ln(v) / ln(report.hist_gamma()))::integer END::smallint
$$;

CREATE FUNCTION report.hist_value(b smallint) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b = -1000 THEN 0
                ELSE 2 * power(report.hist_gamma(), b) / (report.hist_gamma() + 1) END
$$;

-- The part of [from_ts, to_ts) made of whole grains (hours, days) that the rollups
-- answer: [rollup_lo, rollup_hi). The rest, at each end, is read from the runs. When
-- the window holds no whole grain, the report's buckets are not whole grains, or grain
-- is NULL, both are to_ts: the rollups answer nothing and the runs everything.
CREATE FUNCTION report.rollup_lo(from_ts timestamptz, to_ts timestamptz, grain interval,
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

CREATE FUNCTION report.rollup_hi(from_ts timestamptz, to_ts timestamptz, grain interval,
                                 bucket interval) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN report.rollup_lo(from_ts, to_ts, grain, bucket) = to_ts THEN to_ts
                ELSE date_bin(grain, to_ts, timestamptz '2000-01-03 00:00+00') END
$$;

-- The ends of the window that the runs answer, as two ranges [a, z): the report
-- functions join the runs to them (LATERAL, kept from being pulled up into a join whose
-- selectivity the planner cannot know), one index range scan each.
CREATE FUNCTION report.rollup_edges(from_ts timestamptz, to_ts timestamptz, grain interval,
                                    bucket interval) RETURNS TABLE (a timestamptz, z timestamptz)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES (from_ts, report.rollup_lo(from_ts, to_ts, grain, bucket)),
           (report.rollup_hi(from_ts, to_ts, grain, bucket), to_ts)
$$;

-- ---------------------------------------------------------------- deltas

-- A run's start and end as rollup_delta rows (n = +1). The queue wait and duration are
-- those of the report functions of 0007.
CREATE FUNCTION rollup_contributions(r runs, n integer)
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

-- Updates: one row trigger for both of the reports' aggregates, this migration's
-- rollup deltas and 0008's run counters (replacing 0008's own trigger: one call instead
-- of two, measured in tests/bench/producer.sh). The WHEN clause keeps heartbeats,
-- progress and the like from calling it. Only the side whose contribution changed is
-- appended (a claim: the start; an end: the end, and the start's status). The values
-- are rollup_contributions()'s, written out: a call with the whole row costs more.
CREATE FUNCTION runs_report_on_update() RETURNS trigger
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
DROP TRIGGER runs_counters_update ON runs;
DROP FUNCTION run_counters_on_update();
CREATE TRIGGER runs_report_update AFTER UPDATE ON runs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.started_at IS DISTINCT FROM NEW.started_at
          OR OLD.ended_at IS DISTINCT FROM NEW.ended_at
          OR OLD.queued_at IS DISTINCT FROM NEW.queued_at
          OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.queue IS DISTINCT FROM NEW.queue
          OR OLD.experiment_id IS DISTINCT FROM NEW.experiment_id
          OR OLD.project_id IS DISTINCT FROM NEW.project_id)
    EXECUTE FUNCTION runs_report_on_update();

-- Inserts and deletes: once per statement. Most runs are created queued and add
-- nothing; an import of finished runs adds its starts and ends.
CREATE FUNCTION rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_delta
    SELECT c.* FROM inserted r, rollup_contributions(r, 1) c
    WHERE r.started_at IS NOT NULL OR r.ended_at IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER runs_rollup_insert AFTER INSERT ON runs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_on_insert();

-- A deleted project's rollups go with it (ON DELETE CASCADE); its runs' deletion,
-- which runs after the project's row is gone, appends nothing.
CREATE FUNCTION rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_delta
    SELECT c.* FROM deleted r, rollup_contributions(r, -1) c
    WHERE (r.started_at IS NOT NULL OR r.ended_at IS NOT NULL)
      AND EXISTS (SELECT 1 FROM projects p WHERE p.id = r.project_id);
    RETURN NULL;
END $$;
CREATE TRIGGER runs_rollup_delete AFTER DELETE ON runs
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_on_delete();

-- ---------------------------------------------------------------- folding

-- Moves up to max_rows deltas into the rollups; returns how many, or −1 when another
-- session is folding (the caller just tries again later). Only the folder writes the
-- rollups, and it adds in key order, so it waits on nobody and nobody on it.
--
-- Additions widen a bucket's min_s/max_s; a removal (a run deleted, or its kind or
-- experiment changed after it ended) cannot narrow them by arithmetic, so the buckets
-- of a day that lost runs get their bounds read again from that day's runs (one index
-- range scan a day). A status change moves nothing in the histograms, and costs none.
CREATE FUNCTION rollup_fold(max_rows integer DEFAULT 100000) RETURNS bigint
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
    WITH d AS (
        DELETE FROM rollup_delta
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM rollup_delta LIMIT max_rows))
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

-- The runs stored now: their contributions go through the folder like any others (one
-- way to aggregate). Over a million runs this migration took 11 s (by hand).
INSERT INTO rollup_delta SELECT c.* FROM runs r, rollup_contributions(r, 1) c;
SELECT rollup_fold(2147483647);

-- ---------------------------------------------------------------- views

-- Runs started and ended per hour (rows of one key may repeat: sum them). Exact: the
-- folded counts and the deltas not folded yet, read in one snapshot.
CREATE VIEW report.runs_hourly WITH (security_barrier) AS
SELECT h.project_id, h.hour, h.kind, h.queue, h.status, h.started, h.ended
FROM public.rollup_hourly h
WHERE h.project_id = ANY ((SELECT report.visible_projects())::bigint[])
UNION ALL
SELECT d.project_id, date_bin('1 hour', d.t, timestamptz '2000-01-03 00:00+00'), d.kind, d.queue,
       d.status, CASE d.side WHEN 's' THEN d.n ELSE 0 END::bigint,
       CASE d.side WHEN 'e' THEN d.n ELSE 0 END::bigint
FROM public.rollup_delta d
WHERE d.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

-- Daily histograms of durations (metric 'd', by end day) and queue waits ('w', by
-- start day); rows of one key may repeat: sum n, take the least min_s and greatest
-- max_s. report.percentiles() reads them. Until a removal is folded, max_s may still be
-- the removed run's (within 2% of one that remains: same bucket).
CREATE VIEW report.hist_daily WITH (security_barrier) AS
SELECT h.project_id, h.day, h.metric, h.kind, h.queue, h.experiment_id, h.b, h.n, h.min_s, h.max_s
FROM public.rollup_hist_daily h
WHERE h.project_id = ANY ((SELECT report.visible_projects())::bigint[])
UNION ALL
SELECT d.project_id, date_bin('1 day', d.t, timestamptz '2000-01-03 00:00+00'),
       CASE d.side WHEN 'e' THEN 'd' ELSE 'w' END::"char", d.kind,
       CASE d.side WHEN 's' THEN d.queue ELSE '' END, CASE d.side WHEN 'e' THEN d.experiment_id END,
       report.hist_bucket(d.v), d.n::bigint, CASE WHEN d.n > 0 THEN d.v END,
       CASE WHEN d.n > 0 THEN d.v END
FROM public.rollup_delta d
WHERE d.v IS NOT NULL AND d.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

-- ---------------------------------------------------------------- report functions
-- Same signatures and results as 0007's (the views over them stay), answered from the
-- rollups for the whole hours or days of the window.

CREATE OR REPLACE FUNCTION report.throughput(from_ts timestamptz, to_ts timestamptz, bucket interval,
                                             by_project boolean DEFAULT true, by_kind boolean DEFAULT false,
                                             by_queue boolean DEFAULT false, by_status boolean DEFAULT false)
RETURNS TABLE (bucket_start timestamptz, project_id bigint, kind text, queue text, status text,
               started bigint, ended bigint)
LANGUAGE sql STABLE AS $$
    SELECT x.b, x.project_id, x.kind, x.queue, x.status, sum(x.s)::bigint, sum(x.e)::bigint
    FROM (
        SELECT date_bin(bucket, h.hour, timestamptz '2000-01-03 00:00+00') AS b,
               CASE WHEN by_project THEN h.project_id END AS project_id,
               CASE WHEN by_kind THEN h.kind END AS kind,
               CASE WHEN by_queue THEN h.queue END AS queue,
               CASE WHEN by_status THEN h.status END AS status, h.started AS s, h.ended AS e
        FROM report.runs_hourly h
        WHERE h.hour >= report.rollup_lo(from_ts, to_ts, interval '1 hour', bucket)
          AND h.hour < report.rollup_hi(from_ts, to_ts, interval '1 hour', bucket)
        UNION ALL
        SELECT r.*
        FROM report.rollup_edges(from_ts, to_ts, interval '1 hour', bucket) e
        CROSS JOIN LATERAL (
            SELECT date_bin(bucket, r.started_at, timestamptz '2000-01-03 00:00+00'),
                   CASE WHEN by_project THEN r.project_id END, CASE WHEN by_kind THEN r.kind END,
                   CASE WHEN by_queue THEN r.queue END, CASE WHEN by_status THEN r.status END, 1, 0
            FROM report.runs r
            WHERE r.started_at >= e.a AND r.started_at < e.z
            UNION ALL
            SELECT date_bin(bucket, r.ended_at, timestamptz '2000-01-03 00:00+00'),
                   CASE WHEN by_project THEN r.project_id END, CASE WHEN by_kind THEN r.kind END,
                   CASE WHEN by_queue THEN r.queue END, CASE WHEN by_status THEN r.status END, 0, 1
            FROM report.runs r
            WHERE r.ended_at >= e.a AND r.ended_at < e.z) r
    ) x
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(x.s) <> 0 OR sum(x.e) <> 0
    ORDER BY 1, 2, 3, 4, 5
$$;

-- Percentiles of durations (metric 'd': ended − started of runs that ended in the
-- window) or queue waits ('w': started − queued of runs that started in it), from the
-- daily histograms and the runs of the partial days at each end. Each percentile
-- interpolates between the two nearest ranks, like percentile_cont, with the value of
-- a rank taken as its bucket's hist_value() kept inside the values the bucket has
-- seen: within 1% of the exact value, and exact when a bucket holds one value.
CREATE FUNCTION report.percentiles(metric "char", from_ts timestamptz, to_ts timestamptz,
                                   by_project boolean, by_kind boolean, by_queue boolean,
                                   by_experiment boolean)
RETURNS TABLE (project_id bigint, kind text, queue text, experiment_id bigint, runs bigint,
               p50_s double precision, p90_s double precision, p99_s double precision,
               max_s double precision)
LANGUAGE sql STABLE AS $$
    SELECT k.project_id, k.kind, k.queue, k.experiment_id, k.total::bigint,
           k.v50l + (k.x50 - floor(k.x50)) * (k.v50h - k.v50l),
           k.v90l + (k.x90 - floor(k.x90)) * (k.v90h - k.v90l),
           k.v99l + (k.x99 - floor(k.x99)) * (k.v99h - k.v99l), k.mx
    FROM (
        SELECT c.project_id, c.kind, c.queue, c.experiment_id, max(c.total) AS total,
               max(c.mx) AS mx,
               max(0.5 * (c.total - 1)) AS x50, max(0.9 * (c.total - 1)) AS x90,
               max(0.99 * (c.total - 1)) AS x99,
               min(c.v) FILTER (WHERE c.below <= floor(0.5 * (c.total - 1)) AND c.below + c.n > floor(0.5 * (c.total - 1))) AS v50l,
               min(c.v) FILTER (WHERE c.below <= ceil(0.5 * (c.total - 1)) AND c.below + c.n > ceil(0.5 * (c.total - 1))) AS v50h,
               min(c.v) FILTER (WHERE c.below <= floor(0.9 * (c.total - 1)) AND c.below + c.n > floor(0.9 * (c.total - 1))) AS v90l,
               min(c.v) FILTER (WHERE c.below <= ceil(0.9 * (c.total - 1)) AND c.below + c.n > ceil(0.9 * (c.total - 1))) AS v90h,
               min(c.v) FILTER (WHERE c.below <= floor(0.99 * (c.total - 1)) AND c.below + c.n > floor(0.99 * (c.total - 1))) AS v99l,
               min(c.v) FILTER (WHERE c.below <= ceil(0.99 * (c.total - 1)) AND c.below + c.n > ceil(0.99 * (c.total - 1))) AS v99h
        FROM (
            SELECT s.*, least(s.mx, greatest(s.mn, report.hist_value(s.b))) AS v,
                   sum(s.n) OVER (PARTITION BY s.project_id, s.kind, s.queue, s.experiment_id
                                  ORDER BY s.b) - s.n AS below,
                   sum(s.n) OVER (PARTITION BY s.project_id, s.kind, s.queue, s.experiment_id) AS total
            FROM (
                SELECT u.project_id, u.kind, u.queue, u.experiment_id, u.b, sum(u.n) AS n,
                       min(u.mn) AS mn, max(u.mx) AS mx
                FROM (
                    SELECT CASE WHEN by_project THEN h.project_id END AS project_id,
                           CASE WHEN by_kind THEN h.kind END AS kind,
                           CASE WHEN by_queue THEN h.queue END AS queue,
                           CASE WHEN by_experiment THEN h.experiment_id END AS experiment_id,
                           h.b, h.n, h.min_s AS mn, h.max_s AS mx
                    FROM report.hist_daily h
                    WHERE h.metric = percentiles.metric
                      AND h.day >= report.rollup_lo(from_ts, to_ts, interval '1 day', NULL)
                      AND h.day < report.rollup_hi(from_ts, to_ts, interval '1 day', NULL)
                    UNION ALL
                    SELECT r.*
                    FROM report.rollup_edges(from_ts, to_ts, interval '1 day', NULL) e
                    CROSS JOIN LATERAL (
                        SELECT CASE WHEN by_project THEN r.project_id END,
                               CASE WHEN by_kind THEN r.kind END,
                               CASE WHEN by_queue THEN r.queue END,
                               CASE WHEN by_experiment THEN r.experiment_id END,
                               report.hist_bucket(d.s), 1, d.s, d.s
                        FROM report.runs r
                        CROSS JOIN LATERAL (SELECT extract(epoch FROM r.ended_at - r.started_at)::double precision AS s) d
                        WHERE percentiles.metric = 'd' AND r.started_at IS NOT NULL
                          AND r.ended_at >= e.a AND r.ended_at < e.z
                        UNION ALL
                        SELECT CASE WHEN by_project THEN r.project_id END,
                               CASE WHEN by_kind THEN r.kind END,
                               CASE WHEN by_queue THEN r.queue END,
                               CASE WHEN by_experiment THEN r.experiment_id END,
                               report.hist_bucket(w.s), 1, w.s, w.s
                        FROM report.runs r
                        CROSS JOIN LATERAL (SELECT greatest(0, extract(epoch FROM r.started_at
                                                  - coalesce(r.queued_at, r.created_at)))::double precision AS s) w
                        WHERE percentiles.metric = 'w' AND r.started_at >= e.a AND r.started_at < e.z) r
                ) u
                GROUP BY 1, 2, 3, 4, 5
                HAVING sum(u.n) > 0
            ) s
        ) c
        GROUP BY 1, 2, 3, 4
    ) k
$$;

CREATE OR REPLACE FUNCTION report.durations(from_ts timestamptz, to_ts timestamptz,
                                            by_project boolean DEFAULT true, by_kind boolean DEFAULT true,
                                            by_experiment boolean DEFAULT false)
RETURNS TABLE (project_id bigint, kind text, experiment_id bigint, runs bigint,
               p50_s double precision, p90_s double precision, p99_s double precision,
               max_s double precision)
LANGUAGE sql STABLE AS $$
    SELECT p.project_id, p.kind, p.experiment_id, p.runs, p.p50_s, p.p90_s, p.p99_s, p.max_s
    FROM report.percentiles('d', from_ts, to_ts, by_project, by_kind, false, by_experiment) p
    ORDER BY 1, 2, 3
$$;

CREATE OR REPLACE FUNCTION report.queue_wait(from_ts timestamptz, to_ts timestamptz,
                                             by_project boolean DEFAULT true, by_queue boolean DEFAULT true,
                                             by_kind boolean DEFAULT false)
RETURNS TABLE (project_id bigint, queue text, kind text, runs bigint,
               p50_s double precision, p90_s double precision, p99_s double precision,
               max_s double precision)
LANGUAGE sql STABLE AS $$
    SELECT p.project_id, p.queue, p.kind, p.runs, p.p50_s, p.p90_s, p.p99_s, p.max_s
    FROM report.percentiles('w', from_ts, to_ts, by_project, by_kind, by_queue, false) p
    ORDER BY 1, 2, 3
$$;

-- Failure rate by kind per bucket from the hourly rollup; by worker (not rolled up:
-- a run's worker is not a dimension of rollup_hourly) it reads the runs.
CREATE OR REPLACE FUNCTION report.failure_rate(from_ts timestamptz, to_ts timestamptz, bucket interval,
                                               by_project boolean DEFAULT true, by_kind boolean DEFAULT true,
                                               by_worker boolean DEFAULT false)
RETURNS TABLE (bucket_start timestamptz, project_id bigint, kind text, worker_id bigint,
               finished bigint, failed bigint, failure_rate double precision)
LANGUAGE sql STABLE AS $$
    SELECT x.b, x.project_id, x.kind, x.worker_id, sum(x.fin)::bigint, sum(x.failed)::bigint,
           sum(x.failed)::double precision / sum(x.fin)
    FROM (
        SELECT date_bin(bucket, h.hour, timestamptz '2000-01-03 00:00+00') AS b,
               CASE WHEN by_project THEN h.project_id END AS project_id,
               CASE WHEN by_kind THEN h.kind END AS kind, NULL::bigint AS worker_id,
               h.ended AS fin, CASE WHEN h.status = 'failed' THEN h.ended ELSE 0 END AS failed
        FROM report.runs_hourly h
        WHERE h.status IN ('succeeded', 'failed', 'cancelled')
          AND h.hour >= report.rollup_lo(from_ts, to_ts, CASE WHEN NOT by_worker THEN interval '1 hour' END, bucket)
          AND h.hour < report.rollup_hi(from_ts, to_ts, CASE WHEN NOT by_worker THEN interval '1 hour' END, bucket)
        UNION ALL
        SELECT r.*
        FROM report.rollup_edges(from_ts, to_ts, CASE WHEN NOT by_worker THEN interval '1 hour' END,
                                 bucket) e
        CROSS JOIN LATERAL (
            SELECT date_bin(bucket, r.ended_at, timestamptz '2000-01-03 00:00+00'),
                   CASE WHEN by_project THEN r.project_id END, CASE WHEN by_kind THEN r.kind END,
                   CASE WHEN by_worker THEN r.worker_id END, 1,
                   CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END
            FROM report.runs r
            WHERE r.status IN ('succeeded', 'failed', 'cancelled')
              AND r.ended_at >= e.a AND r.ended_at < e.z
            OFFSET 0) r -- not pulled up: each edge is its own index range scan
    ) x
    GROUP BY 1, 2, 3, 4
    HAVING sum(x.fin) > 0
    ORDER BY 1, 2, 3, 4
$$;

-- ---------------------------------------------------------------- privileges

GRANT SELECT ON report.runs_hourly, report.hist_daily TO runwatch_report;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA report TO runwatch_report;
