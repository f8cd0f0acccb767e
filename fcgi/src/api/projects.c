/* projects: every project endpoint starts with auth_project(), which finds the project
 * and the caller's role in one query; a project the caller cannot see is a 404. A
 * project always keeps at least one admin: the last one cannot be demoted or removed
 * (the admin rows are locked while that is checked, so two requests cannot race past
 * it). Tokens are shown whole once, at creation; afterwards only their prefix. */
#include "projects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/audit.h"
#include "api/auth.h"
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

static json_object *project_json(const struct auth_project *p)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(strtoll(p->id, NULL, 10)));
    json_object_object_add(o, "slug", json_object_new_string(p->slug));
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "role", json_object_new_string(auth_role_name(p->role)));
    json_object_object_add(o, "created_at", json_object_new_string(p->created_at));
    return o;
}

int projects_list(struct req *r)
{
    const struct auth_ident *id = r->auth;
    const char *p[MY_PROJECTS__NIN] = {[MY_PROJECTS_IN_USER_ID] = id->user_id,
                                       [MY_PROJECTS_IN_IS_ADMIN] = id->is_admin ? "true" : "false",
                                       [MY_PROJECTS_IN_TOKEN_PROJECT] = id->token_project_id,
                                       [MY_PROJECTS_IN_TOKEN_ROLE] =
                                           id->kind == AUTH_TOKEN ? auth_role_name(id->token_role)
                                                                  : NULL};
    PGresult *res = DB_EXEC(r, DB_STMT_MY_PROJECTS, p);
    json_object *items;

    if (!res)
        return -1;
    items = json_object_new_array();
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
    return req_json(r, 200, req_page(items, NULL));
}

static int project_slug_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

int projects_create(struct req *r)
{
    static const char *const keys[] = {"slug", "name", NULL};
    struct jsonx_err je;
    const char *slug = NULL, *name = NULL;
    struct auth_project pr;
    PGresult *res;

    if (auth_require_instance_admin(r))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "slug", JSONX_REQUIRED, 1, 63, &slug, NULL, &je) ||
        jsonx_string(r->body_json, "name", JSONX_REQUIRED, 1, 200, &name, NULL, &je))
        return req_error_json(r, 400, &je);
    if (!project_slug_ok(slug))
        return req_error(r, 422, "invalid_value", "slug",
                         "slug must be lowercase letters, digits and dashes, starting with a "
                         "letter or digit");
    const char *p[PROJECT_CREATE__NIN] = {
        [PROJECT_CREATE_IN_SLUG] = slug, [PROJECT_CREATE_IN_NAME] = name};
    if (db_begin(r) || !(res = DB_EXEC(r, DB_STMT_PROJECT_CREATE, p))) {
        req_refine_error(r, 409, "slug", "a project with this slug exists");
        return -1;
    }
    pr.id = PQgetvalue(res, 0, PROJECT_CREATE_ID);
    pr.slug = PQgetvalue(res, 0, PROJECT_CREATE_SLUG);
    pr.name = PQgetvalue(res, 0, PROJECT_CREATE_NAME);
    pr.created_at = PQgetvalue(res, 0, PROJECT_CREATE_CREATED_AT);
    pr.role = AUTH_ROLE_ADMIN;
    /* The creator administers the project they made. */
    const char *pm[MEMBER_INSERT__NIN] = {[MEMBER_INSERT_IN_PROJECT_ID] = pr.id,
                                          [MEMBER_INSERT_IN_USER_ID] = r->auth->user_id,
                                          [MEMBER_INSERT_IN_ROLE] = "admin"};
    if (!DB_EXEC(r, DB_STMT_MEMBER_INSERT, pm) ||
        audit_write(r, "project.create", pr.id, pr.slug, NULL) || db_commit(r))
        return -1;
    return req_json(r, 201, project_json(&pr));
}

int projects_get(struct req *r)
{
    struct auth_project pr;
    if (auth_project(r, req_path_param(r, "project"), AUTH_ROLE_VIEWER, &pr))
        return -1;
    return req_json(r, 200, project_json(&pr));
}

