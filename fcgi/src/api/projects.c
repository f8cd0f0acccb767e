/* projects: every project endpoint starts with access_project(), which finds the project
 * and the caller's role in one query; a project the caller cannot see is a 404. A
 * project always keeps at least one admin: the last one cannot be demoted or removed
 * (the admin rows are locked while that is checked, so two requests cannot race past
 * it). Tokens are shown whole once, at creation; afterwards only their prefix. */
#include "projects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_log.h"
#include "access.h"
#include "accounts.h"
#include "config.h"
#include "db.h"

static json_object *jstr_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : json_object_new_string(PQgetvalue(res, row, col));
}

static json_object *jint(PGresult *res, int row, int col)
{
    return json_object_new_int64(strtoll(PQgetvalue(res, row, col), NULL, 10));
}

static json_object *project_json(const struct access_project *p)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(strtoll(p->id, NULL, 10)));
    json_object_object_add(o, "slug", json_object_new_string(p->slug));
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "role", json_object_new_string(access_role_name(p->role)));
    json_object_object_add(o, "created_at", json_object_new_string(p->created_at));
    return o;
}

json_object *projects_mine_json(PGresult *res)
{
    json_object *items = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", jint(res, i, MY_PROJECTS_ID));
        json_object_object_add(o, "slug",
                               json_object_new_string(PQgetvalue(res, i, MY_PROJECTS_SLUG)));
        json_object_object_add(o, "name",
                               json_object_new_string(PQgetvalue(res, i, MY_PROJECTS_NAME)));
        json_object_object_add(o, "role",
                               json_object_new_string(PQgetvalue(res, i, MY_PROJECTS_ROLE)));
        json_object_object_add(o, "created_at",
                               json_object_new_string(PQgetvalue(res, i, MY_PROJECTS_CREATED_AT)));
        json_object_array_add(items, o);
    }
    return items;
}

int projects_list(struct req *r)
{
    const struct access_ident *id = r->op.ident;
    const char *p[MY_PROJECTS__NIN] = {
        [MY_PROJECTS_IN_USER_ID] = id->user_id,
        [MY_PROJECTS_IN_IS_ADMIN] = id->is_admin ? "true" : "false",
        [MY_PROJECTS_IN_TOKEN_PROJECT] = id->token_project_id,
        [MY_PROJECTS_IN_TOKEN_ROLE] =
            id->kind == ACCESS_TOKEN ? access_role_name(id->token_role) : NULL};
    PGresult *res = DB_EXEC(&r->op, DB_STMT_MY_PROJECTS, p);
    json_object *items;

    if (!res)
        return -1;
    items = projects_mine_json(res);
    return req_json(r, 200, req_page(items, NULL));
}

int projects_create(struct req *r)
{
    static const char *const keys[] = {"slug", "name", NULL};
    struct jsonx_err je;
    const char *slug = NULL, *name = NULL;
    struct access_project pr;
    PGresult *res;

    if (access_require_instance_admin(&r->op))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "slug", JSONX_REQUIRED, 1, 63, &slug, NULL, &je) ||
        jsonx_string(r->body_json, "name", JSONX_REQUIRED, 1, 200, &name, NULL, &je))
        return req_error_json(r, 400, &je);
    if (!accounts_slug_ok(slug))
        return req_error(r, 422, "invalid_value", "slug",
                         "slug must be lowercase letters, digits and dashes, starting with a "
                         "letter or digit");
    const char *p[PROJECT_CREATE__NIN] = {
        [PROJECT_CREATE_IN_SLUG] = slug, [PROJECT_CREATE_IN_NAME] = name};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_PROJECT_CREATE, p))) {
        req_refine_error(r, 409, "slug", "a project with this slug exists");
        return -1;
    }
    pr.id = PQgetvalue(res, 0, PROJECT_CREATE_ID);
    pr.slug = PQgetvalue(res, 0, PROJECT_CREATE_SLUG);
    pr.name = PQgetvalue(res, 0, PROJECT_CREATE_NAME);
    pr.created_at = PQgetvalue(res, 0, PROJECT_CREATE_CREATED_AT);
    pr.role = ACCESS_ROLE_ADMIN;
    /* The creator administers the project they made. */
    const char *pm[MEMBER_INSERT__NIN] = {[MEMBER_INSERT_IN_PROJECT_ID] = pr.id,
                                          [MEMBER_INSERT_IN_USER_ID] = r->op.ident->user_id,
                                          [MEMBER_INSERT_IN_ROLE] = "admin"};
    if (!DB_EXEC(&r->op, DB_STMT_MEMBER_INSERT, pm) ||
        audit_log_write(&r->op, "project.create", pr.id, pr.slug, NULL) || db_commit(&r->op))
        return -1;
    return req_json(r, 201, project_json(&pr));
}

