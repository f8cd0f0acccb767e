-- Traces (api/traces.c): a project's traces with their aggregates, for the dashboard's
-- Traces page. The single spans of a search are in spans.sql.

-- name: trace_list
-- A project's traces, newest root start first: one row per root span (a span without a
-- parent) that passes the filters (each NULL for none: the root's name, its start range
-- [from, to)), then, for the page's rows only, the trace's aggregates over all its spans
-- (spans_trace_idx): span count, error spans, and its extent (earliest start to latest
-- end, so a child that outlives its root counts). A trace whose root has not arrived (an
-- exporter sends the root last, when it ends) is not listed yet; GET /spans finds its
-- spans. The cursor is the root's (start_ns, trace_id, span_id), as in span_search; the
-- ORDER BY starts with start_at (start_ns to the microsecond, so the same order) so that
-- spans_project_start_idx feeds an incremental sort.
-- Index proposal, if projects hold many more spans than roots: CREATE INDEX
-- spans_project_root_idx ON spans (project_id, start_at DESC) WHERE parent_span_id IS NULL
-- (then this statement reads roots only instead of filtering every span by time).
-- in: project, name, from, to, after_ns, after_trace, after_span, limit
-- out: trace_json, cursor
SELECT json_build_object('trace_id', encode(r.trace_id, 'hex'),
    'root_span_id', encode(r.span_id, 'hex'), 'root_name', r.name,
    'root_status', r.status_code, 'run_id', r.run_id,
    'start_at', timestamptz 'epoch' + (a.start_ns / 1000) * interval '1 microsecond',
    'start_time_unix_nano', a.start_ns::text, 'duration_ns', a.end_ns - a.start_ns,
    'span_count', a.n, 'error_count', a.errors) AS trace_json,
    r.start_ns::text || ':' || encode(r.trace_id, 'hex') || ':' || encode(r.span_id, 'hex')
        AS cursor
FROM (SELECT s.project_id, s.trace_id, s.span_id, s.name, s.status_code, s.run_id,
        s.start_at, s.start_ns
    FROM spans s
    WHERE s.project_id = $1::bigint AND s.parent_span_id IS NULL
      AND ($2::text IS NULL OR s.name = $2)
      AND ($3::timestamptz IS NULL OR s.start_at >= $3)
      AND ($4::timestamptz IS NULL OR s.start_at < $4)
      AND ($5::bigint IS NULL OR s.start_at <= timestamptz 'epoch' + ($5::bigint / 1000) *
          interval '1 microsecond' AND (s.start_ns, s.trace_id, s.span_id) < ($5::bigint,
          decode($6, 'hex'), decode($7, 'hex')))
    ORDER BY s.start_at DESC, s.start_ns DESC, s.trace_id DESC, s.span_id DESC
    LIMIT $8) r
CROSS JOIN LATERAL (SELECT count(*) AS n, count(*) FILTER (WHERE t.status_code = 2) AS errors,
        min(t.start_ns) AS start_ns, max(t.end_ns) AS end_ns
    FROM spans t
    WHERE t.project_id = r.project_id AND t.trace_id = r.trace_id) a
ORDER BY r.start_at DESC, r.start_ns DESC, r.trace_id DESC, r.span_id DESC;
