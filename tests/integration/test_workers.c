/* Workers API (api/workers.c): register, list, beat, stop (and what stopping leaves on
 * runs in flight), sessions, kept fields and samples, bad input. Each test works in
 * workers and queues of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct itest_world world;

/* ---- fixture ---- */

static int workers_init(void)
{
    return itest_world_init(&world, "workers") ? 1 : 0;
}

/* ---- requests ---- */

/* Number of the run's events of kind. */
static int events_of_kind(const char *run, const char *kind, const char *level)
{
    struct http_resp r;
    int n = 0;
    json_object *items;

    if (itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/runs/%s/events", run) != 200 ||
        !(items = itest_jget(r.json, "items"))) {
        http_resp_free(&r);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *e = json_object_array_get_idx(items, i);
        n += strcmp(S(itest_jstr(e, "kind")), kind) == 0 &&
             (!level || strcmp(S(itest_jstr(e, "level")), level) == 0);
    }
    http_resp_free(&r);
    return n;
}

/* ---- workers ---- */

static int listed(const struct ident *who, const char *query, long long worker)
{
    struct http_resp r;
    json_object *items;
    int found = 0;

    if (itest_callf(who, "GET", NULL, &r, "/api/v1/workers%s", query) != 200 ||
        !(items = itest_jget(r.json, "items"))) {
        fprintf(stderr, "\n  GET /api/v1/workers%s: %ld %s", query, r.status, S(r.body));
        http_resp_free(&r);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(items); i++)
        found += itest_jint(json_object_array_get_idx(items, i), "id") == worker;
    http_resp_free(&r);
    return found;
}

static void test_workers(void)
{
    char name[64], q[200], body[600], prev_beat[64];
    struct http_resp r;
    long long w, w2;

    /* Register: 201 with what was sent. */
    itest_unique("wk", name, sizeof(name));
    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"name\":\"%s\",\"host\":\"gpu-01\",\"pid\":4242,\"labels\":{"
             "\"gpu\":\"a100\"},\"kinds\":[\"train\",\"eval\"]}",
             world.pa.slug, name);
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.member, "POST", body, &r, "/api/v1/workers"), 201);
    w = itest_jint(r.json, "id");
    CU_ASSERT_TRUE(w > 0);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "name")), name);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "host")), "gpu-01");
    CU_ASSERT_EQUAL(itest_jint(r.json, "pid"), 4242);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "labels.gpu")), "a100");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "kinds.1")), "eval");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "online");
    CU_ASSERT_TRUE(itest_jnull(r.json, "stopped_at"));
    CU_ASSERT_TRUE(itest_jnull(r.json, "resources"));
    http_resp_free(&r);
    /* Again under the same name (a token means its own project): 200, the same worker. */
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"host\":\"gpu-02\"}", name);
    CU_ASSERT_EQUAL(itest_callf(&world.twrite, "POST", body, &r, "/api/v1/workers"), 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "id"), w);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "host")), "gpu-02");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "online");
    http_resp_free(&r);
    /* The same name in project B is another worker. */
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    CU_ASSERT_EQUAL(itest_callf(&world.twrite_b, "POST", body, &r, "/api/v1/workers"), 201);
    CU_ASSERT_TRUE(itest_jint(r.json, "id") > 0 && itest_jint(r.json, "id") != w);
    http_resp_free(&r);

    /* Heartbeat with a status and a resource sample. */
    CU_ASSERT_EQUAL(itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/workers/%lld", w), 200);
    snprintf(prev_beat, sizeof(prev_beat), "%s", S(itest_jstr(r.json, "worker.last_heartbeat_at")));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.twrite, "POST",
                                "{\"status\":\"busy\",\"resources\":{\"cpu\":0.75,\"mem_mb\":2048,"
                                "\"gpus\":[{\"util\":0.9}]}}",
                                &r, "/api/v1/workers/%lld/heartbeat", w),
                    200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "id"), w);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "busy");
    CU_ASSERT_EQUAL(itest_jint(r.json, "resources.mem_mb"), 2048);
    CU_ASSERT_PTR_NOT_NULL(itest_jget(r.json, "resources.gpus.0.util"));
    CU_ASSERT_STRING_NOT_EQUAL(S(itest_jstr(r.json, "last_heartbeat_at")), prev_beat);
    http_resp_free(&r);
    /* A bare beat keeps status and sample. */
    CU_ASSERT_EQUAL(
        itest_callf(&world.member, "POST", NULL, &r, "/api/v1/workers/%lld/heartbeat", w), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "busy");
    CU_ASSERT_EQUAL(itest_jint(r.json, "resources.mem_mb"), 2048);
    http_resp_free(&r);

    /* The list, filtered by status. */
    CU_ASSERT_TRUE_FATAL((w2 = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    snprintf(q, sizeof(q), "?project=%s", world.pa.slug);
    CU_ASSERT_EQUAL(listed(&world.viewer, q, w), 1);
    CU_ASSERT_EQUAL(listed(&world.viewer, q, w2), 1);
    CU_ASSERT_EQUAL(listed(&world.tread, "", w), 1);
    snprintf(q, sizeof(q), "?project=%s&status=busy", world.pa.slug);
    CU_ASSERT_EQUAL(listed(&world.member, q, w), 1);
    CU_ASSERT_EQUAL(listed(&world.member, q, w2), 0);
    CU_ASSERT_EQUAL(listed(&world.twrite, "?status=online", w2), 1);
    CU_ASSERT_EQUAL(listed(&world.twrite, "?status=online", w), 0);
    CU_ASSERT_EQUAL(listed(&world.twrite_b, "", w), 0);
    /* Each item is a whole worker. */
    snprintf(q, sizeof(q), "/api/v1/workers?project=%s&status=busy", world.pa.slug);
    CU_ASSERT_EQUAL(api_call(&world.member, "GET", q, NULL, &r), 0);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_TRUE(itest_jnull(r.json, "next_cursor"));
    {
        json_object *items = itest_jget(r.json, "items");
        for (size_t i = 0; items && i < json_object_array_length(items); i++) {
            json_object *it = json_object_array_get_idx(items, i);
            CU_ASSERT_STRING_EQUAL(S(itest_jstr(it, "status")), "busy");
            CU_ASSERT_PTR_NOT_NULL(itest_jstr(it, "name"));
            CU_ASSERT_PTR_NOT_NULL(itest_jstr(it, "started_at"));
        }
    }
    http_resp_free(&r);

    /* Stop, and register again: the same worker, online, stopped_at cleared. */
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", NULL, &r, "/api/v1/workers/%lld/stop", w2),
                    200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "stopped");
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "stopped_at"));
    http_resp_free(&r);
    snprintf(q, sizeof(q), "?project=%s&status=stopped", world.pa.slug);
    CU_ASSERT_EQUAL(listed(&world.viewer, q, w2), 1);
    CU_ASSERT_EQUAL(
        itest_callf(&world.member, "POST", NULL, &r, "/api/v1/workers/%lld/heartbeat", w2), 409);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "worker_stopped", NULL));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/workers/%lld", w2), 200);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"%s\"}", world.pa.slug,
             S(itest_jstr(r.json, "worker.name")));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", body, &r, "/api/v1/workers"), 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "id"), w2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "online");
    CU_ASSERT_TRUE(itest_jnull(r.json, "stopped_at"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member, "POST", NULL, "/api/v1/workers/%lld/heartbeat", w2), 200);
}

