-- The agent-lightning store (api/agl.c, docs/AGENT_LIGHTNING.md): agent-lightning's
-- LightningStore (its 0.2-0.3 HTTP API under /v1/agl) on the native rows. A rollout is a run
-- of kind 'rollout', an attempt an attempt (its attempt_id is its seq, as text), a span a
-- span, a worker a worker (its worker_id is the native name). Each endpoint is one function
-- here, called by one statement (sql/statements/agl.sql), so each is one transaction; those
-- that change runs answer a `publish` list the API sends to the live stream after COMMIT.
--
-- Errors answer as agent-lightning's server does, because its client retries on exactly
-- that: agl_fail() raises SQLSTATE AG400 (a 400 {"detail"}), AG422 (422) or AG500 (500
-- {"detail", "error_type"}), each message written for the client (db_err.c).
--
-- Statuses: the native status stays the one every native page reads; `phase` refines it
-- where agent-lightning tells more apart (agl_rollout_status, agl_attempt_status, and their
-- inverses). agent-lightning moves statuses freely (any update may set any status), so its
-- functions announce the system move 'agl' to the lifecycle trigger (25_lifecycle.sql).

CREATE OR REPLACE FUNCTION agl_fail(code text, message text, error_type text DEFAULT 'ValueError')
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message,
        DETAIL = json_build_object('error_type', error_type)::text;
END $$;

CREATE OR REPLACE FUNCTION agl_epoch(t timestamptz) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT extract(epoch FROM t)::double precision
$$;

