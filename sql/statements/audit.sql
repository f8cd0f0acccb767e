-- The audit log (api/audit.c).

-- name: audit_insert
-- The actor is a user or a token; project, details and ip may be NULL.
-- in: actor_user, actor_token, project_id, action, target, details, ip
-- out:
INSERT INTO audit_log (actor_user_id, actor_token_id, project_id, action, target, details,
    ip)
VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'), $7::inet);

-- name: audit_list
-- project_id NULL: all projects; cursor NULL: the newest.
-- in: project_id, cursor, limit
-- out: id, ts, action, target, details, ip, email, prefix, slug
SELECT a.id, to_char(a.ts, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts, a.action, a.target,
    a.details::text AS details, host(a.ip) AS ip, u.email, t.prefix, p.slug
FROM audit_log a
LEFT JOIN users u ON u.id = a.actor_user_id
LEFT JOIN api_tokens t ON t.id = a.actor_token_id
LEFT JOIN projects p ON p.id = a.project_id
WHERE ($1::bigint IS NULL OR a.project_id = $1) AND ($2::bigint IS NULL OR a.id < $2)
ORDER BY a.id DESC
LIMIT $3;
