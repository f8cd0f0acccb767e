-- Artifacts of runs, their stored content, promoted entries, the tables runs emit and the
-- request snapshot (api/artifacts.c; migration 0035, sql/functions/85_artifacts.sql).

-- name: artifact_insert
-- A batch of artifacts (a JSON array of {name, kind, uri, size, sha256, step, metadata},
-- names unique within it), access checked as the hot writes do (run_writable). A name the
-- run already has is not written again: it answers the stored row, and `conflict` names
-- the first such name whose stored fields differ from the batch's (the caller then rolls
-- back: a retry of the same batch is harmless, another artifact under a taken name is not).
-- in: run, token_project, user_id, is_admin, items
-- out: project_id, created, conflict, items
WITH w AS (SELECT project_id FROM run_writable($1::uuid, $2::bigint, $3::bigint, $4::bool)),
src AS (SELECT e.i, e.v->>'name' AS name, e.v->>'kind' AS kind, e.v->>'uri' AS uri,
        (e.v->>'size')::bigint AS size, e.v->>'sha256' AS sha256, (e.v->>'step')::bigint AS step,
        coalesce(e.v->'metadata', '{}') AS metadata
    FROM jsonb_array_elements($5::jsonb) WITH ORDINALITY AS e(v, i)),
ins AS (INSERT INTO artifacts AS a (project_id, run_id, name, kind, uri, size, sha256, step,
        metadata)
    SELECT w.project_id, $1::uuid, s.name, s.kind, s.uri, s.size, s.sha256, s.step, s.metadata
    FROM w, src s ORDER BY s.i
    ON CONFLICT (run_id, name) DO NOTHING
    RETURNING a.name, artifact_json(a) AS j),
old AS (SELECT a.name, artifact_json(a) AS j,
        (a.kind, a.uri, a.size, a.sha256, a.step, a.metadata, a.stored)
        IS DISTINCT FROM (s.kind, s.uri, s.size, s.sha256, s.step, s.metadata, false) AS differs
    FROM src s JOIN artifacts a ON a.run_id = $1::uuid AND a.name = s.name
    WHERE EXISTS (SELECT FROM w))
SELECT (SELECT project_id FROM w) AS project_id, (SELECT count(*) FROM ins) AS created,
    (SELECT o.name FROM old o JOIN src s ON s.name = o.name WHERE o.differs ORDER BY s.i
     LIMIT 1) AS conflict,
    (SELECT coalesce(json_agg(coalesce(n.j, o.j) ORDER BY s.i), '[]') FROM src s
     LEFT JOIN ins n ON n.name = s.name LEFT JOIN old o ON o.name = s.name) AS items;

-- name: artifact_upload
-- One artifact whose content Runwatch stores (data: the bytes, sent as a binary parameter;
-- the caller checked the run's access and the content's sha256). A name the run already has
-- stores nothing and answers the stored row's sha256 and whether it holds content (the same
-- upload again is answered with it; anything else is a conflict).
-- in: run, project_id, name, kind, sha256, step, metadata, data
-- out: artifact_json, old_json, old_sha256, old_stored
WITH ins AS (INSERT INTO artifacts AS a (project_id, run_id, name, kind, size, sha256, step,
        metadata, stored)
    VALUES ($2::bigint, $1::uuid, $3, $4, length($8::bytea), $5, $6::bigint,
        coalesce($7::jsonb, '{}'), true)
    ON CONFLICT (run_id, name) DO NOTHING
    RETURNING a.id, artifact_json(a) AS j),
blob AS (INSERT INTO artifact_blobs (artifact_id, data) SELECT id, $8::bytea FROM ins
    RETURNING 1),
old AS (SELECT artifact_json(a) AS j, a.sha256, a.stored FROM artifacts a
    WHERE a.run_id = $1::uuid AND a.name = $3)
SELECT (SELECT j FROM ins WHERE EXISTS (SELECT FROM blob)) AS artifact_json,
    (SELECT j FROM old) AS old_json, (SELECT sha256 FROM old) AS old_sha256,
    (SELECT stored FROM old) AS old_stored;

