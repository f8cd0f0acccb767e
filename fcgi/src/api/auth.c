/* auth: identities, sessions and the login endpoints.
 * - Secrets are random 256-bit values; PostgreSQL stores and compares only their
 *   SHA-256 (see sql/statements/auth.sql), so a database dump holds no usable credential.
 * - Passwords are yescrypt hashes from libcrypt. A login for an unknown email still
 *   computes one hash, so timing does not tell whether the email exists, and every
 *   failure has the same message.
 * - CSRF: a write that is not authenticated by a bearer token must carry the
 *   X-Runwatch-CSRF header. Browsers' fetch can add it; a cross-site form cannot, and
 *   a cross-site fetch with it needs a CORS preflight we never grant. */
#include "auth.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/audit.h"
#include "config.h"
#include "db.h"
#include "log.h"

static const char *const auth_role_names[] = {"none", "viewer", "member", "admin"};

const char *auth_role_name(enum auth_role role)
{
    return auth_role_names[role];
}

enum auth_role auth_role_parse(const char *s)
{
    for (int i = AUTH_ROLE_VIEWER; i <= AUTH_ROLE_ADMIN; i++)
        if (s && strcmp(s, auth_role_names[i]) == 0)
            return (enum auth_role)i;
    return AUTH_ROLE_NONE;
}

char *auth_random_token(struct arena *a, size_t nbytes)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[64];
    char *out;
    size_t o = 0;

    if (nbytes > sizeof(raw) || getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
        return NULL;
    out = arena_alloc(a, (nbytes * 4 + 2) / 3 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < nbytes; i += 3) {
        unsigned v = (unsigned)raw[i] << 16;
        if (i + 1 < nbytes)
            v |= (unsigned)raw[i + 1] << 8;
        if (i + 2 < nbytes)
            v |= raw[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (i + 1 < nbytes)
            out[o++] = b64[(v >> 6) & 63];
        if (i + 2 < nbytes)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    return out;
}

int auth_hash_password(const char *password, char *out, size_t cap)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd;
    int rc = -1;

    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
        return -1;
    cd = calloc(1, sizeof(*cd)); /* 32 KiB: too big for a worker's stack habits */
    if (!cd)
        return -1;
    const char *h = crypt_r(password, salt, cd);
    if (h && h[0] == '$' && strlen(h) < cap) {
        memcpy(out, h, strlen(h) + 1);
        rc = 0;
    }
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return rc;
}

int auth_check_password(const char *password, const char *hash)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    int ok = 0;

    if (!cd)
        return 0;
    const char *h = crypt_r(password, hash, cd);
    if (h && h[0] == '$') {
        size_t n = strlen(hash);
        unsigned diff = strlen(h) != n;
        for (size_t i = 0; i < n && h[i]; i++)
            diff |= (unsigned char)(h[i] ^ hash[i]);
        ok = diff == 0;
    }
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return ok;
}

/* Burns the time of one password check, for logins that fail before reaching one. */
static void auth_equalise_timing(const char *password)
{
    static char dummy[CRYPT_OUTPUT_SIZE];
    if (!dummy[0] && auth_hash_password("runwatch-timing-dummy", dummy, sizeof(dummy)) != 0)
        return;
    (void)auth_check_password(password, dummy);
}

/* The value of cookie name in a Cookie header, copied into the arena, or NULL. */
static const char *auth_cookie(struct req *r, const char *name)
{
    const char *h = req_header(r, "Cookie");
    size_t nl = strlen(name);

    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t len = end ? (size_t)(end - h) : strlen(h);
        if (len > nl && strncmp(h, name, nl) == 0 && h[nl] == '=')
            return arena_strndup(r->arena, h + nl + 1, len - nl - 1);
        h = end;
    }
    return NULL;
}

