-- The dashboard's views of the agent-lightning store (api/rollouts.c): a project's rollouts
-- (its runs of kind 'rollout') and its resources, read by a session under the native access
-- model, where the store's own reads (agl.sql) answer only its tokens. Statuses are
-- agent-lightning's (agl_rollout_status, agl_attempt_status of sql/functions/80_agl.sql);
-- times are RFC 3339 text, as on every native read.

-- fragment: rollout_attempt_json
-- An attempt a with its worker w (a LEFT JOIN: NULL when it has none).
json_build_object('seq', a.seq, 'status', agl_attempt_status(a.status, a.phase),
    'run_status', a.status, 'worker', w.name, 'worker_id', a.worker_id,
    'created_at', a.created_at, 'started_at', a.started_at, 'ended_at', a.ended_at,
    'last_heartbeat_at', a.last_heartbeat_at,
    'error', CASE WHEN a.error_type IS NULL AND a.error_message IS NULL THEN NULL
                  ELSE json_build_object('type', a.error_type, 'message', a.error_message) END,
    'metadata', a.metadata)

-- fragment: rollout_list_columns
-- A listed rollout's answer, from the page's run r and its latest attempt a (a PK probe per
-- row of the page: the run's copy of it, migration 0024, has no phase or metadata).
-- resources_version is the version of its resources that was the latest when its latest
-- attempt started (when it was created, before one): agent-lightning's runner fetches the
-- resources by id as it starts an attempt, and a rollout records only the id.
json_build_object('id', r.id, 'name', r.name,
    'status', agl_rollout_status(r.status, r.phase), 'run_status', r.status, 'input', r.input,
    'mode', r.mode, 'resources_id', r.resources_id,
    'resources_version', (SELECT max(v.version) FROM resources v
        WHERE v.project_id = r.project_id AND v.resources_id = r.resources_id
          AND v.created_at <= coalesce(a.created_at, r.created_at)),
    'metadata', r.params,
    'config', json_build_object('max_attempts', r.max_attempts, 'retry_on', r.retry_on,
        'timeout_s', r.timeout_s, 'unresponsive_s', r.unresponsive_s),
    'created_at', r.created_at, 'started_at', r.started_at, 'ended_at', r.ended_at,
    'attempts', coalesce(r.attempt_seq, 0),
    'attempt', CASE WHEN a.seq IS NOT NULL THEN
        -- include: rollout_attempt_json
        END) AS rollout_json,
    r.id::text AS cursor

-- name: rollout_list
-- A project's rollouts, newest first, unfiltered (rollout_list_filtered narrows them), in the
-- project's created order. statuses and resources_id are NULL here (the inputs are the
-- filtered list's): the filters on them stay written, as their "NULL OR" keeps the planner
-- on one generic plan (without them it plans every call again, 0.5 ms: docs/PERFORMANCE.md).
-- The cursor is the last run shown; its key is looked up (a cursor of another project
-- matches nothing).
-- in: project, statuses, resources_id, cursor, limit
-- out: rollout_json, cursor
SELECT
    -- include: rollout_list_columns
FROM (SELECT * FROM runs r
    WHERE r.project_id = $1::bigint AND r.kind = 'rollout'
      AND ($2::text[] IS NULL OR agl_rollout_status(r.status, r.phase) = ANY ($2::text[]))
      AND ($3::text IS NULL OR r.resources_id = $3)
      AND ($4::uuid IS NULL OR (r.created_at, r.id) < (SELECT c.created_at, c.id FROM runs c
          WHERE c.id = $4::uuid AND c.project_id = $1::bigint))
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT $5) r
LEFT JOIN attempts a ON a.run_id = r.id AND a.seq = r.attempt_seq
LEFT JOIN workers w ON w.id = a.worker_id
ORDER BY r.created_at DESC, r.id DESC;

-- name: rollout_list_filtered
-- rollout_list narrowed by statuses (a text[] of rollout statuses) and/or resources_id (NULL:
-- no filter; at least one is set). Each shape has its own branch, which a one-time filter
-- turns off, so that the generic plan reads an index range in order: by resources id, its
-- range of runs_rollout_resources_idx (migration 0036); by status alone, each native
-- status's range of runs_project_status_idx, merged as the run lists do. (One statement
-- with "$n IS NULL OR ..." filters read the project's every rollout when few match; the
-- unfiltered list is a statement of its own because the branches' merge costs its page
-- about as much again: docs/PERFORMANCE.md.) k is the key the page starts below (the top
-- without a cursor; no row, so nothing, for a cursor of another project), as two values an
-- index scan can start from.
-- in: project, statuses, resources_id, cursor, limit
-- out: rollout_json, cursor
WITH k AS MATERIALIZED (SELECT 'infinity'::timestamptz AS created_at,
        'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid AS id WHERE $4::uuid IS NULL
    UNION ALL
    SELECT c.created_at, c.id FROM runs c WHERE c.id = $4::uuid AND c.project_id = $1::bigint)
