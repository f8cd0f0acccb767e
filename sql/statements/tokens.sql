-- API tokens of a project (api/projects.c). Only the token's hash is stored, and only
-- the hash reaches PostgreSQL (token_sha256: hex, made by the API; sql/statements/auth.sql).

-- name: token_create
-- scopes is an array literal such as '{read,write}'; expires_at and created_by may be NULL.
-- in: project_id, name, prefix, token_sha256, scopes, expires_at, created_by
-- out: id, created_at
INSERT INTO api_tokens (project_id, name, prefix, token_hash, scopes, expires_at,
    created_by)
VALUES ($1, $2, $3, decode($4, 'hex'), $5::text[], $6::timestamptz, $7)
RETURNING id, to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at;

-- name: token_list
-- in: project_id
-- out: id, name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at
SELECT id, name, prefix, array_to_string(scopes, ',') AS scopes,
    to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
    to_char(expires_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS expires_at,
    to_char(last_used_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_used_at,
    to_char(revoked_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS revoked_at
FROM api_tokens
WHERE project_id = $1
ORDER BY created_at DESC, id DESC;

-- name: token_revoke
-- in: token_id, project_id
-- out: prefix
UPDATE api_tokens
SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 AND project_id = $2
RETURNING prefix;
