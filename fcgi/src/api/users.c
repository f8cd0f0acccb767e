/* users: accounts. Only instance admins manage them over HTTP. An admin cannot
 * disable or demote their own account, so an instance is never left without one by
 * a slip. Disabling a user ends their sessions at once. The CLI reuses the handlers'
 * statements through a request context of its own, so there is one code path that
 * writes a user and its audit entry. */
#include "users.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/audit.h"
#include "api/auth.h"
#include "db.h"
#include "log.h"

int users_list(struct req *r)
{
    PGresult *res;

    if (auth_require_instance_admin(r) || !(res = db_exec(r, DB_STMT_USER_LIST, NULL, 0)))
        return -1;
    json_object *items = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_object_array_add(items, auth_user_row_json(res, i));
    return req_json(r, 200, req_page(items, NULL));
}

/* Inserts a user and its audit entry in the open transaction. */
static PGresult *users_insert(struct req *r, const char *email, const char *name,
                              const char *password, int is_admin)
{
    char hash[CRYPT_OUTPUT_SIZE];
    PGresult *res;

    if (!strchr(email, '@') || strchr(email, ' ')) {
        req_error(r, 422, "invalid_value", "email", "email must look like name@host");
        return NULL;
    }
    if (auth_validate_password(r, "password", password))
        return NULL;
    if (auth_hash_password(password, hash, sizeof(hash)) != 0) {
        req_error(r, 500, "internal", NULL, "cannot hash password");
        return NULL;
    }
    const char *p[USER_CREATE__NIN] = {[USER_CREATE_IN_EMAIL] = email,
                                       [USER_CREATE_IN_DISPLAY_NAME] = name,
                                       [USER_CREATE_IN_PASSWORD_HASH] = hash,
                                       [USER_CREATE_IN_IS_ADMIN] = is_admin ? "true" : "false"};
    if (!(res = DB_EXEC(r, DB_STMT_USER_CREATE, p))) {
        req_refine_error(r, 409, "email", "a user with this email exists");
        req_refine_error(r, 422, "email", "email is not valid");
        return NULL;
    }
    if (audit_write(r, "user.create", NULL, email,
                    is_admin ? "{\"is_admin\":true}" : "{\"is_admin\":false}"))
        return NULL;
    return res;
}

int users_create(struct req *r)
{
    static const char *const keys[] = {"email", "display_name", "password", "is_admin", NULL};
    struct jsonx_err je;
    const char *email = NULL, *name = "", *password = NULL;
    int is_admin = 0;
    PGresult *res;

    if (auth_require_instance_admin(r))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "email", JSONX_REQUIRED, 3, 254, &email, NULL, &je) ||
        jsonx_string(r->body_json, "display_name", 0, 0, 200, &name, NULL, &je) ||
        jsonx_string(r->body_json, "password", JSONX_REQUIRED, 0, 1024, &password, NULL, &je) ||
        jsonx_bool(r->body_json, "is_admin", 0, &is_admin, NULL, &je))
        return req_error_json(r, 400, &je);
    if (db_begin(r) || !(res = users_insert(r, email, name, password, is_admin)) || db_commit(r))
        return -1;
    return req_json(r, 201, auth_user_row_json(res, 0));
}

