/* Users API (api/users.c): disabling a user ends their sessions and tokens' reach. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

static struct itest_world world;

/* ---- helpers ---- */

static int new_user(const char *tag, struct ident *u)
{
    return itest_new_user(&world.adm, tag, "users.test", u);
}

/* The status of GET path as id. */
static long status_of(const struct ident *id, const char *path)
{
    struct http_resp r;
    long st = -1;
    if (api_call(id, "GET", path, NULL, &r) == 0)
        st = r.status;
    http_resp_free(&r);
    return st;
}

static int users_init(void)
{
    return itest_world_projects(&world, "users") ? 1 : 0;
}

/* Login as u with password pw: fills status, code and message. */
static long login_as(const char *email, const char *pw, char *code, char *msg)
{
    static const struct ident anon = {.kind = IDENT_ANON};
    struct http_resp r;
    char body[400];
    long st;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    if (api_call(&anon, "POST", "/api/v1/auth/login", body, &r) != 0)
        return -1;
    st = r.status;
    snprintf(code, 64, "%s", http_error_code(&r) ? http_error_code(&r) : "");
    snprintf(msg, 200, "%s", http_error_message(&r) ? http_error_message(&r) : "");
    if (http_set_cookie_value(&r, "rw_session", body, sizeof(body)))
        secret_note("session cookie", body);
    http_resp_free(&r);
    return st;
}

static void test_disable_user(void)
{
    struct ident u, s1;
    struct http_resp r;
    char path[100], body[200], code[64], msg[200], code0[64], msg0[200];

    CU_ASSERT_EQUAL_FATAL(new_user("disable", &u), 0);
    s1 = u;
    CU_ASSERT_EQUAL_FATAL(api_login(&s1), 200);
    snprintf(path, sizeof(path), "/api/v1/users/%lld", u.user_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", path, "{\"disabled\":true}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(http_json_string(&r, "disabled") ? http_json_string(&r, "disabled") : "",
                           "true");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(status_of(&s1, "/api/v1/auth/me"), 401);
    /* A disabled account's login fails like any other. */
    CU_ASSERT_EQUAL(login_as(u.email, u.password, code, msg), 401);
    snprintf(body, sizeof(body), "nobody-%s", u.email);
    CU_ASSERT_EQUAL(login_as(body, u.password, code0, msg0), 401);
    CU_ASSERT_STRING_EQUAL(code, code0);
    CU_ASSERT_STRING_EQUAL(msg, msg0);
    /* Enabled again: a new login works, the old session stays ended. */
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", path, "{\"disabled\":false}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(status_of(&s1, "/api/v1/auth/me"), 401);
    CU_ASSERT_EQUAL(api_login(&u), 200);

    /* An admin cannot disable themselves. */
    snprintf(path, sizeof(path), "/api/v1/users/%lld", world.adm.user_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", path, "{\"disabled\":true}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 409);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "disabled");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(status_of(&world.adm, "/api/v1/auth/me"), 200);
}

int suite_users_register(void)
{
    CU_pSuite s = CU_add_suite("users", users_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "disabling a user ends their sessions", test_disable_user);
}
