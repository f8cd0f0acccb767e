/* Produce suite: metrics (points, batches, key summaries, downsampled series, what a
 * write publishes, bad input), the run list's other sorts (started, ended, duration)
 * paged with cursors, POST /runs/wait (answers when runs end, on timeout, refuses past
 * its slots), heartbeats tied to an attempt, and worker sessions and samples. Each test
 * works in runs and workers of its own. Nothing asserts on durations: a wait's test
 * asserts what it answered, not how fast. The event log read newest first (order=desc,
 * before=) is here too. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct ident adm, viewer, member, member_b, twrite;
static struct {
    char slug[64];
    long long id;
} pa, pb;

static int produce_init(void)
{
    if (itest_instance_admin(&adm) != 0)
        return 1;
    if (itest_make_project(&adm, "produce-a", pa.slug, sizeof(pa.slug), &pa.id) ||
        itest_make_project(&adm, "produce-b", pb.slug, sizeof(pb.slug), &pb.id))
        return 1;
    if (itest_new_user(&adm, "viewer", "produce.test", &viewer) ||
        itest_add_member(&adm, pa.slug, viewer.email, "viewer") || api_login(&viewer) != 200)
        return 1;
    if (itest_new_user(&adm, "member", "produce.test", &member) ||
        itest_add_member(&adm, pa.slug, member.email, "member") || api_login(&member) != 200)
        return 1;
    if (itest_new_user(&adm, "member-b", "produce.test", &member_b) ||
        itest_add_member(&adm, pb.slug, member_b.email, "member") || api_login(&member_b) != 200)
        return 1;
    return itest_new_token(&adm, pa.slug, "[\"write\"]", NULL, &twrite) == 201 ? 0 : 1;
}

/* A run of project A (status queued or running) made by the write token; 0 on success. */
static int new_run(const char *status, char id[40])
{
    struct http_resp r;
    char body[200];

    snprintf(body, sizeof(body), "{\"kind\":\"produce\",\"status\":\"%s\"}", status);
    long st = itest_callf(&twrite, "POST", body, &r, "/api/v1/runs");
    id[0] = '\0';
    if (st == 201 && itest_jstr(r.json, "id"))
        snprintf(id, 40, "%s", itest_jstr(r.json, "id"));
    else
        fprintf(stderr, "\n  create run: %ld %s", st, S(r.body));
    http_resp_free(&r);
    return id[0] ? 0 : -1;
}

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ---- metrics ---- */

static void test_metrics_write_read(void)
{
    struct http_resp r;
    char run[40], *body;
    size_t cap = 400000, len = 0;

    CU_ASSERT_EQUAL_FATAL(new_run("running", run), 0);
    /* One point. */
    itest_callf(&twrite, "POST", "{\"key\":\"acc\",\"value\":0.25,\"step\":0}", &r,
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
    itest_callf(&member, "POST", body, &r, "/api/v1/runs/%s/metrics", run);
    free(body);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "count"), 5000);
    http_resp_free(&r);

    /* Keys with their summaries, sorted by key. */
    itest_callf(&viewer, "GET", NULL, &r, "/api/v1/runs/%s/metrics", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "keys"), 2);
    CU_ASSERT(streq(itest_jstr(r.json, "keys.0.key"), "acc"));
    CU_ASSERT(streq(itest_jstr(r.json, "keys.1.key"), "train/loss"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "keys.1.count"), 5000);
    CU_ASSERT_EQUAL(itest_jint(r.json, "keys.1.first_step"), 0);
    CU_ASSERT_EQUAL(itest_jint(r.json, "keys.1.last_step"), 4999);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "keys.1.last_value")),
                           1.0 / 5000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "keys.1.max")), 99.0, 1e-9);
    http_resp_free(&r);

    /* Downsampled to 100 buckets of 50: the spike survives as a bucket's max, steps rise. */
    itest_callf(&viewer, "GET", NULL, &r,
                "/api/v1/runs/%s/metrics?key=train/loss,acc,none&points=100", run);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "series"), 3);
    CU_ASSERT(streq(itest_jstr(r.json, "series.0.key"), "train/loss"));
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
    CU_ASSERT(streq(itest_jstr(r.json, "series.1.key"), "acc"));
    CU_ASSERT_FALSE(json_object_get_boolean(itest_jget(r.json, "series.1.downsampled")));
    CU_ASSERT_EQUAL(itest_jlen(r.json, "series.1.points"), 1);
    CU_ASSERT_PTR_NULL(itest_jget(r.json, "series.1.points.0.min"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "series.2.count"), 0);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "series.2.points"), 0);
    http_resp_free(&r);

    /* Under the limit: every point, as stored. */
    itest_callf(&viewer, "GET", NULL, &r, "/api/v1/runs/%s/metrics?key=train/loss&points=10000",
                run);
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

    CU_ASSERT_EQUAL_FATAL(new_run("running", run), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_callf(&twrite, "POST", cases[i].body, &r, "/api/v1/runs/%s/metrics", run);
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
    itest_callf(&twrite, "POST", big, &r, "/api/v1/runs/%s/metrics", run);
    free(big);
    CU_ASSERT(IS_ERROR(r, 422, "invalid_value", "metrics"));
    http_resp_free(&r);
    /* Nothing of the refused writes was stored. */
    itest_callf(&adm, "GET", NULL, &r, "/api/v1/runs/%s/metrics", run);
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
        api_call(&viewer, "GET", path, NULL, &r);
        CU_ASSERT(IS_ERROR(r, 400, "invalid_field", bad_reads[i][1]));
        http_resp_free(&r);
    }
    /* Another project's member does not see the run. */
    CU_ASSERT_EQUAL(itest_statusf(&member_b, "GET", NULL, "/api/v1/runs/%s/metrics", run), 404);
    CU_ASSERT_EQUAL(itest_statusf(&member_b, "POST", "{\"key\":\"k\",\"value\":1}",
                                  "/api/v1/runs/%s/metrics", run),
                    404);
}