int projects_get(struct req *r)
{
    struct access_project pr;
    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_VIEWER, &pr))
        return -1;
    return req_json(r, 200, project_json(&pr));
}

int projects_update(struct req *r)
{
    static const char *const keys[] = {"name", NULL};
    struct jsonx_err je;
    const char *name = NULL;
    struct access_project pr;
    PGresult *res;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "name", JSONX_REQUIRED, 1, 200, &name, NULL, &je))
        return req_error_json(r, 400, &je);
    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_ADMIN, &pr))
        return -1;
    const char *p[PROJECT_UPDATE__NIN] = {
        [PROJECT_UPDATE_IN_PROJECT_ID] = pr.id, [PROJECT_UPDATE_IN_NAME] = name};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_PROJECT_UPDATE, p)) ||
        audit_log_write(&r->op, "project.update", pr.id, pr.slug, NULL) || db_commit(&r->op))
        return -1;
    pr.name = PQgetvalue(res, 0, PROJECT_UPDATE_NAME);
    return req_json(r, 200, project_json(&pr));
}

/* ---- members ---- */

/* member_list and member_get answer the same columns (projects.sql). */
_Static_assert(MEMBER_LIST_ID == MEMBER_GET_ID && MEMBER_LIST_EMAIL == MEMBER_GET_EMAIL &&
                   MEMBER_LIST_DISPLAY_NAME == MEMBER_GET_DISPLAY_NAME &&
                   MEMBER_LIST_ROLE == MEMBER_GET_ROLE &&
                   MEMBER_LIST_CREATED_AT == MEMBER_GET_CREATED_AT &&
                   MEMBER_LIST__NOUT == MEMBER_GET__NOUT,
               "member_list and member_get differ");

static json_object *member_json(PGresult *res, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "user_id", jint(res, i, MEMBER_LIST_ID));
    json_object_object_add(o, "email",
                           json_object_new_string(PQgetvalue(res, i, MEMBER_LIST_EMAIL)));
    json_object_object_add(o, "display_name",
                           json_object_new_string(PQgetvalue(res, i, MEMBER_LIST_DISPLAY_NAME)));
    json_object_object_add(o, "role", json_object_new_string(PQgetvalue(res, i, MEMBER_LIST_ROLE)));
    json_object_object_add(o, "created_at",
                           json_object_new_string(PQgetvalue(res, i, MEMBER_LIST_CREATED_AT)));
    return o;
}

/* A list of the project's rows (members, tokens) as {"items": [...]}, each row made by
 * row_json, for callers with at least min on the project. */
static int projects_rows(struct req *r, enum db_stmt_id stmt, enum access_role min,
                         json_object *(*row_json)(PGresult *, int))
{
    struct access_project pr;
    PGresult *res;

    if (access_project(&r->op, req_path_param(r, "project"), min, &pr))
        return -1;
    /* member_list and token_list take one input, the project. */
    _Static_assert(MEMBER_LIST__NIN == 1 && MEMBER_LIST_IN_PROJECT_ID == 0 &&
                       TOKEN_LIST__NIN == 1 && TOKEN_LIST_IN_PROJECT_ID == 0,
                   "member_list and token_list differ");
    const char *p[MEMBER_LIST__NIN] = {[MEMBER_LIST_IN_PROJECT_ID] = pr.id};
    if (!(res = DB_EXEC(&r->op, stmt, p)))
        return -1;
    json_object *items = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_object_array_add(items, row_json(res, i));
    return req_json(r, 200, req_page(items, NULL));
}

