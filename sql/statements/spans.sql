-- Spans (api/spans.c): the OTLP ingest's one statement per batch, and the read API.

-- name: span_reserve
-- The numbers of a batch's spans, reserved in a transaction of its own before span_insert
-- stores them (migration 0044): for each run the batch names (run_ids, in the order first
-- named, with run_counts, how many spans name it), whether it is a run of the token's
-- project (else its spans stay unlinked, and an id of another project's run neither
-- links nor tells it exists), its latest attempt, and the number before its first span.
-- The counters are raised in run id order (two batches touching the same runs lock them
-- in the same order) and held only to this statement's commit, not through the insert:
-- one run's batches then store their spans side by side (docs/PERFORMANCE.md, "span
-- ingest: one run's batches side by side"). Each range becomes a hold of this session,
-- which span_insert deletes when it commits the spans; a reader of the run by sequence id
-- stops below its lowest hold (span_list_run), so ids that commit out of order are never
-- skipped. A batch that fails after its reservation releases its holds (span_release);
-- the session's next span_insert deletes any left (all the session's holds: each session
-- runs one batch at a time), and the housekeeper those of sessions gone
-- (housekeep_span_holds).
-- One row: three arrays in run_ids' order, each NULL where the run is not linked.
-- in: project, run_ids, run_counts
-- out: links, latest, bases
WITH h AS (SELECT u.n, r.id, r.attempt_seq AS latest, u.c
    FROM unnest($2::uuid[], $3::int[]) WITH ORDINALITY AS u(run, c, n)
    JOIN runs r ON r.id = u.run AND r.project_id = $1::bigint),
q AS (INSERT INTO run_span_seqs AS q (run_id, last) SELECT h.id, h.c FROM h ORDER BY h.id
    ON CONFLICT (run_id) DO UPDATE SET last = q.last + excluded.last RETURNING q.run_id, q.last),
held AS (INSERT INTO span_seq_holds (run_id, first, last, pid)
    SELECT q.run_id, q.last - h.c + 1, q.last, pg_backend_pid() FROM q JOIN h ON h.id = q.run_id)
SELECT array_agg(h.id ORDER BY u.n) AS links, array_agg(h.latest ORDER BY u.n) AS latest,
    array_agg(q.last - h.c ORDER BY u.n) AS bases
FROM generate_series(1, cardinality($2::uuid[])) AS u(n)
LEFT JOIN h ON h.n = u.n LEFT JOIN q ON q.run_id = h.id;

-- name: span_release
-- This session's holds of span numbers (span_reserve), after its batch failed: its runs'
-- readers by sequence id stop below them until they go.
-- in:
-- out:
DELETE FROM span_seq_holds WHERE pid = pg_backend_pid();

-- name: span_insert
-- One statement stores a whole batch (one transaction: all or nothing). The spans come as
-- one array per column in libpq's binary format (api/spans.c writes them as it walks the
-- OTLP request: ids as bytes, numbers as integers, attributes, events and links as jsonb),
-- read by one unnest; resources and scopes are two JSON arrays, each span naming its
-- resource and scope by index (ri, si), so a resource shared by 512 spans is sent once, and
-- stored once: each resource and scope becomes the id of its body in span_origins
-- (span_origin_id, once per resource or scope, not per span; migration 0027), which the
-- span row keeps. A span's run (run_idx: its place in the runs span_reserve answered for,
-- run_links, run_latest and run_bases) links when span_reserve found it a run of the
-- token's project; a linked span takes the attempt it names, else its run's latest, and
-- the number its run's base plus its place among the batch's spans of the run (rk, counted
-- by the API). The session's holds of those numbers go in the same transaction. A span
-- already stored (an exporter's retry) is skipped: its number is not reused. That takes
-- span_insert_dedupe, the same statement with ON CONFLICT DO NOTHING, which the API runs
-- when this one meets a span stored already (unique_violation: this statement rolls back
-- whole, its holds stay): ON CONFLICT makes every row a speculative insertion, 14% of the
-- rows' insert (docs/PERFORMANCE.md, "span ingest without json-c's tree, and the batch as
-- binary arrays"), paid only by a retry.
-- One row per run touched (run_id NULL: the unlinked spans), with the count stored and the
-- first and last sequence ids.
-- Binary arrays, not a json document: json_to_recordset's pass over the batch's text (a
-- hash table of keys per span) was a fifth of the statement's CPU (docs/PERFORMANCE.md,
-- "span ingest without json-c's tree, and the batch as binary arrays"); only the three
-- jsonb columns are parsed from text now.
-- in: project, trace_ids, span_ids, parent_ids, trace_states, flags, names, kinds, starts, ends, codes, messages, attributes, dropped_attributes, events, dropped_events, links, dropped_links, resource_idx, scope_idx, run_idx, attempts, ranks, resources, scopes, run_links, run_latest, run_bases
-- out: run_id, count, first_seq, last_seq
-- include: span_insert_rows
    RETURNING run_id, sequence_id)
