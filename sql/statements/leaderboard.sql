-- The leaderboard (api/leaderboard.c): a project's runs ranked by one summary metric.

-- name: run_leaderboard
-- Runs of the project whose summary holds metric as a number, best first (asc: lowest
-- first, for a loss), ties by creation then id; filtered by kind, experiment and tag when
-- given. Each item is the run's identity, params and summary with the ranked value. The
-- scan is the project's runs (runs_project_created_idx) and a top-N sort: no index orders
-- by a user-chosen summary key (docs/PERFORMANCE.md, the leaderboard's cost at 1M runs).
-- in: project_id, metric, asc, kind, experiment_id, tag, limit
-- out: items
SELECT coalesce(json_agg(json_build_object('id', l.id, 'name', l.name, 'kind', l.kind,
    'status', l.status, 'experiment_id', l.experiment_id, 'tags', l.tags, 'created_at',
    l.created_at, 'ended_at', l.ended_at, 'params', l.params, 'summary', l.summary, 'value',
    l.v) ORDER BY CASE WHEN $3::bool THEN l.v END ASC, CASE WHEN NOT $3::bool THEN l.v END
    DESC, l.created_at DESC, l.id), '[]') AS items
FROM (SELECT r.id, r.name, r.kind, r.status, r.experiment_id, r.tags, r.created_at,
        r.ended_at, r.params, r.summary, (r.summary ->> $2::text)::float8 AS v
    FROM runs r
    WHERE r.project_id = $1::bigint AND jsonb_typeof(r.summary -> $2::text) = 'number'
        AND ($4::text IS NULL OR r.kind = $4::text)
        AND ($5::bigint IS NULL OR r.experiment_id = $5::bigint)
        AND ($6::text IS NULL OR r.tags @> ARRAY[$6::text])
    -- ORDER BY with LIMIT: a top-N heap sort of the matching runs, not a full sort.
    ORDER BY CASE WHEN $3::bool THEN (r.summary ->> $2::text)::float8 END ASC,
        CASE WHEN NOT $3::bool THEN (r.summary ->> $2::text)::float8 END DESC,
        r.created_at DESC, r.id
    LIMIT $7::int) l;