int members_list(struct req *r)
{
    return projects_rows(r, DB_STMT_MEMBER_LIST, ACCESS_ROLE_VIEWER, member_json);
}

static const char *const roles[] = {"viewer", "member", "admin", NULL};

static const char *member_details(struct req *r, const char *role)
{
    return role ? arena_sprintf(r->op.arena, "{\"role\":\"%s\"}", role) : NULL;
}

/* 409 when user_id is the project's only admin and is about to stop being one. */
static int members_keep_an_admin(struct req *r, const char *project_id, const char *current_role)
{
    PGresult *res;
    const char *p[MEMBER_ADMIN_COUNT__NIN] = {[MEMBER_ADMIN_COUNT_IN_PROJECT_ID] = project_id};
    if (strcmp(current_role, "admin") != 0)
        return 0;
    if (!(res = DB_EXEC(&r->op, DB_STMT_MEMBER_ADMIN_COUNT, p)))
        return -1;
    if (atol(PQgetvalue(res, 0, MEMBER_ADMIN_COUNT_COUNT)) <= 1)
        return req_error(r, 409, "last_admin", "role", "a project needs at least one admin");
    return 0;
}

/* The member row of uid in the project (member_list's columns), or NULL with 404 set. */
static PGresult *members_get(struct req *r, const char *project_id, const char *uid)
{
    PGresult *res;
    const char *p[MEMBER_GET__NIN] = {
        [MEMBER_GET_IN_PROJECT_ID] = project_id, [MEMBER_GET_IN_USER_ID] = uid};
    if (!(res = DB_EXEC(&r->op, DB_STMT_MEMBER_GET, p)))
        return NULL;
    if (PQntuples(res) != 1) {
        req_error(r, 404, "not_found", NULL, "no such member");
        return NULL;
    }
    return res;
}

/* The current role of a member, or NULL with 404 set. */
static const char *members_current_role(struct req *r, const char *project_id, const char *uid)
{
    PGresult *res = members_get(r, project_id, uid);
    return res ? PQgetvalue(res, 0, MEMBER_GET_ROLE) : NULL;
}

/* Commits and answers with the member as it is now. */
static int members_respond(struct req *r, const char *project_id, const char *uid, int status)
{
    PGresult *res = members_get(r, project_id, uid);
    if (!res || db_commit(&r->op))
        return -1;
    return req_json(r, status, member_json(res, 0));
}

