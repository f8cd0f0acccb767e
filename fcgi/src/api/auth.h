/* auth: who is calling and what they may do. A request is authenticated by a bearer
 * token (producers, scripts) or by a session cookie (browsers); the guard resolves it
 * once, before the handler runs, and handlers ask for the role they need on a project
 * with auth_project(). Roles are resolved in SQL, so a caller without access to a
 * project gets the same 404 as for a project that does not exist. */
#ifndef RW_API_AUTH_H
#define RW_API_AUTH_H

#include <stdint.h>

#include <libpq-fe.h>

#include "req.h"
#include "router.h"

enum auth_kind {
    AUTH_NONE,
    AUTH_SESSION,
    AUTH_TOKEN,
};

enum auth_role {
    AUTH_ROLE_NONE,
    AUTH_ROLE_VIEWER,
    AUTH_ROLE_MEMBER,
    AUTH_ROLE_ADMIN,
};

struct auth_ident {
    enum auth_kind kind;
    int is_admin;        /* instance admin (sessions only) */
    const char *user_id; /* decimal, NULL for tokens */
    const char *session_id;
    const char *token_id; /* decimal, NULL for sessions */
    const char *token_project_id;
    enum auth_role token_role;
};

struct auth_project {
    const char *id; /* decimal, ready to be a statement parameter */
    const char *slug;
    const char *name;
    const char *created_at;
    enum auth_role role;
};

#define AUTH_COOKIE       "rw_session"
#define AUTH_CSRF_HEADER  "X-Runwatch-CSRF"
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 200

/* The router's guard: resolves the identity, enforces CSRF on writes that are not
 * bearer-authenticated, and answers 401 on non-public routes without an identity. */
int auth_guard(struct req *r, const struct route *rt);

/* The project named by slug with the caller's role, which must be at least min:
 * 404 when the caller cannot see it, 403 when the role is too low. */
int auth_project(struct req *r, const char *slug, enum auth_role min, struct auth_project *out);
/* The identity as three statement parameters for run_write_project() (migration 0006):
 * the token's project, the user's id, "true" for an instance admin. Returns -1 when the
 * identity can write nowhere (a read-only token), so the caller takes the slow path. */
int auth_write_params(const struct req *r, const char *out[3]);
/* The same for a resource that names its project by id (a run): not visible is a 404
 * for the resource ("no such <what>"), so ids of other projects' runs reveal nothing. */
int auth_project_by_id(struct req *r, const char *project_id, enum auth_role min,
                       struct auth_project *out, const char *what);
/* 403 unless the caller is a signed-in user (not a token). */
int auth_require_user(struct req *r);
/* 403 unless the caller is a signed-in instance admin. */
int auth_require_instance_admin(struct req *r);

const char *auth_role_name(enum auth_role role);
enum auth_role auth_role_parse(const char *s);

/* yescrypt via libcrypt; out must hold CRYPT_OUTPUT_SIZE bytes. 0 on success. */
int auth_hash_password(const char *password, char *out, size_t cap);
/* 1 when password matches hash (constant-time compare), else 0. */
int auth_check_password(const char *password, const char *hash);
/* nbytes from getrandom(2), base64url without padding, into the arena. */
char *auth_random_token(struct arena *a, size_t nbytes);

/* 422 naming field unless pw has an acceptable length. */
int auth_validate_password(struct req *r, const char *field, const char *pw);
/* The public JSON of a user row (id, email, display_name, is_admin, disabled, created_at). */
json_object *auth_user_row_json(PGresult *res, int row);

int auth_login(struct req *r);
int auth_logout(struct req *r);
int auth_me(struct req *r);
int auth_check(struct req *r);
int auth_change_password(struct req *r);

#endif
