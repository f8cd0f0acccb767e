-- The run graph (api/graph.c): a run's whole connected tree for drawing, its lineage both
-- ways, and the dependencies a new run declares (run_deps, migration 0028). The answers are
-- made by PostgreSQL as JSON text; timestamps leave as RFC 3339 UTC (the session's zone).
-- The tree of a root is the root and every run whose root_id is the root (runs_root_idx):
-- root_id is written once, at insert, from the parent's.

-- fragment: graph_node
-- One run as a node of the graph: what the view draws and colours, and its child count.
json_build_object('id', r.id, 'name', r.name, 'kind', r.kind, 'status', r.status, 'queue',
    r.queue, 'created_at', r.created_at, 'started_at', r.started_at, 'ended_at', r.ended_at,
    'duration_s', extract(epoch FROM (coalesce(r.ended_at, now()) - r.started_at)),
    'group_id', r.group_id, 'parent_id', r.parent_id, 'attempt_seq', r.attempt_seq,
    'worker_id', r.worker_id

-- name: graph_tree
-- The page [offset, offset + n) of the tree holding run (oldest first, so a parent comes
-- before its children), with the edges into the page's runs: lineage (parent → child),
-- run dependencies (dep → run) and group dependencies (group → run, a chord's callback).
-- Groups are (project, group_id): one node per group a page's run belongs to or waits for,
-- with its size and status counts in the whole tree. A dependency on a run outside the
-- tree is drawn with that run as an `outside` node when it is the project's; a run that
-- does not exist (yet: producers may report an edge first) is an `unknown` node; another
-- project's run is left out, edge and all, so nothing of it shows.
-- in: run, project_id, offset, n
-- out: graph_json
WITH me AS MATERIALIZED (SELECT coalesce(root_id, id) AS root FROM runs WHERE id = $1::uuid AND
    project_id = $2::bigint),
-- Only the columns a node shows: the whole rows (input, params, result, tracebacks) would
-- be copied into the materialized tree for nothing. The root as a scalar subquery, not a
-- join with me: joined, the generic plan read every run of the project (a sequential scan
-- and a hash join) instead of the root's range of runs_root_idx.
tree AS MATERIALIZED (
    SELECT r.id, r.name, r.kind, r.status, r.queue, r.created_at, r.started_at, r.ended_at,
        r.group_id, r.parent_id, r.attempt_seq, r.worker_id
    FROM runs r WHERE r.id = (SELECT root FROM me) AND r.project_id = $2::bigint
    UNION ALL
    SELECT r.id, r.name, r.kind, r.status, r.queue, r.created_at, r.started_at, r.ended_at,
        r.group_id, r.parent_id, r.attempt_seq, r.worker_id
    FROM runs r WHERE r.root_id = (SELECT root FROM me) AND r.project_id = $2::bigint),
kids AS MATERIALIZED (SELECT parent_id, count(*) AS n FROM tree WHERE parent_id IS NOT NULL
    GROUP BY parent_id),
page AS MATERIALIZED (SELECT * FROM tree ORDER BY created_at, id OFFSET $3::int LIMIT $4::int),
deps AS MATERIALIZED (SELECT d.run_id, d.dep_run_id, d.dep_group_id FROM run_deps d
    JOIN page ON page.id = d.run_id),
outside AS MATERIALIZED (SELECT DISTINCT d.dep_run_id AS id, o.project_id FROM deps d
    LEFT JOIN runs o ON o.id = d.dep_run_id WHERE d.dep_run_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM tree t WHERE t.id = d.dep_run_id)),
grp AS MATERIALIZED (SELECT group_id FROM page WHERE group_id IS NOT NULL UNION SELECT
    dep_group_id FROM deps WHERE dep_group_id IS NOT NULL)
SELECT json_build_object('root_id', (SELECT root FROM me), 'total', (SELECT count(*) FROM tree),
    'offset', $3::int, 'limit', $4::int,
    'nodes', coalesce((SELECT json_agg(
-- include: graph_node
        , 'children', coalesce(k.n, 0)) ORDER BY r.created_at, r.id)
        FROM page r LEFT JOIN kids k ON k.parent_id = r.id), '[]'),
    'outside', coalesce((SELECT json_agg(CASE WHEN r.id IS NULL THEN json_build_object('id',
        o.id, 'status', 'unknown') ELSE
-- include: graph_node
        , 'children', 0, 'outside', true) END ORDER BY o.id)
        FROM outside o LEFT JOIN runs r ON r.id = o.id WHERE o.project_id IS NULL OR
        o.project_id = $2::bigint), '[]'),
    'groups', coalesce((SELECT json_agg(json_build_object('id', g.group_id, 'size', (SELECT
        count(*) FROM tree t WHERE t.group_id = g.group_id), 'statuses', (SELECT
        coalesce(json_object_agg(s.status, s.n), '{}') FROM (SELECT t.status, count(*) AS n
        FROM tree t WHERE t.group_id = g.group_id GROUP BY t.status) s)) ORDER BY g.group_id)
        FROM grp g), '[]'),
    'edges', coalesce((SELECT json_agg(e ORDER BY e.kind, e.source, e.target) FROM (
        SELECT 'child' AS kind, p.parent_id::text AS source, p.id::text AS target FROM page p
            WHERE p.parent_id IS NOT NULL
        UNION ALL
        SELECT 'dep', d.dep_run_id::text, d.run_id::text FROM deps d
            LEFT JOIN outside o ON o.id = d.dep_run_id
            WHERE d.dep_run_id IS NOT NULL AND (o.id IS NULL OR o.project_id IS NULL OR
            o.project_id = $2::bigint)
        UNION ALL
        SELECT 'group', d.dep_group_id, d.run_id::text FROM deps d
            WHERE d.dep_group_id IS NOT NULL) e), '[]')) AS graph_json
