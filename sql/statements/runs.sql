-- Runs (api/runs.c): create, read, update, list, wait, heartbeat, cancel. Timestamps
-- leave as RFC 3339 UTC text (the session's TimeZone is UTC).

-- name: run_in_project
-- in: run, project_id
-- out: one
SELECT 1 AS one
FROM runs
WHERE id = $1::uuid AND project_id = $2;

-- name: run_insert
-- id may be NULL; tags is a JSON array; slug is the project's. No row back: the id or the key
-- exists already.
-- in: id, project_id, idempotency_key, kind, name, queue, status, priority, input, params, tags, parent, group_id, progress, slug
-- out: run_json, id
WITH ins AS (INSERT INTO runs (id, project_id, idempotency_key, kind, name, queue, status,
    priority, input, params, tags, parent_id, root_id, group_id, progress, queued_at,
    started_at) VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8,
    $9::jsonb, $10::jsonb, ARRAY(SELECT jsonb_array_elements_text($11::jsonb)), $12::uuid,
    (SELECT coalesce(p.root_id, p.id) FROM runs p WHERE p.id = $12::uuid), $13, $14::real,
    CASE WHEN $7 = 'queued' THEN now() END, CASE WHEN $7 = 'running' THEN now() END) ON
    CONFLICT DO NOTHING RETURNING *)
SELECT run_json(ins, $15, NULL), ins.id
FROM ins;

-- name: run_find_existing
-- id or idempotency_key may be NULL: the run a retried create made.
-- in: id, idempotency_key, project_id
-- out: run_json, same_project, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), r.project_id = $3 AS same_project,
    r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.id = $1::uuid OR (r.project_id = $3 AND r.idempotency_key = $2)
LIMIT 1;

-- name: run_get
-- in: run
-- out: run_json, project_id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), r.project_id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.id = $1::uuid;

-- name: run_lock
-- in: run
-- out: status, project_id
SELECT status, project_id
FROM runs
WHERE id = $1::uuid FOR UPDATE;

-- name: run_status
-- in: run
-- out: status, project_id
SELECT status, project_id
FROM runs
WHERE id = $1::uuid;

-- name: run_update
-- NULL keeps a field. tags is a JSON array.
-- The new status comes from the lifecycle (run_next_status, sql/functions/25_lifecycle.sql):
-- the request must be a legal move, and a cancel that was asked for wins over a retry.
-- A run that stops running ends its running attempt the same way, so a run never has a running
-- attempt unless it runs itself (and never two).
-- Success clears an earlier attempt's error unless one is reported with it.
-- The statement's snapshot predates `closed`: its attempt is passed in directly. The latest
-- attempt is a sub-select here, planned with the statement (latest_attempt_json() is a SQL
-- function that cannot be inlined and was planned again on every call).
-- in: run, status, progress, result, error_type, error_message, traceback, summary, tags
-- out: run_json
WITH cur AS (SELECT id, run_next_status(status, $2, cancel_requested) AS ns FROM runs
    WHERE id = $1::uuid),
closed AS (UPDATE attempts a SET status = CASE cur.ns WHEN 'succeeded' THEN 'succeeded' WHEN
    'cancelled' THEN 'cancelled' ELSE 'failed' END, ended_at = now(), error_type =
    coalesce($5, a.error_type), error_message = coalesce($6, a.error_message),
    error_traceback = coalesce($7, a.error_traceback) FROM cur WHERE a.run_id = cur.id AND
    a.status = 'running' AND cur.ns <> 'running' RETURNING a.*) UPDATE runs r