int users_update(struct req *r)
{
    static const char *const keys[] = {"display_name", "is_admin", "disabled", NULL};
    struct jsonx_err je;
    const char *uid = req_path_param(r, "user"), *name = NULL;
    int is_admin = 0, disabled = 0, has_admin = 0, has_disabled = 0;
    PGresult *res;

    if (auth_require_instance_admin(r))
        return -1;
    if (jsonx_only_keys(r->body_json, keys, &je) ||
        jsonx_string(r->body_json, "display_name", 0, 0, 200, &name, NULL, &je) ||
        jsonx_bool(r->body_json, "is_admin", 0, &is_admin, &has_admin, &je) ||
        jsonx_bool(r->body_json, "disabled", 0, &disabled, &has_disabled, &je))
        return req_error_json(r, 400, &je);
    if (!req_is_int(uid))
        return req_error(r, 404, "not_found", NULL, "no such user");
    if (strtoll(uid, NULL, 10) == strtoll(r->auth->user_id, NULL, 10) &&
        ((has_admin && !is_admin) || (has_disabled && disabled)))
        return req_error(r, 409, "self_lockout", has_disabled ? "disabled" : "is_admin",
                         "you cannot disable or demote your own account");
    const char *p[USER_UPDATE__NIN] = {
        [USER_UPDATE_IN_USER_ID] = uid,
        [USER_UPDATE_IN_DISPLAY_NAME] = name,
        [USER_UPDATE_IN_IS_ADMIN] = has_admin ? (is_admin ? "true" : "false") : NULL,
        [USER_UPDATE_IN_DISABLED] = has_disabled ? (disabled ? "true" : "false") : NULL};
    if (db_begin(r) || !(res = DB_EXEC(r, DB_STMT_USER_UPDATE, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such user");
    const char *pu[SESSIONS_REVOKE_USER__NIN] = {[SESSIONS_REVOKE_USER_IN_USER_ID] = uid};
    if (has_disabled && disabled && !DB_EXEC(r, DB_STMT_SESSIONS_REVOKE_USER, pu))
        return -1;
    const char *details = arena_sprintf(
        r->arena, "{\"display_name\":%s,\"is_admin\":%s,\"disabled\":%s}",
        name ? "\"changed\"" : "null", has_admin ? (is_admin ? "true" : "false") : "null",
        has_disabled ? (disabled ? "true" : "false") : "null");
    if (audit_write(r, "user.update", NULL, PQgetvalue(res, 0, USER_UPDATE_EMAIL), details) ||
        db_commit(r))
        return -1;
    return req_json(r, 200, auth_user_row_json(res, 0));
}

/* ---- CLI ---- */

/* A password from stdin (first line), or a generated one that is printed once. */
static const char *users_cli_password(struct arena *a, int from_stdin, int *generated)
{
    static char line[1100];
    *generated = 0;
    if (from_stdin) {
        if (!fgets(line, sizeof(line), stdin))
            return NULL;
        line[strcspn(line, "\r\n")] = '\0';
        return line;
    }
    *generated = 1;
    return auth_random_token(a, 15); /* 20 characters, 120 bits */
}

static void users_cli_usage(void)
{
    fprintf(
        stderr,
        "usage: runwatch-api user add --email EMAIL [--name NAME] [--admin] [--password-stdin]\n"
        "       runwatch-api user reset-password --email EMAIL [--password-stdin]\n"
        "       runwatch-api user bootstrap\n"
        "  Without --password-stdin a strong password is generated and printed once.\n"
        "  bootstrap: when no user exists, creates an instance admin from\n"
        "  RUNWATCH_ADMIN_EMAIL / RUNWATCH_ADMIN_PASSWORD (default admin@localhost and a\n"
        "  generated password); does nothing otherwise.\n");
}

int users_cli(const struct config *cfg, int argc, char **argv)
{
    struct arena a;
    struct db db;
    struct auth_ident anon = {0};
    struct req r;
    const char *sub = argc > 0 ? argv[0] : "";
    const char *email = NULL, *name = "", *password = NULL;
    int admin = 0, from_stdin = 0, generated = 0, rc = 1;
    PGresult *res;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            email = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--admin") == 0)
            admin = 1;
        else if (strcmp(argv[i], "--password-stdin") == 0)
            from_stdin = 1;
        else {
            users_cli_usage();
            return 2;
        }
    }
    arena_init(&a, 16384);
    db_init(&db, cfg->database_url);
    req_init(&r, &a);
    r.cfg = cfg;
    r.db = &db;
    r.auth = &anon;
    r.remote_addr = NULL;

    if (strcmp(sub, "bootstrap") == 0) {
        if (db_begin(&r) || !(res = db_exec(&r, DB_STMT_USER_COUNT, NULL, 0)))
            goto out;
        if (atol(PQgetvalue(res, 0, USER_COUNT_COUNT)) > 0) {
            rc = 0;
            goto out;
        }
        email = getenv("RUNWATCH_ADMIN_EMAIL");
        if (!email || !*email)
            email = "admin@localhost";
        password = getenv("RUNWATCH_ADMIN_PASSWORD");
        if (!password || !*password) {
            password = auth_random_token(&a, 15);
            generated = 1;
        }
        if (!users_insert(&r, email, "Administrator", password, 1) || db_commit(&r))
            goto out;
        printf("Created the first instance admin: %s\n", email);
        if (generated)
            printf("Its password, shown only now: %s\n", password);
        rc = 0;
    } else if (strcmp(sub, "add") == 0 && email) {
        if (!(password = users_cli_password(&a, from_stdin, &generated)))
            goto out;
        if (db_begin(&r) || !users_insert(&r, email, name, password, admin) || db_commit(&r))
            goto out;
        printf("Created user %s%s\n", email, admin ? " (instance admin)" : "");
        if (generated)
            printf("Password, shown only now: %s\n", password);
        rc = 0;
    } else if (strcmp(sub, "reset-password") == 0 && email) {
        char hash[CRYPT_OUTPUT_SIZE];
        if (!(password = users_cli_password(&a, from_stdin, &generated)))
            goto out;
        if (auth_validate_password(&r, "password", password) ||
            auth_hash_password(password, hash, sizeof(hash)) != 0)
            goto out;
        const char *pe[USER_ID_BY_EMAIL__NIN] = {[USER_ID_BY_EMAIL_IN_EMAIL] = email};
        if (db_begin(&r) || !(res = DB_EXEC(&r, DB_STMT_USER_ID_BY_EMAIL, pe)))
            goto out;
        if (PQntuples(res) != 1) {
            req_error(&r, 404, "not_found", "email", "no user has this email");
            goto out;
        }
        const char *uid = PQgetvalue(res, 0, USER_ID_BY_EMAIL_ID);
        const char *p[USER_SET_PASSWORD__NIN] = {
            [USER_SET_PASSWORD_IN_USER_ID] = uid, [USER_SET_PASSWORD_IN_PASSWORD_HASH] = hash};
        const char *pu[SESSIONS_REVOKE_USER__NIN] = {[SESSIONS_REVOKE_USER_IN_USER_ID] = uid};
        if (!DB_EXEC(&r, DB_STMT_USER_SET_PASSWORD, p) ||
            !DB_EXEC(&r, DB_STMT_SESSIONS_REVOKE_USER, pu) ||
            audit_write(&r, "user.password_reset", NULL, email, "{\"via\":\"cli\"}") ||
            db_commit(&r))
            goto out;
        printf("Password of %s reset; their sessions are ended\n", email);
        if (generated)
            printf("New password, shown only now: %s\n", password);
        rc = 0;
    } else {
        users_cli_usage();
        rc = 2;
    }
out:
    if (rc == 1)
        fprintf(stderr, "runwatch-api user %s: %s\n", sub,
                r.err_message ? r.err_message : "failed");
    db_rollback(&db);
    db_fini(&db);
    arena_fini(&a);
    return rc;
}
