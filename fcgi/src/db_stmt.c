/* db_stmt: the SQL of runwatch-api. Review changes to this file like schema changes:
 * each statement should use an index (see the migrations) and take only parameters.
 * Secrets (session cookies, API tokens) are hashed by PostgreSQL's sha256() on the
 * way in, so only hashes are ever stored or compared. Timestamps leave as RFC 3339
 * UTC text (the session's TimeZone is UTC). */
#include "db_stmt.h"

#define TS(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define HASH(p) "sha256(convert_to(" p ", 'UTF8'))"
/* The hot writes' access check, folded into each (see runs_write): $1 run, $2 token's
 * project, $3 user, $4 instance admin. w.project_id is NULL when the caller may not
 * write to the run, and then nothing is written. */
#define WRITE_ACCESS                                                                               \
    "w AS (SELECT run_write_project($1::uuid, $2::bigint, $3::bigint, $4::bool) AS project_id)"

const struct db_stmt db_stmts[DB_STMT__COUNT] = {
    [DB_STMT_PING] = {"ping", "SELECT 1", 0},
    /* Transactions go through the table too, so a handler never builds SQL text. */
    [DB_STMT_BEGIN] = {"begin", "BEGIN", 0},
    [DB_STMT_COMMIT] = {"commit", "COMMIT", 0},
    [DB_STMT_ROLLBACK] = {"rollback", "ROLLBACK", 0},

    /* $1 cookie token, $2 idle seconds. Touches last_seen_at at most once a minute so a
     * busy dashboard does not write on every read. */
    [DB_STMT_SESSION_LOOKUP] =
        {"session_lookup",
         "WITH s AS (SELECT s.id, s.user_id, u.is_admin FROM sessions s JOIN users u ON u.id = "
         "s.user_id WHERE s.token_hash = " HASH(
             "$1") " AND s.revoked_at IS NULL"
                   " AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => "
                   "$2)"
                   " AND u.disabled_at IS NULL),"
                   " touch AS (UPDATE sessions SET last_seen_at = now() WHERE id = (SELECT id FROM "
                   "s)"
                   " AND last_seen_at < now() - interval '60 seconds')"
                   " SELECT id, user_id, is_admin FROM s",
         2},
    /* $1 bearer token. last_used_at has one-minute resolution for the same reason. */
    [DB_STMT_TOKEN_LOOKUP] =
        {"token_lookup",
         "WITH t AS (SELECT id, project_id, scopes FROM api_tokens WHERE token_hash = " HASH(
             "$1") " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())),"
                   " touch AS (UPDATE api_tokens SET last_used_at = now() WHERE id = (SELECT id "
                   "FROM t) AND (last_used_at IS NULL OR last_used_at < now() - interval '60 "
                   "seconds'))"
                   " SELECT id, project_id, array_to_string(scopes, ',') FROM t",
         1},
    [DB_STMT_USER_FOR_LOGIN] = {"user_for_login",
                                "SELECT id, password_hash, disabled_at IS NOT NULL,"
                                " coalesce(locked_until > now(), false)"
                                " FROM users WHERE lower(email) = lower($1) FOR UPDATE",
                                1},
    /* Backoff: from the 5th failure on, locked for 2^(n-5) s, at most 15 minutes. */
    [DB_STMT_USER_LOGIN_FAILED] =
        {"user_login_failed",
         "UPDATE users SET failed_logins = failed_logins + 1,"
         " locked_until = CASE WHEN failed_logins + 1 >= 5 THEN now() + make_interval(secs =>"
         " least(900, power(2, failed_logins + 1 - 5))) ELSE locked_until END WHERE id = $1",
         1},
    [DB_STMT_USER_LOGIN_OK] = {"user_login_ok",
                               "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE "
                               "id = $1",
                               1},
    /* $1 token, $2 user, $3 absolute lifetime seconds, $4 ip, $5 user agent */
    [DB_STMT_SESSION_CREATE] = {"session_create",
                                "INSERT INTO sessions (token_hash, user_id, expires_at, ip, "
                                "user_agent) VALUES (" HASH("$1") ", $2, now() + "
                                                                  "make_interval(secs => $3), "
                                                                  "$4::inet, left($5, 500)) "
                                                                  "RETURNING id",
                                5},
    [DB_STMT_SESSION_REVOKE] = {"session_revoke",
                                "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND "
                                "revoked_at IS NULL",
                                1},
    [DB_STMT_SESSIONS_REVOKE_OTHERS] = {"sessions_revoke_others",
                                        "UPDATE sessions SET revoked_at = now() WHERE user_id = "
                                        "$1 AND id <> $2 AND revoked_at IS NULL",
                                        2},
    [DB_STMT_SESSIONS_REVOKE_USER] = {"sessions_revoke_user",
                                      "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 "
                                      "AND revoked_at IS NULL",
                                      1},
    [DB_STMT_USER_GET] = {"user_get",
                          "SELECT id, email, display_name, is_admin, disabled_at IS NOT NULL, " TS(
                              "created_at") " FROM users WHERE id = $1",
                          1},
    [DB_STMT_USER_PASSWORD_HASH] = {"user_password_hash",
                                    "SELECT password_hash FROM users WHERE id = $1 FOR UPDATE", 1},
    [DB_STMT_USER_SET_PASSWORD] = {"user_set_password",
                                   "UPDATE users SET password_hash = $2, failed_logins = 0, "
                                   "locked_until = NULL, updated_at = now() WHERE id = $1",
                                   2},
    /* $1 user id, $2 is instance admin: the projects whose live events the caller sees. */
    [DB_STMT_ALLOWED_PROJECTS] = {"allowed_projects",
                                  "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') "
                                  "FROM projects p WHERE $2 OR EXISTS (SELECT 1 FROM "
                                  "project_members m WHERE m.project_id = p.id AND m.user_id = "
                                  "$1)",
                                  2},
    /* $1 user (NULL for a token), $2 instance admin, $3 token project, $4 token role */
    [DB_STMT_MY_PROJECTS] =
        {"my_projects",
         "SELECT p.id, p.slug, p.name, CASE WHEN $2 THEN 'admin' WHEN p.id = "
         "$3 THEN $4 ELSE m.role END, " TS(
             "p.created_at") " FROM projects p "
                             "LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = "
                             "$1 WHERE $2 OR m.role IS NOT NULL OR p.id = $3 ORDER BY p.slug",
         4},
    [DB_STMT_TOKEN_GET] = {"token_get",
                           "SELECT t.id, t.name, t.prefix, array_to_string(t.scopes, ','), p.slug "
                           "FROM api_tokens t JOIN projects p ON p.id = t.project_id WHERE t.id "
                           "= $1",
                           1},

    /* $1 slug, $2 user id, $3 is instance admin: the project and the caller's role in it;
     * no row when the caller may not see it (answered 404, not 403). */
    [DB_STMT_PROJECT_ACCESS_USER] = {"project_access_user",
                                     "SELECT p.id, CASE WHEN $3 THEN 'admin' ELSE m.role END, "
                                     "p.slug, p.name, " TS("p.created_at") " FROM projects p "
                                                                           "LEFT JOIN "
                                                                           "project_members m "
                                                                           "ON m.project_id = "
                                                                           "p.id AND m.user_id "
                                                                           "= $2 WHERE p.slug "
                                                                           "= $1 AND ($3 OR "
                                                                           "m.role IS NOT "
                                                                           "NULL)",
                                     3},
    /* $1 slug, $2 the token's project. */
    [DB_STMT_PROJECT_ACCESS_TOKEN] = {"project_access_token",
                                      "SELECT id, '', slug, name, " TS(
                                          "created_at") " FROM projects WHERE slug = $1 AND id = "
                                                        "$2",
                                      2},
    [DB_STMT_PROJECT_CREATE] = {"project_create",
                                "INSERT INTO projects (slug, name) VALUES ($1, $2) RETURNING id, "
                                "slug, name, " TS("created_at"),
                                2},
    [DB_STMT_PROJECT_UPDATE] = {"project_update",
                                "UPDATE projects SET name = $2, updated_at = now() WHERE id = $1 "
                                "RETURNING id, slug, name, " TS("created_at"),
                                2},
    [DB_STMT_MEMBER_LIST] = {"member_list",
                             "SELECT u.id, u.email, u.display_name, m.role, " TS(
                                 "m.created_at") " FROM project_members m JOIN users u ON u.id = "
                                                 "m.user_id WHERE m.project_id = $1 ORDER BY "
                                                 "u.email",
                             1},
    /* Adding a member who is already one changes nothing: 409 is decided by the caller
     * from the returned flag. */
    /* $1 project, $2 user: one member, same columns as member_list. */
    [DB_STMT_MEMBER_GET] = {"member_get",
                            "SELECT u.id, u.email, u.display_name, m.role, " TS(
                                "m.created_at") " FROM project_members m JOIN users u ON u.id = "
                                                "m.user_id WHERE m.project_id = $1 AND "
                                                "m.user_id = $2::bigint",
                            2},
    [DB_STMT_MEMBER_UPSERT] = {"member_insert",
                               "INSERT INTO project_members (project_id, user_id, role) VALUES "
                               "($1, $2, $3) ON CONFLICT DO NOTHING RETURNING user_id",
                               3},
    [DB_STMT_MEMBER_UPDATE] = {"member_update",
                               "UPDATE project_members SET role = $3 WHERE project_id = $1 AND "
                               "user_id = $2 RETURNING role",
                               3},
    [DB_STMT_MEMBER_DELETE] = {"member_delete",
                               "DELETE FROM project_members WHERE project_id = $1 AND user_id = "
                               "$2 RETURNING role",
                               2},
    /* Locks the project's admin rows so two concurrent demotions cannot both pass. */
    [DB_STMT_MEMBER_ADMIN_COUNT] = {"member_admin_count",
                                    "SELECT count(*) FROM (SELECT 1 FROM project_members WHERE "
                                    "project_id = $1 AND role = 'admin' FOR UPDATE) a",
                                    1},
    [DB_STMT_USER_ID_BY_EMAIL] = {"user_id_by_email",
                                  "SELECT id FROM users WHERE lower(email) = lower($1)", 1},

    /* $1 project, $2 name, $3 prefix, $4 whole token, $5 scopes '{read,write}', $6 expiry
     * (or NULL), $7 creator user (or NULL) */
    [DB_STMT_TOKEN_CREATE] =
        {"token_create",
         "INSERT INTO api_tokens (project_id, name, prefix, token_hash, "
         "scopes, expires_at, created_by) VALUES ($1, $2, $3, " HASH(
             "$4") ", $5::text[], $6::timestamptz, $7) RETURNING id, " TS("created_at"),
         7},
    [DB_STMT_TOKEN_LIST] =
        {"token_list",
         "SELECT id, name, prefix, array_to_string(scopes, ','), " TS("created_at") ", " TS(
             "expires_at") ", " TS("last_used_at") ", " TS("revoked_at") " FROM api_tokens WHERE "
                                                                         "project_id = $1 ORDER BY "
                                                                         "created_at DESC, id DESC",
         1},
    [DB_STMT_TOKEN_REVOKE] = {"token_revoke",
                              "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) "
                              "WHERE id = $1 AND project_id = $2 RETURNING prefix",
                              2},

    [DB_STMT_USER_COUNT] = {"user_count", "SELECT count(*) FROM users", 0},
    [DB_STMT_USER_CREATE] = {"user_create",
                             "INSERT INTO users (email, display_name, password_hash, is_admin) "
                             "VALUES ($1, $2, $3, $4) RETURNING id, email, display_name, "
                             "is_admin, false, " TS("created_at"),
                             4},
    [DB_STMT_USER_LIST] = {"user_list",
                           "SELECT id, email, display_name, is_admin, disabled_at IS NOT NULL, " TS(
                               "created_at") " FROM users ORDER BY email",
                           0},
    /* NULL parameters keep the current value. */
    [DB_STMT_USER_UPDATE] = {"user_update",
                             "UPDATE users SET display_name = coalesce($2::text, display_name),"
                             " is_admin = coalesce($3::boolean, is_admin),"
                             " disabled_at = CASE WHEN $4::boolean IS NULL THEN disabled_at WHEN "
                             "$4::boolean THEN "
                             "coalesce(disabled_at, now()) ELSE NULL END,"
                             " updated_at = now() WHERE id = $1 RETURNING id, email, "
                             "display_name, is_admin, disabled_at IS NOT NULL, " TS("created_at"),
                             4},

    /* $1 actor user, $2 actor token, $3 project, $4 action, $5 target, $6 details, $7 ip */
    [DB_STMT_AUDIT_INSERT] = {"audit_insert",
                              "INSERT INTO audit_log (actor_user_id, actor_token_id, project_id, "
                              "action, target, details, ip) VALUES ($1, $2, $3, $4, $5, "
                              "coalesce($6::jsonb, '{}'), $7::inet)",
                              7},
    /* $1 project filter (NULL: all), $2 cursor id (NULL: newest), $3 limit */
    [DB_STMT_AUDIT_LIST] = {"audit_list",
                            "SELECT a.id, " TS("a.ts") ", a.action, a.target, a.details::text, "
                                                       "host(a.ip), u.email, t.prefix, p.slug "
                                                       "FROM audit_log a LEFT JOIN users u ON "
                                                       "u.id = a.actor_user_id LEFT JOIN "
                                                       "api_tokens t ON t.id = a.actor_token_id "
                                                       "LEFT JOIN projects p ON p.id = "
                                                       "a.project_id WHERE ($1::bigint IS NULL "
                                                       "OR a.project_id = $1) AND ($2::bigint IS "
                                                       "NULL OR a.id < $2) ORDER BY a.id DESC "
                                                       "LIMIT $3",
                            3},
    /* $1 project id, $2 user id, $3 is instance admin: like project_access_user, by id. */
    [DB_STMT_PROJECT_ACCESS_USER_BY_ID] =
        {"project_access_user_by_id",
         "SELECT p.id, CASE WHEN $3 THEN 'admin' ELSE m.role "
         "END, p.slug, p.name, " TS(
             "p.created_at") " FROM "
                             "projects p LEFT JOIN project_members m ON "
                             "m.project_id = p.id AND m.user_id = $2 WHERE p.id = "
                             "$1 AND ($3 OR m.role IS NOT NULL)",
         3},
    [DB_STMT_RUN_IN_PROJECT] = {"run_in_project",
                                "SELECT 1 FROM runs WHERE id = $1::uuid AND project_id = $2", 2},
    /* $1 id or NULL, $2 project, $3 idempotency key, $4 kind, $5 name, $6 queue, $7 status,
     * $8 priority, $9 input, $10 params, $11 tags (JSON array), $12 parent, $13 group,
     * $14 progress, $15 project slug. No row back: the id or the key exists already. */
    [DB_STMT_RUN_INSERT] =
        {"run_insert",
         "WITH ins AS (INSERT INTO runs (id, project_id, idempotency_key, kind, name, queue, "
         "status, priority, input, params, tags, parent_id, root_id, group_id, progress, "
         "queued_at, started_at) VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, "
         "$6, $7, $8, $9::jsonb, $10::jsonb, ARRAY(SELECT jsonb_array_elements_text($11::jsonb)), "
         "$12::uuid, (SELECT coalesce(p.root_id, p.id) FROM runs p WHERE p.id = $12::uuid), $13, "
         "$14::real, CASE WHEN $7 = 'queued' THEN now() END, CASE WHEN $7 = 'running' THEN now() "
         "END) ON CONFLICT DO NOTHING RETURNING *) SELECT run_json(ins, $15, NULL), ins.id FROM "
         "ins",
         15},
    /* $1 id or NULL, $2 idempotency key or NULL, $3 project: the run a retried create made. */
    [DB_STMT_RUN_FIND_EXISTING] =
        {"run_find_existing",
         "SELECT run_json(r, p.slug, latest_attempt_json(r.id)), r.project_id = $3, r.id FROM runs "
         "r JOIN projects p ON p.id = r.project_id WHERE r.id = "
         "$1::uuid OR (r.project_id = $3 AND r.idempotency_key = $2) "
         "LIMIT 1",
         3},
    [DB_STMT_RUN_GET] = {"run_get",
                         "SELECT run_json(r, p.slug, latest_attempt_json(r.id)), r.project_id FROM "
                         "runs r JOIN projects p ON "
                         "p.id = r.project_id WHERE r.id = $1::uuid",
                         1},
    [DB_STMT_RUN_STATUS] = {"run_status", "SELECT status, project_id FROM runs WHERE id = $1::uuid",
                            1},
    [DB_STMT_RUN_LOCK] = {"run_lock",
                          "SELECT status, project_id FROM runs WHERE id = $1::uuid FOR UPDATE", 1},
    /* NULL keeps a field. $1 id, $2 status, $3 progress, $4 result, $5 error type,
     * $6 error message, $7 traceback, $8 summary, $9 tags (JSON array). */
    [DB_STMT_RUN_UPDATE] =
        {"run_update",
         /* The new status, from the lifecycle (sql/functions/lifecycle.sql): the request
          * must be a legal move, and a cancel that was asked for wins over a retry. */
         "WITH cur AS (SELECT id, run_next_status(status, $2, cancel_requested) AS ns FROM runs "
         "WHERE id = $1::uuid),"
         /* A run that stops running ends its running attempt the same way, so a run never
          * has a running attempt unless it runs itself (and never two). */
         " closed AS (UPDATE attempts a SET status = CASE cur.ns WHEN 'succeeded' THEN "
         "'succeeded' WHEN 'cancelled' THEN 'cancelled' ELSE 'failed' END, ended_at = now(),"
         " error_type = coalesce($5, a.error_type), error_message = coalesce($6, "
         "a.error_message), error_traceback = coalesce($7, a.error_traceback) FROM cur WHERE "
         "a.run_id = cur.id AND a.status = 'running' AND cur.ns <> 'running' RETURNING a.*)"
         " UPDATE runs r SET status = cur.ns,"
         " progress = coalesce($3::real, CASE WHEN cur.ns = 'succeeded' THEN 1 ELSE r.progress "
         "END),"
         " result = coalesce($4::jsonb, r.result), summary = coalesce($8::jsonb, r.summary),"
         " tags = CASE WHEN $9::jsonb IS NULL THEN r.tags ELSE"
         " ARRAY(SELECT jsonb_array_elements_text($9::jsonb)) END,"
         /* Success clears an earlier attempt's error unless one is reported with it. */
         " error_type = CASE WHEN cur.ns = 'succeeded' AND $2 IS NOT NULL THEN $5 ELSE "
         "coalesce($5, r.error_type) END,"
         " error_message = CASE WHEN cur.ns = 'succeeded' AND $2 IS NOT NULL THEN $6 ELSE "
         "coalesce($6, r.error_message) END,"
         " error_traceback = CASE WHEN cur.ns = 'succeeded' AND $2 IS NOT NULL THEN $7 ELSE "
         "coalesce($7, r.error_traceback) END,"
         " error_fingerprint = CASE WHEN $5 IS NOT NULL OR $6 IS NOT NULL THEN "
         "error_fingerprint(coalesce($5, r.error_type), coalesce($6, r.error_message)) WHEN "
         "cur.ns = 'succeeded' AND $2 IS NOT NULL THEN NULL ELSE r.error_fingerprint END,"
         " started_at = CASE WHEN cur.ns = 'running' THEN coalesce(r.started_at, now()) ELSE "
         "r.started_at END,"
         " ended_at = CASE WHEN cur.ns IN ('succeeded', 'failed', 'cancelled') THEN "
         "coalesce(r.ended_at, now()) ELSE r.ended_at END,"
         " queued_at = CASE WHEN cur.ns = 'queued' AND r.status <> 'queued' THEN now() ELSE "
         "r.queued_at END,"
         " lease_expires_at = CASE WHEN cur.ns <> 'running' THEN NULL ELSE r.lease_expires_at "
         "END,"
         " updated_at = now() FROM cur WHERE r.id = cur.id"
         /* The statement's snapshot predates `closed`: its attempt is passed in directly. */
         " RETURNING run_json(r, (SELECT slug FROM projects WHERE id = r.project_id), "
         "coalesce((SELECT attempt_json(c) FROM closed c), latest_attempt_json(r.id)))",
         9},
/* The run list, by creation, start, end or duration, either way, keyset-paginated on
 * (key, id) along an index of migration 0006 (or 0001 for created). Runs without the
 * key (never started, not ended) are not in the started/ended/duration lists. NULL
 * skips a filter. $1 project, $2 statuses (text[]), $3 kind, $4 queue, $5 worker,
 * $6 tag, $7 parent, $8 created after, $9 created before, $10 text (id prefix or name
 * substring), $11 cursor key, $12 cursor id, $13 limit, $14 ended after,
 * $15 ended before. The cursor key is a time, or for duration microseconds. */
#define CUR_TS(col)  TS(col)
#define CUR_US(expr) "(extract(epoch FROM " expr ") * 1000000)::bigint::text"
#define RUN_LIST(key, cur, curkey, cond, order, cmp)                                               \
    "SELECT run_json(r, p.slug, latest_attempt_json(r.id)), " cur ", r.id FROM runs r JOIN "       \
    "projects p ON p.id = r.project_id WHERE r.project_id = $1" cond " AND ($2::text[] IS NULL "   \
    "OR r.status = ANY($2::text[])) AND ($3::text IS NULL OR r.kind = $3) AND ($4::text IS NULL "  \
    "OR r.queue = $4) AND ($5::bigint IS NULL OR r.worker_id = $5) AND ($6::text IS NULL OR "      \
    "r.tags @> ARRAY[$6::text]) AND ($7::uuid IS NULL OR r.parent_id = $7) AND ($8::timestamptz "  \
    "IS NULL OR r.created_at >= $8) AND ($9::timestamptz IS NULL OR r.created_at < $9) AND "       \
    "($10::text IS NULL OR r.id::text LIKE $10 || '%' OR r.name ILIKE '%' || $10 || '%') AND "     \
    "($11::text IS NULL OR (" key ", r.id) " cmp " (" curkey ", $12::uuid)) AND "                  \
    "($14::timestamptz IS NULL OR r.ended_at >= $14) AND ($15::timestamptz IS NULL OR "            \
    "r.ended_at < $15) ORDER BY " key " " order ", r.id " order " LIMIT $13"
#define RUN_LIST_TS(col, cond, order, cmp)                                                         \
    RUN_LIST("r." col, CUR_TS("r." col), "$11::timestamptz", cond, order, cmp)
/* Duration is ended - started: the expression of runs_project_duration_idx. */
#define RUN_DURATION "(r.ended_at - r.started_at)"
#define RUN_LIST_DURATION(order, cmp)                                                              \
    RUN_LIST(RUN_DURATION, CUR_US(RUN_DURATION), "$11::bigint * interval '1 microsecond'",         \
             " AND r.ended_at IS NOT NULL AND r.started_at IS NOT NULL", order, cmp)
    [DB_STMT_RUN_LIST_DESC] = {"run_list_desc", RUN_LIST_TS("created_at", "", "DESC", "<"), 15},
    [DB_STMT_RUN_LIST_ASC] = {"run_list_asc", RUN_LIST_TS("created_at", "", "ASC", ">"), 15},
    [DB_STMT_RUN_LIST_STARTED_DESC] = {"run_list_started_desc",
                                       RUN_LIST_TS("started_at", " AND r.started_at IS NOT NULL",
                                                   "DESC", "<"),
                                       15},
    [DB_STMT_RUN_LIST_STARTED_ASC] = {"run_list_started_asc",
                                      RUN_LIST_TS("started_at", " AND r.started_at IS NOT NULL",
                                                  "ASC", ">"),
                                      15},
    [DB_STMT_RUN_LIST_ENDED_DESC] = {"run_list_ended_desc",
                                     RUN_LIST_TS("ended_at", " AND r.ended_at IS NOT NULL", "DESC",
                                                 "<"),
                                     15},
    [DB_STMT_RUN_LIST_ENDED_ASC] = {"run_list_ended_asc",
                                    RUN_LIST_TS("ended_at", " AND r.ended_at IS NOT NULL", "ASC",
                                                ">"),
                                    15},
    [DB_STMT_RUN_LIST_DURATION_DESC] = {"run_list_duration_desc", RUN_LIST_DURATION("DESC", "<"),
                                        15},
    [DB_STMT_RUN_LIST_DURATION_ASC] = {"run_list_duration_asc", RUN_LIST_DURATION("ASC", ">"), 15},
#undef RUN_LIST_DURATION
#undef RUN_DURATION
#undef RUN_LIST_TS
#undef RUN_LIST
#undef CUR_US
#undef CUR_TS
    /* $1 JSON array of run ids: each id's run (NULLs for an unknown id), in the order
     * asked. The id comes back in PostgreSQL's spelling, as run-end notifications have it. */
    [DB_STMT_RUN_WAIT_STATUS] = {"run_wait_status",
                                 "SELECT u.id::uuid::text, r.status, " TS(
                                     "r.ended_at") ", r.project_id FROM jsonb_array_elements_text("
                                                   "$1::jsonb) WITH ORDINALITY u(id, i) LEFT JOIN "
                                                   "runs r ON r.id = u.id::uuid ORDER BY u.i",
                                 1},
    /* Waits take one of $1 slots (advisory locks, see migration 0006). */
    [DB_STMT_WAIT_SLOT_TAKE] = {"wait_slot_take", "SELECT wait_slot_take($1::int)", 1},
    [DB_STMT_WAIT_SLOT_GIVE] = {"wait_slot_give", "SELECT pg_advisory_unlock(1920165473, $1::int)",
                                1},
    [DB_STMT_LISTEN_RUN_ENDED] = {"listen_run_ended", "LISTEN runwatch_run_ended", 0},
    [DB_STMT_UNLISTEN_RUN_ENDED] = {"unlisten_run_ended", "UNLISTEN runwatch_run_ended", 0},
    /* $5 progress or NULL, $6 the attempt the worker runs or NULL (WRITE_ACCESS above):
     * the run's and its latest attempt's heartbeat, renewing a running run's lease.
     * Nothing changes when $6 is not the running latest attempt; the answer's status is
     * then NULL and the latest attempt's seq and status say why. */
    [DB_STMT_RUN_HEARTBEAT] =
        {"run_heartbeat",
         "WITH " WRITE_ACCESS ","
         " cur AS (SELECT seq, status FROM attempts WHERE run_id = $1::uuid ORDER BY seq DESC "
         "LIMIT 1),"
         " ok AS (SELECT project_id FROM w WHERE project_id IS NOT NULL AND ($6::int IS NULL OR "
         "EXISTS (SELECT 1 FROM cur WHERE seq = $6::int AND status = 'running'))),"
         " a AS (UPDATE attempts SET last_heartbeat_at = now() FROM ok, cur WHERE run_id = "
         "$1::uuid AND attempts.seq = cur.seq),"
         " u AS (UPDATE runs SET last_heartbeat_at = now(), progress = coalesce($5::real, "
         "progress), lease_expires_at = CASE WHEN status = 'running' AND lease_s IS NOT NULL THEN "
         "now() + make_interval(secs => lease_s) ELSE lease_expires_at END FROM ok WHERE id = "
         "$1::uuid RETURNING cancel_requested, status)"
         " SELECT w.project_id, u.cancel_requested, u.status, (SELECT seq FROM cur), (SELECT "
         "status FROM cur) FROM w LEFT JOIN u ON true",
         6},
    /* A queued or retrying run ends now; a running one is asked to stop. Any other run
     * moves to cancelled too, which the lifecycle trigger refuses (409 naming both). */
    [DB_STMT_RUN_CANCEL] = {"run_cancel",
                            "UPDATE runs SET cancel_requested = (status = 'running'),"
                            " ended_at = CASE WHEN status IN ('queued', 'retrying') THEN now() "
                            "ELSE ended_at END,"
                            " status = CASE WHEN status = 'running' THEN status ELSE "
                            "'cancelled' END, updated_at = now() WHERE id = $1::uuid "
                            "RETURNING "
                            "run_json(runs, (SELECT slug FROM projects WHERE id = "
                            "runs.project_id), latest_attempt_json(runs.id))",
                            1},
    /* $5 JSON array of {ts, kind, level, message, data}: one statement for a whole batch.
     * Answers the project, the count and the first and last ids. */
    [DB_STMT_EVENT_INSERT] =
        {"event_insert",
         "WITH " WRITE_ACCESS ","
         " ins AS (INSERT INTO events (project_id, run_id, attempt_seq, ts, kind, level, message, "
         "data) SELECT w.project_id, $1::uuid, (SELECT max(seq) FROM attempts WHERE run_id = "
         "$1::uuid), coalesce(e.ts, now()), coalesce(e.kind, 'log'), coalesce(e.level, 'info'), "
         "coalesce(e.message, ''), e.data FROM w, jsonb_to_recordset($5::jsonb) AS e(ts "
         "timestamptz, "
         "kind text, level text, message text, data jsonb) WHERE w.project_id IS NOT NULL "
         "RETURNING id)"
         " SELECT (SELECT project_id FROM w), count(*), min(id)::text, max(id)::text FROM ins",
         5},
    [DB_STMT_EVENT_LIST] = {"event_list",
                            "SELECT event_json(e), e.id::text FROM events e WHERE e.run_id = "
                            "$1::uuid AND e.id > $2 ORDER BY e.id LIMIT $3",
                            3},
    /* Newest first, before an id ($2, NULL for the newest): the log's tail in one page,
     * walking (run_id, id) backwards. */
    [DB_STMT_EVENT_LIST_DESC] = {"event_list_desc",
                                 "SELECT event_json(e), e.id::text FROM events e WHERE e.run_id = "
                                 "$1::uuid AND ($2::bigint IS NULL OR e.id < $2) ORDER BY e.id "
                                 "DESC LIMIT $3",
                                 3},
    /* $5 JSON array of {key, value, step, ts} (WRITE_ACCESS above). Answers the project,
     * the count and the newest point of each key (at most 20), for the live message. */
    [DB_STMT_METRIC_INSERT] =
        {"metric_insert",
         "WITH " WRITE_ACCESS ","
         " ins AS (INSERT INTO metrics (project_id, run_id, key, step, ts, value) SELECT "
         "w.project_id, $1::uuid, m.key, m.step, coalesce(m.ts, now()), m.value FROM w, "
         "jsonb_to_recordset($5::jsonb) AS m(key text, step bigint, ts timestamptz, value double "
         "precision) WHERE w.project_id IS NOT NULL RETURNING key, step, ts, value)"
         " SELECT (SELECT project_id FROM w), count(*), (SELECT coalesce(json_agg(l ORDER BY "
         "l.key), '[]') FROM (SELECT DISTINCT ON (key) key, step, value, ts FROM ins ORDER BY key, "
         "step DESC NULLS LAST, ts DESC LIMIT 20) l) FROM ins",
         5},
    /* The keys of a run's metrics with a summary of each. A series is ordered by step,
     * then time (points without a step come last). */
    [DB_STMT_METRIC_KEYS] =
        {"metric_keys",
         "SELECT coalesce(json_agg(json_build_object('key', key, 'count', n, 'first_step', fs, "
         "'last_step', ls, 'last_value', lv, 'last_ts', lt, 'min', mn, 'max', mx) ORDER BY key), "
         "'[]') FROM (SELECT key, count(*) AS n, min(step) AS fs, max(step) AS ls, min(value) AS "
         "mn, max(value) AS mx, max(ts) AS lt, (array_agg(value ORDER BY step DESC NULLS LAST, ts "
         "DESC))[1] AS lv FROM metrics WHERE run_id = $1::uuid GROUP BY key) k",
         1},
    /* $1 run, $2 keys (text[]), $3 most points per series. A longer series is cut into $3
     * buckets of consecutive points; each bucket answers its last step and time, the mean
     * and the min and max (so a spike survives downsampling). */
    [DB_STMT_METRIC_SERIES] =
        {"metric_series",
         "WITH pts AS (SELECT key, step, ts, value, row_number() OVER (PARTITION BY key ORDER BY "
         "step NULLS LAST, ts) - 1 AS i, count(*) OVER (PARTITION BY key) AS n FROM metrics WHERE "
         "run_id = $1::uuid AND key = ANY($2::text[])),"
         " g AS (SELECT key, (i * $3::bigint) / n AS bucket, max(n) AS n, max(step) AS step, "
         "max(ts) "
         "AS ts, avg(value) AS v, min(value) AS mn, max(value) AS mx FROM pts GROUP BY key, (i * "
         "$3::bigint) / n),"
         " s AS (SELECT key, max(n) AS n, json_agg(CASE WHEN n > $3::bigint THEN "
         "json_build_object('step', step, 'ts', ts, 'value', v, 'min', mn, 'max', mx) ELSE "
         "json_build_object('step', step, 'ts', ts, 'value', v) END ORDER BY bucket) AS pts FROM g "
         "GROUP BY key)"
         " SELECT json_agg(json_build_object('key', k.key, 'count', coalesce(s.n, 0), "
         "'downsampled', coalesce(s.n, 0) > $3::bigint, 'points', coalesce(s.pts, '[]')) ORDER BY "
         "k.i) FROM unnest($2::text[]) WITH ORDINALITY k(key, i) LEFT JOIN s ON s.key = k.key",
         3},
    [DB_STMT_ATTEMPT_LIST] = {"attempt_list",
                              "SELECT attempt_json(a) FROM attempts a WHERE a.run_id = $1::uuid "
                              "ORDER BY a.seq",
                              1},
    [DB_STMT_ATTEMPT_LATEST] = {"attempt_latest",
                                "SELECT seq, status FROM attempts WHERE run_id = $1::uuid ORDER "
                                "BY seq DESC LIMIT 1",
                                1},
    /* $1 run, $2 worker or NULL, $3 lease seconds or NULL: a new running attempt; the run
     * runs with it. (A CTE's insert is invisible to its siblings: the attempt's JSON is
     * passed to run_json directly.) */
    [DB_STMT_ATTEMPT_START] =
        {"attempt_start",
         "WITH a AS (INSERT INTO attempts (run_id, seq, status, worker_id, started_at, "
         "last_heartbeat_at) VALUES ($1::uuid, coalesce((SELECT max(seq) FROM attempts WHERE "
         "run_id = $1::uuid), 0) + 1, 'running', $2::bigint, now(), now()) RETURNING *),"
         " r AS (UPDATE runs SET status = 'running', started_at = coalesce(started_at, now()),"
         " worker_id = coalesce($2::bigint, worker_id), last_heartbeat_at = now(), lease_s = "
         "$3::int, lease_expires_at = now() + make_interval(secs => $3::int), updated_at = now() "
         "WHERE id = $1::uuid RETURNING *)"
         " SELECT run_json(r, (SELECT slug FROM projects WHERE id = r.project_id), (SELECT "
         "attempt_json(a) FROM a)) FROM r",
         3},
    /* $1 run, $2 seq: the attempt's status and whether it is the latest. */
    [DB_STMT_ATTEMPT_LOCK] = {"attempt_lock",
                              "SELECT status, seq = (SELECT max(seq) FROM attempts WHERE run_id = "
                              "$1::uuid) FROM attempts WHERE run_id = $1::uuid AND seq = $2::int "
                              "FOR UPDATE",
                              2},
    /* $1 run, $2 seq, $3 status, $4 error type, $5 message, $6 traceback */
    [DB_STMT_ATTEMPT_FINISH] = {"attempt_finish",
                                "UPDATE attempts SET status = $3, ended_at = CASE WHEN $3 <> "
                                "'running' THEN coalesce(ended_at, now()) END, error_type = "
                                "coalesce($4, error_type), error_message = coalesce($5, "
                                "error_message), error_traceback = coalesce($6, error_traceback) "
                                "WHERE run_id = $1::uuid AND seq = $2::int RETURNING "
                                "attempt_json(attempts)",
                                6},
    /* $1 project, $2 queue: runs whose worker let the lease lapse are queued again
     * (the lifecycle's one system move, sql/functions/lifecycle.sql). */
    [DB_STMT_LEASE_EXPIRE] = {"lease_expire", "SELECT run_expire_leases($1::bigint, $2)", 2},
    /* $1 project, $2 queue, $3 kinds (text[]) or NULL, $4 worker or NULL, $5 lease
     * seconds: the highest-priority, oldest queued run, started as a new attempt, in one
     * autocommitted statement. Always one row: whether the worker may claim (of the
     * project, not stopped; else nothing is claimed and the API says why), then the run
     * and its id, NULL when the queue has nothing for it. */
    [DB_STMT_CLAIM] =
        {"claim",
         "WITH wk AS (SELECT 1 WHERE $4::bigint IS NULL OR EXISTS (SELECT 1 FROM workers WHERE id "
         "= $4::bigint AND project_id = $1 AND status <> 'stopped')),"
         " c AS (SELECT id FROM runs WHERE project_id = $1 AND queue = $2 AND status = 'queued' "
         "AND ($3::text[] IS NULL OR kind = ANY($3::text[])) AND EXISTS (SELECT 1 FROM wk) ORDER "
         "BY priority DESC, created_at LIMIT 1 FOR UPDATE SKIP LOCKED),"
         " a AS (INSERT INTO attempts (run_id, seq, status, worker_id, started_at, "
         "last_heartbeat_at) SELECT c.id, coalesce((SELECT max(seq) FROM attempts WHERE run_id = "
         "c.id), 0) + 1, 'running', $4::bigint, now(), now() FROM c RETURNING *),"
         " r AS (UPDATE runs SET status = 'running', started_at = coalesce(started_at, now()), "
         "worker_id = $4::bigint, last_heartbeat_at = now(), lease_s = $5::int, lease_expires_at "
         "= now() + make_interval(secs => $5::int), cancel_requested = false, updated_at = now() "
         "FROM c WHERE runs.id = c.id RETURNING runs.*)"
         " SELECT EXISTS (SELECT 1 FROM wk), run_json(r, (SELECT slug FROM projects WHERE id = "
         "r.project_id), (SELECT attempt_json(a) FROM a)), r.id FROM (SELECT 1) one LEFT JOIN r ON "
         "true",
         5},

    [DB_STMT_WORKER_IN_PROJECT] = {"worker_in_project",
                                   "SELECT status FROM workers WHERE id = $1::bigint AND "
                                   "project_id = $2",
                                   2},
    /* $1 project, $2 name, $3 host, $4 pid, $5 labels, $6 kinds (JSON array). Registering again
     * reuses the row (same project and name): fields left out keep their values, the status is
     * online again, and a new session begins (the open one ends as replaced). */
    [DB_STMT_WORKER_REGISTER] =
        {"worker_register",
         "WITH w AS (INSERT INTO workers (project_id, name, host, pid, labels, kinds, status, "
         "started_at, last_heartbeat_at, stopped_at) VALUES ($1, $2, coalesce($3, ''), $4::int, "
         "coalesce($5::jsonb, '{}'), ARRAY(SELECT jsonb_array_elements_text(coalesce($6::jsonb, "
         "'[]'))), 'online', now(), now(), NULL) ON CONFLICT (project_id, name) DO UPDATE SET "
         "host = coalesce($3, workers.host), pid = coalesce($4::int, workers.pid), labels = "
         "coalesce($5::jsonb, workers.labels), kinds = CASE WHEN $6::jsonb IS NULL THEN "
         "workers.kinds ELSE EXCLUDED.kinds END, status = 'online', started_at = now(), "
         "last_heartbeat_at = now(), stopped_at = NULL RETURNING workers AS wrow, xmax = 0 AS "
         "created),"
         " ended AS (UPDATE worker_sessions s SET ended_at = now(), end_reason = 'replaced' FROM w "
         "WHERE s.worker_id = (w.wrow).id AND s.ended_at IS NULL),"
         " sess AS (INSERT INTO worker_sessions (worker_id, host, pid) SELECT (wrow).id, "
         "(wrow).host, "
         "(wrow).pid FROM w)"
         " SELECT worker_json(w.wrow), (w.wrow).id, w.created FROM w",
         6},
    [DB_STMT_WORKER_GET] = {"worker_get",
                            "SELECT status, project_id FROM workers WHERE id = $1::bigint", 1},
    /* The worker, the runs it has in flight, its last 20 sessions (newest first) and its
     * last 120 resource samples (oldest first, for a chart). */
    [DB_STMT_WORKER_DETAIL] =
        {"worker_detail",
         "SELECT json_build_object('worker', worker_json(w), 'current_runs', coalesce((SELECT "
         "json_agg(run_json(r, p.slug, latest_attempt_json(r.id)) ORDER BY r.started_at DESC) "
         "FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.worker_id = w.id AND "
         "r.status = 'running'), '[]'), 'sessions', coalesce((SELECT json_agg(json_build_object("
         "'id', s.id, 'host', s.host, 'pid', s.pid, 'started_at', s.started_at, 'ended_at', "
         "s.ended_at, 'end_reason', s.end_reason) ORDER BY s.started_at DESC, s.id DESC) FROM "
         "(SELECT * FROM worker_sessions WHERE worker_id = w.id ORDER BY started_at DESC, id DESC "
         "LIMIT 20) s), '[]'), 'samples', coalesce((SELECT json_agg(json_build_object('ts', x.ts, "
         "'sample', x.sample) ORDER BY x.ts) FROM (SELECT ts, sample FROM worker_samples WHERE "
         "worker_id = w.id ORDER BY ts DESC LIMIT 120) x), '[]')) FROM workers w WHERE w.id = "
         "$1::bigint",
         1},
    /* $1 worker, $2 status or NULL, $3 resources sample or NULL */
    [DB_STMT_WORKER_HEARTBEAT] = {"worker_heartbeat",
                                  "UPDATE workers SET last_heartbeat_at = now(), status = "
                                  "coalesce($2, status), resources = coalesce($3::jsonb, "
                                  "resources) WHERE id = $1::bigint RETURNING worker_json(workers)",
                                  3},
    /* $1 worker, $2 sample: kept with the others of the last 7 days (older ones pruned
     * here, along the (worker_id, ts) index, so the table needs no cron). */
    [DB_STMT_WORKER_SAMPLE] =
        {"worker_sample",
         "WITH prune AS (DELETE FROM worker_samples WHERE worker_id = "
         "$1::bigint AND ts < now() - interval '7 days')"
         " INSERT INTO worker_samples (worker_id, sample) VALUES ($1::bigint, "
         "$2::jsonb)",
         2},
    /* A stopped worker's runs in flight get an "interrupted" event each. */
    [DB_STMT_WORKER_STOP] =
        {"worker_stop",
         "WITH w AS (UPDATE workers SET status = 'stopped', stopped_at = coalesce(stopped_at, "
         "now()) WHERE id = $1::bigint RETURNING *),"
         " sess AS (UPDATE worker_sessions SET ended_at = now(), end_reason = 'stopped' WHERE "
         "worker_id = $1::bigint AND ended_at IS NULL),"
         " inflight AS (SELECT r.id, r.project_id FROM runs r JOIN w ON r.worker_id = w.id "
         "WHERE r.status = 'running'),"
         " ev AS (INSERT INTO events (project_id, run_id, kind, level, message, data) SELECT "
         "project_id, id, 'interrupted', 'warning', 'the worker stopped while this run was in "
         "flight', jsonb_build_object('worker_id', $1::bigint) FROM inflight RETURNING run_id)"
         " SELECT worker_json(w), (SELECT coalesce(json_agg(run_id), '[]') FROM ev)::text FROM w",
         1},
    [DB_STMT_WORKER_JSON] = {"worker_json",
                             "SELECT worker_json(w) FROM workers w WHERE w.id = $1::bigint", 1},
    [DB_STMT_WORKER_LIST] = {"worker_list",
                             "SELECT worker_json(w) FROM workers w WHERE w.project_id = $1 AND "
                             "($2::text IS NULL OR w.status = $2) ORDER BY w.name",
                             2},
    /* ---- reports (api/reports.c; the report schema is migration 0007) ---- */
    /* $1 user or NULL, $2 instance admin, $3 token project or NULL, $4 only this project
     * or NULL, $5 backend pid of the connection that will read: a signed grant. */
    [DB_STMT_REPORT_GRANT] = {"report_grant",
                              "SELECT report_grant($1::bigint, $2::boolean, $3::bigint, "
                              "$4::bigint, $5::integer)",
                              5},
    /* The same grant for this connection, for the rest of this transaction. */
    [DB_STMT_REPORT_SET_GRANT] = {"report_set_grant",
                                  "SELECT set_config('runwatch.grant', report_grant($1::bigint, "
                                  "$2::boolean, $3::bigint, $4::bigint, pg_backend_pid()), true)",
                                  4},
/* The window of a report: $1 from or NULL, $2 to or NULL (now), $3 length in seconds
 * when from is NULL. */
#define REPORT_WINDOW                                                                              \
    " FROM (SELECT coalesce($1::timestamptz, coalesce($2::timestamptz, now()) - "                  \
    "make_interval(secs => $3::double precision)) AS f, coalesce($2::timestamptz, now()) AS t) w"
#define REPORT_HEAD(extra)                                                                         \
    "SELECT json_build_object('from', w.f, 'to', w.t" extra ", 'items', coalesce((SELECT "         \
    "json_agg(x) FROM ("
    /* $4 bucket seconds, $5..$8 by project, kind, queue, status */
    [DB_STMT_REPORT_THROUGHPUT] =
        {"report_throughput",
         REPORT_HEAD(
             ", 'bucket_s', $4::integer") "SELECT t.bucket_start AS bucket, p.slug AS "
                                          "project, t.kind, t.queue, t.status, t.started, t.ended "
                                          "FROM report.throughput(w.f, w.t, "
                                          "make_interval(secs => $4::integer), $5::boolean, "
                                          "$6::boolean, $7::boolean, $8::boolean) t "
                                          "LEFT JOIN projects p ON p.id = t.project_id ORDER BY 1, "
                                          "2, 3, 4, 5) x), '[]'))" REPORT_WINDOW,
         8},
    /* $4..$6 by project, kind, experiment */
    [DB_STMT_REPORT_DURATIONS] = {"report_durations",
                                  REPORT_HEAD(
                                      ", 'metric', 'duration', 'relative_error', "
                                      "report.hist_relative_error()") "SELECT p.slug AS project, "
                                                                      "d.kind, "
                                                                      "d.experiment_id, "
                                                                      "e.name AS experiment, "
                                                                      "d.runs, "
                                                                      "d.p50_s, d.p90_s, "
                                                                      "d.p99_s, d.max_s FROM "
                                                                      "report.durations(w.f, w.t, "
                                                                      "$4::boolean, "
                                                                      "$5::boolean, $6::boolean) d "
                                                                      "LEFT "
                                                                      "JOIN projects "
                                                                      "p ON p.id = d.project_id "
                                                                      "LEFT JOIN "
                                                                      "experiments e "
                                                                      "ON e.id = d.experiment_id "
                                                                      "ORDER BY "
                                                                      "1, "
                                                                      "2, 3) x), "
                                                                      "'[]'))" REPORT_WINDOW,
                                  6},
    /* $4..$6 by project, queue, kind */
    [DB_STMT_REPORT_QUEUE_WAIT] = {"report_queue_wait",
                                   REPORT_HEAD(
                                       ", 'metric', 'queue_wait', 'relative_error', "
                                       "report.hist_relative_error()") "SELECT p.slug AS project, "
                                                                       "q.queue, q.kind, "
                                                                       "q.runs, q.p50_s, q.p90_s, "
                                                                       "q.p99_s, q.max_s FROM "
                                                                       "report.queue_wait(w.f, "
                                                                       "w.t, "
                                                                       "$4::boolean, "
                                                                       "$5::boolean, $6::boolean) "
                                                                       "q LEFT "
                                                                       "JOIN projects p "
                                                                       "ON p.id = q.project_id "
                                                                       "ORDER BY "
                                                                       "1, 2, "
                                                                       "3) x), "
                                                                       "'[]'))" REPORT_WINDOW,
                                   6},
    /* $4 bucket seconds, $5..$7 by project, kind, worker */
    [DB_STMT_REPORT_FAILURE_RATE] =
        {"report_failure_rate",
         REPORT_HEAD(
             ", 'bucket_s', $4::integer") "SELECT f.bucket_start AS bucket, p.slug AS "
                                          "project, f.kind, f.worker_id, wk.name AS worker, "
                                          "f.finished, f.failed, f.failure_rate "
                                          "FROM report.failure_rate(w.f, w.t, make_interval(secs "
                                          "=> $4::integer), $5::boolean, "
                                          "$6::boolean, $7::boolean) f LEFT JOIN projects p ON "
                                          "p.id = f.project_id LEFT JOIN "
                                          "workers wk ON wk.id = f.worker_id ORDER BY 1, 2, 3, 4) "
                                          "x), '[]'))" REPORT_WINDOW,
         7},
    /* $4 limit */
    [DB_STMT_REPORT_FAILURE_GROUPS] =
        {"report_failure_groups",
         REPORT_HEAD(
             "") "SELECT p.slug AS project, g.fingerprint, g.error_type, g.error_message, "
                 "g.runs, g.first_seen, g.last_seen, g.kinds, g.workers, g.sample_runs FROM "
                 "report.failure_groups(w.f, w.t) g LEFT JOIN projects p ON p.id = g.project_id "
                 "ORDER BY "
                 "g.runs DESC, g.last_seen DESC LIMIT "
                 "$4::integer) x), '[]'))" REPORT_WINDOW,
         4},
#undef REPORT_HEAD
#undef REPORT_WINDOW
    /* $1 fingerprint, $2 cursor end time, $3 cursor id (NULL: first page), $4 limit: the
     * failed runs of a group, newest first, in the projects of the grant. */
    [DB_STMT_REPORT_GROUP_RUNS] =
        {"report_group_runs",
         "SELECT run_json(r, p.slug, latest_attempt_json(r.id)), " TS(
             "r.ended_at") ", r.id FROM runs r JOIN projects p ON p.id = r.project_id WHERE "
                           "r.project_id = ANY ((SELECT report.visible_projects())::bigint[]) AND "
                           "r.error_fingerprint = $1 AND r.status = 'failed' AND ($2::timestamptz "
                           "IS NULL OR (r.ended_at, r.id) < ($2::timestamptz, $3::uuid)) ORDER BY "
                           "r.ended_at DESC, r.id DESC LIMIT $4",
         4},
    /* $1 anomaly kinds (text[]) or NULL for all, $2 limit: counts by kind and the oldest
     * first. */
    [DB_STMT_REPORT_ANOMALIES] =
        {"report_anomalies",
         "WITH a AS MATERIALIZED (SELECT * FROM report.anomalies WHERE $1::text[] IS NULL OR "
         "anomaly = ANY ($1::text[]))"
         " SELECT json_build_object('counts', (SELECT json_build_object('stuck', count(*) FILTER "
         "(WHERE anomaly = 'stuck'), 'stale', count(*) FILTER (WHERE anomaly = 'stale'), "
         "'interrupted', count(*) FILTER (WHERE anomaly = 'interrupted'), 'lease_expired', "
         "count(*) FILTER (WHERE anomaly = 'lease_expired')) FROM a), 'items', coalesce((SELECT "
         "json_agg(x) FROM (SELECT a.anomaly, p.slug AS project, a.run_id, a.kind, a.queue, "
         "a.worker_id, a.since, a.age_s, a.detail FROM a JOIN projects p ON p.id = a.project_id "
         "ORDER BY a.age_s DESC, a.run_id LIMIT $2::integer) x), '[]'))",
         2},
    /* $1 project, $2 slug */
    [DB_STMT_THRESHOLDS_GET] =
        {"thresholds_get",
         "SELECT json_build_object('project', $2::text, 'stuck_after_s', coalesce(t.stuck_after_s, "
         "300), 'stale_after_s', coalesce(t.stale_after_s, 3600), 'lease_window_s', "
         "coalesce(t.lease_window_s, 3600), 'updated_at', t.updated_at) FROM (SELECT $1::bigint "
         "AS id) p LEFT JOIN anomaly_thresholds t ON t.project_id = p.id",
         2},
    /* $1 project, $2 stuck, $3 stale, $4 lease window, $5 user or NULL, $6 slug */
    [DB_STMT_THRESHOLDS_PUT] =
        {"thresholds_put",
         "INSERT INTO anomaly_thresholds AS t (project_id, stuck_after_s, stale_after_s, "
         "lease_window_s, updated_at, updated_by) VALUES ($1, $2, $3, $4, now(), $5::bigint) ON "
         "CONFLICT (project_id) DO UPDATE SET stuck_after_s = EXCLUDED.stuck_after_s, "
         "stale_after_s = EXCLUDED.stale_after_s, lease_window_s = EXCLUDED.lease_window_s, "
         "updated_at = now(), updated_by = EXCLUDED.updated_by RETURNING json_build_object("
         "'project', $6::text, 'stuck_after_s', t.stuck_after_s, 'stale_after_s', "
         "t.stale_after_s, 'lease_window_s', t.lease_window_s, 'updated_at', t.updated_at)",
         6},
    /* Saved reports of the projects of the grant. */
    [DB_STMT_SAVED_LIST] = {"saved_list",
                            "SELECT saved_report_json(s, p.slug) FROM saved_reports s JOIN "
                            "projects p ON p.id = s.project_id WHERE s.project_id = ANY ((SELECT "
                            "report.visible_projects())::bigint[]) ORDER BY p.slug, s.name",
                            0},
    [DB_STMT_SAVED_GET] = {"saved_get",
                           "SELECT saved_report_json(s, p.slug), s.project_id, s.owner_id, s.sql "
                           "FROM saved_reports s JOIN projects p ON p.id = s.project_id WHERE s.id "
                           "= $1::bigint",
                           1},
    /* $1 project, $2 owner, $3 name, $4 sql, $5 chart, $6 slug */
    [DB_STMT_SAVED_CREATE] = {"saved_create",
                              "INSERT INTO saved_reports AS s (project_id, owner_id, name, sql, "
                              "chart) VALUES ($1, $2::bigint, $3, $4, coalesce($5::jsonb, "
                              "'{\"type\": \"table\"}')) RETURNING saved_report_json(s, $6)",
                              6},
    /* NULL keeps a field. $1 id, $2 name, $3 sql, $4 chart, $5 slug */
    [DB_STMT_SAVED_UPDATE] = {"saved_update",
                              "UPDATE saved_reports s SET name = coalesce($2, name), sql = "
                              "coalesce($3, sql), chart = coalesce($4::jsonb, chart), updated_at "
                              "= now() WHERE id = $1::bigint RETURNING saved_report_json(s, $5)",
                              5},
    [DB_STMT_SAVED_DELETE] = {"saved_delete", "DELETE FROM saved_reports WHERE id = $1::bigint", 1},

    /* One row a project for GET /metrics: runs by status (one pass over
     * runs_project_status_idx, index only), the start/end counters of migration 0008
     * summed over their shards, and stuck runs (the partial index of running runs).
     * Column order is prom.c's. */
    [DB_STMT_PROM_RUNS] =
        {"prom_runs",
         "SELECT p.slug, coalesce(s.queued, 0), coalesce(s.running, 0), coalesce(s.retrying, 0),"
         " coalesce(s.succeeded, 0), coalesce(s.failed, 0), coalesce(s.cancelled, 0),"
         " coalesce(c.started, 0), coalesce(c.succeeded, 0), coalesce(c.failed, 0),"
         " coalesce(c.cancelled, 0), coalesce(k.stuck, 0) FROM projects p"
         " LEFT JOIN (SELECT project_id, count(*) FILTER (WHERE status = 'queued') AS queued,"
         " count(*) FILTER (WHERE status = 'running') AS running,"
         " count(*) FILTER (WHERE status = 'retrying') AS retrying,"
         " count(*) FILTER (WHERE status = 'succeeded') AS succeeded,"
         " count(*) FILTER (WHERE status = 'failed') AS failed,"
         " count(*) FILTER (WHERE status = 'cancelled') AS cancelled"
         " FROM runs GROUP BY project_id) s ON s.project_id = p.id"
         " LEFT JOIN (SELECT project_id, sum(started) AS started, sum(succeeded) AS succeeded,"
         " sum(failed) AS failed, sum(cancelled) AS cancelled FROM run_counters"
         " GROUP BY project_id) c ON c.project_id = p.id"
         " LEFT JOIN (SELECT r.project_id, count(*) AS stuck FROM runs r"
         " LEFT JOIN anomaly_thresholds t ON t.project_id = r.project_id"
         " WHERE r.status = 'running' AND coalesce(r.last_heartbeat_at, r.started_at) < now() -"
         " make_interval(secs => coalesce(t.stuck_after_s, 300)) GROUP BY r.project_id) k"
         " ON k.project_id = p.id ORDER BY p.slug",
         0},

    /* $1 at most this many deltas: the report rollups' folder (migration 0009). Returns
     * how many it folded, or -1 when another session is folding. */
    [DB_STMT_ROLLUP_FOLD] = {"rollup_fold", "SELECT rollup_fold($1::integer)", 1},
};

/* The ad-hoc connection's own statements. The setup pins what the user's statement runs
 * under: the signed grant ($1), the timeout ($2, ms), and only the report schema on the
 * search path; everything is LOCAL to the read-only transaction. The end rolls it back
 * and clears what a rollback does not: prepared statements and session advisory locks. */
const char *const db_report_sql[DB_REPORT__COUNT] = {
    [DB_REPORT_BEGIN] = "BEGIN READ ONLY",
    [DB_REPORT_SETUP] = "SELECT set_config('runwatch.grant', $1, true), "
                        "set_config('statement_timeout', $2, true), "
                        "set_config('lock_timeout', $2, true), "
                        "set_config('search_path', 'report', true)",
    [DB_REPORT_END] = "ROLLBACK; DEALLOCATE ALL; SELECT pg_advisory_unlock_all()",
};