int projects_update(struct req *r)
{
    static const char *const keys[] = {"name", NULL};
    struct jsonx_err je;
    const char *name = NULL;
    struct auth_project pr;
    PGresult *res;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "name", JSONX_REQUIRED, 1, 200, &name, NULL, &je))
        return req_error_json(r, 400, &je);
    if (auth_project(r, req_path_param(r, "project"), AUTH_ROLE_ADMIN, &pr))
        return -1;
    const char *p[PROJECT_UPDATE__NIN] = {
        [PROJECT_UPDATE_IN_PROJECT_ID] = pr.id, [PROJECT_UPDATE_IN_NAME] = name};
    if (db_begin(r) || !(res = DB_EXEC(r, DB_STMT_PROJECT_UPDATE, p)) ||
        audit_write(r, "project.update", pr.id, pr.slug, NULL) || db_commit(r))
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
static int projects_rows(struct req *r, enum db_stmt_id stmt, enum auth_role min,
                         json_object *(*row_json)(PGresult *, int))
{
    struct auth_project pr;
    PGresult *res;

    if (auth_project(r, req_path_param(r, "project"), min, &pr))
        return -1;
    /* member_list and token_list take one input, the project. */
    _Static_assert(MEMBER_LIST__NIN == 1 && MEMBER_LIST_IN_PROJECT_ID == 0 &&
                       TOKEN_LIST__NIN == 1 && TOKEN_LIST_IN_PROJECT_ID == 0,
                   "member_list and token_list differ");
    const char *p[MEMBER_LIST__NIN] = {[MEMBER_LIST_IN_PROJECT_ID] = pr.id};
    if (!(res = DB_EXEC(r, stmt, p)))
        return -1;
    json_object *items = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_object_array_add(items, row_json(res, i));
    return req_json(r, 200, req_page(items, NULL));
}

int members_list(struct req *r)
{
    return projects_rows(r, DB_STMT_MEMBER_LIST, AUTH_ROLE_VIEWER, member_json);
}

static const char *const roles[] = {"viewer", "member", "admin", NULL};

static const char *member_details(struct req *r, const char *role)
{
    return role ? arena_sprintf(r->arena, "{\"role\":\"%s\"}", role) : NULL;
}

/* 409 when user_id is the project's only admin and is about to stop being one. */
static int members_keep_an_admin(struct req *r, const char *project_id, const char *current_role)
{
    PGresult *res;
    const char *p[MEMBER_ADMIN_COUNT__NIN] = {[MEMBER_ADMIN_COUNT_IN_PROJECT_ID] = project_id};
    if (strcmp(current_role, "admin") != 0)
        return 0;
    if (!(res = DB_EXEC(r, DB_STMT_MEMBER_ADMIN_COUNT, p)))
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
    if (!(res = DB_EXEC(r, DB_STMT_MEMBER_GET, p)))
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
    if (!res || db_commit(r))
        return -1;
    return req_json(r, status, member_json(res, 0));
}