static void test_metrics_published(void)
{
    struct itest_sub sub;
    struct http_resp r;
    char run[40];
    char *msg = NULL;

    CU_ASSERT_EQUAL_FATAL(new_run("running", run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);
    itest_callf(&twrite, "POST",
                "{\"metrics\":[{\"key\":\"lr\",\"value\":0.1,\"step\":1},{\"key\":\"lr\",\"value\":"
                "0.05,\"step\":2},{\"key\":\"gpu\",\"value\":70}]}",
                &r, "/api/v1/runs/%s/metrics", run);
    EXPECT_STATUS(r, 201);
    http_resp_free(&r);
    /* Other writes of the instance may come first: look for this run's message. */
    json_object *m = NULL;
    for (int i = 0; i < 200 && !m; i++) {
        free(msg);
        if (!(msg = itest_sub_next(&sub, 5000)))
            break;
        json_object *o = json_tokener_parse(msg);
        if (o && streq(itest_jstr(o, "run"), run) && streq(itest_jstr(o, "type"), "run.metrics"))
            m = o;
        else
            json_object_put(o);
    }
    free(msg);
    itest_sub_close(&sub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(itest_jint(m, "project"), pa.id);
    CU_ASSERT_EQUAL(itest_jint(m, "data.count"), 3);
    CU_ASSERT_EQUAL(itest_jlen(m, "data.latest"), 2);
    CU_ASSERT(streq(itest_jstr(m, "data.latest.0.key"), "gpu"));
    CU_ASSERT(streq(itest_jstr(m, "data.latest.1.key"), "lr"));
    CU_ASSERT_EQUAL(itest_jint(m, "data.latest.1.step"), 2);
    json_object_put(m);
}

/* ---- sorts ---- */

/* Runs of a fresh project whose times are set by hand, so each sort's order is known. */
static void test_sorts(void)
{
    static const char *const times[][2] = {
        /* started_at, ended_at (NULL: not ended) */
        {"2026-01-01T00:00:03Z", "2026-01-01T00:00:10Z"}, /* 7 s */
        {"2026-01-01T00:00:01Z", "2026-01-01T00:01:01Z"}, /* 60 s */
        {"2026-01-01T00:00:05Z", NULL},
        {"2026-01-01T00:00:02Z", "2026-01-01T00:00:04Z"}, /* 2 s */
        {"2026-01-01T00:00:04Z", "2026-01-01T00:00:34Z"}, /* 30 s */
    };
    enum { N = 5 };
    char slug[64], run[N + 1][40], sql[1024], body[200];
    long long pid;
    struct ident tok;
    struct http_resp r;

    CU_ASSERT_EQUAL_FATAL(itest_make_project(&adm, "sorts", slug, sizeof(slug), &pid), 0);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&adm, slug, "[\"write\"]", NULL, &tok), 201);
    for (int i = 0; i <= N; i++) {
        snprintf(body, sizeof(body), "{\"kind\":\"sorted\",\"name\":\"r%d\"}", i);
        itest_callf(&tok, "POST", body, &r, "/api/v1/runs");
        CU_ASSERT_EQUAL_FATAL(r.status, 201);
        snprintf(run[i], 40, "%s", S(itest_jstr(r.json, "id")));
        http_resp_free(&r);
        if (i == N)
            break; /* the last stays queued: in no started/ended/duration list */
        snprintf(
            sql, sizeof(sql),
            /* By way of running: the lifecycle trigger refuses queued -> succeeded. */
            "UPDATE runs SET status = 'running' WHERE id = '%s'; UPDATE runs SET status = '%s', "
            "started_at = '%s', ended_at = %s%s%s WHERE id = '%s'",
            run[i], times[i][1] ? "succeeded" : "running", times[i][0], times[i][1] ? "'" : "",
            times[i][1] ? times[i][1] : "NULL", times[i][1] ? "'" : "", run[i]);
        CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    }
    static const struct {
        const char *query;
        int order[N];
        int n;
    } want[] = {
        {"sort=started&order=desc", {2, 4, 0, 3, 1}, 5},
        {"sort=started&order=asc", {1, 3, 0, 4, 2}, 5},
        {"sort=ended", {1, 4, 0, 3}, 4},
        {"sort=ended&order=asc", {3, 0, 4, 1}, 4},
        {"sort=duration", {1, 4, 0, 3}, 4},
        {"sort=duration&order=asc", {3, 0, 4, 1}, 4},
    };
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        /* Two to a page: the cursor carries each sort's key across pages. */
        char cursor[200] = "", path[512];
        int got = 0, ok = 1;
        for (int page = 0; page < 5; page++) {
            snprintf(path, sizeof(path), "/api/v1/runs?project=%s&%s&limit=2%s%s", slug,
                     want[w].query, cursor[0] ? "&cursor=" : "", cursor);
            api_call(&tok, "GET", path, NULL, &r);
            EXPECT_STATUS(r, 200);
            for (long i = 0; i < itest_jlen(r.json, "items"); i++, got++) {
                char key[32];
                snprintf(key, sizeof(key), "items.%ld.id", i);
                if (got >= want[w].n || !streq(itest_jstr(r.json, key), run[want[w].order[got]]))
                    ok = 0;
            }
            const char *next = itest_jstr(r.json, "next_cursor");
            snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
            http_resp_free(&r);
            if (!next)
                break;
        }
        if (!ok || got != want[w].n)
            fprintf(stderr, "\n  %s: wrong order or count (%d)", want[w].query, got);
        CU_ASSERT(ok && got == want[w].n);
    }
    /* A cursor belongs to its sort. */
    char path[512], cursor[200];
    snprintf(path, sizeof(path), "/api/v1/runs?project=%s&sort=duration&limit=1", slug);
    api_call(&tok, "GET", path, NULL, &r);
    snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(r.json, "next_cursor")));
    CU_ASSERT_EQUAL(strncmp(cursor, "d:", 2), 0);
    http_resp_free(&r);
    static const char *const other[] = {"created", "started", "ended"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/api/v1/runs?project=%s&sort=%s&cursor=%s", slug, other[i],
                 cursor);
        api_call(&tok, "GET", path, NULL, &r);
        CU_ASSERT(IS_ERROR(r, 400, "invalid_field", "cursor"));
        http_resp_free(&r);
    }
    snprintf(path, sizeof(path), "/api/v1/runs?project=%s&sort=name", slug);
    api_call(&tok, "GET", path, NULL, &r);
    CU_ASSERT(IS_ERROR(r, 400, "invalid_field", "sort"));
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/runs?project=%s&sort=duration&cursor=d:x~%s", slug,
             run[0]);
    api_call(&tok, "GET", path, NULL, &r);
    CU_ASSERT(IS_ERROR(r, 400, "invalid_field", "cursor"));
    http_resp_free(&r);
}

