-- 0017: Idempotency-Key for a run's event and metric batches. A producer whose connection
-- dropped after the COMMIT cannot tell whether its batch was stored; retrying with the same
-- key stores nothing twice and answers what the first request answered. A key belongs to
-- one run and one endpoint; the row keeps a hash of the batch (a reused key with another
-- batch is refused) and the first answer. Kept 24 hours (housekeep_prune_write_keys), not
-- with the run like a run's own key: every keyed batch makes a row.
-- No foreign key to runs, like events and metrics (migration 0012): checking it would lock
-- the run's row on every keyed batch. A project's deletion takes its keys with it.
CREATE TABLE write_keys (
    run_id     uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('events', 'metrics')),
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    body_hash  bytea NOT NULL,
    answer     jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, kind, key)
);
CREATE INDEX write_keys_created_idx ON write_keys (created_at);
CREATE INDEX write_keys_project_idx ON write_keys (project_id);

INSERT INTO housekeeping_tasks (name, fn, every) VALUES
    ('prune_write_keys', 'housekeep_prune_write_keys', interval '10 minutes');
