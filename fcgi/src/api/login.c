/* login: the session endpoints (sign in, sign out, who am I, the nginx auth check,
 * change password). Identities, the guard and the crypto are access.c's.
 * - A login for an unknown email still computes one hash, so timing does not tell
 *   whether the email exists, and every failure has the same message.
 * - Failures are counted per (account, client address): a client that keeps guessing is
 *   held back from that account, with the same answer as any failure, while the owner
 *   signs in from elsewhere (sql/statements/auth.sql). The address is nginx's
 *   REMOTE_ADDR; no header a client sends (X-Forwarded-For) is believed. nginx also
 *   limits the login rate per address.
 * - The session cookie is HttpOnly, SameSite=Lax, and Secure behind HTTPS. */
#include "login.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/projects.h"
#include "api/users.h"
#include "audit_log.h"
#include "access.h"
#include "config.h"
#include "db.h"

static const char *login_cookie_attrs(struct req *r)
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

int login_signin(struct req *r)
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

    if (db_begin(&r->op) != 0)
        return -1;
    const char *client = r->remote_addr;
    const char *p1[USER_FOR_LOGIN__NIN] = {
        [USER_FOR_LOGIN_IN_EMAIL] = email, [USER_FOR_LOGIN_IN_CLIENT] = client};
    res = DB_EXEC(&r->op, DB_STMT_USER_FOR_LOGIN, p1);
    if (!res)
        return -1;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, USER_FOR_LOGIN_PASSWORD_HASH)) {
        access_equalise_timing(password);
        if (audit_log_write(&r->op, "auth.login_failed", NULL, email,
                            "{\"reason\":\"unknown user\"}") ||
            db_commit(&r->op))
            return -1;
        return req_error(r, 401, "invalid_credentials", NULL, "invalid email or password");
    }
    user_id = PQgetvalue(res, 0, USER_FOR_LOGIN_ID);
    hash = PQgetvalue(res, 0, USER_FOR_LOGIN_PASSWORD_HASH);
    int disabled = PQgetvalue(res, 0, USER_FOR_LOGIN_DISABLED)[0] == 't';
    int held_back = PQgetvalue(res, 0, USER_FOR_LOGIN_LOCKED)[0] == 't';
    /* p2 serves user_login_failed and user_login_ok: the user and the client. */
    const char *p2[USER_LOGIN_FAILED__NIN] = {
        [USER_LOGIN_FAILED_IN_USER_ID] = user_id, [USER_LOGIN_FAILED_IN_CLIENT] = client};
    _Static_assert(USER_LOGIN_FAILED__NIN == USER_LOGIN_OK__NIN &&
                       USER_LOGIN_FAILED_IN_USER_ID == USER_LOGIN_OK_IN_USER_ID &&
                       USER_LOGIN_FAILED_IN_CLIENT == USER_LOGIN_OK_IN_CLIENT,
                   "p2 does not fit the login statements");
    if (disabled || held_back) {
        /* Disabled or held back: the same answer, and no password check to time. A
         * client held back that keeps trying is held back longer. */
        access_equalise_timing(password);
        const char *why = disabled ? "{\"reason\":\"disabled\"}" : "{\"reason\":\"locked\"}";
        if ((held_back && !DB_EXEC(&r->op, DB_STMT_USER_LOGIN_FAILED, p2)) ||
            audit_log_write_user(&r->op, user_id, "auth.login_failed", NULL, email, why) ||
            db_commit(&r->op))
            return -1;
        return req_error(r, 401, "invalid_credentials", NULL, "invalid email or password");
    }
    ok = access_check_password(password, hash);
    if (!ok) {
        if (!DB_EXEC(&r->op, DB_STMT_USER_LOGIN_FAILED, p2) ||
            audit_log_write_user(&r->op, user_id, "auth.login_failed", NULL, email,
                                 "{\"reason\":\"bad password\"}") ||
            db_commit(&r->op))
            return -1;
        return req_error(r, 401, "invalid_credentials", NULL, "invalid email or password");
    }
    if (!DB_EXEC(&r->op, DB_STMT_USER_LOGIN_OK, p2))
        return -1;
    char *token = access_random_token(r->op.arena, 32);
    if (!token)
        return req_error(r, 500, "internal", NULL, "no randomness");
    const char *digest = access_secret_digest(r->op.arena, token);
    if (!digest)
        return req_error(r, 500, "internal", NULL, "out of memory");
    const char *max = arena_sprintf(r->op.arena, "%ld", r->op.cfg->session_max_s);
    const char *ua = req_header(r, "User-Agent");
    const char *p3[SESSION_CREATE__NIN] = {[SESSION_CREATE_IN_TOKEN_SHA256] = digest,
                                           [SESSION_CREATE_IN_USER_ID] = user_id,
                                           [SESSION_CREATE_IN_LIFETIME_S] = max,
                                           [SESSION_CREATE_IN_IP] = client,
                                           [SESSION_CREATE_IN_USER_AGENT] = ua ? ua : ""};
    res = DB_EXEC(&r->op, DB_STMT_SESSION_CREATE, p3);
    if (!res)
        return -1;
    if (audit_log_write_user(&r->op, user_id, "auth.login", NULL, email, NULL))
        return -1;
    const char *pu[USER_GET__NIN] = {[USER_GET_IN_USER_ID] = user_id};
    res = DB_EXEC(&r->op, DB_STMT_USER_GET, pu);
    if (!res || PQntuples(res) != 1)
        return -1;
    json_object *out = json_object_new_object();
    json_object_object_add(out, "user", users_row_json(res, 0));
    if (db_commit(&r->op) != 0) {
        json_object_put(out);
        return -1;
    }
    req_add_header(r, "Set-Cookie",
                   arena_sprintf(r->op.arena, ACCESS_COOKIE "=%s%s; Max-Age=%ld", token,
                                 login_cookie_attrs(r), r->op.cfg->session_max_s));
    return req_json(r, 200, out);
}