/* ---- wait ---- */

struct ender {
    char run[40];
    int delay_ms;
    long status;
};

/* Ends the run after a while, from another connection. */
static void *end_later(void *arg)
{
    struct ender *e = arg;
    struct timespec ts = {e->delay_ms / 1000, (long)(e->delay_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    e->status =
        itest_statusf(&twrite, "PATCH", "{\"status\":\"succeeded\"}", "/api/v1/runs/%s", e->run);
    return NULL;
}

static void test_wait(void)
{
    struct http_resp r;
    struct ender e = {.delay_ms = 300};
    char ended[40], body[300];
    pthread_t t;

    CU_ASSERT_EQUAL_FATAL(new_run("running", e.run), 0);
    CU_ASSERT_EQUAL_FATAL(new_run("queued", ended), 0);
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "POST", NULL, "/api/v1/runs/%s/cancel", ended), 200);

    /* Already ended: answered at once, done. */
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\"]}", ended);
    itest_callf(&viewer, "POST", body, &r, "/api/v1/runs/wait");
    EXPECT_STATUS(r, 200);
    CU_ASSERT(json_object_get_boolean(itest_jget(r.json, "done")));
    CU_ASSERT(streq(itest_jstr(r.json, "runs.0.status"), "cancelled"));
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "runs.0.ended_at"));
    http_resp_free(&r);

    /* One ends while we wait (30 s allowed): the answer says both have ended. The
     * run's id in upper case is the same run. */
    char upper[40];
    snprintf(upper, sizeof(upper), "%s", e.run);
    for (char *c = upper; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\",\"%s\"],\"timeout_s\":30}", upper, ended);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, end_later, &e), 0);
    itest_callf(&member, "POST", body, &r, "/api/v1/runs/wait");
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(e.status, 200);
    EXPECT_STATUS(r, 200);
    CU_ASSERT(json_object_get_boolean(itest_jget(r.json, "done")));
    CU_ASSERT(streq(itest_jstr(r.json, "runs.0.id"), e.run));
    CU_ASSERT(streq(itest_jstr(r.json, "runs.0.status"), "succeeded"));
    CU_ASSERT(streq(itest_jstr(r.json, "runs.1.id"), ended));
    http_resp_free(&r);

    /* Nothing ends: the timeout answers, not done, ended_at null. */
    char open_run[40];
    CU_ASSERT_EQUAL_FATAL(new_run("queued", open_run), 0);
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\",\"%s\"],\"timeout_s\":0.5}", open_run, ended);
    itest_callf(&viewer, "POST", body, &r, "/api/v1/runs/wait");
    EXPECT_STATUS(r, 200);
    CU_ASSERT_FALSE(json_object_get_boolean(itest_jget(r.json, "done")));
    CU_ASSERT(streq(itest_jstr(r.json, "runs.0.status"), "queued"));
    CU_ASSERT(itest_jnull(r.json, "runs.0.ended_at"));
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "runs.1.ended_at"));
    http_resp_free(&r);
}

