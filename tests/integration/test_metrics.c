/* Metrics API (api/metrics.c): points, batches, key summaries, downsampled series, what
 * a write publishes, bad input. Each test works in runs of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct itest_world world;

/* ---- fixture ---- */

static int metrics_init(void)
{
    return itest_world_init(&world, "metrics") ? 1 : 0;
}

/* ---- metrics ---- */

static void test_metrics_write_read(void)
{
    struct http_resp r;
    char run[40], *body;
    size_t cap = 400000, len = 0;

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);
    /* One point. */
    itest_callf(&world.twrite, "POST", "{\"key\":\"acc\",\"value\":0.25,\"step\":0}", &r,
                "/api/v1/runs/%s/metrics", run);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "count"), 1);
    http_resp_free(&r);

    /* 5,000 points of loss in one batch: 1/(step+1), with one spike at step 2500. */
    body = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    len += (size_t)snprintf(body + len, cap - len, "{\"metrics\":[");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"key\":\"train/loss\",\"value\":%.6f,\"step\":%d}",
                                i ? "," : "", i == 2500 ? 99.0 : 1.0 / (i + 1), i);
    snprintf(body + len, cap - len, "]}");
    itest_callf(&world.member, "POST", body, &r, "/api/v1/runs/%s/metrics", run);
    free(body);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "count"), 5000);
    http_resp_free(&r);

    /* Keys with their summaries, sorted by key. */
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/metrics", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "keys"), 2);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "keys.0.key"), "acc"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "keys.1.key"), "train/loss"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "keys.1.count"), 5000);
    CU_ASSERT_EQUAL(itest_jint(r.json, "keys.1.first_step"), 0);
    CU_ASSERT_EQUAL(itest_jint(r.json, "keys.1.last_step"), 4999);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "keys.1.last_value")),
                           1.0 / 5000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "keys.1.max")), 99.0, 1e-9);
    http_resp_free(&r);

    /* Downsampled to 100 buckets of 50: the spike survives as a bucket's max, steps rise. */
    itest_callf(&world.viewer, "GET", NULL, &r,
                "/api/v1/runs/%s/metrics?key=train/loss,acc,none&points=100", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "series"), 3);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "series.0.key"), "train/loss"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "series.0.count"), 5000);
    CU_ASSERT(json_object_get_boolean(itest_jget(r.json, "series.0.downsampled")));
    json_object *pts = itest_jget(r.json, "series.0.points");
    CU_ASSERT_EQUAL_FATAL(pts ? (long)json_object_array_length(pts) : -1, 100);
    double maxmax = 0;
    long long prev = -1;
    int rising = 1;
    for (size_t i = 0; i < json_object_array_length(pts); i++) {
        json_object *p = json_object_array_get_idx(pts, i);
        double mx = json_object_get_double(itest_jget(p, "max"));
        long long step = itest_jint(p, "step");
        maxmax = mx > maxmax ? mx : maxmax;
        rising &= step > prev;
        prev = step;
        CU_ASSERT(json_object_get_double(itest_jget(p, "min")) <=
                  json_object_get_double(itest_jget(p, "value")));
    }
    CU_ASSERT(rising);
    CU_ASSERT_EQUAL(prev, 4999);
    CU_ASSERT_DOUBLE_EQUAL(maxmax, 99.0, 1e-9);
    /* A short series comes whole, without min and max; an unknown key is empty. */
    CU_ASSERT(itest_streq(itest_jstr(r.json, "series.1.key"), "acc"));
    CU_ASSERT_FALSE(json_object_get_boolean(itest_jget(r.json, "series.1.downsampled")));
    CU_ASSERT_EQUAL(itest_jlen(r.json, "series.1.points"), 1);
    CU_ASSERT_PTR_NULL(itest_jget(r.json, "series.1.points.0.min"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "series.2.count"), 0);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "series.2.points"), 0);
    http_resp_free(&r);

    /* Under the limit: every point, as stored. */
    itest_callf(&world.viewer, "GET", NULL, &r,
                "/api/v1/runs/%s/metrics?key=train/loss&points=10000", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "series.0.points"), 5000);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "series.0.points.2500.value")),
                           99.0, 1e-9);
    http_resp_free(&r);
}

