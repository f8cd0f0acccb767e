-- Reports (api/reports.c; the report schema is migration 0007). The built-in reports'
-- window: from (or NULL), to (or NULL: now), and length_s, the length in seconds when from
-- is NULL; by_* choose the grouping.

-- name: report_grant
-- user_id, token_project and project_id (only this project) may be NULL; backend_pid is the
-- backend of the connection that will read: a signed grant.
-- in: user_id, is_admin, token_project, project_id, backend_pid
-- out: report_grant
SELECT report_grant($1::bigint, $2::boolean, $3::bigint, $4::bigint, $5::integer);

-- name: report_set_grant
-- The same grant for this connection, for the rest of this transaction.
-- in: user_id, is_admin, token_project, project_id
-- out: set_config
SELECT set_config('runwatch.grant', report_grant($1::bigint, $2::boolean, $3::bigint,
    $4::bigint, pg_backend_pid()), true);

-- name: report_throughput
-- in: from, to, length_s, bucket_s, by_project, by_kind, by_queue, by_status
-- out: report
SELECT json_build_object('from', w.f, 'to', w.t, 'bucket_s', $4::integer, 'items',
    coalesce((SELECT json_agg(x) FROM (SELECT t.bucket_start AS bucket, p.slug AS project,
    t.kind, t.queue, t.status, t.started, t.ended FROM report.throughput(w.f, w.t,
    make_interval(secs => $4::integer), $5::boolean, $6::boolean, $7::boolean, $8::boolean)
    t LEFT JOIN projects p ON p.id = t.project_id ORDER BY 1, 2, 3, 4, 5) x), '[]')) AS
    report
FROM (SELECT coalesce($1::timestamptz, coalesce($2::timestamptz, now()) - make_interval(secs
    => $3::double precision)) AS f, coalesce($2::timestamptz, now()) AS t) w;

-- name: report_durations
-- in: from, to, length_s, by_project, by_kind, by_experiment
-- out: report
SELECT json_build_object('from', w.f, 'to', w.t, 'metric', 'duration', 'relative_error',
    report.hist_relative_error(), 'items', coalesce((SELECT json_agg(x) FROM (SELECT p.slug
    AS project, d.kind, d.experiment_id, e.name AS experiment, d.runs, d.p50_s, d.p90_s,
    d.p99_s, d.max_s FROM report.durations(w.f, w.t, $4::boolean, $5::boolean, $6::boolean)
    d LEFT JOIN projects p ON p.id = d.project_id LEFT JOIN experiments e ON e.id =
    d.experiment_id ORDER BY 1, 2, 3) x), '[]')) AS report
FROM (SELECT coalesce($1::timestamptz, coalesce($2::timestamptz, now()) - make_interval(secs
    => $3::double precision)) AS f, coalesce($2::timestamptz, now()) AS t) w;

-- name: report_queue_wait
-- in: from, to, length_s, by_project, by_queue, by_kind
-- out: report
SELECT json_build_object('from', w.f, 'to', w.t, 'metric', 'queue_wait', 'relative_error',
    report.hist_relative_error(), 'items', coalesce((SELECT json_agg(x) FROM (SELECT p.slug
    AS project, q.queue, q.kind, q.runs, q.p50_s, q.p90_s, q.p99_s, q.max_s FROM
    report.queue_wait(w.f, w.t, $4::boolean, $5::boolean, $6::boolean) q LEFT JOIN projects
    p ON p.id = q.project_id ORDER BY 1, 2, 3) x), '[]')) AS report
FROM (SELECT coalesce($1::timestamptz, coalesce($2::timestamptz, now()) - make_interval(secs
    => $3::double precision)) AS f, coalesce($2::timestamptz, now()) AS t) w;

-- name: report_failure_rate
-- in: from, to, length_s, bucket_s, by_project, by_kind, by_worker
-- out: report
SELECT json_build_object('from', w.f, 'to', w.t, 'bucket_s', $4::integer, 'items',
    coalesce((SELECT json_agg(x) FROM (SELECT f.bucket_start AS bucket, p.slug AS project,
    f.kind, f.worker_id, wk.name AS worker, f.finished, f.failed, f.failure_rate FROM
    report.failure_rate(w.f, w.t, make_interval(secs => $4::integer), $5::boolean,
    $6::boolean, $7::boolean) f LEFT JOIN projects p ON p.id = f.project_id LEFT JOIN
    workers wk ON wk.id = f.worker_id ORDER BY 1, 2, 3, 4) x), '[]')) AS report
FROM (SELECT coalesce($1::timestamptz, coalesce($2::timestamptz, now()) - make_interval(secs
    => $3::double precision)) AS f, coalesce($2::timestamptz, now()) AS t) w;

-- name: report_failure_groups
-- in: from, to, length_s, limit
-- out: report
SELECT json_build_object('from', w.f, 'to', w.t, 'items', coalesce((SELECT json_agg(x) FROM
    (SELECT p.slug AS project, g.fingerprint, g.error_type, g.error_message, g.runs,
    g.first_seen, g.last_seen, g.kinds, g.workers, g.sample_runs FROM
    report.failure_groups(w.f, w.t) g LEFT JOIN projects p ON p.id = g.project_id ORDER BY
    g.runs DESC, g.last_seen DESC LIMIT $4::integer) x), '[]')) AS report
