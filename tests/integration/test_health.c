/* Health API (api/health.c): liveness and readiness through nginx, and readiness
 * following a PostgreSQL outage (503 with Retry-After, then back for every worker). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static void test_healthz_through_nginx(void)
{
    struct http_resp r;
    char buf[128];

    CU_ASSERT_EQUAL_FATAL(http_get("/api/v1/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(http_json_string(&r, "status"), "ok");
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Content-Type", buf, sizeof(buf)));
    CU_ASSERT_STRING_EQUAL(buf, "application/json");
    /* nginx's request id reaches the API and comes back, for log correlation. */
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "X-Request-Id", buf, sizeof(buf)));
    CU_ASSERT_EQUAL(strlen(buf), 32);
    http_resp_free(&r);

    CU_ASSERT_EQUAL_FATAL(http_do("HEAD", "/api/v1/healthz", NULL, 0, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
}

static void test_readyz(void)
{
    struct http_resp r;
    json_object *checks, *v;

    CU_ASSERT_EQUAL_FATAL(http_get("/api/v1/readyz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(http_json_string(&r, "status"), "ready");
    CU_ASSERT_TRUE_FATAL(r.json && json_object_object_get_ex(r.json, "checks", &checks));
    CU_ASSERT_TRUE(json_object_object_get_ex(checks, "postgres", &v) &&
                   strcmp(json_object_get_string(v), "ok") == 0);
    CU_ASSERT_TRUE(json_object_object_get_ex(checks, "redis", &v) &&
                   strcmp(json_object_get_string(v), "ok") == 0);
    http_resp_free(&r);
}

/* Signs in as the admin the stack bootstrapped; returns "rw_session=…" or NULL. */
static char *admin_cookie(void)
{
    const char *const hdr[] = {"Content-Type: application/json", "X-Runwatch-CSRF: 1", NULL};
    char body[512], set[512];
    static char cookie[256];
    struct http_resp r;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}",
             getenv("RUNWATCH_ADMIN_EMAIL"), getenv("RUNWATCH_ADMIN_PASSWORD"));
    if (http_do("POST", "/api/v1/auth/login", body, strlen(body), hdr, &r) != 0 ||
        r.status != 200 || !http_header(&r, "Set-Cookie", set, sizeof(set))) {
        http_resp_free(&r);
        return NULL;
    }
    http_resp_free(&r);
    snprintf(cookie, sizeof(cookie), "Cookie: %.*s", (int)strcspn(set, ";"), set);
    return cookie;
}

static void test_postgres_outage(void)
{
    struct http_resp r;
    char buf[32];
    int back = 0;

    char *cookie = admin_cookie();
    const char *const auth[] = {cookie, NULL};

    CU_ASSERT_PTR_NOT_NULL_FATAL(cookie);
    /* An OTLP exporter's token, made now and never used before the outage. */
    struct itest_world w;
    struct ident exporter;
    CU_ASSERT_EQUAL_FATAL(itest_world_projects(&w, "outage"), 0);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&w.adm, w.pa.slug, "[\"write\"]", NULL, &exporter), 201);
    CU_ASSERT_EQUAL_FATAL(stack_cmd("pg-stop"), 0);
    /* A request that needs the database: 503 with Retry-After, never a crash or a 500. */
    CU_ASSERT_EQUAL(http_do("GET", "/api/v1/auth/me", NULL, 0, auth, &r), 0);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r), "unavailable");
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Retry-After", buf, sizeof(buf)));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(http_get("/api/v1/readyz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_STRING_EQUAL(http_error_code(&r), "not_ready");
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Retry-After", buf, sizeof(buf)));
    CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "\"postgres\":\"unreachable\""));
    http_resp_free(&r);
    /* OTLP exporters retry a 503 after Retry-After; the body is a google.rpc.Status
     * (14: UNAVAILABLE), as for every OTLP error. */
    CU_ASSERT_EQUAL(api_req(&exporter, "POST", "/api/v1/otlp/v1/traces",
                            "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
                            "\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
                            "\"name\":\"outage\",\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":"
                            "\"2\"}]}]}]}",
                            0, NULL, &r),
                    0);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Retry-After", buf, sizeof(buf)));
    CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "\"code\":14"));
    http_resp_free(&r);
    /* Liveness does not depend on PostgreSQL. */
    CU_ASSERT_EQUAL(http_get("/api/v1/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);

    CU_ASSERT_EQUAL_FATAL(stack_cmd("pg-start"), 0);
    /* Every worker reconnects on its next request: all answers are 200 at once. */
    for (int i = 0; i < 20; i++) {
        http_get("/api/v1/readyz", &r);
        back += r.status == 200;
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(back, 20);
    /* The session made before the outage still works on the new connections. */
    CU_ASSERT_EQUAL(http_do("GET", "/api/v1/auth/me", NULL, 0, auth, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);
}

int suite_health_register(void)
{
    CU_pSuite s = CU_add_suite("health", NULL, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "healthz through nginx", test_healthz_through_nginx) ||
           !CU_add_test(s, "readyz", test_readyz) ||
           !CU_add_test(s, "readyz follows a PostgreSQL outage", test_postgres_outage);
}
