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

/* ---- GET /runs/compare ---- */

/* POSTs n points of key (value i*scale, step i) to run as A's write token. */
static void compare_points(const char *run, const char *key, int n, double scale)
{
    size_t cap = (size_t)n * 80 + 64, len = 0;
    char *body = malloc(cap);
    struct http_resp r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    len += (size_t)snprintf(body + len, cap - len, "{\"metrics\":[");
    for (int i = 0; i < n; i++)
        len +=
            (size_t)snprintf(body + len, cap - len, "%s{\"key\":\"%s\",\"value\":%.6f,\"step\":%d}",
                             i ? "," : "", key, i * scale + (i % 7), i);
    snprintf(body + len, cap - len, "]}");
    itest_callf(&world.twrite, "POST", body, &r, "/api/v1/runs/%s/metrics", run);
    free(body);
    EXPECT_STATUS(r, 201);
    http_resp_free(&r);
}

/* The JSON text of path in o ("" when absent), copied into out. */
static const char *jtext(json_object *o, const char *path, char *out, size_t cap)
{
    json_object *v = itest_jget(o, path);
    snprintf(out, cap, "%s", v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "");
    return out;
}

static void test_metrics_compare(void)
{
    struct http_resp r, one;
    char a[40], b[40], c[40], other[40], path[64];
    static char x[600000], y[600000];

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", a), 0);
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", b), 0);
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", c), 0);
    CU_ASSERT_EQUAL_FATAL(itest_queued_run(&world, world.pb.slug, "cmpq", "cmp", 0, other), 0);
    compare_points(a, "train/loss", 3000, 0.5);
    compare_points(a, "eval/acc", 40, 0.01);
    compare_points(b, "train/loss", 700, 2.0);
    /* c has no metrics. */

    /* Each run in the asked order, with its keys and series; each series is exactly the
     * per-run endpoint's for the same keys and points. */
    itest_callf(&world.viewer, "GET", NULL, &r,
                "/api/v1/runs/compare?project=%s&runs=%s,%s,%s&key=train/loss,eval/acc&points=250",
                world.pa.slug, b, a, c);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "points"), 250);
    CU_ASSERT_EQUAL(itest_jint(r.json, "total"), 250 + 250 + 40);
    CU_ASSERT_EQUAL_FATAL(itest_jlen(r.json, "items"), 3);
    const char *order[3] = {b, a, c};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "items.%d.run.id", i);
        CU_ASSERT(itest_streq(itest_jstr(r.json, path), order[i]));
        itest_callf(&world.viewer, "GET", NULL, &one,
                    "/api/v1/runs/%s/metrics?key=train/loss,eval/acc&points=250", order[i]);
        EXPECT_STATUS(one, 200);
        snprintf(path, sizeof(path), "items.%d.series", i);
        CU_ASSERT_STRING_EQUAL(jtext(r.json, path, x, sizeof(x)),
                               jtext(one.json, "series", y, sizeof(y)));
        http_resp_free(&one);
        itest_callf(&world.viewer, "GET", NULL, &one, "/api/v1/runs/%s/metrics", order[i]);
        EXPECT_STATUS(one, 200);
        snprintf(path, sizeof(path), "items.%d.keys", i);
        CU_ASSERT_STRING_EQUAL(jtext(r.json, path, x, sizeof(x)),
                               jtext(one.json, "keys", y, sizeof(y)));
        http_resp_free(&one);
    }
    CU_ASSERT(json_object_get_boolean(itest_jget(r.json, "items.1.series.0.downsampled")));
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items.1.series.0.points"), 250);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items.2.keys"), 0);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.2.series.0.count"), 0);
    /* The run as the run list renders it. */
    itest_callf(&world.viewer, "GET", NULL, &one, "/api/v1/runs/%s", a);
    EXPECT_STATUS(one, 200);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.run.name"), itest_jstr(one.json, "name")));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.run.status"), "running"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.run.project"), world.pa.slug));
    http_resp_free(&one);
    http_resp_free(&r);

    /* Without key: each run's own keys, by key; without points: all of them here. */
    itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/runs/compare?runs=%s,%s", a, b);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "points"), 500);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items.0.series"), 2);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.series.0.key"), "eval/acc"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.series.1.key"), "train/loss"));
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items.1.series"), 1);
    itest_callf(&world.viewer, "GET", NULL, &one,
                "/api/v1/runs/%s/metrics?key=eval/acc,train/loss&points=500", a);
    CU_ASSERT_STRING_EQUAL(jtext(r.json, "items.0.series", x, sizeof(x)),
                           jtext(one.json, "series", y, sizeof(y)));
    http_resp_free(&one);
    http_resp_free(&r);

    /* Isolation: another project's run is not one of A's, whoever asks; B's member cannot
     * read A's runs at all. */
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/compare?project=%s&runs=%s,%s",
                world.pa.slug, a, other);
    CU_ASSERT(IS_ERROR(r, 404, "not_found", "runs"));
    CU_ASSERT_PTR_NOT_NULL(strstr(S(itest_jstr(r.json, "error.message")), other));
    http_resp_free(&r);
    itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/runs/compare?project=%s&runs=%s,%s",
                world.pa.slug, a, other);
    CU_ASSERT(IS_ERROR(r, 404, "not_found", "runs"));
    http_resp_free(&r);
    itest_callf(&world.twrite_b, "GET", NULL, &r, "/api/v1/runs/compare?runs=%s,%s", a, b);
    CU_ASSERT(IS_ERROR(r, 404, "not_found", "runs"));
    http_resp_free(&r);
    itest_callf(&world.member_b, "GET", NULL, &r, "/api/v1/runs/compare?project=%s&runs=%s,%s",
                world.pa.slug, a, b);
    CU_ASSERT(r.status == 403 || r.status == 404);
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r,
                "/api/v1/runs/compare?project=%s&runs=%s,00000000-0000-4000-8000-000000000000",
                world.pa.slug, a);
    CU_ASSERT(IS_ERROR(r, 404, "not_found", "runs"));
    http_resp_free(&r);

    /* Bad input names the field. */
    char q[8][200];
    const char *field[8] = {"runs", "runs", "runs", "points", "points", "points", "key", NULL};
    snprintf(q[0], sizeof(q[0]), "runs=%s", a);
    snprintf(q[1], sizeof(q[1]), "runs=%s,%s,nope", a, b);
    snprintf(q[2], sizeof(q[2]), "runs=%s,%s,%s", a, b, a); /* a repeat */
    snprintf(q[3], sizeof(q[3]), "runs=%s,%s&points=1", a, b);
    snprintf(q[4], sizeof(q[4]), "runs=%s,%s&points=10001", a, b);
    snprintf(q[5], sizeof(q[5]), "runs=%s,%s&points=ten", a, b);
    snprintf(q[6], sizeof(q[6]), "runs=%s,%s&key=a%%20b", a, b);
    snprintf(q[7], sizeof(q[7]), "runs=%s,%s&colour=red", a, b);
    for (int i = 0; i < 8; i++) {
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/compare?project=%s&%s",
                    world.pa.slug, q[i]);
        CU_ASSERT(IS_ERROR(r, 400, NULL, field[i]));
        http_resp_free(&r);
    }
    /* 51 runs. */
    char many[51 * 37 + 1];
    size_t o = 0;
    for (int i = 0; i < 51; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, "%s00000000-0000-4000-8000-%012d",
                              i ? "," : "", i);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/compare?project=%s&runs=%s",
                world.pa.slug, many);
    CU_ASSERT(IS_ERROR(r, 400, "invalid_field", "runs"));
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/compare?project=%s", world.pa.slug);
    CU_ASSERT(IS_ERROR(r, 400, "invalid_field", "runs"));
    http_resp_free(&r);

    /* Bounded: 21 keys of 10,000 points at points=10000 would answer 210,000 points, past
     * the most (200,000): 413 naming points, with the figures; without points the server
     * picks a count that fits (500 each here). */
    for (int k = 0; k < 21; k++) {
        char key[32];
        snprintf(key, sizeof(key), "big/k%02d", k);
        compare_points(c, key, 10000, 0.001);
    }
    itest_callf(&world.viewer, "GET", NULL, &r,
                "/api/v1/runs/compare?project=%s&runs=%s,%s&points=10000", world.pa.slug, a, c);
    CU_ASSERT(IS_ERROR(r, 413, "answer_too_large", "points"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "error.details.total"), 3000 + 40 + 210000);
    CU_ASSERT_EQUAL(itest_jint(r.json, "error.details.max_total"), 200000);
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/compare?project=%s&runs=%s,%s",
                world.pa.slug, a, c);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "points"), 500);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items.1.series"), 21);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items.1.series.20.points"), 500);
    http_resp_free(&r);
}

int suite_metrics_register(void)
{
    CU_pSuite s = CU_add_suite("metrics", metrics_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "metrics: points, batches, keys, downsampled series",
                        test_metrics_write_read) ||
           !CU_add_test(s, "metrics: bad input names the field", test_metrics_validation) ||
           !CU_add_test(s, "metrics are published", test_metrics_published) ||
           !CU_add_test(s, "metrics: compare runs in one request", test_metrics_compare);
}