static void test_wait_validation(void)
{
    struct http_resp r;
    char run[40], b_run[40], body[8000];
    struct ident tok_b;

    CU_ASSERT_EQUAL_FATAL(new_run("queued", run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&adm, pb.slug, "[\"write\"]", NULL, &tok_b), 201);
    itest_callf(&tok_b, "POST", "{\"kind\":\"b\"}", &r, "/api/v1/runs");
    snprintf(b_run, sizeof(b_run), "%s", S(itest_jstr(r.json, "id")));
    http_resp_free(&r);

    const struct {
        const char *body;
        long status;
        const char *field;
    } cases[] = {
        {"{}", 400, "ids"},
        {"{\"ids\":\"x\"}", 400, "ids"},
        {"{\"ids\":[]}", 422, "ids"},
        {"{\"ids\":[\"not-a-uuid\"]}", 400, "ids[0]"},
        {"{\"ids\":[\"00000000-0000-4000-8000-000000000000\"],\"timeout_s\":31}", 400, "timeout_s"},
        {"{\"ids\":[\"00000000-0000-4000-8000-000000000000\"],\"timeout_s\":-1}", 400, "timeout_s"},
        {"{\"ids\":[\"00000000-0000-4000-8000-000000000000\"],\"wait\":1}", 400, "wait"},
        {"{\"ids\":[\"00000000-0000-4000-8000-000000000000\"],\"timeout_s\":0}", 404, "ids[0]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_callf(&member, "POST", cases[i].body, &r, "/api/v1/runs/wait");
        if (!IS_ERROR(r, cases[i].status, NULL, cases[i].field))
            fprintf(stderr, " (body %s)", cases[i].body);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        http_resp_free(&r);
    }
    /* 101 ids is too many. */
    size_t len = (size_t)snprintf(body, sizeof(body), "{\"ids\":[");
    for (int i = 0; i < 101; i++)
        len += (size_t)snprintf(body + len, sizeof(body) - len, "%s\"%s\"", i ? "," : "", run);
    snprintf(body + len, sizeof(body) - len, "]}");
    itest_callf(&member, "POST", body, &r, "/api/v1/runs/wait");
    CU_ASSERT(IS_ERROR(r, 422, "invalid_value", "ids"));
    http_resp_free(&r);
    /* A run of another project is a run that does not exist, named by its index. */
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\",\"%s\"],\"timeout_s\":0}", run, b_run);
    itest_callf(&member, "POST", body, &r, "/api/v1/runs/wait");
    CU_ASSERT(IS_ERROR(r, 404, "not_found", "ids[1]"));
    http_resp_free(&r);
}

