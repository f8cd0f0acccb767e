-- Experiments (api/experiments.c, migration 0034): the state an experiment is in follows from
-- its runs, and the action a launcher must take follows from desired against actual. Both
-- are computed here only, so the reconcile list, a claim and the experiment's JSON agree.

-- The experiment's active run (queued, running or retrying): at most one, by
-- runs_experiment_active_idx, which also makes this a single index probe.
CREATE OR REPLACE FUNCTION experiment_active_run(p_experiment bigint) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT r.id FROM runs r
    WHERE r.experiment_id = p_experiment AND r.status IN ('queued', 'running', 'retrying')
    LIMIT 1
$$;

-- running while a run is active; terminated once a launcher reported a terminate and no run
-- is active; stopped otherwise (never launched, or its run ended).
CREATE OR REPLACE FUNCTION experiment_actual(p_active uuid, p_terminated_at timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_active IS NOT NULL THEN 'running'
                WHEN p_terminated_at IS NOT NULL THEN 'terminated'
                ELSE 'stopped' END
$$;

-- The action that brings actual to desired, or NULL when they agree. A launch waits for
-- retry_at after a reported failure, so a failing launcher is not handed the same launch in
-- a tight loop; a stop or terminate is offered again at once (the run is still active).
CREATE OR REPLACE FUNCTION experiment_action(p_desired text, p_actual text, p_retry_at timestamptz)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_desired = 'running' AND p_actual <> 'running'
            THEN CASE WHEN p_retry_at IS NULL OR p_retry_at <= now() THEN 'launch' END
        WHEN p_desired = 'stopped' AND p_actual = 'running' THEN 'stop'
        WHEN p_desired = 'terminated' AND p_actual <> 'terminated' THEN 'terminate'
    END
$$;

-- Who made or changed it: the user's email, or "token:<prefix>" for an API token.
CREATE OR REPLACE FUNCTION experiment_actor(p_user bigint, p_token bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT u.email FROM users u WHERE u.id = p_user),
                    (SELECT 'token:' || t.prefix FROM api_tokens t WHERE t.id = p_token))
$$;

-- One SELECT of one expression, so PostgreSQL inlines it into the calling statement: the
-- form with a FROM (the active run computed once) was not inlined, and its per-call set-up
-- cost a millisecond a row (docs/PERFORMANCE.md, "Experiments: the reconcile poll"). The
-- active run is an index probe of runs_experiment_active_idx, so asking three times is cheap.
CREATE OR REPLACE FUNCTION experiment_json(e experiments, project_slug text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', e.id, 'project', project_slug, 'name', e.name, 'description', e.description,
        'flags', e.flags, 'kind', e.kind, 'queue', e.queue, 'tags', e.tags,
        'desired_state', e.desired_state,
        'actual_state', experiment_actual(experiment_active_run(e.id), e.terminated_at),
        'action', experiment_action(e.desired_state,
                                    experiment_actual(experiment_active_run(e.id), e.terminated_at),
                                    e.retry_at),
        'active_run_id', experiment_active_run(e.id),
        'lease', CASE WHEN e.lease_id IS NOT NULL AND e.lease_expires_at > now() THEN
            json_build_object('action', e.lease_action, 'launcher', e.lease_launcher,
                              'expires_at', e.lease_expires_at) END,
        'last_error', e.last_error, 'retry_at', e.retry_at, 'terminated_at', e.terminated_at,
        'created_by', experiment_actor(e.created_by_user, e.created_by_token),
        'updated_by', experiment_actor(e.updated_by_user, e.updated_by_token),
        'created_at', e.created_at, 'updated_at', e.updated_at)
$$;

-- A lease as the claim and its renewals answer it: the launcher keeps lease_id to report
-- and renew, expires_at to know when to renew by.
CREATE OR REPLACE FUNCTION experiment_lease_json(e experiments, project_slug text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('lease_id', e.lease_id, 'action', e.lease_action, 'launcher',
        e.lease_launcher, 'expires_at', e.lease_expires_at, 'experiment',
        experiment_json(e, project_slug))
$$;
