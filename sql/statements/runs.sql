-- Runs (api/runs.c): create, read, update, list, wait, heartbeat, cancel. Timestamps
-- leave as RFC 3339 UTC text (the session's TimeZone is UTC), runs as run_json()'s text,
-- except in the run lists, whose columns leave in binary for runjson.c (docs/SQL.md).

-- fragment: run_json_joins
-- What run_json() needs beside the run r: its project's slug. (Its latest attempt is on its
-- row: run_attempt_json(r), migration 0024.)
JOIN projects p ON p.id = r.project_id

-- fragment: run_policy_column
-- The run's own retry policy as the keys to add to run_json()'s object (each only when
-- set: ', "max_attempts" : 2, "timeout_s" : 0.5', json_build_object's spacing), NULL when
-- it set none: the single-run answers put them before its closing brace (runs.c,
-- runs_detail_json), so run_json(), the run list and events keep their shape and bytes.
-- A column rather than a SQL function around run_json(): that one is not inlined and cost
-- GET /runs/{id} 6 µs of backend CPU against 2.5 µs for this (docs/PERFORMANCE.md, "A run's
-- own retry policy on the single-run answers").
CASE WHEN num_nonnulls(r.max_attempts, r.retry_on, r.timeout_s, r.unresponsive_s) > 0 THEN
    concat(', "max_attempts" : ' || r.max_attempts, ', "retry_on" : ' || to_json(r.retry_on),
    ', "timeout_s" : ' || to_json(r.timeout_s), ', "unresponsive_s" : ' ||
    to_json(r.unresponsive_s)) END AS policy

-- fragment: run_list_columns
-- The columns of a listed run and of its latest attempt (a_*, all NULL before the first;
-- the row's copy, migration 0024, so no run of the page probes attempts),
-- which runjson.c renders as run_json() would, from libpq's binary format: PostgreSQL's text
-- output of the timestamps and jsonb in run_json() was most of the list's time
-- (docs/PERFORMANCE.md, "The run list's JSON made in C"). now is the statement's, for a running
-- run's duration_s; the cursor's key is made from the sort's column. Every list takes its
-- project as $1: the slug is one lookup per statement (an InitPlan), not a join per run.
-- version is the row version's xmin (runcache.c keys a rendered run by id and version).
r.id, (SELECT slug FROM projects WHERE id = $1::bigint) AS project, r.experiment_id, r.kind, r.name, r.queue, r.status, r.priority,
    r.input, r.params, r.tags, r.parent_id, r.root_id, r.group_id, r.worker_id, r.progress,
    r.created_at, r.queued_at, r.started_at, r.ended_at, r.last_heartbeat_at, r.updated_at,
    r.cancel_requested, r.error_type, r.error_message, r.error_traceback, r.error_fingerprint,
    r.result, r.summary, now() AS now, r.attempt_seq AS a_seq, r.attempt_status AS a_status,
    r.attempt_worker_id AS a_worker_id, r.attempt_created_at AS a_created_at,
    r.attempt_started_at AS a_started_at, r.attempt_ended_at AS a_ended_at,
    r.attempt_last_heartbeat_at AS a_last_heartbeat_at, r.attempt_error_type AS a_error_type,
    r.attempt_error_message AS a_error_message, r.attempt_error_traceback AS a_error_traceback, r.version

-- fragment: run_list_statuses
-- One row per status: the lists scan each wanted status's range of a runs_project_status_*
-- index (project, status, key, id) in order and merge the scans. An index on (project, key)
-- filtered by status reads every newer run of the other statuses first (a list of succeeded
-- runs read 100,000 newer queued ones on every page), and PostgreSQL 15 cannot scan
-- status = ANY(...) in key order.
(VALUES ('queued'), ('running'), ('retrying'), ('succeeded'), ('failed'), ('cancelled')) s(status)

-- fragment: run_list_args
-- The inputs of the unfiltered lists, through a materialized CTE: the planner cannot see the
-- values, so a plan made for the values of a call costs the same as the generic plan and
-- PostgreSQL keeps the generic one after the fifth call. (With the LIMIT or the project as
-- plain parameters, a plan for the values looks cheaper and PostgreSQL plans every call:
-- about 0.6 ms, a third of the list's time.) statuses NULL is all six; a NULL cursor starts.
WITH arg AS MATERIALIZED (SELECT $1::bigint AS project_id, $2::text[] AS statuses, $3::text AS
    cursor_key, $4::uuid AS cursor_id, $5::int AS n)

-- fragment: run_list_all_args
-- The inputs of the run_list_created_*_all statements (see run_list_args for why a CTE).
WITH arg AS MATERIALIZED (SELECT $1::bigint AS project_id, $2::text AS cursor_key, $3::uuid AS
    cursor_id, $4::int AS n)

-- fragment: run_list_probe_columns
-- What a run list's probe answers (runs.c, runs_list): which runs the page holds, at which
-- row version (the tuple's xmin: a committed version's is never reused while the cached
-- copy lives, runcache.c), and what the page's cursor and a run's duration_s are made of, so
-- the runs a worker holds rendered from an earlier list are not read and sent again.
r.id, r.version, r.created_at, r.started_at, r.ended_at, now() AS now

-- fragment: run_list_filters
-- The filters of the *_filtered lists, which take the same inputs; NULL skips one. text is an
-- id prefix or a name substring, with LIKE's wildcards escaped by the API.
AND ($3::text IS NULL OR r.kind = $3) AND ($4::text IS NULL OR r.queue = $4) AND
    ($5::bigint IS NULL OR r.worker_id = $5) AND ($6::text IS NULL OR r.tags @>
    ARRAY[$6::text]) AND ($7::uuid IS NULL OR r.parent_id = $7) AND ($8::timestamptz IS NULL
    OR r.created_at >= $8) AND ($9::timestamptz IS NULL OR r.created_at < $9) AND ($10::text
    IS NULL OR r.id::text LIKE $10 || '%' OR r.name ILIKE '%' || $10 || '%') AND
    ($14::timestamptz IS NULL OR r.ended_at >= $14) AND ($15::timestamptz IS NULL OR
    r.ended_at < $15)

-- name: run_in_project
-- in: run, project_id
-- out: one
SELECT 1 AS one
FROM runs
WHERE id = $1::uuid AND project_id = $2;

-- name: run_insert
-- id may be NULL; tags is a JSON array; slug is the project's. No row back: the id or the key
-- exists already, or (experiment_id set) the experiment has an active run already
-- (runs_experiment_active_idx, migration 0034). The retry policy's four (NULL: the queue's)
-- as policies_parse gives them.
-- in: id, project_id, idempotency_key, kind, name, queue, status, priority, input, params, tags, parent, group_id, progress, slug, max_attempts, retry_on, timeout_s, unresponsive_s, experiment_id
-- out: run_json, id, policy
WITH ins AS (INSERT INTO runs (id, project_id, idempotency_key, kind, name, queue, status,
    priority, input, params, tags, parent_id, root_id, group_id, progress, queued_at,
    started_at, max_attempts, retry_on, timeout_s, unresponsive_s, experiment_id) VALUES (coalesce($1::uuid,
    gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb,
    ARRAY(SELECT jsonb_array_elements_text($11::jsonb)), $12::uuid,
    (SELECT coalesce(p.root_id, p.id) FROM runs p WHERE p.id = $12::uuid), $13, $14::real,
    CASE WHEN $7 = 'queued' THEN now() END, CASE WHEN $7 = 'running' THEN now() END,
    $16::integer, $17::text[], $18::double precision, $19::double precision, $20::bigint) ON
    CONFLICT DO NOTHING RETURNING *)
SELECT run_json(r, $15, NULL) AS run_json, r.id,
-- include: run_policy_column
FROM ins r;

-- name: run_find_existing
-- id or idempotency_key may be NULL: the run a retried create made.
-- in: id, idempotency_key, project_id
-- out: run_json, same_project, id, policy
SELECT run_json(r, p.slug, run_attempt_json(r)) AS run_json, r.project_id = $3 AS
    same_project, r.id,
-- include: run_policy_column
FROM (SELECT * FROM runs r WHERE r.id = $1::uuid OR (r.project_id = $3 AND r.idempotency_key =
    $2) LIMIT 1) r
-- include: run_json_joins

-- name: run_get
-- in: run
-- out: run_json, project_id, policy
SELECT run_json(r, p.slug, run_attempt_json(r)) AS run_json, r.project_id,
-- include: run_policy_column
FROM runs r
-- include: run_json_joins
WHERE r.id = $1::uuid;

-- name: run_get_visible
-- GET /runs/{id} in one statement: the run when the caller may read it, no row otherwise (the
-- API then asks the slow way whether to answer 404 or 403). A token (token_project set; its
-- scopes are the API's) reads its own project's runs; a user those of projects they belong
-- to; an instance admin all.
-- in: run, token_project, user_id, is_admin
-- out: run_json, policy
SELECT run_json(r, p.slug, run_attempt_json(r)) AS run_json,
-- include: run_policy_column
FROM runs r
-- include: run_json_joins
WHERE r.id = $1::uuid AND CASE WHEN $2::bigint IS NOT NULL THEN r.project_id = $2::bigint
    ELSE $4::bool OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = r.project_id
    AND m.user_id = $3::bigint) END;

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
-- the request must be a legal move, and a cancel that was asked for wins over a retry. A
-- running run reported failed goes back to its queue when its retry policy retries on `failed`
-- and attempts remain (run_policy_requeue), leaving its worker.
-- A run that stops running ends its running attempt the same way, so a run never has a running
-- attempt unless it runs itself (and never two).
-- Success clears an earlier attempt's error unless one is reported with it.
-- The attempt it ends, the running one, is the latest (only the latest may run): the run's
-- copy of it (migration 0024) takes the attempt's new fields from `closed` (the statement's
-- snapshot predates that update), and the answer's latest attempt is the copy.
-- in: run, status, progress, result, error_type, error_message, traceback, summary, tags
-- out: run_json
WITH nx AS (SELECT r, run_next_status(r.status, $2, r.cancel_requested) AS ns FROM runs r
    WHERE r.id = $1::uuid),
cur AS (SELECT (r).id, CASE WHEN ns = 'failed' THEN run_policy_requeue(r, ns) ELSE ns END AS ns
    FROM nx),
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
    r.lease_expires_at END, worker_id = CASE WHEN cur.ns = 'queued' AND r.status = 'running'
    THEN NULL ELSE r.worker_id END, updated_at = now(), attempt_status = CASE WHEN c.seq IS NULL THEN
    r.attempt_status ELSE c.status END, attempt_ended_at = CASE WHEN c.seq IS NULL THEN
    r.attempt_ended_at ELSE c.ended_at END, attempt_error_type = CASE WHEN c.seq IS NULL
    THEN r.attempt_error_type ELSE c.error_type END, attempt_error_message = CASE WHEN c.seq
    IS NULL THEN r.attempt_error_message ELSE c.error_message END, attempt_error_traceback =
    CASE WHEN c.seq IS NULL THEN r.attempt_error_traceback ELSE c.error_traceback END
FROM cur
LEFT JOIN closed c ON c.run_id = cur.id
WHERE r.id = cur.id
RETURNING run_json(r, (SELECT slug FROM projects WHERE id = r.project_id), run_attempt_json(r));

-- The run list, by creation, start, end or duration, either way, keyset-paginated on (key, id)
-- along the runs_project_status_* indexes (0001 for created, 0013 for the others). Runs
-- without the key (never started, not ended) are not in the started/ended/duration lists.
-- The cursor key is a time, or for duration microseconds (ended - started, the expression of
-- the duration index). The API runs run_list_created_<order>_all when nothing narrows a list
-- by creation, run_list_created_<order>_one when one status does, run_list_<sort>_<order>
-- when only statuses do, else the _filtered one; all twenty answer the same columns (run_list_columns), in binary.

-- fragment: run_list_created_desc_rows
-- The page of run_list_created_desc and of run_list_created_desc_probe.
FROM (SELECT r.*
    FROM arg JOIN
    -- include: run_list_statuses
    ON arg.statuses IS NULL OR s.status = ANY(arg.statuses)
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = arg.project_id AND
        r.status = s.status AND
        (r.created_at, r.id) < (coalesce(arg.cursor_key::timestamptz,
        'infinity'), coalesce(arg.cursor_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT arg.n) r
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT (SELECT n FROM arg)) r
ORDER BY r.created_at DESC, r.id DESC

-- name: run_list_created_desc
-- The run list's common shapes (no filter but statuses), whose generic plan
-- PostgreSQL keeps: see the fragment run_list_args. One index range scan per status
-- wanted (all six when statuses is NULL), merged; the JSON is made for the page only.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_created_desc_rows

-- name: run_list_created_desc_probe
-- run_list_created_desc's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_created_desc_rows

-- fragment: run_list_created_desc_one_rows
-- The page of run_list_created_desc_one and of run_list_created_desc_one_probe.
FROM (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = (SELECT project_id FROM arg) AND
        r.status = (SELECT statuses[1] FROM arg) AND
        (r.created_at, r.id) < (SELECT coalesce(arg.cursor_key::timestamptz, 'infinity'),
        coalesce(arg.cursor_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff') FROM arg)
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT (SELECT n FROM arg)) r
ORDER BY r.created_at DESC, r.id DESC

-- name: run_list_created_desc_one
-- run_list_created_desc when statuses holds one status: that status's range scan is the page,
-- in order, so neither the merge nor a sort of the page's whole rows is needed (about a
-- fifth of the statement's time: docs/PERFORMANCE.md, "the run list's server time"). The
-- inputs reach the scan as InitPlans of the CTE, which hides their values from the planner
-- as the CTE does (the generic plan is kept) and leaves the scan's order visible to it.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_created_desc_one_rows

-- name: run_list_created_desc_one_probe
-- run_list_created_desc_one's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_created_desc_one_rows

-- fragment: run_list_created_desc_all_rows
-- The page of run_list_created_desc_all and of run_list_created_desc_all_probe.
FROM (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = (SELECT project_id FROM arg) AND
        (r.created_at, r.id) < (SELECT coalesce(arg.cursor_key::timestamptz, 'infinity'),
        coalesce(arg.cursor_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff') FROM arg)
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT (SELECT n FROM arg)) r
ORDER BY r.created_at DESC, r.id DESC

-- name: run_list_created_desc_all
-- The default view (by creation, no filter at all): one range scan of
-- runs_project_created_idx, cheaper than merging six statuses. Inputs as in
-- run_list_args (see there why they pass through a CTE), then as InitPlans, so the scan's
-- order is the page's and no sort follows (see run_list_created_desc_one).
-- in: project_id, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_all_args
SELECT
    -- include: run_list_columns
-- include: run_list_created_desc_all_rows

-- name: run_list_created_desc_all_probe
-- run_list_created_desc_all's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_all_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_created_desc_all_rows

-- fragment: run_list_created_desc_filtered_rows
-- The page of run_list_created_desc_filtered and of run_list_created_desc_filtered_probe.
FROM (SELECT r.*
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND
        (r.created_at, r.id) < (coalesce($11::timestamptz,
        'infinity'), coalesce($12::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        -- include: run_list_filters
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT $13) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT $13) r
ORDER BY r.created_at DESC, r.id DESC

-- name: run_list_created_desc_filtered
-- The run list with any filter (see run_list_filters): parameters as they are, so
-- PostgreSQL plans each call with its values and may choose another index (a parent's
-- runs, a worker's).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
-- include: run_list_created_desc_filtered_rows

-- name: run_list_created_desc_filtered_probe
-- run_list_created_desc_filtered's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
SELECT
    -- include: run_list_probe_columns
-- include: run_list_created_desc_filtered_rows

-- fragment: run_list_created_asc_rows
-- The page of run_list_created_asc and of run_list_created_asc_probe.
FROM (SELECT r.*
    FROM arg JOIN
    -- include: run_list_statuses
    ON arg.statuses IS NULL OR s.status = ANY(arg.statuses)
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = arg.project_id AND
        r.status = s.status AND
        (r.created_at, r.id) > (coalesce(arg.cursor_key::timestamptz,
        '-infinity'), coalesce(arg.cursor_id, '00000000-0000-0000-0000-000000000000'))
        ORDER BY r.created_at ASC, r.id ASC
        LIMIT arg.n) r
    ORDER BY r.created_at ASC, r.id ASC
    LIMIT (SELECT n FROM arg)) r
ORDER BY r.created_at ASC, r.id ASC

-- name: run_list_created_asc
-- See run_list_created_desc.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_created_asc_rows

-- name: run_list_created_asc_probe
-- run_list_created_asc's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_created_asc_rows

-- fragment: run_list_created_asc_one_rows
-- The page of run_list_created_asc_one and of run_list_created_asc_one_probe.
FROM (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = (SELECT project_id FROM arg) AND
        r.status = (SELECT statuses[1] FROM arg) AND
        (r.created_at, r.id) > (SELECT coalesce(arg.cursor_key::timestamptz, '-infinity'),
        coalesce(arg.cursor_id, '00000000-0000-0000-0000-000000000000') FROM arg)
        ORDER BY r.created_at ASC, r.id ASC
        LIMIT (SELECT n FROM arg)) r
ORDER BY r.created_at ASC, r.id ASC

-- name: run_list_created_asc_one
-- See run_list_created_desc_one.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_created_asc_one_rows

-- name: run_list_created_asc_one_probe
-- run_list_created_asc_one's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_created_asc_one_rows

-- fragment: run_list_created_asc_all_rows
-- The page of run_list_created_asc_all and of run_list_created_asc_all_probe.
FROM (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = (SELECT project_id FROM arg) AND
        (r.created_at, r.id) > (SELECT coalesce(arg.cursor_key::timestamptz, '-infinity'),
        coalesce(arg.cursor_id, '00000000-0000-0000-0000-000000000000') FROM arg)
        ORDER BY r.created_at ASC, r.id ASC
        LIMIT (SELECT n FROM arg)) r
ORDER BY r.created_at ASC, r.id ASC

-- name: run_list_created_asc_all
-- See run_list_created_desc_all.
-- in: project_id, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_all_args
SELECT
    -- include: run_list_columns
-- include: run_list_created_asc_all_rows

-- name: run_list_created_asc_all_probe
-- run_list_created_asc_all's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_all_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_created_asc_all_rows

-- fragment: run_list_created_asc_filtered_rows
-- The page of run_list_created_asc_filtered and of run_list_created_asc_filtered_probe.
FROM (SELECT r.*
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND
        (r.created_at, r.id) > (coalesce($11::timestamptz,
        '-infinity'), coalesce($12::uuid, '00000000-0000-0000-0000-000000000000'))
        -- include: run_list_filters
        ORDER BY r.created_at ASC, r.id ASC
        LIMIT $13) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    ORDER BY r.created_at ASC, r.id ASC
    LIMIT $13) r
ORDER BY r.created_at ASC, r.id ASC

-- name: run_list_created_asc_filtered
-- See run_list_created_desc_filtered.
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
-- include: run_list_created_asc_filtered_rows

-- name: run_list_created_asc_filtered_probe
-- run_list_created_asc_filtered's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
SELECT
    -- include: run_list_probe_columns
-- include: run_list_created_asc_filtered_rows

-- fragment: run_list_started_desc_rows
-- The page of run_list_started_desc and of run_list_started_desc_probe.
FROM (SELECT r.*
    FROM arg JOIN
    -- include: run_list_statuses
    ON arg.statuses IS NULL OR s.status = ANY(arg.statuses)
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = arg.project_id AND
        r.status = s.status AND r.started_at IS NOT NULL AND
        (r.started_at, r.id) < (coalesce(arg.cursor_key::timestamptz,
        'infinity'), coalesce(arg.cursor_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        ORDER BY r.started_at DESC, r.id DESC
        LIMIT arg.n) r
    ORDER BY r.started_at DESC, r.id DESC
    LIMIT (SELECT n FROM arg)) r
ORDER BY r.started_at DESC, r.id DESC

-- name: run_list_started_desc
-- See run_list_created_desc.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_started_desc_rows

-- name: run_list_started_desc_probe
-- run_list_started_desc's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_started_desc_rows

-- fragment: run_list_started_desc_filtered_rows
-- The page of run_list_started_desc_filtered and of run_list_started_desc_filtered_probe.
FROM (SELECT r.*
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND r.started_at IS NOT NULL AND
        (r.started_at, r.id) < (coalesce($11::timestamptz,
        'infinity'), coalesce($12::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        -- include: run_list_filters
        ORDER BY r.started_at DESC, r.id DESC
        LIMIT $13) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    ORDER BY r.started_at DESC, r.id DESC
    LIMIT $13) r
ORDER BY r.started_at DESC, r.id DESC

-- name: run_list_started_desc_filtered
-- See run_list_created_desc_filtered.
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
-- include: run_list_started_desc_filtered_rows

-- name: run_list_started_desc_filtered_probe
-- run_list_started_desc_filtered's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
SELECT
    -- include: run_list_probe_columns
-- include: run_list_started_desc_filtered_rows

-- fragment: run_list_started_asc_rows
-- The page of run_list_started_asc and of run_list_started_asc_probe.
FROM (SELECT r.*
    FROM arg JOIN
    -- include: run_list_statuses
    ON arg.statuses IS NULL OR s.status = ANY(arg.statuses)
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = arg.project_id AND
        r.status = s.status AND r.started_at IS NOT NULL AND
        (r.started_at, r.id) > (coalesce(arg.cursor_key::timestamptz,
        '-infinity'), coalesce(arg.cursor_id, '00000000-0000-0000-0000-000000000000'))
        ORDER BY r.started_at ASC, r.id ASC
        LIMIT arg.n) r
    ORDER BY r.started_at ASC, r.id ASC
    LIMIT (SELECT n FROM arg)) r
ORDER BY r.started_at ASC, r.id ASC

-- name: run_list_started_asc
-- See run_list_created_desc.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_started_asc_rows

-- name: run_list_started_asc_probe
-- run_list_started_asc's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_started_asc_rows

-- fragment: run_list_started_asc_filtered_rows
-- The page of run_list_started_asc_filtered and of run_list_started_asc_filtered_probe.
FROM (SELECT r.*
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND r.started_at IS NOT NULL AND
        (r.started_at, r.id) > (coalesce($11::timestamptz,
        '-infinity'), coalesce($12::uuid, '00000000-0000-0000-0000-000000000000'))
        -- include: run_list_filters
        ORDER BY r.started_at ASC, r.id ASC
        LIMIT $13) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    ORDER BY r.started_at ASC, r.id ASC
    LIMIT $13) r
ORDER BY r.started_at ASC, r.id ASC

-- name: run_list_started_asc_filtered
-- See run_list_created_desc_filtered.
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
-- include: run_list_started_asc_filtered_rows

-- name: run_list_started_asc_filtered_probe
-- run_list_started_asc_filtered's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
SELECT
    -- include: run_list_probe_columns
-- include: run_list_started_asc_filtered_rows

-- fragment: run_list_ended_desc_rows
-- The page of run_list_ended_desc and of run_list_ended_desc_probe.
FROM (SELECT r.*
    FROM arg JOIN
    -- include: run_list_statuses
    ON arg.statuses IS NULL OR s.status = ANY(arg.statuses)
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = arg.project_id AND
        r.status = s.status AND r.ended_at IS NOT NULL AND
        (r.ended_at, r.id) < (coalesce(arg.cursor_key::timestamptz,
        'infinity'), coalesce(arg.cursor_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        ORDER BY r.ended_at DESC, r.id DESC
        LIMIT arg.n) r
    ORDER BY r.ended_at DESC, r.id DESC
    LIMIT (SELECT n FROM arg)) r
ORDER BY r.ended_at DESC, r.id DESC

-- name: run_list_ended_desc
-- See run_list_created_desc.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_ended_desc_rows

-- name: run_list_ended_desc_probe
-- run_list_ended_desc's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_ended_desc_rows

-- fragment: run_list_ended_desc_filtered_rows
-- The page of run_list_ended_desc_filtered and of run_list_ended_desc_filtered_probe.
FROM (SELECT r.*
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND r.ended_at IS NOT NULL AND
        (r.ended_at, r.id) < (coalesce($11::timestamptz,
        'infinity'), coalesce($12::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        -- include: run_list_filters
        ORDER BY r.ended_at DESC, r.id DESC
        LIMIT $13) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    ORDER BY r.ended_at DESC, r.id DESC
    LIMIT $13) r
ORDER BY r.ended_at DESC, r.id DESC

-- name: run_list_ended_desc_filtered
-- See run_list_created_desc_filtered.
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
-- include: run_list_ended_desc_filtered_rows

-- name: run_list_ended_desc_filtered_probe
-- run_list_ended_desc_filtered's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
SELECT
    -- include: run_list_probe_columns
-- include: run_list_ended_desc_filtered_rows

-- fragment: run_list_ended_asc_rows
-- The page of run_list_ended_asc and of run_list_ended_asc_probe.
FROM (SELECT r.*
    FROM arg JOIN
    -- include: run_list_statuses
    ON arg.statuses IS NULL OR s.status = ANY(arg.statuses)
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = arg.project_id AND
        r.status = s.status AND r.ended_at IS NOT NULL AND
        (r.ended_at, r.id) > (coalesce(arg.cursor_key::timestamptz,
        '-infinity'), coalesce(arg.cursor_id, '00000000-0000-0000-0000-000000000000'))
        ORDER BY r.ended_at ASC, r.id ASC
        LIMIT arg.n) r
    ORDER BY r.ended_at ASC, r.id ASC
    LIMIT (SELECT n FROM arg)) r
ORDER BY r.ended_at ASC, r.id ASC

-- name: run_list_ended_asc
-- See run_list_created_desc.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_ended_asc_rows

-- name: run_list_ended_asc_probe
-- run_list_ended_asc's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_ended_asc_rows

-- fragment: run_list_ended_asc_filtered_rows
-- The page of run_list_ended_asc_filtered and of run_list_ended_asc_filtered_probe.
FROM (SELECT r.*
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND r.ended_at IS NOT NULL AND
        (r.ended_at, r.id) > (coalesce($11::timestamptz,
        '-infinity'), coalesce($12::uuid, '00000000-0000-0000-0000-000000000000'))
        -- include: run_list_filters
        ORDER BY r.ended_at ASC, r.id ASC
        LIMIT $13) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    ORDER BY r.ended_at ASC, r.id ASC
    LIMIT $13) r
ORDER BY r.ended_at ASC, r.id ASC

-- name: run_list_ended_asc_filtered
-- See run_list_created_desc_filtered.
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
-- include: run_list_ended_asc_filtered_rows

-- name: run_list_ended_asc_filtered_probe
-- run_list_ended_asc_filtered's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
SELECT
    -- include: run_list_probe_columns
-- include: run_list_ended_asc_filtered_rows

-- fragment: run_list_duration_desc_rows
-- The page of run_list_duration_desc and of run_list_duration_desc_probe.
FROM (SELECT r.*
    FROM arg JOIN
    -- include: run_list_statuses
    ON arg.statuses IS NULL OR s.status = ANY(arg.statuses)
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = arg.project_id AND
        r.status = s.status AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL AND
        ((r.ended_at - r.started_at), r.id) < (coalesce(arg.cursor_key::bigint * interval '1 microsecond',
        interval '1000000 years'), coalesce(arg.cursor_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        ORDER BY (r.ended_at - r.started_at) DESC, r.id DESC
        LIMIT arg.n) r
    ORDER BY (r.ended_at - r.started_at) DESC, r.id DESC
    LIMIT (SELECT n FROM arg)) r
ORDER BY (r.ended_at - r.started_at) DESC, r.id DESC

-- name: run_list_duration_desc
-- See run_list_created_desc.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_duration_desc_rows

-- name: run_list_duration_desc_probe
-- run_list_duration_desc's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_duration_desc_rows

-- fragment: run_list_duration_desc_filtered_rows
-- The page of run_list_duration_desc_filtered and of run_list_duration_desc_filtered_probe.
FROM (SELECT r.*
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL AND
        ((r.ended_at - r.started_at), r.id) < (coalesce($11::bigint * interval '1 microsecond',
        interval '1000000 years'), coalesce($12::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        -- include: run_list_filters
        ORDER BY (r.ended_at - r.started_at) DESC, r.id DESC
        LIMIT $13) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    ORDER BY (r.ended_at - r.started_at) DESC, r.id DESC
    LIMIT $13) r
ORDER BY (r.ended_at - r.started_at) DESC, r.id DESC

-- name: run_list_duration_desc_filtered
-- See run_list_created_desc_filtered.
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
-- include: run_list_duration_desc_filtered_rows

-- name: run_list_duration_desc_filtered_probe
-- run_list_duration_desc_filtered's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
SELECT
    -- include: run_list_probe_columns
-- include: run_list_duration_desc_filtered_rows

-- fragment: run_list_duration_asc_rows
-- The page of run_list_duration_asc and of run_list_duration_asc_probe.
FROM (SELECT r.*
    FROM arg JOIN
    -- include: run_list_statuses
    ON arg.statuses IS NULL OR s.status = ANY(arg.statuses)
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = arg.project_id AND
        r.status = s.status AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL AND
        ((r.ended_at - r.started_at), r.id) > (coalesce(arg.cursor_key::bigint * interval '1 microsecond',
        interval '-1000000 years'), coalesce(arg.cursor_id, '00000000-0000-0000-0000-000000000000'))
        ORDER BY (r.ended_at - r.started_at) ASC, r.id ASC
        LIMIT arg.n) r
    ORDER BY (r.ended_at - r.started_at) ASC, r.id ASC
    LIMIT (SELECT n FROM arg)) r
ORDER BY (r.ended_at - r.started_at) ASC, r.id ASC

-- name: run_list_duration_asc
-- See run_list_created_desc.
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_columns
-- include: run_list_duration_asc_rows

-- name: run_list_duration_asc_probe
-- run_list_duration_asc's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, cursor_key, cursor_id, limit
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
-- include: run_list_args
SELECT
    -- include: run_list_probe_columns
-- include: run_list_duration_asc_rows

-- fragment: run_list_duration_asc_filtered_rows
-- The page of run_list_duration_asc_filtered and of run_list_duration_asc_filtered_probe.
FROM (SELECT r.*
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT r.*, r.xmin AS version FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL AND
        ((r.ended_at - r.started_at), r.id) > (coalesce($11::bigint * interval '1 microsecond',
        interval '-1000000 years'), coalesce($12::uuid, '00000000-0000-0000-0000-000000000000'))
        -- include: run_list_filters
        ORDER BY (r.ended_at - r.started_at) ASC, r.id ASC
        LIMIT $13) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    ORDER BY (r.ended_at - r.started_at) ASC, r.id ASC
    LIMIT $13) r
ORDER BY (r.ended_at - r.started_at) ASC, r.id ASC

-- name: run_list_duration_asc_filtered
-- See run_list_created_desc_filtered.
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
-- include: run_list_duration_asc_filtered_rows

-- name: run_list_duration_asc_filtered_probe
-- run_list_duration_asc_filtered's page as its runs' ids and versions (see run_list_probe_columns).
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cursor_key, cursor_id, limit, ended_after, ended_before
-- out: id, version, created_at, started_at, ended_at, now
-- format: binary
SELECT
    -- include: run_list_probe_columns
-- include: run_list_duration_asc_filtered_rows

-- name: run_list_by_ids
-- The runs of a list's page that the worker does not hold rendered at the version its probe
-- saw (runs.c, runs_list), in the run list's columns. The caller checks each run's version
-- against the probe's: a run changed in between sends it back to the whole list.
-- in: project_id, ids
-- out: id, project, experiment_id, kind, name, queue, status, priority, input, params, tags, parent_id, root_id, group_id, worker_id, progress, created_at, queued_at, started_at, ended_at, last_heartbeat_at, updated_at, cancel_requested, error_type, error_message, error_traceback, error_fingerprint, result, summary, now, a_seq, a_status, a_worker_id, a_created_at, a_started_at, a_ended_at, a_last_heartbeat_at, a_error_type, a_error_message, a_error_traceback, version
-- format: binary
SELECT
    -- include: run_list_columns
FROM (SELECT r.*, r.xmin AS version FROM runs r WHERE r.id = ANY($2::uuid[]) AND
    r.project_id = $1::bigint) r;

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
-- latest attempt's heartbeat (and the run's copy of it, migration 0024: the same attempt,
-- compared by seq), renewing a running run's lease. The latest attempt (cur) is the row's
-- copy, read with the access check (run_writable). Nothing changes when attempt
-- is not the running latest attempt; the answer's status is then NULL and the latest
-- attempt's seq and status say why. The hot writes' access check is folded into the statement
-- (run_writable, inlined; see runs_write): w has no row when the caller may not write to the
-- run, and then nothing is written and no row answers.
-- in: run, token_project, user_id, is_admin, progress, attempt
-- out: project_id, cancel_requested, status, latest_attempt, latest_status
WITH w AS (SELECT project_id, attempt_seq, attempt_status FROM run_writable($1::uuid,
    $2::bigint, $3::bigint, $4::bool)),
cur AS (SELECT attempt_seq AS seq, attempt_status AS status FROM w WHERE attempt_seq IS NOT
    NULL),
ok AS (SELECT project_id FROM w WHERE $6::int IS NULL OR EXISTS (SELECT 1 FROM cur WHERE seq
    = $6::int AND status = 'running')),
a AS (UPDATE attempts SET last_heartbeat_at = now() FROM ok, cur WHERE run_id = $1::uuid AND
    attempts.seq = cur.seq),
u AS (UPDATE runs SET last_heartbeat_at = now(), progress = coalesce($5::real, progress),
    lease_expires_at = CASE WHEN status = 'running' AND lease_s IS NOT NULL THEN now() +
    make_interval(secs => lease_s) ELSE lease_expires_at END, attempt_last_heartbeat_at =
    CASE WHEN attempt_seq = (SELECT seq FROM cur) THEN now() ELSE attempt_last_heartbeat_at
    END FROM ok WHERE id = $1::uuid RETURNING cancel_requested, status)
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
RETURNING run_json(runs, (SELECT slug FROM projects WHERE id = runs.project_id),
    run_attempt_json(runs));

-- name: write_key_get
-- The first answer under a batch's Idempotency-Key (migration 0017), for a keyed insert whose
-- duplicate committed after its snapshot (event_insert_keyed), and whether body is the batch
-- it was used with. first_id and last_id are NULL for metrics.
-- in: run, kind, key, body
-- out: count, first_id, last_id, same_body
SELECT answer->>'count' AS count, answer->>'first_id' AS first_id, answer->>'last_id' AS
    last_id, body_hash = sha256(convert_to($4::jsonb::text, 'UTF8')) AS same_body
FROM write_keys
WHERE run_id = $1::uuid AND kind = $2 AND key = $3;