FROM (SELECT coalesce($1::timestamptz, coalesce($2::timestamptz, now()) - make_interval(secs
    => $3::double precision)) AS f, coalesce($2::timestamptz, now()) AS t) w;

-- name: report_group_runs
-- The failed runs of a group, newest first, in the projects of the grant; the cursor is NULL
-- for the first page.
-- in: fingerprint, cursor_ended_at, cursor_id, limit
-- out: run_json, ended_at, id
SELECT run_json(r, p.slug, run_attempt_json(r)), to_char(r.ended_at,
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ended_at, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = ANY ((SELECT report.visible_projects())::bigint[]) AND
    r.error_fingerprint = $1 AND r.status = 'failed' AND ($2::timestamptz IS NULL OR
    (r.ended_at, r.id) < ($2::timestamptz, $3::uuid))
ORDER BY r.ended_at DESC, r.id DESC
LIMIT $4;

-- name: report_anomalies
-- kinds (text[]) NULL for all: counts by kind and the oldest first.
-- in: kinds, limit
-- out: report
WITH a AS MATERIALIZED (SELECT * FROM report.anomalies WHERE $1::text[] IS NULL OR anomaly =
    ANY ($1::text[]))
SELECT json_build_object('counts', (SELECT json_build_object('stuck', count(*) FILTER (WHERE
    anomaly = 'stuck'), 'stale', count(*) FILTER (WHERE anomaly = 'stale'), 'interrupted',
    count(*) FILTER (WHERE anomaly = 'interrupted'), 'lease_expired', count(*) FILTER (WHERE
    anomaly = 'lease_expired')) FROM a), 'items', coalesce((SELECT json_agg(x) FROM (SELECT
    a.anomaly, p.slug AS project, a.run_id, a.kind, a.queue, a.worker_id, a.since, a.age_s,
    a.detail FROM a JOIN projects p ON p.id = a.project_id ORDER BY a.age_s DESC, a.run_id
    LIMIT $2::integer) x), '[]')) AS report;

-- name: thresholds_get
-- A project's own thresholds, the defaults (report.anomaly_defaults) for what it has not set.
-- in: project_id, slug
-- out: thresholds
SELECT json_build_object('project', $2::text, 'stuck_after_s', coalesce(t.stuck_after_s,
    d.stuck_after_s), 'stale_after_s', coalesce(t.stale_after_s, d.stale_after_s),
    'lease_window_s', coalesce(t.lease_window_s, d.lease_window_s), 'updated_at',
    t.updated_at) AS thresholds
FROM report.anomaly_defaults() d
LEFT JOIN anomaly_thresholds t ON t.project_id = $1::bigint;

-- name: thresholds_put
-- PUT replaces the whole setting: a NULL threshold (left out) goes back to its default
-- (report.anomaly_defaults). user_id may be NULL.
-- in: project_id, stuck_after_s, stale_after_s, lease_window_s, user_id, slug
-- out: thresholds
INSERT INTO anomaly_thresholds AS t (project_id, stuck_after_s, stale_after_s,
    lease_window_s, updated_at, updated_by)
SELECT $1, coalesce($2::integer, d.stuck_after_s), coalesce($3::integer, d.stale_after_s),
    coalesce($4::integer, d.lease_window_s), now(), $5::bigint
FROM report.anomaly_defaults() d
ON CONFLICT (project_id) DO UPDATE
SET stuck_after_s = EXCLUDED.stuck_after_s, stale_after_s = EXCLUDED.stale_after_s,
    lease_window_s = EXCLUDED.lease_window_s, updated_at = now(), updated_by =
    EXCLUDED.updated_by
RETURNING json_build_object('project', $6::text, 'stuck_after_s', t.stuck_after_s,
    'stale_after_s', t.stale_after_s, 'lease_window_s', t.lease_window_s, 'updated_at',
    t.updated_at) AS thresholds;

-- name: saved_list
-- Saved reports of the projects of the grant.
-- in:
-- out: saved_report_json
SELECT saved_report_json(s, p.slug)
FROM saved_reports s
JOIN projects p ON p.id = s.project_id
WHERE s.project_id = ANY ((SELECT report.visible_projects())::bigint[])
ORDER BY p.slug, s.name;

-- name: saved_get
-- in: saved_id
-- out: saved_report_json, project_id, owner_id, sql
SELECT saved_report_json(s, p.slug), s.project_id, s.owner_id, s.sql
FROM saved_reports s
JOIN projects p ON p.id = s.project_id
WHERE s.id = $1::bigint;

-- name: saved_create
-- in: project_id, owner_id, name, sql, chart, slug
-- out: saved_report_json
INSERT INTO saved_reports AS s (project_id, owner_id, name, sql, chart)
VALUES ($1, $2::bigint, $3, $4, coalesce($5::jsonb, '{"type": "table"}'))
RETURNING saved_report_json(s, $6);

-- name: saved_update
-- NULL keeps a field.
-- in: saved_id, name, sql, chart, slug
-- out: saved_report_json
UPDATE saved_reports s
SET name = coalesce($2, name), sql = coalesce($3, sql), chart = coalesce($4::jsonb, chart),
    updated_at = now()
WHERE id = $1::bigint
RETURNING saved_report_json(s, $5);

-- name: saved_delete
-- in: saved_id
-- out:
DELETE
FROM saved_reports
WHERE id = $1::bigint;