SELECT
    -- include: rollout_list_columns
FROM (SELECT * FROM (
    (SELECT * FROM runs r
    WHERE $3::text IS NOT NULL AND r.project_id = $1::bigint AND r.kind = 'rollout'
      AND r.resources_id = $3
      AND ($2::text[] IS NULL OR agl_rollout_status(r.status, r.phase) = ANY ($2::text[]))
      AND (r.created_at, r.id) < ((SELECT k.created_at FROM k), (SELECT k.id FROM k))
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT $5)
    UNION ALL
    (SELECT r.* FROM (SELECT DISTINCT (agl_rollout_native(x)).status FROM unnest($2::text[]) x)
        s CROSS JOIN LATERAL (SELECT * FROM runs r
        WHERE r.project_id = $1::bigint AND r.status = s.status AND r.kind = 'rollout'
          AND agl_rollout_status(r.status, r.phase) = ANY ($2::text[])
          AND (r.created_at, r.id) < ((SELECT k.created_at FROM k), (SELECT k.id FROM k))
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT $5) r
    WHERE $3::text IS NULL)) u
    ORDER BY u.created_at DESC, u.id DESC
    LIMIT $5) r
LEFT JOIN attempts a ON a.run_id = r.id AND a.seq = r.attempt_seq
LEFT JOIN workers w ON w.id = a.worker_id
ORDER BY r.created_at DESC, r.id DESC;

-- name: rollout_attempts
-- Every attempt of a run, first first (the API checked the caller may read the run).
-- in: run
-- out: attempt_json
SELECT
    -- include: rollout_attempt_json
    AS attempt_json
FROM attempts a
LEFT JOIN workers w ON w.id = a.worker_id
WHERE a.run_id = $1::uuid
ORDER BY a.seq;

-- name: resources_list
-- A project's resources, newest first (by their first version), each with its latest
-- version, how many versions, whether it is the project's latest (what a rollout without
-- resources takes), and how many rollouts name it (the page ids' ranges of
-- runs_rollout_resources_idx, migration 0036: every rollout naming one is counted, from the
-- index alone where the visibility map allows). The cursor is the last id shown,
-- escaped for a JSON string (ids are a client's text; the API puts the cursor in quotes).
-- in: project, cursor, limit
-- out: resources_json, cursor
WITH page AS (SELECT d.*
    FROM (SELECT x.resources_id, max(x.version) AS version, count(*) AS n,
            min(x.created_at) AS first_at, max(x.created_at) AS last_at
        FROM resources x WHERE x.project_id = $1::bigint GROUP BY x.resources_id) d
    WHERE $2::text IS NULL OR (d.first_at, d.resources_id) < (SELECT min(c.created_at),
        min(c.resources_id) FROM resources c WHERE c.project_id = $1::bigint
        AND c.resources_id = $2)
    ORDER BY d.first_at DESC, d.resources_id DESC
    LIMIT $3),
used AS (SELECT r.resources_id, count(*) AS n FROM runs r
    WHERE r.project_id = $1::bigint AND r.kind = 'rollout'
      AND r.resources_id IN (SELECT resources_id FROM page)
    GROUP BY r.resources_id),
latest AS (SELECT agl_latest_resources($1::bigint) AS id)
SELECT json_build_object('resources_id', p.resources_id, 'version', p.version,
    'versions', p.n, 'created_at', p.first_at, 'updated_at', p.last_at,
    'latest', p.resources_id IS NOT DISTINCT FROM (SELECT id FROM latest),
    'rollouts', coalesce(u.n, 0)) AS resources_json,
    substr(to_json(p.resources_id)::text, 2, length(to_json(p.resources_id)::text) - 2)
        AS cursor
FROM page p
LEFT JOIN used u ON u.resources_id = p.resources_id
ORDER BY p.first_at DESC, p.resources_id DESC;

-- name: resources_versions
-- Every version of one resources id, newest first; no row when the project has none.
-- in: project, id
-- out: resources_json
SELECT json_build_object('resources_id', $2::text,
    'latest', $2::text IS NOT DISTINCT FROM agl_latest_resources($1::bigint),
    'versions', json_agg(json_build_object('version', v.version, 'created_at', v.created_at,
        'resources', v.resources) ORDER BY v.version DESC)) AS resources_json
FROM resources v
WHERE v.project_id = $1::bigint AND v.resources_id = $2
HAVING count(*) > 0;
