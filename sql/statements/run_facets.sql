-- What the runs list shows beside its pages (api/run_facets.c): how many runs a view holds,
-- counted up to a cap, and the values a filter can offer (a project's kinds and queues).
-- Both are separate statements so the list's own (runs.sql) stays as it is.

-- name: run_count
-- The runs of a view (the list's filters, run_list_filters), counted up to cap: the count
-- reads at most cap index entries per status (an index-only scan of
-- runs_project_status_idx where the visibility map allows), so a project of millions costs
-- no more than cap. cursor_key and cursor_id are the list's (NULL: from the newest), which
-- the filters fragment's numbering needs. The handler asks for cap + 1 to know "more".
-- in: project_id, statuses, kind, queue, worker_id, tag, parent, created_after, created_before, text, cap, cursor_key, cursor_id, ended_after, ended_before
-- out: n
SELECT count(*) AS n
FROM (SELECT 1
    FROM
    -- include: run_list_statuses
    CROSS JOIN LATERAL (SELECT 1 FROM runs r WHERE r.project_id = $1 AND
        r.status = s.status AND
        (r.created_at, r.id) < (coalesce($12::timestamptz,
        'infinity'), coalesce($13::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        -- include: run_list_filters
        LIMIT $11) r
    WHERE $2::text[] IS NULL OR s.status = ANY($2::text[])
    LIMIT $11) c;

-- name: run_kinds
-- A project's kinds, every one it ever ran, by a loose index scan of runs_project_kind_idx
-- (project_id, kind, …): one index descent per distinct kind, not a read of the project's
-- runs. At most 500 (a filter's list, not a report).
-- in: project_id
-- out: value
WITH RECURSIVE k AS ((SELECT kind FROM runs WHERE project_id = $1 ORDER BY kind LIMIT 1)
    UNION ALL
    SELECT (SELECT r.kind FROM runs r WHERE r.project_id = $1 AND r.kind > k.kind ORDER BY
    r.kind LIMIT 1) FROM k WHERE k.kind IS NOT NULL)
SELECT kind AS value
FROM k
WHERE kind IS NOT NULL
LIMIT 500;

-- name: run_queues
-- A project's queues: no index leads with (project_id, queue) for all runs (one would cost
-- every insert), so the queues come from what is indexed already: those holding queued runs
-- (a loose scan of runs_queue_claim_idx, partial on queued) and those whose runs started or
-- ended in the last 30 days (the hourly rollup, and the deltas not yet folded into it).
-- At most 500.
-- in: project_id
-- out: value
WITH RECURSIVE q AS ((SELECT queue FROM runs WHERE project_id = $1 AND status = 'queued'
    ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT r.queue FROM runs r WHERE r.project_id = $1 AND r.status = 'queued' AND
    r.queue > q.queue ORDER BY r.queue LIMIT 1) FROM q WHERE q.queue IS NOT NULL)
SELECT value
FROM (SELECT queue AS value FROM q WHERE queue IS NOT NULL
    UNION
    SELECT queue FROM rollup_hourly WHERE project_id = $1 AND hour >= now() - interval '30 days'
    UNION
    SELECT queue FROM rollup_delta WHERE project_id = $1) v
ORDER BY value
LIMIT 500;