static enum auth_role auth_scopes_role(const char *scopes)
{
    /* Scopes are a comma list of read, write, admin; the highest one decides. */
    if (strstr(scopes, "admin"))
        return AUTH_ROLE_ADMIN;
    if (strstr(scopes, "write"))
        return AUTH_ROLE_MEMBER;
    if (strstr(scopes, "read"))
        return AUTH_ROLE_VIEWER;
    return AUTH_ROLE_NONE;
}

static int auth_unauthenticated(struct req *r, const char *why)
{
    req_add_header(r, "WWW-Authenticate", "Bearer realm=\"runwatch\"");
    return req_error(r, 401, "unauthenticated", NULL, "%s", why);
}

static int auth_resolve(struct req *r, struct auth_ident *id)
{
    const char *authz = req_header(r, "Authorization");
    PGresult *res;

    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return auth_unauthenticated(r, "authorization must be a bearer token");
        const char *tok = authz + 7;
        while (*tok == ' ')
            tok++;
        /* Only well-formed tokens reach the database. */
        if (strncmp(tok, "rw_", 3) != 0 || strlen(tok) > 200)
            return auth_unauthenticated(r, "invalid or expired token");
        const char *p[TOKEN_LOOKUP__NIN] = {[TOKEN_LOOKUP_IN_TOKEN] = tok};
        res = DB_EXEC(r, DB_STMT_TOKEN_LOOKUP, p);
        if (!res)
            return -1;
        if (PQntuples(res) != 1)
            return auth_unauthenticated(r, "invalid or expired token");
        id->kind = AUTH_TOKEN;
        id->token_id = PQgetvalue(res, 0, TOKEN_LOOKUP_ID);
        id->token_project_id = PQgetvalue(res, 0, TOKEN_LOOKUP_PROJECT_ID);
        id->token_role = auth_scopes_role(PQgetvalue(res, 0, TOKEN_LOOKUP_SCOPES));
        return 0;
    }
    const char *cookie = auth_cookie(r, AUTH_COOKIE);
    if (cookie && *cookie && strlen(cookie) <= 100) {
        const char *idle = arena_sprintf(r->arena, "%ld", r->cfg->session_idle_s);
        const char *p[SESSION_LOOKUP__NIN] = {
            [SESSION_LOOKUP_IN_TOKEN] = cookie, [SESSION_LOOKUP_IN_IDLE_S] = idle};
        res = DB_EXEC(r, DB_STMT_SESSION_LOOKUP, p);
        if (!res)
            return -1;
        if (PQntuples(res) == 1) {
            id->kind = AUTH_SESSION;
            id->session_id = PQgetvalue(res, 0, SESSION_LOOKUP_ID);
            id->user_id = PQgetvalue(res, 0, SESSION_LOOKUP_USER_ID);
            id->is_admin = PQgetvalue(res, 0, SESSION_LOOKUP_IS_ADMIN)[0] == 't';
        }
    }
    return 0;
}

static int auth_is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

int auth_guard(struct req *r, const struct route *rt)
{
    struct auth_ident *id = arena_calloc(r->arena, sizeof(*id));

    if (!id)
        return req_error(r, 500, "internal", NULL, "out of memory");
    r->auth = id;
    if (!auth_is_safe_method(r->method) && !req_header(r, "Authorization") &&
        !req_header(r, AUTH_CSRF_HEADER))
        return req_error(r, 403, "csrf", AUTH_CSRF_HEADER,
                         "writes from a browser session must send the %s header", AUTH_CSRF_HEADER);
    if (rt->flags & ROUTE_PUBLIC)
        return 0;
    if (auth_resolve(r, id) != 0)
        return -1;
    if (id->kind == AUTH_NONE)
        return auth_unauthenticated(r, "sign in or send a bearer token");
    return 0;
}

int auth_require_user(struct req *r)
{
    if (r->auth->kind != AUTH_SESSION)
        return req_error(r, 403, "forbidden", NULL, "this needs a signed-in user, not a token");
    return 0;
}

