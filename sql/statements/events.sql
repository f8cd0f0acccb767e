-- A run's events (api/events.c).

-- name: event_insert
-- events is a JSON array of {ts, kind, level, message, data}: one statement for a whole
-- batch. Answers the project, the count and the first and last ids. The hot writes' access
-- check is folded into the statement (run_writable, inlined; see runs_write): w has no row
-- when the caller may not write to the run, and then nothing is written and project_id is
-- NULL. The run's row is read there, so the run exists when its events are written (events
-- have no foreign key to runs: migration 0012).
-- events_json is the batch as GET .../events renders it (event_json of each stored row,
-- comma-separated, in id order), for the live frame (EVENTS_LIVE_MAX_BYTES, 32768, in
-- api/events.h). No event renders in fewer than 175 bytes, so a batch of more than
-- 32768 / 175 events cannot fit: it is not rendered at all (NULL), and costs nothing more
-- than before. The handler checks the real size of the rest.
-- in: run, token_project, user_id, is_admin, events
-- out: project_id, count, first_id, last_id, events_json
WITH w AS (SELECT project_id FROM run_writable($1::uuid, $2::bigint, $3::bigint, $4::bool)),
ins AS (INSERT INTO events (project_id, run_id, attempt_seq, ts, kind, level, message, data)
    SELECT w.project_id, $1::uuid, (SELECT max(seq) FROM attempts WHERE run_id = $1::uuid),
    coalesce(e.ts, now()), coalesce(e.kind, 'log'), coalesce(e.level, 'info'),
    coalesce(e.message, ''), e.data FROM w, jsonb_to_recordset($5::jsonb) AS e(ts
    timestamptz, kind text, level text, message text, data jsonb) RETURNING id, CASE WHEN
    jsonb_array_length($5::jsonb) * 175 <= 32768 THEN event_json(events)::text END AS j)
SELECT (SELECT project_id FROM w) AS project_id, count(*) AS count, min(id)::text AS
    first_id, max(id)::text AS last_id, string_agg(j, ',' ORDER BY id) FILTER (WHERE j IS
    NOT NULL) AS events_json
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
