-- A run's events (api/events.c).

-- name: event_insert
-- events is a JSON array of {ts, kind, level, message, data}: one statement for a whole
-- batch. Answers the project, the count and the first and last ids. The hot writes' access
-- check is folded into the statement (run_writable, inlined; see runs_write): w has no row
-- when the caller may not write to the run, and then nothing is written and project_id is
-- NULL. The run's row is read there, so the run exists when its events are written (events
-- have no foreign key to runs: migration 0012). The events' attempt is the run row's copy of
-- its latest attempt (attempt_seq, migration 0024), read there too: no probe of attempts.
-- events_json is the batch as GET .../events renders it (event_json of each stored row,
-- comma-separated, in id order), for the live frame (EVENTS_LIVE_MAX_BYTES, 32768, in
-- api/events.h). No event renders in fewer than 175 bytes, so a batch of more than
-- 32768 / 175 events cannot fit: it is not rendered at all (NULL), and costs nothing more
-- than before. The handler checks the real size of the rest.
-- in: run, token_project, user_id, is_admin, events
-- out: project_id, count, first_id, last_id, events_json
WITH w AS (SELECT project_id, attempt_seq FROM run_writable($1::uuid, $2::bigint, $3::bigint,
    $4::bool)),
ins AS (INSERT INTO events (project_id, run_id, attempt_seq, ts, kind, level, message, data)
    SELECT w.project_id, $1::uuid, w.attempt_seq, coalesce(e.ts, now()), coalesce(e.kind,
    'log'), coalesce(e.level, 'info'), coalesce(e.message, ''), e.data FROM w,
    jsonb_to_recordset($5::jsonb) AS e(ts timestamptz, kind text, level text, message text,
    data jsonb) RETURNING id, CASE WHEN
    jsonb_array_length($5::jsonb) * 175 <= 32768 THEN event_json(events)::text END AS j)
SELECT (SELECT project_id FROM w) AS project_id, count(*) AS count, min(id)::text AS
    first_id, max(id)::text AS last_id, string_agg(j, ',' ORDER BY id) FILTER (WHERE j IS
    NOT NULL) AS events_json
FROM ins;

-- name: event_insert_keyed
-- event_insert with an Idempotency-Key (migration 0017), still one statement: the key's row
-- (k) is inserted with the batch's answer, and the events only when k did insert it, so a
-- retry stores nothing. The ids are taken first (ids: a CTE with nextval is run once) so
-- that the key's row can hold the answer it gives. A key seen before answers its row as
-- the statement's snapshot saw it (prior_*), and whether the batch is the same one
-- (same_body, by SHA-256 of the batch as jsonb prints it). A duplicate racing this one and committed
-- after the snapshot leaves stored false and no prior row: the handler reads the key again
-- (write_key_get).
-- in: run, token_project, user_id, is_admin, events, key
-- out: project_id, count, first_id, last_id, events_json, stored, prior_count, prior_first_id, prior_last_id, same_body
WITH w AS (SELECT project_id, attempt_seq FROM run_writable($1::uuid, $2::bigint, $3::bigint,
    $4::bool)),
ids AS (SELECT nextval('events_id_seq') AS id, e.* FROM w, jsonb_to_recordset($5::jsonb) AS
    e(ts timestamptz, kind text, level text, message text, data jsonb)),
k AS (INSERT INTO write_keys (run_id, kind, key, project_id, body_hash, answer) SELECT $1::uuid,
    'events', $6, w.project_id, sha256(convert_to($5::jsonb::text, 'UTF8')), (SELECT
    jsonb_build_object('count', count(*), 'first_id', min(id)::text, 'last_id', max(id)::text)
    FROM ids) FROM w ON CONFLICT DO NOTHING RETURNING 1),
ins AS (INSERT INTO events (id, project_id, run_id, attempt_seq, ts, kind, level, message, data)
    SELECT ids.id, w.project_id, $1::uuid, w.attempt_seq, coalesce(ids.ts, now()),
    coalesce(ids.kind, 'log'), coalesce(ids.level, 'info'), coalesce(ids.message, ''), ids.data
    FROM w, ids WHERE EXISTS (SELECT FROM k) ORDER BY
    ids.id RETURNING id, CASE WHEN jsonb_array_length($5::jsonb) * 175 <= 32768 THEN
    event_json(events)::text END AS j),
prior AS (SELECT answer, body_hash = sha256(convert_to($5::jsonb::text, 'UTF8')) AS same_body FROM write_keys
    WHERE run_id = $1::uuid AND kind = 'events' AND key = $6)
SELECT (SELECT project_id FROM w) AS project_id, count(*) AS count, min(id)::text AS first_id,
    max(id)::text AS last_id, string_agg(j, ',' ORDER BY id) FILTER (WHERE j IS NOT NULL) AS
    events_json, EXISTS (SELECT FROM k) AS stored, (SELECT answer->>'count' FROM prior) AS
    prior_count, (SELECT answer->>'first_id' FROM prior) AS prior_first_id, (SELECT
    answer->>'last_id' FROM prior) AS prior_last_id, (SELECT same_body FROM prior) AS same_body
FROM ins;

-- name: event_list
-- in: run, after, limit
-- out: event_json, id
SELECT event_json(e), e.id::text
FROM events e
WHERE e.run_id = $1::uuid AND e.id > $2
ORDER BY e.id
LIMIT $3;

-- name: event_list_desc
-- Newest first, before an id (NULL for the newest): the log's tail in one page, walking
-- (run_id, id) backwards.
-- in: run, before, limit
-- out: event_json, id
SELECT event_json(e), e.id::text
FROM events e
WHERE e.run_id = $1::uuid AND ($2::bigint IS NULL OR e.id < $2)
ORDER BY e.id DESC
LIMIT $3;