int auth_require_instance_admin(struct req *r)
{
    if (r->auth->kind != AUTH_SESSION || !r->auth->is_admin)
        return req_error(r, 403, "forbidden", NULL, "this needs an instance admin");
    return 0;
}

/* The three project_access statements answer the same columns (projects.sql). */
#define AUTH_SAME_COLS(a, b)                                                                       \
    (a##_ID == b##_ID && a##_ROLE == b##_ROLE && a##_SLUG == b##_SLUG && a##_NAME == b##_NAME &&   \
     a##_CREATED_AT == b##_CREATED_AT && a##__NOUT == b##__NOUT)
_Static_assert(AUTH_SAME_COLS(PROJECT_ACCESS_USER, PROJECT_ACCESS_TOKEN) &&
                   AUTH_SAME_COLS(PROJECT_ACCESS_USER, PROJECT_ACCESS_USER_BY_ID),
               "the project_access statements answer different columns");
#undef AUTH_SAME_COLS

/* Fills out from a project_access_* row and checks the role. */
static int auth_project_row(struct req *r, PGresult *res, enum auth_role min,
                            struct auth_project *out)
{
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such project");
    out->id = PQgetvalue(res, 0, PROJECT_ACCESS_USER_ID);
    out->role = r->auth->kind == AUTH_TOKEN
                    ? r->auth->token_role
                    : auth_role_parse(PQgetvalue(res, 0, PROJECT_ACCESS_USER_ROLE));
    out->slug = PQgetvalue(res, 0, PROJECT_ACCESS_USER_SLUG);
    out->name = PQgetvalue(res, 0, PROJECT_ACCESS_USER_NAME);
    out->created_at = PQgetvalue(res, 0, PROJECT_ACCESS_USER_CREATED_AT);
    if (out->role < min)
        return req_error(r, 403, "forbidden", NULL, "this needs the %s role in project %s",
                         auth_role_name(min), out->slug);
    return 0;
}

int auth_project(struct req *r, const char *slug, enum auth_role min, struct auth_project *out)
{
    const struct auth_ident *id = r->auth;

    if (!slug || strlen(slug) > 63)
        return req_error(r, 404, "not_found", NULL, "no such project");
    if (id->kind == AUTH_TOKEN) {
        const char *p[PROJECT_ACCESS_TOKEN__NIN] = {[PROJECT_ACCESS_TOKEN_IN_SLUG] = slug,
                                                    [PROJECT_ACCESS_TOKEN_IN_TOKEN_PROJECT] =
                                                        id->token_project_id};
        return auth_project_row(r, DB_EXEC(r, DB_STMT_PROJECT_ACCESS_TOKEN, p), min, out);
    }
    const char *p[PROJECT_ACCESS_USER__NIN] = {[PROJECT_ACCESS_USER_IN_SLUG] = slug,
                                               [PROJECT_ACCESS_USER_IN_USER_ID] = id->user_id,
                                               [PROJECT_ACCESS_USER_IN_IS_ADMIN] =
                                                   id->is_admin ? "true" : "false"};
    return auth_project_row(r, DB_EXEC(r, DB_STMT_PROJECT_ACCESS_USER, p), min, out);
}

int auth_write_params(const struct req *r, const char *out[3])
{
    const struct auth_ident *id = r->auth;

    if (id->kind == AUTH_TOKEN) {
        if (id->token_role < AUTH_ROLE_MEMBER)
            return -1;
        out[0] = id->token_project_id;
        out[1] = NULL;
        out[2] = "false";
        return 0;
    }
    out[0] = NULL;
    out[1] = id->user_id;
    out[2] = id->is_admin ? "true" : "false";
    return 0;
}

int auth_project_by_id(struct req *r, const char *project_id, enum auth_role min,
                       struct auth_project *out, const char *what)
{
    const struct auth_ident *id = r->auth;
    PGresult *res;

    if (id->kind == AUTH_TOKEN) {
        /* A token sees one project; anything else does not exist for it. */
        if (strcmp(project_id, id->token_project_id) != 0)
            return req_error(r, 404, "not_found", NULL, "no such %s", what);
        const char *p[PROJECT_ACCESS_USER_BY_ID__NIN] = {
            [PROJECT_ACCESS_USER_BY_ID_IN_PROJECT_ID] = project_id,
            [PROJECT_ACCESS_USER_BY_ID_IN_USER_ID] = NULL,
            [PROJECT_ACCESS_USER_BY_ID_IN_IS_ADMIN] = "true"};
        res = DB_EXEC(r, DB_STMT_PROJECT_ACCESS_USER_BY_ID, p);
    } else {
        const char *p[PROJECT_ACCESS_USER_BY_ID__NIN] = {
            [PROJECT_ACCESS_USER_BY_ID_IN_PROJECT_ID] = project_id,
            [PROJECT_ACCESS_USER_BY_ID_IN_USER_ID] = id->user_id,
            [PROJECT_ACCESS_USER_BY_ID_IN_IS_ADMIN] = id->is_admin ? "true" : "false"};
        res = DB_EXEC(r, DB_STMT_PROJECT_ACCESS_USER_BY_ID, p);
    }
    if (res && PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such %s", what);
    return auth_project_row(r, res, min, out);
}

/* ---- endpoints ---- */

/* user_get, user_create, user_list and user_update answer the same columns (users.sql). */
#define AUTH_SAME_COLS(a, b)                                                                       \
    (a##_ID == b##_ID && a##_EMAIL == b##_EMAIL && a##_DISPLAY_NAME == b##_DISPLAY_NAME &&         \
     a##_IS_ADMIN == b##_IS_ADMIN && a##_DISABLED == b##_DISABLED &&                               \
     a##_CREATED_AT == b##_CREATED_AT && a##__NOUT == b##__NOUT)
_Static_assert(AUTH_SAME_COLS(USER_GET, USER_CREATE) && AUTH_SAME_COLS(USER_GET, USER_LIST) &&
                   AUTH_SAME_COLS(USER_GET, USER_UPDATE),
               "the user statements answer different columns");
#undef AUTH_SAME_COLS

static json_object *auth_user_json(PGresult *res, int row)
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

json_object *auth_user_row_json(PGresult *res, int row)
{
    return auth_user_json(res, row);
}

static const char *auth_cookie_attrs(struct req *r)
{
    const char *https = req_header(r, "X-Forwarded-Proto");
    const char *env_https = NULL;
    for (char *const *e = r->env; e && *e; e++)
        if (strncmp(*e, "HTTPS=", 6) == 0)
            env_https = *e + 6;
    int secure = (env_https && strcasecmp(env_https, "on") == 0) ||
                 (https && strcasecmp(https, "https") == 0);
    return secure ? "; Path=/; HttpOnly; SameSite=Lax; Secure" : "; Path=/; HttpOnly; SameSite=Lax";
}

int auth_login(struct req *r)
{
    static const char *const keys[] = {"email", "password", NULL};
    struct jsonx_err je;
    const char *email = NULL, *password = NULL;
    PGresult *res;
    const char *user_id, *hash;
    int ok;

    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "email", JSONX_REQUIRED, 3, 254, &email, NULL, &je) ||
        jsonx_string(r->body_json, "password", JSONX_REQUIRED, 1, 1024, &password, NULL, &je))
        return req_error_json(r, 400, &je);

    if (db_begin(r) != 0)
        return -1;
    const char *p1[USER_FOR_LOGIN__NIN] = {[USER_FOR_LOGIN_IN_EMAIL] = email};
    res = DB_EXEC(r, DB_STMT_USER_FOR_LOGIN, p1);
    if (!res)
        return -1;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, USER_FOR_LOGIN_PASSWORD_HASH)) {
        auth_equalise_timing(password);
        if (audit_write(r, "auth.login_failed", NULL, email, "{\"reason\":\"unknown user\"}") ||
            db_commit(r))
            return -1;
        return req_error(r, 401, "invalid_credentials", NULL, "invalid email or password");
    }
    user_id = PQgetvalue(res, 0, USER_FOR_LOGIN_ID);
    hash = PQgetvalue(res, 0, USER_FOR_LOGIN_PASSWORD_HASH);
    if (PQgetvalue(res, 0, USER_FOR_LOGIN_DISABLED)[0] == 't' ||
        PQgetvalue(res, 0, USER_FOR_LOGIN_LOCKED)[0] == 't') {
        /* Disabled or backing off: the same answer, and no password check to time. */
        auth_equalise_timing(password);
        const char *why = PQgetvalue(res, 0, USER_FOR_LOGIN_DISABLED)[0] == 't'
                              ? "{\"reason\":\"disabled\"}"
                              : "{\"reason\":\"locked\"}";
        if (audit_write_user(r, user_id, "auth.login_failed", NULL, email, why) || db_commit(r))
            return -1;
        return req_error(r, 401, "invalid_credentials", NULL, "invalid email or password");
    }
    ok = auth_check_password(password, hash);
    const char *p2[USER_LOGIN_FAILED__NIN] = {[USER_LOGIN_FAILED_IN_USER_ID] = user_id};
    /* p2 serves user_login_failed, user_login_ok and user_get: one input, the user. */
    _Static_assert(USER_LOGIN_FAILED__NIN == USER_LOGIN_OK__NIN &&
                       USER_LOGIN_FAILED__NIN == USER_GET__NIN &&
                       USER_LOGIN_FAILED_IN_USER_ID == USER_LOGIN_OK_IN_USER_ID &&
                       USER_LOGIN_FAILED_IN_USER_ID == USER_GET_IN_USER_ID,
                   "p2 does not fit the login statements");
    if (!ok) {
        if (!DB_EXEC(r, DB_STMT_USER_LOGIN_FAILED, p2) ||
            audit_write_user(r, user_id, "auth.login_failed", NULL, email,
                             "{\"reason\":\"bad password\"}") ||
            db_commit(r))
            return -1;
        return req_error(r, 401, "invalid_credentials", NULL, "invalid email or password");
    }
    if (!DB_EXEC(r, DB_STMT_USER_LOGIN_OK, p2))
        return -1;
    char *token = auth_random_token(r->arena, 32);
    if (!token)
        return req_error(r, 500, "internal", NULL, "no randomness");
    const char *max = arena_sprintf(r->arena, "%ld", r->cfg->session_max_s);
    const char *ua = req_header(r, "User-Agent");
    const char *p3[SESSION_CREATE__NIN] = {[SESSION_CREATE_IN_TOKEN] = token,
                                           [SESSION_CREATE_IN_USER_ID] = user_id,
                                           [SESSION_CREATE_IN_LIFETIME_S] = max,
                                           [SESSION_CREATE_IN_IP] = r->remote_addr,
                                           [SESSION_CREATE_IN_USER_AGENT] = ua ? ua : ""};
    res = DB_EXEC(r, DB_STMT_SESSION_CREATE, p3);
    if (!res)
        return -1;
    if (audit_write_user(r, user_id, "auth.login", NULL, email, NULL))
        return -1;
    res = DB_EXEC(r, DB_STMT_USER_GET, p2);
    if (!res || PQntuples(res) != 1)
        return -1;
    json_object *out = json_object_new_object();
    json_object_object_add(out, "user", auth_user_json(res, 0));
    if (db_commit(r) != 0) {
        json_object_put(out);
        return -1;
    }
    req_add_header(r, "Set-Cookie",
                   arena_sprintf(r->arena, AUTH_COOKIE "=%s%s; Max-Age=%ld", token,
                                 auth_cookie_attrs(r), r->cfg->session_max_s));
    return req_json(r, 200, out);
}