FROM me;

-- name: graph_lineage
-- A run's ancestors (nearest first, up to its root) and its descendants (breadth first:
-- by depth, then oldest first), at most n of them, with their total; deps counts the
-- run_deps edges at the run, either way (the run page shows its Graph tab by these). Parents are
-- written at insert and exist then, so the walk up cannot loop; it stops at 10,000 anyway.
-- in: run, project_id, n
-- out: lineage_json
WITH RECURSIVE up AS (
    SELECT r.parent_id AS id, 1 AS depth FROM runs r WHERE r.id = $1::uuid AND
        r.project_id = $2::bigint
    UNION ALL
    SELECT r.parent_id, up.depth + 1 FROM up JOIN runs r ON r.id = up.id
        WHERE r.parent_id IS NOT NULL AND up.depth < 10000),
down AS (
    SELECT r.id, 1 AS depth, r.created_at FROM runs r WHERE r.parent_id = $1::uuid AND
        r.project_id = $2::bigint
    UNION ALL
    SELECT r.id, down.depth + 1, r.created_at FROM down JOIN runs r ON r.parent_id = down.id
        WHERE down.depth < 10000),
pagedown AS MATERIALIZED (SELECT * FROM down ORDER BY depth, created_at, id LIMIT $3::int)
SELECT json_build_object('run_id', $1::uuid,
    'ancestors', coalesce((SELECT json_agg(
-- include: graph_node
        , 'depth', up.depth) ORDER BY up.depth)
        FROM up JOIN runs r ON r.id = up.id AND r.project_id = $2::bigint), '[]'),
    'descendants', coalesce((SELECT json_agg(
-- include: graph_node
        , 'depth', d.depth) ORDER BY d.depth, d.created_at, d.id)
        FROM pagedown d JOIN runs r ON r.id = d.id), '[]'),
    'descendants_total', (SELECT count(*) FROM down),
    'deps', (SELECT count(*) FROM run_deps d WHERE d.run_id = $1::uuid OR d.dep_run_id =
        $1::uuid)) AS lineage_json;

-- name: run_deps_missing
-- The first of the ids (a JSON array of UUIDs) that is not a run of the project, if any:
-- a new run may depend only on runs of its own project.
-- in: project_id, ids
-- out: id
SELECT d AS id
FROM jsonb_array_elements_text($2::jsonb) d
WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = d::uuid AND r.project_id = $1::bigint)
LIMIT 1;

-- name: run_deps_insert
-- A new run's dependencies: on runs (a JSON array of UUIDs, may be NULL) and on a group.
-- in: run, project_id, ids, group_id
-- out:
INSERT INTO run_deps (run_id, project_id, dep_run_id, dep_group_id)
SELECT $1::uuid, $2::bigint, d::uuid, NULL FROM jsonb_array_elements_text(coalesce($3::jsonb,
    '[]')) d
UNION ALL
SELECT $1::uuid, $2::bigint, NULL, $4::text WHERE $4::text IS NOT NULL
ON CONFLICT DO NOTHING;

-- name: graph_roots
-- A page of the project's roots (runs without a parent), newest first (runs_roots_idx),
-- after the root cursor (NULL: from the newest), each with its child and descendant counts
-- (runs_parent_idx, runs_root_idx): the runs list's "roots only" view.
-- in: project_id, cursor, n
-- out: root_json, id
WITH page AS MATERIALIZED (SELECT r.* FROM runs r WHERE r.project_id = $1::bigint AND
    r.parent_id IS NULL AND ($2::uuid IS NULL OR (r.created_at, r.id) < (SELECT c.created_at,
    c.id FROM runs c WHERE c.id = $2::uuid AND c.project_id = $1::bigint))
    ORDER BY r.created_at DESC, r.id DESC LIMIT $3::int)
SELECT
-- include: graph_node
    , 'children', (SELECT count(*) FROM runs c WHERE c.parent_id = r.id), 'descendants',
    (SELECT count(*) FROM runs d WHERE d.root_id = r.id))::text AS root_json, r.id
FROM page r
ORDER BY r.created_at DESC, r.id DESC;
