/* access: who is acting and what they may do; the layer below api/. A request is
 * authenticated by a bearer token (producers, scripts) or by a session cookie
 * (browsers); the router's guard resolves it once, before the handler runs, into
 * op->ident. Role checks take a struct op, so the CLI and handlers share them. Roles
 * are resolved in SQL, so a caller without access to a project gets the same 404 as
 * for a project that does not exist. Token and password crypto live here too. */
#ifndef RW_ACCESS_H
#define RW_ACCESS_H

#include <stddef.h>

#include "arena.h"
#include "op.h"

struct req;
struct route;

enum access_kind {
    ACCESS_NONE,
    ACCESS_SESSION,
    ACCESS_TOKEN,
};

enum access_role {
    ACCESS_ROLE_NONE,
    ACCESS_ROLE_VIEWER,
    ACCESS_ROLE_MEMBER,
    ACCESS_ROLE_ADMIN,
};

struct access_ident {
    enum access_kind kind;
    int is_admin;        /* instance admin (sessions, and the operator's CLI) */
    const char *user_id; /* decimal, NULL for tokens */
    const char *session_id;
    const char *token_id; /* decimal, NULL for sessions */
    const char *token_project_id;
    enum access_role token_role;
};

struct access_project {
    const char *id; /* decimal, ready to be a statement parameter */
    const char *slug;
    const char *name;
    const char *created_at;
    enum access_role role;
};

#define ACCESS_COOKIE       "rw_session"
#define ACCESS_CSRF_HEADER  "X-Runwatch-CSRF"
#define ACCESS_PASSWORD_MIN 8
#define ACCESS_PASSWORD_MAX 200

/* The hex SHA-256 of a secret (an API token, a session cookie) in the arena, or NULL:
 * the only form of a secret a statement is given (PostgreSQL stores the same digest). */
char *access_secret_digest(struct arena *a, const char *secret);

/* The router's guard: resolves the identity into r->op.ident, enforces CSRF on writes
 * that are not bearer-authenticated, and answers 401 on non-public routes without an
 * identity. */
int access_guard(struct req *r, const struct route *rt);

/* The project named by slug with the identity's role, which must be at least min:
 * not found when the identity cannot see it, forbidden when the role is too low. */
int access_project(struct op *o, const char *slug, enum access_role min,
                   struct access_project *out);
/* The same for a resource that names its project by id (a run): not visible is "no
 * such <what>", so ids of other projects' runs reveal nothing. */
int access_project_by_id(struct op *o, const char *project_id, enum access_role min,
                         struct access_project *out, const char *what);
/* The project of a request that may name one: slug when given, else a token's own
 * project; a user who names none gets a 400 naming `field`. */
int access_project_for(struct op *o, const char *slug, const char *field, enum access_role min,
                       struct access_project *out);
/* The id of a token's own project when its scopes reach min, with no lookup (a token lives
 * no longer than its project: deleting one deletes its tokens); NULL for a user, or for a
 * token whose scopes fall short: access_project_for then answers, and says why. */
const char *access_own_project(const struct op *o, enum access_role min);
/* The identity as three statement parameters for run_writable() (sql/functions/20_runs.sql):
 * the token's project, the user's id, "true" for an instance admin. Returns -1 (no
 * error set) when the identity can write nowhere (a read-only token), so the caller
 * takes the slow path. */
int access_write_params(const struct op *o, const char *out[3]);
/* The same for a read that checks access itself (run_get_visible): any token reads its own
 * project, a user the projects they belong to, an instance admin all. */
int access_read_params(const struct op *o, const char *out[3]);
/* Forbidden unless the identity is a signed-in user (not a token). */
int access_require_user(struct op *o);
/* Forbidden unless the identity is an instance admin. */
int access_require_instance_admin(struct op *o);

const char *access_role_name(enum access_role role);
enum access_role access_role_parse(const char *s);

/* yescrypt via libcrypt; out must hold CRYPT_OUTPUT_SIZE bytes. 0 on success. */
int access_hash_password(const char *password, char *out, size_t cap);
/* 1 when password matches hash (constant-time compare), else 0. */
int access_check_password(const char *password, const char *hash);
/* Burns the time of one password check, for logins that fail before reaching one. */
void access_equalise_timing(const char *password);
/* nbytes from getrandom(2), base64url without padding, into the arena. */
char *access_random_token(struct arena *a, size_t nbytes);
/* Invalid (422) naming field unless pw has an acceptable length. */
int access_validate_password(struct op *o, const char *field, const char *pw);

#endif
