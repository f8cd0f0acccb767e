/* Auth behaviour (login, sessions, the guard): CSRF, login failures and their count per
 * client, the life of sessions, password change, cookie attributes, malformed bearer
 * tokens, no reach across projects, /auth/check for nginx, the logs (no secret reaches
 * PostgreSQL's, every log private) and at the end a search of every log for the secrets
 * the integration tests used. Expiry is simulated by moving timestamps
 * in PostgreSQL, never by waiting. Each test makes its own users, so the tests do not
 * depend on one another, except the log scan (which runs last on purpose). The identity
 * cache's tests check that every change holds on the next request, on every worker. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "itest.h"
#include "sha256.h"

static struct itest_world world;

static int auth_init(void)
{
    /* The stack's own first admin (deploy/stack.sh bootstrap) must not leak either. */
    secret_note("bootstrap admin password", getenv("RUNWATCH_ADMIN_PASSWORD"));
    return itest_world_projects(&world, "auth") ? 1 : 0;
}

/* Rounds of a request that make sure every worker (3 under run.sh) has seen an identity,
 * so its identity cache holds it (the cache's tests, the password change). */
#define CACHE_ROUNDS 30

/* The stack's count of identities answered from a cache, or -1. */
static double cache_hits(void)
{
    static const char series[] = "runwatch_auth_cache_lookups_total{result=\"hit\"} ";
    struct http_resp r;
    double v = -1;

    if (itest_scrape(&r) == 0 && r.status == 200 && r.body) {
        const char *p = strstr(r.body, series);
        if (p)
            v = strtod(p + sizeof(series) - 1, NULL);
    }
    http_resp_free(&r);
    return v;
}

/* Sends method path as id n times; returns how many answered want and prints the first
 * answer that did not. */
static int answers(const struct ident *id, const char *method, const char *path, long want, int n)
{
    int same = 0, told = 0;

    for (int i = 0; i < n; i++) {
        struct http_resp r;
        if (api_call(id, method, path, NULL, &r) == 0 && r.status == want)
            same++;
        else if (!told++)
            fprintf(stderr, "\n  %s %s, round %d: expected %ld, got %ld %.200s", method, path, i,
                    want, r.status, r.body ? r.body : "");
        http_resp_free(&r);
    }
    return same;
}

/* ---- CSRF ---- */

static void test_csrf(void)
{
    static const struct ident anon = {.kind = IDENT_ANON};
    struct ident u, tok;
    struct http_resp r;
    char body[300], slug[64], path[300], cookie[200];
    const char *basic[] = {"Authorization: Basic Zm9vOmJhcg==", NULL};

    /* A cookie-authenticated write without the header: refused, and nothing happens. */
    itest_unique("csrf", slug, sizeof(slug));
    snprintf(body, sizeof(body), "{\"slug\":\"%s\",\"name\":\"csrf\"}", slug);
    CU_ASSERT_EQUAL_FATAL(
        api_req(&world.adm, "POST", "/api/v1/projects", body, API_NO_CSRF, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 403);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r) ? http_error_code(&r) : "", "csrf");
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/projects/%s", slug);
    CU_ASSERT_EQUAL(itest_get_status(&world.adm, path), 404);

    /* Adding an Authorization header that is not a bearer token does not fall back to
     * the cookie: no way around the header. */
    CU_ASSERT_EQUAL_FATAL(
        api_req(&world.adm, "POST", "/api/v1/projects", body, API_NO_CSRF, basic, &r), 0);
    CU_ASSERT_EQUAL(r.status, 401);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&world.adm, path), 404);

    /* Logout without the header: refused, the session lives on. */
    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "csrf", "auth.test", &u), 0);
    CU_ASSERT_EQUAL_FATAL(api_login(&u), 200);
    CU_ASSERT_EQUAL_FATAL(api_req(&u, "POST", "/api/v1/auth/logout", NULL, API_NO_CSRF, NULL, &r),
                          0);
    CU_ASSERT_EQUAL(r.status, 403);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r) ? http_error_code(&r) : "", "csrf");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&u, "/api/v1/auth/me"), 200);

    /* Login without the header: refused, no cookie. */
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u.email, u.password);
    CU_ASSERT_EQUAL_FATAL(api_req(&anon, "POST", "/api/v1/auth/login", body, API_NO_CSRF, NULL, &r),
                          0);
    CU_ASSERT_EQUAL(r.status, 403);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r) ? http_error_code(&r) : "", "csrf");
    CU_ASSERT_PTR_NULL(http_set_cookie_value(&r, "rw_session", cookie, sizeof(cookie)));
    http_resp_free(&r);

    /* A bearer write needs no header. */
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"admin\"]", "null", &tok),
                          201);
    snprintf(path, sizeof(path), "/api/v1/projects/%s", world.pa.slug);
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", world.pa.slug);
    CU_ASSERT_EQUAL_FATAL(api_req(&tok, "PATCH", path, body, API_NO_CSRF, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
}

/* ---- login failures ---- */

static void test_login_failures_look_alike(void)
{
    static const struct ident anon = {.kind = IDENT_ANON};
    struct ident u;
    struct http_resp unknown, wrong;
    char body[400], cookie[200];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "alike", "auth.test", &u), 0);
    /* An email no one has, with a password someone does have. */
    snprintf(body, sizeof(body), "{\"email\":\"nobody-%s\",\"password\":\"%s\"}", u.email,
             u.password);
    CU_ASSERT_EQUAL_FATAL(api_call(&anon, "POST", "/api/v1/auth/login", body, &unknown), 0);
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s-wrong\"}", u.email,
             u.password);
    CU_ASSERT_EQUAL_FATAL(api_call(&anon, "POST", "/api/v1/auth/login", body, &wrong), 0);

    CU_ASSERT_EQUAL(unknown.status, 401);
    CU_ASSERT_EQUAL(wrong.status, 401);
    CU_ASSERT_PTR_NOT_NULL_FATAL(http_error_code(&unknown));
    CU_ASSERT_PTR_NOT_NULL_FATAL(http_error_code(&wrong));
    CU_ASSERT_STRING_EQUAL(http_error_code(&unknown), http_error_code(&wrong));
    CU_ASSERT_STRING_EQUAL(http_error_message(&unknown), http_error_message(&wrong));
    CU_ASSERT_PTR_NULL(http_error_field(&unknown));
    CU_ASSERT_PTR_NULL(http_error_field(&wrong));
    CU_ASSERT_PTR_NULL(http_set_cookie_value(&wrong, "rw_session", cookie, sizeof(cookie)));
    http_resp_free(&unknown);
    http_resp_free(&wrong);
}