int auth_logout(struct req *r)
{
    if (r->auth->kind == AUTH_SESSION) {
        const char *p[SESSION_REVOKE__NIN] = {[SESSION_REVOKE_IN_SESSION_ID] = r->auth->session_id};
        if (db_begin(r) || !DB_EXEC(r, DB_STMT_SESSION_REVOKE, p) ||
            audit_write(r, "auth.logout", NULL, NULL, NULL) || db_commit(r))
            return -1;
    }
    req_add_header(r, "Set-Cookie",
                   arena_sprintf(r->arena, AUTH_COOKIE "=%s; Max-Age=0", auth_cookie_attrs(r)));
    r->status = 204;
    return 0;
}

static json_object *auth_projects_json(PGresult *res)
{
    json_object *arr = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *p = json_object_new_object();
        json_object_object_add(
            p, "id", json_object_new_int64(strtoll(PQgetvalue(res, i, MY_PROJECTS_ID), NULL, 10)));
        json_object_object_add(p, "slug",
                               json_object_new_string(PQgetvalue(res, i, MY_PROJECTS_SLUG)));
        json_object_object_add(p, "name",
                               json_object_new_string(PQgetvalue(res, i, MY_PROJECTS_NAME)));
        json_object_object_add(p, "role",
                               json_object_new_string(PQgetvalue(res, i, MY_PROJECTS_ROLE)));
        json_object_object_add(p, "created_at",
                               json_object_new_string(PQgetvalue(res, i, MY_PROJECTS_CREATED_AT)));
        json_object_array_add(arr, p);
    }
    return arr;
}