SET status = cur.ns, progress = coalesce($3::real, CASE WHEN cur.ns = 'succeeded' THEN 1
    ELSE r.progress END), result = coalesce($4::jsonb, r.result), summary =
    coalesce($8::jsonb, r.summary), tags = CASE WHEN $9::jsonb IS NULL THEN r.tags ELSE
    ARRAY(SELECT jsonb_array_elements_text($9::jsonb)) END, error_type = CASE WHEN cur.ns =
    'succeeded' AND $2 IS NOT NULL THEN $5 ELSE coalesce($5, r.error_type) END,
    error_message = CASE WHEN cur.ns = 'succeeded' AND $2 IS NOT NULL THEN $6 ELSE
    coalesce($6, r.error_message) END, error_traceback = CASE WHEN cur.ns = 'succeeded' AND
    $2 IS NOT NULL THEN $7 ELSE coalesce($7, r.error_traceback) END, error_fingerprint =
    CASE WHEN $5 IS NOT NULL OR $6 IS NOT NULL THEN error_fingerprint(coalesce($5,
    r.error_type), coalesce($6, r.error_message)) WHEN cur.ns = 'succeeded' AND $2 IS NOT
    NULL THEN NULL ELSE r.error_fingerprint END, started_at = CASE WHEN cur.ns = 'running'
    THEN coalesce(r.started_at, now()) ELSE r.started_at END, ended_at = CASE WHEN cur.ns IN
    ('succeeded', 'failed', 'cancelled') THEN coalesce(r.ended_at, now()) ELSE r.ended_at
    END, queued_at = CASE WHEN cur.ns = 'queued' AND r.status <> 'queued' THEN now() ELSE
    r.queued_at END, lease_expires_at = CASE WHEN cur.ns <> 'running' THEN NULL ELSE
    r.lease_expires_at END, updated_at = now()
FROM cur
WHERE r.id = cur.id
RETURNING run_json(r, (SELECT slug FROM projects WHERE id = r.project_id), coalesce((SELECT
    attempt_json(c) FROM closed c), (SELECT attempt_json(a) FROM attempts a WHERE a.run_id =
    r.id ORDER BY a.seq DESC LIMIT 1)));