int members_add(struct req *r)
{
    static const char *const keys[] = {"email", "role", NULL};
    struct jsonx_err je;
    const char *email = NULL, *role = NULL;
    struct auth_project pr;
    PGresult *res;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "email", JSONX_REQUIRED, 3, 254, &email, NULL, &je) ||
        jsonx_enum(r->body_json, "role", JSONX_REQUIRED, roles, &role, NULL, &je))
        return req_error_json(r, 400, &je);
    if (auth_project(r, req_path_param(r, "project"), AUTH_ROLE_ADMIN, &pr))
        return -1;
    const char *pe[USER_ID_BY_EMAIL__NIN] = {[USER_ID_BY_EMAIL_IN_EMAIL] = email};
    if (db_begin(r) || !(res = DB_EXEC(r, DB_STMT_USER_ID_BY_EMAIL, pe)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 422, "unknown_user", "email", "no user has this email");
    const char *uid = PQgetvalue(res, 0, USER_ID_BY_EMAIL_ID);
    const char *p[MEMBER_INSERT__NIN] = {[MEMBER_INSERT_IN_PROJECT_ID] = pr.id,
                                         [MEMBER_INSERT_IN_USER_ID] = uid,
                                         [MEMBER_INSERT_IN_ROLE] = role};
    if (!(res = DB_EXEC(r, DB_STMT_MEMBER_INSERT, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 409, "conflict", "email", "already a member; change the role instead");
    if (audit_write(r, "member.add", pr.id, email, member_details(r, role)))
        return -1;
    return members_respond(r, pr.id, uid, 201);
}

int members_update(struct req *r)
{
    static const char *const keys[] = {"role", NULL};
    struct jsonx_err je;
    const char *role = NULL, *uid = req_path_param(r, "user"), *cur;
    struct auth_project pr;
    PGresult *res;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_enum(r->body_json, "role", JSONX_REQUIRED, roles, &role, NULL, &je))
        return req_error_json(r, 400, &je);
    if (auth_project(r, req_path_param(r, "project"), AUTH_ROLE_ADMIN, &pr))
        return -1;
    if (!req_is_int(uid))
        return req_error(r, 404, "not_found", NULL, "no such member");
    if (db_begin(r) || !(cur = members_current_role(r, pr.id, uid)))
        return -1;
    if (strcmp(role, "admin") != 0 && members_keep_an_admin(r, pr.id, cur))
        return -1;
    const char *p[MEMBER_UPDATE__NIN] = {[MEMBER_UPDATE_IN_PROJECT_ID] = pr.id,
                                         [MEMBER_UPDATE_IN_USER_ID] = uid,
                                         [MEMBER_UPDATE_IN_ROLE] = role};
    if (!(res = DB_EXEC(r, DB_STMT_MEMBER_UPDATE, p)) ||
        audit_write(r, "member.role", pr.id, uid,
                    arena_sprintf(r->arena, "{\"from\":\"%s\",\"to\":\"%s\"}", cur, role)))
        return -1;
    return members_respond(r, pr.id, uid, 200);
}

int members_remove(struct req *r)
{
    const char *uid = req_path_param(r, "user"), *cur;
    struct auth_project pr;

    if (auth_project(r, req_path_param(r, "project"), AUTH_ROLE_ADMIN, &pr))
        return -1;
    if (!req_is_int(uid))
        return req_error(r, 404, "not_found", NULL, "no such member");
    if (db_begin(r) || !(cur = members_current_role(r, pr.id, uid)) ||
        members_keep_an_admin(r, pr.id, cur))
        return -1;
    const char *p[MEMBER_DELETE__NIN] = {
        [MEMBER_DELETE_IN_PROJECT_ID] = pr.id, [MEMBER_DELETE_IN_USER_ID] = uid};
    if (!DB_EXEC(r, DB_STMT_MEMBER_DELETE, p) ||
        audit_write(r, "member.remove", pr.id, uid, member_details(r, cur)) || db_commit(r))
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
    return projects_rows(r, DB_STMT_TOKEN_LIST, AUTH_ROLE_ADMIN, token_json);
}

/* A new token of the project, hashed, with its audit entry, in the caller's transaction:
 * *token is the whole token (shown once), *tid its id. `scopes` is a text[] literal made
 * only from the fixed scope names. The API and the CLI share it. */
static int tokens_insert(struct req *r, const char *project_id, const char *name,
                         const char *scopes, const char *expires, const char **token,
                         const char **tid)
{
    const char *prefix_rand = auth_random_token(r->arena, 6);
    const char *secret = auth_random_token(r->arena, 32);
    PGresult *res;

    if (!prefix_rand || !secret)
        return req_error(r, 500, "internal", NULL, "no randomness");
    const char *prefix = arena_sprintf(r->arena, "rw_%s", prefix_rand);
    *token = arena_sprintf(r->arena, "%s_%s", prefix, secret);
    const char *p[TOKEN_CREATE__NIN] = {[TOKEN_CREATE_IN_PROJECT_ID] = project_id,
                                        [TOKEN_CREATE_IN_NAME] = name,
                                        [TOKEN_CREATE_IN_PREFIX] = prefix,
                                        [TOKEN_CREATE_IN_TOKEN] = *token,
                                        [TOKEN_CREATE_IN_SCOPES] = scopes,
                                        [TOKEN_CREATE_IN_EXPIRES_AT] = expires,
                                        [TOKEN_CREATE_IN_CREATED_BY] = r->auth->user_id};
    if (!(res = DB_EXEC(r, DB_STMT_TOKEN_CREATE, p))) {
        req_refine_error(r, 400, "expires_at", "expires_at is not a valid time");
        req_refine_error(r, 422, "expires_at", "expires_at must be in the future");
        return -1;
    }
    *tid = PQgetvalue(res, 0, TOKEN_CREATE_ID);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(name));
    json_object_object_add(d, "scopes", json_object_new_string(scopes));
    const char *details = arena_strdup(r->arena, json_object_to_json_string(d));
    json_object_put(d);
    return audit_write(r, "token.create", project_id, prefix, details);
}

