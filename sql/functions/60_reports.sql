-- The `report` schema's functions: grants (who sees what), and the built-in reports.
-- The model (signed grants, the runwatch_report login, security_barrier views) is
-- described at the top of sql/migrations/0007_reports.sql and in docs/REPORTS.md; the
-- views stay in the migrations.

CREATE OR REPLACE FUNCTION report_sign(msg text) RETURNS text
LANGUAGE sql STABLE AS $$
    -- Nested keyed hash (no length extension), hex.
    SELECT encode(sha256(s.k || sha256(s.k || convert_to(msg, 'UTF8'))), 'hex') FROM report_secret s
$$;

-- The projects a caller may read, as a signed grant for backend `pid`, valid 120 s.
-- A user: the projects they are a member of (all for an instance admin); a token: its
-- project. only_project narrows it to one (already checked by the caller).
CREATE OR REPLACE FUNCTION report_grant(user_id bigint, is_admin boolean, token_project bigint,
                             only_project bigint, pid integer) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH ids AS (
        SELECT coalesce(string_agg(p.id::text, ',' ORDER BY p.id), '') AS ids
        FROM projects p
        WHERE (only_project IS NULL OR p.id = only_project)
          AND CASE WHEN token_project IS NOT NULL THEN p.id = token_project
                   ELSE is_admin OR EXISTS (SELECT 1 FROM project_members m
                                            WHERE m.project_id = p.id AND m.user_id = report_grant.user_id)
              END),
    msg AS (SELECT ids || '|' || pid || '|' || (extract(epoch FROM now())::bigint + 120) AS m FROM ids)
    SELECT m || '|' || report_sign(m) FROM msg
$$;

REVOKE ALL ON FUNCTION report_sign(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION report_grant(bigint, boolean, bigint, bigint, integer) FROM PUBLIC;

-- The project ids of the transaction's grant; an empty array for a missing, forged,
-- expired or foreign grant. SECURITY DEFINER so it can read the secret.
CREATE OR REPLACE FUNCTION report.visible_projects() RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    g text := current_setting('runwatch.grant', true);
    parts text[];
BEGIN
    IF g IS NULL OR g = '' THEN
        RETURN '{}';
    END IF;
    parts := string_to_array(g, '|');
    IF cardinality(parts) <> 4
       OR parts[4] IS DISTINCT FROM report_sign(parts[1] || '|' || parts[2] || '|' || parts[3]) THEN
        RETURN '{}';
    END IF;
    -- Signed by us: the fields are well-formed.
    IF parts[2]::integer <> pg_backend_pid() OR parts[3]::bigint < extract(epoch FROM now()) THEN
        RETURN '{}';
    END IF;
    IF parts[1] = '' THEN
        RETURN '{}';
    END IF;
    RETURN string_to_array(parts[1], ',')::bigint[];
END $$;

-- The built-in reports, parametrised by window (and bucket). Plain SQL functions over
-- the report views: PostgreSQL inlines them, so a caller's filters reach the indexes,
-- and they run with the caller's rights (the views decide visibility). Each `by_*`
-- flag keeps a dimension; a dimension left out is NULL in every row and summed over.
-- Those with rollups answer the whole hours or days of the window from them.

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
CREATE OR REPLACE FUNCTION report.percentiles(metric "char", from_ts timestamptz, to_ts timestamptz,
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

-- Failed runs grouped by error fingerprint: how many, since when, where.
CREATE OR REPLACE FUNCTION report.failure_groups(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (project_id bigint, fingerprint text, error_type text, error_message text,
               runs bigint, first_seen timestamptz, last_seen timestamptz, kinds text[],
               workers bigint[], sample_runs uuid[])
LANGUAGE sql STABLE AS $$
    SELECT r.project_id, r.error_fingerprint,
           (array_agg(r.error_type ORDER BY r.ended_at DESC))[1],
           (array_agg(left(r.error_message, 500) ORDER BY r.ended_at DESC))[1],
           count(*), min(r.ended_at), max(r.ended_at),
           (array_agg(DISTINCT r.kind))[1:20],
           (array_remove(array_agg(DISTINCT r.worker_id), NULL))[1:20],
           (array_agg(r.id ORDER BY r.ended_at DESC))[1:5]
    FROM report.runs r
    WHERE r.status = 'failed' AND r.error_fingerprint IS NOT NULL
      AND r.ended_at >= from_ts AND r.ended_at < to_ts
    GROUP BY r.project_id, r.error_fingerprint
    ORDER BY count(*) DESC, max(r.ended_at) DESC
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA report TO runwatch_report;
