-- 0027: a span's resource and instrumentation scope stored once, in span_origins, and
-- referenced by id from each span (resource_id, scope_id) instead of copied into every
-- row: an exporter sends one resource and scope for hundreds of spans, and the copies were
-- a third of a row (345 of 1,050 bytes for the bench's spans) and of its WAL
-- (docs/PERFORMANCE.md, "span ingest: resources and scopes stored once").
-- A body is deduplicated by the SHA-256 of its jsonb text (jsonb prints one canonical text
-- per value: keys sorted, no duplicates), so a resource and a scope that are the same value
-- share a row; span_origin_id() (sql/functions/35_spans.sql) finds or adds one. Bodies are
-- shared across projects (a span reaches one only through its own row) and never deleted
-- with spans: there are as many as distinct resources and scopes ever sent (a resource
-- changes per process at most), far fewer than spans.
-- The reads join it back (span_columns, span_json()): answers are unchanged.
-- Row 0 is the empty body '{}', the old columns' default, which the new ones keep: a span
-- written without them (by hand, a test's fixture) has an empty resource and scope as
-- before; span_insert always names both.
CREATE TABLE span_origins (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash bytea NOT NULL UNIQUE,
    body jsonb NOT NULL
);
INSERT INTO span_origins (id, hash, body) OVERRIDING SYSTEM VALUE
VALUES (0, sha256(convert_to('{}'::jsonb::text, 'UTF8')), '{}');

ALTER TABLE spans ADD COLUMN resource_id bigint, ADD COLUMN scope_id bigint;

INSERT INTO span_origins (hash, body)
SELECT sha256(convert_to(b::text, 'UTF8')), b
FROM (SELECT resource AS b FROM spans UNION SELECT scope FROM spans) o
ON CONFLICT (hash) DO NOTHING;

UPDATE spans s SET resource_id = r.id, scope_id = c.id
FROM span_origins r, span_origins c
WHERE r.hash = sha256(convert_to(s.resource::text, 'UTF8'))
  AND c.hash = sha256(convert_to(s.scope::text, 'UTF8'));

ALTER TABLE spans ALTER COLUMN resource_id SET DEFAULT 0, ALTER COLUMN scope_id SET DEFAULT 0,
    ALTER COLUMN resource_id SET NOT NULL, ALTER COLUMN scope_id SET NOT NULL;
ALTER TABLE spans DROP COLUMN resource, DROP COLUMN scope;