/* Failures are counted per (account, client): an attacker at another address than the
 * owner's (ITEST_ALT_SOURCE) guesses until it is held back for the longest time (the
 * 15th failure: 2^10 s, capped at 15 minutes, so no hold lapses while the test runs;
 * every attempt counts, held back or not), claiming the owner's address in the headers a
 * proxy would set. It is then refused with the right password, with the answer of any
 * failure, while the owner at 127.0.0.1 signs in at once. */
static void test_lockout_per_client(void)
{
    static const struct ident anon = {.kind = IDENT_ANON};
    const char *spoof[] = {"X-Forwarded-For: 127.0.0.1", "X-Real-IP: 127.0.0.1", NULL};
    struct ident u, owner;
    struct http_resp r;
    char code0[64] = "", msg0[200] = "", body[400], sql[400], out[200], cookie[200];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "lock", "auth.test", &u), 0);
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s-wrong\"}", u.email,
             u.password);
    for (int i = 0; i < 15; i++) {
        CU_ASSERT_EQUAL_FATAL(
            api_req(&anon, "POST", "/api/v1/auth/login", body, API_FROM_ALT, spoof, &r), 0);
        EXPECT_STATUS(r, 401);
        if (i == 0) {
            snprintf(code0, sizeof(code0), "%s", http_error_code(&r) ? http_error_code(&r) : "");
            snprintf(msg0, sizeof(msg0), "%s",
                     http_error_message(&r) ? http_error_message(&r) : "");
        }
        http_resp_free(&r);
    }
    CU_ASSERT_STRING_EQUAL(code0, "invalid_credentials");

    /* Held back: the right password gets the very answer of a wrong one. */
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u.email, u.password);
    CU_ASSERT_EQUAL_FATAL(
        api_req(&anon, "POST", "/api/v1/auth/login", body, API_FROM_ALT, spoof, &r), 0);
    EXPECT_STATUS(r, 401);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r) ? http_error_code(&r) : "", code0);
    CU_ASSERT_STRING_EQUAL(http_error_message(&r) ? http_error_message(&r) : "", msg0);
    CU_ASSERT_PTR_NULL(http_set_cookie_value(&r, "rw_session", cookie, sizeof(cookie)));
    http_resp_free(&r);

    /* The owner, at their own address: at once. */
    owner = u;
    CU_ASSERT_EQUAL(api_login(&owner), 200);
    CU_ASSERT_EQUAL(itest_get_status(&owner, "/api/v1/auth/me"), 200);

    /* The count is the attacker's alone, under the address nginx saw, whatever the
     * headers said; the owner's sign-in left it be. */
    snprintf(sql, sizeof(sql),
             "SELECT host(f.client), f.failures >= 16, f.locked_until > now() + interval '10 "
             "minutes' FROM login_failures f JOIN users u ON u.id = f.user_id WHERE u.email = "
             "'%s'",
             u.email);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, ITEST_ALT_SOURCE "|t|t");
    CU_ASSERT_EQUAL_FATAL(
        api_req(&anon, "POST", "/api/v1/auth/login", body, API_FROM_ALT, NULL, &r), 0);
    EXPECT_STATUS(r, 401);
    http_resp_free(&r);

    /* Once the hold has passed, the right password works from there too, and clears that
     * client's count. */
    snprintf(sql, sizeof(sql),
             "UPDATE login_failures SET locked_until = now() - interval '1 second' WHERE user_id "
             "= %lld",
             owner.user_id);
    itest_psql_ok(sql);
    CU_ASSERT_EQUAL_FATAL(
        api_req(&anon, "POST", "/api/v1/auth/login", body, API_FROM_ALT, NULL, &r), 0);
    EXPECT_STATUS(r, 200);
    if (http_set_cookie_value(&r, "rw_session", cookie, sizeof(cookie)))
        secret_note("session cookie", cookie);
    http_resp_free(&r);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM login_failures WHERE user_id = %lld",
             owner.user_id);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0");
}

