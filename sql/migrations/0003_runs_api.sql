-- 0003: SQL helpers of the runs API. The public JSON of a run is built here, once, so
-- every endpoint and report shows the same shape and runwatch-api can send the text
-- as PostgreSQL made it, without parsing and re-serialising it.

-- Groups failures: the error type plus the message with its variable parts (numbers,
-- hex ids, quoted values, paths' digits) replaced, hashed to a short stable key.
CREATE FUNCTION error_fingerprint(etype text, message text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(md5(coalesce(etype, '') || ':' ||
        regexp_replace(
            regexp_replace(
                regexp_replace(coalesce(message, ''), '''[^'']*''|"[^"]*"', '?', 'g'),
                '0x[0-9a-fA-F]+|[0-9a-fA-F]{8,}(-[0-9a-fA-F]{4,})*', 'X', 'g'),
            '[0-9]+(\.[0-9]+)?', 'N', 'g')), 16)
$$;

CREATE FUNCTION attempt_json(a attempts) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'seq', a.seq, 'status', a.status, 'worker_id', a.worker_id,
        'created_at', a.created_at, 'started_at', a.started_at, 'ended_at', a.ended_at,
        'last_heartbeat_at', a.last_heartbeat_at,
        'error', CASE WHEN a.error_type IS NULL AND a.error_message IS NULL THEN NULL
                      ELSE json_build_object('type', a.error_type, 'message', a.error_message,
                                             'traceback', a.error_traceback) END)
$$;

CREATE FUNCTION run_json(r runs, project_slug text) RETURNS json
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
        'latest_attempt', (SELECT attempt_json(a) FROM attempts a WHERE a.run_id = r.id
                           ORDER BY a.seq DESC LIMIT 1))
$$;

CREATE FUNCTION event_json(e events) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id::text, 'run_id', e.run_id, 'attempt', e.attempt_seq,
                             'ts', e.ts, 'kind', e.kind, 'level', e.level,
                             'message', e.message, 'data', e.data)
$$;
