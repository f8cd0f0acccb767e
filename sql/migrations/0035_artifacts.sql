-- 0035: what a run leaves behind (issue 19, "Artifacts, checkpoints and promotion" and
-- "Tables a run emits"): its artifacts (a URI, or small content Runwatch stores), the
-- named and versioned entries promoted from them, the tables it emits (leaderboards) and
-- the request snapshot taken when it is linked to an experiment.

CREATE TABLE artifacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
    kind        text NOT NULL CHECK (kind = ANY ('{checkpoint,model,dataset,file,table}'::text[])),
    -- NULL only for content Runwatch stores (artifact_blobs): the API gives its download path.
    uri         text CHECK (length(uri) BETWEEN 1 AND 2000),
    size        bigint CHECK (size >= 0),
    sha256      text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    step        bigint CHECK (step >= 0),
    metadata    jsonb NOT NULL DEFAULT '{}',
    stored      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, name),
    CHECK (stored OR uri IS NOT NULL)
);
-- A run's artifacts by step (its checkpoints view), a project's by kind, newest first.
-- (A run's page is a keyset range along coalesce(step, -1): artifacts without a step last.)
CREATE INDEX artifacts_run_step_idx ON artifacts (run_id, (coalesce(step, -1)) DESC, id DESC);
CREATE INDEX artifacts_project_kind_idx ON artifacts (project_id, kind, id DESC);

-- Uploaded content, one row per artifact. EXTERNAL storage: out of line and uncompressed,
-- so substring() of a slice reads only that slice's TOAST chunks (a download streams in
-- slices without loading the whole value; docs/ARCHITECTURE.md, "Artifacts").
CREATE TABLE artifact_blobs (
    artifact_id bigint PRIMARY KEY REFERENCES artifacts (id) ON DELETE CASCADE,
    data        bytea NOT NULL
);
ALTER TABLE artifact_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- Promoted entries: a succeeded run's artifact as version N of a named model or pipeline.
-- The lineage (run, experiment, sha256, artifact name) is copied, so it outlives a run
-- deleted by hand; demoting keeps the row (who, when, why) and the audit log says so too.
CREATE TABLE promotions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id        bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind              text NOT NULL CHECK (kind = ANY ('{model,pipeline}'::text[])),
    version           integer NOT NULL CHECK (version >= 1),
    artifact_id       bigint REFERENCES artifacts (id) ON DELETE SET NULL,
    artifact_name     text NOT NULL,
    run_id            uuid NOT NULL,
    experiment_id     bigint,
    sha256            text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    note              text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    promoted_by_user  bigint REFERENCES users (id) ON DELETE SET NULL,
    promoted_by_token bigint REFERENCES api_tokens (id) ON DELETE SET NULL,
    promoted_at       timestamptz NOT NULL DEFAULT now(),
    demoted_at        timestamptz,
    demoted_by_user   bigint REFERENCES users (id) ON DELETE SET NULL,
    demoted_by_token  bigint REFERENCES api_tokens (id) ON DELETE SET NULL,
    demote_reason     text CHECK (length(demote_reason) <= 2000),
    UNIQUE (project_id, name, version)
);
CREATE INDEX promotions_project_idx ON promotions (project_id, id DESC);

-- Tables a run emits: columns in the engine's order, rows as arrays in that order.
CREATE TABLE run_tables (
    run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    columns     jsonb NOT NULL,
    rows        jsonb NOT NULL DEFAULT '[]',
    row_count   integer NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, name)
);

-- The request snapshot: the experiment's flags when the run was linked to it (its params
-- and input are on the run and never change).
CREATE TABLE run_snapshots (
    run_id          uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    experiment_id   bigint NOT NULL,
    experiment_name text,
    flags           jsonb NOT NULL DEFAULT '{}',
    taken_at        timestamptz NOT NULL DEFAULT now()
);

-- First version of the trigger function (sql/functions/85_artifacts.sql holds the current
-- one): migrations may not depend on the function files.
CREATE OR REPLACE FUNCTION run_snapshot_take() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL;
END $$;

CREATE TRIGGER runs_snapshot_insert AFTER INSERT ON runs
    FOR EACH ROW WHEN (NEW.experiment_id IS NOT NULL) EXECUTE FUNCTION run_snapshot_take();
CREATE TRIGGER runs_snapshot_link AFTER UPDATE OF experiment_id ON runs
    FOR EACH ROW WHEN (NEW.experiment_id IS NOT NULL) EXECUTE FUNCTION run_snapshot_take();
