-- The public JSON of runs, attempts, events, workers and saved reports, built here once
-- so every endpoint, report and live event shows the same shape and runwatch-api can
-- send the text as PostgreSQL made it, without parsing and re-serialising it. The run list
-- is the exception: fcgi/src/runjson.c makes run_json()'s shape from binary columns (cheaper
-- for the server), so a change to run_json() or attempt_json() goes there too (docs/SQL.md).
--
-- sql/functions/ holds the living definitions (README, "Schema and functions"):
-- `runwatch-api migrate` re-applies a file whenever its checksum changes.

-- Groups failures: the error type plus the message with its variable parts (numbers,
-- hex ids, quoted values, paths' digits) replaced, hashed to a short stable key.
CREATE OR REPLACE FUNCTION error_fingerprint(etype text, message text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(md5(coalesce(etype, '') || ':' ||
        regexp_replace(
            regexp_replace(
                regexp_replace(coalesce(message, ''), '''[^'']*''|"[^"]*"', '?', 'g'),
                '0x[0-9a-fA-F]+|[0-9a-fA-F]{8,}(-[0-9a-fA-F]{4,})*', 'X', 'g'),
            '[0-9]+(\.[0-9]+)?', 'N', 'g')), 16)
$$;

CREATE OR REPLACE FUNCTION attempt_json(a attempts) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'seq', a.seq, 'status', a.status, 'worker_id', a.worker_id,
        'created_at', a.created_at, 'started_at', a.started_at, 'ended_at', a.ended_at,
        'last_heartbeat_at', a.last_heartbeat_at,
        'error', CASE WHEN a.error_type IS NULL AND a.error_message IS NULL THEN NULL
                      ELSE json_build_object('type', a.error_type, 'message', a.error_message,
                                             'traceback', a.error_traceback) END)
$$;

-- The latest attempt as attempt_json() shows it, from the copy the run's row keeps
-- (migration 0024): NULL before the first attempt. Without a FROM, PostgreSQL inlines it
-- into the caller like run_json(), so the reads of a run take the attempt from the row they
-- read, with no probe of attempts per run.
CREATE OR REPLACE FUNCTION run_attempt_json(r runs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN r.attempt_seq IS NOT NULL THEN json_build_object(
        'seq', r.attempt_seq, 'status', r.attempt_status, 'worker_id', r.attempt_worker_id,
        'created_at', r.attempt_created_at, 'started_at', r.attempt_started_at,
        'ended_at', r.attempt_ended_at, 'last_heartbeat_at', r.attempt_last_heartbeat_at,
        'error', CASE WHEN r.attempt_error_type IS NULL AND r.attempt_error_message IS NULL
                      THEN NULL
                      ELSE json_build_object('type', r.attempt_error_type,
                                             'message', r.attempt_error_message,
                                             'traceback', r.attempt_error_traceback) END) END
$$;

-- Callers pass the latest attempt (run_attempt_json(r), or attempt_json() of the attempt a
-- statement wrote): without a sub-select PostgreSQL inlines run_json() into
-- the calling query (a scalar SQL function with a sub-select is executed per row instead:
-- measured 3.5 ms against 1.4 ms for a page of 100 runs). latest_attempt_json() below reads
-- attempts, not the row's copy, and is planned again on every call: for tools and checks.
CREATE OR REPLACE FUNCTION run_json(r runs, project_slug text, latest_attempt json) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', r.id, 'project', project_slug, 'experiment_id', r.experiment_id,
        'kind', r.kind, 'name', r.name, 'queue', r.queue, 'status', r.status,
        'priority', r.priority, 'input', r.input, 'params', r.params, 'tags', r.tags,
        'parent_id', r.parent_id, 'root_id', r.root_id, 'group_id', r.group_id,
        'worker_id', r.worker_id, 'progress', r.progress,
        'created_at', r.created_at, 'queued_at', r.queued_at, 'started_at', r.started_at,
        'ended_at', r.ended_at, 'last_heartbeat_at', r.last_heartbeat_at,
        'updated_at', r.updated_at, 'cancel_requested', r.cancel_requested,
        'duration_s', extract(epoch FROM (coalesce(r.ended_at, now()) - r.started_at)),
        'error', CASE WHEN r.error_type IS NULL AND r.error_message IS NULL THEN NULL
                      ELSE json_build_object('type', r.error_type, 'message', r.error_message,
                                             'traceback', r.error_traceback,
                                             'fingerprint', r.error_fingerprint) END,
        'result', r.result, 'summary', r.summary,
        'latest_attempt', latest_attempt)
$$;

CREATE OR REPLACE FUNCTION latest_attempt_json(run uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT attempt_json(a) FROM attempts a WHERE a.run_id = run ORDER BY a.seq DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION event_json(e events) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id::text, 'run_id', e.run_id, 'attempt', e.attempt_seq,
                             'ts', e.ts, 'kind', e.kind, 'level', e.level,
                             'message', e.message, 'data', e.data)
$$;

-- A worker's log line (GET /workers/{worker}/events, and the worker.event live frame).
CREATE OR REPLACE FUNCTION worker_event_json(e worker_events) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id::text, 'worker_id', e.worker_id, 'ts', e.ts,
                             'kind', e.kind, 'level', e.level, 'message', e.message,
                             'data', e.data)
$$;

CREATE OR REPLACE FUNCTION worker_json(w workers) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', w.id, 'name', w.name, 'host', w.host, 'pid', w.pid, 'labels', w.labels,
        'kinds', w.kinds, 'status', w.status, 'started_at', w.started_at,
        'last_heartbeat_at', w.last_heartbeat_at, 'stopped_at', w.stopped_at,
        'resources', w.resources)
$$;

CREATE OR REPLACE FUNCTION saved_report_json(s saved_reports, project_slug text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', s.id, 'project', project_slug, 'owner_id', s.owner_id,
                             'name', s.name, 'sql', s.sql, 'chart', s.chart,
                             'created_at', s.created_at, 'updated_at', s.updated_at)
$$;