int members_add(struct req *r)
{
    static const char *const keys[] = {"email", "role", NULL};
    struct jsonx_err je;
    const char *email = NULL, *role = NULL;
    struct access_project pr;
    PGresult *res;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "email", JSONX_REQUIRED, 3, 254, &email, NULL, &je) ||
        jsonx_enum(r->body_json, "role", JSONX_REQUIRED, roles, &role, NULL, &je))
        return req_error_json(r, 400, &je);
    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_ADMIN, &pr))
        return -1;
    const char *pe[USER_ID_BY_EMAIL__NIN] = {[USER_ID_BY_EMAIL_IN_EMAIL] = email};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_USER_ID_BY_EMAIL, pe)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 422, "unknown_user", "email", "no user has this email");
    const char *uid = PQgetvalue(res, 0, USER_ID_BY_EMAIL_ID);
    const char *p[MEMBER_INSERT__NIN] = {[MEMBER_INSERT_IN_PROJECT_ID] = pr.id,
                                         [MEMBER_INSERT_IN_USER_ID] = uid,
                                         [MEMBER_INSERT_IN_ROLE] = role};
    if (!(res = DB_EXEC(&r->op, DB_STMT_MEMBER_INSERT, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 409, "conflict", "email", "already a member; change the role instead");
    if (audit_log_write(&r->op, "member.add", pr.id, email, member_details(r, role)))
        return -1;
    return members_respond(r, pr.id, uid, 201);
}

int members_update(struct req *r)
{
    static const char *const keys[] = {"role", NULL};
    struct jsonx_err je;
    const char *role = NULL, *uid = req_path_param(r, "user"), *cur;
    struct access_project pr;
    PGresult *res;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_enum(r->body_json, "role", JSONX_REQUIRED, roles, &role, NULL, &je))
        return req_error_json(r, 400, &je);
    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_ADMIN, &pr))
        return -1;
    if (!req_is_int(uid))
        return req_error(r, 404, "not_found", NULL, "no such member");
    if (db_begin(&r->op) || !(cur = members_current_role(r, pr.id, uid)))
        return -1;
    if (strcmp(role, "admin") != 0 && members_keep_an_admin(r, pr.id, cur))
        return -1;
    const char *p[MEMBER_UPDATE__NIN] = {[MEMBER_UPDATE_IN_PROJECT_ID] = pr.id,
                                         [MEMBER_UPDATE_IN_USER_ID] = uid,
                                         [MEMBER_UPDATE_IN_ROLE] = role};
    if (!(res = DB_EXEC(&r->op, DB_STMT_MEMBER_UPDATE, p)) ||
        audit_log_write(&r->op, "member.role", pr.id, uid,
                        arena_sprintf(r->op.arena, "{\"from\":\"%s\",\"to\":\"%s\"}", cur, role)))
        return -1;
    return members_respond(r, pr.id, uid, 200);
}

int members_remove(struct req *r)
{
    const char *uid = req_path_param(r, "user"), *cur;
    struct access_project pr;

    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_ADMIN, &pr))
        return -1;
    if (!req_is_int(uid))
        return req_error(r, 404, "not_found", NULL, "no such member");
    if (db_begin(&r->op) || !(cur = members_current_role(r, pr.id, uid)) ||
        members_keep_an_admin(r, pr.id, cur))
        return -1;
    const char *p[MEMBER_DELETE__NIN] = {
        [MEMBER_DELETE_IN_PROJECT_ID] = pr.id, [MEMBER_DELETE_IN_USER_ID] = uid};
    if (!DB_EXEC(&r->op, DB_STMT_MEMBER_DELETE, p) ||
        audit_log_write(&r->op, "member.remove", pr.id, uid, member_details(r, cur)) ||
        db_commit(&r->op))
        return -1;
    r->status = 204;
    return 0;
}

/* ---- tokens ---- */

static json_object *token_json(PGresult *res, int i)
{
    json_object *o = json_object_new_object();
    json_object *scopes = json_object_new_array();
    const char *sc = PQgetvalue(res, i, TOKEN_LIST_SCOPES);

    json_object_object_add(o, "id", jint(res, i, TOKEN_LIST_ID));
    json_object_object_add(o, "name", json_object_new_string(PQgetvalue(res, i, TOKEN_LIST_NAME)));
    json_object_object_add(o, "prefix",
                           json_object_new_string(PQgetvalue(res, i, TOKEN_LIST_PREFIX)));
    for (const char *s = sc; *s;) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        json_object_array_add(scopes, json_object_new_string_len(s, (int)n));
        s += n + (c ? 1 : 0);
    }
    json_object_object_add(o, "scopes", scopes);
    json_object_object_add(o, "created_at",
                           json_object_new_string(PQgetvalue(res, i, TOKEN_LIST_CREATED_AT)));
    json_object_object_add(o, "expires_at", jstr_or_null(res, i, TOKEN_LIST_EXPIRES_AT));
    json_object_object_add(o, "last_used_at", jstr_or_null(res, i, TOKEN_LIST_LAST_USED_AT));
    json_object_object_add(o, "revoked_at", jstr_or_null(res, i, TOKEN_LIST_REVOKED_AT));
    return o;
}

