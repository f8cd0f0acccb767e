-- 0034: experiments become templates with a desired state that external launchers enforce
-- (docs/ARCHITECTURE.md, "Experiments and launchers"). The table of 0001 had a config and a
-- desired state of active | paused | archived that nothing read or wrote through the API.
-- - config becomes flags (the same jsonb: any JSON the launcher hands to its runs).
-- - desired_state becomes running | stopped | terminated. Old rows map to stopped
--   (active, paused) or terminated (archived): a migration must never make launchers start
--   work nobody asked for since the state was written.
-- - kind and queue of the runs a launch creates; tags; who created and last changed it.
-- - The lease a launcher holds on the experiment's one pending action (launch, stop or
--   terminate): one at a time, so two launchers never act twice; a lapsed lease may be
--   taken over. experiment_actions keeps every claim and its outcome.
-- - "At most one active run per experiment" is a unique partial index on runs: whatever
--   writes runs (a launcher's POST /runs, a racing second launcher, a producer), the
--   database refuses a second queued, running or retrying run of the same experiment.
ALTER TABLE experiments RENAME COLUMN config TO flags;
ALTER TABLE experiments DROP CONSTRAINT experiments_desired_state_check;
UPDATE experiments
SET desired_state = CASE desired_state WHEN 'archived' THEN 'terminated' ELSE 'stopped' END;
ALTER TABLE experiments
    ALTER COLUMN desired_state SET DEFAULT 'stopped',
    ADD CONSTRAINT experiments_desired_state_check
        CHECK (desired_state IN ('running', 'stopped', 'terminated')),
    ADD COLUMN kind text NOT NULL DEFAULT 'experiment' CHECK (length(kind) BETWEEN 1 AND 200),
    ADD COLUMN queue text NOT NULL DEFAULT 'default' CHECK (length(queue) BETWEEN 1 AND 200),
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
    ADD COLUMN created_by_user bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN created_by_token bigint REFERENCES api_tokens (id) ON DELETE SET NULL,
    ADD COLUMN updated_by_user bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN updated_by_token bigint REFERENCES api_tokens (id) ON DELETE SET NULL,
    -- Set when a launcher reports a terminate done; cleared by the next launch.
    ADD COLUMN terminated_at timestamptz,
    -- The last failure a launcher reported, and when the failed action may be offered again.
    ADD COLUMN last_error text,
    ADD COLUMN retry_at timestamptz,
    ADD COLUMN lease_id uuid,
    ADD COLUMN lease_action text CHECK (lease_action IN ('launch', 'stop', 'terminate')),
    ADD COLUMN lease_launcher text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD CONSTRAINT experiments_lease_whole
        CHECK (num_nulls(lease_id, lease_action, lease_launcher, lease_expires_at) IN (0, 4));
-- The list, newest first, and the reconcile pass over a project's experiments. (Tags and
-- names filter within a project's few thousand rows: no index of their own.)
CREATE INDEX experiments_project_idx ON experiments (project_id, id DESC);

CREATE TABLE experiment_actions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    lease_id      uuid NOT NULL UNIQUE,
    action        text NOT NULL CHECK (action IN ('launch', 'stop', 'terminate')),
    launcher      text NOT NULL,
    claimed_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    -- done | failed when the launcher reported; lapsed when another launcher took over.
    outcome       text CHECK (outcome IN ('done', 'failed', 'lapsed')),
    reported_at   timestamptz,
    run_id        uuid,
    error         text
);
CREATE INDEX experiment_actions_experiment_idx ON experiment_actions (experiment_id, id DESC);

-- Runs linked before this rule: keep the newest active run of each experiment linked, so
-- the index can be built (no API set experiment_id before 0034; this is for hand-made rows).
UPDATE runs r SET experiment_id = NULL
WHERE r.experiment_id IS NOT NULL AND r.status IN ('queued', 'running', 'retrying')
  AND EXISTS (SELECT 1 FROM runs n
              WHERE n.experiment_id = r.experiment_id AND n.status IN ('queued', 'running', 'retrying')
                AND (n.created_at, n.id) > (r.created_at, r.id));
CREATE UNIQUE INDEX runs_experiment_active_idx ON runs (experiment_id)
    WHERE experiment_id IS NOT NULL AND status IN ('queued', 'running', 'retrying');
-- The experiment's job history, newest first (0012 dropped the old index: nothing read it).
CREATE INDEX runs_experiment_idx ON runs (experiment_id, created_at DESC, id DESC)
    WHERE experiment_id IS NOT NULL;
