/* access: identities, the guard and role checks.
 * - Secrets are random 256-bit values; PostgreSQL stores and compares only their
 *   SHA-256, so a database dump holds no usable credential. The digest is made here and
 *   is all a statement is given: PostgreSQL logs a slow statement with its parameters.
 * - Passwords are yescrypt hashes from libcrypt.
 * - CSRF: a write that is not authenticated by a bearer token must carry the
 *   X-Runwatch-CSRF header. Browsers' fetch can add it; a cross-site form cannot, and
 *   a cross-site fetch with it needs a CORS preflight we never grant.
 * - Identity cache: with RUNWATCH_AUTH_CACHE_S > 0 each worker reuses a lookup's answer
 *   for at most that long (idcache.c), and drops every answer when an identity changes
 *   (db_ident_poll, db_ident_epoch). See docs/ARCHITECTURE.md, "The identity cache". */
#include "access.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "counters.h"
#include "db.h"
#include "idcache.h"
#include "sha256.h"
#include "req.h"
#include "router.h"

static const char *const access_role_names[] = {"none", "viewer", "member", "admin"};

const char *access_role_name(enum access_role role)
{
    return access_role_names[role];
}

enum access_role access_role_parse(const char *s)
{
    for (int i = ACCESS_ROLE_VIEWER; i <= ACCESS_ROLE_ADMIN; i++)
        if (s && strcmp(s, access_role_names[i]) == 0)
            return (enum access_role)i;
    return ACCESS_ROLE_NONE;
}

char *access_random_token(struct arena *a, size_t nbytes)
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

/* key as 64 lowercase hex digits (what the statements' decode($n, 'hex') reads). */
static void access_hex(const uint8_t key[SHA256_DIGEST], char out[2 * SHA256_DIGEST + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST; i++) {
        out[2 * i] = hex[key[i] >> 4];
        out[2 * i + 1] = hex[key[i] & 15];
    }
    out[2 * SHA256_DIGEST] = '\0';
}

char *access_secret_digest(struct arena *a, const char *secret)
{
    uint8_t key[SHA256_DIGEST];
    char *out = arena_alloc(a, 2 * SHA256_DIGEST + 1);

    if (!out)
        return NULL;
    sha256_digest(secret, strlen(secret), key);
    access_hex(key, out);
    return out;
}

int access_hash_password(const char *password, char *out, size_t cap)
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

int access_check_password(const char *password, const char *hash)
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

void access_equalise_timing(const char *password)
{
    static char dummy[CRYPT_OUTPUT_SIZE];
    if (!dummy[0] && access_hash_password("runwatch-timing-dummy", dummy, sizeof(dummy)) != 0)
        return;
    (void)access_check_password(password, dummy);
}

/* The value of cookie name in a Cookie header, copied into the arena, or NULL. */
static const char *access_cookie(struct req *r, const char *name)
{
    const char *h = req_header(r, "Cookie");
    size_t nl = strlen(name);

    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t len = end ? (size_t)(end - h) : strlen(h);
        if (len > nl && strncmp(h, name, nl) == 0 && h[nl] == '=')
            return arena_strndup(r->op.arena, h + nl + 1, len - nl - 1);
        h = end;
    }
    return NULL;
}

static enum access_role access_scopes_role(const char *scopes)
{
    /* Scopes are a comma list of read, write, admin; the highest one decides. */
    if (strstr(scopes, "admin"))
        return ACCESS_ROLE_ADMIN;
    if (strstr(scopes, "write"))
        return ACCESS_ROLE_MEMBER;
    if (strstr(scopes, "read"))
        return ACCESS_ROLE_VIEWER;
    return ACCESS_ROLE_NONE;
}

static int access_unauthenticated(struct req *r, const char *why)
{
    req_add_header(r, "WWW-Authenticate", "Bearer realm=\"runwatch\"");
    return req_error(r, 401, "unauthenticated", NULL, "%s", why);
}

/* This worker's cache of identity lookups; one request at a time uses it. */
static struct idcache access_cache;

/* The cache's answer for the secret whose key (digest) is key: 1 with v filled, else 0.
 * *on says whether a lookup's answer may then be stored under key: the cache is on, the
 * workers share an epoch (a worker started without the master's segment has none, so
 * another worker's change would reach it only later, by notification), and the
 * connection is up and listening with its notifications read. */