int tokens_list(struct req *r)
{
    return projects_rows(r, DB_STMT_TOKEN_LIST, ACCESS_ROLE_ADMIN, token_json);
}

int tokens_create(struct req *r)
{
    static const char *const keys[] = {"name", "scopes", "expires_at", NULL};
    static const char *const scope_names[] = {"read", "write", "admin"};
    struct jsonx_err je;
    const char *name = NULL, *expires = NULL;
    json_object *scopes = NULL;
    int have[3] = {0, 0, 0};
    struct access_project pr;
    PGresult *res;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "name", JSONX_REQUIRED, 1, 200, &name, NULL, &je) ||
        jsonx_child(r->body_json, "scopes", JSONX_REQUIRED, json_type_array, &scopes, NULL, &je) ||
        jsonx_string(r->body_json, "expires_at", JSONX_NULLABLE, 20, 40, &expires, NULL, &je))
        return req_error_json(r, 400, &je);
    if (json_object_array_length(scopes) == 0)
        return req_error(r, 422, "invalid_value", "scopes", "scopes must name at least one scope");
    for (size_t i = 0; i < json_object_array_length(scopes); i++) {
        json_object *v = json_object_array_get_idx(scopes, i);
        int k = -1;
        for (int j = 0; j < 3 && v && json_object_is_type(v, json_type_string); j++)
            if (strcmp(json_object_get_string(v), scope_names[j]) == 0)
                k = j;
        if (k < 0)
            return req_error(r, 422, "invalid_value", "scopes",
                             "scopes must be read, write or admin");
        have[k] = 1;
    }
    if (expires && !jsonx_is_rfc3339(expires))
        return req_error(r, 400, "invalid_field", "expires_at",
                         "expires_at must be an RFC 3339 time with a zone");
    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_ADMIN, &pr))
        return -1;

    /* The array literal is built only from the fixed scope names above. */
    const char *arr =
        arena_sprintf(r->op.arena, "{%s%s%s%s%s}", have[0] ? "read" : "",
                      have[0] && (have[1] || have[2]) ? "," : "", have[1] ? "write" : "",
                      have[1] && have[2] ? "," : "", have[2] ? "admin" : "");
    const char *token, *tid;
    if (db_begin(&r->op) || accounts_token_create(&r->op, pr.id, name, arr, expires, &token, &tid))
        return -1;
    const char *pl[TOKEN_LIST__NIN] = {[TOKEN_LIST_IN_PROJECT_ID] = pr.id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_TOKEN_LIST, pl)) || db_commit(&r->op))
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, TOKEN_LIST_ID), tid) != 0)
            continue;
        json_object *o = token_json(res, i);
        json_object_object_add(o, "project", json_object_new_string(pr.slug));
        /* The only time the whole token is ever shown. */
        json_object_object_add(o, "token", json_object_new_string(token));
        return req_json(r, 201, o);
    }
    return req_error(r, 500, "internal", NULL, "token vanished");
}

int tokens_revoke(struct req *r)
{
    const char *tid = req_path_param(r, "token");
    struct access_project pr;
    PGresult *res;

    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_ADMIN, &pr))
        return -1;
    if (!req_is_int(tid))
        return req_error(r, 404, "not_found", NULL, "no such token");
    const char *p[TOKEN_REVOKE__NIN] = {
        [TOKEN_REVOKE_IN_TOKEN_ID] = tid, [TOKEN_REVOKE_IN_PROJECT_ID] = pr.id};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_TOKEN_REVOKE, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such token");
    if (audit_log_write(&r->op, "token.revoke", pr.id, PQgetvalue(res, 0, TOKEN_REVOKE_PREFIX),
                        NULL) ||
        db_commit(&r->op))
        return -1;
    r->status = 204;
    return 0;
}