int auth_me(struct req *r)
{
    const struct auth_ident *id = r->auth;
    json_object *out = json_object_new_object();
    PGresult *res;

    if (id->kind == AUTH_SESSION) {
        const char *p[USER_GET__NIN] = {[USER_GET_IN_USER_ID] = id->user_id};
        const char *p2[MY_PROJECTS__NIN] = {[MY_PROJECTS_IN_USER_ID] = id->user_id,
                                            [MY_PROJECTS_IN_IS_ADMIN] =
                                                id->is_admin ? "true" : "false",
                                            [MY_PROJECTS_IN_TOKEN_PROJECT] = NULL,
                                            [MY_PROJECTS_IN_TOKEN_ROLE] = NULL};
        if (!(res = DB_EXEC(r, DB_STMT_USER_GET, p)) || PQntuples(res) != 1)
            goto fail;
        json_object_object_add(out, "user", auth_user_json(res, 0));
        json_object_object_add(out, "token", NULL);
        if (!(res = DB_EXEC(r, DB_STMT_MY_PROJECTS, p2)))
            goto fail;
        json_object_object_add(out, "projects", auth_projects_json(res));
    } else {
        const char *p[TOKEN_GET__NIN] = {[TOKEN_GET_IN_TOKEN_ID] = id->token_id};
        if (!(res = DB_EXEC(r, DB_STMT_TOKEN_GET, p)) || PQntuples(res) != 1)
            goto fail;
        json_object *t = json_object_new_object();
        json_object_object_add(
            t, "id", json_object_new_int64(strtoll(PQgetvalue(res, 0, TOKEN_GET_ID), NULL, 10)));
        json_object_object_add(t, "name",
                               json_object_new_string(PQgetvalue(res, 0, TOKEN_GET_NAME)));
        json_object_object_add(t, "prefix",
                               json_object_new_string(PQgetvalue(res, 0, TOKEN_GET_PREFIX)));
        json_object *scopes = json_object_new_array();
        char *sc = arena_strdup(r->arena, PQgetvalue(res, 0, TOKEN_GET_SCOPES));
        for (char *s = sc, *next; s && *s; s = next) {
            next = strchr(s, ',');
            if (next)
                *next++ = '\0';
            json_object_array_add(scopes, json_object_new_string(s));
        }
        json_object_object_add(t, "scopes", scopes);
        json_object_object_add(t, "project",
                               json_object_new_string(PQgetvalue(res, 0, TOKEN_GET_SLUG)));
        json_object_object_add(out, "user", NULL);
        json_object_object_add(out, "token", t);
    }
    return req_json(r, 200, out);
fail:
    json_object_put(out);
    return -1;
}

