-- Attempts and the queue (api/queue.c).

-- fragment: run_attempt_set
-- The run's copy of its latest attempt (migration 0024), set in an UPDATE of runs (unaliased)
-- from the attempt the statement wrote, its CTE a (a row per run): every statement that
-- writes an attempt writes the copy with it, so the reads of runs never probe attempts.
(attempt_seq, attempt_status, attempt_worker_id, attempt_created_at, attempt_started_at,
    attempt_ended_at, attempt_last_heartbeat_at, attempt_error_type, attempt_error_message,
    attempt_error_traceback) = (SELECT a.seq, a.status, a.worker_id, a.created_at,
    a.started_at, a.ended_at, a.last_heartbeat_at, a.error_type, a.error_message,
    a.error_traceback FROM a WHERE a.run_id = runs.id)

-- name: attempt_list
-- in: run
-- out: attempt_json
SELECT attempt_json(a)
FROM attempts a
WHERE a.run_id = $1::uuid
ORDER BY a.seq;

-- name: attempt_latest
-- in: run
-- out: seq, status
SELECT seq, status
FROM attempts
WHERE run_id = $1::uuid
ORDER BY seq DESC
LIMIT 1;

-- name: attempt_start
-- worker_id and lease_s may be NULL: a new running attempt; the run runs with it and keeps
-- its copy (migration 0024). (A CTE's insert is invisible to its siblings' scans of the
-- table: the run's copy and run_json take the attempt from a, what the insert returned.)
-- in: run, worker_id, lease_s
-- out: run_json
WITH a AS (INSERT INTO attempts (run_id, seq, status, worker_id, started_at,
    last_heartbeat_at) VALUES ($1::uuid, coalesce((SELECT max(seq) FROM attempts WHERE
    run_id = $1::uuid), 0) + 1, 'running', $2::bigint, now(), now()) RETURNING *),
r AS (UPDATE runs SET status = 'running', started_at = coalesce(started_at, now()),
    worker_id = coalesce($2::bigint, worker_id), last_heartbeat_at = now(), lease_s =
    $3::int, lease_expires_at = now() + make_interval(secs => $3::int), updated_at = now(),
    -- include: run_attempt_set
    WHERE id = $1::uuid RETURNING *)
SELECT run_json(r, (SELECT slug FROM projects WHERE id = r.project_id), (SELECT
    attempt_json(a) FROM a))
FROM r;

-- name: attempt_lock
-- The attempt's status and whether it is the latest.
-- in: run, seq
-- out: status, is_latest
SELECT status, seq = (SELECT max(seq) FROM attempts WHERE run_id = $1::uuid) AS is_latest
FROM attempts
WHERE run_id = $1::uuid AND seq = $2::int FOR UPDATE;

-- name: attempt_finish
-- The latest attempt's new fields go to its run's copy too (migration 0024), in the same
-- statement; the run's own fields are run_update's, which the API runs next.
-- in: run, seq, status, error_type, error_message, traceback
-- out: attempt_json
WITH a AS (UPDATE attempts SET status = $3, ended_at = CASE WHEN $3 <> 'running' THEN
    coalesce(ended_at, now()) END, error_type = coalesce($4, error_type), error_message =
    coalesce($5, error_message), error_traceback = coalesce($6, error_traceback)
    WHERE run_id = $1::uuid AND seq = $2::int RETURNING *),
r AS (UPDATE runs SET
    -- include: run_attempt_set
    WHERE id = $1::uuid AND (SELECT seq FROM a) = (SELECT max(seq) FROM attempts WHERE run_id =
    $1::uuid))
SELECT attempt_json(a)
FROM a;

-- name: lease_expire
-- Runs of this queue whose worker let the lease lapse fail their attempt (lease_expired)
-- and are queued again (expire_leases, sql/functions/25_leases.sql, which the housekeeper
-- also runs for every queue).
-- in: project_id, queue
-- out: id
SELECT expired_run AS id FROM expire_leases($1::bigint, $2);

-- name: claim
-- kinds (text[]) and worker_id may be NULL: the highest-priority, oldest queued run, started
-- as a new attempt, in one autocommitted statement. Always one row: whether the worker may
-- claim (of the project, not stopped; else nothing is claimed and the API says why), then
-- the run and its id, NULL when the queue has nothing for it. The walk starts at the queue's
-- head (queue_head, sql/functions/26_queue_heads.sql): the rest of the head's priority from its
-- age on, then the lower priorities, so the entries of runs claimed before it, dead but not
-- yet removable while an old snapshot lives, are stepped over in the index.
-- in: project_id, queue, kinds, worker_id, lease_s
-- out: may_claim, run_json, id
WITH wk AS (SELECT 1 WHERE $4::bigint IS NULL OR EXISTS (SELECT 1 FROM workers WHERE id =
    $4::bigint AND project_id = $1 AND status <> 'stopped')),
h AS (SELECT hp, hc FROM queue_head($1, $2)),
c AS (SELECT id, attempt_seq FROM (SELECT id, attempt_seq FROM (SELECT id, attempt_seq FROM runs
    WHERE project_id = $1 AND queue = $2 AND status = 'queued' AND ($3::text[] IS NULL OR kind =
    ANY($3::text[])) AND priority = (SELECT hp FROM h) AND created_at >= (SELECT hc FROM h) AND
    EXISTS (SELECT 1 FROM wk) ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) b1
    UNION ALL
    SELECT id, attempt_seq FROM (SELECT id, attempt_seq FROM runs WHERE project_id = $1 AND queue
    = $2 AND status = 'queued' AND ($3::text[] IS NULL OR kind = ANY($3::text[])) AND priority <
    (SELECT hp FROM h) AND EXISTS (SELECT 1 FROM wk) ORDER BY priority DESC, created_at LIMIT 1
    FOR UPDATE SKIP LOCKED) b2) u LIMIT 1),
-- The next attempt's number from the run's copy of its latest (migration 0024), not
-- max(seq) of attempts: a plan made while attempts was nearly empty read that with a
-- sequential scan, per claim, for as long as the session kept it (docs/PERFORMANCE.md).
a AS (INSERT INTO attempts (run_id, seq, status, worker_id, started_at, last_heartbeat_at)
    SELECT c.id, coalesce(c.attempt_seq, 0) + 1, 'running', $4::bigint, now(), now() FROM c
    RETURNING *),
r AS (UPDATE runs SET status = 'running', started_at = coalesce(started_at, now()),
    worker_id = $4::bigint, last_heartbeat_at = now(), lease_s = $5::int, lease_expires_at =
    now() + make_interval(secs => $5::int), cancel_requested = false, updated_at = now(),
    -- include: run_attempt_set
    FROM c WHERE runs.id = c.id RETURNING runs.*)
SELECT EXISTS (SELECT 1 FROM wk) AS may_claim, run_json(r, (SELECT slug FROM projects WHERE
    id = r.project_id), (SELECT attempt_json(a) FROM a)), r.id
FROM (SELECT 1) one
LEFT JOIN r ON true;

-- name: claim_group
-- The claims of one group commit that share project, queue and kinds, as one statement
-- (serve.c merges them: group_write_merge, group.h): worker_id and lease_s are arrays
-- holding each claim's own (a bigint[] and an int[], NULL elements allowed for a worker).
-- One walk of the claim index locks as many of the highest-priority, oldest queued runs
-- as there are claims that may claim (FOR UPDATE SKIP LOCKED), so the index's entries
-- of runs claimed since the queue's head last moved are stepped over once a group, not once
-- a claim (the walk starts at the head, as claim's does).
-- The k-th claim that may claim, in the claims' order, takes the k-th run in priority
-- order. One row comes back for each claim, in the claims' order, as claim's: whether
-- its worker may claim (each distinct worker checked once), its run and the run's id,
-- NULL when fewer runs were free than claims. The inputs come through a materialized CTE,
-- as the run list's do (run_list_args): seen as values, the arrays made a plan for the
-- call look cheaper, so PostgreSQL planned every group again (0.5 ms of a group's 2.8).
-- in: project_id, queue, kinds, worker_id, lease_s
-- out: may_claim, run_json, id
WITH arg AS MATERIALIZED (SELECT $1::bigint AS project_id, $2::text AS queue, $3::text[] AS
    kinds, $4::bigint[] AS workers, $5::int[] AS leases),
q AS (SELECT w, l, o FROM arg, unnest(arg.workers, arg.leases) WITH ORDINALITY AS q(w, l, o)),
ok AS (SELECT w, l, o, row_number() OVER (ORDER BY o) AS k FROM q WHERE w IS NULL OR w IN
    (SELECT wk.id FROM workers wk, arg WHERE wk.id = ANY(arg.workers) AND wk.project_id =
    arg.project_id AND wk.status <> 'stopped')),
h AS (SELECT qh.hp, qh.hc FROM arg, queue_head(arg.project_id, arg.queue) qh),
c AS (SELECT id, attempt_seq, row_number() OVER (ORDER BY priority DESC, created_at) AS k FROM (SELECT
    * FROM (SELECT * FROM (SELECT id, priority, created_at, attempt_seq FROM runs WHERE project_id = (SELECT
    project_id FROM arg) AND queue = (SELECT queue FROM arg) AND status = 'queued' AND ((SELECT
    kinds FROM arg) IS NULL OR kind = ANY(CAST((SELECT kinds FROM arg) AS text[]))) AND priority
    = (SELECT hp FROM h) AND created_at >= (SELECT hc FROM h) ORDER BY created_at LIMIT (SELECT
    count(*) FROM ok) FOR UPDATE SKIP LOCKED) b1
    UNION ALL
    SELECT * FROM (SELECT id, priority, created_at, attempt_seq FROM runs WHERE project_id =
    (SELECT project_id FROM arg) AND queue = (SELECT queue FROM arg) AND status = 'queued' AND
    ((SELECT kinds FROM arg) IS NULL OR kind = ANY(CAST((SELECT kinds FROM arg) AS text[]))) AND
    priority < (SELECT hp FROM h) ORDER BY priority DESC, created_at LIMIT (SELECT count(*) FROM ok) FOR
    UPDATE SKIP LOCKED) b2) u LIMIT (SELECT count(*) FROM ok)) f),
p AS (SELECT c.id, c.attempt_seq, ok.w, ok.l, ok.o FROM c JOIN ok USING (k)),
-- The next attempt's number as in claim (the run's copy of its latest).
a AS (INSERT INTO attempts (run_id, seq, status, worker_id, started_at, last_heartbeat_at)
    SELECT p.id, coalesce(p.attempt_seq, 0) + 1, 'running', p.w, now(), now() FROM p
    RETURNING *),
r AS (UPDATE runs SET status = 'running', started_at = coalesce(started_at, now()),
    worker_id = p.w, last_heartbeat_at = now(), lease_s = p.l, lease_expires_at = now() +
    make_interval(secs => p.l), cancel_requested = false, updated_at = now(),
    -- include: run_attempt_set
    FROM p WHERE runs.id = p.id RETURNING runs AS run, p.o)
SELECT ok.o IS NOT NULL AS may_claim, run_json(r.run, (SELECT slug FROM projects WHERE id =
    (SELECT project_id FROM arg)), (SELECT attempt_json(a) FROM a WHERE a.run_id =
    (r.run).id)) AS run_json, (r.run).id AS id
FROM q
LEFT JOIN ok USING (o)
LEFT JOIN r USING (o)
ORDER BY q.o;
