/* users: accounts. Only instance admins manage them over HTTP. An admin cannot
 * disable or demote their own account, so an instance is never left without one by
 * a slip. Disabling a user ends their sessions at once. Creating a user is
 * accounts_user_create and an admin's password reset accounts_password_reset, which the
 * CLI calls too (`runwatch-api user create|reset-password`). */
#include "users.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_log.h"
#include "access.h"
#include "accounts.h"
#include "db.h"
#include "log.h"

/* user_get, user_create, user_list and user_update answer the same columns (users.sql). */
#define USERS_SAME_COLS(a, b)                                                                      \
    (a##_ID == b##_ID && a##_EMAIL == b##_EMAIL && a##_DISPLAY_NAME == b##_DISPLAY_NAME &&         \
     a##_IS_ADMIN == b##_IS_ADMIN && a##_DISABLED == b##_DISABLED &&                               \
     a##_CREATED_AT == b##_CREATED_AT && a##__NOUT == b##__NOUT)
_Static_assert(USERS_SAME_COLS(USER_GET, USER_CREATE) && USERS_SAME_COLS(USER_GET, USER_LIST) &&
                   USERS_SAME_COLS(USER_GET, USER_UPDATE),
               "the user statements answer different columns");
#undef USERS_SAME_COLS

json_object *users_row_json(PGresult *res, int row)
{
    json_object *u = json_object_new_object();
    json_object_object_add(
        u, "id", json_object_new_int64(strtoll(PQgetvalue(res, row, USER_GET_ID), NULL, 10)));
    json_object_object_add(u, "email",
                           json_object_new_string(PQgetvalue(res, row, USER_GET_EMAIL)));
    json_object_object_add(u, "display_name",
                           json_object_new_string(PQgetvalue(res, row, USER_GET_DISPLAY_NAME)));
    json_object_object_add(
        u, "is_admin", json_object_new_boolean(PQgetvalue(res, row, USER_GET_IS_ADMIN)[0] == 't'));
    json_object_object_add(
        u, "disabled", json_object_new_boolean(PQgetvalue(res, row, USER_GET_DISABLED)[0] == 't'));
    json_object_object_add(u, "created_at",
                           json_object_new_string(PQgetvalue(res, row, USER_GET_CREATED_AT)));
    return u;
}

int users_list(struct req *r)
{
    PGresult *res;

    if (access_require_instance_admin(&r->op) ||
        !(res = db_exec(&r->op, DB_STMT_USER_LIST, NULL, 0)))
        return -1;
    json_object *items = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_object_array_add(items, users_row_json(res, i));
    return req_json(r, 200, req_page(items, NULL));
}

int users_create(struct req *r)
{
    static const char *const keys[] = {"email", "display_name", "password", "is_admin", NULL};
    struct jsonx_err je;
    const char *email = NULL, *name = "", *password = NULL;
    int is_admin = 0;
    PGresult *res;

    if (access_require_instance_admin(&r->op))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "email", JSONX_REQUIRED, 3, 254, &email, NULL, &je) ||
        jsonx_string(r->body_json, "display_name", 0, 0, 200, &name, NULL, &je) ||
        jsonx_string(r->body_json, "password", JSONX_REQUIRED, 0, 1024, &password, NULL, &je) ||
        jsonx_bool(r->body_json, "is_admin", 0, &is_admin, NULL, &je))
        return req_error_json(r, 400, &je);
    if (db_begin(&r->op) ||
        !(res = accounts_user_create(&r->op, email, name, password, is_admin)) || db_commit(&r->op))
        return -1;
    return req_json(r, 201, users_row_json(res, 0));
}

int users_update(struct req *r)
{
    static const char *const keys[] = {"display_name", "is_admin", "disabled", NULL};
    struct jsonx_err je;
    const char *uid = req_path_param(r, "user"), *name = NULL;
    int is_admin = 0, disabled = 0, has_admin = 0, has_disabled = 0;
    PGresult *res;

    if (access_require_instance_admin(&r->op))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "display_name", 0, 0, 200, &name, NULL, &je) ||
        jsonx_bool(r->body_json, "is_admin", 0, &is_admin, &has_admin, &je) ||
        jsonx_bool(r->body_json, "disabled", 0, &disabled, &has_disabled, &je))
        return req_error_json(r, 400, &je);
    if (!req_is_int(uid))
        return req_error(r, 404, "not_found", NULL, "no such user");
    if (strtoll(uid, NULL, 10) == strtoll(r->op.ident->user_id, NULL, 10) &&
        ((has_admin && !is_admin) || (has_disabled && disabled)))
        return req_error(r, 409, "self_lockout", has_disabled ? "disabled" : "is_admin",
                         "you cannot disable or demote your own account");
    const char *p[USER_UPDATE__NIN] = {
        [USER_UPDATE_IN_USER_ID] = uid,
        [USER_UPDATE_IN_DISPLAY_NAME] = name,
        [USER_UPDATE_IN_IS_ADMIN] = has_admin ? (is_admin ? "true" : "false") : NULL,
        [USER_UPDATE_IN_DISABLED] = has_disabled ? (disabled ? "true" : "false") : NULL};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_USER_UPDATE, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such user");
    const char *pu[SESSIONS_REVOKE_USER__NIN] = {[SESSIONS_REVOKE_USER_IN_USER_ID] = uid};
    if (has_disabled && disabled && !DB_EXEC(&r->op, DB_STMT_SESSIONS_REVOKE_USER, pu))
        return -1;
    const char *details = arena_sprintf(
        r->op.arena, "{\"display_name\":%s,\"is_admin\":%s,\"disabled\":%s}",
        name ? "\"changed\"" : "null", has_admin ? (is_admin ? "true" : "false") : "null",
        has_disabled ? (disabled ? "true" : "false") : "null");
    if (audit_log_write(&r->op, "user.update", NULL, PQgetvalue(res, 0, USER_UPDATE_EMAIL),
                        details) ||
        db_commit(&r->op))
        return -1;
    return req_json(r, 200, users_row_json(res, 0));
}

/* POST /users/{user}/password: an instance admin sets a user's password (the Admin page's
 * "Reset password"); the user's sessions end, as with the CLI's reset-password. */
int users_password(struct req *r)
{
    static const char *const keys[] = {"password", NULL};
    struct jsonx_err je;
    const char *uid = req_path_param(r, "user"), *password = NULL;
    PGresult *res;

    if (access_require_instance_admin(&r->op))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "password", JSONX_REQUIRED, 0, 1024, &password, NULL, &je))
        return req_error_json(r, 400, &je);
    if (!req_is_int(uid))
        return req_error(r, 404, "not_found", NULL, "no such user");
    const char *p[USER_GET__NIN] = {[USER_GET_IN_USER_ID] = uid};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_USER_GET, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such user");
    if (accounts_password_reset(&r->op, PQgetvalue(res, 0, USER_GET_EMAIL), password, "admin") ||
        db_commit(&r->op))
        return -1;
    return req_json(r, 200, users_row_json(res, 0));
}
