-- Identities (api/login.c, access.c): sessions, API tokens, logins and passwords.
-- Secrets (session cookies, API tokens) never reach PostgreSQL: the API sends the hex of
-- their SHA-256 (token_sha256), which is what is stored and compared, so no server log
-- (a slow statement is logged with its parameters) can hold a usable credential.
-- Timestamps leave as RFC 3339 UTC text (the session's TimeZone is UTC).

-- name: session_lookup
-- Touches last_seen_at at most once a minute so a busy dashboard does not write on every
-- read. valid_ms: how long the answer stays true if nothing changes, until the session's
-- absolute end or its idle end counted from last_seen_at as this statement leaves it; a
-- worker caches the answer no longer (fcgi/src/idcache.c).
-- in: token_sha256, idle_s
-- out: id, user_id, is_admin, valid_ms
WITH s AS (SELECT s.id, s.user_id, u.is_admin, s.expires_at, s.last_seen_at FROM sessions s
    JOIN users u ON u.id = s.user_id WHERE s.token_hash = decode($1, 'hex') AND
    s.revoked_at IS NULL AND s.expires_at > now() AND s.last_seen_at > now() -
    make_interval(secs => $2) AND u.disabled_at IS NULL),
touch AS (UPDATE sessions SET last_seen_at = now() WHERE id = (SELECT id FROM s) AND
    last_seen_at < now() - interval '60 seconds')
SELECT id, user_id, is_admin, floor(extract(epoch FROM least(expires_at, CASE WHEN
    last_seen_at < now() - interval '60 seconds' THEN now() ELSE last_seen_at END +
    make_interval(secs => $2)) - now()) * 1000)::bigint AS valid_ms
FROM s;

-- name: token_lookup
-- The bearer token. last_used_at has one-minute resolution for the same reason.
-- valid_ms: how long until the token expires, NULL when it does not.
-- in: token_sha256
-- out: id, project_id, scopes, valid_ms
WITH t AS (SELECT id, project_id, scopes, expires_at FROM api_tokens WHERE token_hash =
    decode($1, 'hex') AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())),
touch AS (UPDATE api_tokens SET last_used_at = now() WHERE id = (SELECT id FROM t) AND
    (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds'))
SELECT id, project_id, array_to_string(scopes, ',') AS scopes, floor(extract(epoch FROM
    expires_at - now()) * 1000)::bigint AS valid_ms
FROM t;

-- name: listen_ident
-- On every connection of a worker whose identity cache is on: the triggers of
-- sql/functions/15_identity.sql announce here every change that can end or narrow an
-- identity, and the worker empties its cache (fcgi/src/db.c).
-- in:
-- out:
LISTEN runwatch_ident;

-- Failed logins are counted per (account, client): client is the address nginx saw
-- (REMOTE_ADDR), grouped by login_client() (sql/functions/15_identity.sql). A client
-- that keeps failing is held back from that account while its owner, elsewhere, signs in
-- as usual; the answer is the same whether or not the client is held back.

-- name: user_for_login
-- The user's row is locked, so the logins of one account run one at a time and the
-- counts below need no more care. locked: this client is held back from this account.
-- in: email, client
-- out: id, password_hash, disabled, locked
SELECT u.id, u.password_hash, u.disabled_at IS NOT NULL AS disabled,
    EXISTS (SELECT 1 FROM login_failures f WHERE f.user_id = u.id AND f.client =
        login_client($2) AND f.locked_until > now()) AS locked
FROM users u
WHERE lower(u.email) = lower($1) FOR UPDATE OF u;

-- name: user_login_failed
-- One more failure of this client with this account; every attempt it makes while held
-- back counts too (its password is not even checked). Backoff: from the 5th failure on,
-- held back for 2^(n-5) s, at most 15 minutes. A count whose last failure is a day old
-- starts again (the housekeeper deletes such rows: prune_login_failures).
-- in: user_id, client
-- out:
WITH n AS (SELECT coalesce((SELECT f.failures FROM login_failures f WHERE f.user_id = $1 AND
    f.client = login_client($2) AND f.last_failed_at > now() - interval '1 day'), 0) + 1 AS n)
INSERT INTO login_failures AS f (user_id, client, failures, locked_until, last_failed_at)
SELECT $1, login_client($2), n.n, CASE WHEN n.n >= 5 THEN now() + make_interval(secs =>
    least(900, power(2, n.n - 5))) END, now()
FROM n
ON CONFLICT (user_id, client) DO UPDATE
SET failures = EXCLUDED.failures, locked_until = EXCLUDED.locked_until,
    last_failed_at = EXCLUDED.last_failed_at;

-- name: user_login_ok
-- A sign-in clears this client's count only: another client's holds.
-- in: user_id, client
-- out:
DELETE FROM login_failures
WHERE user_id = $1 AND client = login_client($2);

-- name: session_create
-- The session lives at most lifetime_s seconds.
-- in: token_sha256, user_id, lifetime_s, ip, user_agent
-- out: id
INSERT INTO sessions (token_hash, user_id, expires_at, ip, user_agent)
VALUES (decode($1, 'hex'), $2, now() + make_interval(secs => $3), $4::inet,
    left($5, 500))
RETURNING id;

-- name: session_revoke
-- in: session_id
-- out:
UPDATE sessions
SET revoked_at = now()
WHERE id = $1 AND revoked_at IS NULL;

-- name: sessions_revoke_others
-- in: user_id, session_id
-- out:
UPDATE sessions
SET revoked_at = now()
WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL;

-- name: sessions_revoke_user
-- in: user_id
-- out:
UPDATE sessions
SET revoked_at = now()
WHERE user_id = $1 AND revoked_at IS NULL;

-- name: user_get
-- in: user_id
-- out: id, email, display_name, is_admin, disabled, created_at
SELECT id, email, display_name, is_admin, disabled_at IS NOT NULL AS disabled,
    to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
FROM users
WHERE id = $1;

-- name: user_password_hash
-- in: user_id
-- out: password_hash
SELECT password_hash
FROM users
WHERE id = $1 FOR UPDATE;

-- name: user_set_password
-- A new password (set by its owner or reset by an operator) clears every client's count
-- of failures with the account.
-- in: user_id, password_hash
-- out:
WITH f AS (DELETE FROM login_failures WHERE user_id = $1)
UPDATE users
SET password_hash = $2, updated_at = now()
WHERE id = $1;

-- name: allowed_projects
-- The projects whose live events the caller sees, as "1,2,3".
-- in: user_id, is_admin
-- out: ids
SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') AS ids
FROM projects p
WHERE $2 OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id
    = $1);

-- name: my_projects
-- user_id is NULL for a token.
-- in: user_id, is_admin, token_project, token_role
-- out: id, slug, name, role, created_at
SELECT p.id, p.slug, p.name, CASE WHEN $2 THEN 'admin' WHEN p.id = $3 THEN $4 ELSE m.role
    END AS role, to_char(p.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
FROM projects p
LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $1
WHERE $2 OR m.role IS NOT NULL OR p.id = $3
ORDER BY p.slug;

-- name: token_get
-- in: token_id
-- out: id, name, prefix, scopes, slug
SELECT t.id, t.name, t.prefix, array_to_string(t.scopes, ',') AS scopes, p.slug
FROM api_tokens t
JOIN projects p ON p.id = t.project_id
WHERE t.id = $1;