int tokens_create(struct req *r)
{
    static const char *const keys[] = {"name", "scopes", "expires_at", NULL};
    static const char *const scope_names[] = {"read", "write", "admin"};
    struct jsonx_err je;
    const char *name = NULL, *expires = NULL;
    json_object *scopes = NULL;
    int have[3] = {0, 0, 0};
    struct auth_project pr;
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
    if (auth_project(r, req_path_param(r, "project"), AUTH_ROLE_ADMIN, &pr))
        return -1;

    /* The array literal is built only from the fixed scope names above. */
    const char *arr = arena_sprintf(
        r->arena, "{%s%s%s%s%s}", have[0] ? "read" : "", have[0] && (have[1] || have[2]) ? "," : "",
        have[1] ? "write" : "", have[1] && have[2] ? "," : "", have[2] ? "admin" : "");
    const char *token, *tid;
    if (db_begin(r) || tokens_insert(r, pr.id, name, arr, expires, &token, &tid))
        return -1;
    const char *pl[TOKEN_LIST__NIN] = {[TOKEN_LIST_IN_PROJECT_ID] = pr.id};
    if (!(res = DB_EXEC(r, DB_STMT_TOKEN_LIST, pl)) || db_commit(r))
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
    struct auth_project pr;
    PGresult *res;

    if (auth_project(r, req_path_param(r, "project"), AUTH_ROLE_ADMIN, &pr))
        return -1;
    if (!req_is_int(tid))
        return req_error(r, 404, "not_found", NULL, "no such token");
    const char *p[TOKEN_REVOKE__NIN] = {
        [TOKEN_REVOKE_IN_TOKEN_ID] = tid, [TOKEN_REVOKE_IN_PROJECT_ID] = pr.id};
    if (db_begin(r) || !(res = DB_EXEC(r, DB_STMT_TOKEN_REVOKE, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such token");
    if (audit_write(r, "token.revoke", pr.id, PQgetvalue(res, 0, TOKEN_REVOKE_PREFIX), NULL) ||
        db_commit(r))
        return -1;
    r->status = 204;
    return 0;
}

/* ---- CLI ---- */

static void tokens_cli_usage(void)
{
    fprintf(stderr,
            "usage: runwatch-api token create --project SLUG --name NAME [--scopes read,write]\n"
            "                                 [--create-project]\n"
            "  Prints a new producer token of the project on stdout (shown only now).\n"
            "  --create-project creates the project (named after its slug) when it does not\n"
            "  exist yet. Scopes: read, write, admin (default read,write).\n");
}

/* `runwatch-api token create`: a producer token for scripts that run beside the stack
 * (`make demo`), so no one has to sign in first. It runs as the operator who holds the
 * database, like `user add`, and writes the same rows and audit entries as the API. */
int tokens_cli(const struct config *cfg, int argc, char **argv)
{
    struct arena a;
    struct db db;
    struct auth_ident op = {.kind = AUTH_NONE, .is_admin = 1};
    struct auth_project pr;
    struct req r;
    const char *sub = argc > 0 ? argv[0] : "", *slug = NULL, *name = NULL;
    const char *scopes = "read,write", *token, *tid;
    int create = 0, rc = 1;
    PGresult *res;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--project") == 0 && i + 1 < argc)
            slug = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--scopes") == 0 && i + 1 < argc)
            scopes = argv[++i];
        else if (strcmp(argv[i], "--create-project") == 0)
            create = 1;
        else {
            tokens_cli_usage();
            return 2;
        }
    }
    if (strcmp(sub, "create") != 0 || !slug || !name || !*name || strlen(name) > 200) {
        tokens_cli_usage();
        return 2;
    }
    /* The same literal the API builds: only fixed names, in a fixed order. */
    int have[3] = {0, 0, 0};
    static const char *const scope_names[] = {"read", "write", "admin"};
    for (const char *s = scopes; *s;) {
        size_t n = strcspn(s, ",");
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (strlen(scope_names[j]) == n && strncmp(s, scope_names[j], n) == 0)
                k = j;
        if (k < 0) {
            fprintf(stderr, "runwatch-api token create: scopes must be read, write or admin\n");
            return 2;
        }
        have[k] = 1;
        s += n + (s[n] == ',');
    }
    if (!have[0] && !have[1] && !have[2]) {
        tokens_cli_usage();
        return 2;
    }
    arena_init(&a, 16384);
    db_init(&db, cfg->database_url);
    req_init(&r, &a);
    r.cfg = cfg;
    r.db = &db;
    r.auth = &op;
    r.remote_addr = NULL;

    const char *arr = arena_sprintf(
        &a, "{%s%s%s%s%s}", have[0] ? "read" : "", have[0] && (have[1] || have[2]) ? "," : "",
        have[1] ? "write" : "", have[1] && have[2] ? "," : "", have[2] ? "admin" : "");
    if (db_begin(&r))
        goto out;
    if (auth_project(&r, slug, AUTH_ROLE_ADMIN, &pr) != 0) {
        if (r.status != 404 || !create)
            goto out;
        if (!project_slug_ok(slug)) {
            req_error(&r, 422, "invalid_value", "slug",
                      "slug must be lowercase letters, digits and dashes");
            goto out;
        }
        const char *p[PROJECT_CREATE__NIN] = {
            [PROJECT_CREATE_IN_SLUG] = slug, [PROJECT_CREATE_IN_NAME] = slug};
        if (!(res = DB_EXEC(&r, DB_STMT_PROJECT_CREATE, p)))
            goto out;
        pr.id = PQgetvalue(res, 0, PROJECT_CREATE_ID);
        if (audit_write(&r, "project.create", pr.id, slug, "{\"via\":\"cli\"}"))
            goto out;
    }
    if (tokens_insert(&r, pr.id, name, arr, NULL, &token, &tid) || db_commit(&r))
        goto out;
    printf("%s\n", token);
    rc = 0;
out:
    if (rc == 1)
        fprintf(stderr, "runwatch-api token %s: %s\n", sub,
                r.err_message ? r.err_message : "failed");
    db_rollback(&db);
    db_fini(&db);
    arena_fini(&a);
    return rc;
}