static void test_metrics_validation(void)
{
    static const struct {
        const char *body;
        long status;
        const char *field;
    } cases[] = {
        {"{\"value\":1}", 400, "key"},
        {"{\"key\":\"a b\",\"value\":1}", 400, "key"},
        {"{\"key\":\"a,b\",\"value\":1}", 400, "key"},
        {"{\"key\":\"\",\"value\":1}", 400, "key"},
        {"{\"key\":\"k\"}", 400, "value"},
        {"{\"key\":\"k\",\"value\":\"1\"}", 400, "value"},
        {"{\"key\":\"k\",\"value\":1,\"step\":-1}", 400, "step"},
        {"{\"key\":\"k\",\"value\":1,\"step\":1.5}", 400, "step"},
        {"{\"key\":\"k\",\"value\":1,\"ts\":\"yesterday\"}", 400, "ts"},
        {"{\"key\":\"k\",\"value\":1,\"unit\":\"s\"}", 400, "unit"},
        {"{\"metrics\":[]}", 422, "metrics"},
        {"{\"metrics\":{}}", 400, "metrics"},
        {"{\"metrics\":[{\"key\":\"k\",\"value\":1}],\"x\":1}", 400, "metrics"},
        {"{\"metrics\":[{\"key\":\"k\",\"value\":1},{\"key\":\"k\"}]}", 400, "metrics[1].value"},
        {"{\"metrics\":[{\"key\":\"k\",\"value\":1},{\"key\":\"k k\",\"value\":1}]}", 400,
         "metrics[1].key"},
        {"{\"metrics\":[1]}", 400, "metrics"},
    };
    struct http_resp r;
    char run[40], path[128];

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_callf(&world.twrite, "POST", cases[i].body, &r, "/api/v1/runs/%s/metrics", run);
        if (!IS_ERROR(r, cases[i].status, NULL, cases[i].field))
            fprintf(stderr, " (body %s)", cases[i].body);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        http_resp_free(&r);
    }
    /* A batch past the limit is refused whole. */
    size_t cap = 10001 * 24 + 32, len = 0;
    char *big = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    len += (size_t)snprintf(big, cap, "{\"metrics\":[");
    for (int i = 0; i < 10001; i++)
        len +=
            (size_t)snprintf(big + len, cap - len, "%s{\"key\":\"k\",\"value\":1}", i ? "," : "");
    snprintf(big + len, cap - len, "]}");
    itest_callf(&world.twrite, "POST", big, &r, "/api/v1/runs/%s/metrics", run);
    free(big);
    CU_ASSERT(IS_ERROR(r, 422, "invalid_value", "metrics"));
    http_resp_free(&r);
    /* Nothing of the refused writes was stored. */
    itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/runs/%s/metrics", run);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "keys"), 0);
    http_resp_free(&r);

    /* Reading: points and key are checked. */
    static const char *const bad_reads[][2] = {
        {"?key=k&points=1", "points"}, {"?key=k&points=10001", "points"},
        {"?key=k&points=x", "points"}, {"?key=a,,b", "key"},
        {"?key=a%20b", "key"},         {"?key=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u", "key"},
    };
    for (size_t i = 0; i < sizeof(bad_reads) / sizeof(bad_reads[0]); i++) {
        snprintf(path, sizeof(path), "/api/v1/runs/%s/metrics%s", run, bad_reads[i][0]);
        api_call(&world.viewer, "GET", path, NULL, &r);
        CU_ASSERT(IS_ERROR(r, 400, "invalid_field", bad_reads[i][1]));
        http_resp_free(&r);
    }
    /* Another project's member does not see the run. */
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "GET", NULL, "/api/v1/runs/%s/metrics", run),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "POST", "{\"key\":\"k\",\"value\":1}",
                                  "/api/v1/runs/%s/metrics", run),
                    404);
}

static void test_metrics_published(void)
{
    struct itest_sub sub;
    struct http_resp r;
    char run[40];

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);
    itest_callf(&world.twrite, "POST",
                "{\"metrics\":[{\"key\":\"lr\",\"value\":0.1,\"step\":1},{\"key\":\"lr\",\"value\":"
                "0.05,\"step\":2},{\"key\":\"gpu\",\"value\":70}]}",
                &r, "/api/v1/runs/%s/metrics", run);
    EXPECT_STATUS(r, 201);
    http_resp_free(&r);
    json_object *m = itest_sub_find(&sub, run, "run.metrics");
    itest_sub_close(&sub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(itest_jint(m, "project"), world.pa.id);
    CU_ASSERT_EQUAL(itest_jint(m, "data.count"), 3);
    CU_ASSERT_EQUAL(itest_jlen(m, "data.latest"), 2);
    CU_ASSERT(itest_streq(itest_jstr(m, "data.latest.0.key"), "gpu"));
    CU_ASSERT(itest_streq(itest_jstr(m, "data.latest.1.key"), "lr"));
    CU_ASSERT_EQUAL(itest_jint(m, "data.latest.1.step"), 2);
    json_object_put(m);
}

int suite_metrics_register(void)
{
    CU_pSuite s = CU_add_suite("metrics", metrics_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "metrics: points, batches, keys, downsampled series",
                        test_metrics_write_read) ||
           !CU_add_test(s, "metrics: bad input names the field", test_metrics_validation) ||
           !CU_add_test(s, "metrics are published", test_metrics_published);
}
