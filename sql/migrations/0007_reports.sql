-- 0007: the `report` schema. Reporting SQL is defined once, here, and serves three
-- callers: the built-in report endpoints, ad-hoc SQL from users, and the views a user
-- browses beside the SQL editor.
--
-- Who sees what. Every view of this schema keeps only the rows of the projects named
-- by a *grant*: a string "ids|backend pid|expiry|signature" that runwatch-api asks
-- report_grant() for (as the application role) and stores with
-- set_config('runwatch.grant', …, true) in the transaction that reads. The signature
-- is a keyed SHA-256 over the rest with a secret only the application role can read,
-- so a user who sets runwatch.grant (set_config is open to everyone) cannot widen it;
-- the pid and expiry stop a grant being reused elsewhere. Views are security_barrier,
-- so a user's own WHERE clause runs after the project filter and leaks nothing.
--
-- The role. Ad-hoc SQL runs on a separate connection that logs in as runwatch_report
-- (deploy/stack.sh creates it: LOGIN, read-only by default, no other membership). It
-- must be its own login, not a role the application's connection SETs: a session may
-- always SET ROLE back to its session user, even from inside a query
-- (`SELECT set_config('role', 'runwatch', true), query_to_xml('select … from users', …)`
-- reads every table), so the only safe session user for untrusted SQL is one whose own
-- privileges are the read-only ones. runwatch_report gets USAGE on this schema and
-- SELECT on its views, nothing in public.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'runwatch_report') THEN
        RAISE EXCEPTION 'role runwatch_report is missing: create it first (docs/REPORTS.md)';
    END IF;
END $$;

-- Nobody but the owner reaches public: the report role sees the report schema only.
REVOKE ALL ON SCHEMA public FROM PUBLIC;

-- ---------------------------------------------------------------- grants

CREATE TABLE report_secret (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    k        bytea NOT NULL
);
-- gen_random_uuid() draws from the server's strong random source: 2 × 122 bits.
INSERT INTO report_secret (k)
SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');

CREATE FUNCTION report_sign(msg text) RETURNS text
LANGUAGE sql STABLE AS $$
    -- Nested keyed hash (no length extension), hex.
    SELECT encode(sha256(s.k || sha256(s.k || convert_to(msg, 'UTF8'))), 'hex') FROM report_secret s
$$;