/* ---- sessions ---- */

static void test_cookie_attributes(void)
{
    static const struct ident anon = {.kind = IDENT_ANON};
    struct ident u;
    struct http_resp r;
    char body[400], line[1024];
    int httponly = 0, samesite = 0, pathroot = 0, secure = 0, maxage = 0;

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "cookie", "auth.test", &u), 0);
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u.email, u.password);
    CU_ASSERT_EQUAL_FATAL(api_call(&anon, "POST", "/api/v1/auth/login", body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(http_header(&r, "Set-Cookie", line, sizeof(line)));
    CU_ASSERT_EQUAL(strncmp(line, "rw_session=", 11), 0);
    for (char *a = strchr(line, ';'); a; a = strchr(a + 1, ';')) {
        char attr[200];
        const char *s = a + 1;
        while (*s == ' ')
            s++;
        snprintf(attr, sizeof(attr), "%.*s", (int)strcspn(s, ";"), s);
        httponly |= strcasecmp(attr, "HttpOnly") == 0;
        samesite |= strcasecmp(attr, "SameSite=Lax") == 0;
        pathroot |= strcmp(attr, "Path=/") == 0;
        secure |= strcasecmp(attr, "Secure") == 0;
        maxage |= strncasecmp(attr, "Max-Age=", 8) == 0 && atol(attr + 8) > 0;
    }
    CU_ASSERT_TRUE(httponly);
    CU_ASSERT_TRUE(samesite);
    CU_ASSERT_TRUE(pathroot);
    CU_ASSERT_TRUE(maxage);
    CU_ASSERT_FALSE(secure); /* plain http: a Secure cookie would never come back */
    http_set_cookie_value(&r, "rw_session", body, sizeof(body));
    secret_note("session cookie", body);
    http_resp_free(&r);
}

static void test_logout(void)
{
    struct ident u, s1, s2;
    struct http_resp r;
    char line[512];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "logout", "auth.test", &u), 0);
    s1 = u;
    s2 = u;
    CU_ASSERT_EQUAL_FATAL(api_login(&s1), 200);
    CU_ASSERT_EQUAL_FATAL(api_login(&s2), 200);
    CU_ASSERT_EQUAL_FATAL(api_call(&s1, "POST", "/api/v1/auth/logout", NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Set-Cookie", line, sizeof(line)));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "Max-Age=0"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&s1, "/api/v1/auth/me"), 401);
    CU_ASSERT_EQUAL(itest_get_status(&s1, "/api/v1/projects"), 401);
    CU_ASSERT_EQUAL(itest_get_status(&s2, "/api/v1/auth/me"), 200); /* only that session ended */
}

static void test_session_expiry(void)
{
    struct ident u;
    char sql[400];

    /* Absolute expiry. */
    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "expire", "auth.test", &u), 0);
    CU_ASSERT_EQUAL_FATAL(api_login(&u), 200);
    CU_ASSERT_EQUAL(itest_get_status(&u, "/api/v1/auth/me"), 200);
    snprintf(sql, sizeof(sql),
             "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = %lld",
             u.user_id);
    itest_psql_ok(sql);
    CU_ASSERT_EQUAL(itest_status_settles(&u, "/api/v1/auth/me", 401), 401);
    CU_ASSERT_EQUAL(api_login(&u), 200); /* a new session is fine */
    CU_ASSERT_EQUAL(itest_get_status(&u, "/api/v1/auth/me"), 200);

    /* Idle expiry: unused for longer than any allowed RUNWATCH_SESSION_IDLE (1 year). */
    snprintf(sql, sizeof(sql),
             "UPDATE sessions SET last_seen_at = now() - interval '400 days' WHERE user_id = %lld "
             "AND revoked_at IS NULL AND expires_at > now()",
             u.user_id);
    itest_psql_ok(sql);
    CU_ASSERT_EQUAL(itest_status_settles(&u, "/api/v1/auth/me", 401), 401);
}

