-- Experiments (api/experiments.c, migration 0034): CRUD, the job history, the flags the
-- schema is inferred from, and the reconcile contract (list, claim, report). The state and
-- action of an experiment come from sql/functions/90_experiments.sql.

-- name: experiment_list
-- The project's experiments, newest first. q: a name substring (LIKE's wildcards escaped by
-- the API); state: a desired state; tag: one tag; cursor: the last id of the previous page.
-- NULL skips a filter.
-- in: project_id, slug, q, state, tag, cursor, limit
-- out: experiment_json, id
SELECT experiment_json(e, $2) AS experiment_json, e.id
FROM experiments e
WHERE e.project_id = $1::bigint AND ($3::text IS NULL OR e.name ILIKE '%' || $3 || '%') AND
    ($4::text IS NULL OR e.desired_state = $4) AND ($5::text IS NULL OR e.tags @>
    ARRAY[$5::text]) AND ($6::bigint IS NULL OR e.id < $6)
ORDER BY e.id DESC
LIMIT $7::int;

-- name: experiment_get
-- in: experiment
-- out: experiment_json, project_id
SELECT experiment_json(e, p.slug) AS experiment_json, e.project_id
FROM experiments e
JOIN projects p ON p.id = e.project_id
WHERE e.id = $1::bigint;

-- name: experiment_resolve
-- The id of an experiment of the project named by id or by name (the other NULL).
-- in: project_id, id, name
-- out: id
SELECT e.id
FROM experiments e
WHERE e.project_id = $1::bigint AND (e.id = $2::bigint OR e.name = $3);

-- name: experiment_insert
-- tags: a JSON array of strings. The actor is a user or a token.
-- in: project_id, slug, name, description, flags, kind, queue, tags, desired_state, user_id, token_id
-- out: experiment_json, id
INSERT INTO experiments AS e (project_id, name, description, flags, kind, queue, tags,
    desired_state, created_by_user, created_by_token, updated_by_user, updated_by_token)
VALUES ($1::bigint, $3, coalesce($4, ''), coalesce($5::jsonb, '{}'), coalesce($6, 'experiment'),
    coalesce($7, 'default'), ARRAY(SELECT jsonb_array_elements_text(coalesce($8::jsonb, '[]'))),
    coalesce($9, 'stopped'), $10::bigint, $11::bigint, $10::bigint, $11::bigint)
RETURNING experiment_json(e, $2) AS experiment_json, e.id;

-- name: experiment_update
-- NULL keeps a field. A change of desired state clears a reported failure's back-off: the
-- user asked again.
-- in: experiment, slug, name, description, flags, kind, queue, tags, desired_state, user_id, token_id
-- out: experiment_json
UPDATE experiments e
SET name = coalesce($3, name), description = coalesce($4, description), flags =
    coalesce($5::jsonb, flags), kind = coalesce($6, kind), queue = coalesce($7, queue), tags =
    CASE WHEN $8::jsonb IS NULL THEN tags ELSE ARRAY(SELECT jsonb_array_elements_text($8::jsonb))
    END, desired_state = coalesce($9, desired_state), retry_at = CASE WHEN $9 IS NOT NULL AND
    $9 <> desired_state THEN NULL ELSE retry_at END, updated_by_user = $10::bigint, updated_by_token =
    $11::bigint, updated_at = now()
WHERE e.id = $1::bigint
RETURNING experiment_json(e, $2) AS experiment_json;

-- name: experiment_delete
-- Its runs stay, unlinked (runs.experiment_id is ON DELETE SET NULL).
-- in: experiment
-- out:
DELETE
FROM experiments
WHERE id = $1::bigint;

-- name: experiment_runs
-- The job history: every run of the experiment, newest first, as run_json() shows a run
-- (created, queued, started and ended times, the error, the result with any exit code).
-- in: experiment, slug, limit
-- out: run_json
SELECT run_json(r, $2, run_attempt_json(r)) AS run_json
FROM runs r
WHERE r.experiment_id = $1::bigint
ORDER BY r.created_at DESC, r.id DESC
LIMIT $3::int;

-- name: experiment_flags
-- The flags the schema is inferred from: one experiment's, or (experiment NULL) every
-- experiment's of the project.
-- in: project_id, experiment
-- out: flags
SELECT e.flags::text AS flags
FROM experiments e
WHERE e.project_id = $1::bigint AND ($2::bigint IS NULL OR e.id = $2::bigint)
ORDER BY e.id;

-- name: experiment_reconcile
-- The experiments whose desired and actual states differ, with the action each needs, that
-- this launcher may claim: no live lease, or a live one of its own (it may have crashed and
-- come back under the same name; its lease id is not shown, so it waits for the lapse like
-- anyone else). Oldest first, so a backlog drains in order.
-- in: project_id, slug, launcher, limit
-- out: experiment_json
SELECT experiment_json(e, $2) AS experiment_json
FROM experiments e
CROSS JOIN LATERAL (SELECT experiment_action(e.desired_state, experiment_actual(
    experiment_active_run(e.id), e.terminated_at), e.retry_at) AS action) a