SELECT ins.run_id, count(*) AS count, min(ins.sequence_id)::text AS first_seq,
    max(ins.sequence_id)::text AS last_seq
FROM ins
GROUP BY ins.run_id;

-- name: span_insert_dedupe
-- span_insert for a batch holding spans stored already (an exporter's retry) or a span
-- twice: each such span is skipped (ON CONFLICT DO NOTHING), its number not reused.
-- in: project, trace_ids, span_ids, parent_ids, trace_states, flags, names, kinds, starts, ends, codes, messages, attributes, dropped_attributes, events, dropped_events, links, dropped_links, resource_idx, scope_idx, run_idx, attempts, ranks, resources, scopes, run_links, run_latest, run_bases
-- out: run_id, count, first_seq, last_seq
-- include: span_insert_rows
    ON CONFLICT (project_id, trace_id, span_id, start_at) DO NOTHING
    RETURNING run_id, sequence_id)
SELECT ins.run_id, count(*) AS count, min(ins.sequence_id)::text AS first_seq,
    max(ins.sequence_id)::text AS last_seq
FROM ins
GROUP BY ins.run_id;

-- fragment: span_insert_rows
-- span_insert's batch, linked and numbered, inserted (the INSERT's end is each statement's).
-- The spans are read once, straight from the unnest into the insert; what is per batch
-- (the origins' ids; per run named: its id when linked, its latest attempt, the number
-- before its first span) is a small array that each row subscripts: a join of the spans
-- with those sets made PostgreSQL keep the batch's wide rows in a CTE's store and two hash
-- tables, 2 to 3 ms of the 512-span batch's 10 (docs/PERFORMANCE.md, "span ingest: the
-- batch read once"). The runs' arrays are span_reserve's answer, in the order of the
-- run_ids it was given, NULL where a run is not linked (so is a span's number then); a
-- span's run_idx is its run's place there (from 1; NULL: none).
-- The session's holds go in the same transaction (span_reserve's comment says why).
-- The columns are unnested in the select list, in step (one row per span): unnest() of
-- 22 arrays in FROM is a function scan that writes every row into a tuplestore and reads
-- it back, 5% of the statement (docs/PERFORMANCE.md, "span ingest: one run's batches side
-- by side").
WITH released AS (DELETE FROM span_seq_holds WHERE pid = pg_backend_pid()),
ins AS (INSERT INTO spans (project_id, start_at, trace_id, span_id, parent_span_id,
    trace_state, flags, name, kind, start_ns, end_ns, status_code, status_message, attributes,
    dropped_attributes_count, events, dropped_events_count, links, dropped_links_count,
    resource_id, scope_id, run_id, attempt_seq, sequence_id)
    SELECT $1::bigint, timestamptz 'epoch' + (s.sn / 1000) * interval '1 microsecond',
    s.t, s.s, s.p, s.ts, s.f, s.n, s.k, s.sn, s.en, s.sc, s.sm, s.a, s.da, s.e, s.de, s.l,
    s.dl,
    (SELECT array_agg(span_origin_id(o.v) ORDER BY o.n)
        FROM jsonb_array_elements($24::jsonb) WITH ORDINALITY AS o(v, n))[s.ri + 1],
    (SELECT array_agg(span_origin_id(o.v) ORDER BY o.n)
        FROM jsonb_array_elements($25::jsonb) WITH ORDINALITY AS o(v, n))[s.si + 1],
    ($26::uuid[])[s.run],
    CASE WHEN ($26::uuid[])[s.run] IS NOT NULL
        THEN coalesce(s.att, ($27::int[])[s.run]) END,
    ($28::bigint[])[s.run] + s.rk
    FROM (SELECT unnest($2::bytea[]) AS t, unnest($3::bytea[]) AS s, unnest($4::bytea[]) AS p,
        unnest($5::text[]) AS ts, unnest($6::bigint[]) AS f, unnest($7::text[]) AS n,
        unnest($8::smallint[]) AS k, unnest($9::bigint[]) AS sn, unnest($10::bigint[]) AS en,
        unnest($11::smallint[]) AS sc, unnest($12::text[]) AS sm, unnest($13::jsonb[]) AS a,
        unnest($14::bigint[]) AS da, unnest($15::jsonb[]) AS e, unnest($16::bigint[]) AS de,
        unnest($17::jsonb[]) AS l, unnest($18::bigint[]) AS dl, unnest($19::int[]) AS ri,
        unnest($20::int[]) AS si, unnest($21::int[]) AS run, unnest($22::int[]) AS att,
        unnest($23::int[]) AS rk) AS s

-- fragment: span_columns
-- A span's columns (the span reads and the search), which spanjson.c renders from libpq's
-- binary format as span_json() (the full form) or span_json_lean() (the lean one) would:
-- json_build_object's text of the three timestamps, the hex ids and the numbers was most
-- of a 5,000-span trace's server time (docs/PERFORMANCE.md, "the span JSON made in C").
-- The resource and scope come from span_origins, joined as ro and so (span_origins_join).
s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.flags, s.name, s.kind, s.start_ns,
    s.end_ns, s.start_at, s.status_code, s.status_message, s.attributes,
    s.dropped_attributes_count, s.events, s.dropped_events_count, s.links,
    s.dropped_links_count, ro.body AS resource, so.body AS scope, s.run_id, s.attempt_seq,
    s.sequence_id, s.received_at

-- fragment: span_origins_join
-- The span's resource and scope bodies (migration 0027), for span_columns.
JOIN span_origins ro ON ro.id = s.resource_id JOIN span_origins so ON so.id = s.scope_id

-- name: span_list_run
-- A run's spans by sequence id, after one (0 for the first page). The caller checked
-- that it may read the run (runs_access); every span of a run is of the run's project.
-- The next page's cursor is made from the last row's sequence_id (and start_ns, below).
-- Only the spans below the run's lowest hold (span_seq_holds: numbers reserved by a batch
-- still being stored): a batch that reserved later may commit first, and a reader that
-- went on past its spans would never see the earlier batch's.
-- in: run, after, attempt, name, status, limit
-- out: trace_id, span_id, parent_span_id, trace_state, flags, name, kind, start_ns, end_ns, start_at, status_code, status_message, attributes, dropped_attributes_count, events, dropped_events_count, links, dropped_links_count, resource, scope, run_id, attempt_seq, sequence_id, received_at
-- format: binary
SELECT
    -- include: span_columns
FROM spans s
    -- include: span_origins_join
WHERE s.run_id = $1::uuid AND s.sequence_id > $2::bigint
  AND s.sequence_id < coalesce((SELECT min(h.first) FROM span_seq_holds h
      WHERE h.run_id = $1::uuid), 9223372036854775807)
  AND ($3::int IS NULL OR s.attempt_seq = $3) AND ($4::text IS NULL OR s.name = $4)
  AND ($5::smallint IS NULL OR s.status_code = $5)
ORDER BY s.sequence_id
LIMIT $6;

-- name: span_list_run_start
-- The same by start time (ties by sequence id), after the cursor "start_ns:sequence_id".
-- in: run, after_ns, after_seq, attempt, name, status, limit
-- out: trace_id, span_id, parent_span_id, trace_state, flags, name, kind, start_ns, end_ns, start_at, status_code, status_message, attributes, dropped_attributes_count, events, dropped_events_count, links, dropped_links_count, resource, scope, run_id, attempt_seq, sequence_id, received_at
-- format: binary
SELECT
    -- include: span_columns
FROM spans s
    -- include: span_origins_join
WHERE s.run_id = $1::uuid AND (s.start_ns, s.sequence_id) > ($2::bigint, $3::bigint)
  AND ($4::int IS NULL OR s.attempt_seq = $4) AND ($5::text IS NULL OR s.name = $5)
  AND ($6::smallint IS NULL OR s.status_code = $6)
ORDER BY s.start_ns, s.sequence_id
LIMIT $7;

-- name: span_trace
-- A trace's spans within one project, by start time (a parent before its children when
-- clocks agree); limit caps what one answer holds (api/spans.c says when it cut).
-- in: project, trace, limit
-- out: trace_id, span_id, parent_span_id, trace_state, flags, name, kind, start_ns, end_ns, start_at, status_code, status_message, attributes, dropped_attributes_count, events, dropped_events_count, links, dropped_links_count, resource, scope, run_id, attempt_seq, sequence_id, received_at
-- format: binary
SELECT
    -- include: span_columns