static void test_password_change(void)
{
    struct ident u, s1, s2, neu;
    struct http_resp r;
    char body[400], pw2[80];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "passwd", "auth.test", &u), 0);
    s1 = u;
    s2 = u;
    CU_ASSERT_EQUAL_FATAL(api_login(&s1), 200);
    CU_ASSERT_EQUAL_FATAL(api_login(&s2), 200);
    itest_password(pw2, sizeof(pw2));

    /* A wrong current password changes nothing. */
    snprintf(body, sizeof(body), "{\"current_password\":\"%s-x\",\"new_password\":\"%s\"}",
             u.password, pw2);
    CU_ASSERT_EQUAL_FATAL(api_call(&s1, "POST", "/api/v1/auth/password", body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 403);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "current_password");
    http_resp_free(&r);
    /* A too short new password: 422 naming the field. */
    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"short\"}",
             u.password);
    CU_ASSERT_EQUAL_FATAL(api_call(&s1, "POST", "/api/v1/auth/password", body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 422);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "new_password");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(answers(&s2, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);

    snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"%s\"}",
             u.password, pw2);
    CU_ASSERT_EQUAL_FATAL(api_call(&s1, "POST", "/api/v1/auth/password", body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&s1, "/api/v1/auth/me"), 200); /* this session stays */
    CU_ASSERT_EQUAL(answers(&s2, "GET", "/api/v1/auth/me", 401, CACHE_ROUNDS),
                    CACHE_ROUNDS);       /* the others end, at once on every worker */
    CU_ASSERT_EQUAL(api_login(&u), 401); /* old password */
    neu = u;
    snprintf(neu.password, sizeof(neu.password), "%s", pw2);
    CU_ASSERT_EQUAL(api_login(&neu), 200);
}

static void test_malformed_bearer(void)
{
    struct ident t;
    char bad[400], hdr[500], www[200];
    const char *cases[8];
    int n = 0;

    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", "null", &t),
                          201);
    snprintf(bad, sizeof(bad), "%s", t.secret);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A'; /* one character off */
    cases[n++] = bad;
    cases[n++] = "nope";
    cases[n++] = "rw_";
    cases[n++] = "rw_short_secret";
    cases[n++] =
        "rw_"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    for (int i = 0; i < n; i++) {
        struct ident x = {.kind = IDENT_TOKEN};
        struct http_resp r;
        snprintf(x.secret, sizeof(x.secret), "%s", cases[i]);
        CU_ASSERT_EQUAL_FATAL(api_call(&x, "GET", "/api/v1/auth/me", NULL, &r), 0);
        CU_ASSERT_EQUAL(r.status, 401);
        CU_ASSERT_STRING_EQUAL(http_error_code(&r) ? http_error_code(&r) : "", "unauthenticated");
        CU_ASSERT_PTR_NOT_NULL(http_header(&r, "WWW-Authenticate", www, sizeof(www)));
        http_resp_free(&r);
    }
    /* Not a bearer scheme at all. */
    {
        static const struct ident anon = {.kind = IDENT_ANON};
        struct http_resp r;
        const char *h[] = {hdr, NULL};
        snprintf(hdr, sizeof(hdr), "Authorization: Basic %s", "dXNlcjpwYXNz");
        CU_ASSERT_EQUAL_FATAL(api_req(&anon, "GET", "/api/v1/auth/me", NULL, 0, h, &r), 0);
        CU_ASSERT_EQUAL(r.status, 401);
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(itest_get_status(&t, "/api/v1/auth/me"), 200); /* the real one still works */
}

/* Ids are checked against the project in the path: an admin of A cannot reach a token
 * or a member of B through A's URLs. */
