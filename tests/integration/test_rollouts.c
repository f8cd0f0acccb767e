/* The dashboard's reads of the agent-lightning store (api/rollouts.c): GET /rollouts,
 * /rollouts/{run}/attempts, /resources and /resources/{id}. Seeded through the store itself
 * with A's write token (resources twice, rollouts enqueued, one dequeued, a span, a second
 * attempt); read by A's viewer, a session, which the store's own API refuses. Statuses are
 * agent-lightning's, the latest attempt and worker are there, pages follow the cursor,
 * secrets in resources are redacted, another project's member sees none of it, and bad
 * parameters are 400s naming the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static struct itest_world world;

static int rollouts_init(void)
{
    return itest_world_init(&world, "rollouts") ? 1 : 0;
}

/* A store call as A's write token; the status, r kept for the caller to free. */
static long store(const char *method, const char *path, const char *body, struct http_resp *r)
{
    char full[300];
    snprintf(full, sizeof(full), "/api/v1/agl%s", path);
    if (api_call(&world.twrite, method, full, body, r) != 0)
        return -1;
    return r->status;
}

static void test_views(void)
{
    struct http_resp r;
    char rs[64] = "", first[64] = "", second[64] = "", body[600], path[200];
    const char *s;

    /* Resources, twice: rs at versions 1 and 2, the project's latest. */
    CU_ASSERT_EQUAL_FATAL(store("POST", "/resources",
                                "{\"llm\":{\"resource_type\":\"llm\",\"endpoint\":\"http://x\","
                                "\"model\":\"m1\",\"api_key\":\"sk-secret-1\"}}",
                                &r),
                          201);
    if ((s = http_json_string(&r, "resources_id")))
        snprintf(rs, sizeof(rs), "%s", s);
    http_resp_free(&r);
    CU_ASSERT_FATAL(rs[0] != '\0');
    snprintf(path, sizeof(path), "/resources/%s", rs);
    CU_ASSERT_EQUAL(store("POST", path,
                          "{\"llm\":{\"resource_type\":\"llm\",\"endpoint\":\"http://x\","
                          "\"model\":\"m2\",\"api_key\":\"sk-secret-2\"}}",
                          &r),
                    200);
    http_resp_free(&r);

    /* Two rollouts (they take the latest resources); the first dequeued by w-1, a span
     * makes its attempt run, then a second attempt. */
    CU_ASSERT_EQUAL_FATAL(store("POST", "/queues/rollouts/enqueue",
                                "{\"rollouts\":[{\"input\":{\"q\":\"first\"},\"mode\":\"train\"},"
                                "{\"input\":{\"q\":\"second\"},\"mode\":\"val\"}]}",
                                &r),
                          201);
    if ((s = itest_jstr(r.json, "0.rollout_id")))
        snprintf(first, sizeof(first), "%s", s);
    if ((s = itest_jstr(r.json, "1.rollout_id")))
        snprintf(second, sizeof(second), "%s", s);
    http_resp_free(&r);
    CU_ASSERT_FATAL(first[0] && second[0]);
    CU_ASSERT_EQUAL(
        store("POST", "/queues/rollouts/dequeue", "{\"limit\":1,\"worker_id\":\"w-1\"}", &r), 200);
    CU_ASSERT_STRING_EQUAL(
        itest_jstr(r.json, "0.rollout_id") ? itest_jstr(r.json, "0.rollout_id") : "", first);
    http_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"rollout_id\":\"%s\",\"attempt_id\":\"1\",\"sequence_id\":1,\"trace_id\":"
             "\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"b7ad6b7169203331\","
             "\"name\":\"llm\"}",
             first);
    CU_ASSERT_EQUAL(store("POST", "/spans", body, &r), 201);
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/rollouts/%s/attempts", first);
    CU_ASSERT_EQUAL(store("POST", path, "{}", &r), 201);
    http_resp_free(&r);

    /* The store's own reads refuse the viewer's session; these answer it. */
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "GET", NULL, "/api/v1/agl/rollouts"), 403);
    CU_ASSERT_EQUAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/rollouts?project=%s", world.pa.slug),
        200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.id"), second)); /* newest first */
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.status"), "queuing"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.mode"), "val"));
    CU_ASSERT(itest_jnull(r.json, "items.0.attempt"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.attempts"), 0);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.id"), first));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.status"), "preparing"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.input.q"), "first"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.mode"), "train"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.resources_id"), rs));
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.resources_version"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.attempts"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.attempt.seq"), 2);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.attempt.status"), "preparing"));
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);

    /* Filters: by status, by resources; a page of one and its cursor. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/rollouts?project=%s&status=queuing,running",
                                world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.id"), second));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/rollouts?project=%s&resources_id=%s&limit=1",
                                world.pa.slug, rs),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "next_cursor"), second));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/rollouts?project=%s&resources_id=%s&limit=1&cursor=%s",
                                world.pa.slug, rs, second),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.id"), first));
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/rollouts?project=%s&resources_id=rs-none", world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);
    /* Two statuses (two native ones: queued, running) merged newest first across pages;
     * a cursor that is no run of the project ends a filtered list as it ends the plain one. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/rollouts?project=%s&status=preparing,queuing&limit=1",
                                world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.id"), second));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "next_cursor"), second));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/rollouts?project=%s&status=preparing,queuing&limit=1"
                                "&cursor=%s",
                                world.pa.slug, second),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.id"), first));
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/rollouts?project=%s&status=preparing,queuing"
                                "&cursor=00000000-0000-4000-8000-000000000000",
                                world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);

    /* The first rollout's attempts: 1 ran (the span) and was superseded, 2 prepares. */
    CU_ASSERT_EQUAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/rollouts/%s/attempts", first), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.seq"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.worker"), "w-1"));
    CU_ASSERT(itest_jget(r.json, "items.0.last_heartbeat_at") != NULL);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.seq"), 2);
    http_resp_free(&r);

    /* Resources: one id, two versions, the latest, named by both rollouts; the api_key of
     * each version redacted. */
    CU_ASSERT_EQUAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/resources?project=%s", world.pa.slug),
        200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.resources_id"), rs));
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.version"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.versions"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.rollouts"), 2);
    CU_ASSERT(json_object_get_boolean(itest_jget(r.json, "items.0.latest")));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/resources/%s?project=%s",
                                rs, world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "versions"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "versions.0.version"), 2);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "versions.0.resources.llm.model"), "m2"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "versions.1.resources.llm.model"), "m1"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "versions.0.resources.llm.api_key"), "[redacted]"));
    CU_ASSERT(r.body && !strstr(r.body, "sk-secret"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "GET", NULL,
                                  "/api/v1/resources/rs-none?project=%s", world.pa.slug),
                    404);

    /* Another project's member sees none of it, in the words of the other native reads. */
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/rollouts?project=%s", world.pa.slug),
        404);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/rollouts/%s/attempts", first), 404);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/resources?project=%s", world.pa.slug),
        404);
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "GET", NULL, "/api/v1/resources/%s?project=%s",
                                  rs, world.pa.slug),
                    404);
    /* B's own lists are empty of A's. */
    CU_ASSERT_EQUAL(
        itest_callf(&world.member_b, "GET", NULL, &r, "/api/v1/rollouts?project=%s", world.pb.slug),
        200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);
}

static void test_bad_params(void)
{
    struct http_resp r;
    static const struct {
        const char *query, *field;
    } cases[] = {
        {"status=sleeping", "status"}, {"status=queuing,", "status"},     {"cursor=nope", "cursor"},
        {"limit=0", "limit"},          {"resources_id=", "resources_id"}, {"colour=red", "colour"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                    "/api/v1/rollouts?project=%s&%s", world.pa.slug,
                                    cases[i].query),
                        400);
        CU_ASSERT(IS_ERROR(r, 400, NULL, cases[i].field));
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/resources"), 400);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "project"));
    http_resp_free(&r);
}

int suite_rollouts_register(void)
{
    CU_pSuite s = CU_add_suite("rollouts", rollouts_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "rollouts, attempts and resources as the dashboard reads them, access",
                     test_views) ||
        !CU_add_test(s, "bad parameters are 400s naming the field", test_bad_params))
        return -1;
    return 0;
}