int auth_check(struct req *r)
{
    const struct auth_ident *id = r->auth;
    const char *allowed;

    if (id->kind == AUTH_TOKEN) {
        allowed = id->token_role >= AUTH_ROLE_VIEWER ? id->token_project_id : "";
        req_add_header(r, "X-Runwatch-Identity", arena_sprintf(r->arena, "token:%s", id->token_id));
    } else {
        const char *p[ALLOWED_PROJECTS__NIN] = {[ALLOWED_PROJECTS_IN_USER_ID] = id->user_id,
                                                [ALLOWED_PROJECTS_IN_IS_ADMIN] =
                                                    id->is_admin ? "true" : "false"};
        PGresult *res = DB_EXEC(r, DB_STMT_ALLOWED_PROJECTS, p);
        if (!res)
            return -1;
        allowed = PQgetvalue(res, 0, ALLOWED_PROJECTS_IDS);
        req_add_header(r, "X-Runwatch-Identity", arena_sprintf(r->arena, "user:%s", id->user_id));
    }
    req_add_header(r, "X-Runwatch-Projects", allowed);
    r->status = 204;
    return 0;
}

int auth_validate_password(struct req *r, const char *field, const char *pw)
{
    size_t n = strlen(pw);
    if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
        return req_error(r, 422, "invalid_value", field, "%s must be %d to %d characters", field,
                         AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
    return 0;
}

int auth_change_password(struct req *r)
{
    static const char *const keys[] = {"current_password", "new_password", NULL};
    struct jsonx_err je;
    const char *cur = NULL, *pw = NULL;
    char hash[CRYPT_OUTPUT_SIZE];
    PGresult *res;

    if (auth_require_user(r))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "current_password", JSONX_REQUIRED, 1, 1024, &cur, NULL, &je) ||
        jsonx_string(r->body_json, "new_password", JSONX_REQUIRED, 0, 1024, &pw, NULL, &je))
        return req_error_json(r, 400, &je);
    if (auth_validate_password(r, "new_password", pw))
        return -1;
    const char *p1[USER_PASSWORD_HASH__NIN] = {[USER_PASSWORD_HASH_IN_USER_ID] = r->auth->user_id};
    if (db_begin(r) || !(res = DB_EXEC(r, DB_STMT_USER_PASSWORD_HASH, p1)))
        return -1;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, USER_PASSWORD_HASH_PASSWORD_HASH) ||
        !auth_check_password(cur, PQgetvalue(res, 0, USER_PASSWORD_HASH_PASSWORD_HASH)))
        return req_error(r, 403, "invalid_credentials", "current_password",
                         "current password is wrong");
    if (auth_hash_password(pw, hash, sizeof(hash)) != 0)
        return req_error(r, 500, "internal", NULL, "cannot hash password");
    const char *p2[USER_SET_PASSWORD__NIN] = {[USER_SET_PASSWORD_IN_USER_ID] = r->auth->user_id,
                                              [USER_SET_PASSWORD_IN_PASSWORD_HASH] = hash};
    const char *p3[SESSIONS_REVOKE_OTHERS__NIN] = {
        [SESSIONS_REVOKE_OTHERS_IN_USER_ID] = r->auth->user_id,
        [SESSIONS_REVOKE_OTHERS_IN_SESSION_ID] = r->auth->session_id};
    /* Every other session of the user ends: a changed password locks out whoever else
     * had it. */
    if (!DB_EXEC(r, DB_STMT_USER_SET_PASSWORD, p2) ||
        !DB_EXEC(r, DB_STMT_SESSIONS_REVOKE_OTHERS, p3) ||
        audit_write(r, "user.password_changed", NULL, NULL, NULL) || db_commit(r))
        return -1;
    r->status = 204;
    return 0;
}
