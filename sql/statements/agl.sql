-- The agent-lightning store (api/agl.c): one statement per endpoint, each calling its
-- function of sql/functions/80_agl.sql, which answers the body as agent-lightning's server
-- would (and, for writes, what to publish after COMMIT). project is the token's project;
-- queue is the rollouts' queue (AGL_QUEUE).

-- name: agl_enqueue
-- in: project, queue, body
-- out: answer, publish
SELECT answer, publish FROM agl_enqueue($1::bigint, $2, $3::jsonb);

-- name: agl_dequeue
-- in: project, queue, lim, worker
-- out: answer, publish
SELECT answer, publish FROM agl_dequeue($1::bigint, $2, $3::int, $4);

-- name: agl_start_rollout
-- in: project, queue, body
-- out: answer, publish
SELECT answer, publish FROM agl_start_rollout($1::bigint, $2, $3::jsonb);

-- name: agl_rollout_get
-- in: project, id
-- out: answer
SELECT agl_rollout_get($1::bigint, $2) AS answer;

-- name: agl_rollouts_query
-- in: project, query
-- out: answer
SELECT agl_rollouts_query($1::bigint, $2::jsonb) AS answer;

-- name: agl_rollout_update
-- in: project, id, body
-- out: answer, publish
SELECT answer, publish FROM agl_rollout_update($1::bigint, $2, $3::jsonb);

-- name: agl_wait
-- in: project, body
-- out: answer
SELECT agl_wait($1::bigint, $2::jsonb) AS answer;

-- name: agl_attempt_start
-- in: project, id, body
-- out: answer, publish
SELECT answer, publish FROM agl_attempt_start($1::bigint, $2, $3::jsonb);

-- name: agl_attempts_query
-- in: project, id, query
-- out: answer
SELECT agl_attempts_query($1::bigint, $2, $3::jsonb) AS answer;

-- name: agl_attempt_latest
-- in: project, id
-- out: answer
SELECT agl_attempt_latest($1::bigint, $2) AS answer;

-- name: agl_attempt_update
-- in: project, id, attempt, body
-- out: answer, publish
SELECT answer, publish FROM agl_attempt_update($1::bigint, $2, $3, $4::jsonb);

-- name: agl_workers_query
-- in: project, query
-- out: answer
SELECT agl_workers_query($1::bigint, $2::jsonb) AS answer;

-- name: agl_worker_get
-- in: project, name
-- out: answer
SELECT agl_worker_get($1::bigint, $2) AS answer;

-- name: agl_worker_beat
-- in: project, name, body
-- out: answer
SELECT agl_worker_beat($1::bigint, $2, $3::jsonb) AS answer;

-- name: agl_resources_add
-- in: project, body
-- out: answer
SELECT agl_resources_add($1::bigint, $2::jsonb) AS answer;

-- name: agl_resources_update
-- in: project, id, body
-- out: answer
SELECT agl_resources_update($1::bigint, $2, $3::jsonb) AS answer;

-- name: agl_resources_get
-- in: project, id
-- out: answer
SELECT agl_resources_json($1::bigint, $2) AS answer;

-- name: agl_resources_latest
-- in: project
-- out: answer
SELECT agl_resources_json($1::bigint, agl_latest_resources($1::bigint)) AS answer;

-- name: agl_resources_query
-- in: project, query
-- out: answer
SELECT agl_resources_query($1::bigint, $2::jsonb) AS answer;

-- name: agl_span_add
-- in: project, span
-- out: answer, publish
SELECT answer, publish FROM agl_span_add($1::bigint, $2::jsonb);

-- name: agl_span_next
-- in: project, body
-- out: answer
SELECT agl_span_next($1::bigint, $2::jsonb) AS answer;

-- name: agl_spans_query
-- in: project, query
-- out: answer
SELECT agl_spans_query($1::bigint, $2::jsonb) AS answer;

-- name: agl_statistics
-- in: project
-- out: answer
SELECT agl_statistics($1::bigint) AS answer;

-- fragment: queue_policy_json
-- A queue's policy as the API answers it, from q (a queue_policies row, or NULLs).
json_build_object('queue', $2::text, 'max_attempts', q.max_attempts, 'retry_on', q.retry_on,
    'timeout_s', q.timeout_s, 'unresponsive_s', q.unresponsive_s)

-- name: queue_policy_get
-- A queue's retry policy (api/policies.c): every field null when none is set.
-- in: project, queue
-- out: policy
SELECT
    -- include: queue_policy_json
    AS policy
FROM (SELECT 1) one
LEFT JOIN queue_policies q ON q.project_id = $1::bigint AND q.queue = $2;

-- name: queue_policy_put
-- Sets a queue's retry policy, for its runs that set none of their own (the watchdog,
-- sql/functions/80_agl.sql); NULL fields: none.
-- in: project, queue, max_attempts, retry_on, timeout_s, unresponsive_s
-- out: policy
INSERT INTO queue_policies AS q (project_id, queue, max_attempts, retry_on, timeout_s,
    unresponsive_s)
VALUES ($1::bigint, $2, $3::int, $4::text[], $5::float8, $6::float8)
ON CONFLICT (project_id, queue) DO UPDATE SET max_attempts = excluded.max_attempts,
    retry_on = excluded.retry_on, timeout_s = excluded.timeout_s,
    unresponsive_s = excluded.unresponsive_s
RETURNING
    -- include: queue_policy_json
    AS policy;
