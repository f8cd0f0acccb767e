-- 0021: spans, stored as OpenTelemetry sends them (OTLP/HTTP ingest, api/spans.c), tied to
-- a run when a span or its resource names one. docs/SQL.md ("Spans") says why each
-- column has its form.
--
-- Times: start_ns and end_ns are the span's Unix nanoseconds exactly as sent; timestamptz
-- keeps microseconds only, so it cannot hold them. start_at (start_ns truncated to the
-- microsecond) is the partition key, as events partition on ts: the housekeeper creates and
-- retires the months of every table listed in time_partitioned (housekeep_partitions).
-- Ids are bytea of their exact length; a root span has no parent_span_id (NULL).
-- Values (attributes, the resource's, the scope's, events' and links') are jsonb objects of
-- key -> OTLP AnyValue in the OTLP JSON form ({"intValue":"-9223372036854775808"},
-- {"doubleValue":1.5}, {"bytesValue":"AAE="}, {"arrayValue":{"values":[…]}}, …): the type
-- a producer sent is kept, 64-bit integers exactly, and search by key=value is a
-- containment that the GIN index answers.
-- It replaces migration 0001's first sketch of spans (text ids, microsecond times, no API
-- wrote it); rows a deployment put there by hand are carried over below.
-- No foreign keys: checking one costs a query per row written (docs/SQL.md), and spans
-- come in batches of hundreds. A run's deletion takes its spans (runs_delete_logs), a
-- project's its spans (projects_delete_spans, sql/functions/35_spans.sql).
DROP INDEX spans_run_idx;
DROP INDEX spans_project_start_idx;
ALTER TABLE spans RENAME TO spans_0001;

CREATE TABLE spans (
    project_id     bigint NOT NULL,
    start_at       timestamptz NOT NULL,
    trace_id       bytea NOT NULL CHECK (length(trace_id) = 16),
    span_id        bytea NOT NULL CHECK (length(span_id) = 8),
    parent_span_id bytea CHECK (length(parent_span_id) = 8),
    trace_state    text NOT NULL DEFAULT '',
    flags          bigint NOT NULL DEFAULT 0,
    name           text NOT NULL,
    kind           smallint NOT NULL DEFAULT 0,
    start_ns       bigint NOT NULL,
    end_ns         bigint NOT NULL,
    status_code    smallint NOT NULL DEFAULT 0,
    status_message text NOT NULL DEFAULT '',
    attributes     jsonb NOT NULL DEFAULT '{}',
    dropped_attributes_count bigint NOT NULL DEFAULT 0,
    events         jsonb NOT NULL DEFAULT '[]',
    dropped_events_count bigint NOT NULL DEFAULT 0,
    links          jsonb NOT NULL DEFAULT '[]',
    dropped_links_count bigint NOT NULL DEFAULT 0,
    -- {"attributes": {…}, "dropped_attributes_count": n, "schema_url": "…"}
    resource       jsonb NOT NULL DEFAULT '{}',
    -- {"name", "version", "attributes", "dropped_attributes_count", "schema_url"}
    scope          jsonb NOT NULL DEFAULT '{}',
    run_id         uuid,
    attempt_seq    integer,
    -- Per run, increasing in the order spans were stored (run_span_seqs); NULL unlinked.
    sequence_id    bigint,
    received_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((run_id IS NULL) = (sequence_id IS NULL))
) PARTITION BY RANGE (start_at);
CREATE TABLE spans_default PARTITION OF spans DEFAULT;

-- A trace's spans, and the identity of a span: an exporter that retries a batch whose
-- answer it lost stores nothing twice (ON CONFLICT DO NOTHING in span_insert).
CREATE UNIQUE INDEX spans_trace_idx ON spans (project_id, trace_id, span_id, start_at);
-- A run's spans in order of sequence, and of start.
CREATE INDEX spans_run_seq_idx ON spans (run_id, sequence_id) WHERE run_id IS NOT NULL;
CREATE INDEX spans_run_start_idx ON spans (run_id, start_ns) WHERE run_id IS NOT NULL;
-- Search in a project: by name and time, by time alone, by attribute (containment).
CREATE INDEX spans_project_name_idx ON spans (project_id, name, start_at DESC);
CREATE INDEX spans_project_start_idx ON spans (project_id, start_at DESC);
CREATE INDEX spans_attributes_idx ON spans USING gin (attributes jsonb_path_ops);

-- The last sequence_id given to each run's spans. One row per run, taken and raised by
-- the batch that stores spans of the run, so numbers never repeat.
CREATE TABLE run_span_seqs (
    run_id uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    last   bigint NOT NULL
);

INSERT INTO spans (project_id, start_at, trace_id, span_id, parent_span_id, name, start_ns,
    end_ns, status_code, attributes, run_id, sequence_id)
SELECT o.project_id, o.start_ts, decode(o.trace_id, 'hex'), decode(o.span_id, 'hex'),
    decode(o.parent_span_id, 'hex'), o.name,
    (extract(epoch FROM o.start_ts) * 1000000)::bigint * 1000,
    (extract(epoch FROM coalesce(o.end_ts, o.start_ts)) * 1000000)::bigint * 1000,
    array_position('{unset,ok,error}'::text[], o.status) - 1,
    (SELECT coalesce(jsonb_object_agg(k, CASE jsonb_typeof(v) WHEN 'string' THEN
        jsonb_build_object('stringValue', v) WHEN 'boolean' THEN jsonb_build_object('boolValue', v)
        WHEN 'number' THEN jsonb_build_object('doubleValue', v) ELSE jsonb_build_object(
        'stringValue', v::text) END), '{}') FROM jsonb_each(o.attributes) AS a(k, v)),
    o.run_id,
    CASE WHEN o.run_id IS NOT NULL THEN row_number() OVER (PARTITION BY o.run_id ORDER BY
        o.start_ts, o.span_id) END
FROM spans_0001 o;
INSERT INTO run_span_seqs (run_id, last)
SELECT run_id, max(sequence_id) FROM spans WHERE run_id IS NOT NULL GROUP BY run_id;
DROP TABLE spans_0001;

-- The housekeeper's first pass (at its start) creates the months; until then rows wait in
-- the default partition, and that pass moves them to their month.
INSERT INTO time_partitioned (parent, months_ahead) VALUES ('spans', 3);
