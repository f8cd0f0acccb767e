/* Users API (api/users.c): disabling a user ends their sessions and tokens' reach. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

static struct itest_world world;

static int users_init(void)
{
    return itest_world_projects(&world, "users") ? 1 : 0;
}

static void test_disable_user(void)
{
    struct ident u, s1;
    struct http_resp r;
    char path[100], body[200], code[64], msg[200], code0[64], msg0[200];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "disable", "users.test", &u), 0);
    s1 = u;
    CU_ASSERT_EQUAL_FATAL(api_login(&s1), 200);
    snprintf(path, sizeof(path), "/api/v1/users/%lld", u.user_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", path, "{\"disabled\":true}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(http_json_string(&r, "disabled") ? http_json_string(&r, "disabled") : "",
                           "true");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&s1, "/api/v1/auth/me"), 401);
    /* A disabled account's login fails like any other. */
    CU_ASSERT_EQUAL(itest_login_as(u.email, u.password, code, msg), 401);
    snprintf(body, sizeof(body), "nobody-%s", u.email);
    CU_ASSERT_EQUAL(itest_login_as(body, u.password, code0, msg0), 401);
    CU_ASSERT_STRING_EQUAL(code, code0);
    CU_ASSERT_STRING_EQUAL(msg, msg0);
    /* Enabled again: a new login works, the old session stays ended. */
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", path, "{\"disabled\":false}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&s1, "/api/v1/auth/me"), 401);
    CU_ASSERT_EQUAL(api_login(&u), 200);

    /* An admin cannot disable themselves. */
    snprintf(path, sizeof(path), "/api/v1/users/%lld", world.adm.user_id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "PATCH", path, "{\"disabled\":true}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 409);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "disabled");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_get_status(&world.adm, "/api/v1/auth/me"), 200);
}

int suite_users_register(void)
{
    CU_pSuite s = CU_add_suite("users", users_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "disabling a user ends their sessions", test_disable_user);
}