FROM spans s
    -- include: span_origins_join
WHERE s.project_id = $1::bigint AND s.trace_id = decode($2, 'hex')
ORDER BY s.start_ns, s.span_id
LIMIT $3;

-- name: span_search
-- Spans of a project, newest start first, each filter NULL for none: a name, attribute
-- values (attrs: a jsonb array of {"key": AnyValue} objects, any of which the span's
-- attributes must contain: the value as a string, and as a number or boolean when it
-- reads as one), a status code, a least duration, a start range [from, to). The cursor
-- is made from the last row's (start_ns, trace_id, span_id). The ORDER BY starts with
-- start_at (start_ns to the microsecond, so the same order) so that
-- spans_project_start_idx (or, given a name, spans_project_name_idx) feeds an incremental
-- sort that stops at the limit: ordered by start_ns alone, every plan, the generic one
-- too, read and sorted all the project's matching spans (0.6 s for 890,000;
-- docs/PERFORMANCE.md, "span ingest: the batch read once").
-- in: project, name, attrs, status, min_duration_ns, from, to, after_ns, after_trace, after_span, limit
-- out: trace_id, span_id, parent_span_id, trace_state, flags, name, kind, start_ns, end_ns, start_at, status_code, status_message, attributes, dropped_attributes_count, events, dropped_events_count, links, dropped_links_count, resource, scope, run_id, attempt_seq, sequence_id, received_at
-- format: binary
SELECT
    -- include: span_columns
FROM spans s
    -- include: span_origins_join
WHERE s.project_id = $1::bigint
  AND ($2::text IS NULL OR s.name = $2)
  AND ($3::jsonb IS NULL OR s.attributes @> ANY (ARRAY(SELECT jsonb_array_elements($3::jsonb))))
  AND ($4::smallint IS NULL OR s.status_code = $4)
  AND ($5::bigint IS NULL OR s.end_ns - s.start_ns >= $5)
  AND ($6::timestamptz IS NULL OR s.start_at >= $6)
  AND ($7::timestamptz IS NULL OR s.start_at < $7)
  AND ($8::bigint IS NULL OR s.start_at <= timestamptz 'epoch' + ($8::bigint / 1000) *
      interval '1 microsecond' AND (s.start_ns, s.trace_id, s.span_id) < ($8::bigint,
      decode($9, 'hex'), decode($10, 'hex')))
ORDER BY s.start_at DESC, s.start_ns DESC, s.trace_id DESC, s.span_id DESC
LIMIT $11;