-- name: run_list_desc
-- The run list, by creation, start, end or duration, either way, keyset-paginated on
-- (key, id) along an index of migration 0006 (or 0001 for created). Runs without the key
-- (never started, not ended) are not in the started/ended/duration lists. NULL skips a
-- filter: statuses is a text[], text an id prefix or a name substring. The cursor key is
-- a time, or for duration microseconds (the duration is ended - started: the expression
-- of runs_project_duration_idx). All eight run_list statements answer the same columns.
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: run_json, cursor_key, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), to_char(r.created_at,
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_key, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = $1 AND ($2::text[] IS NULL OR r.status = ANY($2::text[])) AND ($3::text
    IS NULL OR r.kind = $3) AND ($4::text IS NULL OR r.queue = $4) AND ($5::bigint IS NULL
    OR r.worker_id = $5) AND ($6::text IS NULL OR r.tags @> ARRAY[$6::text]) AND ($7::uuid
    IS NULL OR r.parent_id = $7) AND ($8::timestamptz IS NULL OR r.created_at >= $8) AND
    ($9::timestamptz IS NULL OR r.created_at < $9) AND ($10::text IS NULL OR r.id::text LIKE
    $10 || '%' OR r.name ILIKE '%' || $10 || '%') AND ($11::text IS NULL OR (r.created_at,
    r.id) < ($11::timestamptz, $12::uuid)) AND ($14::timestamptz IS NULL OR r.ended_at >=
    $14) AND ($15::timestamptz IS NULL OR r.ended_at < $15)
ORDER BY r.created_at DESC, r.id DESC
LIMIT $13;

-- name: run_list_asc
-- The run list again (see run_list_desc).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: run_json, cursor_key, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), to_char(r.created_at,
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_key, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = $1 AND ($2::text[] IS NULL OR r.status = ANY($2::text[])) AND ($3::text
    IS NULL OR r.kind = $3) AND ($4::text IS NULL OR r.queue = $4) AND ($5::bigint IS NULL
    OR r.worker_id = $5) AND ($6::text IS NULL OR r.tags @> ARRAY[$6::text]) AND ($7::uuid
    IS NULL OR r.parent_id = $7) AND ($8::timestamptz IS NULL OR r.created_at >= $8) AND
    ($9::timestamptz IS NULL OR r.created_at < $9) AND ($10::text IS NULL OR r.id::text LIKE
    $10 || '%' OR r.name ILIKE '%' || $10 || '%') AND ($11::text IS NULL OR (r.created_at,
    r.id) > ($11::timestamptz, $12::uuid)) AND ($14::timestamptz IS NULL OR r.ended_at >=
    $14) AND ($15::timestamptz IS NULL OR r.ended_at < $15)
ORDER BY r.created_at ASC, r.id ASC
LIMIT $13;

-- name: run_list_started_desc
-- The run list again (see run_list_desc).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: run_json, cursor_key, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), to_char(r.started_at,
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_key, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = $1 AND r.started_at IS NOT NULL AND ($2::text[] IS NULL OR r.status =
    ANY($2::text[])) AND ($3::text IS NULL OR r.kind = $3) AND ($4::text IS NULL OR r.queue
    = $4) AND ($5::bigint IS NULL OR r.worker_id = $5) AND ($6::text IS NULL OR r.tags @>
    ARRAY[$6::text]) AND ($7::uuid IS NULL OR r.parent_id = $7) AND ($8::timestamptz IS NULL
    OR r.created_at >= $8) AND ($9::timestamptz IS NULL OR r.created_at < $9) AND ($10::text
    IS NULL OR r.id::text LIKE $10 || '%' OR r.name ILIKE '%' || $10 || '%') AND ($11::text
    IS NULL OR (r.started_at, r.id) < ($11::timestamptz, $12::uuid)) AND ($14::timestamptz
    IS NULL OR r.ended_at >= $14) AND ($15::timestamptz IS NULL OR r.ended_at < $15)
ORDER BY r.started_at DESC, r.id DESC
LIMIT $13;

-- name: run_list_started_asc
-- The run list again (see run_list_desc).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: run_json, cursor_key, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), to_char(r.started_at,
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_key, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = $1 AND r.started_at IS NOT NULL AND ($2::text[] IS NULL OR r.status =
    ANY($2::text[])) AND ($3::text IS NULL OR r.kind = $3) AND ($4::text IS NULL OR r.queue
    = $4) AND ($5::bigint IS NULL OR r.worker_id = $5) AND ($6::text IS NULL OR r.tags @>
    ARRAY[$6::text]) AND ($7::uuid IS NULL OR r.parent_id = $7) AND ($8::timestamptz IS NULL
    OR r.created_at >= $8) AND ($9::timestamptz IS NULL OR r.created_at < $9) AND ($10::text
    IS NULL OR r.id::text LIKE $10 || '%' OR r.name ILIKE '%' || $10 || '%') AND ($11::text
    IS NULL OR (r.started_at, r.id) > ($11::timestamptz, $12::uuid)) AND ($14::timestamptz
    IS NULL OR r.ended_at >= $14) AND ($15::timestamptz IS NULL OR r.ended_at < $15)
ORDER BY r.started_at ASC, r.id ASC
LIMIT $13;

-- name: run_list_ended_desc
-- The run list again (see run_list_desc).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: run_json, cursor_key, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), to_char(r.ended_at,
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_key, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = $1 AND r.ended_at IS NOT NULL AND ($2::text[] IS NULL OR r.status =
    ANY($2::text[])) AND ($3::text IS NULL OR r.kind = $3) AND ($4::text IS NULL OR r.queue
    = $4) AND ($5::bigint IS NULL OR r.worker_id = $5) AND ($6::text IS NULL OR r.tags @>
    ARRAY[$6::text]) AND ($7::uuid IS NULL OR r.parent_id = $7) AND ($8::timestamptz IS NULL
    OR r.created_at >= $8) AND ($9::timestamptz IS NULL OR r.created_at < $9) AND ($10::text
    IS NULL OR r.id::text LIKE $10 || '%' OR r.name ILIKE '%' || $10 || '%') AND ($11::text
    IS NULL OR (r.ended_at, r.id) < ($11::timestamptz, $12::uuid)) AND ($14::timestamptz IS
    NULL OR r.ended_at >= $14) AND ($15::timestamptz IS NULL OR r.ended_at < $15)
ORDER BY r.ended_at DESC, r.id DESC
LIMIT $13;

-- name: run_list_ended_asc
-- The run list again (see run_list_desc).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: run_json, cursor_key, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), to_char(r.ended_at,
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_key, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = $1 AND r.ended_at IS NOT NULL AND ($2::text[] IS NULL OR r.status =
    ANY($2::text[])) AND ($3::text IS NULL OR r.kind = $3) AND ($4::text IS NULL OR r.queue
    = $4) AND ($5::bigint IS NULL OR r.worker_id = $5) AND ($6::text IS NULL OR r.tags @>
    ARRAY[$6::text]) AND ($7::uuid IS NULL OR r.parent_id = $7) AND ($8::timestamptz IS NULL
    OR r.created_at >= $8) AND ($9::timestamptz IS NULL OR r.created_at < $9) AND ($10::text
    IS NULL OR r.id::text LIKE $10 || '%' OR r.name ILIKE '%' || $10 || '%') AND ($11::text
    IS NULL OR (r.ended_at, r.id) > ($11::timestamptz, $12::uuid)) AND ($14::timestamptz IS
    NULL OR r.ended_at >= $14) AND ($15::timestamptz IS NULL OR r.ended_at < $15)
ORDER BY r.ended_at ASC, r.id ASC
LIMIT $13;

-- name: run_list_duration_desc
-- The run list again (see run_list_desc).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: run_json, cursor_key, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), (extract(epoch FROM (r.ended_at -
    r.started_at)) * 1000000)::bigint::text AS cursor_key, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = $1 AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL AND
    ($2::text[] IS NULL OR r.status = ANY($2::text[])) AND ($3::text IS NULL OR r.kind = $3)
    AND ($4::text IS NULL OR r.queue = $4) AND ($5::bigint IS NULL OR r.worker_id = $5) AND
    ($6::text IS NULL OR r.tags @> ARRAY[$6::text]) AND ($7::uuid IS NULL OR r.parent_id =
    $7) AND ($8::timestamptz IS NULL OR r.created_at >= $8) AND ($9::timestamptz IS NULL OR
    r.created_at < $9) AND ($10::text IS NULL OR r.id::text LIKE $10 || '%' OR r.name ILIKE
    '%' || $10 || '%') AND ($11::text IS NULL OR ((r.ended_at - r.started_at), r.id) <
    ($11::bigint * interval '1 microsecond', $12::uuid)) AND ($14::timestamptz IS NULL OR
    r.ended_at >= $14) AND ($15::timestamptz IS NULL OR r.ended_at < $15)
