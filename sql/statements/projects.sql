-- Projects and their members (api/projects.c). The three project_access statements answer
-- the same columns, so one reader serves them all.

-- name: project_access_user
-- The project and the caller's role in it; no row when the caller may not see it
-- (answered 404, not 403).
-- in: slug, user_id, is_admin
-- out: id, role, slug, name, created_at
SELECT p.id, CASE WHEN $3 THEN 'admin' ELSE m.role END AS role, p.slug, p.name,
    to_char(p.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
FROM projects p
LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $2
WHERE p.slug = $1 AND ($3 OR m.role IS NOT NULL);

-- name: project_access_token
-- The project of the slug when it is the token's own.
-- in: slug, token_project
-- out: id, role, slug, name, created_at
SELECT id, '' AS role, slug, name,
    to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
FROM projects
WHERE slug = $1 AND id = $2;

-- name: project_access_user_by_id
-- Like project_access_user, by id.
-- in: project_id, user_id, is_admin
-- out: id, role, slug, name, created_at
SELECT p.id, CASE WHEN $3 THEN 'admin' ELSE m.role END AS role, p.slug, p.name,
    to_char(p.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
FROM projects p
LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $2
WHERE p.id = $1 AND ($3 OR m.role IS NOT NULL);

-- name: project_create
-- in: slug, name
-- out: id, slug, name, created_at
INSERT INTO projects (slug, name)
VALUES ($1, $2)
RETURNING id, slug, name, to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at;

-- name: project_update
-- in: project_id, name
-- out: id, slug, name, created_at
UPDATE projects
SET name = $2, updated_at = now()
WHERE id = $1
RETURNING id, slug, name, to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at;

-- name: member_list
-- in: project_id
-- out: id, email, display_name, role, created_at
SELECT u.id, u.email, u.display_name, m.role,
    to_char(m.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
FROM project_members m
JOIN users u ON u.id = m.user_id
WHERE m.project_id = $1
ORDER BY u.email;

-- name: member_get
-- One member, same columns as member_list.
-- in: project_id, user_id
-- out: id, email, display_name, role, created_at
SELECT u.id, u.email, u.display_name, m.role,
    to_char(m.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
FROM project_members m
JOIN users u ON u.id = m.user_id
WHERE m.project_id = $1 AND m.user_id = $2::bigint;

-- name: member_insert
-- Adding a member who is already one changes nothing: 409 is decided by the caller from
-- the returned row (none when the member existed).
-- in: project_id, user_id, role
-- out: user_id
INSERT INTO project_members (project_id, user_id, role)
VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
RETURNING user_id;

-- name: member_update
-- in: project_id, user_id, role
-- out: role
UPDATE project_members
SET role = $3
WHERE project_id = $1 AND user_id = $2
RETURNING role;

-- name: member_delete
-- in: project_id, user_id
-- out: role
DELETE FROM project_members
WHERE project_id = $1 AND user_id = $2
RETURNING role;

-- name: member_admin_count
-- Locks the project's admin rows so two concurrent demotions cannot both pass.
-- in: project_id
-- out: count
SELECT count(*) AS count
FROM (SELECT 1 FROM project_members WHERE project_id = $1 AND role = 'admin' FOR UPDATE) a;

-- name: user_id_by_email
-- in: email
-- out: id
SELECT id
FROM users
WHERE lower(email) = lower($1);
