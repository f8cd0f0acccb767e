-- A run's metrics (api/metrics.c).

-- name: metric_insert
-- points is a JSON array of {key, value, step, ts}. Answers the project, the count and the
-- newest point of each key (at most 20), for the live message. The hot writes' access check is
-- folded into the statement (run_writable, inlined; see runs_write): w has no row when the
-- caller may not write to the run, and then nothing is written and project_id is NULL.
-- in: run, token_project, user_id, is_admin, points
-- out: project_id, count, latest
WITH w AS (SELECT project_id FROM run_writable($1::uuid, $2::bigint, $3::bigint, $4::bool)),
ins AS (INSERT INTO metrics (project_id, run_id, key, step, ts, value) SELECT w.project_id,
    $1::uuid, m.key, m.step, coalesce(m.ts, now()), m.value FROM w,
    jsonb_to_recordset($5::jsonb) AS m(key text, step bigint, ts timestamptz, value double
    precision) RETURNING key, step, ts, value)
SELECT (SELECT project_id FROM w) AS project_id, count(*) AS count, (SELECT
    coalesce(json_agg(l ORDER BY l.key), '[]') FROM (SELECT DISTINCT ON (key) key, step,
    value, ts FROM ins ORDER BY key, step DESC NULLS LAST, ts DESC LIMIT 20) l) AS latest
FROM ins;

-- name: metric_insert_keyed
-- metric_insert with an Idempotency-Key, as event_insert_keyed: the key's row first, the
-- points only when it was new; a key seen before answers its row and whether the batch is
-- the same one.
-- in: run, token_project, user_id, is_admin, points, key
-- out: project_id, count, latest, stored, prior_count, same_body
WITH w AS (SELECT project_id FROM run_writable($1::uuid, $2::bigint, $3::bigint, $4::bool)),
k AS (INSERT INTO write_keys (run_id, kind, key, project_id, body_hash, answer) SELECT $1::uuid,
    'metrics', $6, w.project_id, sha256(convert_to($5::jsonb::text, 'UTF8')), jsonb_build_object('count',
    jsonb_array_length($5::jsonb)) FROM w ON CONFLICT DO NOTHING RETURNING 1),
ins AS (INSERT INTO metrics (project_id, run_id, key, step, ts, value) SELECT w.project_id,
    $1::uuid, m.key, m.step, coalesce(m.ts, now()), m.value FROM w,
    jsonb_to_recordset($5::jsonb) AS m(key text, step bigint, ts timestamptz, value double
    precision) WHERE EXISTS (SELECT FROM k) RETURNING key, step, ts, value),
prior AS (SELECT answer, body_hash = sha256(convert_to($5::jsonb::text, 'UTF8')) AS same_body FROM write_keys
    WHERE run_id = $1::uuid AND kind = 'metrics' AND key = $6)
SELECT (SELECT project_id FROM w) AS project_id, count(*) AS count, (SELECT
    coalesce(json_agg(l ORDER BY l.key), '[]') FROM (SELECT DISTINCT ON (key) key, step,
    value, ts FROM ins ORDER BY key, step DESC NULLS LAST, ts DESC LIMIT 20) l) AS latest,
    EXISTS (SELECT FROM k) AS stored, (SELECT answer->>'count' FROM prior) AS prior_count,
    (SELECT same_body FROM prior) AS same_body
FROM ins;

-- name: metric_keys
-- The keys of a run's metrics with a summary of each. A series is ordered by step, then time
-- (points without a step come last).
-- in: run
-- out: keys
SELECT coalesce(json_agg(json_build_object('key', key, 'count', n, 'first_step', fs,
    'last_step', ls, 'last_value', lv, 'last_ts', lt, 'min', mn, 'max', mx) ORDER BY key),
    '[]') AS keys
FROM (SELECT key, count(*) AS n, min(step) AS fs, max(step) AS ls, min(value) AS mn,
    max(value) AS mx, max(ts) AS lt, (array_agg(value ORDER BY step DESC NULLS LAST, ts
    DESC))[1] AS lv FROM metrics WHERE run_id = $1::uuid GROUP BY key) k;

-- name: metric_series
-- keys is a text[]; points the most points per series. A longer series is cut into that many
-- buckets of consecutive points; each bucket answers its last step and time, the mean and
-- the min and max (so a spike survives downsampling).
-- in: run, keys, points
-- out: series
WITH pts AS (SELECT key, step, ts, value, row_number() OVER (PARTITION BY key ORDER BY step
    NULLS LAST, ts) - 1 AS i, count(*) OVER (PARTITION BY key) AS n FROM metrics WHERE
    run_id = $1::uuid AND key = ANY($2::text[])),
g AS (SELECT key, (i * $3::bigint) / n AS bucket, max(n) AS n, max(step) AS step, max(ts) AS
    ts, avg(value) AS v, min(value) AS mn, max(value) AS mx FROM pts GROUP BY key, (i *
    $3::bigint) / n),
s AS (SELECT key, max(n) AS n, json_agg(CASE WHEN n > $3::bigint THEN
    json_build_object('step', step, 'ts', ts, 'value', v, 'min', mn, 'max', mx) ELSE
    json_build_object('step', step, 'ts', ts, 'value', v) END ORDER BY bucket) AS pts FROM g
    GROUP BY key)
SELECT json_agg(json_build_object('key', k.key, 'count', coalesce(s.n, 0), 'downsampled',
    coalesce(s.n, 0) > $3::bigint, 'points', coalesce(s.pts, '[]')) ORDER BY k.i) AS series