ORDER BY (r.ended_at - r.started_at) DESC, r.id DESC
LIMIT $13;

-- name: run_list_duration_asc
-- The run list again (see run_list_desc).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: run_json, cursor_key, id
SELECT run_json(r, p.slug, latest_attempt_json(r.id)), (extract(epoch FROM (r.ended_at -
    r.started_at)) * 1000000)::bigint::text AS cursor_key, r.id
FROM runs r
JOIN projects p ON p.id = r.project_id
WHERE r.project_id = $1 AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL AND
    ($2::text[] IS NULL OR r.status = ANY($2::text[])) AND ($3::text IS NULL OR r.kind = $3)
    AND ($4::text IS NULL OR r.queue = $4) AND ($5::bigint IS NULL OR r.worker_id = $5) AND
    ($6::text IS NULL OR r.tags @> ARRAY[$6::text]) AND ($7::uuid IS NULL OR r.parent_id =
    $7) AND ($8::timestamptz IS NULL OR r.created_at >= $8) AND ($9::timestamptz IS NULL OR
    r.created_at < $9) AND ($10::text IS NULL OR r.id::text LIKE $10 || '%' OR r.name ILIKE
    '%' || $10 || '%') AND ($11::text IS NULL OR ((r.ended_at - r.started_at), r.id) >
    ($11::bigint * interval '1 microsecond', $12::uuid)) AND ($14::timestamptz IS NULL OR
    r.ended_at >= $14) AND ($15::timestamptz IS NULL OR r.ended_at < $15)