-- The projects a caller may read, as a signed grant for backend `pid`, valid 120 s.
-- A user: the projects they are a member of (all for an instance admin); a token: its
-- project. only_project narrows it to one (already checked by the caller).
CREATE FUNCTION report_grant(user_id bigint, is_admin boolean, token_project bigint,
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

CREATE SCHEMA report;

-- The project ids of the transaction's grant; an empty array for a missing, forged,
-- expired or foreign grant. SECURITY DEFINER so it can read the secret.
CREATE FUNCTION report.visible_projects() RETURNS bigint[]
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

-- ---------------------------------------------------------------- thresholds

-- Per-project anomaly thresholds (a missing row means the defaults).
CREATE TABLE anomaly_thresholds (
    project_id     bigint PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    stuck_after_s  integer NOT NULL DEFAULT 300 CHECK (stuck_after_s BETWEEN 10 AND 604800),
    stale_after_s  integer NOT NULL DEFAULT 3600 CHECK (stale_after_s BETWEEN 10 AND 2592000),
    lease_window_s integer NOT NULL DEFAULT 3600 CHECK (lease_window_s BETWEEN 60 AND 2592000),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     bigint REFERENCES users (id) ON DELETE SET NULL
);

-- ---------------------------------------------------------------- saved reports

CREATE TABLE saved_reports (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    owner_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    sql        text NOT NULL CHECK (length(sql) BETWEEN 1 AND 100000),
    chart      jsonb NOT NULL DEFAULT '{"type": "table"}'
               CHECK (chart->>'type' IN ('line', 'bar', 'table')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, name)
);

CREATE FUNCTION saved_report_json(s saved_reports, project_slug text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', s.id, 'project', project_slug, 'owner_id', s.owner_id,
                             'name', s.name, 'sql', s.sql, 'chart', s.chart,
                             'created_at', s.created_at, 'updated_at', s.updated_at)
$$;

-- ---------------------------------------------------------------- indexes

-- Failure rate and groups read ended runs by end time across a project; durations
-- read the same with the start. The anomaly scans use the partial indexes of 0001.
CREATE INDEX runs_project_failed_idx ON runs (project_id, ended_at)
    WHERE status = 'failed';
CREATE INDEX attempts_lease_expired_idx ON attempts (ended_at)
    WHERE error_type = 'lease_expired';
CREATE INDEX events_interrupted_idx ON events (run_id, ts) WHERE kind = 'interrupted';

-- ---------------------------------------------------------------- base views

CREATE VIEW report.projects WITH (security_barrier) AS
SELECT id, slug, name, created_at
FROM public.projects
WHERE id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.runs WITH (security_barrier) AS
SELECT r.id, r.project_id, r.experiment_id, r.kind, r.name, r.queue, r.status, r.priority,
       r.input, r.params, r.tags, r.parent_id, r.root_id, r.group_id, r.worker_id, r.progress,
       r.created_at, r.queued_at, r.started_at, r.ended_at, r.last_heartbeat_at, r.updated_at,
       r.cancel_requested, r.error_type, r.error_message, r.error_traceback,
       r.error_fingerprint, r.result, r.summary, r.lease_s, r.lease_expires_at
FROM public.runs r
WHERE r.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.attempts WITH (security_barrier) AS
SELECT a.id, r.project_id, a.run_id, a.seq, a.status, a.worker_id, a.created_at, a.started_at,
       a.ended_at, a.last_heartbeat_at, a.error_type, a.error_message, a.error_traceback
FROM public.attempts a
JOIN public.runs r ON r.id = a.run_id
WHERE r.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.events WITH (security_barrier) AS
SELECT e.id, e.project_id, e.run_id, e.attempt_seq, e.ts, e.kind, e.level, e.message, e.data
FROM public.events e
WHERE e.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.metrics WITH (security_barrier) AS
SELECT m.project_id, m.run_id, m.key, m.step, m.ts, m.value
FROM public.metrics m
WHERE m.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.workers WITH (security_barrier) AS
SELECT w.id, w.project_id, w.name, w.host, w.pid, w.labels, w.kinds, w.status, w.started_at,
       w.last_heartbeat_at, w.stopped_at, w.resources, w.created_at
FROM public.workers w
WHERE w.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.experiments WITH (security_barrier) AS
SELECT x.id, x.project_id, x.name, x.description, x.config, x.desired_state, x.created_at,
       x.updated_at
FROM public.experiments x
WHERE x.project_id = ANY ((SELECT report.visible_projects())::bigint[]);

CREATE VIEW report.thresholds WITH (security_barrier) AS
SELECT p.id AS project_id,
       coalesce(t.stuck_after_s, 300) AS stuck_after_s,
       coalesce(t.stale_after_s, 3600) AS stale_after_s,
       coalesce(t.lease_window_s, 3600) AS lease_window_s
FROM public.projects p
LEFT JOIN public.anomaly_thresholds t ON t.project_id = p.id
WHERE p.id = ANY ((SELECT report.visible_projects())::bigint[]);

-- ---------------------------------------------------------------- report functions
-- The built-in reports, parametrised by window (and bucket). Plain SQL functions over
-- the views above: PostgreSQL inlines them, so a caller's filters reach the indexes,
-- and they run with the caller's rights (the views decide visibility). Each `by_*`
-- flag keeps a dimension; a dimension left out is NULL in every row and summed over.

-- Runs started and ended per bucket. started/ended count by the run's start and end
-- time; status is the run's status now.
CREATE FUNCTION report.throughput(from_ts timestamptz, to_ts timestamptz, bucket interval,
                                  by_project boolean DEFAULT true, by_kind boolean DEFAULT false,
                                  by_queue boolean DEFAULT false, by_status boolean DEFAULT false)
RETURNS TABLE (bucket_start timestamptz, project_id bigint, kind text, queue text, status text,
               started bigint, ended bigint)
LANGUAGE sql STABLE AS $$
    SELECT x.b, x.project_id, x.kind, x.queue, x.status, sum(x.s)::bigint, sum(x.e)::bigint
    FROM (
        SELECT date_bin(bucket, r.started_at, timestamptz '2000-01-03 00:00+00') AS b,
               CASE WHEN by_project THEN r.project_id END AS project_id,
               CASE WHEN by_kind THEN r.kind END AS kind,
               CASE WHEN by_queue THEN r.queue END AS queue,
               CASE WHEN by_status THEN r.status END AS status, 1 AS s, 0 AS e
        FROM report.runs r
        WHERE r.started_at >= from_ts AND r.started_at < to_ts
        UNION ALL
        SELECT date_bin(bucket, r.ended_at, timestamptz '2000-01-03 00:00+00'),
               CASE WHEN by_project THEN r.project_id END, CASE WHEN by_kind THEN r.kind END,
               CASE WHEN by_queue THEN r.queue END, CASE WHEN by_status THEN r.status END, 0, 1
        FROM report.runs r
        WHERE r.ended_at >= from_ts AND r.ended_at < to_ts
    ) x
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
$$;

-- Run durations (ended − started, seconds) of runs that ended in the window.
CREATE FUNCTION report.durations(from_ts timestamptz, to_ts timestamptz,
                                 by_project boolean DEFAULT true, by_kind boolean DEFAULT true,
                                 by_experiment boolean DEFAULT false)
RETURNS TABLE (project_id bigint, kind text, experiment_id bigint, runs bigint,
               p50_s double precision, p90_s double precision, p99_s double precision,
               max_s double precision)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN by_project THEN r.project_id END, CASE WHEN by_kind THEN r.kind END,
           CASE WHEN by_experiment THEN r.experiment_id END, count(*),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY d.s),
           percentile_cont(0.9) WITHIN GROUP (ORDER BY d.s),
           percentile_cont(0.99) WITHIN GROUP (ORDER BY d.s), max(d.s)
    FROM report.runs r
    CROSS JOIN LATERAL (SELECT extract(epoch FROM r.ended_at - r.started_at)::double precision AS s) d
    WHERE r.ended_at >= from_ts AND r.ended_at < to_ts AND r.started_at IS NOT NULL
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
$$;

