-- 0001_core: the core schema of DESIGN.md section 3. Identities and access first
-- (users, sessions, projects, members, tokens, audit), then the work itself (workers,
-- experiments, runs, attempts, events, metrics, spans). Every row of work belongs to a
-- project, so every list query starts with project_id and the indexes lead with it.
-- Statuses are text with CHECK constraints rather than enums: adding a value later is
-- a constraint swap, not a type rewrite.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email ~ '^[^@\s]+@[^@\s]+$'),
    display_name  text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
    password_hash text,                       -- crypt(3) string; NULL: no password login
    is_admin      boolean NOT NULL DEFAULT false,
    disabled_at   timestamptz,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,               -- per-account backoff after failed logins
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Browser sessions: only a hash of the cookie's token is stored.
CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,         -- absolute expiry
    revoked_at   timestamptz,
    ip           inet,
    user_agent   text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE projects (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project_members (
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_idx ON project_members (user_id, project_id);

-- Producer tokens ("rw_<prefix>_<secret>"): the prefix is shown, the whole is hashed.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix       text NOT NULL UNIQUE,
    token_hash   bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0
                                        AND scopes <@ ARRAY['read', 'write', 'admin']),
    created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_project_idx ON api_tokens (project_id, created_at DESC);

CREATE TABLE audit_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  bigint REFERENCES users (id) ON DELETE SET NULL,
    actor_token_id bigint REFERENCES api_tokens (id) ON DELETE SET NULL,
    project_id     bigint REFERENCES projects (id) ON DELETE SET NULL,
    action         text NOT NULL,              -- "auth.login", "token.create", "member.role", ...
    target         text,
    details        jsonb NOT NULL DEFAULT '{}',
    ip             inet
);
CREATE INDEX audit_log_ts_idx ON audit_log (ts DESC, id DESC);
CREATE INDEX audit_log_project_idx ON audit_log (project_id, ts DESC) WHERE project_id IS NOT NULL;

CREATE TABLE workers (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id        bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    host              text NOT NULL DEFAULT '',
    pid               integer,
    labels            jsonb NOT NULL DEFAULT '{}',
    kinds             text[] NOT NULL DEFAULT '{}',
    status            text NOT NULL DEFAULT 'online'
                      CHECK (status IN ('online', 'idle', 'busy', 'draining', 'offline', 'stopped')),
    started_at        timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at        timestamptz,
    resources         jsonb,                  -- latest resource sample
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, name)
);
CREATE INDEX workers_project_status_idx ON workers (project_id, status, last_heartbeat_at DESC);

CREATE TABLE experiments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '',
    config        jsonb NOT NULL DEFAULT '{}',
    desired_state text NOT NULL DEFAULT 'active' CHECK (desired_state IN ('active', 'paused', 'archived')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, name)
);

