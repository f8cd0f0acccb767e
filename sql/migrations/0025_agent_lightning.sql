-- 0025: the agent-lightning store (docs/AGENT_LIGHTNING.md) on the native model. A rollout is
-- a run of kind `rollout`, an attempt an attempt, a span a span, a worker a worker: these
-- columns hold only what the native rows had no place for. The mapping of statuses, and
-- why `phase` is a refinement of `status` rather than a second status, is in that page.
--
-- The retry policy (max_attempts, retry_on, timeout_s, unresponsive_s) is native: a run's
-- own values, else its queue's (queue_policies), enforced by the housekeeper's watchdog for
-- every queue. A rollout's `config` is these four columns.
ALTER TABLE runs
    -- Within a status, the stage agent-lightning tells apart: 'preparing' under running (an
    -- attempt was handed out, nothing has been heard of it yet). NULL otherwise.
    ADD COLUMN phase text,
    ADD COLUMN mode text,
    ADD COLUMN resources_id text,
    ADD COLUMN max_attempts integer,
    ADD COLUMN retry_on text[],
    ADD COLUMN timeout_s double precision,
    ADD COLUMN unresponsive_s double precision;

ALTER TABLE attempts
    -- 'preparing' under running; 'timeout' or 'unresponsive' under failed (the watchdog's, or
    -- a client's word). NULL otherwise.
    ADD COLUMN phase text,
    ADD COLUMN metadata jsonb;

-- What agent-lightning keeps of a worker beyond the native row: its status is the native
-- one (idle, busy; online is its "unknown"), its heartbeat_stats the native resources.
ALTER TABLE workers
    ADD COLUMN last_dequeue_at timestamptz,
    ADD COLUMN last_busy_at timestamptz,
    ADD COLUMN last_idle_at timestamptz,
    ADD COLUMN current_run_id uuid,
    ADD COLUMN current_attempt_seq integer;

-- A queue's retry policy, for its runs that set none of their own.
CREATE TABLE queue_policies (
    project_id     bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    queue          text NOT NULL CHECK (length(queue) BETWEEN 1 AND 200),
    max_attempts   integer CHECK (max_attempts >= 1),
    retry_on       text[],
    timeout_s      double precision CHECK (timeout_s > 0),
    unresponsive_s double precision CHECK (unresponsive_s > 0),
    PRIMARY KEY (project_id, queue)
);

-- Named resources (LLM endpoints, prompt templates) as agent-lightning versions them: every
-- version is kept (the dashboard diffs them), the latest of an id is its highest version,
-- and the project's latest is the version written last.
CREATE TABLE resources (
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    resources_id text NOT NULL CHECK (length(resources_id) BETWEEN 1 AND 200),
    version      integer NOT NULL CHECK (version >= 1),
    resources    jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (project_id, resources_id, version)
);
CREATE INDEX resources_project_created_idx ON resources (project_id, created_at DESC);

-- The rollout queue, first in first out by the time a rollout was (re)queued.
CREATE INDEX runs_rollout_queue_idx ON runs (project_id, queue, queued_at, created_at)
    WHERE kind = 'rollout' AND status IN ('queued', 'retrying');

INSERT INTO housekeeping_tasks (name, fn, every) VALUES
    ('watchdog', 'housekeep_watchdog', interval '1 second');