-- A rollout or run id as a uuid, NULL when the text is not one (ids are opaque strings to
-- agent-lightning: a bad one is a miss, not a malformed request).
CREATE OR REPLACE FUNCTION agl_uuid(t text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        THEN t::uuid END
$$;

-- ---- statuses

CREATE OR REPLACE FUNCTION agl_rollout_status(status text, phase text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status WHEN 'queued' THEN 'queuing' WHEN 'retrying' THEN 'requeuing'
        WHEN 'running' THEN CASE WHEN phase = 'preparing' THEN 'preparing' ELSE 'running' END
        ELSE status END
$$;

-- The native (status, phase) of a rollout status.
CREATE OR REPLACE FUNCTION agl_rollout_native(s text, OUT status text, OUT phase text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE s WHEN 'queuing' THEN 'queued' WHEN 'requeuing' THEN 'retrying'
        WHEN 'preparing' THEN 'running' ELSE s END,
        CASE s WHEN 'preparing' THEN 'preparing' END
$$;

CREATE OR REPLACE FUNCTION agl_attempt_status(status text, phase text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status WHEN 'running' THEN coalesce(phase, 'running')
        WHEN 'failed' THEN coalesce(phase, 'failed') WHEN 'queued' THEN 'preparing'
        WHEN 'cancelled' THEN 'failed' ELSE status END
$$;

CREATE OR REPLACE FUNCTION agl_attempt_native(s text, OUT status text, OUT phase text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s IN ('preparing', 'running') THEN 'running'
        WHEN s IN ('timeout', 'unresponsive') THEN 'failed' ELSE s END,
        CASE WHEN s IN ('preparing', 'timeout', 'unresponsive') THEN s END
$$;

CREATE OR REPLACE FUNCTION agl_worker_status(status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN status IN ('idle', 'busy') THEN status ELSE 'unknown' END
$$;

-- ---- JSON of the models (agentlightning/types/core.py); times are float epoch seconds

CREATE OR REPLACE FUNCTION agl_config_json(r runs) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('timeout_seconds', r.timeout_s,
        'unresponsive_seconds', r.unresponsive_s, 'max_attempts', coalesce(r.max_attempts, 1),
        'retry_condition', to_jsonb(coalesce(r.retry_on, '{}'::text[])))
$$;

CREATE OR REPLACE FUNCTION agl_rollout_json(r runs) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('rollout_id', r.id::text, 'input', r.input,
        'start_time', agl_epoch(r.created_at), 'end_time', agl_epoch(r.ended_at),
        'mode', r.mode, 'resources_id', r.resources_id,
        'status', agl_rollout_status(r.status, r.phase), 'config', agl_config_json(r),
        'metadata', r.params)
$$;

-- end_time only for failed and succeeded, as agent-lightning sets it (a timed-out attempt
-- has none there, though its native row ended).
CREATE OR REPLACE FUNCTION agl_attempt_json(a attempts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('rollout_id', a.run_id::text, 'attempt_id', a.seq::text,
        'sequence_id', a.seq, 'start_time', agl_epoch(a.created_at),
        'end_time', CASE WHEN agl_attempt_status(a.status, a.phase) IN ('failed', 'succeeded')
            THEN agl_epoch(a.ended_at) END,
        'status', agl_attempt_status(a.status, a.phase),
        'worker_id', (SELECT w.name FROM workers w WHERE w.id = a.worker_id),
        'last_heartbeat_time', agl_epoch(a.last_heartbeat_at), 'metadata', a.metadata)
$$;

-- A rollout with its latest attempt under `attempt` (an AttemptedRollout) when it has one.
CREATE OR REPLACE FUNCTION agl_attempted_json(r runs) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT agl_rollout_json(r) || coalesce((SELECT jsonb_build_object('attempt',
        agl_attempt_json(a)) FROM attempts a WHERE a.run_id = r.id ORDER BY a.seq DESC LIMIT 1),
        '{}')
$$;

CREATE OR REPLACE FUNCTION agl_worker_json(w workers) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('worker_id', w.name, 'status', agl_worker_status(w.status),
        'heartbeat_stats', w.resources, 'last_heartbeat_time', agl_epoch(w.last_heartbeat_at),
        'last_dequeue_time', agl_epoch(w.last_dequeue_at),
        'last_busy_time', agl_epoch(w.last_busy_at), 'last_idle_time', agl_epoch(w.last_idle_at),
        'current_rollout_id', w.current_run_id::text,
        'current_attempt_id', w.current_attempt_seq::text)
$$;

CREATE OR REPLACE FUNCTION agl_resources_json(p bigint, id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('resources_id', l.resources_id,
        'create_time', agl_epoch((SELECT f.created_at FROM resources f WHERE f.project_id = p
            AND f.resources_id = id AND f.version = 1)),
        'update_time', agl_epoch(l.created_at), 'version', l.version, 'resources', l.resources)
    FROM (SELECT * FROM resources x WHERE x.project_id = p AND x.resources_id = id
          ORDER BY x.version DESC LIMIT 1) l
$$;

-- What the live stream is told of runs a call changed: each as run_json(), like the native
-- writes publish it.
CREATE OR REPLACE FUNCTION agl_publish(ids uuid[], type text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('project', r.project_id::text, 'type', type,
        'run', r.id, 'data', run_json(r, (SELECT slug FROM projects WHERE id = r.project_id),
        run_attempt_json(r)))), '[]')
    FROM runs r WHERE r.id = ANY (ids)
$$;

-- ---- paging (QueryRolloutsRequest and the like, collection/memory.py)

-- One page of a query: src is a SELECT of the rows (each with its JSON as `item`, its
-- insertion order as `ord`) over the query object $1; conds are the filters, combined by
-- logic ('and' or 'or'); sort is the ORDER BY expression of the sort field (NULL: insertion
-- order). {items, limit, offset, total}, total before paging.
CREATE OR REPLACE FUNCTION agl_page(q jsonb, src text, conds text[], sort text, lim bigint,
                                    off bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    logic text := coalesce(q ->> 'filter_logic', 'and');
    dir text := CASE WHEN q ->> 'sort_order' = 'desc' THEN 'DESC' ELSE 'ASC' END;
    wh text := 'true';
    res jsonb;
BEGIN
    IF cardinality(conds) > 0 THEN
        wh := '(' || array_to_string(conds, CASE logic WHEN 'or' THEN ') OR (' ELSE ') AND (' END)
            || ')';
    END IF;
    EXECUTE format('WITH v AS MATERIALIZED (SELECT * FROM (%s) s WHERE %s) '
        || 'SELECT jsonb_build_object(''items'', coalesce((SELECT jsonb_agg(item ORDER BY '
        || 'o) FROM (SELECT item, row_number() OVER (ORDER BY %s ord) AS o FROM v ORDER BY %s ord '
        || 'LIMIT %s OFFSET %s) pg), ''[]''), ''total'', (SELECT count(*) FROM v)) FROM (SELECT 1) x',
        src, wh, coalesce(sort || ' ' || dir || ',', ''), coalesce(sort || ' ' || dir || ',', ''),
        CASE WHEN lim < 0 THEN 'ALL' ELSE lim::text END, off)
    INTO res
    USING q;
    RETURN res;
END $$;

-- The checks every query shares, and the sort field's expression: fields maps each field a
-- query may sort by to its expression over v (NULLs placed as agent-lightning places
-- None: a time last ascending, a string first, a number as 0).
CREATE OR REPLACE FUNCTION agl_page_args(q jsonb, fields jsonb, default_sort text,
                                         OUT sort text, OUT lim bigint, OUT off bigint)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    sort_field text := coalesce(q ->> 'sort_by', default_sort);
BEGIN
    IF jsonb_typeof(q -> 'limit') NOT IN ('number', 'null') OR
       jsonb_typeof(q -> 'offset') NOT IN ('number', 'null') THEN
        PERFORM agl_fail('AG422', 'limit and offset must be integers');
    END IF;
    lim := coalesce((q ->> 'limit')::numeric, -1);
    off := coalesce((q ->> 'offset')::numeric, 0);
    IF lim = 0 OR lim < -1 THEN
        PERFORM agl_fail('AG400', 'Limit must be -1 or positive, got ' || lim);
    END IF;
    IF off < 0 THEN
        PERFORM agl_fail('AG400', 'Offset must be non-negative, got ' || off);
    END IF;
    IF coalesce(q ->> 'sort_order', 'asc') NOT IN ('asc', 'desc') THEN
        PERFORM agl_fail('AG422', 'sort_order must be asc or desc');
    END IF;
    IF coalesce(q ->> 'filter_logic', 'and') NOT IN ('and', 'or') THEN
        PERFORM agl_fail('AG422', 'filter_logic must be and or or');
    END IF;
    IF sort_field IS NOT NULL AND NOT fields ? sort_field THEN
        PERFORM agl_fail('AG400', format('Invalid sort_by: %s, allowed fields are: %s', sort_field,
            (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(fields) k)));
    END IF;
    sort := fields ->> sort_field;
END $$;

-- A list in the query ($1 -> key) as text[] for `= ANY`, NULL when absent or null.
CREATE OR REPLACE FUNCTION agl_list(q jsonb, key text) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(q -> key) WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(
        q -> key)) WHEN 'string' THEN ARRAY[q ->> key] END
$$;

-- The run's copy of its latest attempt (migration 0024) after the store wrote attempts:
-- runs_latest_attempt_sync() for one run, by its key (that function's NULL-for-every-run
-- argument makes its plan scan runs: 10 ms a call at 60,000 runs, docs/PERFORMANCE.md).
CREATE OR REPLACE FUNCTION agl_sync(run uuid) RETURNS void
LANGUAGE sql AS $$
    UPDATE runs r
    SET attempt_seq = a.seq, attempt_status = a.status, attempt_worker_id = a.worker_id,
        attempt_created_at = a.created_at, attempt_started_at = a.started_at,
        attempt_ended_at = a.ended_at, attempt_last_heartbeat_at = a.last_heartbeat_at,
        attempt_error_type = a.error_type, attempt_error_message = a.error_message,
        attempt_error_traceback = a.error_traceback
    FROM (SELECT * FROM attempts WHERE run_id = run ORDER BY seq DESC LIMIT 1) a
    WHERE r.id = run AND row(r.attempt_seq, r.attempt_status, r.attempt_worker_id,
        r.attempt_created_at, r.attempt_started_at, r.attempt_ended_at,
        r.attempt_last_heartbeat_at, r.attempt_error_type, r.attempt_error_message,
        r.attempt_error_traceback) IS DISTINCT FROM row(a.seq, a.status, a.worker_id,
        a.created_at, a.started_at, a.ended_at, a.last_heartbeat_at, a.error_type,
        a.error_message, a.error_traceback)
$$;

-- ---- resources, workers

-- The id of the worker agent-lightning calls name, made on first use (NULL for none).
CREATE OR REPLACE FUNCTION agl_worker_id(p bigint, wname text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    w bigint;
BEGIN
    IF wname IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT id INTO w FROM workers WHERE project_id = p AND name = wname;
    IF w IS NULL THEN
        INSERT INTO workers AS x (project_id, name, status) VALUES (p, wname, 'online')
        ON CONFLICT (project_id, name) DO UPDATE SET name = x.name RETURNING id INTO w;
    END IF;
    RETURN w;
END $$;

-- A worker follows the attempt it works on (agent-lightning's _sync_worker_with_attempt).
CREATE OR REPLACE FUNCTION agl_worker_follow(w bigint, run uuid, seq integer, st text)
RETURNS void
LANGUAGE sql AS $$
    UPDATE workers SET
        status = CASE WHEN st IN ('succeeded', 'failed') THEN 'idle'
            WHEN st IN ('timeout', 'unresponsive') THEN 'online' ELSE 'busy' END,
        current_run_id = CASE WHEN st IN ('succeeded', 'failed', 'timeout', 'unresponsive')
            THEN NULL ELSE run END,
        current_attempt_seq = CASE WHEN st IN ('succeeded', 'failed', 'timeout', 'unresponsive')
            THEN NULL ELSE seq END,
        last_idle_at = CASE WHEN st IN ('succeeded', 'failed') THEN now() ELSE last_idle_at END,
        last_busy_at = CASE WHEN st IN ('succeeded', 'failed', 'timeout', 'unresponsive')
            THEN last_busy_at ELSE now() END
    WHERE id = w
$$;

CREATE OR REPLACE FUNCTION agl_latest_resources(p bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT resources_id FROM resources WHERE project_id = p ORDER BY created_at DESC LIMIT 1
$$;

-- ---- rollouts

-- The rollout id names, or NULL (not an id, another project's run, not a rollout).
CREATE OR REPLACE FUNCTION agl_rollout(p bigint, id text) RETURNS runs
LANGUAGE sql STABLE AS $$
    SELECT r FROM runs r WHERE r.id = agl_uuid(agl_rollout.id) AND r.project_id = agl_rollout.p
        AND r.kind = 'rollout'
$$;

CREATE OR REPLACE FUNCTION agl_rollout_must(p bigint, id text) RETURNS runs
LANGUAGE plpgsql AS $$
DECLARE
    r runs := agl_rollout(p, id);
BEGIN
    IF r.id IS NULL THEN
        PERFORM agl_fail('AG500', format('Rollout %s not found', id));
    END IF;
    RETURN r;
END $$;

-- A RolloutConfig, checked, as (max_attempts, retry_on, timeout_s, unresponsive_s).
CREATE OR REPLACE FUNCTION agl_config(c jsonb, OUT max_attempts integer, OUT retry_on text[],
                                      OUT timeout_s double precision,
                                      OUT unresponsive_s double precision)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF c IS NULL OR c = 'null' THEN
        c := '{}';
    END IF;
    IF jsonb_typeof(c) <> 'object' THEN
        PERFORM agl_fail('AG422', 'config must be an object');
    END IF;
    IF jsonb_typeof(c -> 'max_attempts') NOT IN ('number', 'null') OR
       (c ->> 'max_attempts')::numeric < 1 OR (c ->> 'max_attempts')::numeric % 1 <> 0 THEN
        PERFORM agl_fail('AG422', 'config.max_attempts must be an integer of at least 1');
    END IF;
    IF jsonb_typeof(c -> 'timeout_seconds') NOT IN ('number', 'null') OR
       jsonb_typeof(c -> 'unresponsive_seconds') NOT IN ('number', 'null') THEN
        PERFORM agl_fail('AG422', 'config.timeout_seconds and unresponsive_seconds must be numbers');
    END IF;
    IF jsonb_typeof(c -> 'retry_condition') NOT IN ('array', 'null') OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(coalesce(c -> 'retry_condition', '[]')) e
        WHERE e #>> '{}' IS NULL OR e #>> '{}' NOT IN ('preparing', 'running', 'failed',
            'succeeded', 'unresponsive', 'timeout')) THEN
        PERFORM agl_fail('AG422', 'config.retry_condition must be a list of attempt statuses');
    END IF;
    max_attempts := coalesce((c ->> 'max_attempts')::integer, 1);
    retry_on := coalesce(agl_list(c, 'retry_condition'), '{}');
    timeout_s := (c ->> 'timeout_seconds')::double precision;
    unresponsive_s := (c ->> 'unresponsive_seconds')::double precision;
END $$;

CREATE OR REPLACE FUNCTION agl_mode(m jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF m IS NOT NULL AND m <> 'null' AND (jsonb_typeof(m) <> 'string' OR
        m #>> '{}' NOT IN ('train', 'val', 'test')) THEN
        PERFORM agl_fail('AG422', 'mode must be train, val, test or null');
    END IF;
    RETURN m #>> '{}';
END $$;

-- Moves a rollout to an agent-lightning status: requeuing puts it back at the end of the
-- queue (once: a rollout already requeuing keeps its place); a terminal status sets its
-- end. error_type (may be NULL) says why a propagated failure failed.
CREATE OR REPLACE FUNCTION agl_rollout_move(run uuid, st text, error_type text DEFAULT NULL)
RETURNS void
LANGUAGE sql AS $$
    UPDATE runs r SET status = n.status, phase = n.phase,
        queued_at = CASE WHEN st IN ('queuing', 'requeuing') AND agl_rollout_status(r.status,
            r.phase) <> st THEN clock_timestamp() ELSE r.queued_at END,
        started_at = CASE WHEN n.status = 'running' THEN coalesce(r.started_at, now())
            ELSE r.started_at END,
        ended_at = CASE WHEN st IN ('failed', 'succeeded', 'cancelled') THEN CASE WHEN
            r.status = n.status THEN coalesce(r.ended_at, now()) ELSE greatest(now(),
            r.started_at) END ELSE r.ended_at END,
        error_type = CASE WHEN st = 'failed' THEN coalesce(agl_rollout_move.error_type,
            r.error_type) ELSE r.error_type END,
        updated_at = now()
    FROM agl_rollout_native(st) n
    WHERE r.id = run
$$;

-- The rollout status the latest attempt's status gives (rollout_status_from_attempt): a
-- failed, timed-out or unresponsive attempt requeues the rollout while that status is one
-- it retries on and attempts remain, else fails it. The run's own policy, else its queue's.
CREATE OR REPLACE FUNCTION agl_propagate(r runs, seq integer, st text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN st IN ('preparing', 'running', 'succeeded') THEN st
        WHEN st = ANY (coalesce(r.retry_on, q.retry_on, '{}')) AND seq < coalesce(r.max_attempts,
            q.max_attempts, 1) THEN 'requeuing' ELSE 'failed' END
    FROM (SELECT 1) one
    LEFT JOIN queue_policies q ON q.project_id = r.project_id AND q.queue = r.queue
$$;

-- Sets an attempt's agent-lightning status; the worker on it follows. The rollout follows
-- its latest attempt (propagate), unless the caller moves it itself.
CREATE OR REPLACE FUNCTION agl_attempt_move(run uuid, aseq integer, st text, propagate boolean)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    a attempts;
    r runs;
BEGIN
    UPDATE attempts x SET status = n.status, phase = n.phase,
        started_at = coalesce(x.started_at, now()),
        ended_at = CASE WHEN n.status = 'running' THEN NULL ELSE coalesce(x.ended_at,
            greatest(now(), x.started_at)) END,
        error_type = CASE WHEN st IN ('timeout', 'unresponsive') THEN st
            WHEN n.status = 'running' THEN NULL ELSE x.error_type END
    FROM agl_attempt_native(st) n
    WHERE x.run_id = run AND x.seq = aseq
    RETURNING x.* INTO a;
    -- A native worker keeps its own status (it reports it); a rollout's follows its attempt.
    IF a.worker_id IS NOT NULL AND (SELECT kind FROM runs WHERE id = run) = 'rollout' THEN
        PERFORM agl_worker_follow(a.worker_id, run, aseq, st);
    END IF;
    IF propagate THEN
        SELECT * INTO r FROM runs WHERE id = run;
        IF aseq = (SELECT max(seq) FROM attempts WHERE run_id = run) THEN
            PERFORM agl_rollout_move(run, agl_propagate(r, aseq, st), a.error_type);
        END IF;
    END IF;
END $$;

-- A new attempt of a rollout, preparing, on worker w (may be NULL); the rollout prepares.
CREATE OR REPLACE FUNCTION agl_attempt_new(run uuid, w bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    a attempts;
BEGIN
    INSERT INTO attempts (run_id, seq, status, phase, worker_id, created_at, started_at)
    VALUES (run, coalesce((SELECT max(seq) FROM attempts WHERE run_id = run), 0) + 1, 'running',
        'preparing', w, clock_timestamp(), clock_timestamp())
    RETURNING * INTO a;
    -- agl_rollout_move(run, 'preparing'), the worker and the copy of the attempt in one
    -- update of the run: each update of it writes an entry in every index whose columns
    -- change (docs/PERFORMANCE.md).
    UPDATE runs SET status = 'running', phase = 'preparing',
        started_at = coalesce(started_at, now()), worker_id = coalesce(w, worker_id),
        updated_at = now(), attempt_seq = a.seq, attempt_status = a.status,
        attempt_worker_id = a.worker_id, attempt_created_at = a.created_at,
        attempt_started_at = a.started_at, attempt_ended_at = a.ended_at,
        attempt_last_heartbeat_at = a.last_heartbeat_at, attempt_error_type = a.error_type,
        attempt_error_message = a.error_message, attempt_error_traceback = a.error_traceback
    WHERE id = run;
    IF w IS NOT NULL THEN
        PERFORM agl_worker_follow(w, run, a.seq, 'preparing');
    END IF;
    RETURN a.seq;
END $$;

-- Inserts one rollout (an EnqueueRolloutRequest or RolloutRequest) as a run of kind
-- rollout on queue q, queued; at is its queue time.
CREATE OR REPLACE FUNCTION agl_rollout_insert(p bigint, q text, item jsonb, at timestamptz)
RETURNS runs
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    r runs;
    res text;
BEGIN
    IF jsonb_typeof(item) <> 'object' THEN
        PERFORM agl_fail('AG422', 'a rollout must be an object');
    END IF;
    IF jsonb_typeof(item -> 'resources_id') NOT IN ('string', 'null') THEN
        PERFORM agl_fail('AG422', 'resources_id must be a string or null');
    END IF;
    IF jsonb_typeof(item -> 'metadata') NOT IN ('object', 'null') THEN
        PERFORM agl_fail('AG422', 'metadata must be an object or null');
    END IF;
    c := agl_config(item -> 'config');
    res := coalesce(item ->> 'resources_id', agl_latest_resources(p));
    INSERT INTO runs (project_id, kind, queue, status, input, params, mode, resources_id,
        max_attempts, retry_on, timeout_s, unresponsive_s, queued_at, created_at, updated_at)
    VALUES (p, 'rollout', q, 'queued', nullif(item -> 'input', 'null'),
        nullif(item -> 'metadata', 'null'), agl_mode(item -> 'mode'), res, c.max_attempts,
        c.retry_on, c.timeout_s, c.unresponsive_s, at, at, at)
    RETURNING * INTO r;
    RETURN r;
END $$;

-- POST /queues/rollouts/enqueue: {"rollouts": [...]} -> the rollouts, in order.
CREATE OR REPLACE FUNCTION agl_enqueue(p bigint, q text, body jsonb,
                                       OUT answer jsonb, OUT publish jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    r runs;
    at timestamptz := clock_timestamp();
    ids uuid[] := '{}';
    acc jsonb := '[]';
BEGIN
    IF jsonb_typeof(body -> 'rollouts') IS DISTINCT FROM 'array' THEN
        PERFORM agl_fail('AG422', 'rollouts: a list is required');
    END IF;
    FOR item IN SELECT e FROM jsonb_array_elements(body -> 'rollouts') e LOOP
        -- Strictly increasing queue times keep a batch in its order.
        at := greatest(clock_timestamp(), at + interval '1 microsecond');
        r := agl_rollout_insert(p, q, item, at);
        ids := ids || r.id;
        acc := acc || jsonb_build_array(agl_rollout_json(r));
    END LOOP;
    answer := acc;
    publish := agl_publish(ids, 'run.created');
END $$;

-- POST /queues/rollouts/dequeue: up to lim rollouts, first queued first, each as a new
-- preparing attempt on the worker.
CREATE OR REPLACE FUNCTION agl_dequeue(p bigint, q text, lim integer, worker text,
                                       OUT answer jsonb, OUT publish jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    w bigint;
    ids uuid[];
    id uuid;
BEGIN
    PERFORM set_config('runwatch.transition', 'agl', true);
    answer := '[]';
    publish := '[]';
    IF lim <= 0 THEN
        RETURN;
    END IF;
    w := agl_worker_id(p, worker);
    SELECT array_agg(x.id ORDER BY x.queued_at, x.created_at) INTO ids
    FROM (SELECT r.id, r.queued_at, r.created_at FROM runs r
          WHERE r.project_id = p AND r.queue = q AND r.kind = 'rollout'
            AND r.status IN ('queued', 'retrying')
          ORDER BY r.queued_at, r.created_at LIMIT lim FOR UPDATE SKIP LOCKED) x;
    IF w IS NOT NULL THEN
        UPDATE workers SET last_dequeue_at = now() WHERE workers.id = w;
    END IF;
    IF ids IS NULL THEN
        IF w IS NOT NULL THEN
            UPDATE workers SET status = 'idle', current_run_id = NULL, current_attempt_seq = NULL,
                last_idle_at = now() WHERE workers.id = w;
        END IF;
        RETURN;
    END IF;
    FOREACH id IN ARRAY ids LOOP
        PERFORM agl_attempt_new(id, w);
    END LOOP;
    SELECT jsonb_agg(agl_attempted_json(r) ORDER BY o) INTO answer
    FROM unnest(ids) WITH ORDINALITY AS u(id, o) JOIN runs r ON r.id = u.id;
    publish := agl_publish(ids, 'run.updated');
END $$;

-- POST /rollouts (start_rollout): a rollout started now, preparing, with attempt 1.
CREATE OR REPLACE FUNCTION agl_start_rollout(p bigint, q text, body jsonb,
                                             OUT answer jsonb, OUT publish jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    r runs;
BEGIN
    PERFORM set_config('runwatch.transition', 'agl', true);
    IF jsonb_typeof(body -> 'worker_id') NOT IN ('string', 'null') THEN
        PERFORM agl_fail('AG422', 'worker_id must be a string or null');
    END IF;
    r := agl_rollout_insert(p, q, body, clock_timestamp());
    PERFORM agl_attempt_new(r.id, agl_worker_id(p, body ->> 'worker_id'));
    SELECT * INTO r FROM runs WHERE id = r.id;
    answer := agl_attempted_json(r);
    publish := agl_publish(ARRAY[r.id], 'run.created');
END $$;

-- GET /rollouts/{id}: the rollout with its latest attempt, or null.
CREATE OR REPLACE FUNCTION agl_rollout_get(p bigint, id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT agl_attempted_json(r) FROM agl_rollout(agl_rollout_get.p, agl_rollout_get.id) r
    WHERE r.id IS NOT NULL
$$;

-- GET /rollouts, POST /rollouts/search.
CREATE OR REPLACE FUNCTION agl_rollouts_query(p bigint, query jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a record;
    conds text[] := '{}';
BEGIN
    a := agl_page_args(query, '{"rollout_id": "rollout_id", "input": "coalesce(input::text, '''')",
        "start_time": "start_time", "end_time": "coalesce(end_time, ''infinity'')",
        "mode": "coalesce(mode, '''')", "resources_id": "coalesce(resources_id, '''')",
        "status": "status", "config": "config::text", "metadata": "coalesce(metadata::text, '''')"}',
        NULL);
    IF agl_list(query, 'status_in') IS NOT NULL THEN
        conds := conds || 'status = ANY (agl_list($1, ''status_in''))'::text;
    END IF;
    IF agl_list(query, 'rollout_id_in') IS NOT NULL THEN
        conds := conds || 'rollout_id = ANY (agl_list($1, ''rollout_id_in''))'::text;
    END IF;
    IF query ->> 'rollout_id_contains' IS NOT NULL THEN
        conds := conds || 'strpos(rollout_id, $1 ->> ''rollout_id_contains'') > 0'::text;
    END IF;
    RETURN jsonb_build_object('limit', a.lim, 'offset', a.off) || agl_page(query, format(
        'SELECT * FROM (SELECT r.id::text AS rollout_id, r.input, r.created_at AS start_time, '
        'r.ended_at AS end_time, r.mode, r.resources_id, agl_rollout_status(r.status, r.phase) '
        'AS status, agl_config_json(r) AS config, r.params AS metadata, '
        '(r.created_at, r.id) AS ord, agl_attempted_json(r) AS item FROM runs r '
        'WHERE r.project_id = %s AND r.kind = ''rollout'') v0', p), conds, a.sort, a.lim,
        a.off);
END $$;

-- POST /rollouts/{id}: only the keys present change (the API refused explicit nulls of
-- status and config).
CREATE OR REPLACE FUNCTION agl_rollout_update(p bigint, id text, body jsonb,
                                              OUT answer jsonb, OUT publish jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    r runs := agl_rollout_must(p, id);
    c record;
BEGIN
    PERFORM set_config('runwatch.transition', 'agl', true);
    IF body ? 'input' THEN
        UPDATE runs SET input = nullif(body -> 'input', 'null') WHERE runs.id = r.id;
    END IF;
    IF body ? 'mode' THEN
        UPDATE runs SET mode = agl_mode(body -> 'mode') WHERE runs.id = r.id;
    END IF;
    IF body ? 'resources_id' THEN
        IF jsonb_typeof(body -> 'resources_id') NOT IN ('string', 'null') THEN
            PERFORM agl_fail('AG422', 'resources_id must be a string or null');
        END IF;
        UPDATE runs SET resources_id = body ->> 'resources_id' WHERE runs.id = r.id;
    END IF;
    IF body ? 'metadata' THEN
        IF jsonb_typeof(body -> 'metadata') NOT IN ('object', 'null') THEN
            PERFORM agl_fail('AG422', 'metadata must be an object or null');
        END IF;
        UPDATE runs SET params = nullif(body -> 'metadata', 'null') WHERE runs.id = r.id;
    END IF;
    IF body ? 'config' THEN
        c := agl_config(body -> 'config');
        UPDATE runs SET max_attempts = c.max_attempts, retry_on = c.retry_on,
            timeout_s = c.timeout_s, unresponsive_s = c.unresponsive_s WHERE runs.id = r.id;
    END IF;
    IF body ? 'status' THEN
        IF jsonb_typeof(body -> 'status') <> 'string' OR body ->> 'status' NOT IN ('queuing',
            'preparing', 'running', 'failed', 'succeeded', 'cancelled', 'requeuing') THEN
            PERFORM agl_fail('AG422', 'status must be a rollout status');
        END IF;
        PERFORM agl_rollout_move(r.id, body ->> 'status');
    END IF;
    UPDATE runs SET updated_at = now() WHERE runs.id = r.id RETURNING * INTO r;
    answer := agl_rollout_json(r);
    publish := agl_publish(ARRAY[r.id], 'run.updated');
END $$;

-- POST /waits/rollouts: the rollouts of the list that have finished, now (Runwatch answers
-- at once; agent-lightning's client never waits longer than 0.1 s per call anyway).
CREATE OR REPLACE FUNCTION agl_wait(p bigint, body jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF jsonb_typeof(body -> 'rollout_ids') IS DISTINCT FROM 'array' THEN
        PERFORM agl_fail('AG422', 'rollout_ids: a list is required');
    END IF;
    RETURN coalesce((SELECT jsonb_agg(agl_rollout_json(r) ORDER BY o)
        FROM jsonb_array_elements_text(body -> 'rollout_ids') WITH ORDINALITY AS i(id, o)
        JOIN runs r ON r.id = agl_uuid(i.id) AND r.project_id = p AND r.kind = 'rollout'
        WHERE r.status IN ('failed', 'succeeded', 'cancelled')), '[]');
END $$;

-- ---- attempts

-- The attempt a path names: its seq, or the latest for 'latest'; NULL when none.
CREATE OR REPLACE FUNCTION agl_attempt_seq(run uuid, attempt text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT a.seq FROM attempts a WHERE a.run_id = run AND (CASE WHEN attempt = 'latest' THEN
        a.seq = (SELECT max(seq) FROM attempts WHERE run_id = run) ELSE attempt ~ '^[0-9]{1,9}$'
        AND a.seq = attempt::integer END)
$$;

-- POST /rollouts/{id}/attempts (start_attempt): a new attempt whatever max_attempts says.
CREATE OR REPLACE FUNCTION agl_attempt_start(p bigint, id text, body jsonb,
                                             OUT answer jsonb, OUT publish jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    r runs := agl_rollout_must(p, id);
BEGIN
    PERFORM set_config('runwatch.transition', 'agl', true);
    IF jsonb_typeof(body -> 'worker_id') NOT IN ('string', 'null') THEN
        PERFORM agl_fail('AG422', 'worker_id must be a string or null');
    END IF;
    PERFORM agl_attempt_new(r.id, agl_worker_id(p, body ->> 'worker_id'));
    SELECT * INTO r FROM runs WHERE runs.id = r.id;
    answer := agl_attempted_json(r);
    publish := agl_publish(ARRAY[r.id], 'run.updated');
END $$;

-- GET /rollouts/{id}/attempts, POST …/attempts/search.
CREATE OR REPLACE FUNCTION agl_attempts_query(p bigint, id text, query jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a record;
    run uuid := (agl_rollout(p, id)).id;
BEGIN
    a := agl_page_args(query, '{"rollout_id": "rollout_id", "attempt_id": "attempt_id",
        "sequence_id": "sequence_id", "start_time": "start_time",
        "end_time": "coalesce(end_time, ''infinity'')", "status": "status",
        "worker_id": "coalesce(worker_id, '''')",
        "last_heartbeat_time": "coalesce(last_heartbeat_time, ''infinity'')",
        "metadata": "coalesce(metadata::text, '''')"}', 'sequence_id');
    RETURN jsonb_build_object('limit', a.lim, 'offset', a.off) || agl_page(query, format(
        'SELECT * FROM (SELECT x.run_id::text AS rollout_id, x.seq::text AS attempt_id, '
        'x.seq AS sequence_id, x.created_at AS start_time, CASE WHEN agl_attempt_status('
        'x.status, x.phase) IN (''failed'', ''succeeded'') THEN x.ended_at END AS end_time, '
        'agl_attempt_status(x.status, x.phase) AS status, (SELECT w.name FROM workers w WHERE '
        'w.id = x.worker_id) AS worker_id, x.last_heartbeat_at AS last_heartbeat_time, '
        'x.metadata, x.seq AS ord, agl_attempt_json(x) AS item FROM attempts x '
        'WHERE x.run_id = %L::uuid) v0', run), '{}', a.sort, a.lim, a.off);
END $$;

-- GET /rollouts/{id}/attempts/latest: the latest attempt, or null.
CREATE OR REPLACE FUNCTION agl_attempt_latest(p bigint, id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT agl_attempt_json(a) FROM attempts a
    WHERE a.run_id = (agl_rollout(agl_attempt_latest.p, agl_attempt_latest.id)).id
    ORDER BY a.seq DESC LIMIT 1
$$;

-- POST /rollouts/{id}/attempts/{attempt_id} (`latest` accepted): only the keys present
-- change; a new status of the latest attempt moves the rollout.
CREATE OR REPLACE FUNCTION agl_attempt_update(p bigint, id text, attempt text, body jsonb,
                                              OUT answer jsonb, OUT publish jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    r runs := agl_rollout_must(p, id);
    s integer := agl_attempt_seq(r.id, attempt);
    a attempts;
BEGIN
    PERFORM set_config('runwatch.transition', 'agl', true);
    IF s IS NULL THEN
        PERFORM agl_fail('AG500', format('Attempt %s not found for rollout %s', attempt, id));
    END IF;
    IF body ? 'worker_id' THEN
        IF jsonb_typeof(body -> 'worker_id') <> 'string' THEN
            PERFORM agl_fail('AG422', 'worker_id must be a string');
        END IF;
        UPDATE attempts SET worker_id = agl_worker_id(p, body ->> 'worker_id')
        WHERE run_id = r.id AND seq = s;
    END IF;
    IF body ? 'last_heartbeat_time' THEN
        IF jsonb_typeof(body -> 'last_heartbeat_time') <> 'number' THEN
            PERFORM agl_fail('AG422', 'last_heartbeat_time must be a number');
        END IF;
        UPDATE attempts SET last_heartbeat_at = to_timestamp((body ->> 'last_heartbeat_time')::
            double precision) WHERE run_id = r.id AND seq = s;
    END IF;
    IF body ? 'metadata' THEN
        IF jsonb_typeof(body -> 'metadata') <> 'object' THEN
            PERFORM agl_fail('AG422', 'metadata must be an object');
        END IF;
        UPDATE attempts SET metadata = body -> 'metadata' WHERE run_id = r.id AND seq = s;
    END IF;
    IF body ? 'status' THEN
        IF jsonb_typeof(body -> 'status') <> 'string' OR body ->> 'status' NOT IN ('preparing',
            'running', 'failed', 'succeeded', 'unresponsive', 'timeout') THEN
            PERFORM agl_fail('AG422', 'status must be an attempt status');
        END IF;
        PERFORM agl_attempt_move(r.id, s, body ->> 'status', true);
    ELSIF body ? 'worker_id' THEN
        -- A new worker takes the attempt as it stands.
        SELECT * INTO a FROM attempts WHERE run_id = r.id AND seq = s;
        PERFORM agl_worker_follow(a.worker_id, r.id, s, agl_attempt_status(a.status, a.phase));
    END IF;
    PERFORM agl_sync(r.id);
    SELECT * INTO a FROM attempts WHERE run_id = r.id AND seq = s;
    answer := agl_attempt_json(a);
    publish := agl_publish(ARRAY[r.id], 'run.updated');
END $$;

-- A span (or a watchdog-free sign of life) of an attempt: its heartbeat time; a preparing or
-- unresponsive attempt runs (a timed-out one stays), and a preparing or requeuing rollout
-- whose latest attempt it is runs.
CREATE OR REPLACE FUNCTION agl_heartbeat(run uuid, aseq integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    a attempts;
    r runs;
BEGIN
    PERFORM set_config('runwatch.transition', 'agl', true);
    UPDATE attempts SET last_heartbeat_at = now() WHERE run_id = run AND seq = aseq
    RETURNING * INTO a;
    SELECT * INTO r FROM runs WHERE id = run;
    -- The common case, a running attempt of a running rollout: one update of the run (its
    -- heartbeat and its copy's). attempt_seq is the copy of the latest attempt's seq.
    IF agl_attempt_status(a.status, a.phase) NOT IN ('preparing', 'unresponsive') AND
       (aseq IS DISTINCT FROM r.attempt_seq OR
        agl_rollout_status(r.status, r.phase) NOT IN ('preparing', 'requeuing')) THEN
        UPDATE runs SET last_heartbeat_at = now(), attempt_last_heartbeat_at = CASE WHEN
            attempt_seq = aseq THEN a.last_heartbeat_at ELSE attempt_last_heartbeat_at END
        WHERE id = run;
        RETURN false;
    END IF;
    IF agl_attempt_status(a.status, a.phase) IN ('preparing', 'unresponsive') THEN
        PERFORM agl_attempt_move(run, aseq, 'running', false);
    END IF;
    IF aseq = r.attempt_seq AND
       agl_rollout_status(r.status, r.phase) IN ('preparing', 'requeuing') THEN
        PERFORM agl_rollout_move(run, 'running');
    END IF;
    UPDATE runs SET last_heartbeat_at = now() WHERE id = run;
    PERFORM agl_sync(run);
    RETURN true;
END $$;

-- ---- workers

CREATE OR REPLACE FUNCTION agl_workers_query(p bigint, query jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a record;
    conds text[] := '{}';
BEGIN
    a := agl_page_args(query, '{"worker_id": "worker_id", "status": "status",
        "heartbeat_stats": "coalesce(heartbeat_stats::text, '''')",
        "last_heartbeat_time": "coalesce(last_heartbeat_time, ''infinity'')",
        "last_dequeue_time": "coalesce(last_dequeue_time, ''infinity'')",
        "last_busy_time": "coalesce(last_busy_time, ''infinity'')",
        "last_idle_time": "coalesce(last_idle_time, ''infinity'')",
        "current_rollout_id": "coalesce(current_rollout_id, '''')",
        "current_attempt_id": "coalesce(current_attempt_id, '''')"}', NULL);
    IF agl_list(query, 'status_in') IS NOT NULL THEN
        conds := conds || 'status = ANY (agl_list($1, ''status_in''))'::text;
    END IF;
    IF query ->> 'worker_id_contains' IS NOT NULL THEN
        conds := conds || 'strpos(worker_id, $1 ->> ''worker_id_contains'') > 0'::text;
    END IF;
    RETURN jsonb_build_object('limit', a.lim, 'offset', a.off) || agl_page(query, format(
        'SELECT * FROM (SELECT w.name AS worker_id, agl_worker_status(w.status) AS status, '
        'w.resources AS heartbeat_stats, w.last_heartbeat_at AS last_heartbeat_time, '
        'w.last_dequeue_at AS last_dequeue_time, w.last_busy_at AS last_busy_time, '
        'w.last_idle_at AS last_idle_time, w.current_run_id::text AS current_rollout_id, '
        'w.current_attempt_seq::text AS current_attempt_id, w.id AS ord, '
        'agl_worker_json(w) AS item FROM workers w WHERE w.project_id = %s) v0', p), conds,
        a.sort, a.lim, a.off);
END $$;

CREATE OR REPLACE FUNCTION agl_worker_get(p bigint, name text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT agl_worker_json(w) FROM workers w WHERE w.project_id = p AND w.name = agl_worker_get.name
$$;

-- POST /workers/{id}: the worker's heartbeat (made on first use), with its stats when sent.
CREATE OR REPLACE FUNCTION agl_worker_beat(p bigint, wname text, body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    w workers;
    wid bigint;
BEGIN
    IF body ? 'heartbeat_stats' AND jsonb_typeof(body -> 'heartbeat_stats') <> 'object' THEN
        PERFORM agl_fail('AG422', 'heartbeat_stats must be an object');
    END IF;
    -- Made first: an UPDATE does not see a row its own WHERE inserted.
    wid := agl_worker_id(p, wname);
    UPDATE workers SET last_heartbeat_at = now(),
        resources = CASE WHEN body ? 'heartbeat_stats' THEN body -> 'heartbeat_stats'
            ELSE resources END
    WHERE id = wid
    RETURNING * INTO w;
    RETURN agl_worker_json(w);
END $$;

-- ---- resources

CREATE OR REPLACE FUNCTION agl_resources_check(body jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(body) <> 'object' OR EXISTS (SELECT 1 FROM jsonb_each(body) e
        WHERE jsonb_typeof(e.value) <> 'object' OR e.value ->> 'resource_type' IS NULL) THEN
        PERFORM agl_fail('AG422', 'resources must map names to resources with a resource_type');
    END IF;
END $$;

-- POST /resources: a new id (rs- and 12 hex digits), version 1, the latest.
CREATE OR REPLACE FUNCTION agl_resources_add(p bigint, body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    id text := 'rs-' || substr(md5(gen_random_uuid()::text), 1, 12);
BEGIN
    PERFORM agl_resources_check(body);
    INSERT INTO resources (project_id, resources_id, version, resources)
    VALUES (p, id, 1, body);
    RETURN agl_resources_json(p, id);
END $$;

-- POST /resources/{id}: a new version of id (version 1 when it is new).
CREATE OR REPLACE FUNCTION agl_resources_update(p bigint, id text, body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM agl_resources_check(body);
    PERFORM pg_advisory_xact_lock(hashtextextended(p || '/' || id, 0));
    INSERT INTO resources (project_id, resources_id, version, resources)
    VALUES (p, id, coalesce((SELECT max(version) FROM resources WHERE project_id = p
        AND resources_id = id), 0) + 1, body);
    RETURN agl_resources_json(p, id);
END $$;

CREATE OR REPLACE FUNCTION agl_resources_query(p bigint, query jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a record;
    conds text[] := '{}';
BEGIN
    a := agl_page_args(query, '{"resources_id": "resources_id", "create_time": "create_time",
        "update_time": "update_time", "version": "version", "resources": "resources::text"}',
        NULL);
    IF query ->> 'resources_id' IS NOT NULL THEN
        conds := conds || 'resources_id = $1 ->> ''resources_id'''::text;
    END IF;
    IF query ->> 'resources_id_contains' IS NOT NULL THEN
        conds := conds || 'strpos(resources_id, $1 ->> ''resources_id_contains'') > 0'::text;
    END IF;
    RETURN jsonb_build_object('limit', a.lim, 'offset', a.off) || agl_page(query, format(
        'SELECT * FROM (SELECT j ->> ''resources_id'' AS resources_id, '
        '(j -> ''create_time'')::float8 AS create_time, (j -> ''update_time'')::float8 AS '
        'update_time, (j -> ''version'')::int AS version, j -> ''resources'' AS resources, '
        'ord, j AS item FROM (SELECT agl_resources_json(%s, d.resources_id) AS j, d.ord FROM '
        '(SELECT resources_id, min(created_at) AS ord FROM resources WHERE project_id = %s '
        'GROUP BY resources_id) d) x) v0', p, p), conds, a.sort, a.lim, a.off);
END $$;

-- ---- spans

-- A plain attribute value (str, bool, int, float, list, dict) as the OTLP AnyValue the
-- spans table keeps, and back.
CREATE OR REPLACE FUNCTION agl_anyvalue(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'string' THEN jsonb_build_object('stringValue', v)
        WHEN 'boolean' THEN jsonb_build_object('boolValue', v)
        WHEN 'number' THEN CASE WHEN v::text ~ '^-?[0-9]+$' AND abs(v::numeric) < 9223372036854775807
            THEN jsonb_build_object('intValue', v #>> '{}') ELSE jsonb_build_object('doubleValue', v) END
        WHEN 'array' THEN jsonb_build_object('arrayValue', jsonb_build_object('values',
            coalesce((SELECT jsonb_agg(agl_anyvalue(e) ORDER BY o) FROM jsonb_array_elements(v)
            WITH ORDINALITY AS x(e, o)), '[]')))
        WHEN 'object' THEN jsonb_build_object('kvlistValue', jsonb_build_object('values',
            coalesce((SELECT jsonb_agg(jsonb_build_object('key', k, 'value', agl_anyvalue(e)))
            FROM jsonb_each(v) AS x(k, e)), '[]')))
        ELSE '{}' END
$$;

CREATE OR REPLACE FUNCTION agl_plain(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN v ? 'stringValue' THEN v -> 'stringValue'
        WHEN v ? 'boolValue' THEN v -> 'boolValue'
        WHEN v ? 'intValue' THEN to_jsonb((v ->> 'intValue')::numeric)
        WHEN v ? 'doubleValue' THEN v -> 'doubleValue'
        WHEN v ? 'arrayValue' THEN coalesce((SELECT jsonb_agg(agl_plain(e) ORDER BY o)
            FROM jsonb_array_elements(v #> '{arrayValue,values}') WITH ORDINALITY AS x(e, o)), '[]')
        WHEN v ? 'kvlistValue' THEN coalesce((SELECT jsonb_object_agg(e ->> 'key',
            agl_plain(e -> 'value')) FROM jsonb_array_elements(v #> '{kvlistValue,values}') e), '{}')
        WHEN v ? 'bytesValue' THEN v -> 'bytesValue'
        ELSE 'null' END
$$;

CREATE OR REPLACE FUNCTION agl_attrs_in(o jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce((SELECT jsonb_object_agg(k, agl_anyvalue(v)) FROM jsonb_each(CASE WHEN
        jsonb_typeof(o) = 'object' THEN o ELSE '{}' END) AS x(k, v)), '{}')
$$;

CREATE OR REPLACE FUNCTION agl_attrs_out(o jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce((SELECT jsonb_object_agg(k, agl_plain(v)) FROM jsonb_each(CASE WHEN
        jsonb_typeof(o) = 'object' THEN o ELSE '{}' END) AS x(k, v)), '{}')
$$;

CREATE OR REPLACE FUNCTION agl_ns(t jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    -- Seconds (agent-lightning converts nanoseconds past 1e12 itself; so does this).
    SELECT CASE WHEN jsonb_typeof(t) = 'number' THEN CASE WHEN (t #>> '{}')::numeric > 1e12
        THEN (t #>> '{}')::numeric ELSE (t #>> '{}')::numeric * 1000000000 END::bigint END
$$;

-- A stored span as agent-lightning's Span.
CREATE OR REPLACE FUNCTION agl_span_json(s spans) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('rollout_id', s.run_id::text, 'attempt_id', s.attempt_seq::text,
        'sequence_id', s.sequence_id, 'trace_id', encode(s.trace_id, 'hex'),
        'span_id', encode(s.span_id, 'hex'), 'parent_id', encode(s.parent_span_id, 'hex'),
        'name', s.name, 'status', jsonb_build_object('status_code',
            (ARRAY['UNSET', 'OK', 'ERROR'])[s.status_code + 1], 'description',
            nullif(s.status_message, '')),
        'attributes', agl_attrs_out(s.attributes),
        'events', coalesce((SELECT jsonb_agg(jsonb_build_object('name', e ->> 'name',
            'attributes', agl_attrs_out(e -> 'attributes'), 'timestamp',
            (e ->> 'time_unix_nano')::numeric / 1e9) ORDER BY o)
            FROM jsonb_array_elements(s.events) WITH ORDINALITY AS x(e, o)), '[]'),
        'links', coalesce((SELECT jsonb_agg(jsonb_build_object('context', jsonb_build_object(
            'trace_id', l ->> 'trace_id', 'span_id', l ->> 'span_id', 'is_remote', false,
            'trace_state', '{}'::jsonb), 'attributes', agl_attrs_out(l -> 'attributes')) ORDER BY o)
            FROM jsonb_array_elements(s.links) WITH ORDINALITY AS x(l, o)), '[]'),
        'start_time', s.start_ns / 1e9, 'end_time', s.end_ns / 1e9,
        'context', jsonb_build_object('trace_id', encode(s.trace_id, 'hex'), 'span_id',
            encode(s.span_id, 'hex'), 'is_remote', false, 'trace_state', '{}'::jsonb),
        'parent', CASE WHEN s.parent_span_id IS NOT NULL THEN jsonb_build_object('trace_id',
            encode(s.trace_id, 'hex'), 'span_id', encode(s.parent_span_id, 'hex'), 'is_remote',
            false, 'trace_state', '{}'::jsonb) END,
        'resource', (SELECT jsonb_build_object('attributes', agl_attrs_out(o.body ->
            'attributes'), 'schema_url', coalesce(o.body ->> 'schema_url', ''))
            FROM span_origins o WHERE o.id = s.resource_id))
$$;

-- POST /spans: the span stored and its attempt's heartbeat, or null when it is stored
-- already (a retry). Its sequence id raises the rollout's counter (never below it again).
CREATE OR REPLACE FUNCTION agl_span_add(p bigint, span jsonb, OUT answer jsonb,
                                        OUT publish jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    r runs := agl_rollout_must(p, span ->> 'rollout_id');
    s integer := agl_attempt_seq(r.id, span ->> 'attempt_id');
    seq bigint;
    st bigint;
    en bigint;
    stored boolean;
BEGIN
    IF s IS NULL OR span ->> 'attempt_id' = 'latest' THEN
        PERFORM agl_fail('AG500', format('Attempt %s not found for rollout %s',
            span ->> 'attempt_id', r.id));
    END IF;
    IF coalesce(span ->> 'trace_id', '') !~ '^[0-9a-fA-F]{32}$' OR
       coalesce(span ->> 'span_id', '') !~ '^[0-9a-fA-F]{16}$' OR
       coalesce(span ->> 'parent_id', '0000000000000000') !~ '^[0-9a-fA-F]{16}$' THEN
        PERFORM agl_fail('AG422', 'trace_id must be 32 hex digits, span_id and parent_id 16');
    END IF;
    IF jsonb_typeof(span -> 'sequence_id') <> 'number' OR jsonb_typeof(span -> 'name') <> 'string'
    THEN
        PERFORM agl_fail('AG422', 'sequence_id (an integer) and name are required');
    END IF;
    seq := (span ->> 'sequence_id')::numeric;
    st := coalesce(agl_ns(span -> 'start_time'), (extract(epoch FROM now()) * 1e9)::bigint);
    en := coalesce(agl_ns(span -> 'end_time'), st);
    INSERT INTO run_span_seqs AS q (run_id, last) VALUES (r.id, seq)
    ON CONFLICT (run_id) DO UPDATE SET last = greatest(q.last, excluded.last);
    INSERT INTO spans (project_id, start_at, trace_id, span_id, parent_span_id, name, start_ns,
        end_ns, status_code, status_message, attributes, events, links, resource_id, scope_id, run_id,
        attempt_seq, sequence_id)
    VALUES (p, timestamptz 'epoch' + (st / 1000) * interval '1 microsecond',
        decode(span ->> 'trace_id', 'hex'), decode(span ->> 'span_id', 'hex'),
        decode(span ->> 'parent_id', 'hex'), span ->> 'name', st, en,
        coalesce(array_position(ARRAY['UNSET', 'OK', 'ERROR'], span #>> '{status,status_code}'),
            1) - 1, coalesce(span #>> '{status,description}', ''),
        agl_attrs_in(span -> 'attributes'),
        coalesce((SELECT jsonb_agg(jsonb_build_object('time_unix_nano', coalesce(agl_ns(
            e -> 'timestamp'), st)::text, 'name', coalesce(e ->> 'name', ''), 'attributes',
            agl_attrs_in(e -> 'attributes'), 'dropped_attributes_count', 0) ORDER BY o)
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(span -> 'events') = 'array' THEN
            span -> 'events' ELSE '[]' END) WITH ORDINALITY AS x(e, o)), '[]'),
        coalesce((SELECT jsonb_agg(jsonb_build_object('trace_id', l #>> '{context,trace_id}',
            'span_id', l #>> '{context,span_id}', 'trace_state', '', 'flags', 0, 'attributes',
            agl_attrs_in(l -> 'attributes'), 'dropped_attributes_count', 0) ORDER BY o)
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(span -> 'links') = 'array' THEN
            span -> 'links' ELSE '[]' END) WITH ORDINALITY AS x(l, o)), '[]'),
        span_origin_id(jsonb_build_object('attributes', agl_attrs_in(
            span #> '{resource,attributes}'), 'dropped_attributes_count', 0, 'schema_url',
            coalesce(span #>> '{resource,schema_url}', ''))),
        0, r.id, s, seq)
    ON CONFLICT (project_id, trace_id, span_id, start_at) DO NOTHING
    RETURNING true INTO stored;
    IF stored IS NULL THEN
        answer := 'null';
        publish := '[]';
        RETURN;
    END IF;
    answer := span;
    -- The run itself only when the span moved a status (a heartbeat alone: the spans' message,
    -- as the OTLP ingest publishes).
    publish := CASE WHEN agl_heartbeat(r.id, s) THEN agl_publish(ARRAY[r.id], 'run.updated')
        ELSE '[]' END || jsonb_build_array(jsonb_build_object(
        'project', p::text, 'type', 'run.spans', 'run', r.id, 'data', jsonb_build_object(
        'count', 1, 'first_sequence_id', seq::text, 'last_sequence_id', seq::text)));
END $$;

-- POST /spans/next: the rollout's next sequence id (the attempt is not checked, as in
-- agent-lightning's stores).
CREATE OR REPLACE FUNCTION agl_span_next(p bigint, body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r runs := agl_rollout_must(p, body ->> 'rollout_id');
    n bigint;
BEGIN
    INSERT INTO run_span_seqs AS q (run_id, last) VALUES (r.id, 1)
    ON CONFLICT (run_id) DO UPDATE SET last = q.last + 1 RETURNING last INTO n;
    RETURN jsonb_build_object('sequence_id', n);
END $$;

-- GET /spans, POST /spans/search: spans of one rollout (and attempt), filtered.
CREATE OR REPLACE FUNCTION agl_spans_query(p bigint, query jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a record;
    r runs;
    conds text[] := '{}';
    f text;
    s integer;
BEGIN
    IF query ->> 'rollout_id' IS NULL THEN
        PERFORM agl_fail('AG422', 'rollout_id is required');
    END IF;
    a := agl_page_args(query, '{"rollout_id": "rollout_id", "attempt_id": "attempt_id",
        "sequence_id": "sequence_id", "trace_id": "trace_id", "span_id": "span_id",
        "parent_id": "coalesce(parent_id, '''')", "name": "name",
        "start_time": "coalesce(start_time, ''infinity'')",
        "end_time": "coalesce(end_time, ''infinity'')"}', 'sequence_id');
    r := agl_rollout(p, query ->> 'rollout_id');
    IF query ->> 'attempt_id' IS NOT NULL THEN
        s := coalesce(agl_attempt_seq(r.id, query ->> 'attempt_id'), -1);
    END IF;
    FOREACH f IN ARRAY ARRAY['trace_id', 'span_id', 'parent_id', 'name'] LOOP
        IF query ->> f IS NOT NULL THEN
            conds := conds || format('%I = $1 ->> %L', f, f);
        END IF;
        IF query ->> (f || '_contains') IS NOT NULL THEN
            conds := conds || format('strpos(%I, $1 ->> %L) > 0', f, f || '_contains');
        END IF;
    END LOOP;
    RETURN jsonb_build_object('limit', a.lim, 'offset', a.off) || agl_page(query, format(
        'SELECT * FROM (SELECT s.run_id::text AS rollout_id, s.attempt_seq::text AS attempt_id, '
        's.sequence_id, encode(s.trace_id, ''hex'') AS trace_id, encode(s.span_id, ''hex'') AS '
        'span_id, encode(s.parent_span_id, ''hex'') AS parent_id, s.name, s.start_ns / 1e9 AS '
        'start_time, s.end_ns / 1e9 AS end_time, (s.sequence_id, s.start_ns, s.end_ns) AS ord, '
        'agl_span_json(s) AS item FROM spans s WHERE s.run_id = %L::uuid AND (%L::int IS NULL '
        'OR s.attempt_seq = %L::int)) v0', r.id, s, s), conds, a.sort, a.lim, a.off);
END $$;

-- ---- statistics

CREATE OR REPLACE FUNCTION agl_statistics(p bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('name', 'runwatch',
        'total_rollouts', (SELECT count(*) FROM runs WHERE project_id = p AND kind = 'rollout'),
        'total_attempts', (SELECT count(*) FROM attempts a JOIN runs r ON r.id = a.run_id
            WHERE r.project_id = p AND r.kind = 'rollout'),
        'total_spans', (SELECT count(*) FROM spans s JOIN runs r ON r.id = s.run_id
            WHERE r.project_id = p AND r.kind = 'rollout'),
        'total_resources', (SELECT count(DISTINCT resources_id) FROM resources WHERE project_id = p),
        'total_workers', (SELECT count(*) FROM workers WHERE project_id = p),
        'uptime', extract(epoch FROM now() - pg_postmaster_start_time())::double precision)
$$;

-- ---- the watchdog (the housekeeper's task `watchdog`, every second, every queue)

-- Runs whose latest attempt outlived its timeout (from the attempt's start) or went silent
-- past its unresponsive limit (from its last heartbeat, or its start when it never beat):
-- the attempt becomes `timeout` or `unresponsive` and the run follows it (requeued while its
-- policy retries on that, else failed). A run's own policy, else its queue's. Rollouts and
-- native runs alike: a native run's attempt fails with error type timeout or unresponsive,
-- and the run is queued again or fails. At most 1000 a pass; `more` asks for another.
CREATE OR REPLACE FUNCTION housekeep_watchdog(settings jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    x record;
    n integer := 0;
    beats integer;
    ids uuid[] := '{}';
    result jsonb;
BEGIN
    PERFORM set_config('runwatch.transition', 'agl', true);
    -- The candidates: running runs with a policy (their own or their queue's), or rollouts,
    -- and requeuing rollouts, found from the run and its queue's policy alone; a verdict's
    -- run is locked and checked again in the loop (SKIP LOCKED: never waiting on a
    -- request). Never every running run (docs/PERFORMANCE.md): rollouts and runs with a
    -- policy of their own from runs_watch_idx (migration 0043), the other runs of a queue
    -- with a policy from runs_running_idx, one range a policy queue.
    IF to_regclass('pg_temp.agl_watch') IS NULL THEN
        CREATE TEMP TABLE agl_watch (id uuid, kind text, status text, phase text,
            tmo double precision, unr double precision) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO agl_watch
    SELECT r.id, r.kind, r.status, r.phase, coalesce(r.timeout_s, q.timeout_s),
        coalesce(r.unresponsive_s, q.unresponsive_s)
    FROM runs r
    LEFT JOIN queue_policies q ON q.project_id = r.project_id AND q.queue = r.queue
    WHERE r.status = 'running'
      AND (r.kind = 'rollout' OR r.timeout_s IS NOT NULL OR r.unresponsive_s IS NOT NULL)
    UNION ALL
    SELECT r.id, r.kind, r.status, r.phase, q.timeout_s, q.unresponsive_s
    FROM queue_policies q
    JOIN runs r ON r.project_id = q.project_id AND r.queue = q.queue AND r.status = 'running'
    WHERE (q.timeout_s IS NOT NULL OR q.unresponsive_s IS NOT NULL)
      AND NOT (r.kind = 'rollout' OR r.timeout_s IS NOT NULL OR r.unresponsive_s IS NOT NULL)
    UNION ALL
    SELECT r.id, r.kind, r.status, r.phase, NULL, NULL
    FROM runs r WHERE r.status = 'retrying' AND r.kind = 'rollout';
    -- Spans that came over OTLP (/v1/traces: the ingest links them, but touches no attempt)
    -- are heartbeats too, noticed here: the run's newest span (one probe of
    -- spans_run_seq_idx), when it is of the latest attempt and newer than its heartbeat, beats
    -- for it, as POST /spans would have (agl_heartbeat), within a second of its arrival. Only
    -- where it changes something: a preparing or unresponsive attempt, a requeuing rollout,
    -- or an attempt the unresponsive check below would judge.
    FOR x IN
        SELECT c.id, a.seq
        FROM agl_watch c
        JOIN LATERAL (SELECT * FROM attempts WHERE run_id = c.id ORDER BY seq DESC LIMIT 1) a
            ON true
        JOIN LATERAL (SELECT sp.received_at, sp.attempt_seq FROM spans sp WHERE sp.run_id = c.id
            ORDER BY sp.sequence_id DESC LIMIT 1) s ON s.attempt_seq = a.seq
        WHERE (a.phase IN ('preparing', 'unresponsive') OR c.phase = 'preparing'
               OR c.status = 'retrying' OR c.unr IS NOT NULL)
          AND s.received_at > coalesce(a.last_heartbeat_at, '-infinity')
        LIMIT 1000
    LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM runs WHERE id = x.id FOR UPDATE SKIP LOCKED);
        PERFORM agl_heartbeat(x.id, x.seq);
        ids := ids || x.id;
    END LOOP;
    beats := cardinality(ids);
    FOR x IN
        SELECT c.id, a.seq, c.kind,
            CASE WHEN c.tmo IS NOT NULL AND now() - a.created_at > make_interval(secs => c.tmo)
                THEN 'timeout' ELSE 'unresponsive' END AS verdict
        FROM agl_watch c
        JOIN LATERAL (SELECT * FROM attempts WHERE run_id = c.id ORDER BY seq DESC LIMIT 1) a
            ON true
        WHERE c.status = 'running' AND a.status = 'running' AND NOT c.id = ANY (ids)
          AND ((c.tmo IS NOT NULL AND now() - a.created_at > make_interval(secs => c.tmo))
            OR (c.unr IS NOT NULL AND now() - coalesce(a.last_heartbeat_at, a.created_at) >
                make_interval(secs => c.unr)))
        LIMIT 1000
    LOOP
        -- Locked, then the same attempt must still be the latest and running.
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM runs WHERE id = x.id AND status = 'running'
            FOR UPDATE SKIP LOCKED);
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM attempts WHERE run_id = x.id AND seq = x.seq
            AND status = 'running' AND seq = (SELECT max(seq) FROM attempts WHERE run_id = x.id));
        PERFORM agl_attempt_move(x.id, x.seq, x.verdict, true);
        -- A native run goes back to its queue where agent-lightning's would be requeuing.
        IF x.kind <> 'rollout' THEN
            UPDATE runs SET status = 'queued', queued_at = now(), lease_expires_at = NULL,
                worker_id = NULL WHERE id = x.id AND status = 'retrying';
        END IF;
        PERFORM agl_sync(x.id);
        ids := ids || x.id;
        n := n + 1;
    END LOOP;
    result := jsonb_build_object('moved', n, 'beats', beats, 'more', n >= 1000 OR beats >= 1000,
        'publish', agl_publish(ids, 'run.updated'));
    PERFORM set_config('runwatch.transition', '', true);
    RETURN result;
END $$;