CREATE TABLE runs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),   -- or chosen by the client
    project_id        bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    experiment_id     bigint REFERENCES experiments (id) ON DELETE SET NULL,
    idempotency_key   text,
    kind              text NOT NULL CHECK (length(kind) BETWEEN 1 AND 200),
    name              text NOT NULL DEFAULT '' CHECK (length(name) <= 500),
    queue             text NOT NULL DEFAULT 'default' CHECK (length(queue) BETWEEN 1 AND 200),
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
    priority          integer NOT NULL DEFAULT 0,
    input             jsonb,
    params            jsonb,
    tags              text[] NOT NULL DEFAULT '{}',
    parent_id         uuid REFERENCES runs (id) ON DELETE SET NULL,
    root_id           uuid,
    group_id          text,
    worker_id         bigint REFERENCES workers (id) ON DELETE SET NULL,
    progress          real CHECK (progress BETWEEN 0 AND 1),
    created_at        timestamptz NOT NULL DEFAULT now(),
    queued_at         timestamptz,
    started_at        timestamptz,
    ended_at          timestamptz,
    last_heartbeat_at timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    cancel_requested  boolean NOT NULL DEFAULT false,
    error_type        text,
    error_message     text,
    error_traceback   text,
    error_fingerprint text,
    result            jsonb,
    summary           jsonb,
    CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at)
);
-- A retried create with the same key finds the first run instead of making a second.
CREATE UNIQUE INDEX runs_idempotency_key ON runs (project_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The run list: newest first within a project, optionally by status/kind/queue.
CREATE INDEX runs_project_created_idx ON runs (project_id, created_at DESC, id DESC);
CREATE INDEX runs_project_status_idx ON runs (project_id, status, created_at DESC, id DESC);
CREATE INDEX runs_project_kind_idx ON runs (project_id, kind, created_at DESC, id DESC);
CREATE INDEX runs_project_started_idx ON runs (project_id, started_at DESC) WHERE started_at IS NOT NULL;
CREATE INDEX runs_project_ended_idx ON runs (project_id, ended_at DESC) WHERE ended_at IS NOT NULL;
-- The work queue: the next claimable run of a queue by priority, then age.
CREATE INDEX runs_queue_claim_idx ON runs (project_id, queue, priority DESC, created_at)
    WHERE status = 'queued';
-- Anomalies: running runs by heartbeat age (stuck), runs of a worker (interrupted).
CREATE INDEX runs_running_heartbeat_idx ON runs (last_heartbeat_at) WHERE status = 'running';
CREATE INDEX runs_worker_idx ON runs (worker_id, status) WHERE worker_id IS NOT NULL;
-- Graphs and failure groups.
CREATE INDEX runs_parent_idx ON runs (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX runs_root_idx ON runs (root_id) WHERE root_id IS NOT NULL;
CREATE INDEX runs_group_idx ON runs (project_id, group_id) WHERE group_id IS NOT NULL;
CREATE INDEX runs_fingerprint_idx ON runs (project_id, error_fingerprint, ended_at DESC)
    WHERE error_fingerprint IS NOT NULL;
CREATE INDEX runs_experiment_idx ON runs (experiment_id, created_at DESC) WHERE experiment_id IS NOT NULL;
CREATE INDEX runs_tags_idx ON runs USING gin (tags);

CREATE TABLE attempts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id            uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq               integer NOT NULL CHECK (seq >= 1),
    status            text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    worker_id         bigint REFERENCES workers (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    ended_at          timestamptz,
    last_heartbeat_at timestamptz,
    error_type        text,
    error_message     text,
    error_traceback   text,
    UNIQUE (run_id, seq)
);

-- The append-only log of runs, partitioned by month so retention drops whole
-- partitions instead of deleting rows. Rows outside every monthly partition land in
-- the default partition; events_ensure_partitions() creates the months ahead.
CREATE SEQUENCE events_id_seq AS bigint;
CREATE TABLE events (
    id          bigint NOT NULL DEFAULT nextval('events_id_seq'),
    project_id  bigint NOT NULL,
    run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    attempt_seq integer,
    ts          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL DEFAULT 'log' CHECK (length(kind) BETWEEN 1 AND 100),
    level       text NOT NULL DEFAULT 'info' CHECK (level IN ('debug', 'info', 'warning', 'error', 'critical')),
    message     text NOT NULL DEFAULT '',
    data        jsonb,
    PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE INDEX events_run_idx ON events (run_id, id);
CREATE INDEX events_project_ts_idx ON events (project_id, ts DESC);
CREATE TABLE events_default PARTITION OF events DEFAULT;

CREATE FUNCTION events_ensure_partitions(from_month date, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', from_month)::date;
    created integer := 0;
    part text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        part := format('events_%s', to_char(m, 'YYYY_MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                           part, m, (m + interval '1 month')::date);
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$;
SELECT events_ensure_partitions((now() - interval '1 month')::date, 4);

CREATE TABLE metrics (
    project_id bigint NOT NULL,
    run_id     uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    step       bigint,
    ts         timestamptz NOT NULL DEFAULT now(),
    value      double precision NOT NULL
);
CREATE INDEX metrics_run_key_idx ON metrics (run_id, key, step);
CREATE INDEX metrics_ts_brin ON metrics USING brin (ts);

CREATE TABLE spans (
    trace_id       text NOT NULL CHECK (trace_id ~ '^[0-9a-f]{32}$'),
    span_id        text NOT NULL CHECK (span_id ~ '^[0-9a-f]{16}$'),
    parent_span_id text CHECK (parent_span_id ~ '^[0-9a-f]{16}$'),
    project_id     bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    run_id         uuid REFERENCES runs (id) ON DELETE CASCADE,
    name           text NOT NULL,
    start_ts       timestamptz NOT NULL,
    end_ts         timestamptz,
    status         text NOT NULL DEFAULT 'unset' CHECK (status IN ('unset', 'ok', 'error')),
    attributes     jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX spans_run_idx ON spans (run_id, start_ts) WHERE run_id IS NOT NULL;
CREATE INDEX spans_project_start_idx ON spans (project_id, start_ts DESC);