static void test_no_reach_across_projects(void)
{
    struct ident padmin, onlyb, tb;
    struct http_resp r;
    char path[300];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "padmin", "auth.test", &padmin), 0);
    CU_ASSERT_EQUAL_FATAL(itest_add_member(&world.adm, world.pa.slug, padmin.email, "admin"), 0);
    CU_ASSERT_EQUAL_FATAL(api_login(&padmin), 200);
    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "onlyb", "auth.test", &onlyb), 0);
    CU_ASSERT_EQUAL_FATAL(itest_add_member(&world.adm, world.pb.slug, onlyb.email, "viewer"), 0);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pb.slug, "[\"read\"]", "null", &tb),
                          201);

    snprintf(path, sizeof(path), "/api/v1/projects/%s/tokens/%lld", world.pa.slug, tb.token_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&padmin, "DELETE", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&tb, "/api/v1/auth/me"), 200);

    snprintf(path, sizeof(path), "/api/v1/projects/%s/members/%lld", world.pa.slug, onlyb.user_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&padmin, "PATCH", path, "{\"role\":\"admin\"}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(api_call(&padmin, "DELETE", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 404);
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/members", world.pb.slug);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "GET", path, NULL, &r), 0);
    CU_ASSERT_PTR_NOT_NULL(r.body ? strstr(r.body, onlyb.email) : NULL);
    http_resp_free(&r);

    /* A token of B reads nothing of A. */
    snprintf(path, sizeof(path), "/api/v1/projects/%s", world.pa.slug);
    CU_ASSERT_EQUAL(itest_get_status(&tb, path), 404);
}

/* ---- /auth/check ---- */

static void test_auth_check(void)
{
    static const struct ident anon = {.kind = IDENT_ANON};
    struct ident ua, none, t;
    struct http_resp r;
    char h[4096], want[4096], id[64];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "checka", "auth.test", &ua), 0);
    CU_ASSERT_EQUAL_FATAL(itest_add_member(&world.adm, world.pa.slug, ua.email, "viewer"), 0);
    CU_ASSERT_EQUAL_FATAL(api_login(&ua), 200);
    CU_ASSERT_EQUAL_FATAL(api_call(&ua, "GET", "/api/v1/auth/check", NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    snprintf(want, sizeof(want), "%lld", world.pa.id);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "X-Runwatch-Projects", h, sizeof(h)));
    CU_ASSERT_STRING_EQUAL(h, want);
    /* The user and the session: a logout ends that session's streams only. */
    snprintf(id, sizeof(id), "user:%lld session:", ua.user_id);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "X-Runwatch-Identity", h, sizeof(h)));
    CU_ASSERT_EQUAL(strncmp(h, id, strlen(id)), 0);
    CU_ASSERT_TRUE(atoll(h + strlen(id)) > 0);
    http_resp_free(&r);

    /* A user of no project may watch nothing. */
    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "checknone", "auth.test", &none), 0);
    CU_ASSERT_EQUAL_FATAL(api_login(&none), 200);
    CU_ASSERT_EQUAL_FATAL(api_call(&none, "GET", "/api/v1/auth/check", NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    CU_ASSERT_STRING_EQUAL(http_header(&r, "X-Runwatch-Projects", h, sizeof(h)) ? h : "", "");
    http_resp_free(&r);

    /* The instance admin: every project. */
    CU_ASSERT_EQUAL(itest_psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM projects", want,
                               sizeof(want)),
                    0);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "GET", "/api/v1/auth/check", NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "X-Runwatch-Projects", h, sizeof(h)));
    CU_ASSERT_STRING_EQUAL(h, want);
    http_resp_free(&r);

    /* A token: its project. */
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pb.slug, "[\"read\"]", "null", &t),
                          201);
    CU_ASSERT_EQUAL_FATAL(api_call(&t, "GET", "/api/v1/auth/check", NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 204);
    snprintf(want, sizeof(want), "%lld", world.pb.id);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "X-Runwatch-Projects", h, sizeof(h)));
    CU_ASSERT_STRING_EQUAL(h, want);
    snprintf(id, sizeof(id), "token:%lld", t.token_id);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "X-Runwatch-Identity", h, sizeof(h)));
    CU_ASSERT_STRING_EQUAL(h, id);
    http_resp_free(&r);

    CU_ASSERT_EQUAL(itest_get_status(&anon, "/api/v1/auth/check"), 401);
}

/* ---- the identity cache (RUNWATCH_AUTH_CACHE_S) ----
 * run.sh sets its TTL to 60 s, far longer than any of these tests: only an invalidation,
 * never an entry's expiry, can make a change hold here. Changes go through the API and
 * must hold on the very next request, whichever worker takes it; each identity is first
 * used CACHE_ROUNDS times so that every worker has it cached. */

