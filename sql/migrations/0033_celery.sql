-- 0033: what the Celery bridge (runwatch-celery, docs/ARCHITECTURE.md "The Celery bridge")
-- keeps beside the native rows. A Celery task is a run (id = the task's uuid) with one
-- attempt per delivery (retries + 1); these tables hold only the Celery fields the native
-- rows have no place for, and the state the precedence rules compare against.

-- One row per task run: Celery's own state name (SUCCESS, STARTED, …, or INTERRUPTED when
-- its worker died under it), the repr strings as Celery sent them (truncated by Celery, not
-- JSON), and the lineage as reported. parent_uuid is kept even when that run is unknown yet
-- (runs.parent_id has a foreign key, so it is set once the parent's run exists).
CREATE TABLE celery_tasks (
    run_id       uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    state        text NOT NULL DEFAULT 'PENDING' CHECK (length(state) BETWEEN 1 AND 64),
    hostname     text,
    retries      integer NOT NULL DEFAULT 0,
    eta          text,
    expires      text,
    args         text,
    kwargs       text,
    result       text,
    runtime      double precision,
    exception    text,
    parent_uuid  uuid,
    -- From the result backend (celery-task-meta-<id>): the tasks this one applied while it
    -- ran (a chain's next link, a dynamic child). A chord's callback is applied after the
    -- header task's result is stored, so it is never among them: that tells the two apart.
    children     uuid[],
    meta_seen    boolean NOT NULL DEFAULT false,
    -- A task no worker knew (a NotRegistered failure, or sent and never received).
    unregistered boolean NOT NULL DEFAULT false,
    -- Revoked: by terminate (with its signal), or because it expired.
    terminated   boolean,
    expired      boolean,
    signum       text,
    -- The bridge missed events of this task and the result backend could not tell how it
    -- ended: its run's status is the last one seen, shown as unknown, not guessed.
    unknown      boolean NOT NULL DEFAULT false,
    utcoffset    integer,
    sent_at      timestamptz,
    received_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX celery_tasks_parent_idx ON celery_tasks (parent_uuid) WHERE parent_uuid IS NOT NULL;
CREATE INDEX celery_tasks_open_idx ON celery_tasks (project_id)
    WHERE state IN ('PENDING', 'RECEIVED', 'STARTED', 'RETRY', 'INTERRUPTED');

-- One row per Celery worker (a native worker named by its node name, celery@host): what
-- its heartbeats say. last_seen is the bridge's clock when the last event arrived, which
-- is what liveness is judged by (Celery's own rule: gone after 2 × freq without a beat).
CREATE TABLE celery_workers (
    worker_id      bigint PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
    project_id     bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    freq           double precision NOT NULL DEFAULT 2.0,
    active         integer,
    processed      bigint,
    loadavg        double precision[],
    sw_ident       text,
    sw_ver         text,
    sw_sys         text,
    last_seen      timestamptz NOT NULL,
    last_sample_at timestamptz
);
CREATE INDEX celery_workers_seen_idx ON celery_workers (project_id, last_seen);

-- A session that ended because its worker went silent (no offline event): 'lost'.
ALTER TABLE worker_sessions DROP CONSTRAINT worker_sessions_end_reason_check,
    ADD CONSTRAINT worker_sessions_end_reason_check
        CHECK (end_reason IN ('stopped', 'replaced', 'lost'));