WHERE e.project_id = $1::bigint AND a.action IS NOT NULL AND (e.lease_id IS NULL OR
    e.lease_expires_at <= now() OR e.lease_launcher = $3)
ORDER BY e.id
LIMIT $4::int;

-- name: experiment_lock
-- The experiment's row, locked for a claim or a report. Only the lock: what it needs is read
-- by experiment_state after it, in a snapshot taken once the lock is held. (Read in the same
-- statement, the runs were those of the statement's start: a claim that had waited for
-- another launcher's report saw that report's cleared lease, but not the run the launcher had
-- made before it, and granted the launch a second time — the two-launcher test caught it.)
-- While the lock is held no run of the experiment can be inserted: the insert's foreign key
-- check takes FOR KEY SHARE on this row.
-- in: experiment
-- out: project_id
SELECT e.project_id
FROM experiments e
WHERE e.id = $1::bigint
FOR UPDATE;

-- name: experiment_state
-- The locked experiment (experiment_lock): the action it needs now, whether a live lease
-- holds it, the lease, and the active run.
-- in: experiment
-- out: slug, action, held, lease_id, lease_action, active_run
SELECT p.slug, experiment_action(e.desired_state, experiment_actual(s.active, e.terminated_at),
    e.retry_at) AS action, coalesce(e.lease_expires_at > now(), false) AS held, e.lease_id,
    e.lease_action, s.active AS active_run
FROM experiments e
JOIN projects p ON p.id = e.project_id
CROSS JOIN LATERAL (SELECT experiment_active_run(e.id) AS active) s
WHERE e.id = $1::bigint;

-- name: experiment_claim
-- A new lease on the locked experiment (experiment_lock said it is free and needs action);
-- a lapsed lease it replaces is recorded as lapsed.
-- in: experiment, slug, action, launcher, lease_s
-- out: claim_json
WITH old AS (UPDATE experiment_actions a SET outcome = 'lapsed'
    FROM experiments e WHERE e.id = $1::bigint AND a.lease_id = e.lease_id AND a.outcome IS NULL),
u AS (UPDATE experiments e SET lease_id = gen_random_uuid(), lease_action = $3, lease_launcher =
    $4, lease_expires_at = now() + make_interval(secs => $5::double precision)
    WHERE e.id = $1::bigint RETURNING e.*),
ins AS (INSERT INTO experiment_actions (experiment_id, lease_id, action, launcher, expires_at)
    SELECT u.id, u.lease_id, u.lease_action, u.lease_launcher, u.lease_expires_at FROM u)
SELECT experiment_lease_json(u::experiments, $2) AS claim_json
FROM u;

-- name: experiment_renew
-- The holder's lease extended to lease_s from now (the API checked the lease against
-- experiment_lock): an action that takes longer than one lease (a cluster that takes
-- minutes to come up) keeps it by renewing before it lapses. A lapsed lease nobody claimed
-- over is still the holder's, as for its report. The action's row keeps the new expiry.
-- in: experiment, slug, lease_s
-- out: lease_json
WITH u AS (UPDATE experiments e SET lease_expires_at = now() + make_interval(secs =>
    $3::double precision) WHERE e.id = $1::bigint RETURNING e.*),
act AS (UPDATE experiment_actions a SET expires_at = u.lease_expires_at FROM u
    WHERE a.lease_id = u.lease_id)
SELECT experiment_lease_json(u::experiments, $2) AS lease_json
FROM u;

-- name: experiment_run_of
-- in: run, experiment
-- out: one
SELECT 1 AS one
FROM runs
WHERE id = $1::uuid AND experiment_id = $2::bigint;

-- name: experiment_report
-- The launcher's report on its lease (checked by the API against experiment_lock): the lease
-- ends; done of a launch clears a past terminate and failure, done of a terminate marks the
-- experiment terminated, failed keeps the error and waits retry_s before offering a launch.
-- in: experiment, slug, action, outcome, run, error, retry_s
-- out: experiment_json
WITH act AS (UPDATE experiment_actions a SET outcome = $4, reported_at = now(), run_id =
    $5::uuid, error = $6 FROM experiments e WHERE e.id = $1::bigint AND a.lease_id = e.lease_id),
u AS (UPDATE experiments e SET lease_id = NULL, lease_action = NULL, lease_launcher = NULL,
    lease_expires_at = NULL, terminated_at = CASE WHEN $4 = 'done' AND $3 = 'terminate' THEN
    now() WHEN $4 = 'done' AND $3 = 'launch' THEN NULL ELSE terminated_at END, last_error = CASE
    WHEN $4 = 'failed' THEN $6 WHEN $3 = 'launch' THEN NULL ELSE last_error END, retry_at = CASE
    WHEN $4 = 'failed' THEN now() + make_interval(secs => $7::double precision) END
    WHERE e.id = $1::bigint RETURNING e.*)
SELECT experiment_json(u::experiments, $2) AS experiment_json
FROM u;