static void test_cache_serves(void)
{
    struct ident t;
    double h0, h1;

    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", "null", &t),
                          201);
    h0 = cache_hits();
    CU_ASSERT_EQUAL(answers(&t, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);
    h1 = cache_hits();
    /* At most one lookup per worker; the rest come from the caches (the tests below mean
     * something only if this holds). */
    if (h0 < 0 || h1 - h0 < CACHE_ROUNDS - 10)
        fprintf(stderr, "\n  cache hits went from %.0f to %.0f", h0, h1);
    CU_ASSERT_TRUE(h0 >= 0 && h1 - h0 >= CACHE_ROUNDS - 10);
}

static void test_cache_revoke(void)
{
    struct ident t;
    char path[200];

    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"write\"]", "null", &t),
                          201);
    CU_ASSERT_EQUAL(answers(&t, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/tokens/%lld", world.pa.slug, t.token_id);
    CU_ASSERT_EQUAL(answers(&world.adm, "DELETE", path, 204, 1), 1);
    CU_ASSERT_EQUAL(answers(&t, "GET", "/api/v1/auth/me", 401, CACHE_ROUNDS), CACHE_ROUNDS);
}

static void test_cache_logout(void)
{
    struct ident u, other;

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "clogout", "auth.test", &u), 0);
    other = u;
    CU_ASSERT_EQUAL_FATAL(api_login(&u), 200);
    CU_ASSERT_EQUAL_FATAL(api_login(&other), 200);
    CU_ASSERT_EQUAL(answers(&u, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);
    CU_ASSERT_EQUAL(answers(&other, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);
    CU_ASSERT_EQUAL(answers(&u, "POST", "/api/v1/auth/logout", 204, 1), 1);
    CU_ASSERT_EQUAL(answers(&u, "GET", "/api/v1/auth/me", 401, CACHE_ROUNDS), CACHE_ROUNDS);
    /* The emptied caches answer the other session again from the database. */
    CU_ASSERT_EQUAL(answers(&other, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);
}

/* The role in a project, membership, instance admin and a disabled account: each holds
 * on the next request. */
static void test_cache_roles(void)
{
    struct ident u;
    struct http_resp r;
    char project[200], member[260], user[100];

    snprintf(project, sizeof(project), "/api/v1/projects/%s", world.pa.slug);
    CU_ASSERT_EQUAL_FATAL(
        itest_new_member(&world.adm, "croles", "auth.test", world.pa.slug, "member", &u), 0);
    snprintf(member, sizeof(member), "%s/members/%lld", project, u.user_id);
    snprintf(user, sizeof(user), "/api/v1/users/%lld", u.user_id);
    CU_ASSERT_EQUAL(answers(&u, "GET", project, 200, CACHE_ROUNDS), CACHE_ROUNDS);

    /* member → viewer: every answer says viewer. */
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", member, "{\"role\":\"viewer\"}", &r), 0);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    for (int i = 0; i < CACHE_ROUNDS; i++) {
        CU_ASSERT_EQUAL_FATAL(api_call(&u, "GET", project, NULL, &r), 0);
        CU_ASSERT_STRING_EQUAL(http_json_string(&r, "role") ? http_json_string(&r, "role") : "",
                               "viewer");
        http_resp_free(&r);
    }
    /* Removed from the project: it is gone for them. */
    CU_ASSERT_EQUAL(answers(&world.adm, "DELETE", member, 204, 1), 1);
    CU_ASSERT_EQUAL(answers(&u, "GET", project, 404, CACHE_ROUNDS), CACHE_ROUNDS);

    /* Made instance admin, then not: the users list is theirs, then not. */
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", user, "{\"is_admin\":true}", &r), 0);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(answers(&u, "GET", "/api/v1/users", 200, CACHE_ROUNDS), CACHE_ROUNDS);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", user, "{\"is_admin\":false}", &r), 0);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(answers(&u, "GET", "/api/v1/users", 403, CACHE_ROUNDS), CACHE_ROUNDS);

    /* Disabled: signed out everywhere at once. */
    CU_ASSERT_EQUAL(answers(&u, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", user, "{\"disabled\":true}", &r), 0);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(answers(&u, "GET", "/api/v1/auth/me", 401, CACHE_ROUNDS), CACHE_ROUNDS);
}

/* Unknown secrets are not remembered: a token works on its first request, everywhere. */
static void test_cache_new_token(void)
{
    struct ident t;

    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", "null", &t),
                              201);
        CU_ASSERT_EQUAL(answers(&t, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);
    }
}

/* A token that expires while cached is refused once its time has come, though no row
 * changed (the cache keeps an answer no longer than the token's expiry). The test waits
 * for the expiry to pass; it asserts nothing about how fast requests are. */
