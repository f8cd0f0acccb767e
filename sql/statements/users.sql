-- Instance users (api/users.c). user_get (auth.sql), user_create, user_list and
-- user_update answer the same columns, so one reader serves them all.

-- name: user_count
-- in:
-- out: count
SELECT count(*) AS count
FROM users;

-- name: user_create
-- in: email, display_name, password_hash, is_admin
-- out: id, email, display_name, is_admin, disabled, created_at
INSERT INTO users (email, display_name, password_hash, is_admin)
VALUES ($1, $2, $3, $4)
RETURNING id, email, display_name, is_admin, false AS disabled,
    to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at;

-- name: user_list
-- in:
-- out: id, email, display_name, is_admin, disabled, created_at
SELECT id, email, display_name, is_admin, disabled_at IS NOT NULL AS disabled,
    to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
FROM users
ORDER BY email;

-- name: user_update
-- NULL parameters keep the current value.
-- in: user_id, display_name, is_admin, disabled
-- out: id, email, display_name, is_admin, disabled, created_at
UPDATE users
SET display_name = coalesce($2::text, display_name), is_admin = coalesce($3::boolean,
    is_admin), disabled_at = CASE WHEN $4::boolean IS NULL THEN disabled_at WHEN $4::boolean
    THEN coalesce(disabled_at, now()) ELSE NULL END, updated_at = now()
WHERE id = $1
RETURNING id, email, display_name, is_admin, disabled_at IS NOT NULL AS disabled,
    to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at;