static int access_cache_get(struct req *r, enum idcache_kind kind, const uint8_t *key, int *on,
                            struct idcache_value *v)
{
    *on = 0;
    if (r->op.cfg->auth_cache_s <= 0 || !counters_enabled())
        return 0;
    *on = db_ident_poll(r->op.db);
    idcache_sync(&access_cache, db_ident_epoch(r->op.db));
    if (*on && idcache_get(&access_cache, kind, key, idcache_now_ns(), v)) {
        counters_add(COUNTERS_AUTH_CACHE_HIT, 1);
        return 1;
    }
    counters_add(COUNTERS_AUTH_CACHE_MISS, 1);
    return 0;
}

/* Keeps a lookup's answer until the earliest of the TTL and valid_ms after sent_ns (when
 * the statement was sent: never later than PostgreSQL's own deadline), unless an
 * identity changed since the cache was synced (the answer may predate the change). */
static void access_cache_put(struct req *r, enum idcache_kind kind, const uint8_t *key,
                             int64_t sent_ns, const char *valid_ms, const char *id,
                             const char *owner, int grade)
{
    struct idcache_value v;
    long long ms = r->op.cfg->auth_cache_s * 1000LL;

    if (db_ident_epoch(r->op.db) != access_cache.epoch || !r->op.db->ident_listening ||
        strlen(id) >= sizeof(v.id) || strlen(owner) >= sizeof(v.owner))
        return;
    if (valid_ms && *valid_ms && strtoll(valid_ms, NULL, 10) < ms)
        ms = strtoll(valid_ms, NULL, 10);
    memset(&v, 0, sizeof(v));
    memcpy(v.id, id, strlen(id) + 1);
    memcpy(v.owner, owner, strlen(owner) + 1);
    v.grade = grade;
    idcache_put(&access_cache, kind, key, sent_ns + ms * 1000000, idcache_now_ns(), &v);
}

static int access_resolve(struct req *r, struct access_ident *id)
{
    const char *authz = req_header(r, "Authorization");
    uint8_t key[SHA256_DIGEST];
    char digest[2 * SHA256_DIGEST + 1];
    struct idcache_value v;
    int64_t sent_ns;
    PGresult *res;
    int on;

    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return access_unauthenticated(r, "authorization must be a bearer token");
        const char *tok = authz + 7;
        while (*tok == ' ')
            tok++;
        /* Only well-formed tokens reach the database. */
        if (strncmp(tok, "rw_", 3) != 0 || strlen(tok) > 200)
            return access_unauthenticated(r, "invalid or expired token");
        /* One digest serves the cache's key and the lookup's parameter. */
        idcache_key(tok, key);
        if (access_cache_get(r, IDCACHE_TOKEN, key, &on, &v)) {
            id->kind = ACCESS_TOKEN;
            id->token_id = arena_strdup(r->op.arena, v.id);
            id->token_project_id = arena_strdup(r->op.arena, v.owner);
            id->token_role = (enum access_role)v.grade;
            if (!id->token_id || !id->token_project_id)
                return req_error(r, 500, "internal", NULL, "out of memory");
            return 0;
        }
        access_hex(key, digest);
        const char *p[TOKEN_LOOKUP__NIN] = {[TOKEN_LOOKUP_IN_TOKEN_SHA256] = digest};
        sent_ns = idcache_now_ns();
        res = DB_EXEC(&r->op, DB_STMT_TOKEN_LOOKUP, p);
        if (!res)
            return -1;
        if (PQntuples(res) != 1)
            return access_unauthenticated(r, "invalid or expired token");
        id->kind = ACCESS_TOKEN;
        id->token_id = PQgetvalue(res, 0, TOKEN_LOOKUP_ID);
        id->token_project_id = PQgetvalue(res, 0, TOKEN_LOOKUP_PROJECT_ID);
        id->token_role = access_scopes_role(PQgetvalue(res, 0, TOKEN_LOOKUP_SCOPES));
        if (on)
            access_cache_put(r, IDCACHE_TOKEN, key, sent_ns,
                             PQgetvalue(res, 0, TOKEN_LOOKUP_VALID_MS), id->token_id,
                             id->token_project_id, (int)id->token_role);
        return 0;
    }
    const char *cookie = access_cookie(r, ACCESS_COOKIE);
    if (!cookie || !*cookie || strlen(cookie) > 100)
        return 0;
    idcache_key(cookie, key);
    if (access_cache_get(r, IDCACHE_SESSION, key, &on, &v)) {
        id->kind = ACCESS_SESSION;
        id->session_id = arena_strdup(r->op.arena, v.id);
        id->user_id = arena_strdup(r->op.arena, v.owner);
        id->is_admin = v.grade;
        if (!id->session_id || !id->user_id)
            return req_error(r, 500, "internal", NULL, "out of memory");
        return 0;
    }
    const char *idle = arena_sprintf(r->op.arena, "%ld", r->op.cfg->session_idle_s);
    access_hex(key, digest);
    const char *p[SESSION_LOOKUP__NIN] = {
        [SESSION_LOOKUP_IN_TOKEN_SHA256] = digest, [SESSION_LOOKUP_IN_IDLE_S] = idle};
    sent_ns = idcache_now_ns();
    res = DB_EXEC(&r->op, DB_STMT_SESSION_LOOKUP, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 1) {
        id->kind = ACCESS_SESSION;
        id->session_id = PQgetvalue(res, 0, SESSION_LOOKUP_ID);
        id->user_id = PQgetvalue(res, 0, SESSION_LOOKUP_USER_ID);
        id->is_admin = PQgetvalue(res, 0, SESSION_LOOKUP_IS_ADMIN)[0] == 't';
        if (on)
            access_cache_put(r, IDCACHE_SESSION, key, sent_ns,
                             PQgetvalue(res, 0, SESSION_LOOKUP_VALID_MS), id->session_id,
                             id->user_id, id->is_admin);
    }
    return 0;
}