struct waiter {
    char body[200];
    long status;
};

static void *wait_long(void *arg)
{
    struct waiter *w = arg;
    w->status = itest_statusf(&viewer, "POST", w->body, "/api/v1/runs/wait");
    return NULL;
}

/* Waits take at most half the API's workers; one more is told to come back. */
static void test_wait_slots(void)
{
    enum { MAXW = 16 };
    pid_t pids[64];
    int workers = api_worker_pids(pids, 64), slots = workers > 1 ? workers / 2 : 1;
    struct waiter w[MAXW];
    pthread_t t[MAXW];
    char run[40], out[64] = "";
    struct http_resp r;

    CU_ASSERT_FATAL(slots >= 1 && slots <= MAXW);
    CU_ASSERT_EQUAL_FATAL(new_run("queued", run), 0);
    for (int i = 0; i < slots; i++) {
        snprintf(w[i].body, sizeof(w[i].body), "{\"ids\":[\"%s\"],\"timeout_s\":4}", run);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, wait_long, &w[i]), 0);
    }
    /* Until every slot is held (seen in pg_locks), then one more wait. */
    for (int tries = 0; tries < 300; tries++) {
        itest_psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = "
                   "1920165473 AND granted",
                   out, sizeof(out));
        if (atoi(out) == slots)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    CU_ASSERT_EQUAL(atoi(out), slots);
    char body[200];
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"timeout_s\":1}", run);
    itest_callf(&viewer, "POST", body, &r, "/api/v1/runs/wait");
    CU_ASSERT(IS_ERROR(r, 429, "too_many_waits", NULL));
    char ra[16];
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Retry-After", ra, sizeof(ra)));
    http_resp_free(&r);
    /* Other requests are still served meanwhile. */
    CU_ASSERT_EQUAL(itest_statusf(&viewer, "GET", NULL, "/api/v1/runs/%s", run), 200);
    for (int i = 0; i < slots; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(w[i].status, 200);
    }
    /* The slots are free again. */
    itest_callf(&viewer, "POST", body, &r, "/api/v1/runs/wait");
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
}

/* ---- heartbeats name their attempt ---- */

static void test_heartbeat_attempt(void)
{
    struct http_resp r;
    char run[40];

    CU_ASSERT_EQUAL_FATAL(new_run("queued", run), 0);
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "POST", NULL, "/api/v1/runs/%s/attempts", run), 201);
    itest_callf(&twrite, "POST", "{\"attempt\":1,\"progress\":0.1}", &r,
                "/api/v1/runs/%s/heartbeat", run);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    /* Attempt 1 fails; attempt 2 takes over. The first worker's beat is refused. */
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "PATCH", "{\"status\":\"failed\",\"retry\":true}",
                                  "/api/v1/runs/%s/attempts/1", run),
                    200);
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "POST", NULL, "/api/v1/runs/%s/attempts", run), 201);
    itest_callf(&twrite, "POST", "{\"attempt\":1}", &r, "/api/v1/runs/%s/heartbeat", run);
    CU_ASSERT(IS_ERROR(r, 409, "attempt_superseded", "attempt"));
    CU_ASSERT_PTR_NOT_NULL(strstr(S(http_error_message(&r)), "latest is 2 (running)"));
    http_resp_free(&r);
    itest_callf(&twrite, "POST", "{\"attempt\":2}", &r, "/api/v1/runs/%s/heartbeat", run);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    /* Without an attempt, a beat is for the run (as before). */
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "POST", NULL, "/api/v1/runs/%s/heartbeat", run), 200);
    itest_callf(&twrite, "POST", "{\"attempt\":0}", &r, "/api/v1/runs/%s/heartbeat", run);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "attempt"));
    http_resp_free(&r);
    /* Once the attempt has ended, its beats are refused too. */
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "PATCH", "{\"status\":\"succeeded\"}",
                                  "/api/v1/runs/%s/attempts/2", run),
                    200);
    itest_callf(&twrite, "POST", "{\"attempt\":2}", &r, "/api/v1/runs/%s/heartbeat", run);
    CU_ASSERT(IS_ERROR(r, 409, "attempt_superseded", "attempt"));
    http_resp_free(&r);
}