-- Queue wait (started − queued, seconds) of runs that started in the window.
CREATE FUNCTION report.queue_wait(from_ts timestamptz, to_ts timestamptz,
                                  by_project boolean DEFAULT true, by_queue boolean DEFAULT true,
                                  by_kind boolean DEFAULT false)
RETURNS TABLE (project_id bigint, queue text, kind text, runs bigint,
               p50_s double precision, p90_s double precision, p99_s double precision,
               max_s double precision)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN by_project THEN r.project_id END, CASE WHEN by_queue THEN r.queue END,
           CASE WHEN by_kind THEN r.kind END, count(*),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY d.s),
           percentile_cont(0.9) WITHIN GROUP (ORDER BY d.s),
           percentile_cont(0.99) WITHIN GROUP (ORDER BY d.s), max(d.s)
    FROM report.runs r
    CROSS JOIN LATERAL (SELECT greatest(0, extract(epoch FROM r.started_at
                              - coalesce(r.queued_at, r.created_at)))::double precision AS s) d
    WHERE r.started_at >= from_ts AND r.started_at < to_ts
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
$$;

-- Finished runs and failures per bucket (by end time).
CREATE FUNCTION report.failure_rate(from_ts timestamptz, to_ts timestamptz, bucket interval,
                                    by_project boolean DEFAULT true, by_kind boolean DEFAULT true,
                                    by_worker boolean DEFAULT false)
RETURNS TABLE (bucket_start timestamptz, project_id bigint, kind text, worker_id bigint,
               finished bigint, failed bigint, failure_rate double precision)
LANGUAGE sql STABLE AS $$
    SELECT date_bin(bucket, r.ended_at, timestamptz '2000-01-03 00:00+00'),
           CASE WHEN by_project THEN r.project_id END, CASE WHEN by_kind THEN r.kind END,
           CASE WHEN by_worker THEN r.worker_id END,
           count(*), count(*) FILTER (WHERE r.status = 'failed'),
           (count(*) FILTER (WHERE r.status = 'failed'))::double precision / count(*)
    FROM report.runs r
    WHERE r.ended_at >= from_ts AND r.ended_at < to_ts
      AND r.status IN ('succeeded', 'failed', 'cancelled')
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
$$;

-- Failed runs grouped by error fingerprint: how many, since when, where.
CREATE FUNCTION report.failure_groups(from_ts timestamptz, to_ts timestamptz)
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

-- What needs a look now, with the project's thresholds:
--   stuck         running, no heartbeat for stuck_after_s
--   stale         queued for longer than stale_after_s
--   interrupted   running, and its worker stopped (or said so in an `interrupted`
--                 event) after the run's last heartbeat
--   lease_expired running past its lease (not yet reclaimed by a claim), or an attempt
--                 of the run ended lease_expired within lease_window_s (at most 30 days)
CREATE VIEW report.anomalies WITH (security_barrier) AS
SELECT 'stuck'::text AS anomaly, r.project_id, r.id AS run_id, r.kind, r.queue, r.worker_id,
       coalesce(r.last_heartbeat_at, r.started_at) AS since,
       extract(epoch FROM now() - coalesce(r.last_heartbeat_at, r.started_at))::bigint AS age_s,
       'no heartbeat for ' || extract(epoch FROM now() - coalesce(r.last_heartbeat_at, r.started_at))::bigint || ' s' AS detail
