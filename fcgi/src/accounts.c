/* accounts: one code path per account write. Passwords are validated and hashed here
 * (access.c's crypto), tokens drawn here; the database sees and keeps only hashes. */
#include "accounts.h"

#include <crypt.h>
#include <string.h>

#include "access.h"
#include "arena.h"
#include "audit_log.h"
#include "db.h"

PGresult *accounts_user_create(struct op *o, const char *email, const char *name,
                               const char *password, int is_admin)
{
    char hash[CRYPT_OUTPUT_SIZE];
    PGresult *res;

    if (!strchr(email, '@') || strchr(email, ' ')) {
        op_fail(o, OP_INVALID, "invalid_value", "email", "email must look like name@host");
        return NULL;
    }
    if (access_validate_password(o, "password", password))
        return NULL;
    if (access_hash_password(password, hash, sizeof(hash)) != 0) {
        op_fail(o, OP_INTERNAL, "internal", NULL, "cannot hash password");
        return NULL;
    }
    const char *p[USER_CREATE__NIN] = {[USER_CREATE_IN_EMAIL] = email,
                                       [USER_CREATE_IN_DISPLAY_NAME] = name,
                                       [USER_CREATE_IN_PASSWORD_HASH] = hash,
                                       [USER_CREATE_IN_IS_ADMIN] = is_admin ? "true" : "false"};
    if (!(res = DB_EXEC(o, DB_STMT_USER_CREATE, p))) {
        op_refine(o, OP_CONFLICT, "email", "a user with this email exists");
        op_refine(o, OP_INVALID, "email", "email is not valid");
        return NULL;
    }
    if (audit_log_write(o, "user.create", NULL, email,
                        is_admin ? "{\"is_admin\":true}" : "{\"is_admin\":false}"))
        return NULL;
    return res;
}

int accounts_password_reset(struct op *o, const char *email, const char *password, const char *via)
{
    char hash[CRYPT_OUTPUT_SIZE];
    PGresult *res;

    if (access_validate_password(o, "password", password))
        return -1;
    if (access_hash_password(password, hash, sizeof(hash)) != 0)
        return op_fail(o, OP_INTERNAL, "internal", NULL, "cannot hash password");
    const char *pe[USER_ID_BY_EMAIL__NIN] = {[USER_ID_BY_EMAIL_IN_EMAIL] = email};
    if (!(res = DB_EXEC(o, DB_STMT_USER_ID_BY_EMAIL, pe)))
        return -1;
    if (PQntuples(res) != 1)
        return op_fail(o, OP_NOT_FOUND, "not_found", "email", "no user has this email");
    const char *uid = PQgetvalue(res, 0, USER_ID_BY_EMAIL_ID);
    const char *p[USER_SET_PASSWORD__NIN] = {
        [USER_SET_PASSWORD_IN_USER_ID] = uid, [USER_SET_PASSWORD_IN_PASSWORD_HASH] = hash};
    const char *pu[SESSIONS_REVOKE_USER__NIN] = {[SESSIONS_REVOKE_USER_IN_USER_ID] = uid};
    if (!DB_EXEC(o, DB_STMT_USER_SET_PASSWORD, p) || !DB_EXEC(o, DB_STMT_SESSIONS_REVOKE_USER, pu))
        return -1;
    return audit_log_write(o, "user.password_reset", NULL, email,
                           arena_sprintf(o->arena, "{\"via\":\"%s\"}", via));
}

int accounts_token_create(struct op *o, const char *project_id, const char *name,
                          const char *scopes, const char *expires, const char **token,
                          const char **tid)
{
    const char *prefix_rand = access_random_token(o->arena, 6);
    const char *secret = access_random_token(o->arena, 32);
    const char *digest;
    PGresult *res;

    if (!prefix_rand || !secret)
        return op_fail(o, OP_INTERNAL, "internal", NULL, "no randomness");
    const char *prefix = arena_sprintf(o->arena, "rw_%s", prefix_rand);
    *token = arena_sprintf(o->arena, "%s_%s", prefix, secret);
    if (!*token || !(digest = access_secret_digest(o->arena, *token)))
        return op_fail(o, OP_INTERNAL, "internal", NULL, "out of memory");
    const char *p[TOKEN_CREATE__NIN] = {[TOKEN_CREATE_IN_PROJECT_ID] = project_id,
                                        [TOKEN_CREATE_IN_NAME] = name,
                                        [TOKEN_CREATE_IN_PREFIX] = prefix,
                                        [TOKEN_CREATE_IN_TOKEN_SHA256] = digest,
                                        [TOKEN_CREATE_IN_SCOPES] = scopes,
                                        [TOKEN_CREATE_IN_EXPIRES_AT] = expires,
                                        [TOKEN_CREATE_IN_CREATED_BY] = o->ident->user_id};
    if (!(res = DB_EXEC(o, DB_STMT_TOKEN_CREATE, p))) {
        op_refine(o, OP_BAD_INPUT, "expires_at", "expires_at is not a valid time");
        op_refine(o, OP_INVALID, "expires_at", "expires_at must be in the future");
        return -1;
    }
    *tid = PQgetvalue(res, 0, TOKEN_CREATE_ID);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(name));
    json_object_object_add(d, "scopes", json_object_new_string(scopes));
    const char *details = arena_strdup(o->arena, json_object_to_json_string(d));
    json_object_put(d);
    return audit_log_write(o, "token.create", project_id, prefix, details);
}

int accounts_slug_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}
