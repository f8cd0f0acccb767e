-- The Celery bridge's ingest (api/celery.c, sql/functions/85_celery.sql).

-- name: celery_ingest
-- A burst of normalized Celery events, applied in one transaction by the caller.
-- in: project_id, batch
-- out: result
SELECT celery_ingest($1::bigint, $2::jsonb)::text AS result;

-- name: celery_registry
-- Every task name of the project's Celery runs with its last 24 hours: runs, failures,
-- average and p95 duration (of ended runs), the last run, the workers that ran it, and
-- whether any run of it was unregistered (no worker knew the name).
-- in: project_id
-- out: registry
SELECT coalesce(json_agg(x ORDER BY x.unregistered DESC, x.runs_24h DESC, x.name), '[]')::text
    AS registry
FROM (
    SELECT r.kind AS name,
        count(*) FILTER (WHERE r.created_at > now() - interval '24 hours') AS runs_24h,
        count(*) FILTER (WHERE r.created_at > now() - interval '24 hours' AND r.status = 'failed')
            AS failed_24h,
        round((count(*) FILTER (WHERE r.created_at > now() - interval '24 hours' AND r.status =
            'failed'))::numeric / nullif(count(*) FILTER (WHERE r.created_at > now() - interval
            '24 hours' AND r.status IN ('succeeded', 'failed')), 0), 4) AS failure_rate,
        avg(extract(epoch FROM r.ended_at - r.started_at)) FILTER (WHERE r.created_at > now() -
            interval '24 hours' AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL) AS avg_s,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM r.ended_at -
            r.started_at)) FILTER (WHERE r.created_at > now() - interval '24 hours' AND
            r.ended_at IS NOT NULL AND r.started_at IS NOT NULL) AS p95_s,
        max(r.created_at) AS last_run_at,
        coalesce(array_agg(DISTINCT w.name) FILTER (WHERE w.name IS NOT NULL), '{}') AS workers,
        bool_or(c.unregistered) AS unregistered
    FROM celery_tasks c
    JOIN runs r ON r.id = c.run_id
    LEFT JOIN workers w ON w.id = r.worker_id
    WHERE c.project_id = $1::bigint
    GROUP BY r.kind) x;

-- name: celery_run
-- A run's Celery fields (no row: not a Celery task).
-- in: run_id
-- out: project_id, celery
SELECT c.project_id, json_build_object('state', c.state, 'hostname', c.hostname, 'retries',
    c.retries, 'eta', c.eta, 'expires', c.expires, 'args', c.args, 'kwargs', c.kwargs, 'result',
    c.result, 'runtime', c.runtime, 'exception', c.exception, 'unregistered', c.unregistered,
    'terminated', c.terminated, 'expired', c.expired, 'signum', c.signum, 'unknown', c.unknown,
    'utcoffset', c.utcoffset, 'sent_at', c.sent_at, 'received_at', c.received_at,
    'group_id', r.group_id, 'deps', (SELECT coalesce(json_agg(json_build_object('run_id',
    d.dep_run_id, 'group_id', d.dep_group_id)), '[]') FROM run_deps d WHERE d.run_id =
    c.run_id))::text AS celery
FROM celery_tasks c
JOIN runs r ON r.id = c.run_id
WHERE c.run_id = $1::uuid;

-- name: celery_workers
-- The project's Celery workers: what their heartbeats say, and their sessions.
-- in: project_id
-- out: workers
SELECT coalesce(json_agg(json_build_object('worker_id', w.id, 'name', w.name, 'status',
    w.status, 'freq', c.freq, 'active', c.active, 'processed', c.processed, 'loadavg',
    c.loadavg, 'sw_ver', c.sw_ver, 'last_seen', c.last_seen, 'sessions', (SELECT count(*) FROM
    worker_sessions s WHERE s.worker_id = w.id), 'online_since', (SELECT max(s.started_at) FROM
    worker_sessions s WHERE s.worker_id = w.id AND s.ended_at IS NULL)) ORDER BY w.name),
    '[]')::text AS workers
FROM celery_workers c
JOIN workers w ON w.id = c.worker_id
WHERE c.project_id = $1::bigint;