/* current_runs, and what a stop leaves on the runs in flight. */
static void test_worker_stop(void)
{
    char queue[64], kind[64], claimed[40], started[40], other[40], done[40], got[40], body[128];
    struct http_resp r;
    long long w, wo;

    itest_unique("stop", queue, sizeof(queue));
    itest_unique("stop", kind, sizeof(kind));
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((wo = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 9, claimed), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 8, other), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 7, done), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, -9, started), 0);
    /* w holds one claimed run and one started by hand; wo holds another; w ended one. */
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, claimed);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, wo, got), 200);
    CU_ASSERT_STRING_EQUAL(got, other);
    CU_ASSERT_EQUAL(itest_claim_a(&world, queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, done);
    CU_ASSERT_EQUAL(itest_attempt_end(&world.member, done, 1, "{\"status\":\"succeeded\"}", &r),
                    200);
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"worker_id\":%lld}", w);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, started, body, &r), 201);
    http_resp_free(&r);

    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/workers/%lld", w), 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "worker.id"), w);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "current_runs"), 2);
    {
        int seen = 0;
        json_object *runs = itest_jget(r.json, "current_runs");
        for (size_t i = 0; runs && i < json_object_array_length(runs); i++) {
            json_object *x = json_object_array_get_idx(runs, i);
            const char *id = itest_jstr(x, "id");
            seen += itest_streq(id, claimed) || itest_streq(id, started);
            CU_ASSERT_STRING_EQUAL(S(itest_jstr(x, "status")), "running");
            CU_ASSERT_EQUAL(itest_jint(x, "worker_id"), w);
        }
        CU_ASSERT_EQUAL(seen, 2);
    }
    http_resp_free(&r);

    /* Stop: the runs in flight get an interrupted warning; the others nothing. */
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", NULL, &r, "/api/v1/workers/%lld/stop", w),
                    200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "id"), w);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "stopped");
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "stopped_at"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(events_of_kind(claimed, "interrupted", "warning"), 1);
    CU_ASSERT_EQUAL(events_of_kind(started, "interrupted", "warning"), 1);
    CU_ASSERT_EQUAL(events_of_kind(other, "interrupted", NULL), 0);
    CU_ASSERT_EQUAL(events_of_kind(done, "interrupted", NULL), 0);

    /* A stopped worker neither beats nor claims nor starts attempts. */
    CU_ASSERT_EQUAL(itest_callf(&world.twrite, "POST", "{\"status\":\"online\"}", &r,
                                "/api/v1/workers/%lld/heartbeat", w),
                    409);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "worker_stopped", NULL));
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pa.slug, queue, kind, 0, got), 0);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"worker_id\":%lld}", world.pa.slug, w);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", body, &r, "/api/v1/queues/%s/claim", queue),
                    409);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "worker_stopped", "worker_id"));
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"worker_id\":%lld}", w);
    CU_ASSERT_EQUAL(itest_attempt_start(&world.member, got, body, &r), 409);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "worker_stopped", "worker_id"));
    http_resp_free(&r);
    /* The refused claim left the run queued for another worker. */
    {
        char again[40];
        CU_ASSERT_EQUAL(itest_claim_a(&world, queue, wo, again), 200);
        CU_ASSERT_STRING_EQUAL(again, got);
    }
}