-- name: artifact_list_run
-- A run's artifacts by step, newest first (no step last), then newest registered: the
-- checkpoints view with kind = 'checkpoint'. A keyset page along artifacts_run_step_idx;
-- the cursor is "<step or -1>:<id>" of the last row shown.
-- in: run, kinds, cursor_step, cursor_id, limit
-- out: artifact_json, cursor
SELECT artifact_json(a) AS artifact_json, coalesce(a.step, -1) || ':' || a.id AS cursor
FROM artifacts a
WHERE a.run_id = $1::uuid
  AND ($2::text[] IS NULL OR a.kind = ANY ($2::text[]))
  AND ($3::bigint IS NULL OR (coalesce(a.step, -1), a.id) < ($3::bigint, $4::bigint))
ORDER BY coalesce(a.step, -1) DESC, a.id DESC
LIMIT $5::int;

-- name: artifact_list_project
-- A project's artifacts, newest first, each with its run's name and status (the project's
-- checkpoints view with kinds = {checkpoint}); the cursor is the last id shown.
-- in: project, kinds, cursor, limit
-- out: artifact_json, cursor
SELECT (artifact_json(a)::jsonb || jsonb_build_object('run', jsonb_build_object('id', r.id,
        'name', r.name, 'status', r.status)))::json AS artifact_json, a.id AS cursor
FROM artifacts a
JOIN runs r ON r.id = a.run_id
WHERE a.project_id = $1::bigint
  AND ($2::text[] IS NULL OR a.kind = ANY ($2::text[]))
  AND ($3::bigint IS NULL OR a.id < $3::bigint)
ORDER BY a.id DESC
LIMIT $4::int;