static void test_cache_expiry(void)
{
    struct ident t;
    char expires[64];
    time_t at = time(NULL) + 4;
    struct tm tm;
    int ok = 0;

    gmtime_r(&at, &tm);
    strftime(expires, sizeof(expires), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", expires, &t),
                          201);
    /* Answers that came back before the expiry must be 200s (they fill the caches); one
     * that came later may rightly be a 401, whatever the machine's speed. */
    for (int i = 0; i < CACHE_ROUNDS; i++) {
        long st = itest_get_status(&t, "/api/v1/auth/me");
        if (time(NULL) < at) {
            CU_ASSERT_EQUAL(st, 200);
            ok += st == 200;
        }
    }
    if (!ok)
        fprintf(stderr, "\n  note: the token expired before any request was answered");
    while (time(NULL) < at + 1)
        itest_sleep_ms(100);
    CU_ASSERT_EQUAL(answers(&t, "GET", "/api/v1/auth/me", 401, CACHE_ROUNDS), CACHE_ROUNDS);
}

/* An operator's SQL reaches the caches too, by notification (asynchronously, so the
 * first answer may come before it: itest_status_settles). */
static void test_cache_outside_change(void)
{
    struct ident t;
    char sql[200];

    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", "null", &t),
                          201);
    CU_ASSERT_EQUAL(answers(&t, "GET", "/api/v1/auth/me", 200, CACHE_ROUNDS), CACHE_ROUNDS);
    snprintf(sql, sizeof(sql), "UPDATE api_tokens SET revoked_at = now() WHERE id = %lld",
             t.token_id);
    itest_psql_ok(sql);
    CU_ASSERT_EQUAL(itest_status_settles(&t, "/api/v1/auth/me", 401), 401);
    CU_ASSERT_EQUAL(answers(&t, "GET", "/api/v1/auth/me", 401, CACHE_ROUNDS), CACHE_ROUNDS);
}

/* ---- secrets and the stack's logs ---- */