FROM unnest($2::text[]) WITH ORDINALITY k(key, i)
LEFT JOIN s ON s.key = k.key;

-- name: metric_compare
-- GET /runs/compare: up to 50 runs of one project at once, each as the run list renders it
-- (run_json()), with its keys' summaries (metric_keys, per run) and its series downsampled
-- exactly as metric_series does (the same buckets, per run and key). runs is a uuid[] in the
-- caller's order; keys a text[] (NULL: each run's own keys, by key); points the most per
-- series (NULL: the most, up to 500, that keeps the answer within max_total). missing is the
-- first id that is not a run of the project (then nothing else is read). total counts the
-- points the answer holds (the sum over series of least(count, points)), known from the
-- summaries before any series is read: past max_total, items is NULL and no series is read.
-- in: project_id, runs, keys, points, max_total
-- out: missing, total, points, items
WITH ids AS (SELECT u.id, u.ord FROM unnest($2::uuid[]) WITH ORDINALITY u(id, ord)),
rs AS (SELECT ids.ord, r.id, run_json(r, p.slug, run_attempt_json(r)) AS j
    FROM ids JOIN runs r ON r.id = ids.id
    -- include: run_json_joins
    WHERE r.project_id = $1::bigint),
miss AS (SELECT ids.id FROM ids WHERE NOT EXISTS (SELECT FROM rs WHERE rs.id = ids.id)
    ORDER BY ids.ord LIMIT 1),
ks AS (SELECT run_id, key, count(*) AS n, min(step) AS fs, max(step) AS ls, min(value) AS mn,
    max(value) AS mx, max(ts) AS lt, (array_agg(value ORDER BY step DESC NULLS LAST, ts
    DESC))[1] AS lv FROM metrics WHERE run_id IN (SELECT id FROM rs) AND NOT EXISTS (SELECT
    FROM miss) GROUP BY run_id, key),
sel AS (SELECT rs.id AS run_id, k.key, k.i FROM rs, unnest($3::text[]) WITH ORDINALITY k(key, i)
    WHERE $3::text[] IS NOT NULL
    UNION ALL SELECT ks.run_id, ks.key, row_number() OVER (PARTITION BY ks.run_id ORDER BY
    ks.key) FROM ks WHERE $3::text[] IS NULL),
sn AS (SELECT sel.run_id, sel.key, sel.i, coalesce(ks.n, 0) AS n FROM sel LEFT JOIN ks ON
    ks.run_id = sel.run_id AND ks.key = sel.key),
b AS (SELECT coalesce($4::bigint, greatest(2, least(500, $5::bigint / greatest(1, (SELECT
    count(*) FROM sn WHERE n > 0))))) AS p),
bt AS (SELECT b.p, (SELECT coalesce(sum(least(sn.n, b.p)), 0) FROM sn) AS total FROM b),
pts AS (SELECT run_id, key, step, ts, value, row_number() OVER (PARTITION BY run_id, key ORDER
    BY step NULLS LAST, ts) - 1 AS i, count(*) OVER (PARTITION BY run_id, key) AS n FROM
    metrics WHERE run_id IN (SELECT id FROM rs) AND ($3::text[] IS NULL OR key =
    ANY($3::text[])) AND NOT EXISTS (SELECT FROM miss) AND (SELECT total FROM bt) <=
    $5::bigint),
g AS (SELECT run_id, key, (i * bt.p) / n AS bucket, max(n) AS n, max(step) AS step, max(ts) AS
    ts, avg(value) AS v, min(value) AS mn, max(value) AS mx FROM pts, bt GROUP BY run_id,
    key, (i * bt.p) / n),
s AS (SELECT run_id, key, max(n) AS n, json_agg(CASE WHEN n > (SELECT p FROM bt) THEN
    json_build_object('step', step, 'ts', ts, 'value', v, 'min', mn, 'max', mx) ELSE
    json_build_object('step', step, 'ts', ts, 'value', v) END ORDER BY bucket) AS pts FROM g
    GROUP BY run_id, key),
sj AS (SELECT sn.run_id, json_agg(json_build_object('key', sn.key, 'count', coalesce(s.n, 0),
    'downsampled', coalesce(s.n, 0) > (SELECT p FROM bt), 'points', coalesce(s.pts, '[]'))
    ORDER BY sn.i) AS series FROM sn LEFT JOIN s ON s.run_id = sn.run_id AND s.key = sn.key
    GROUP BY sn.run_id),
kj AS (SELECT run_id, json_agg(json_build_object('key', key, 'count', n, 'first_step', fs,
    'last_step', ls, 'last_value', lv, 'last_ts', lt, 'min', mn, 'max', mx) ORDER BY key) AS
    keys FROM ks GROUP BY run_id)
SELECT (SELECT id FROM miss) AS missing, bt.total, bt.p AS points, CASE WHEN NOT EXISTS
    (SELECT FROM miss) AND bt.total <= $5::bigint THEN (SELECT coalesce(json_agg(
    json_build_object('run', rs.j, 'keys', coalesce(kj.keys, '[]'), 'series',
    coalesce(sj.series, '[]')) ORDER BY rs.ord), '[]') FROM rs LEFT JOIN kj ON kj.run_id =
    rs.id LEFT JOIN sj ON sj.run_id = rs.id) END AS items
FROM bt;