static void test_worker_validation(void)
{
    char long_name[260], body[400];
    long long w, wb;

    memset(long_name, 'n', 201);
    long_name[201] = '\0';
    snprintf(body, sizeof(body), "{\"project\":\"{p}\",\"name\":\"%s\"}", long_name);
    CU_ASSERT_TRUE_FATAL((w = itest_new_worker(&world.member, world.pa.slug, NULL)) > 0);
    CU_ASSERT_TRUE_FATAL((wb = itest_new_worker(&world.twrite_b, NULL, NULL)) > 0);
    const struct itest_bad cases[] = {
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\"}", 0, 400, "invalid_field", "name", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"\"}", 0, 400, NULL, "name",
         NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":7}", 0, 400, NULL, "name", NULL},
        {"POST", "/api/v1/workers", body, 0, 400, NULL, "name", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\",\"host\":5}", 0, 400, NULL,
         "host", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\",\"pid\":-1}", 0, 400, NULL,
         "pid", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\",\"pid\":\"1\"}", 0, 400,
         NULL, "pid", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\",\"labels\":[]}", 0, 400,
         NULL, "labels", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\",\"kinds\":\"a\"}", 0, 400,
         NULL, "kinds", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\",\"kinds\":[1]}", 0, 422,
         "invalid_value", "kinds", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\",\"kinds\":[\"\"]}", 0, 422,
         NULL, "kinds", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\",\"colour\":1}", 0, 400,
         NULL, "colour", NULL},
        {"POST", "/api/v1/workers", "{\"name\":\"v\"}", 0, 400, NULL, "project", NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"no-such-project-zz\",\"name\":\"v\"}", 0, 404,
         "not_found", NULL, NULL},
        {"POST", "/api/v1/workers", "{\"project\":\"{p}\",\"name\":\"v\"}", API_CT_TEXT, 415, NULL,
         NULL, NULL},
        {"POST", "/api/v1/workers/{w}/heartbeat", "{\"status\":\"stopped\"}", 0, 400,
         "invalid_field", "status", NULL},
        {"POST", "/api/v1/workers/{w}/heartbeat", "{\"status\":\"offline\"}", 0, 400, NULL,
         "status", NULL},
        {"POST", "/api/v1/workers/{w}/heartbeat", "{\"resources\":[1]}", 0, 400, NULL, "resources",
         NULL},
        {"POST", "/api/v1/workers/{w}/heartbeat", "{\"resources\":1}", 0, 400, NULL, "resources",
         NULL},
        {"POST", "/api/v1/workers/{w}/heartbeat", "{\"colour\":1}", 0, 400, NULL, "colour", NULL},
        {"POST", "/api/v1/workers/{w}/heartbeat", "{\"status\":\"idle\"}", API_CT_TEXT, 415, NULL,
         NULL, NULL},
        {"POST", "/api/v1/workers/abc/heartbeat", NULL, 0, 404, "not_found", NULL, NULL},
        {"POST", "/api/v1/workers/0/heartbeat", NULL, 0, 404, "not_found", NULL, NULL},
        {"POST", "/api/v1/workers/99999999999999999999/stop", NULL, 0, 404, "not_found", NULL,
         NULL},
        {"GET", "/api/v1/workers/abc", NULL, 0, 404, "not_found", NULL, NULL},
        {"GET", "/api/v1/workers/-1", NULL, 0, 404, "not_found", NULL, NULL},
        {"GET", "/api/v1/workers?project={p}&status=bogus", NULL, 0, 400, "invalid_field", "status",
         NULL},
        {"GET", "/api/v1/workers", NULL, 0, 400, NULL, "project", NULL},
        {"GET", "/api/v1/workers?project=no-such-project-zz", NULL, 0, 404, "not_found", NULL,
         NULL},
    };
    struct itest_bad_targets t = {.run = "", .worker = w, .xworker = wb};
    CU_ASSERT_EQUAL(
        itest_check_bad(&world, &world.member, cases, sizeof(cases) / sizeof(cases[0]), &t), 0);
    /* The refused beats changed nothing. */
    {
        struct http_resp r;
        CU_ASSERT_EQUAL(itest_callf(&world.member, "GET", NULL, &r, "/api/v1/workers/%lld", w),
                        200);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "worker.status")), "online");
        CU_ASSERT_TRUE(itest_jnull(r.json, "worker.resources"));
        http_resp_free(&r);
    }
}