static int access_is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

int access_guard(struct req *r, const struct route *rt)
{
    struct access_ident *id = arena_calloc(r->op.arena, sizeof(*id));

    if (!id)
        return req_error(r, 500, "internal", NULL, "out of memory");
    r->op.ident = id;
    if (!access_is_safe_method(r->method) && !req_header(r, "Authorization") &&
        !req_header(r, ACCESS_CSRF_HEADER))
        return req_error(r, 403, "csrf", ACCESS_CSRF_HEADER,
                         "writes from a browser session must send the %s header",
                         ACCESS_CSRF_HEADER);
    if (rt->flags & ROUTE_PUBLIC)
        return 0;
    if (access_resolve(r, id) != 0)
        return -1;
    if (id->kind == ACCESS_NONE)
        return access_unauthenticated(r, "sign in or send a bearer token");
    return 0;
}

int access_require_user(struct op *o)
{
    if (o->ident->kind != ACCESS_SESSION)
        return op_fail(o, OP_FORBIDDEN, "forbidden", NULL,
                       "this needs a signed-in user, not a token");
    return 0;
}

int access_require_instance_admin(struct op *o)
{
    if (o->ident->kind != ACCESS_SESSION || !o->ident->is_admin)
        return op_fail(o, OP_FORBIDDEN, "forbidden", NULL, "this needs an instance admin");
    return 0;
}