-- name: artifact_get
-- One artifact of a run (the caller checked the run's access).
-- in: run, artifact
-- out: artifact_json, name, stored, size, sha256
SELECT artifact_json(a) AS artifact_json, a.name, a.stored, a.size, a.sha256
FROM artifacts a
WHERE a.run_id = $1::uuid AND a.id = $2::bigint;

-- name: artifact_chunk
-- A slice of stored content: substring of an EXTERNAL bytea reads only that slice's TOAST
-- chunks, so a download holds one slice at a time. Binary: the bytes come as they are.
-- in: artifact, offset, length
-- out: data
-- format: binary
SELECT substring(b.data FROM $2::int + 1 FOR $3::int) AS data
FROM artifact_blobs b
WHERE b.artifact_id = $1::bigint;

-- name: promotion_create
-- Promotes an artifact of a run (the caller locked the run and saw it succeeded) as the next
-- version of a named entry of the project. `found`: the artifact belongs to the run;
-- nothing is written when it has no sha256. Two promotions racing for one version meet the
-- unique key (a conflict: the client tries again).
-- in: project_id, run, artifact, name, kind, note, user_id, token_id
-- out: found, sha256, promotion_json, promotion_id
WITH a AS (SELECT * FROM artifacts WHERE id = $3::bigint AND run_id = $2::uuid),
v AS (SELECT coalesce(max(version), 0) + 1 AS version FROM promotions
    WHERE project_id = $1::bigint AND name = $4),
ins AS (INSERT INTO promotions AS p (project_id, name, kind, version, artifact_id, artifact_name,
        run_id, experiment_id, sha256, note, promoted_by_user, promoted_by_token)
    SELECT $1::bigint, $4, $5, v.version, a.id, a.name, a.run_id, r.experiment_id, a.sha256,
        coalesce($6, ''), $7::bigint, $8::bigint
    FROM a JOIN runs r ON r.id = a.run_id, v
    WHERE a.sha256 IS NOT NULL
    RETURNING p.id, promotion_json(p) AS j)
SELECT (SELECT count(*) FROM a) AS found, (SELECT sha256 FROM a) AS sha256,
    (SELECT j FROM ins) AS promotion_json,
    (SELECT id FROM ins) AS promotion_id;

-- name: promotion_list
-- A project's promoted entries, newest first, optionally of one name; demoted ones only
-- when asked. The cursor is the last id shown.
-- in: project, name, demoted, cursor, limit
-- out: promotion_json, cursor
SELECT promotion_json(p) AS promotion_json, p.id AS cursor
FROM promotions p
WHERE p.project_id = $1::bigint
  AND ($2::text IS NULL OR p.name = $2)
  AND ($3::bool OR p.demoted_at IS NULL)
  AND ($4::bigint IS NULL OR p.id < $4::bigint)
ORDER BY p.id DESC
LIMIT $5::int;

-- name: promotion_project
-- The project of a promoted entry, for the access check before a read or a demotion.
-- in: promotion
-- out: project_id, promotion_json, demoted
SELECT p.project_id, promotion_json(p) AS promotion_json, p.demoted_at IS NOT NULL AS demoted
FROM promotions p
WHERE p.id = $1::bigint;

-- name: promotion_demote
-- Demotes an entry once (the caller checked the role and audits in the same transaction).
-- in: promotion, reason, user_id, token_id
-- out: promotion_json
UPDATE promotions AS p SET demoted_at = now(), demote_reason = $2, demoted_by_user = $3::bigint,
    demoted_by_token = $4::bigint
WHERE p.id = $1::bigint AND p.demoted_at IS NULL
RETURNING promotion_json(p) AS promotion_json;

-- name: run_table_put
-- Writes a run's table (the caller checked the run's access): replace sets columns and rows;
-- append adds rows to a table whose columns are the same (or creates it), up to max_rows in
-- all. Nothing is written when the columns differ or the rows would pass the cap: then
-- `written` is 0 and the stored columns and row count say which. Appends racing each other
-- queue on the row (ON CONFLICT DO UPDATE sees the latest version), so none is lost.
-- in: run, project_id, name, columns, rows, append, max_rows
-- out: written, row_count, cur_columns, cur_count
WITH cur AS (SELECT columns, row_count FROM run_tables WHERE run_id = $1::uuid AND name = $3),
up AS (INSERT INTO run_tables AS t (run_id, name, project_id, columns, rows, row_count)
    SELECT $1::uuid, $3, $2::bigint, $4::jsonb, $5::jsonb, jsonb_array_length($5::jsonb)
    WHERE NOT $6::bool OR NOT EXISTS (SELECT FROM cur) OR (SELECT columns FROM cur) = $4::jsonb
    ON CONFLICT (run_id, name) DO UPDATE
        SET columns = EXCLUDED.columns,
            rows = CASE WHEN $6::bool THEN t.rows || EXCLUDED.rows ELSE EXCLUDED.rows END,
            row_count = CASE WHEN $6::bool THEN t.row_count + EXCLUDED.row_count
                             ELSE EXCLUDED.row_count END,
            updated_at = now()
        WHERE NOT $6::bool OR (t.columns = EXCLUDED.columns
                               AND t.row_count + EXCLUDED.row_count <= $7::int)
    RETURNING t.row_count)
SELECT (SELECT count(*) FROM up) AS written, (SELECT row_count FROM up) AS row_count,
    (SELECT columns FROM cur) AS cur_columns, (SELECT row_count FROM cur) AS cur_count;

-- name: run_table_list
-- A run's tables by name, each whole (leaderboards are small: RUN_TABLE_MAX_ROWS at most).
-- in: run
-- out: tables
SELECT coalesce(json_agg(run_table_json(t) ORDER BY t.name), '[]') AS tables
FROM run_tables t
WHERE t.run_id = $1::uuid;

-- name: run_table_get
-- in: run, name
-- out: table_json
SELECT run_table_json(t) AS table_json FROM run_tables t WHERE t.run_id = $1::uuid AND t.name = $2;

-- name: run_snapshot_get
-- The request snapshot of a run: its params and input, and the experiment's flags when it
-- was linked to one (NULL otherwise).
-- in: run
-- out: params, input, experiment
SELECT r.params, r.input,
    (SELECT json_build_object('id', s.experiment_id, 'name', s.experiment_name, 'flags', s.flags,
        'taken_at', s.taken_at) FROM run_snapshots s WHERE s.run_id = r.id) AS experiment
FROM runs r
WHERE r.id = $1::uuid;
