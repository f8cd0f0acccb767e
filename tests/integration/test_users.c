/* Users API (api/users.c): disabling a user ends their sessions and tokens' reach; an
 * admin's password reset ends the user's sessions and is audited. */
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

static void test_reset_password(void)
{
    struct ident u, s1;
    struct http_resp r;
    char path[300], body[200], pw[64], code[64], msg[200];

    CU_ASSERT_EQUAL_FATAL(itest_new_user(&world.adm, "reset", "users.test", &u), 0);
    s1 = u;
    CU_ASSERT_EQUAL_FATAL(api_login(&s1), 200);
    snprintf(path, sizeof(path), "/api/v1/users/%lld/password", u.user_id);
    snprintf(body, sizeof(body), "{\"password\":\"%s\"}", itest_password(pw, sizeof(pw)));
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "POST", path, body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(http_json_string(&r, "email") ? http_json_string(&r, "email") : "",
                           u.email);
    http_resp_free(&r);
    /* The old session has ended, the old password fails, the new one works. */
    CU_ASSERT_EQUAL(itest_get_status(&s1, "/api/v1/auth/me"), 401);
    CU_ASSERT_EQUAL(itest_login_as(u.email, u.password, code, msg), 401);
    CU_ASSERT_EQUAL(itest_login_as(u.email, pw, code, msg), 200);

    /* A short password is 422 naming the field; an unknown user 404; an unknown key 400. */
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "POST", path, "{\"password\":\"x\"}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 422);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "password");
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(
        api_call(&world.adm, "POST", "/api/v1/users/999999999/password", body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "POST", path, "{\"pasword\":\"x\"}", &r), 0);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_STRING_EQUAL(http_error_field(&r) ? http_error_field(&r) : "", "pasword");
    http_resp_free(&r);

    /* The audit log has it, by the admin, via admin, with no password in it. */
    snprintf(path, sizeof(path), "/api/v1/audit?action=user.password_reset&actor=%s&limit=50",
             world.adm.email);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.adm, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(r.body ? strstr(r.body, u.email) : NULL);
    CU_ASSERT_PTR_NOT_NULL(r.body ? strstr(r.body, "\"via\":\"admin\"") : NULL);
    CU_ASSERT_PTR_NULL(r.body ? strstr(r.body, pw) : NULL);
    http_resp_free(&r);
}

int suite_users_register(void)
{
    CU_pSuite s = CU_add_suite("users", users_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "disabling a user ends their sessions", test_disable_user) ||
           !CU_add_test(s, "an admin resets a password", test_reset_password);
}