/* ---- worker sessions and samples ---- */

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
    itest_callf(&twrite, "POST", body, &r, "/api/v1/workers");
    EXPECT_STATUS(r, 201);
    id = itest_jint(r.json, "id");
    http_resp_free(&r);
    CU_ASSERT_FATAL(id > 0);
    /* Registered again with the name only: host, pid, labels and kinds are kept. */
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"pid\":42}", name);
    itest_callf(&twrite, "POST", body, &r, "/api/v1/workers");
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "id"), id);
    CU_ASSERT(streq(itest_jstr(r.json, "host"), "gpu-1"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "pid"), 42);
    CU_ASSERT(streq(itest_jstr(r.json, "labels.zone"), "a"));
    CU_ASSERT(streq(itest_jstr(r.json, "kinds.0"), "train"));
    http_resp_free(&r);
    /* An explicit empty list does replace. */
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"kinds\":[]}", name);
    itest_callf(&twrite, "POST", body, &r, "/api/v1/workers");
    CU_ASSERT_EQUAL(itest_jlen(r.json, "kinds"), 0);
    http_resp_free(&r);
    /* Two beats with samples, one without. */
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "POST", "{\"resources\":{\"cpu\":0.5,\"mem_mb\":900}}",
                                  "/api/v1/workers/%lld/heartbeat", id),
                    200);
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "POST", "{\"resources\":{\"cpu\":0.7,\"gpu\":[0.9]}}",
                                  "/api/v1/workers/%lld/heartbeat", id),
                    200);
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "POST", NULL, "/api/v1/workers/%lld/heartbeat", id),
                    200);
    /* A sample is a few numbers, not a payload. */
    int n = snprintf(body, sizeof(body), "{\"resources\":{\"blob\":\"");
    memset(body + n, 'x', 4200);
    snprintf(body + n + 4200, sizeof(body) - (size_t)n - 4200, "\"}}");
    itest_callf(&twrite, "POST", body, &r, "/api/v1/workers/%lld/heartbeat", id);
    CU_ASSERT(IS_ERROR(r, 422, "invalid_value", "resources"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&twrite, "POST", NULL, "/api/v1/workers/%lld/stop", id), 200);

    itest_callf(&viewer, "GET", NULL, &r, "/api/v1/workers/%lld", id);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "sessions"), 3);
    CU_ASSERT(streq(itest_jstr(r.json, "sessions.0.end_reason"), "stopped"));
    CU_ASSERT(streq(itest_jstr(r.json, "sessions.1.end_reason"), "replaced"));
    CU_ASSERT(streq(itest_jstr(r.json, "sessions.2.end_reason"), "replaced"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "sessions.2.pid"), 41);
    CU_ASSERT_EQUAL(itest_jint(r.json, "sessions.1.pid"), 42);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "samples"), 2);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "samples.0.sample.cpu")), 0.5,
                           1e-9);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "samples.1.sample.cpu")), 0.7,
                           1e-9);
    http_resp_free(&r);
}

/* ---- events newest first ---- */

/* GET /runs/{run}/events?order=desc: the newest page first, then older ones with
 * before=<next_cursor>, ending in next_cursor null; the ids are those of the asc
 * listing, reversed. Bad order/before/after combinations name their field. */