int login_signout(struct req *r)
{
    if (r->op.ident->kind == ACCESS_SESSION) {
        const char *p[SESSION_REVOKE__NIN] = {[SESSION_REVOKE_IN_SESSION_ID] =
                                                  r->op.ident->session_id};
        if (db_begin(&r->op) || !DB_EXEC(&r->op, DB_STMT_SESSION_REVOKE, p) ||
            audit_log_write(&r->op, "auth.logout", NULL, NULL, NULL) || db_commit(&r->op))
            return -1;
    }
    req_add_header(
        r, "Set-Cookie",
        arena_sprintf(r->op.arena, ACCESS_COOKIE "=%s; Max-Age=0", login_cookie_attrs(r)));
    r->status = 204;
    return 0;
}

int login_me(struct req *r)
{
    const struct access_ident *id = r->op.ident;
    json_object *out = json_object_new_object();
    PGresult *res;

    if (id->kind == ACCESS_SESSION) {
        const char *p[USER_GET__NIN] = {[USER_GET_IN_USER_ID] = id->user_id};
        const char *p2[MY_PROJECTS__NIN] = {[MY_PROJECTS_IN_USER_ID] = id->user_id,
                                            [MY_PROJECTS_IN_IS_ADMIN] =
                                                id->is_admin ? "true" : "false",
                                            [MY_PROJECTS_IN_TOKEN_PROJECT] = NULL,
                                            [MY_PROJECTS_IN_TOKEN_ROLE] = NULL};
        if (!(res = DB_EXEC(&r->op, DB_STMT_USER_GET, p)) || PQntuples(res) != 1)
            goto fail;
        json_object_object_add(out, "user", users_row_json(res, 0));
        json_object_object_add(out, "token", NULL);
        if (!(res = DB_EXEC(&r->op, DB_STMT_MY_PROJECTS, p2)))
            goto fail;
        json_object_object_add(out, "projects", projects_mine_json(res));
    } else {
        const char *p[TOKEN_GET__NIN] = {[TOKEN_GET_IN_TOKEN_ID] = id->token_id};
        if (!(res = DB_EXEC(&r->op, DB_STMT_TOKEN_GET, p)) || PQntuples(res) != 1)
            goto fail;
        json_object *t = json_object_new_object();
        json_object_object_add(
            t, "id", json_object_new_int64(strtoll(PQgetvalue(res, 0, TOKEN_GET_ID), NULL, 10)));
        json_object_object_add(t, "name",
                               json_object_new_string(PQgetvalue(res, 0, TOKEN_GET_NAME)));
        json_object_object_add(t, "prefix",
                               json_object_new_string(PQgetvalue(res, 0, TOKEN_GET_PREFIX)));
        json_object *scopes = json_object_new_array();
        char *sc = arena_strdup(r->op.arena, PQgetvalue(res, 0, TOKEN_GET_SCOPES));
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

int login_check(struct req *r)
{
    const struct access_ident *id = r->op.ident;
    const char *allowed;

    if (id->kind == ACCESS_TOKEN) {
        allowed = id->token_role >= ACCESS_ROLE_VIEWER ? id->token_project_id : "";
        req_add_header(r, "X-Runwatch-Identity",
                       arena_sprintf(r->op.arena, "token:%s", id->token_id));
    } else {
        const char *p[ALLOWED_PROJECTS__NIN] = {[ALLOWED_PROJECTS_IN_USER_ID] = id->user_id,
                                                [ALLOWED_PROJECTS_IN_IS_ADMIN] =
                                                    id->is_admin ? "true" : "false"};
        PGresult *res = DB_EXEC(&r->op, DB_STMT_ALLOWED_PROJECTS, p);
        if (!res)
            return -1;
        allowed = PQgetvalue(res, 0, ALLOWED_PROJECTS_IDS);
        /* The session too, so that its end (a logout) ends its streams only. */
        req_add_header(
            r, "X-Runwatch-Identity",
            arena_sprintf(r->op.arena, "user:%s session:%s", id->user_id, id->session_id));
    }
    req_add_header(r, "X-Runwatch-Projects", allowed);
    r->status = 204;
    return 0;
}

int login_password(struct req *r)
{
    static const char *const keys[] = {"current_password", "new_password", NULL};
    struct jsonx_err je;
    const char *cur = NULL, *pw = NULL;
    char hash[CRYPT_OUTPUT_SIZE];
    PGresult *res;

    if (access_require_user(&r->op))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "current_password", JSONX_REQUIRED, 1, 1024, &cur, NULL, &je) ||
        jsonx_string(r->body_json, "new_password", JSONX_REQUIRED, 0, 1024, &pw, NULL, &je))
        return req_error_json(r, 400, &je);
    if (access_validate_password(&r->op, "new_password", pw))
        return -1;
    const char *p1[USER_PASSWORD_HASH__NIN] = {[USER_PASSWORD_HASH_IN_USER_ID] =
                                                   r->op.ident->user_id};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_USER_PASSWORD_HASH, p1)))
        return -1;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, USER_PASSWORD_HASH_PASSWORD_HASH) ||
        !access_check_password(cur, PQgetvalue(res, 0, USER_PASSWORD_HASH_PASSWORD_HASH)))
        return req_error(r, 403, "invalid_credentials", "current_password",
                         "current password is wrong");
    if (access_hash_password(pw, hash, sizeof(hash)) != 0)
        return req_error(r, 500, "internal", NULL, "cannot hash password");
    const char *p2[USER_SET_PASSWORD__NIN] = {[USER_SET_PASSWORD_IN_USER_ID] = r->op.ident->user_id,
                                              [USER_SET_PASSWORD_IN_PASSWORD_HASH] = hash};
    const char *p3[SESSIONS_REVOKE_OTHERS__NIN] = {
        [SESSIONS_REVOKE_OTHERS_IN_USER_ID] = r->op.ident->user_id,
        [SESSIONS_REVOKE_OTHERS_IN_SESSION_ID] = r->op.ident->session_id};
    /* Every other session of the user ends: a changed password locks out whoever else
     * had it. */
    if (!DB_EXEC(&r->op, DB_STMT_USER_SET_PASSWORD, p2) ||
        !DB_EXEC(&r->op, DB_STMT_SESSIONS_REVOKE_OTHERS, p3) ||
        audit_log_write(&r->op, "user.password_changed", NULL, NULL, NULL) || db_commit(&r->op))
        return -1;
    r->status = 204;
    return 0;
}