static void test_worker_sessions(void)
{
    struct http_resp r;
    char name[64], body[6000];
    long long id;

    itest_unique("sess", name, sizeof(name));
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"host\":\"gpu-1\",\"pid\":41,\"labels\":{\"zone\":\"a\"},"
             "\"kinds\":[\"train\"]}",
             name);
    itest_callf(&world.twrite, "POST", body, &r, "/api/v1/workers");
    EXPECT_STATUS(r, 201);
    id = itest_jint(r.json, "id");
    http_resp_free(&r);
    CU_ASSERT_FATAL(id > 0);
    /* Registered again with the name only: host, pid, labels and kinds are kept. */
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"pid\":42}", name);
    itest_callf(&world.twrite, "POST", body, &r, "/api/v1/workers");
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "id"), id);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "host"), "gpu-1"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "pid"), 42);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "labels.zone"), "a"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "kinds.0"), "train"));
    http_resp_free(&r);
    /* An explicit empty list does replace. */
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"kinds\":[]}", name);
    itest_callf(&world.twrite, "POST", body, &r, "/api/v1/workers");
    CU_ASSERT_EQUAL(itest_jlen(r.json, "kinds"), 0);
    http_resp_free(&r);
    /* Two beats with samples, one without. */
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST",
                                  "{\"resources\":{\"cpu\":0.5,\"mem_mb\":900}}",
                                  "/api/v1/workers/%lld/heartbeat", id),
                    200);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST",
                                  "{\"resources\":{\"cpu\":0.7,\"gpu\":[0.9]}}",
                                  "/api/v1/workers/%lld/heartbeat", id),
                    200);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.twrite, "POST", NULL, "/api/v1/workers/%lld/heartbeat", id), 200);
    /* A sample is a few numbers, not a payload. */
    int n = snprintf(body, sizeof(body), "{\"resources\":{\"blob\":\"");
    memset(body + n, 'x', 4200);
    snprintf(body + n + 4200, sizeof(body) - (size_t)n - 4200, "\"}}");
    itest_callf(&world.twrite, "POST", body, &r, "/api/v1/workers/%lld/heartbeat", id);
    CU_ASSERT(IS_ERROR(r, 422, "invalid_value", "resources"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", NULL, "/api/v1/workers/%lld/stop", id),
                    200);

    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/workers/%lld", id);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "sessions"), 3);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "sessions.0.end_reason"), "stopped"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "sessions.1.end_reason"), "replaced"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "sessions.2.end_reason"), "replaced"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "sessions.2.pid"), 41);
    CU_ASSERT_EQUAL(itest_jint(r.json, "sessions.1.pid"), 42);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "samples"), 2);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "samples.0.sample.cpu")), 0.5,
                           1e-9);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "samples.1.sample.cpu")), 0.7,
                           1e-9);
    http_resp_free(&r);
}

int suite_workers_register(void)
{
    CU_pSuite s = CU_add_suite("workers", workers_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "workers: register, list, beat, stop", test_workers) ||
           !CU_add_test(s, "stopping a worker with runs in flight", test_worker_stop) ||
           !CU_add_test(s, "workers: bad input names the field", test_worker_validation) ||
           !CU_add_test(s, "workers: sessions, kept fields, samples", test_worker_sessions);
}
