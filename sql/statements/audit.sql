-- The audit log (api/audit.c).

-- name: audit_insert
-- The actor is a user or a token; project, details and ip may be NULL.
-- in: actor_user, actor_token, project_id, action, target, details, ip
-- out:
INSERT INTO audit_log (actor_user_id, actor_token_id, project_id, action, target, details,
    ip)
VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'), $7::inet);

-- name: audit_list
-- project_id NULL: all projects; cursor NULL: the newest. The filters (NULL: any) are the
-- Audit page's: actor is a user's email or a token's prefix; action is one action
-- ("user.create") or a family ("user" matches "user.create", "user.update", …); since and
-- until bound ts (since inclusive, until exclusive).
-- in: project_id, cursor, limit, actor, action, since, until
-- out: id, ts, action, target, details, ip, email, prefix, slug
SELECT a.id, to_char(a.ts, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts, a.action, a.target,
    a.details::text AS details, host(a.ip) AS ip, u.email, t.prefix, p.slug
FROM audit_log a
LEFT JOIN users u ON u.id = a.actor_user_id
LEFT JOIN api_tokens t ON t.id = a.actor_token_id
LEFT JOIN projects p ON p.id = a.project_id
WHERE ($1::bigint IS NULL OR a.project_id = $1) AND ($2::bigint IS NULL OR a.id < $2)
    AND ($4::text IS NULL OR lower(u.email) = lower($4) OR t.prefix = $4)
    AND ($5::text IS NULL OR a.action = $5 OR starts_with(a.action, $5 || '.'))
    AND ($6::timestamptz IS NULL OR a.ts >= $6) AND ($7::timestamptz IS NULL OR a.ts < $7)
ORDER BY a.id DESC
LIMIT $3;
