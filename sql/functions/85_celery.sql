-- The Celery bridge's ingest (docs/ARCHITECTURE.md, "The Celery bridge"): runwatch-celery
-- posts a burst of normalized Celery events (POST /api/v1/celery/events) and celery_ingest()
-- applies the whole burst in the caller's one transaction, in the order the bridge received
-- it. Task → run (id = the task's uuid), each delivery (retries + 1) → an attempt, Celery
-- worker → worker with sessions. The API has checked every field's type and shape; these
-- functions trust them.
--
-- Precedence, as celery/events/state.py: events arrive out of order (a prefork worker
-- batches them, several workers interleave), so an event whose state ranks below the
-- attempt's current one only merges its fields. Celery ranks, highest first: SUCCESS,
-- FAILURE, (custom), REVOKED, STARTED, RECEIVED, REJECTED, RETRY, PENDING. Unlike Celery's
-- in-memory State, a retry is not a state of the task here but the end of one attempt:
-- Debian's 5.2.6 sends the second task-retried of a task after its success, which Celery's
-- own rule (RETRY always applies) would show as a task retrying forever.
--
-- Status moves are announced as the 'celery' system move (25_lifecycle.sql): a task whose
-- start the bridge missed goes from queued to succeeded.

-- Celery's rank of an attempt status (higher wins): ended > cancelled > running > queued.
CREATE OR REPLACE FUNCTION celery_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status WHEN 'succeeded' THEN 5 WHEN 'failed' THEN 4 WHEN 'cancelled' THEN 3
                       WHEN 'running' THEN 2 ELSE 1 END
$$;

-- "ValueError('boom')" → ('ValueError', 'boom'): the type and the message of an exception
-- repr, so failures group by fingerprint like native ones. A repr that is not Type(...)
-- keeps its whole text as the message.
CREATE OR REPLACE FUNCTION celery_exc_split(exc text, OUT etype text, OUT message text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN m IS NULL THEN 'Exception' ELSE left(m[1], 200) END,
           CASE WHEN m IS NULL THEN exc
                ELSE regexp_replace(m[2], '^([''"])(.*)\1$', '\2', 's') END
    FROM (SELECT regexp_match(coalesce(exc, ''), '^([A-Za-z_][A-Za-z0-9_.]*)\((.*)\)$', 's') AS m) x
$$;

-- The native worker of a Celery node name in a project, made on first sight.
CREATE OR REPLACE FUNCTION celery_worker_id(project bigint, hostname text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    wid bigint;
BEGIN
    IF hostname IS NULL OR hostname = '' THEN
        RETURN NULL;
    END IF;
    SELECT id INTO wid FROM workers WHERE project_id = project AND name = hostname;
    IF wid IS NULL THEN
        INSERT INTO workers (project_id, name, host, labels, status)
        VALUES (project, left(hostname, 200), left(split_part(hostname, '@', 2), 255),
                '{"celery": true}', 'online')
        ON CONFLICT (project_id, name) DO UPDATE SET name = EXCLUDED.name
        RETURNING id INTO wid;
        INSERT INTO worker_sessions (worker_id, host) VALUES (wid, split_part(hostname, '@', 2));
    END IF;
    RETURN wid;
END $$;

-- The run's status and its copy of the latest attempt, from its attempts and Celery state.
CREATE OR REPLACE FUNCTION celery_run_sync(run uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    a attempts;
    t celery_tasks;
    first_start timestamptz;
    st text;
BEGIN
    SELECT * INTO a FROM attempts WHERE run_id = run ORDER BY seq DESC LIMIT 1;
    SELECT * INTO t FROM celery_tasks WHERE run_id = run;
    SELECT min(started_at) INTO first_start FROM attempts WHERE run_id = run;
    IF a.seq IS NULL THEN
        st := CASE t.state WHEN 'REVOKED' THEN 'cancelled' WHEN 'FAILURE' THEN 'failed'
                           WHEN 'SUCCESS' THEN 'succeeded' ELSE 'queued' END;
    ELSIF a.status = 'failed' AND t.state = 'RETRY' THEN
        st := 'retrying';
    ELSE
        st := a.status;
    END IF;
    UPDATE runs r SET
        status = st,
        worker_id = coalesce(a.worker_id, r.worker_id),
        started_at = coalesce(first_start, r.started_at),
        ended_at = CASE WHEN st IN ('succeeded', 'failed', 'cancelled')
                        THEN greatest(coalesce(a.ended_at, r.ended_at, now()),
                                      coalesce(first_start, r.started_at, '-infinity'))
                   END,
        last_heartbeat_at = coalesce(a.started_at, r.last_heartbeat_at),
        error_type = CASE WHEN st = 'failed' THEN a.error_type END,
        error_message = CASE WHEN st = 'failed' THEN a.error_message END,
        error_traceback = CASE WHEN st = 'failed' THEN a.error_traceback END,
        error_fingerprint = CASE WHEN st = 'failed'
                                 THEN error_fingerprint(a.error_type, a.error_message) END,
        result = CASE WHEN t.result IS NOT NULL THEN jsonb_build_object('repr', t.result) END,
        updated_at = now()
    WHERE r.id = run;
    PERFORM runs_latest_attempt_sync(ARRAY[run]);
END $$;

-- The run of a task, made on first sight (kind 'celery.unknown' until an event names it);
-- NULL when the uuid is another project's run (never touched).
CREATE OR REPLACE FUNCTION celery_task_row(project bigint, u uuid, ts timestamptz)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    p bigint;
BEGIN
    SELECT project_id INTO p FROM runs WHERE id = u FOR UPDATE;
    IF p IS NULL THEN
        INSERT INTO runs (id, project_id, kind, queue, status, created_at, queued_at, tags)
        VALUES (u, project, 'celery.unknown', 'celery', 'queued', ts, ts, '{celery}');
        INSERT INTO celery_tasks (run_id, project_id) VALUES (u, project);
        -- Children seen before this parent: their lineage can be linked now.
        UPDATE runs c SET parent_id = u FROM celery_tasks ct
        WHERE ct.parent_uuid = u AND ct.run_id = c.id AND c.parent_id IS NULL;
        RETURN true;
    END IF;
    IF p <> project THEN
        RETURN false;
    END IF;
    INSERT INTO celery_tasks (run_id, project_id) VALUES (u, project) ON CONFLICT DO NOTHING;
    RETURN true;
END $$;

-- Fields of task-sent / task-received (Celery's merge rules for RECEIVED: name, args,
-- kwargs, parent_id, root_id, retries, eta, expires), merged whatever the precedence.
CREATE OR REPLACE FUNCTION celery_task_merge(project bigint, u uuid, e jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    parent uuid := nullif(e->>'parent_id', '')::uuid;
BEGIN
    -- A retried task names itself as its parent (Celery 5.2.6): a retry, not lineage.
    IF parent = u THEN
        parent := NULL;
    END IF;
    UPDATE celery_tasks SET
        args = coalesce(e->>'args', args), kwargs = coalesce(e->>'kwargs', kwargs),
        eta = coalesce(e->>'eta', eta), expires = coalesce(e->>'expires', expires),
        retries = greatest(retries, coalesce((e->>'retries')::integer, 0)),
        parent_uuid = coalesce(parent, parent_uuid), updated_at = now()
    WHERE run_id = u;
    UPDATE runs SET
        kind = CASE WHEN e ? 'name' AND kind = 'celery.unknown' THEN left(e->>'name', 200)
                    ELSE kind END,
        name = CASE WHEN e ? 'name' AND name = '' THEN left(e->>'name', 500) ELSE name END,
        queue = coalesce(nullif(left(e->>'queue', 200), ''), queue),
        input = CASE WHEN e ? 'args' OR e ? 'kwargs'
                     THEN jsonb_build_object('args', e->>'args', 'kwargs', e->>'kwargs')
                     ELSE input END,
        root_id = coalesce(nullif(e->>'root_id', '')::uuid, root_id),
        parent_id = CASE WHEN parent IS NOT NULL AND EXISTS (SELECT 1 FROM runs p WHERE
                             p.id = parent AND p.project_id = project) THEN parent
                         ELSE parent_id END
    WHERE id = u;
END $$;

-- Ends the attempt as failed because its worker died or went silent under it.
CREATE OR REPLACE FUNCTION celery_interrupt(wid bigint, why text, ts timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN SELECT id, project_id, attempt_seq FROM runs
             WHERE worker_id = wid AND status = 'running' FOR UPDATE LOOP
        UPDATE attempts SET status = 'failed', ended_at = greatest(ts, started_at),
            error_type = 'WorkerLost', error_message = why
        WHERE run_id = r.id AND seq = r.attempt_seq AND ended_at IS NULL;
        UPDATE celery_tasks SET state = 'INTERRUPTED', updated_at = now() WHERE run_id = r.id;
        PERFORM celery_run_sync(r.id);
        INSERT INTO events (project_id, run_id, attempt_seq, kind, level, message, data)
        VALUES (r.project_id, r.id, r.attempt_seq, 'interrupted', 'warning', why,
                jsonb_build_object('worker_id', wid));
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- One task event. Returns false when it was not applied (another project's run).
CREATE OR REPLACE FUNCTION celery_task_event(project bigint, e jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    u uuid := (e->>'uuid')::uuid;
    typ text := e->>'type';
    ts timestamptz := to_timestamp((e->>'timestamp')::double precision);
    wid bigint;
    a attempts;
    seqn integer;
    ex_type text;
    ex_msg text;
    cur_state text;
BEGIN
    IF NOT celery_task_row(project, u, ts) THEN
        RETURN false;
    END IF;
    -- Any event after a gap says the task is alive: no longer unknown.
    UPDATE celery_tasks SET unknown = false,
        hostname = CASE WHEN typ = 'task-sent' THEN hostname
                        ELSE coalesce(e->>'hostname', hostname) END,
        utcoffset = coalesce((e->>'utcoffset')::integer, utcoffset)
    WHERE run_id = u
    RETURNING state INTO cur_state;
    IF typ <> 'task-sent' THEN
        wid := celery_worker_id(project, e->>'hostname');
    END IF;
    SELECT * INTO a FROM attempts WHERE run_id = u ORDER BY seq DESC LIMIT 1;

    IF typ = 'task-sent' THEN
        PERFORM celery_task_merge(project, u, e);
        UPDATE celery_tasks SET sent_at = coalesce(sent_at, ts) WHERE run_id = u;
        UPDATE runs SET queued_at = least(queued_at, ts), created_at = least(created_at, ts)
        WHERE id = u;

    ELSIF typ = 'task-received' THEN
        PERFORM celery_task_merge(project, u, e);
        seqn := coalesce((e->>'retries')::integer, 0) + 1;
        UPDATE celery_tasks SET received_at = coalesce(received_at, ts),
            state = CASE WHEN state IN ('PENDING', 'REJECTED', 'RETRY', 'INTERRUPTED')
                         AND seqn >= coalesce(a.seq, 0) THEN 'RECEIVED' ELSE state END
        WHERE run_id = u;
        IF NOT EXISTS (SELECT 1 FROM attempts WHERE run_id = u AND seq = seqn) THEN
            -- A new delivery ends the earlier ones still open: they were retried. The
            -- task-retried event that says why may come later (Debian's 5.2.6 sends it after
            -- the next delivery): 'Retry' with no message marks an attempt waiting for it.
            UPDATE attempts SET status = 'failed', ended_at = greatest(ts, started_at),
                error_type = coalesce(error_type, 'Retry')
            WHERE run_id = u AND seq < seqn AND ended_at IS NULL;
            INSERT INTO attempts (run_id, seq, status, worker_id, created_at)
            VALUES (u, seqn, 'queued', wid, ts);
        END IF;

    ELSIF typ = 'task-started' THEN
        IF a.seq IS NULL THEN
            INSERT INTO attempts (run_id, seq, status, worker_id, created_at, started_at)
            VALUES (u, 1, 'running', wid, ts, ts);
        ELSE
            UPDATE attempts SET started_at = coalesce(started_at, ts), worker_id = coalesce(wid, worker_id),
                status = CASE WHEN celery_rank(status) < celery_rank('running') THEN 'running'
                              ELSE status END
            WHERE id = a.id;
        END IF;
        UPDATE celery_tasks SET state = CASE WHEN state IN ('PENDING', 'RECEIVED', 'REJECTED', 'RETRY')
                                             THEN 'STARTED' ELSE state END
        WHERE run_id = u;

    ELSIF typ IN ('task-succeeded', 'task-failed', 'task-revoked', 'task-rejected') THEN
        IF typ = 'task-failed' THEN
            SELECT etype, message INTO ex_type, ex_msg FROM celery_exc_split(e->>'exception');
        END IF;
        IF a.seq IS NULL THEN
            INSERT INTO attempts (run_id, seq, status, worker_id, created_at)
            VALUES (u, 1, 'queued', wid, ts) RETURNING * INTO a;
        END IF;
        -- SUCCESS outranks everything; FAILURE everything but SUCCESS; REVOKED and REJECTED
        -- only an attempt not yet ended. An attempt failed by a lost worker takes the
        -- real end when it comes after all (the worker was only slow).
        IF (typ = 'task-succeeded' AND a.status <> 'succeeded')
           OR (typ = 'task-failed' AND (a.ended_at IS NULL OR a.error_type = 'WorkerLost'))
           OR (typ IN ('task-revoked', 'task-rejected') AND a.ended_at IS NULL) THEN
            UPDATE attempts SET
                status = CASE typ WHEN 'task-succeeded' THEN 'succeeded'
                                  WHEN 'task-revoked' THEN 'cancelled' ELSE 'failed' END,
                ended_at = greatest(ts, started_at),
                worker_id = coalesce(worker_id, wid),
                error_type = CASE typ WHEN 'task-failed' THEN ex_type
                                      WHEN 'task-rejected' THEN 'Rejected' END,
                error_message = CASE typ WHEN 'task-failed' THEN ex_msg
                                         WHEN 'task-rejected' THEN 'rejected by the worker' END,
                error_traceback = CASE WHEN typ = 'task-failed' THEN e->>'traceback' END
            WHERE id = a.id;
            UPDATE celery_tasks SET
                state = CASE typ WHEN 'task-succeeded' THEN 'SUCCESS' WHEN 'task-failed' THEN 'FAILURE'
                                 WHEN 'task-revoked' THEN 'REVOKED' ELSE 'REJECTED' END,
                result = CASE WHEN typ = 'task-succeeded' THEN e->>'result' ELSE result END,
                runtime = CASE WHEN typ = 'task-succeeded' THEN (e->>'runtime')::double precision
                               ELSE runtime END,
                exception = CASE WHEN typ = 'task-failed' THEN e->>'exception' ELSE exception END,
                terminated = CASE WHEN typ = 'task-revoked' THEN (e->>'terminated')::boolean ELSE terminated END,
                expired = CASE WHEN typ = 'task-revoked' THEN (e->>'expired')::boolean ELSE expired END,
                signum = CASE WHEN typ = 'task-revoked' THEN e->>'signum' ELSE signum END
            WHERE run_id = u;
        END IF;
        -- A worker that did not know the task fails it as NotRegistered('name') without a
        -- task-received: the name comes from the exception.
        IF typ = 'task-failed' AND ex_type = 'NotRegistered' THEN
            UPDATE celery_tasks SET unregistered = true WHERE run_id = u;
            UPDATE runs SET kind = left(ex_msg, 200), name = left(ex_msg, 500)
            WHERE id = u AND kind = 'celery.unknown' AND ex_msg <> '';
        END IF;
        IF typ = 'task-revoked' AND coalesce((e->>'terminated')::boolean, false) THEN
            INSERT INTO events (project_id, run_id, attempt_seq, kind, level, message, data)
            VALUES (project, u, a.seq, 'celery.revoked', 'warning',
                    'terminated' || coalesce(' by ' || (e->>'signum'), ''),
                    jsonb_build_object('terminated', true, 'signum', e->'signum'));
        ELSIF typ = 'task-revoked' AND coalesce((e->>'expired')::boolean, false) THEN
            INSERT INTO events (project_id, run_id, attempt_seq, kind, level, message, data)
            VALUES (project, u, a.seq, 'celery.revoked', 'warning', 'expired',
                    jsonb_build_object('expired', true));
        END IF;

    ELSIF typ = 'task-retried' THEN
        SELECT etype, message INTO ex_type, ex_msg FROM celery_exc_split(e->>'exception');
        -- The why of an attempt a later delivery already ended (the lowest waiting one:
        -- one worker sends a task's retries in order), else the end of the open attempt.
        UPDATE attempts SET error_type = ex_type, error_message = ex_msg,
            error_traceback = e->>'traceback'
        WHERE id = (SELECT id FROM attempts WHERE run_id = u AND status = 'failed'
                    AND error_type = 'Retry' AND error_message IS NULL ORDER BY seq LIMIT 1);
        IF NOT FOUND AND a.seq IS NOT NULL AND a.ended_at IS NULL THEN
            UPDATE attempts SET status = 'failed', ended_at = greatest(ts, started_at),
                error_type = ex_type, error_message = ex_msg, error_traceback = e->>'traceback'
            WHERE id = a.id;
            UPDATE celery_tasks SET state = 'RETRY', exception = e->>'exception' WHERE run_id = u;
        END IF;

    ELSE
        -- task-cancelled and custom task-* events: only the state name, when it outranks
        -- the pending ones (Celery ranks unknown states just below FAILURE).
        UPDATE celery_tasks SET state = left(upper(substr(typ, 6)), 64)
        WHERE run_id = u AND state IN ('PENDING', 'RECEIVED', 'STARTED', 'REJECTED', 'RETRY');
    END IF;
    -- The run's status is derived once per burst (celery_ingest), not once per event.
    RETURN true;
END $$;

-- What the result backend says of a task (celery-task-meta-<id>), read by the bridge when a
-- task ends (its group and children) and after a gap (how tasks it missed ended).
CREATE OR REPLACE FUNCTION celery_meta_event(project bigint, e jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    u uuid := (e->>'uuid')::uuid;
    st text := e->>'status';
    ts timestamptz := coalesce(to_timestamp((e->>'date_done')::double precision), now());
    a attempts;
    reconciling boolean := coalesce((e->>'reconcile')::boolean, false);
    discovering boolean := coalesce((e->>'discover')::boolean, false);
BEGIN
    IF reconciling AND NOT EXISTS (SELECT 1 FROM runs WHERE id = u AND project_id = project) THEN
        RETURN false;
    END IF;
    -- Found by the bridge's scan of the backend after a gap: only a task no run exists for
    -- (known ids are skipped, whatever their state), and only an ended one, so it is made
    -- at its final state. Its kind is the meta's name (result_extended) or celery.unknown,
    -- never a guess; the 'celery.discovered' tag says where it came from.
    IF discovering THEN
        IF EXISTS (SELECT 1 FROM runs WHERE id = u)
           OR st IS NULL OR st NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN
            RETURN false;
        END IF;
        reconciling := true;
    END IF;
    IF NOT celery_task_row(project, u, ts) THEN
        RETURN false;
    END IF;
    IF discovering THEN
        UPDATE runs SET tags = array_append(tags, 'celery.discovered'),
            kind = coalesce(nullif(left(e->>'name', 200), ''), kind),
            name = coalesce(nullif(left(e->>'name', 500), ''), name),
            queue = coalesce(nullif(left(e->>'queue', 200), ''), queue),
            input = CASE WHEN e ? 'args' OR e ? 'kwargs'
                         THEN jsonb_build_object('args', e->>'args', 'kwargs', e->>'kwargs') END
        WHERE id = u;
        UPDATE celery_tasks SET hostname = e->>'hostname',
            args = e->>'args', kwargs = e->>'kwargs', result = e->>'result',
            retries = coalesce((e->>'retries')::integer, 0)
        WHERE run_id = u;
        INSERT INTO events (project_id, run_id, kind, level, message)
        VALUES (project, u, 'celery.discovered', 'info',
                'started and ended while the bridge was down; found in the result backend'
                || CASE WHEN e ? 'name' THEN '' ELSE ' (no result_extended: the task name is unknown)' END);
    END IF;
    UPDATE runs SET group_id = coalesce(left(e->>'group_id', 200), group_id) WHERE id = u;
    UPDATE celery_tasks SET meta_seen = true,
        children = CASE WHEN e ? 'children' THEN ARRAY(SELECT jsonb_array_elements_text(e->'children'))::uuid[]
                        ELSE children END,
        parent_uuid = coalesce(parent_uuid, nullif(nullif(e->>'parent_id', ''), e->>'uuid')::uuid)
    WHERE run_id = u;
    IF reconciling THEN
        SELECT * INTO a FROM attempts WHERE run_id = u ORDER BY seq DESC LIMIT 1;
        IF st IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN
            IF a.seq IS NULL THEN
                -- The worker the meta names (result_extended), when Runwatch knows it: a
                -- discovered run then shows who ran it. Never a worker made up from a meta
                -- (it may be long gone). Its start is not in the meta: left empty.
                INSERT INTO attempts (run_id, seq, status, worker_id, created_at)
                VALUES (u, 1, 'queued', (SELECT w.id FROM workers w WHERE w.project_id = project
                                         AND w.name = e->>'hostname'), ts)
                RETURNING * INTO a;
            END IF;
            IF a.ended_at IS NULL OR a.error_type = 'WorkerLost' THEN
                UPDATE attempts SET status = CASE st WHEN 'SUCCESS' THEN 'succeeded'
                                                     WHEN 'FAILURE' THEN 'failed' ELSE 'cancelled' END,
                    ended_at = greatest(ts, started_at),
                    error_type = CASE WHEN st = 'FAILURE' THEN coalesce(e->>'exc_type', 'Exception') END,
                    error_message = CASE WHEN st = 'FAILURE' THEN e->>'exc_message' END,
                    error_traceback = CASE WHEN st = 'FAILURE' THEN e->>'traceback' END
                WHERE id = a.id;
                UPDATE celery_tasks SET state = st, unknown = false WHERE run_id = u;
                INSERT INTO events (project_id, run_id, attempt_seq, kind, level, message)
                VALUES (project, u, a.seq, 'celery.reconciled', 'info',
                        'events missed by the bridge; the end read from the result backend');
            END IF;
        ELSE
            -- Nothing stored says how it went: shown as unknown, never guessed.
            UPDATE celery_tasks SET unknown = true WHERE run_id = u
                AND state IN ('PENDING', 'RECEIVED', 'STARTED', 'RETRY');
        END IF;
    END IF;
    PERFORM celery_run_sync(u);
    RETURN true;
END $$;

-- One worker event.
CREATE OR REPLACE FUNCTION celery_worker_event(project bigint, e jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    typ text := e->>'type';
    hname text := e->>'hostname';
    ts timestamptz := to_timestamp((e->>'timestamp')::double precision);
    seen timestamptz := coalesce(to_timestamp((e->>'received')::double precision), now());
    w workers;
    pidv integer := (e->>'pid')::integer;
    res jsonb;
    last_sample timestamptz;
BEGIN
    IF hname IS NULL OR hname = '' THEN
        RETURN false;
    END IF;
    PERFORM celery_worker_id(project, hname);
    SELECT * INTO w FROM workers WHERE project_id = project AND name = hname FOR UPDATE;
    IF typ = 'worker-offline' THEN
        UPDATE workers SET status = 'stopped', stopped_at = ts WHERE id = w.id;
        UPDATE worker_sessions SET ended_at = greatest(ts, started_at), end_reason = 'stopped'
        WHERE worker_id = w.id AND ended_at IS NULL;
        PERFORM celery_interrupt(w.id, 'the worker went offline while the task was in flight', ts);
        UPDATE celery_workers SET last_seen = seen, active = 0 WHERE worker_id = w.id;
        RETURN true;
    END IF;
    -- A session opened when a task event named the worker first has no pid yet: this is it.
    UPDATE worker_sessions SET pid = pidv WHERE worker_id = w.id AND ended_at IS NULL
        AND pid IS NULL AND pidv IS NOT NULL;
    -- A worker seen stopped or lost (restarted, or the bridge came up after it), or a process
    -- that is not the open session's (a restart between two beats): a new session.
    IF w.status IN ('stopped', 'offline')
       OR NOT EXISTS (SELECT 1 FROM worker_sessions WHERE worker_id = w.id AND ended_at IS NULL
                      AND pid IS NOT DISTINCT FROM pidv) THEN
        UPDATE worker_sessions SET ended_at = greatest(ts, started_at), end_reason = 'replaced'
        WHERE worker_id = w.id AND ended_at IS NULL;
        INSERT INTO worker_sessions (worker_id, host, pid, started_at)
        VALUES (w.id, split_part(hname, '@', 2), pidv, ts);
        UPDATE workers SET started_at = ts, stopped_at = NULL, pid = pidv WHERE id = w.id;
    END IF;
    res := jsonb_strip_nulls(jsonb_build_object('active', e->'active', 'processed', e->'processed',
                             'loadavg', e->'loadavg', 'freq', e->'freq'));
    UPDATE workers SET last_heartbeat_at = ts, resources = res,
        status = CASE WHEN coalesce((e->>'active')::integer, 0) > 0 THEN 'busy' ELSE 'idle' END
    WHERE id = w.id;
    INSERT INTO celery_workers AS c (worker_id, project_id, freq, active, processed, loadavg,
                                     sw_ident, sw_ver, sw_sys, last_seen)
    VALUES (w.id, project, coalesce((e->>'freq')::double precision, 2.0), (e->>'active')::integer,
            (e->>'processed')::bigint,
            CASE WHEN jsonb_typeof(e->'loadavg') = 'array'
                 THEN ARRAY(SELECT jsonb_array_elements_text(e->'loadavg'))::double precision[] END,
            e->>'sw_ident', e->>'sw_ver', e->>'sw_sys', seen)
    ON CONFLICT (worker_id) DO UPDATE SET freq = EXCLUDED.freq, active = EXCLUDED.active,
        processed = EXCLUDED.processed, loadavg = EXCLUDED.loadavg,
        sw_ident = coalesce(EXCLUDED.sw_ident, c.sw_ident), sw_ver = coalesce(EXCLUDED.sw_ver, c.sw_ver),
        sw_sys = coalesce(EXCLUDED.sw_sys, c.sw_sys), last_seen = EXCLUDED.last_seen
    RETURNING c.last_sample_at INTO last_sample;
    -- Load and active tasks as samples for the worker's page: one per 10 s is plenty, and
    -- keeps 1,000 workers beating every 2 s from writing 500 rows a second.
    IF last_sample IS NULL OR ts >= last_sample + interval '10 seconds' THEN
        INSERT INTO worker_samples (worker_id, ts, sample) VALUES (w.id, ts, res);
        UPDATE celery_workers SET last_sample_at = ts WHERE worker_id = w.id;
    END IF;
    RETURN true;
END $$;

-- Workers silent for 2 × freq by the bridge's clock (Celery's HEARTBEAT_EXPIRE_WINDOW):
-- offline, their session lost, their tasks in flight interrupted.
CREATE OR REPLACE FUNCTION celery_expire_workers(project bigint, now_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    w record;
    n integer := 0;
BEGIN
    FOR w IN SELECT c.worker_id FROM celery_workers c JOIN workers k ON k.id = c.worker_id
             WHERE c.project_id = project AND k.status NOT IN ('stopped', 'offline')
               AND c.last_seen < now_ts - make_interval(secs => c.freq * 2)
             FOR UPDATE OF k LOOP
        UPDATE workers SET status = 'offline', stopped_at = now_ts WHERE id = w.worker_id;
        UPDATE worker_sessions SET ended_at = greatest(now_ts, started_at), end_reason = 'lost'
        WHERE worker_id = w.worker_id AND ended_at IS NULL;
        PERFORM celery_interrupt(w.worker_id, 'the worker stopped sending heartbeats while the task was in flight', now_ts);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Chord callbacks of the given tasks, either side: a task applied by a header task of
-- group G after that task's result was stored (so not among its children) and not itself
-- in G waits for G (run_deps.dep_group_id). Celery names the header task that finished last
-- as the callback's parent and root; the edge to the group is what the graph draws.
CREATE OR REPLACE FUNCTION celery_link_chords(project bigint, ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO run_deps (run_id, project_id, dep_group_id)
    SELECT DISTINCT c.run_id, project, p.group_id
    FROM celery_tasks c
    JOIN runs p ON p.id = c.parent_uuid AND p.project_id = project AND p.group_id IS NOT NULL
    JOIN celery_tasks pt ON pt.run_id = p.id AND pt.meta_seen
    JOIN runs cr ON cr.id = c.run_id
    WHERE (c.run_id = ANY (ids) OR c.parent_uuid = ANY (ids))
      AND c.project_id = project
      AND NOT (c.run_id = ANY (coalesce(pt.children, '{}')))
      AND cr.group_id IS DISTINCT FROM p.group_id
    ON CONFLICT DO NOTHING
$$;

-- The set-based part of a burst (docs/PERFORMANCE.md, "The Celery bridge: a burst applied
-- set-based"): the common shapes, applied in a few statements over the whole burst instead
-- of event by event. Returns the positions (1-based) of the events it applied; the rest go
-- through celery_task_event() / celery_worker_event() in arrival order as before.
--
-- A task is folded here when its events of the burst are one first delivery seen whole
-- within it: its run is new (no row yet, no child waiting for it), its events are at most
-- one each of task-received (retries 0), task-started and task-succeeded from one known
-- worker that does not go offline in the burst, plus the backend's word on it (not a
-- reconcile) naming no other parent. Folding them is exact: the precedence rules give the
-- same end whatever their order, which is the highest of the three (SUCCESS > STARTED >
-- RECEIVED), so the run is inserted at its final state once, with its one attempt. The
-- rest of such a delivery received in an earlier burst (started, succeeded, the backend's
-- word; the run's one attempt still open) is folded the same way into three UPDATEs.
-- Anything else — a retry, a failure, a revoke, lineage to link — keeps the
-- event-by-event path, which is the reference (tests/celery/test_bridge.py applies a burst
-- of every folded shape both ways and compares every row).
--
-- A heartbeat is folded when it is the only event of its worker in the burst and the
-- worker's session is open with the same pid (nothing to open or close): one statement
-- updates every such worker, its Celery fields and its sample when one is due.
CREATE OR REPLACE FUNCTION celery_ingest_sets(project bigint, evs jsonb) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    done bigint[];
    beats bigint[];
    offline text[];
    conts boolean;
BEGIN
    -- A temporary table holds the folded tasks between the statements below (dropped
    -- rows at commit; made once per connection).
    IF to_regclass('pg_temp.celery_fold') IS NULL THEN
        -- (Rename it when its shape changes: a connection keeps the one it made.)
        CREATE TEMP TABLE celery_fold (
            u uuid PRIMARY KEY, wid bigint, host text, created timestamptz, st text,
            ts_r timestamptz, ts_s timestamptz, ts_x timestamptz, s_first boolean,
            ended timestamptz, r jsonb, x jsonb, m jsonb, utcoffset integer, idx bigint[],
            cont boolean NOT NULL DEFAULT false
        ) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM pg_temp.celery_fold;
    SELECT coalesce(array_agg(e->>'hostname'), '{}') INTO offline
    FROM jsonb_array_elements(evs) e WHERE e->>'type' = 'worker-offline';
    -- Off: the event-by-event path alone (tests/celery/test_bridge.py checks that both
    -- paths leave the same rows).
    IF current_setting('runwatch.celery_fold', true) = 'off' THEN
        RETURN '{}';
    END IF;
    INSERT INTO pg_temp.celery_fold (u, host, created, st, ts_r, ts_s, ts_x, s_first, ended,
                                     r, x, m, utcoffset, idx)
    SELECT g.u, g.host, g.created, g.st, g.ts_r, g.ts_s, g.ts_x, g.i_s < g.i_x,
           -- The success ends the attempt at greatest(its time, the start), the start
           -- counting only when it arrived first (as the event-by-event path does).
           greatest(g.ts_x, CASE WHEN g.i_s < g.i_x THEN g.ts_s END),
           g.r, g.x, g.m, g.utcoffset, g.idx
    FROM (
        SELECT (e->>'uuid')::uuid AS u, min(e->>'hostname') AS host,
               -- The run and its attempt are made by whichever event arrived first.
               (array_agg(to_timestamp((e->>'timestamp')::double precision) ORDER BY i)
                    FILTER (WHERE e->>'type' <> 'backend-meta'))[1] AS created,
               CASE WHEN bool_or(e->>'type' = 'task-succeeded') THEN 'succeeded'
                    WHEN bool_or(e->>'type' = 'task-started') THEN 'running'
                    ELSE 'queued' END AS st,
               min(to_timestamp((e->>'timestamp')::double precision))
                   FILTER (WHERE e->>'type' = 'task-received') AS ts_r,
               min(to_timestamp((e->>'timestamp')::double precision))
                   FILTER (WHERE e->>'type' = 'task-started') AS ts_s,
               min(to_timestamp((e->>'timestamp')::double precision))
                   FILTER (WHERE e->>'type' = 'task-succeeded') AS ts_x,
               min(i) FILTER (WHERE e->>'type' = 'task-started') AS i_s,
               min(i) FILTER (WHERE e->>'type' = 'task-succeeded') AS i_x,
               (array_agg(e) FILTER (WHERE e->>'type' = 'task-received'))[1] AS r,
               (array_agg(e) FILTER (WHERE e->>'type' = 'task-succeeded'))[1] AS x,
               (array_agg(e) FILTER (WHERE e->>'type' = 'backend-meta'))[1] AS m,
               (array_agg((e->>'utcoffset')::integer ORDER BY i DESC)
                    FILTER (WHERE e->>'utcoffset' IS NOT NULL))[1] AS utcoffset,
               array_agg(i) AS idx
        FROM jsonb_array_elements(evs) WITH ORDINALITY x(e, i)
        WHERE e->>'type' LIKE 'task-%' OR e->>'type' = 'backend-meta'
        GROUP BY e->>'uuid'
        HAVING bool_and(e->>'type' IN ('task-received', 'task-started', 'task-succeeded',
                                       'backend-meta'))
           AND count(*) FILTER (WHERE e->>'type' = 'task-received') <= 1
           AND count(*) FILTER (WHERE e->>'type' = 'task-started') <= 1
           AND count(*) FILTER (WHERE e->>'type' = 'task-succeeded') <= 1
           AND count(*) FILTER (WHERE e->>'type' = 'backend-meta') <= 1
           AND count(*) FILTER (WHERE e->>'type' <> 'backend-meta') >= 1
           AND bool_and(e->>'type' = 'backend-meta' OR e->>'hostname' IS NOT NULL)
           AND count(DISTINCT e->>'hostname') = 1
           AND bool_and(coalesce((e->>'retries')::integer, 0) = 0)
           AND bool_and(coalesce(nullif(e->>'parent_id', e->>'uuid'), '') = '')
           AND bool_and(NOT coalesce((e->>'reconcile')::boolean, false))
    ) g;
    -- Its worker known and not going offline in this burst. The run new (any project's),
    -- with no child waiting to be linked to it; or (cont) the rest of a first delivery
    -- received in an earlier burst: a run of this project whose one attempt is still open,
    -- and no task-received in this burst.
    UPDATE pg_temp.celery_fold f SET wid = w.id
    FROM workers w WHERE w.project_id = project AND w.name = f.host;
    UPDATE pg_temp.celery_fold f SET cont = true
    FROM runs r, celery_tasks c
    WHERE r.id = f.u AND r.project_id = project AND f.r IS NULL AND r.attempt_seq = 1
      AND c.run_id = f.u AND c.state IN ('RECEIVED', 'STARTED')
      AND (SELECT count(*) FROM attempts a WHERE a.run_id = f.u AND a.ended_at IS NULL) = 1
      AND (SELECT count(*) FROM attempts a WHERE a.run_id = f.u) = 1;
    conts := FOUND;
    DELETE FROM pg_temp.celery_fold f
    WHERE f.wid IS NULL
       OR (NOT f.cont AND (EXISTS (SELECT 1 FROM runs r WHERE r.id = f.u)
                           OR EXISTS (SELECT 1 FROM celery_tasks c WHERE c.parent_uuid = f.u)))
       OR f.host = ANY (offline);

    INSERT INTO runs (id, project_id, kind, name, queue, status, created_at, queued_at, tags,
                      input, root_id, group_id, worker_id, started_at, ended_at,
                      last_heartbeat_at, result, updated_at,
                      attempt_seq, attempt_status, attempt_worker_id, attempt_created_at,
                      attempt_started_at, attempt_ended_at)
    SELECT f.u, project,
           coalesce(left(f.r->>'name', 200), 'celery.unknown'),
           coalesce(left(f.r->>'name', 500), ''),
           coalesce(nullif(left(f.r->>'queue', 200), ''), 'celery'),
           f.st, f.created, f.created, '{celery}',
           CASE WHEN f.r ? 'args' OR f.r ? 'kwargs'
                THEN jsonb_build_object('args', f.r->>'args', 'kwargs', f.r->>'kwargs') END,
           nullif(f.r->>'root_id', '')::uuid,
           left(f.m->>'group_id', 200),
           f.wid, f.ts_s, CASE WHEN f.ended IS NOT NULL THEN greatest(f.ended, f.ts_s) END, f.ts_s,
           CASE WHEN f.x->>'result' IS NOT NULL THEN jsonb_build_object('repr', f.x->>'result') END,
           now(),
           1, f.st, f.wid, f.created, f.ts_s, f.ended
    FROM pg_temp.celery_fold f WHERE NOT f.cont
    ORDER BY f.u;
    INSERT INTO attempts (run_id, seq, status, worker_id, created_at, started_at, ended_at)
    SELECT f.u, 1, f.st, f.wid, f.created, f.ts_s, f.ended
    FROM pg_temp.celery_fold f WHERE NOT f.cont
    ORDER BY f.u;
    INSERT INTO celery_tasks (run_id, project_id, state, hostname, retries, eta, expires, args,
                              kwargs, result, runtime, children, meta_seen, utcoffset,
                              received_at)
    SELECT f.u, project,
           CASE f.st WHEN 'succeeded' THEN 'SUCCESS' WHEN 'running' THEN 'STARTED'
                     ELSE 'RECEIVED' END,
           f.host, 0, f.r->>'eta', f.r->>'expires', f.r->>'args', f.r->>'kwargs',
           f.x->>'result', (f.x->>'runtime')::double precision,
           CASE WHEN f.m ? 'children'
                THEN ARRAY(SELECT jsonb_array_elements_text(f.m->'children'))::uuid[] END,
           f.m IS NOT NULL, f.utcoffset, f.ts_r
    FROM pg_temp.celery_fold f WHERE NOT f.cont
    ORDER BY f.u;

    IF conts THEN
        -- The rest of a first delivery: its attempt moves as task-started and task-succeeded
        -- move it (the end at greatest(its time, the start as the success found it)), then
        -- the run is derived from it as celery_run_sync() derives it.
        UPDATE attempts a SET
            status = CASE WHEN f.x IS NOT NULL THEN 'succeeded'
                          WHEN f.ts_s IS NOT NULL AND a.status = 'queued' THEN 'running'
                          ELSE a.status END,
            started_at = coalesce(a.started_at, f.ts_s),
            ended_at = CASE WHEN f.x IS NOT NULL
                            THEN greatest(f.ts_x, coalesce(a.started_at,
                                                           CASE WHEN f.s_first THEN f.ts_s END))
                       END,
            worker_id = CASE WHEN f.ts_s IS NOT NULL THEN f.wid ELSE coalesce(a.worker_id, f.wid) END,
            error_type = CASE WHEN f.x IS NOT NULL THEN NULL ELSE a.error_type END,
            error_message = CASE WHEN f.x IS NOT NULL THEN NULL ELSE a.error_message END,
            error_traceback = CASE WHEN f.x IS NOT NULL THEN NULL ELSE a.error_traceback END
        FROM pg_temp.celery_fold f
        WHERE f.cont AND a.run_id = f.u AND a.seq = 1;
        UPDATE celery_tasks c SET
            unknown = false, hostname = f.host, utcoffset = coalesce(f.utcoffset, c.utcoffset),
            state = CASE WHEN f.x IS NOT NULL THEN 'SUCCESS' ELSE 'STARTED' END,
            result = CASE WHEN f.x IS NOT NULL THEN f.x->>'result' ELSE c.result END,
            runtime = CASE WHEN f.x IS NOT NULL THEN (f.x->>'runtime')::double precision
                           ELSE c.runtime END,
            meta_seen = c.meta_seen OR f.m IS NOT NULL,
            children = CASE WHEN f.m ? 'children'
                            THEN ARRAY(SELECT jsonb_array_elements_text(f.m->'children'))::uuid[]
                            ELSE c.children END,
            updated_at = now()
        FROM pg_temp.celery_fold f
        WHERE f.cont AND c.run_id = f.u;
        UPDATE runs r SET
            status = a.status,
            worker_id = coalesce(a.worker_id, r.worker_id),
            started_at = coalesce(a.started_at, r.started_at),
            ended_at = CASE WHEN a.status = 'succeeded'
                            THEN greatest(coalesce(a.ended_at, r.ended_at, now()),
                                          coalesce(a.started_at, r.started_at, '-infinity'))
                       END,
            last_heartbeat_at = coalesce(a.started_at, r.last_heartbeat_at),
            error_type = NULL, error_message = NULL, error_traceback = NULL,
            error_fingerprint = NULL,
            result = CASE WHEN c.result IS NOT NULL THEN jsonb_build_object('repr', c.result) END,
            group_id = coalesce(left(f.m->>'group_id', 200), r.group_id),
            updated_at = now(),
            attempt_status = a.status, attempt_worker_id = a.worker_id,
            attempt_started_at = a.started_at, attempt_ended_at = a.ended_at,
            attempt_error_type = a.error_type, attempt_error_message = a.error_message,
            attempt_error_traceback = a.error_traceback
        FROM pg_temp.celery_fold f, attempts a, celery_tasks c
        WHERE f.cont AND r.id = f.u AND a.run_id = f.u AND a.seq = 1 AND c.run_id = f.u;
    END IF;
    -- Chords: a task the backend spoke of may be a header task whose callback is known,
    -- and a task seen before may be a callback.
    PERFORM celery_link_chords(project, array_agg(f.u))
    FROM pg_temp.celery_fold f WHERE f.m IS NOT NULL OR f.cont HAVING count(*) > 0;
    SELECT coalesce(array_agg(i), '{}') INTO done
    FROM pg_temp.celery_fold f, unnest(f.idx) i;

    -- Heartbeats.
    WITH hb AS (
        SELECT i, e, w.id AS wid, to_timestamp((e->>'timestamp')::double precision) AS ts,
               coalesce(to_timestamp((e->>'received')::double precision), now()) AS seen,
               jsonb_strip_nulls(jsonb_build_object('active', e->'active',
                   'processed', e->'processed', 'loadavg', e->'loadavg', 'freq', e->'freq')) AS res
        FROM (SELECT e, i, count(*) OVER (PARTITION BY e->>'hostname') AS n
              FROM jsonb_array_elements(evs) WITH ORDINALITY x(e, i)
              WHERE e->>'type' LIKE 'worker-%') b
        JOIN workers w ON w.project_id = project AND w.name = b.e->>'hostname'
        WHERE b.n = 1 AND b.e->>'type' = 'worker-heartbeat'
          AND w.status NOT IN ('stopped', 'offline')
          AND EXISTS (SELECT 1 FROM worker_sessions s WHERE s.worker_id = w.id
                      AND s.ended_at IS NULL AND s.pid IS NOT DISTINCT FROM (b.e->>'pid')::integer)
    ), due AS (
        SELECT hb.*, (c.worker_id IS NULL OR c.last_sample_at IS NULL
                      OR hb.ts >= c.last_sample_at + interval '10 seconds') AS due
        FROM hb LEFT JOIN celery_workers c ON c.worker_id = hb.wid
    ), wk AS (
        UPDATE workers w SET last_heartbeat_at = d.ts, resources = d.res,
            status = CASE WHEN coalesce((d.e->>'active')::integer, 0) > 0 THEN 'busy' ELSE 'idle' END
        FROM due d WHERE w.id = d.wid
        RETURNING 1
    ), smp AS (
        INSERT INTO worker_samples (worker_id, ts, sample)
        SELECT wid, ts, res FROM due WHERE due
        RETURNING 1
    ), cw AS (
        INSERT INTO celery_workers AS c (worker_id, project_id, freq, active, processed, loadavg,
                                         sw_ident, sw_ver, sw_sys, last_seen, last_sample_at)
        SELECT d.wid, project, coalesce((d.e->>'freq')::double precision, 2.0),
               (d.e->>'active')::integer, (d.e->>'processed')::bigint,
               CASE WHEN jsonb_typeof(d.e->'loadavg') = 'array'
                    THEN ARRAY(SELECT jsonb_array_elements_text(d.e->'loadavg'))::double precision[] END,
               d.e->>'sw_ident', d.e->>'sw_ver', d.e->>'sw_sys', d.seen,
               CASE WHEN d.due THEN d.ts END
        FROM due d ORDER BY d.wid
        ON CONFLICT (worker_id) DO UPDATE SET freq = EXCLUDED.freq, active = EXCLUDED.active,
            processed = EXCLUDED.processed, loadavg = EXCLUDED.loadavg,
            sw_ident = coalesce(EXCLUDED.sw_ident, c.sw_ident),
            sw_ver = coalesce(EXCLUDED.sw_ver, c.sw_ver),
            sw_sys = coalesce(EXCLUDED.sw_sys, c.sw_sys), last_seen = EXCLUDED.last_seen,
            last_sample_at = coalesce(EXCLUDED.last_sample_at, c.last_sample_at)
        RETURNING 1
    )
    SELECT coalesce(array_agg(i), '{}') INTO beats
    FROM due, (SELECT count(*) FROM wk) a, (SELECT count(*) FROM smp) b, (SELECT count(*) FROM cw) c;
    RETURN done || beats;
END $$;

-- A burst: {"events": [...], "now": <bridge clock>, "open": <bool>}. The common shapes first,
-- set-based (celery_ingest_sets), then the rest in arrival order; the liveness check after
-- it by the bridge's clock. Answers how many were applied and skipped
-- and, when asked, the tasks still open (which the bridge reconciles after a gap).
CREATE OR REPLACE FUNCTION celery_ingest(project bigint, batch jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
    applied integer := 0;
    skipped integer := 0;
    ok boolean;
    touched uuid[] := '{}';
    unsynced uuid[] := '{}';
    expired integer := 0;
    open_ids jsonb;
    folded bigint[];
    since double precision;
BEGIN
    PERFORM set_config('runwatch.transition', 'celery', true);
    -- After a gap: when the bridge last heard this project's fleet, read before this burst
    -- moves it. The bridge scans the backend for tasks that ended after it (less a margin).
    IF coalesce((batch->>'open')::boolean, false) THEN
        SELECT extract(epoch FROM max(last_seen)) INTO since FROM celery_workers
        WHERE project_id = project;
    END IF;
    folded := celery_ingest_sets(project, coalesce(batch->'events', '[]'));
    applied := cardinality(folded);
    FOR e IN SELECT x.value FROM jsonb_array_elements(coalesce(batch->'events', '[]'))
                 WITH ORDINALITY x(value, i)
             LEFT JOIN unnest(folded) f(i) ON f.i = x.i
             WHERE f.i IS NULL ORDER BY x.i LOOP
        -- Task events leave their run's status to be derived once per burst (a task's
        -- received, started and succeeded usually come together); anything that reads
        -- the runs' status (a worker going offline, the backend's word) sees it synced.
        IF e->>'type' NOT LIKE 'task-%' AND cardinality(unsynced) > 0 THEN
            PERFORM celery_run_sync(x) FROM (SELECT DISTINCT unnest(unsynced) AS x) d;
            unsynced := '{}';
        END IF;
        IF e->>'type' = 'backend-meta' THEN
            ok := celery_meta_event(project, e);
        ELSIF e->>'type' LIKE 'task-%' THEN
            ok := celery_task_event(project, e);
            IF ok THEN
                unsynced := unsynced || (e->>'uuid')::uuid;
            END IF;
        ELSIF e->>'type' LIKE 'worker-%' THEN
            ok := celery_worker_event(project, e);
        ELSE
            ok := false;
        END IF;
        IF ok THEN
            applied := applied + 1;
            IF e ? 'uuid' THEN
                touched := touched || (e->>'uuid')::uuid;
            END IF;
        ELSE
            skipped := skipped + 1;
        END IF;
    END LOOP;
    IF cardinality(unsynced) > 0 THEN
        PERFORM celery_run_sync(x) FROM (SELECT DISTINCT unnest(unsynced) AS x) d;
    END IF;
    IF cardinality(touched) > 0 THEN
        PERFORM celery_link_chords(project, touched);
    END IF;
    IF coalesce((batch->>'open')::boolean, false) THEN
        -- After a gap the bridge was deaf, not the workers silent: each worker gets a fresh
        -- window of 2 × freq from now to be heard again.
        IF batch ? 'now' THEN
            UPDATE celery_workers SET last_seen = greatest(last_seen,
                to_timestamp((batch->>'now')::double precision))
            WHERE project_id = project;
        END IF;
        -- The open tasks, and those interrupted lately (the worker may only have been
        -- slow, or the bridge deaf): the bridge reads how they ended from the backend.
        SELECT coalesce(jsonb_agg(run_id), '[]') INTO open_ids FROM (
            SELECT run_id FROM celery_tasks WHERE project_id = project
              AND (state IN ('PENDING', 'RECEIVED', 'STARTED', 'RETRY')
                   OR (state = 'INTERRUPTED' AND updated_at > now() - interval '1 day'))
            LIMIT 10000) x;
    ELSIF batch ? 'now' THEN
        expired := celery_expire_workers(project, to_timestamp((batch->>'now')::double precision));
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object('applied', applied, 'skipped', skipped,
                                                'workers_lost', expired, 'open', open_ids,
                                                'since', since));
END $$;