/* A secret's digest as the API sends it to PostgreSQL: hex SHA-256. */
static void hex_digest(const char *secret, char out[2 * SHA256_DIGEST + 1])
{
    uint8_t d[SHA256_DIGEST];
    sha256_digest(secret, strlen(secret), d);
    for (int i = 0; i < SHA256_DIGEST; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The whole of a file under the var dir (malloc'd), or NULL. */
static char *read_var_file(const char *rel, size_t *len)
{
    char path[1024];
    FILE *f = fopen(var_path(rel, path, sizeof(path)), "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (!f)
        return NULL;
    do {
        if (cap - n < 65536) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 1 << 20);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

/* Makes PostgreSQL log every statement with its parameters, as it logs a slow one
 * (log_min_duration_statement), or goes back to the stack's setting. */
static int pg_log_every_statement(int on)
{
    return itest_psql_admin(on ? "ALTER SYSTEM SET log_min_duration_statement = 0"
                               : "ALTER SYSTEM RESET log_min_duration_statement",
                            NULL, 0) ||
           itest_psql_admin("SELECT pg_reload_conf()", NULL, 0);
}

/* A token or a session cookie never reaches PostgreSQL, so no slow lookup can put one in
 * its log: with every statement logged, fresh secrets are used until the log shows that
 * the statements carrying a token's and a cookie's digests were logged with their
 * parameters (the reload reaches each server process when it next reads a command, so
 * that is waited for, with a deadline), and no secret is there in plain. */
static void test_pg_log_holds_no_secret(void)
{
    struct ident u, t;
    char tok_hex[2 * SHA256_DIGEST + 1], ck_hex[2 * SHA256_DIGEST + 1];
    int seen_tok = 0, seen_ck = 0, leaked = 0;
    double deadline;

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "pglog", "auth.test", &u), 0);
    CU_ASSERT_EQUAL_FATAL(pg_log_every_statement(1), 0);
    deadline = itest_now_s() + 60;
    while ((!seen_tok || !seen_ck) && !leaked && itest_now_s() < deadline) {
        struct ident s = u;
        size_t len = 0;
        char *log;
        if (itest_new_token(&world.adm, world.pa.slug, "[\"read\"]", "null", &t) != 201 ||
            api_login(&s) != 200) {
            CU_FAIL("no token or no session");
            break;
        }
        CU_ASSERT_EQUAL(itest_get_status(&t, "/api/v1/auth/me"), 200);
        CU_ASSERT_EQUAL(itest_get_status(&s, "/api/v1/auth/me"), 200);
        hex_digest(t.secret, tok_hex);
        hex_digest(s.secret, ck_hex);
        if (!(log = read_var_file("log/postgresql.log", &len))) {
            CU_FAIL("cannot read postgresql.log");
            break;
        }
        seen_tok |= memmem(log, len, tok_hex, strlen(tok_hex)) != NULL;
        seen_ck |= memmem(log, len, ck_hex, strlen(ck_hex)) != NULL;
        if (memmem(log, len, t.secret, strlen(t.secret))) {
            fprintf(stderr, "\n  an API token is in postgresql.log");
            leaked++;
        }
        if (memmem(log, len, s.secret, strlen(s.secret))) {
            fprintf(stderr, "\n  a session cookie is in postgresql.log");
            leaked++;
        }
        free(log);
        if (!seen_tok || !seen_ck)
            itest_sleep_ms(200);
    }
    CU_ASSERT_EQUAL(pg_log_every_statement(0), 0);
    CU_ASSERT_EQUAL(leaked, 0);
    if (!leaked && (!seen_tok || !seen_ck))
        fprintf(stderr, "\n  PostgreSQL did not log the lookups (token %d, cookie %d)", seen_tok,
                seen_ck);
    CU_ASSERT_TRUE(leaked || (seen_tok && seen_ck));
}

/* Logs hold addresses, user agents and whatever PostgreSQL found slow: only the stack's
 * user reads them. Every process's log exists (deploy/stack.sh makes them), and every
 * file there is 0600 in a 0700 directory. */
static void test_log_modes(void)
{
    static const char *const logs[] = {"postgresql.log",  "redis.log", "migrate.log",
                                       "api.log",         "sse.log",   "nginx-error.log",
                                       "nginx-access.log"};
    char dir[1024], path[1400];
    struct stat st;
    struct dirent *de;
    DIR *d;

    CU_ASSERT_EQUAL_FATAL(stat(var_path("log", dir, sizeof(dir)), &st), 0);
    if ((st.st_mode & 07777) != 0700)
        fprintf(stderr, "\n  %s has mode %04o", dir, (unsigned)(st.st_mode & 07777));
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, logs[i]);
        if (stat(path, &st) != 0)
            fprintf(stderr, "\n  %s is missing", logs[i]);
        CU_ASSERT_EQUAL(stat(path, &st), 0);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(d = opendir(dir));
    while ((de = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if ((st.st_mode & 07777) != 0600)
            fprintf(stderr, "\n  %s has mode %04o", de->d_name, (unsigned)(st.st_mode & 07777));
        CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
    }
    closedir(d);
}

static void test_no_secrets_in_logs(void)
{
    struct timespec ts = {1, 200000000L}; /* nginx flushes its access log every second */
    nanosleep(&ts, NULL);
    CU_ASSERT_EQUAL(secrets_scan_logs(), 0);
}

int suite_auth_register(void)
{
    CU_pSuite s = CU_add_suite("auth", auth_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "CSRF header required for cookie writes", test_csrf) ||
           !CU_add_test(s, "login failures look alike", test_login_failures_look_alike) ||
           !CU_add_test(s, "failures hold back that client, not the owner",
                        test_lockout_per_client) ||
           !CU_add_test(s, "session cookie attributes", test_cookie_attributes) ||
           !CU_add_test(s, "logout ends the session", test_logout) ||
           !CU_add_test(s, "expired and idle sessions", test_session_expiry) ||
           !CU_add_test(s, "password change ends other sessions", test_password_change) ||
           !CU_add_test(s, "malformed bearer tokens", test_malformed_bearer) ||
           !CU_add_test(s, "no reach across projects by id", test_no_reach_across_projects) ||
           !CU_add_test(s, "auth/check lists the caller's projects", test_auth_check) ||
           !CU_add_test(s, "identity cache: repeated lookups are served", test_cache_serves) ||
           !CU_add_test(s, "identity cache: a revoked token, at once", test_cache_revoke) ||
           !CU_add_test(s, "identity cache: logout, at once", test_cache_logout) ||
           !CU_add_test(s, "identity cache: roles, membership, admin, disabled, at once",
                        test_cache_roles) ||
           !CU_add_test(s, "identity cache: a new token works at once", test_cache_new_token) ||
           !CU_add_test(s, "identity cache: an expiring token ends in time", test_cache_expiry) ||
           !CU_add_test(s, "identity cache: an operator's SQL reaches it",
                        test_cache_outside_change) ||
           !CU_add_test(s, "no token or cookie reaches PostgreSQL's log",
                        test_pg_log_holds_no_secret) ||
           !CU_add_test(s, "logs are 0600 in a 0700 directory", test_log_modes) ||
           !CU_add_test(s, "no secret in any log", test_no_secrets_in_logs);
}