#define ACCESS_SAME_COLS(a, b)                                                                     \
    (a##_ID == b##_ID && a##_ROLE == b##_ROLE && a##_SLUG == b##_SLUG && a##_NAME == b##_NAME &&   \
     a##_CREATED_AT == b##_CREATED_AT && a##__NOUT == b##__NOUT)
_Static_assert(ACCESS_SAME_COLS(PROJECT_ACCESS_USER, PROJECT_ACCESS_TOKEN) &&
                   ACCESS_SAME_COLS(PROJECT_ACCESS_USER, PROJECT_ACCESS_USER_BY_ID),
               "the project_access statements answer different columns");
#undef ACCESS_SAME_COLS

/* Fills out from a project_access_* row and checks the role. */
static int access_project_row(struct op *o, PGresult *res, enum access_role min,
                              struct access_project *out)
{
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return op_fail(o, OP_NOT_FOUND, "not_found", NULL, "no such project");
    out->id = PQgetvalue(res, 0, PROJECT_ACCESS_USER_ID);
    out->role = o->ident->kind == ACCESS_TOKEN
                    ? o->ident->token_role
                    : access_role_parse(PQgetvalue(res, 0, PROJECT_ACCESS_USER_ROLE));
    out->slug = PQgetvalue(res, 0, PROJECT_ACCESS_USER_SLUG);
    out->name = PQgetvalue(res, 0, PROJECT_ACCESS_USER_NAME);
    out->created_at = PQgetvalue(res, 0, PROJECT_ACCESS_USER_CREATED_AT);
    if (out->role < min)
        return op_fail(o, OP_FORBIDDEN, "forbidden", NULL, "this needs the %s role in project %s",
                       access_role_name(min), out->slug);
    return 0;
}

int access_project(struct op *o, const char *slug, enum access_role min, struct access_project *out)
{
    const struct access_ident *id = o->ident;

    if (!slug || strlen(slug) > 63)
        return op_fail(o, OP_NOT_FOUND, "not_found", NULL, "no such project");
    if (id->kind == ACCESS_TOKEN) {
        const char *p[PROJECT_ACCESS_TOKEN__NIN] = {[PROJECT_ACCESS_TOKEN_IN_SLUG] = slug,
                                                    [PROJECT_ACCESS_TOKEN_IN_TOKEN_PROJECT] =
                                                        id->token_project_id};
        return access_project_row(o, DB_EXEC(o, DB_STMT_PROJECT_ACCESS_TOKEN, p), min, out);
    }
    const char *p[PROJECT_ACCESS_USER__NIN] = {[PROJECT_ACCESS_USER_IN_SLUG] = slug,
                                               [PROJECT_ACCESS_USER_IN_USER_ID] = id->user_id,
                                               [PROJECT_ACCESS_USER_IN_IS_ADMIN] =
                                                   id->is_admin ? "true" : "false"};
    return access_project_row(o, DB_EXEC(o, DB_STMT_PROJECT_ACCESS_USER, p), min, out);
}

/* The identity as the three parameters of a statement that checks access itself, or -1
 * when a token's scopes fall short of min (the caller then takes the slow path). */
static int access_ident_params(const struct op *o, enum access_role min, const char *out[3])
{
    const struct access_ident *id = o->ident;

    if (id->kind == ACCESS_TOKEN) {
        if (id->token_role < min)
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

int access_write_params(const struct op *o, const char *out[3])
{
    return access_ident_params(o, ACCESS_ROLE_MEMBER, out);
}

int access_read_params(const struct op *o, const char *out[3])
{
    return access_ident_params(o, ACCESS_ROLE_VIEWER, out);
}

int access_project_by_id(struct op *o, const char *project_id, enum access_role min,
                         struct access_project *out, const char *what)
{
    const struct access_ident *id = o->ident;
    PGresult *res;

    if (id->kind == ACCESS_TOKEN) {
        /* A token sees one project; anything else does not exist for it. */
        if (strcmp(project_id, id->token_project_id) != 0)
            return op_fail(o, OP_NOT_FOUND, "not_found", NULL, "no such %s", what);
        const char *p[PROJECT_ACCESS_USER_BY_ID__NIN] = {
            [PROJECT_ACCESS_USER_BY_ID_IN_PROJECT_ID] = project_id,
            [PROJECT_ACCESS_USER_BY_ID_IN_USER_ID] = NULL,
            [PROJECT_ACCESS_USER_BY_ID_IN_IS_ADMIN] = "true"};
        res = DB_EXEC(o, DB_STMT_PROJECT_ACCESS_USER_BY_ID, p);
    } else {
        const char *p[PROJECT_ACCESS_USER_BY_ID__NIN] = {
            [PROJECT_ACCESS_USER_BY_ID_IN_PROJECT_ID] = project_id,
            [PROJECT_ACCESS_USER_BY_ID_IN_USER_ID] = id->user_id,
            [PROJECT_ACCESS_USER_BY_ID_IN_IS_ADMIN] = id->is_admin ? "true" : "false"};
        res = DB_EXEC(o, DB_STMT_PROJECT_ACCESS_USER_BY_ID, p);
    }
    if (res && PQntuples(res) != 1)
        return op_fail(o, OP_NOT_FOUND, "not_found", NULL, "no such %s", what);
    return access_project_row(o, res, min, out);
}

const char *access_own_project(const struct op *o, enum access_role min)
{
    const struct access_ident *id = o->ident;

    return id->kind == ACCESS_TOKEN && id->token_role >= min ? id->token_project_id : NULL;
}

int access_project_for(struct op *o, const char *slug, const char *field, enum access_role min,
                       struct access_project *out)
{
    if (slug)
        return access_project(o, slug, min, out);
    if (o->ident->kind != ACCESS_TOKEN)
        return op_fail(o, OP_BAD_INPUT, "invalid_field", field, "%s is required", field);
    return access_project_by_id(o, o->ident->token_project_id, min, out, "project");
}

int access_validate_password(struct op *o, const char *field, const char *pw)
{
    size_t n = strlen(pw);
    if (n < ACCESS_PASSWORD_MIN || n > ACCESS_PASSWORD_MAX)
        return op_fail(o, OP_INVALID, "invalid_value", field, "%s must be %d to %d characters",
                       field, ACCESS_PASSWORD_MIN, ACCESS_PASSWORD_MAX);
    return 0;
}
