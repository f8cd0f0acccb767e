-- Spans (migration 0021): the ingest's resources and scopes stored once (migration 0027),
-- their JSON for the read API, and a project's deletion taking its spans (spans have no
-- foreign key: docs/SQL.md).

-- The id of a span resource or scope body (span_origins), added when new. span_insert calls
-- it once per resource and scope of a batch, not per span. VOLATILE plpgsql on purpose:
-- each statement here takes a new snapshot (READ COMMITTED), so when a concurrent batch
-- adds the same body first (this INSERT waits for it, then skips), the last SELECT sees
-- its row once committed. A SELECT first: a body seen before (nearly every batch) takes
-- no row lock and writes nothing.
CREATE OR REPLACE FUNCTION span_origin_id(b jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    h bytea := sha256(convert_to(b::text, 'UTF8'));
    r bigint;
BEGIN
    SELECT o.id INTO r FROM span_origins o WHERE o.hash = h;
    IF FOUND THEN
        RETURN r;
    END IF;
    INSERT INTO span_origins (hash, body) VALUES (h, b) ON CONFLICT (hash) DO NOTHING
    RETURNING id INTO r;
    IF FOUND THEN
        RETURN r;
    END IF;
    SELECT o.id INTO r FROM span_origins o WHERE o.hash = h;
    RETURN r;
END $$;

-- A span as the API answers it (GET /runs/{run}/spans, /traces/{id}, /spans). Ids in lower
-- case hex; times as the exact Unix nanoseconds in decimal strings (beyond JavaScript's
-- 2^53) with start_at/end_at in RFC 3339 for people; values in their OTLP JSON form. The
-- API sends the same JSON made in C from the span's columns (fcgi/src/spanjson.c,
-- docs/SQL.md "The span reads' columns"); this is its reference: a change here goes there
-- too (the traces integration suite compares the two).
CREATE OR REPLACE FUNCTION span_json(s spans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'trace_id', encode(s.trace_id, 'hex'), 'span_id', encode(s.span_id, 'hex'),
        'parent_span_id', encode(s.parent_span_id, 'hex'), 'trace_state', s.trace_state,
        'flags', s.flags, 'name', s.name, 'kind', s.kind,
        'start_time_unix_nano', s.start_ns::text, 'end_time_unix_nano', s.end_ns::text,
        'start_at', s.start_at,
        'end_at', timestamptz 'epoch' + (s.end_ns / 1000) * interval '1 microsecond',
        'duration_ns', s.end_ns - s.start_ns,
        'status', json_build_object('code', s.status_code, 'message', s.status_message),
        'attributes', s.attributes, 'dropped_attributes_count', s.dropped_attributes_count,
        'events', s.events, 'dropped_events_count', s.dropped_events_count,
        'links', s.links, 'dropped_links_count', s.dropped_links_count,
        'resource', (SELECT o.body FROM span_origins o WHERE o.id = s.resource_id),
        'scope', (SELECT o.body FROM span_origins o WHERE o.id = s.scope_id),
        'run_id', s.run_id, 'attempt', s.attempt_seq, 'sequence_id', s.sequence_id,
        'received_at', s.received_at)
$$;

-- The same span less its resource and scope: the lean form's span (?form=lean), whose
-- resource and scope are given once per answer in a table the spans refer to by index.
-- spanjson.c makes it in C (above); this is its reference. The fields are span_json's, in
-- its order: keep the two alike (test_traces compares the forms and the C with both).
CREATE OR REPLACE FUNCTION span_json_lean(s spans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'trace_id', encode(s.trace_id, 'hex'), 'span_id', encode(s.span_id, 'hex'),
        'parent_span_id', encode(s.parent_span_id, 'hex'), 'trace_state', s.trace_state,
        'flags', s.flags, 'name', s.name, 'kind', s.kind,
        'start_time_unix_nano', s.start_ns::text, 'end_time_unix_nano', s.end_ns::text,
        'start_at', s.start_at,
        'end_at', timestamptz 'epoch' + (s.end_ns / 1000) * interval '1 microsecond',
        'duration_ns', s.end_ns - s.start_ns,
        'status', json_build_object('code', s.status_code, 'message', s.status_message),
        'attributes', s.attributes, 'dropped_attributes_count', s.dropped_attributes_count,
        'events', s.events, 'dropped_events_count', s.dropped_events_count,
        'links', s.links, 'dropped_links_count', s.dropped_links_count,
        'run_id', s.run_id, 'attempt', s.attempt_seq, 'sequence_id', s.sequence_id,
        'received_at', s.received_at)
$$;

-- A deleted project's spans go with it (runs_delete_logs takes a deleted run's).
CREATE OR REPLACE FUNCTION projects_delete_spans() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM spans s USING deleted d WHERE s.project_id = d.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER projects_delete_spans AFTER DELETE ON projects
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION projects_delete_spans();
