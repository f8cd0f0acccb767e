-- Workers, their sessions and resource samples (api/workers.c).

-- name: worker_in_project
-- in: worker_id, project_id
-- out: status
SELECT status
FROM workers
WHERE id = $1::bigint AND project_id = $2;

-- name: worker_register
-- kinds is a JSON array. Registering again reuses the row (same project and name): fields
-- left out keep their values, the status is online again, and a new session begins (the
-- open one ends as replaced).
-- in: project_id, name, host, pid, labels, kinds
-- out: worker_json, id, created
WITH w AS (INSERT INTO workers (project_id, name, host, pid, labels, kinds, status,
    started_at, last_heartbeat_at, stopped_at) VALUES ($1, $2, coalesce($3, ''), $4::int,
    coalesce($5::jsonb, '{}'), ARRAY(SELECT jsonb_array_elements_text(coalesce($6::jsonb,
    '[]'))), 'online', now(), now(), NULL) ON CONFLICT (project_id, name) DO UPDATE SET host
    = coalesce($3, workers.host), pid = coalesce($4::int, workers.pid), labels =
    coalesce($5::jsonb, workers.labels), kinds = CASE WHEN $6::jsonb IS NULL THEN
    workers.kinds ELSE EXCLUDED.kinds END, status = 'online', started_at = now(),
    last_heartbeat_at = now(), stopped_at = NULL RETURNING workers AS wrow, xmax = 0 AS
    created),
ended AS (UPDATE worker_sessions s SET ended_at = now(), end_reason = 'replaced' FROM w
    WHERE s.worker_id = (w.wrow).id AND s.ended_at IS NULL),
sess AS (INSERT INTO worker_sessions (worker_id, host, pid) SELECT (wrow).id, (wrow).host,
    (wrow).pid FROM w)
SELECT worker_json(w.wrow), (w.wrow).id, w.created
FROM w;

-- name: worker_get
-- in: worker_id
-- out: status, project_id, name
SELECT status, project_id, name
FROM workers
WHERE id = $1::bigint;

-- name: worker_detail
-- The worker, the runs it has in flight, its last 20 sessions (newest first) and its last 120
-- resource samples (oldest first, for a chart).
-- in: worker_id
-- out: detail
SELECT json_build_object('worker', worker_json(w), 'current_runs', coalesce((SELECT
    json_agg(run_json(r, p.slug, run_attempt_json(r)) ORDER BY r.started_at DESC) FROM
    runs r JOIN projects p ON p.id = r.project_id WHERE r.worker_id = w.id AND r.status =
    'running'), '[]'), 'sessions', coalesce((SELECT json_agg(json_build_object('id', s.id,
    'host', s.host, 'pid', s.pid, 'started_at', s.started_at, 'ended_at', s.ended_at,
    'end_reason', s.end_reason) ORDER BY s.started_at DESC, s.id DESC) FROM (SELECT * FROM
    worker_sessions WHERE worker_id = w.id ORDER BY started_at DESC, id DESC LIMIT 20) s),
    '[]'), 'samples', coalesce((SELECT json_agg(json_build_object('ts', x.ts, 'sample',
    x.sample) ORDER BY x.ts) FROM (SELECT ts, sample FROM worker_samples WHERE worker_id =
    w.id ORDER BY ts DESC LIMIT 120) x), '[]')) AS detail
FROM workers w
WHERE w.id = $1::bigint;

-- name: worker_heartbeat
-- status and resources (a sample) may be NULL.
-- in: worker_id, status, resources
-- out: worker_json
UPDATE workers
SET last_heartbeat_at = now(), status = coalesce($2, status), resources =
    coalesce($3::jsonb, resources)
WHERE id = $1::bigint
RETURNING worker_json(workers);

-- name: worker_sample
-- Kept for 7 days: the housekeeper prunes older ones (sql/functions/70_housekeeping.sql).
-- in: worker_id, sample
-- out:
INSERT INTO worker_samples (worker_id, sample)
VALUES ($1::bigint, $2::jsonb);

-- name: worker_stop
-- A stopped worker's runs in flight get an "interrupted" event each.
-- in: worker_id
-- out: worker_json, interrupted_runs
WITH w AS (UPDATE workers SET status = 'stopped', stopped_at = coalesce(stopped_at, now())
    WHERE id = $1::bigint RETURNING *),
sess AS (UPDATE worker_sessions SET ended_at = now(), end_reason = 'stopped' WHERE worker_id
    = $1::bigint AND ended_at IS NULL),
inflight AS (SELECT r.id, r.project_id FROM runs r JOIN w ON r.worker_id = w.id WHERE
    r.status = 'running'),
ev AS (INSERT INTO events (project_id, run_id, kind, level, message, data) SELECT
    project_id, id, 'interrupted', 'warning',
    'the worker stopped while this run was in flight', jsonb_build_object('worker_id',
    $1::bigint) FROM inflight RETURNING run_id)
SELECT worker_json(w), (SELECT coalesce(json_agg(run_id), '[]') FROM ev)::text AS
    interrupted_runs
FROM w;

-- name: worker_json
-- in: worker_id
-- out: worker_json
SELECT worker_json(w)
FROM workers w
WHERE w.id = $1::bigint;

-- name: worker_list
-- in: project_id, status
-- out: worker_json
SELECT worker_json(w)
FROM workers w
WHERE w.project_id = $1 AND ($2::text IS NULL OR w.status = $2)
ORDER BY w.name;

-- name: worker_event_insert
-- A worker's log lines: events is a JSON array of {ts, kind, level, message, data}, one
-- statement for the batch (as event_insert). The worker's project was checked by the
-- handler (worker_get, access); project_id is stored for the reports' row visibility.
-- events_json is the batch as GET .../events renders it, for the live frame, unless it
-- cannot fit the frame's budget (the same 175-byte floor as event_insert).
-- in: worker_id, project_id, events
-- out: count, first_id, last_id, events_json
WITH ins AS (INSERT INTO worker_events (project_id, worker_id, ts, kind, level, message, data)
    SELECT $2::bigint, $1::bigint, coalesce(e.ts, now()), coalesce(e.kind, 'log'),
    coalesce(e.level, 'info'), coalesce(e.message, ''), e.data FROM
    jsonb_to_recordset($3::jsonb) AS e(ts timestamptz, kind text, level text, message text,
    data jsonb) RETURNING id, CASE WHEN jsonb_array_length($3::jsonb) * 175 <= 32768 THEN
    worker_event_json(worker_events)::text END AS j)
SELECT count(*) AS count, min(id)::text AS first_id, max(id)::text AS last_id,
    string_agg(j, ',' ORDER BY id) FILTER (WHERE j IS NOT NULL) AS events_json
FROM ins;

-- name: worker_event_list
-- Oldest first after an id: (worker_id, id) is the key's prefix.
-- in: worker_id, after, limit
-- out: event_json, id
SELECT worker_event_json(e) AS event_json, e.id::text
FROM worker_events e
WHERE e.worker_id = $1::bigint AND e.id > $2::bigint
ORDER BY e.id
LIMIT $3;

-- name: worker_event_list_desc
-- Newest first before an id (NULL for the newest): the log's tail in one page.
-- in: worker_id, before, limit
-- out: event_json, id
SELECT worker_event_json(e) AS event_json, e.id::text
FROM worker_events e
WHERE e.worker_id = $1::bigint AND ($2::bigint IS NULL OR e.id < $2)
ORDER BY e.id DESC
LIMIT $3;