static void test_events_desc(void)
{
    char run[40], ids[7][24], path[200], cursor[24] = "";
    struct http_resp r;
    int got = 0;

    CU_ASSERT_EQUAL_FATAL(new_run("running", run), 0);
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&twrite, "POST",
                    "{\"events\":[{\"message\":\"e0\"},{\"message\":\"e1\"},{\"message\":\"e2\"},"
                    "{\"message\":\"e3\"},{\"message\":\"e4\"},{\"message\":\"e5\"},"
                    "{\"message\":\"e6\"}]}",
                    &r, "/api/v1/runs/%s/events", run),
        201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(itest_callf(&viewer, "GET", NULL, &r, "/api/v1/runs/%s/events", run),
                          200);
    CU_ASSERT_EQUAL_FATAL(itest_jlen(r.json, "items"), 7);
    for (int i = 0; i < 7; i++) {
        char item[32];
        snprintf(item, sizeof(item), "items.%d.id", i);
        snprintf(ids[i], sizeof(ids[i]), "%s", S(itest_jstr(r.json, item)));
    }
    http_resp_free(&r);

    /* Pages of 3, newest first: e6 e5 e4 | e3 e2 e1 | e0. */
    for (int page = 0; page < 4; page++) {
        if (cursor[0])
            snprintf(path, sizeof(path), "/api/v1/runs/%s/events?order=desc&limit=3&before=%s", run,
                     cursor);
        else
            snprintf(path, sizeof(path), "/api/v1/runs/%s/events?order=desc&limit=3", run);
        CU_ASSERT_EQUAL_FATAL(itest_callf(&viewer, "GET", NULL, &r, "%s", path), 200);
        long n = itest_jlen(r.json, "items");
        for (long i = 0; i < n; i++) {
            char item[48], msg[16];
            snprintf(item, sizeof(item), "items.%ld.id", i);
            CU_ASSERT(got < 7 && streq(itest_jstr(r.json, item), ids[6 - got]));
            snprintf(item, sizeof(item), "items.%ld.message", i);
            snprintf(msg, sizeof(msg), "e%d", 6 - got);
            CU_ASSERT(streq(itest_jstr(r.json, item), msg));
            got++;
        }
        if (itest_jnull(r.json, "next_cursor")) {
            http_resp_free(&r);
            break;
        }
        CU_ASSERT_EQUAL(n, 3);
        snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(r.json, "next_cursor")));
        CU_ASSERT(streq(cursor, ids[7 - got]));
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(got, 7);

    /* before the oldest: nothing; order=asc is the default order. */
    CU_ASSERT_EQUAL(itest_callf(&viewer, "GET", NULL, &r,
                                "/api/v1/runs/%s/events?order=desc&before=%s", run, ids[0]),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_callf(&viewer, "GET", NULL, &r, "/api/v1/runs/%s/events?order=asc&limit=1", run),
        200);
    CU_ASSERT(streq(itest_jstr(r.json, "items.0.id"), ids[0]));
    http_resp_free(&r);

    /* Bad input names the field; another project's member sees no such run. */
    static const struct {
        const char *query, *field;
    } bad[] = {
        {"order=newest", "order"},
        {"order=desc&before=abc", "before"},
        {"order=desc&before=99999999999999999999", "before"},
        {"before=5", "before"},
        {"order=asc&before=5", "before"},
        {"order=desc&after=5", "after"},
        {"order=desc&limit=0", "limit"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        itest_callf(&viewer, "GET", NULL, &r, "/api/v1/runs/%s/events?%s", run, bad[i].query);
        CU_ASSERT(IS_ERROR(r, 400, "invalid_field", bad[i].field));
        http_resp_free(&r);
    }
    itest_callf(&member_b, "GET", NULL, &r, "/api/v1/runs/%s/events?order=desc", run);
    CU_ASSERT(IS_ERROR(r, 404, NULL, NULL));
    http_resp_free(&r);
}

int suite_produce_register(void)
{
    CU_pSuite s = CU_add_suite("produce", produce_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "metrics: points, batches, keys, downsampled series",
                        test_metrics_write_read) ||
           !CU_add_test(s, "metrics: bad input names the field", test_metrics_validation) ||
           !CU_add_test(s, "metrics are published", test_metrics_published) ||
           !CU_add_test(s, "runs sorted by start, end, duration, paged", test_sorts) ||
           !CU_add_test(s, "wait: ended, ends meanwhile, times out", test_wait) ||
           !CU_add_test(s, "wait: bad input names the field", test_wait_validation) ||
           !CU_add_test(s, "wait: slots are bounded", test_wait_slots) ||
           !CU_add_test(s, "heartbeats name their attempt", test_heartbeat_attempt) ||
           !CU_add_test(s, "workers: sessions, kept fields, samples", test_worker_sessions) ||
           !CU_add_test(s, "events newest first, paged with before", test_events_desc);
}