ORDER BY (r.ended_at - r.started_at) ASC, r.id ASC
LIMIT $13;

-- name: run_wait_status
-- ids is a JSON array of run ids: each id's run (NULLs for an unknown id), in the order asked.
-- The id comes back in PostgreSQL's spelling, as run-end notifications have it.
-- in: ids
-- out: id, status, ended_at, project_id
SELECT u.id::uuid::text AS id, r.status, to_char(r.ended_at,
    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ended_at, r.project_id
FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY u(id, i)
LEFT JOIN runs r ON r.id = u.id::uuid
ORDER BY u.i;

-- name: wait_slot_take
-- Waits take one of the given number of slots (advisory locks, see migration 0006).
-- in: slots
-- out: slot
SELECT wait_slot_take($1::int) AS slot;

-- name: wait_slot_give
-- in: slot
-- out: pg_advisory_unlock
SELECT pg_advisory_unlock(1920165473, $1::int);

-- name: listen_run_ended
-- in:
-- out:
LISTEN runwatch_run_ended;

-- name: unlisten_run_ended
-- in:
-- out:
UNLISTEN runwatch_run_ended;

-- name: run_heartbeat
-- progress may be NULL; attempt is the attempt the worker runs, or NULL: the run's and its
-- latest attempt's heartbeat, renewing a running run's lease. Nothing changes when attempt
-- is not the running latest attempt; the answer's status is then NULL and the latest
-- attempt's seq and status say why. The hot writes' access check is folded into the statement
-- (run_writable, inlined; see runs_write): w has no row when the caller may not write to the
-- run, and then nothing is written and no row answers.
-- in: run, token_project, user_id, is_admin, progress, attempt
-- out: project_id, cancel_requested, status, latest_attempt, latest_status
WITH w AS (SELECT project_id FROM run_writable($1::uuid, $2::bigint, $3::bigint, $4::bool)),
cur AS (SELECT seq, status FROM attempts WHERE run_id = $1::uuid ORDER BY seq DESC LIMIT 1),
ok AS (SELECT project_id FROM w WHERE $6::int IS NULL OR EXISTS (SELECT 1 FROM cur WHERE seq
    = $6::int AND status = 'running')),
a AS (UPDATE attempts SET last_heartbeat_at = now() FROM ok, cur WHERE run_id = $1::uuid AND
    attempts.seq = cur.seq),
u AS (UPDATE runs SET last_heartbeat_at = now(), progress = coalesce($5::real, progress),
    lease_expires_at = CASE WHEN status = 'running' AND lease_s IS NOT NULL THEN now() +
    make_interval(secs => lease_s) ELSE lease_expires_at END FROM ok WHERE id = $1::uuid
    RETURNING cancel_requested, status)
SELECT w.project_id, u.cancel_requested, u.status, (SELECT seq FROM cur) AS latest_attempt,
    (SELECT status FROM cur) AS latest_status
FROM w
LEFT JOIN u ON true;

-- name: run_cancel
-- A queued or retrying run ends now; a running one is asked to stop. Any other run moves to
-- cancelled too, which the lifecycle trigger refuses (409 naming both states).
-- in: run
-- out: run_json
UPDATE runs
SET cancel_requested = (status = 'running'), ended_at = CASE WHEN status IN ('queued',
    'retrying') THEN now() ELSE ended_at END, status = CASE WHEN status = 'running' THEN
    status ELSE 'cancelled' END, updated_at = now()
WHERE id = $1::uuid
RETURNING run_json(runs, (SELECT slug FROM projects WHERE id = runs.project_id), (SELECT
    attempt_json(a) FROM attempts a WHERE a.run_id = runs.id ORDER BY a.seq DESC LIMIT 1));