FROM report.runs r JOIN report.thresholds t ON t.project_id = r.project_id
WHERE r.status = 'running'
  AND coalesce(r.last_heartbeat_at, r.started_at) < now() - make_interval(secs => t.stuck_after_s)
UNION ALL
SELECT 'stale', r.project_id, r.id, r.kind, r.queue, r.worker_id,
       coalesce(r.queued_at, r.created_at),
       extract(epoch FROM now() - coalesce(r.queued_at, r.created_at))::bigint,
       'queued for ' || extract(epoch FROM now() - coalesce(r.queued_at, r.created_at))::bigint || ' s'
FROM report.runs r JOIN report.thresholds t ON t.project_id = r.project_id
WHERE r.status = 'queued'
  AND coalesce(r.queued_at, r.created_at) < now() - make_interval(secs => t.stale_after_s)
UNION ALL
SELECT 'interrupted', r.project_id, r.id, r.kind, r.queue, r.worker_id,
       coalesce(w.stopped_at, i.ts), extract(epoch FROM now() - coalesce(w.stopped_at, i.ts))::bigint,
       CASE WHEN w.status = 'stopped' THEN 'worker ' || w.name || ' stopped while the run was in flight'
            ELSE 'the worker reported an interruption' END
FROM report.runs r
LEFT JOIN report.workers w ON w.id = r.worker_id
LEFT JOIN LATERAL (SELECT max(e.ts) AS ts FROM public.events e
                   WHERE e.run_id = r.id AND e.kind = 'interrupted'
                     AND e.ts >= coalesce(r.last_heartbeat_at, r.started_at)) i ON true
WHERE r.status = 'running' AND (w.status = 'stopped' OR i.ts IS NOT NULL)
UNION ALL
SELECT 'lease_expired', r.project_id, r.id, r.kind, r.queue, r.worker_id, r.lease_expires_at,
       extract(epoch FROM now() - r.lease_expires_at)::bigint, 'lease lapsed, not yet reclaimed'
FROM report.runs r
WHERE r.status = 'running' AND r.lease_expires_at < now()
UNION ALL
SELECT 'lease_expired', r.project_id, r.id, r.kind, r.queue, r.worker_id, l.last_ended,
       extract(epoch FROM now() - l.last_ended)::bigint,
       l.n || ' attempt(s) lost their lease'
FROM (SELECT a.run_id, count(*) AS n, max(a.ended_at) AS last_ended FROM public.attempts a
      WHERE a.error_type = 'lease_expired' AND a.ended_at >= now() - interval '30 days'
      GROUP BY a.run_id) l
JOIN report.runs r ON r.id = l.run_id
JOIN report.thresholds t ON t.project_id = r.project_id
WHERE l.last_ended >= now() - make_interval(secs => t.lease_window_s);

-- ---------------------------------------------------------------- convenience views
-- Fixed recent windows of the functions above, for browsing and ad-hoc SQL.

CREATE VIEW report.throughput_hourly AS
SELECT * FROM report.throughput(date_trunc('hour', now()) - interval '7 days', now(),
                                interval '1 hour', true, true, true, true);
CREATE VIEW report.throughput_daily AS
SELECT * FROM report.throughput(date_trunc('day', now()) - interval '90 days', now(),
                                interval '1 day', true, true, true, true);
CREATE VIEW report.durations_7d AS
SELECT * FROM report.durations(now() - interval '7 days', now(), true, true, true);
CREATE VIEW report.queue_wait_7d AS
SELECT * FROM report.queue_wait(now() - interval '7 days', now(), true, true, true);
CREATE VIEW report.failure_rate_daily AS
SELECT * FROM report.failure_rate(date_trunc('day', now()) - interval '30 days', now(),
                                  interval '1 day', true, true, true);
CREATE VIEW report.failure_groups_30d AS
SELECT * FROM report.failure_groups(now() - interval '30 days', now());

-- ---------------------------------------------------------------- privileges

GRANT USAGE ON SCHEMA report TO runwatch_report;
GRANT SELECT ON ALL TABLES IN SCHEMA report TO runwatch_report;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA report TO runwatch_report;
