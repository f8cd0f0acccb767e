/* Runs API (api/runs.c): create (idempotent, also under concurrent retries), read, list
 * (filters, keyset cursors while runs are being added, the sorts by start, end and
 * duration), the PATCH state machine, heartbeat (and the attempt it names), cancel,
 * POST /runs/wait (answers when runs end, on timeout, refuses past its slots),
 * redaction of secrets (in answers, in the database, in the logs), who may touch which
 * run, and what each write publishes on Redis. Each test makes its own runs under a
 * kind of its own, so the tests do not depend on one another; nothing asserts on
 * durations; the log scan runs last on purpose. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct itest_world world;
static json_object *openapi;

/* ---- fixture ---- */

static int runs_init(void)
{
    char path[1024];

    openapi = json_object_from_file(repo_path("openapi/openapi.json", path, sizeof(path)));
    if (!openapi) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    return itest_world_init(&world, "runs") ? 1 : 0;
}

static int runs_fini(void)
{
    json_object_put(openapi);
    openapi = NULL;
    return 0;
}

/* ---- requests ---- */

static void uuid_new(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)rand();
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* A client-chosen id for a run of the project numbered project: version 8, its last 12 hex
 * digits the project's number (README, "Runs"). */
static void uuid_for(long long project, char out[37])
{
    uuid_new(out);
    out[14] = '8';
    snprintf(out + 24, 13, "%012llx", (unsigned long long)project);
}

/* POST /api/v1/runs as who; id gets the run's id on 200/201. Returns the status. */
static long create(const struct ident *who, const char *body, const char *const *extra, char id[40])
{
    struct http_resp r;
    long st;

    if (id)
        id[0] = '\0';
    if (api_req(who, "POST", "/api/v1/runs", body, 0, extra, &r) != 0) {
        http_resp_free(&r);
        return -1;
    }
    st = r.status;
    if (id && (st == 200 || st == 201) && itest_jstr(r.json, "id"))
        snprintf(id, 40, "%s", itest_jstr(r.json, "id"));
    http_resp_free(&r);
    return st;
}

/* The run as the admin sees it (the caller puts it), or NULL. */
static json_object *run_get(const char *id)
{
    struct http_resp r;
    json_object *o = NULL;
    if (itest_run_op(&world.adm, "GET", id, NULL, NULL, &r) == 200)
        o = json_object_get(r.json);
    http_resp_free(&r);
    return o;
}

/* Every id listed for query (following cursors), in order, into ids (cap entries).
 * Returns the count or -1. */
static int list_all(const struct ident *who, const char *query, char (*ids)[40], int cap)
{
    char path[1024], cursor[256] = "";
    int n = 0;

    for (int pages = 0; pages < 100; pages++) {
        struct http_resp r;
        json_object *items;
        snprintf(path, sizeof(path), "/api/v1/runs?%s%s%s", query, cursor[0] ? "&cursor=" : "",
                 cursor);
        if (api_call(who, "GET", path, NULL, &r) != 0 || r.status != 200 ||
            !(items = itest_jget(r.json, "items"))) {
            fprintf(stderr, "\n  GET %s: %ld %s", path, r.status, S(r.body));
            http_resp_free(&r);
            return -1;
        }
        for (size_t i = 0; i < json_object_array_length(items); i++)
            if (n < cap)
                snprintf(ids[n++], 40, "%s",
                         S(itest_jstr(json_object_array_get_idx(items, i), "id")));
        cursor[0] = '\0';
        if (itest_jstr(r.json, "next_cursor"))
            snprintf(cursor, sizeof(cursor), "%s", itest_jstr(r.json, "next_cursor"));
        http_resp_free(&r);
        if (!cursor[0])
            return n;
    }
    return -1;
}

/* Runs of project A listed for "kind=K&extra" compared with the expected set (a NULL
 * terminated list of ids); prints the difference. */
static int same_set(const char *what, char (*got)[40], int n, const char *const *want)
{
    int ok = n >= 0, nw = 0;
    for (; want[nw]; nw++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(got[i], want[nw]) == 0;
        if (!found) {
            fprintf(stderr, "\n  %s: %s missing", what, want[nw]);
            ok = 0;
        }
    }
    if (n != nw) {
        fprintf(stderr, "\n  %s: %d runs listed, %d expected", what, n, nw);
        ok = 0;
    }
    return ok;
}

static int list_is(const char *what, const char *query, const char *const *want)
{
    char ids[64][40], q[1024];
    snprintf(q, sizeof(q), "project=%s&%s", world.pa.slug, query);
    return same_set(what, ids, list_all(&world.member, q, ids, 64), want);
}

/* Number of runs of project A with kind. */
static int count_kind(const char *kind)
{
    char ids[64][40], q[512];
    snprintf(q, sizeof(q), "project=%s&kind=%s", world.pa.slug, kind);
    return list_all(&world.member, q, ids, 64);
}

/* '+' (and '%') escaped for a query string. */
static const char *qenc(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        if (*s == '+' || *s == '%' || *s == '&' || *s == ' ') {
            snprintf(out + o, cap - o, "%%%02X", (unsigned char)*s);
            o += 3;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- create, get ---- */

static void test_create_and_get(void)
{
    char kind[64], id[37], body[2048], parent[40], path[256], ct[128];
    struct http_resp r;

    itest_unique("create", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, NULL, parent), 0);

    /* Everything a producer may send. */
    uuid_for(world.pa.id, id);
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"project\":\"%s\",\"kind\":\"%s\",\"name\":\"train resnet\","
             "\"queue\":\"gpu\",\"status\":\"running\",\"priority\":7,\"input\":{\"files\":[1,2]},"
             "\"params\":{\"lr\":0.01,\"layers\":[64,64]},\"tags\":[\"nightly\",\"exp-1\"],"
             "\"parent_id\":\"%s\",\"group_id\":\"sweep-9\",\"progress\":0.25}",
             id, world.pa.slug, kind, parent);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Content-Type", ct, sizeof(ct)));
    CU_ASSERT_PTR_NOT_NULL(strstr(ct, "application/json"));
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "id")), id);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "project")), world.pa.slug);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "kind")), kind);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "name")), "train resnet");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "queue")), "gpu");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    CU_ASSERT_EQUAL(itest_jnum(r.json, "priority"), 7);
    CU_ASSERT_EQUAL(itest_jnum(r.json, "input.files.1"), 2);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "params.lr"), 0.01, 1e-9);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "tags"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "tags.1")), "exp-1");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "parent_id")), parent);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "root_id")), parent);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "group_id")), "sweep-9");
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "progress"), 0.25, 1e-6);
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "started_at"));
    CU_ASSERT_TRUE(itest_jnull(r.json, "ended_at"));
    CU_ASSERT_TRUE(itest_jnull(r.json, "error"));
    CU_ASSERT_TRUE(itest_has_schema_keys(openapi, r.json, "Run"));
    http_resp_free(&r);

    /* GET answers the same run, to a viewer and to a read token too. */
    snprintf(path, sizeof(path), "/api/v1/runs/%s", id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.viewer, "GET", path, NULL, &r), 0);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "id")), id);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "name")), "train resnet");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    CU_ASSERT_TRUE(itest_has_schema_keys(openapi, r.json, "Run"));
    CU_ASSERT_TRUE(itest_jnum(r.json, "duration_s") >= 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.tread, "GET", path, NULL, &r), 0);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);

    /* The defaults. */
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\"}", world.pa.slug, kind);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "queued");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "queue")), "default");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "name")), "");
    CU_ASSERT_EQUAL(itest_jnum(r.json, "priority"), 0);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "tags"), 0);
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "created_at"));
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "queued_at"));
    CU_ASSERT_TRUE(itest_jnull(r.json, "started_at"));
    CU_ASSERT_TRUE(itest_jnull(r.json, "parent_id"));
    CU_ASSERT_TRUE(itest_jget(r.json, "cancel_requested") &&
                   !json_object_get_boolean(itest_jget(r.json, "cancel_requested")));
    http_resp_free(&r);

    /* A token creates in its own project without naming it; a bearer needs no CSRF. */
    snprintf(body, sizeof(body), "{\"kind\":\"%s\"}", kind);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.twrite, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "project")), world.pa.slug);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(count_kind(kind), 4);

    /* A cookie write without X-Runwatch-CSRF: refused, nothing made. */
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\"}", world.pa.slug, kind);
    CU_ASSERT_EQUAL_FATAL(
        api_req(&world.member, "POST", "/api/v1/runs", body, API_NO_CSRF, NULL, &r), 0);
    EXPECT_STATUS(r, 403);
    CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), "csrf");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(count_kind(kind), 4);

    /* Unknown, malformed and invisible ids: 404 alike. */
    CU_ASSERT_EQUAL_FATAL(itest_run_op(&world.member, "GET", "not-a-uuid", NULL, NULL, &r), 404);
    CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), "not_found");
    http_resp_free(&r);
    uuid_new(id);
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "GET", id, NULL, NULL, &r), 404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_run_op(&world.member, "GET", "00000000-0000-0000-0000-00000000000g", NULL, NULL, &r),
        404);
    http_resp_free(&r);
}

/* A member of B probing the ids of A's runs with POST /runs learns nothing: A's taken ids
 * (the server's, and a client's in A's part of the id space) answer exactly as free ids of
 * every shape B may not use do, with nothing stored; only ids of B's own part are B's to take,
 * and taking one twice is the usual idempotent retry. */
static void test_run_id_probe(void)
{
    char kind[64], taken_server[40], taken_client[40], ids[6][40], body[512], first[2048];
    struct http_resp r;
    int n = 0;

    itest_unique("probe", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, NULL, taken_server), 0);
    uuid_for(world.pa.id, taken_client);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"project\":\"%s\",\"kind\":\"%s\"}", taken_client,
             world.pa.slug, kind);
    CU_ASSERT_EQUAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 201);
    http_resp_free(&r);

    /* Taken in A, and free: version 4, version 8 of A's number, version 8 of a number no
     * project has. */
    snprintf(ids[n++], 40, "%s", taken_server);
    snprintf(ids[n++], 40, "%s", taken_client);
    uuid_new(ids[n++]);
    uuid_for(world.pa.id, ids[n++]);
    uuid_for(0xfffffffffffLL, ids[n++]);
    first[0] = '\0';
    for (int i = 0; i < n; i++) {
        const struct ident *who = i % 2 ? &world.twrite_b : &world.member_b;
        /* B's member names B; B's token writes to its own project. */
        if (who == &world.member_b)
            snprintf(body, sizeof(body), "{\"id\":\"%s\",\"project\":\"%s\",\"kind\":\"%s-b\"}",
                     ids[i], world.pb.slug, kind);
        else
            snprintf(body, sizeof(body), "{\"id\":\"%s\",\"kind\":\"%s-b\"}", ids[i], kind);
        CU_ASSERT_EQUAL_FATAL(api_call(who, "POST", "/api/v1/runs", body, &r), 0);
        EXPECT_STATUS(r, 422);
        CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), "invalid_value");
        CU_ASSERT_STRING_EQUAL(S(http_error_field(&r)), "id");
        /* The same words for every id, taken or not. */
        if (!first[0])
            snprintf(first, sizeof(first), "%s", S(r.body));
        CU_ASSERT_STRING_EQUAL(S(r.body), first);
        http_resp_free(&r);
    }
    {
        char sql[256], out[32];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs WHERE kind = '%s-b'", kind);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        CU_ASSERT_STRING_EQUAL(out, "0");
    }

    /* B's own part: B's to take, once. */
    uuid_for(world.pb.id, ids[5]);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"project\":\"%s\",\"kind\":\"%s-b\"}", ids[5],
             world.pb.slug, kind);
    CU_ASSERT_EQUAL(api_call(&world.member_b, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "id")), ids[5]);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(api_call(&world.member_b, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    /* And not A's to take. */
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"project\":\"%s\",\"kind\":\"%s\"}", ids[5],
             world.pa.slug, kind);
    CU_ASSERT_EQUAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 422);
    CU_ASSERT_STRING_EQUAL(S(r.body), first);
    http_resp_free(&r);
}

static void test_create_validation(void)
{
    char xrun[40], kind[64], long_name[600], body[1024], tags51[1024];
    size_t o;

    itest_unique("badcreate", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pb.slug, "in-b", NULL, xrun), 0);
    memset(long_name, 'n', 501);
    long_name[501] = '\0';
    o = (size_t)snprintf(tags51, sizeof(tags51), "[");
    for (int i = 0; i < 51; i++)
        o += (size_t)snprintf(tags51 + o, sizeof(tags51) - o, "%s\"t%d\"", i ? "," : "", i);
    snprintf(tags51 + o, sizeof(tags51) - o, "]");

    {
        char name_body[1024], tags_body[1200], long_tag[300];
        char idem[300] = "Idempotency-Key: ";
        memset(idem + strlen(idem), 'k', 201);
        idem[17 + 201] = '\0';
        memset(long_tag, 'x', 101);
        long_tag[101] = '\0';
        snprintf(name_body, sizeof(name_body),
                 "{\"project\":\"{p}\",\"kind\":\"%s\",\"name\":\"%s\"}", kind, long_name);
        snprintf(tags_body, sizeof(tags_body), "{\"project\":\"{p}\",\"kind\":\"%s\",\"tags\":%s}",
                 kind, tags51);
        snprintf(body, sizeof(body), "{\"project\":\"{p}\",\"kind\":\"%s\",\"tags\":[\"%s\"]}",
                 kind, long_tag);
        const struct itest_bad cases[] = {
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\"}", 0, 400, NULL, "kind", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"\"}", 0, 400, NULL, "kind",
             NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":7}", 0, 400, NULL, "kind",
             NULL},
            {"POST", "/api/v1/runs", "{\"kind\":\"k\"}", 0, 400, NULL, "project", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"colour\":\"red\"}", 0,
             400, NULL, "colour", NULL},
            {"POST", "/api/v1/runs",
             "{\"project\":\"{p}\",\"kind\":\"k\",\"status\":\"succeeded\"}", 0, 400, NULL,
             "status", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"priority\":\"high\"}",
             0, 400, NULL, "priority", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"params\":[1,2]}", 0,
             400, NULL, "params", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"params\":\"x=1\"}", 0,
             400, NULL, "params", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"tags\":\"a\"}", 0, 400,
             NULL, "tags", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"tags\":[\"\"]}", 0, 422,
             NULL, "tags", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"tags\":[1]}", 0, 422,
             NULL, "tags", NULL},
            {"POST", "/api/v1/runs", tags_body, 0, 422, NULL, "tags", NULL},
            {"POST", "/api/v1/runs", body, 0, 422, NULL, "tags", NULL},
            {"POST", "/api/v1/runs", name_body, 0, 400, NULL, "name", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"queue\":\"\"}", 0, 400,
             NULL, "queue", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"group_id\":\"\"}", 0,
             400, NULL, "group_id", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"id\":\"abc\"}", 0, 400,
             NULL, "id", NULL},
            {"POST", "/api/v1/runs",
             "{\"project\":\"{p}\",\"kind\":\"k\",\"id\":\"0123456789abcdef0123456789abcdef0123\"}",
             0, 400, NULL, "id", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"parent_id\":\"nope\"}",
             0, 400, NULL, "parent_id", NULL},
            {"POST", "/api/v1/runs",
             "{\"project\":\"{p}\",\"kind\":\"k\",\"parent_id\":"
             "\"6f1c1a2e-0000-4000-8000-000000000000\"}",
             0, 422, NULL, "parent_id", NULL},
            /* A parent in another project is no parent here. */
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"parent_id\":\"{x}\"}",
             0, 422, NULL, "parent_id", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"progress\":1.5}", 0,
             400, NULL, "progress", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"progress\":-0.1}", 0,
             400, NULL, "progress", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\",\"progress\":\"half\"}",
             0, 400, NULL, "progress", NULL},
            /* PostgreSQL's jsonb refuses \u0000: still the client's fault, named. */
            {"POST", "/api/v1/runs",
             "{\"project\":\"{p}\",\"kind\":\"k\",\"input\":{\"a\":\"x\\u0000y\"}}", 0, 400, NULL,
             "input.a", NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\"}", 0, 400, NULL,
             "Idempotency-Key", idem},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",\"kind\":\"k\"}", API_CT_TEXT, 415, NULL,
             NULL, NULL},
            {"POST", "/api/v1/runs", "[1]", 0, 400, NULL, NULL, NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"{p}\",", 0, 400, NULL, NULL, NULL},
            {"POST", "/api/v1/runs", "{\"project\":\"no-such-project-zz\",\"kind\":\"k\"}", 0, 404,
             NULL, NULL, NULL},
        };
        CU_ASSERT_EQUAL(itest_check_bad(&world, &world.member, cases,
                                        sizeof(cases) / sizeof(cases[0]),
                                        &(struct itest_bad_targets){.xrun = xrun}),
                        0);
    }
    /* None of them made a run. */
    CU_ASSERT_EQUAL(count_kind(kind), 0);
    CU_ASSERT_EQUAL(count_kind("k"), 0);
}

/* ---- idempotency ---- */

struct racer {
    const char *body;
    const char *header;
    long status;
    char id[40];
};

static void *race_create(void *arg)
{
    struct racer *x = arg;
    const char *h[] = {x->header, NULL};
    x->status = create(&world.twrite, x->body, x->header ? h : NULL, x->id);
    return NULL;
}

/* n parallel creates of body (with header); checks one 201, the rest 200, one id. */
static void race(const char *body, const char *header, const char *kind)
{
    enum { N = 8 };
    struct racer x[N];
    pthread_t t[N];
    int created = 0, retried = 0, same = 1;

    for (int i = 0; i < N; i++) {
        x[i] = (struct racer){.body = body, .header = header};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, race_create, &x[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) {
        created += x[i].status == 201;
        retried += x[i].status == 200;
        same &= strcmp(x[i].id, x[0].id) == 0 && x[i].id[0];
    }
    if (created != 1 || retried != N - 1 || !same)
        fprintf(stderr, "\n  concurrent creates (%s): %d created, %d retried, same id %d", kind,
                created, retried, same);
    CU_ASSERT_EQUAL(created, 1);
    CU_ASSERT_EQUAL(retried, N - 1);
    CU_ASSERT_TRUE(same);
    CU_ASSERT_EQUAL(count_kind(kind), 1);
}

static void test_idempotent_create(void)
{
    char kind[64], key[80], hdr[120], body[512], first[40], again[40], cid[37], xid[40];
    const char *h[2] = {hdr, NULL};

    /* Idempotency-Key: the retry answers 200 with the first run, even with another
     * body, and no second run exists. */
    itest_unique("idem-key", kind, sizeof(kind));
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", itest_unique("key", key, sizeof(key)));
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\",\"name\":\"first\"}",
             world.pa.slug, kind);
    CU_ASSERT_EQUAL(create(&world.member, body, h, first), 201);
    CU_ASSERT_EQUAL(create(&world.member, body, h, again), 200);
    CU_ASSERT_STRING_EQUAL(again, first);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\",\"name\":\"second\"}",
             world.pa.slug, kind);
    CU_ASSERT_EQUAL(create(&world.twrite, body, h, again), 200);
    CU_ASSERT_STRING_EQUAL(again, first);
    CU_ASSERT_EQUAL(count_kind(kind), 1);
    {
        json_object *o = run_get(first);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "name")), "first");
        json_object_put(o);
    }
    /* Without the key: a new run. */
    CU_ASSERT_EQUAL(create(&world.member, body, NULL, again), 201);
    CU_ASSERT_STRING_NOT_EQUAL(again, first);
    CU_ASSERT_EQUAL(count_kind(kind), 2);
    /* Keys are per project: the same key in B makes B's own run. */
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\"}", world.pb.slug, kind);
    CU_ASSERT_EQUAL(create(&world.adm, body, h, again), 201);
    CU_ASSERT_STRING_NOT_EQUAL(again, first);

    /* A client id: the same, and the id is the one chosen. */
    itest_unique("idem-id", kind, sizeof(kind));
    uuid_for(world.pa.id, cid);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"project\":\"%s\",\"kind\":\"%s\"}", cid,
             world.pa.slug, kind);
    CU_ASSERT_EQUAL(create(&world.member, body, NULL, first), 201);
    CU_ASSERT_STRING_EQUAL(first, cid);
    CU_ASSERT_EQUAL(create(&world.member, body, NULL, again), 200);
    CU_ASSERT_STRING_EQUAL(again, cid);
    CU_ASSERT_EQUAL(count_kind(kind), 1);

    /* Another project's ids, taken or free, all answer alike (see test_run_id_probe). */
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pb.slug, kind, NULL, xid), 0);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"project\":\"%s\",\"kind\":\"%s\"}", xid,
             world.pa.slug, kind);
    {
        struct http_resp r;
        CU_ASSERT_EQUAL_FATAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
        EXPECT_STATUS(r, 422);
        CU_ASSERT_STRING_EQUAL(S(http_error_field(&r)), "id");
        CU_ASSERT_PTR_NULL(r.body ? strstr(r.body, world.pb.slug) : NULL);
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(count_kind(kind), 1);

    /* Retries racing each other: one run, whoever wins. */
    itest_unique("race-key", kind, sizeof(kind));
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", itest_unique("key", key, sizeof(key)));
    snprintf(body, sizeof(body), "{\"kind\":\"%s\"}", kind);
    race(body, hdr, kind);
    itest_unique("race-id", kind, sizeof(kind));
    uuid_for(world.pa.id, cid);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"kind\":\"%s\"}", cid, kind);
    race(body, NULL, kind);
}

/* ---- the state machine ---- */

static const char *const states[] = {"queued",    "running", "retrying",
                                     "succeeded", "failed",  "cancelled"};

/* The rules as documented, written out here rather than taken from the code. */
static int legal(const char *from, const char *to)
{
    static const char *const moves[][2] = {
        {"queued", "running"},    {"queued", "cancelled"},   {"queued", "failed"},
        {"running", "succeeded"}, {"running", "failed"},     {"running", "cancelled"},
        {"running", "retrying"},  {"retrying", "running"},   {"retrying", "queued"},
        {"retrying", "failed"},   {"retrying", "cancelled"},
    };
    if (strcmp(from, to) == 0)
        return 1;
    for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
        if (strcmp(moves[i][0], from) == 0 && strcmp(moves[i][1], to) == 0)
            return 1;
    return 0;
}

static int is_end(const char *s)
{
    return !strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "cancelled");
}

static void test_transitions(void)
{
    char kind[64], id[40], body[64];
    int wrong = 0, illegal = 0;

    itest_unique("transitions", kind, sizeof(kind));
    for (size_t f = 0; f < sizeof(states) / sizeof(states[0]); f++) {
        for (size_t t = 0; t < sizeof(states) / sizeof(states[0]); t++) {
            const char *from = states[f], *to = states[t];
            struct http_resp r;
            json_object *before, *after;

            if (itest_run_in(&world, kind, from, id)) {
                wrong++;
                continue;
            }
            before = run_get(id);
            snprintf(body, sizeof(body), "{\"status\":\"%s\"}", to);
            if (itest_run_op(&world.member, "PATCH", id, NULL, body, &r) < 0) {
                wrong++;
                json_object_put(before);
                continue;
            }
            after = run_get(id);
            if (legal(from, to)) {
                const char *problem = NULL;
                if (r.status != 200)
                    problem = "refused";
                else if (strcmp(S(itest_jstr(r.json, "status")), to) ||
                         strcmp(S(itest_jstr(after, "status")), to))
                    problem = "status not changed";
                else if (is_end(to) && !itest_jstr(after, "ended_at"))
                    problem = "no ended_at";
                else if (!is_end(to) && !itest_jnull(after, "ended_at"))
                    problem = "ended_at on an unfinished run";
                else if (!strcmp(to, "running") && !itest_jstr(after, "started_at"))
                    problem = "no started_at";
                else if (!strcmp(to, "succeeded") && itest_jnum(after, "progress") != 1)
                    problem = "progress not 1";
                else if (!strcmp(from, to) && is_end(to) &&
                         strcmp(S(itest_jstr(before, "ended_at")),
                                S(itest_jstr(after, "ended_at"))))
                    problem = "ended_at moved";
                if (problem) {
                    fprintf(stderr, "\n  TRANSITION %s -> %s: %s (%ld %.300s)", from, to, problem,
                            r.status, S(r.body));
                    wrong++;
                }
            } else {
                illegal++;
                if (r.status != 409 || strcmp(S(http_error_code(&r)), "illegal_transition") ||
                    strcmp(S(http_error_field(&r)), "status") ||
                    strcmp(S(itest_jstr(r.json, "error.details.from")), from) ||
                    strcmp(S(itest_jstr(r.json, "error.details.to")), to) ||
                    strcmp(S(itest_jstr(after, "status")), from) ||
                    strcmp(S(itest_jstr(before, "updated_at")),
                           S(itest_jstr(after, "updated_at")))) {
                    fprintf(stderr, "\n  TRANSITION %s -> %s should be refused: %ld %.300s", from,
                            to, r.status, S(r.body));
                    wrong++;
                }
            }
            http_resp_free(&r);
            json_object_put(before);
            json_object_put(after);
        }
    }
    CU_ASSERT_EQUAL(illegal, 36 - 6 - 11);
    CU_ASSERT_EQUAL(wrong, 0);

    /* succeeded with a progress of its own keeps it. */
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);
    CU_ASSERT_EQUAL(itest_run_patch(&world, id, "{\"status\":\"succeeded\",\"progress\":0.25}"),
                    200);
    {
        json_object *o = run_get(id);
        CU_ASSERT_DOUBLE_EQUAL(itest_jnum(o, "progress"), 0.25, 1e-6);
        CU_ASSERT_TRUE(itest_ts_usec(itest_jstr(o, "ended_at")) >=
                       itest_ts_usec(itest_jstr(o, "started_at")));
        CU_ASSERT_TRUE(itest_jnum(o, "duration_s") >= 0);
        json_object_put(o);
    }
}

static void test_patch_fields(void)
{
    char kind[64], id[40], other[40], third[40], fp[64];
    json_object *o;

    itest_unique("patch", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);
    CU_ASSERT_EQUAL(
        itest_run_patch(&world, id,
                        "{\"progress\":0.5,\"summary\":{\"loss\":0.1},\"tags\":[\"a\",\"b\"],"
                        "\"result\":{\"acc\":0.9}}"),
        200);
    o = run_get(id);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(o, "progress"), 0.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(o, "summary.loss"), 0.1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(o, "result.acc"), 0.9, 1e-9);
    CU_ASSERT_EQUAL(itest_jlen(o, "tags"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "running");
    json_object_put(o);
    /* What is left out stays. */
    CU_ASSERT_EQUAL(itest_run_patch(&world, id, "{\"tags\":[\"c\"]}"), 200);
    o = run_get(id);
    CU_ASSERT_EQUAL(itest_jlen(o, "tags"), 1);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(o, "progress"), 0.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(o, "summary.loss"), 0.1, 1e-9);
    json_object_put(o);

    /* Errors: fingerprints equal when messages differ only in numbers, quoted values
     * and hex ids; different for another type or another message. */
    CU_ASSERT_EQUAL(
        itest_run_patch(
            &world, id,
            "{\"status\":\"failed\",\"error\":{\"type\":\"TimeoutError\",\"message\":"
            "\"timed out after 30 s waiting for 'db-1' at 0x7ffd1234 (job "
            "3f2a9c1e-1111-4222-8333-444455556666)\",\"traceback\":\"File x.py, line 3\"}}"),
        200);
    o = run_get(id);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "error.type")), "TimeoutError");
    CU_ASSERT_PTR_NOT_NULL(strstr(S(itest_jstr(o, "error.message")), "'db-1'"));
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "error.traceback")), "File x.py, line 3");
    CU_ASSERT_PTR_NOT_NULL_FATAL(itest_jstr(o, "error.fingerprint"));
    snprintf(fp, sizeof(fp), "%s", itest_jstr(o, "error.fingerprint"));
    CU_ASSERT_TRUE(strlen(fp) > 0);
    json_object_put(o);

    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", other), 0);
    CU_ASSERT_EQUAL(itest_run_patch(&world, other,
                                    "{\"status\":\"failed\",\"error\":{\"type\":\"TimeoutError\","
                                    "\"message\":\"timed out after 4500 s waiting for 'cache-7' at "
                                    "0x1a2b (job 99999999-aaaa-4bbb-8ccc-dddddddddddd)\"}}"),
                    200);
    o = run_get(other);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "error.fingerprint")), fp);
    json_object_put(o);

    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", third), 0);
    CU_ASSERT_EQUAL(itest_run_patch(&world, third,
                                    "{\"status\":\"failed\",\"error\":{\"type\":\"ValueError\","
                                    "\"message\":\"timed out after 30 s waiting for 'db-1' at "
                                    "0x7ffd1234 (job 3f2a9c1e-1111-4222-8333-444455556666)\"}}"),
                    200);
    o = run_get(third);
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(o, "error.fingerprint"));
    CU_ASSERT_STRING_NOT_EQUAL(S(itest_jstr(o, "error.fingerprint")), fp);
    json_object_put(o);
    /* The same type, another message: another group. */
    CU_ASSERT_EQUAL(
        itest_run_patch(
            &world, third,
            "{\"error\":{\"type\":\"TimeoutError\",\"message\":\"disk full on /data\"}}"),
        200);
    o = run_get(third);
    CU_ASSERT_STRING_NOT_EQUAL(S(itest_jstr(o, "error.fingerprint")), fp);
    json_object_put(o);
}

static void test_patch_validation(void)
{
    static const struct itest_bad cases[] = {
        {"PATCH", "/api/v1/runs/{r}", "{\"status\":\"bogus\"}", 0, 400, NULL, "status", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"status\":3}", 0, 400, NULL, "status", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"progress\":2}", 0, 400, NULL, "progress", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"progress\":\"most\"}", 0, 400, NULL, "progress", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"error\":\"boom\"}", 0, 400, NULL, "error", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"error\":{\"type\":\"\",\"message\":\"m\"}}", 0, 400, NULL,
         "error.type", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"error\":{\"message\":5}}", 0, 400, NULL, "error.message",
         NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"error\":{\"code\":5}}", 0, 400, NULL, "error.code", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"summary\":[1]}", 0, 400, NULL, "summary", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"tags\":[\"\"]}", 0, 422, NULL, "tags", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"tags\":\"x\"}", 0, 400, NULL, "tags", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"colour\":\"red\"}", 0, 400, NULL, "colour", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"result\":{\"a\":\"x\\u0000y\"}}", 0, 400, NULL,
         "result.a", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"summary\":{\"acc\":1E+99999}}", 0, 400, NULL,
         "summary.acc", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"result\":{\"rows\":[1,2,-9223372036854775809]}}", 0, 400,
         NULL, "result.rows[2]", NULL},
        {"PATCH", "/api/v1/runs/{r}", "{\"status\":\"failed\"}", API_CT_TEXT, 415, NULL, NULL,
         NULL},
        {"PATCH", "/api/v1/runs/not-a-uuid", "{\"status\":\"failed\"}", 0, 404, NULL, NULL, NULL},
        {"PATCH", "/api/v1/runs/6f1c1a2e-0000-4000-8000-000000000000", "{\"status\":\"failed\"}", 0,
         404, NULL, NULL, NULL},
        {"POST", "/api/v1/runs/{r}/heartbeat", "{\"progress\":2}", 0, 400, NULL, "progress", NULL},
        {"POST", "/api/v1/runs/{r}/heartbeat", "{\"pct\":1}", 0, 400, NULL, "pct", NULL},
        {"POST", "/api/v1/runs/{r}/heartbeat", "{\"progress\":0.5}", API_CT_TEXT, 415, NULL, NULL,
         NULL},
        {"POST", "/api/v1/runs/{r}/heartbeat", "{\"progress\":", 0, 400, NULL, NULL, NULL},
        {"POST", "/api/v1/runs/not-a-uuid/heartbeat", NULL, 0, 404, NULL, NULL, NULL},
        {"POST", "/api/v1/runs/not-a-uuid/cancel", NULL, 0, 404, NULL, NULL, NULL},
    };
    char kind[64], id[40];
    json_object *before, *after;

    itest_unique("badpatch", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);
    CU_ASSERT_EQUAL(itest_run_patch(&world, id, "{\"progress\":0.3}"), 200);
    before = run_get(id);
    CU_ASSERT_EQUAL(itest_check_bad(&world, &world.member, cases, sizeof(cases) / sizeof(cases[0]),
                                    &(struct itest_bad_targets){.run = id}),
                    0);
    after = run_get(id);
    /* Nothing changed. */
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(after, "status")), "running");
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(after, "progress"), 0.3, 1e-6);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(after, "updated_at")), S(itest_jstr(before, "updated_at")));
    CU_ASSERT_TRUE(itest_jnull(after, "error"));
    json_object_put(before);
    json_object_put(after);
}

/* ---- heartbeat, cancel ---- */

static void test_heartbeat(void)
{
    char kind[64], id[40];
    struct http_resp r;
    json_object *o, *c;

    itest_unique("heartbeat", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);
    o = run_get(id);
    CU_ASSERT_TRUE(itest_jnull(o, "last_heartbeat_at"));
    json_object_put(o);
    CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "POST", id, "/heartbeat", "{\"progress\":0.5}", &r),
                    200);
    c = itest_jget(r.json, "cancel_requested");
    CU_ASSERT_TRUE(c && json_object_is_type(c, json_type_boolean) && !json_object_get_boolean(c));
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    http_resp_free(&r);
    o = run_get(id);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(o, "progress"), 0.5, 1e-6);
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(o, "last_heartbeat_at"));
    json_object_put(o);
    /* No body at all: fine, progress kept. */
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/heartbeat", NULL, &r), 200);
    http_resp_free(&r);
    o = run_get(id);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(o, "progress"), 0.5, 1e-6);
    json_object_put(o);
}

static long cancel(const char *id, struct http_resp *r)
{
    return itest_run_op(&world.member, "POST", id, "/cancel", NULL, r);
}

static int cancel_requested(json_object *o)
{
    json_object *c = itest_jget(o, "cancel_requested");
    return c && json_object_is_type(c, json_type_boolean) && json_object_get_boolean(c);
}

static void test_cancel(void)
{
    char kind[64], id[40], updated[64];
    struct http_resp r;
    json_object *o;

    itest_unique("cancel", kind, sizeof(kind));
    /* Queued: cancelled at once. */
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "queued", id), 0);
    CU_ASSERT_EQUAL(cancel(id, &r), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "cancelled");
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "ended_at"));
    http_resp_free(&r);
    o = run_get(id);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "cancelled");
    snprintf(updated, sizeof(updated), "%s", S(itest_jstr(o, "updated_at")));
    json_object_put(o);
    /* Again: 200, unchanged. */
    CU_ASSERT_EQUAL(cancel(id, &r), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "cancelled");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "updated_at")), updated);
    http_resp_free(&r);

    /* Running: asked to stop; the next heartbeat says so; the worker reports cancelled. */
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);
    CU_ASSERT_EQUAL(cancel(id, &r), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    CU_ASSERT_TRUE(cancel_requested(r.json));
    CU_ASSERT_TRUE(itest_jnull(r.json, "ended_at"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "POST", id, "/heartbeat", NULL, &r), 200);
    CU_ASSERT_TRUE(cancel_requested(r.json));
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "running");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_patch(&world, id, "{\"status\":\"cancelled\"}"), 200);
    o = run_get(id);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), "cancelled");
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(o, "ended_at"));
    json_object_put(o);

    /* Retrying: nothing runs it between attempts, so it ends at once, like a queued run. */
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "retrying", id), 0);
    CU_ASSERT_EQUAL(cancel(id, &r), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "cancelled");
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "ended_at"));
    http_resp_free(&r);

    /* Finished runs cannot be cancelled: 409 naming both states. */
    for (int i = 0; i < 2; i++) {
        const char *st = i ? "failed" : "succeeded";
        CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, st, id), 0);
        CU_ASSERT_EQUAL(cancel(id, &r), 409);
        CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), "illegal_transition");
        if (strcmp(S(itest_jstr(r.json, "error.details.from")), st) ||
            strcmp(S(itest_jstr(r.json, "error.details.to")), "cancelled"))
            fprintf(stderr, "\n  cancel of a %s run: no details.from/to: %s", st, S(r.body));
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "error.details.from")), st);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "error.details.to")), "cancelled");
        http_resp_free(&r);
        o = run_get(id);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "status")), st);
        CU_ASSERT_FALSE(cancel_requested(o));
        json_object_put(o);
    }
}

/* ---- listing ---- */

static int listed_before(json_object *a, json_object *b, int asc)
{
    long long ta = itest_ts_usec(itest_jstr(a, "created_at")),
              tb = itest_ts_usec(itest_jstr(b, "created_at"));
    int c = ta < tb ? -1 : ta > tb ? 1 : strcmp(S(itest_jstr(a, "id")), S(itest_jstr(b, "id")));
    return asc ? c < 0 : c > 0;
}

/* Pages through kind with limit=10, adding two runs after each page; checks that no
 * run shows twice, that every run made before the first page shows, and the order. */
static void page_while_inserting(const char *kind, char (*before)[40], int nbefore, int asc)
{
    char path[512], cursor[256] = "", seen[200][40], id[40];
    json_object *prev = NULL;
    int nseen = 0, pages = 0, dups = 0, disorder = 0, missing = 0, oversize = 0;

    for (;;) {
        struct http_resp r;
        json_object *items;
        snprintf(path, sizeof(path), "/api/v1/runs?project=%s&kind=%s&limit=10%s%s%s",
                 world.pa.slug, kind, asc ? "&order=asc" : "", cursor[0] ? "&cursor=" : "", cursor);
        CU_ASSERT_EQUAL_FATAL(api_call(&world.viewer, "GET", path, NULL, &r), 0);
        EXPECT_STATUS(r, 200);
        items = itest_jget(r.json, "items");
        CU_ASSERT_PTR_NOT_NULL_FATAL(items);
        oversize += json_object_array_length(items) > 10;
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *it = json_object_array_get_idx(items, i);
            const char *rid = S(itest_jstr(it, "id"));
            for (int k = 0; k < nseen; k++)
                dups += strcmp(seen[k], rid) == 0;
            if (prev && !listed_before(prev, it, asc))
                disorder++;
            if (nseen < 200)
                snprintf(seen[nseen++], 40, "%s", rid);
            json_object_put(prev);
            prev = json_object_get(it);
        }
        cursor[0] = '\0';
        if (itest_jstr(r.json, "next_cursor"))
            snprintf(cursor, sizeof(cursor), "%s", itest_jstr(r.json, "next_cursor"));
        else
            CU_ASSERT_TRUE(itest_jnull(r.json, "next_cursor"));
        http_resp_free(&r);
        pages++;
        if (!cursor[0] || pages > 40)
            break;
        /* Runs arrive while the client pages. */
        for (int k = 0; k < 2; k++)
            CU_ASSERT_EQUAL(itest_world_run(&world, world.pa.slug, kind, NULL, id), 0);
    }
    json_object_put(prev);
    for (int i = 0; i < nbefore; i++) {
        int found = 0;
        for (int k = 0; k < nseen; k++)
            found |= strcmp(seen[k], before[i]) == 0;
        missing += !found;
    }
    if (dups || disorder || missing || oversize)
        fprintf(stderr, "\n  paging %s: %d duplicates, %d out of order, %d missing, %d oversize",
                asc ? "asc" : "desc", dups, disorder, missing, oversize);
    CU_ASSERT_TRUE(pages >= 3 && pages <= 40);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(disorder, 0);
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(oversize, 0);
}

static void test_pagination(void)
{
    char kind[64], ids[200][40];
    int n = 0;

    itest_unique("paging", kind, sizeof(kind));
    for (int i = 0; i < 25; i++)
        CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, NULL, ids[n++]), 0);
    page_while_inserting(kind, ids, n, 0);
    /* Oldest first: the new runs come at the end, the old ones all show. */
    page_while_inserting(kind, ids, n, 1);
    /* A read token without a project: its own. */
    {
        char q[256], got[200][40];
        int m;
        snprintf(q, sizeof(q), "kind=%s&limit=7", kind);
        m = list_all(&world.tread, q, got, 200);
        CU_ASSERT_TRUE(m >= 25);
    }
}

static void test_filters(void)
{
    char kind[64], q[512], enc[128], extra[256], created[64];
    char r_q[40], r_run[40], r_ok[40], r_fail[40], child[40], grand[40];
    json_object *o;

    itest_unique("filters", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(
        itest_world_run(&world, world.pa.slug, kind,
                        ",\"name\":\"alpha 100%_done\",\"queue\":\"gpu\",\"tags\":[\"red\","
                        "\"x\"]",
                        r_q),
        0);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind,
                                          ",\"status\":\"running\",\"tags\":[\"blue\"]", r_run),
                          0);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind,
                                          ",\"status\":\"running\",\"name\":\"alpha 100xydone\"",
                                          r_ok),
                          0);
    CU_ASSERT_EQUAL_FATAL(itest_run_patch(&world, r_ok, "{\"status\":\"succeeded\"}"), 200);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind,
                                          ",\"status\":\"running\",\"tags\":[\"red\"]", r_fail),
                          0);
    CU_ASSERT_EQUAL_FATAL(itest_run_patch(&world, r_fail, "{\"status\":\"failed\"}"), 200);
    snprintf(extra, sizeof(extra), ",\"parent_id\":\"%s\"", r_run);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, extra, child), 0);
    snprintf(extra, sizeof(extra), ",\"parent_id\":\"%s\"", child);
    CU_ASSERT_EQUAL_FATAL(itest_world_run(&world, world.pa.slug, kind, extra, grand), 0);

    o = run_get(grand);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "parent_id")), child);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(o, "root_id")), r_run);
    json_object_put(o);
    o = run_get(r_ok);
    snprintf(created, sizeof(created), "%s", S(itest_jstr(o, "created_at")));
    json_object_put(o);

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})
    snprintf(q, sizeof(q), "kind=%s", kind);
    CU_ASSERT_TRUE(list_is("kind", q, WANT(r_q, r_run, r_ok, r_fail, child, grand)));
    snprintf(q, sizeof(q), "kind=%s&status=failed,running", kind);
    CU_ASSERT_TRUE(list_is("status list", q, WANT(r_run, r_fail)));
    snprintf(q, sizeof(q), "kind=%s&status=queued&status=succeeded", kind);
    CU_ASSERT_TRUE(list_is("repeated status", q, WANT(r_q, r_ok, child, grand)));
    snprintf(q, sizeof(q), "kind=%s&tag=red", kind);
    CU_ASSERT_TRUE(list_is("tag", q, WANT(r_q, r_fail)));
    snprintf(q, sizeof(q), "kind=%s&queue=gpu", kind);
    CU_ASSERT_TRUE(list_is("queue", q, WANT(r_q)));
    /* LIKE wildcards in q are literal: "%_" matches one name, not every name. */
    snprintf(q, sizeof(q), "kind=%s&q=%s", kind, qenc("%_", enc, sizeof(enc)));
    CU_ASSERT_TRUE(list_is("q with wildcards", q, WANT(r_q)));
    snprintf(q, sizeof(q), "kind=%s&q=alpha%%20100", kind);
    CU_ASSERT_TRUE(list_is("q name substring", q, WANT(r_q, r_ok)));
    snprintf(q, sizeof(q), "kind=%s&q=%.8s", kind, r_fail);
    CU_ASSERT_TRUE(list_is("q id prefix", q, WANT(r_fail)));
    snprintf(q, sizeof(q), "kind=%s&q=_", kind);
    CU_ASSERT_TRUE(list_is("q underscore", q, WANT(r_q)));
    snprintf(q, sizeof(q), "kind=%s&parent=%s", kind, r_run);
    CU_ASSERT_TRUE(list_is("parent", q, WANT(child)));
    snprintf(q, sizeof(q), "kind=%s&created_after=%s", kind, qenc(created, enc, sizeof(enc)));
    CU_ASSERT_TRUE(list_is("created_after", q, WANT(r_ok, r_fail, child, grand)));
    snprintf(q, sizeof(q), "kind=%s&created_before=%s", kind, qenc(created, enc, sizeof(enc)));
    CU_ASSERT_TRUE(list_is("created_before", q, WANT(r_q, r_run)));
    snprintf(q, sizeof(q), "kind=%s&ended_after=2000-01-01T00:00:00Z", kind);
    CU_ASSERT_TRUE(list_is("ended_after", q, WANT(r_ok, r_fail)));
    snprintf(q, sizeof(q), "kind=%s&ended_before=2000-01-01T00:00:00Z", kind);
    CU_ASSERT_TRUE(list_is("ended_before", q, WANT(NULL)));
    snprintf(q, sizeof(q), "kind=%s&status=failed&tag=red&q=%.8s", kind, r_fail);
    CU_ASSERT_TRUE(list_is("combined", q, WANT(r_fail)));
    snprintf(q, sizeof(q), "kind=%s-not", kind);
    CU_ASSERT_TRUE(list_is("other kind", q, WANT(NULL)));
#undef WANT
}

static void test_list_validation(void)
{
    static const struct itest_bad cases[] = {
        {"GET", "/api/v1/runs?project={p}&colour=red", NULL, 0, 400, NULL, "colour", NULL},
        {"GET", "/api/v1/runs?project={p}&status=bogus", NULL, 0, 400, NULL, "status", NULL},
        {"GET", "/api/v1/runs?project={p}&status=failed,,running", NULL, 0, 400, NULL, "status",
         NULL},
        {"GET", "/api/v1/runs?project={p}&created_after=yesterday", NULL, 0, 400, NULL,
         "created_after", NULL},
        {"GET", "/api/v1/runs?project={p}&created_before=2026-01-01", NULL, 0, 400, NULL,
         "created_before", NULL},
        /* Shaped right, not a time: still named. */
        {"GET", "/api/v1/runs?project={p}&created_after=2026-13-45T00:00:00Z", NULL, 0, 400, NULL,
         "created_after", NULL},
        {"GET", "/api/v1/runs?project={p}&ended_after=x", NULL, 0, 400, NULL, "ended_after", NULL},
        {"GET", "/api/v1/runs?project={p}&ended_before=x", NULL, 0, 400, NULL, "ended_before",
         NULL},
        {"GET", "/api/v1/runs?project={p}&limit=0", NULL, 0, 400, NULL, "limit", NULL},
        {"GET", "/api/v1/runs?project={p}&limit=1001", NULL, 0, 400, NULL, "limit", NULL},
        {"GET", "/api/v1/runs?project={p}&limit=ten", NULL, 0, 400, NULL, "limit", NULL},
        {"GET", "/api/v1/runs?project={p}&order=sideways", NULL, 0, 400, NULL, "order", NULL},
        {"GET", "/api/v1/runs?project={p}&sort=name", NULL, 0, 400, NULL, "sort", NULL},
        {"GET", "/api/v1/runs?project={p}&cursor=abc", NULL, 0, 400, NULL, "cursor", NULL},
        {"GET", "/api/v1/runs?project={p}&cursor=2026-01-01T00:00:00Z~nope", NULL, 0, 400, NULL,
         "cursor", NULL},
        {"GET", "/api/v1/runs?project={p}&parent=xyz", NULL, 0, 400, NULL, "parent", NULL},
        {"GET", "/api/v1/runs?project={p}&worker=abc", NULL, 0, 400, NULL, "worker", NULL},
        {"GET", "/api/v1/runs?project={p}&worker=99999999999999999999", NULL, 0, 400, NULL,
         "worker", NULL},
        {"GET",
         "/api/v1/"
         "runs?project={p}&cursor=2026-13-45T00:00:00Z~6f1c1a2e-0000-4000-8000-000000000000",
         NULL, 0, 400, NULL, "cursor", NULL},
        {"GET", "/api/v1/runs", NULL, 0, 400, NULL, "project", NULL},
        {"GET", "/api/v1/runs?project=no-such-project-zz", NULL, 0, 404, NULL, NULL, NULL},
        {"GET", "/api/v1/runs?project={p}&sort=created&order=asc&limit=1000", NULL, 0, 200, NULL,
         NULL, NULL},
    };
    CU_ASSERT_EQUAL(
        itest_check_bad(&world, &world.member, cases, sizeof(cases) / sizeof(cases[0]), NULL), 0);
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

    CU_ASSERT_EQUAL_FATAL(itest_make_project(&world.adm, "sorts", slug, sizeof(slug), &pid), 0);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, slug, "[\"write\"]", NULL, &tok), 201);
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
                if (got >= want[w].n ||
                    !itest_streq(itest_jstr(r.json, key), run[want[w].order[got]]))
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
    e->status = itest_statusf(&world.twrite, "PATCH", "{\"status\":\"succeeded\"}",
                              "/api/v1/runs/%s", e->run);
    return NULL;
}

static void test_wait(void)
{
    struct http_resp r;
    struct ender e = {.delay_ms = 300};
    char ended[40], body[300];
    pthread_t t;

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", e.run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "queued", ended), 0);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", NULL, "/api/v1/runs/%s/cancel", ended),
                    200);

    /* Already ended: answered at once, done. */
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\"]}", ended);
    itest_callf(&world.viewer, "POST", body, &r, "/api/v1/runs/wait");
    EXPECT_STATUS(r, 200);
    CU_ASSERT(json_object_get_boolean(itest_jget(r.json, "done")));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "runs.0.status"), "cancelled"));
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
    itest_callf(&world.member, "POST", body, &r, "/api/v1/runs/wait");
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(e.status, 200);
    EXPECT_STATUS(r, 200);
    CU_ASSERT(json_object_get_boolean(itest_jget(r.json, "done")));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "runs.0.id"), e.run));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "runs.0.status"), "succeeded"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "runs.1.id"), ended));
    http_resp_free(&r);

    /* Nothing ends: the timeout answers, not done, ended_at null. */
    char open_run[40];
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "queued", open_run), 0);
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\",\"%s\"],\"timeout_s\":0.5}", open_run, ended);
    itest_callf(&world.viewer, "POST", body, &r, "/api/v1/runs/wait");
    EXPECT_STATUS(r, 200);
    CU_ASSERT_FALSE(json_object_get_boolean(itest_jget(r.json, "done")));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "runs.0.status"), "queued"));
    CU_ASSERT(itest_jnull(r.json, "runs.0.ended_at"));
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "runs.1.ended_at"));
    http_resp_free(&r);
}

static void test_wait_validation(void)
{
    struct http_resp r;
    char run[40], b_run[40], body[8000];
    struct ident tok_b;

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "queued", run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, world.pb.slug, "[\"write\"]", NULL, &tok_b),
                          201);
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
        itest_callf(&world.member, "POST", cases[i].body, &r, "/api/v1/runs/wait");
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
    itest_callf(&world.member, "POST", body, &r, "/api/v1/runs/wait");
    CU_ASSERT(IS_ERROR(r, 422, "invalid_value", "ids"));
    http_resp_free(&r);
    /* A run of another project is a run that does not exist, named by its index. */
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\",\"%s\"],\"timeout_s\":0}", run, b_run);
    itest_callf(&world.member, "POST", body, &r, "/api/v1/runs/wait");
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
    w->status = itest_statusf(&world.viewer, "POST", w->body, "/api/v1/runs/wait");
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
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "queued", run), 0);
    /* The longest waits there are, ended by the run's cancel once the extra one was refused:
     * waits of 4 s ran out first when a busy box was slow to get them all under way. */
    for (int i = 0; i < slots; i++) {
        snprintf(w[i].body, sizeof(w[i].body), "{\"ids\":[\"%s\"],\"timeout_s\":30}", run);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, wait_long, &w[i]), 0);
    }
    /* Until every slot is held (seen in pg_locks), then one more wait. */
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0; itest_now_s() < deadline;) {
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
    itest_callf(&world.viewer, "POST", body, &r, "/api/v1/runs/wait");
    CU_ASSERT(IS_ERROR(r, 429, "too_many_waits", NULL));
    char ra[16];
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Retry-After", ra, sizeof(ra)));
    http_resp_free(&r);
    /* Other requests are still served meanwhile. */
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "GET", NULL, "/api/v1/runs/%s", run), 200);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", NULL, "/api/v1/runs/%s/cancel", run), 200);
    for (int i = 0; i < slots; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(w[i].status, 200);
    }
    /* The slots are free again. */
    itest_callf(&world.viewer, "POST", body, &r, "/api/v1/runs/wait");
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
}

/* ---- heartbeats name their attempt ---- */

static void test_heartbeat_attempt(void)
{
    struct http_resp r;
    char run[40];

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "queued", run), 0);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", NULL, "/api/v1/runs/%s/attempts", run),
                    201);
    itest_callf(&world.twrite, "POST", "{\"attempt\":1,\"progress\":0.1}", &r,
                "/api/v1/runs/%s/heartbeat", run);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    /* Attempt 1 fails; attempt 2 takes over. The first worker's beat is refused. */
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "PATCH", "{\"status\":\"failed\",\"retry\":true}",
                                  "/api/v1/runs/%s/attempts/1", run),
                    200);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", NULL, "/api/v1/runs/%s/attempts", run),
                    201);
    itest_callf(&world.twrite, "POST", "{\"attempt\":1}", &r, "/api/v1/runs/%s/heartbeat", run);
    CU_ASSERT(IS_ERROR(r, 409, "attempt_superseded", "attempt"));
    CU_ASSERT_PTR_NOT_NULL(strstr(S(http_error_message(&r)), "latest is 2 (running)"));
    http_resp_free(&r);
    itest_callf(&world.twrite, "POST", "{\"attempt\":2}", &r, "/api/v1/runs/%s/heartbeat", run);
    EXPECT_STATUS(r, 200);
    http_resp_free(&r);
    /* Without an attempt, a beat is for the run (as before). */
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "POST", NULL, "/api/v1/runs/%s/heartbeat", run),
                    200);
    itest_callf(&world.twrite, "POST", "{\"attempt\":0}", &r, "/api/v1/runs/%s/heartbeat", run);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "attempt"));
    http_resp_free(&r);
    /* Once the attempt has ended, its beats are refused too. */
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "PATCH", "{\"status\":\"succeeded\"}",
                                  "/api/v1/runs/%s/attempts/2", run),
                    200);
    itest_callf(&world.twrite, "POST", "{\"attempt\":2}", &r, "/api/v1/runs/%s/heartbeat", run);
    CU_ASSERT(IS_ERROR(r, 409, "attempt_superseded", "attempt"));
    http_resp_free(&r);
}

/* ---- who may ---- */

static void test_access(void)
{
    char kind[64], id[40], idb[40], body[256];
    struct http_resp r;

    itest_unique("access", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);
    CU_ASSERT_EQUAL_FATAL(
        itest_world_run(&world, world.pb.slug, kind, ",\"status\":\"running\"", idb), 0);

    /* A viewer reads but does not write. */
    CU_ASSERT_EQUAL(itest_run_op(&world.viewer, "GET", id, NULL, NULL, &r), 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.viewer, "PATCH", id, NULL, "{\"status\":\"failed\"}", &r),
                    403);
    CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), "forbidden");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.viewer, "POST", id, "/heartbeat", NULL, &r), 403);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.viewer, "POST", id, "/cancel", NULL, &r), 403);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.viewer, "POST", id, "/events", "{\"message\":\"x\"}", &r),
                    403);
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\"}", world.pa.slug, kind);
    CU_ASSERT_EQUAL(create(&world.viewer, body, NULL, NULL), 403);

    /* A user of another project: the run and its events do not exist. */
    static const char *const subs[] = {"", "/events"};
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(itest_run_op(&world.member_b, "GET", id, subs[i], NULL, &r), 404);
        CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), "not_found");
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(itest_run_op(&world.member_b, "PATCH", id, NULL, "{\"status\":\"failed\"}", &r),
                    404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.member_b, "POST", id, "/cancel", NULL, &r), 404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.member_b, "POST", id, "/events", "{\"message\":\"x\"}", &r),
                    404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(create(&world.member_b, body, NULL, NULL), 404);

    /* A read token cannot create; a write token of A sees nothing of B. */
    CU_ASSERT_EQUAL(create(&world.tread, body, NULL, NULL), 403);
    snprintf(body, sizeof(body), "{\"kind\":\"%s\"}", kind);
    CU_ASSERT_EQUAL(create(&world.tread, body, NULL, NULL), 403);
    CU_ASSERT_EQUAL(itest_run_op(&world.tread, "PATCH", id, NULL, "{\"progress\":0.9}", &r), 403);
    http_resp_free(&r);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "GET", idb, subs[i], NULL, &r), 404);
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "PATCH", idb, NULL, "{\"status\":\"failed\"}", &r),
                    404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "POST", idb, "/heartbeat", NULL, &r), 404);
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\"}", world.pb.slug, kind);
    CU_ASSERT_EQUAL(create(&world.twrite, body, NULL, NULL), 404);
    snprintf(body, sizeof(body), "/api/v1/runs?project=%s", world.pb.slug);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.twrite, "GET", body, NULL, &r), 0);
    EXPECT_STATUS(r, 404);
    http_resp_free(&r);
    /* B's token lists B's runs only. */
    {
        char q[256], got[8][40];
        snprintf(q, sizeof(q), "kind=%s", kind);
        CU_ASSERT_TRUE(same_set("B's token", got, list_all(&world.twrite_b, q, got, 8),
                                (const char *const[]){idb, NULL}));
    }
    /* None of that touched either run. */
    {
        json_object *a = run_get(id), *b = run_get(idb);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(a, "status")), "running");
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(b, "status")), "running");
        CU_ASSERT_FALSE(cancel_requested(a));
        json_object_put(a);
        json_object_put(b);
    }
}

/* ---- secrets ---- */

static const char *new_secret(const char *kind, char *buf, size_t cap)
{
    char hex[40];
    itest_unique("sek", hex, sizeof(hex));
    snprintf(buf, cap, "S3cr3t-%s-%s", kind, hex);
    secret_note(kind, buf);
    return buf;
}

/* Every noted secret absent from what PostgreSQL holds for run. */
static int secrets_in_db(const char *run)
{
    char sql[512], out[65536];
    int hits;

    snprintf(sql, sizeof(sql),
             "SELECT coalesce(input::text,'') || coalesce(params::text,'') || "
             "coalesce(result::text,'') || coalesce(summary::text,'') || "
             "coalesce((SELECT string_agg(coalesce(data::text,''), ' ') FROM events WHERE run_id "
             "= '%s'),'') FROM runs WHERE id = '%s'",
             run, run);
    if (itest_psql(sql, out, sizeof(out)) != 0)
        return -1;
    hits = secrets_in_text(out, strlen(out), "the database");
    /* The row was there and carries the marks of redaction. */
    return strstr(out, "[redacted]") ? hits : hits + 1000;
}

static void test_redaction(void)
{
    char kind[64], id[40], body[4096], s[12][128], longkey[200];
    struct http_resp r;
    json_object *v;

    itest_unique("redact", kind, sizeof(kind));
    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"kind\":\"%s\",\"status\":\"running\","
             "\"params\":{\"api_key\":\"%s\",\"lr\":0.1,\"nested\":{\"DB_Password\":\"%s\"}},"
             "\"input\":{\"credentials\":{\"password\":\"%s\"},\"db\":{\"url\":\"pg://h/db\","
             "\"password\":\"%s\"},\"list\":[{\"Authorization\":\"Bearer %s\"}],"
             "\"secret\":{\"deep\":\"%s\"}}}",
             world.pa.slug, kind, new_secret("params.api_key", s[0], 128),
             new_secret("params.nested.DB_Password", s[1], 128),
             new_secret("input.credentials.password", s[2], 128),
             new_secret("input.db.password", s[3], 128),
             new_secret("input.list.0.Authorization", s[4], 128),
             new_secret("input.secret.deep", s[5], 128));
    CU_ASSERT_EQUAL_FATAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 201);
    snprintf(id, sizeof(id), "%s", S(itest_jstr(r.json, "id")));
    CU_ASSERT_EQUAL(secrets_in_text(S(r.body), r.len, "the create answer"), 0);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "params.api_key")), "[redacted]");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "params.nested.DB_Password")), "[redacted]");
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "params.lr"), 0.1, 1e-9);
    /* "credentials" is itself a secret-looking key: the whole object goes. */
    v = itest_jget(r.json, "input.credentials");
    CU_ASSERT_TRUE(v && (json_object_is_type(v, json_type_string)
                             ? strcmp(json_object_get_string(v), "[redacted]") == 0
                             : strcmp(S(itest_jstr(v, "password")), "[redacted]") == 0));
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "input.db.password")), "[redacted]");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "input.db.url")), "pg://h/db");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "input.list.0.Authorization")), "[redacted]");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "input.secret")), "[redacted]");
    http_resp_free(&r);

    /* PATCH: result and summary. */
    snprintf(body, sizeof(body),
             "{\"result\":{\"token\":\"%s\",\"metrics\":{\"auth\":{\"client_secret\":\"%s\"}},"
             "\"ok\":true},\"summary\":{\"aws_access_key_id\":\"%s\",\"rows\":3}}",
             new_secret("result.token", s[6], 128),
             new_secret("result.metrics.auth.client_secret", s[7], 128),
             new_secret("summary.aws_access_key_id", s[8], 128));
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "PATCH", id, NULL, body, &r), 200);
    CU_ASSERT_EQUAL(secrets_in_text(S(r.body), r.len, "the PATCH answer"), 0);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "result.token")), "[redacted]");
    /* "auth" is itself a secret word: the whole object goes. */
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "result.metrics.auth")), "[redacted]");
    CU_ASSERT_TRUE(json_object_get_boolean(itest_jget(r.json, "result.ok")));
    CU_ASSERT_EQUAL(itest_jnum(r.json, "summary.rows"), 3);
    http_resp_free(&r);

    /* Events: one and a batch. */
    snprintf(body, sizeof(body),
             "{\"message\":\"login\",\"data\":{\"token\":\"%s\",\"headers\":{\"AUTHORIZATION\":"
             "\"Basic %s\"},\"step\":3}}",
             new_secret("event.data.token", s[9], 128),
             new_secret("event.data.headers.AUTHORIZATION", s[10], 128));
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events", body, &r), 201);
    http_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"events\":[{\"message\":\"a\"},{\"data\":{\"items\":[{\"apiKey\":\"%s\"}]}}]}",
             new_secret("events[1].data.items.0.apiKey", s[11], 128));
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events", body, &r), 201);
    http_resp_free(&r);

    /* Nothing in what the API answers, nothing in the database. */
    CU_ASSERT_EQUAL(itest_run_op(&world.viewer, "GET", id, NULL, NULL, &r), 200);
    CU_ASSERT_EQUAL(secrets_in_text(S(r.body), r.len, "GET run"), 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.viewer, "GET", id, "/events", NULL, &r), 200);
    CU_ASSERT_EQUAL(secrets_in_text(S(r.body), r.len, "GET events"), 0);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.0.data.token")), "[redacted]");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.0.data.headers.AUTHORIZATION")),
                           "[redacted]");
    CU_ASSERT_EQUAL(itest_jnum(r.json, "items.0.data.step"), 3);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.2.data.items.0.apiKey")), "[redacted]");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(secrets_in_db(id), 0);

    /* A long key is a key like any other. */
    itest_unique("redact-long", kind, sizeof(kind));
    memset(longkey, 'k', 140);
    snprintf(longkey + 140, sizeof(longkey) - 140, "_password");
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\",\"params\":{\"%s\":\"%s\"}}",
             world.pa.slug, kind, longkey, new_secret("params.<long key>_password", s[0], 128));
    CU_ASSERT_EQUAL_FATAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 201);
    snprintf(id, sizeof(id), "%s", S(itest_jstr(r.json, "id")));
    CU_ASSERT_EQUAL(secrets_in_text(S(r.body), r.len, "the answer to a long secret key"), 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(secrets_in_db(id), 0);
}

/* Keys by their words, values by their shape (the unit suite "runs" has the full table):
 * an ML run's max_tokens and tokenizer are kept, api-key, privateKey and the password of a
 * db_url are not, and a secret-shaped string is caught under any key, in params, in an event's
 * message and data and in an attempt's error, as answered and as stored. */
static void test_redaction_words_and_shapes(void)
{
    char kind[64], id[40], body[4096], s[6][128], sql[512], out[65536], want[256];
    struct http_resp r;

    itest_unique("redact-words", kind, sizeof(kind));
    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"kind\":\"%s\",\"status\":\"running\","
             "\"params\":{\"max_tokens\":2048,\"tokenizer\":\"bpe-50k\",\"num_tokens\":7,"
             "\"api-key\":\"%s\",\"privateKey\":\"%s\","
             "\"db_url\":\"postgres://app:%s@db.internal:5432/runs\","
             "\"headers\":[\"Bearer %s\"]}}",
             world.pa.slug, kind, new_secret("params.api-key", s[0], 128),
             new_secret("params.privateKey", s[1], 128), new_secret("params.db_url", s[2], 128),
             new_secret("params.headers.0", s[3], 128));
    CU_ASSERT_EQUAL_FATAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    EXPECT_STATUS(r, 201);
    snprintf(id, sizeof(id), "%s", S(itest_jstr(r.json, "id")));
    CU_ASSERT_EQUAL(secrets_in_text(S(r.body), r.len, "the create answer"), 0);
    CU_ASSERT_EQUAL(itest_jnum(r.json, "params.max_tokens"), 2048);
    CU_ASSERT_EQUAL(itest_jnum(r.json, "params.num_tokens"), 7);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "params.tokenizer")), "bpe-50k");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "params.api-key")), "[redacted]");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "params.privateKey")), "[redacted]");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "params.db_url")),
                           "postgres://app:[redacted]@db.internal:5432/runs");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "params.headers.0")), "Bearer [redacted]");
    http_resp_free(&r);

    /* An event whose message quotes a connection string; an attempt's error that does. */
    snprintf(body, sizeof(body),
             "{\"message\":\"connecting to redis://:%s@cache:6379/0\",\"data\":{\"max_tokens\":9}}",
             new_secret("event.message", s[4], 128));
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events", body, &r), 201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/attempts", "{}", &r), 201);
    http_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"status\":\"failed\",\"error\":{\"type\":\"IOError\",\"message\":"
             "\"cannot reach mysql://root:%s@db/x\"}}",
             new_secret("attempt.error.message", s[5], 128));
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "PATCH", id, "/attempts/1", body, &r), 200);
    http_resp_free(&r);

    CU_ASSERT_EQUAL(itest_run_op(&world.viewer, "GET", id, "/events", NULL, &r), 200);
    CU_ASSERT_EQUAL(secrets_in_text(S(r.body), r.len, "GET events"), 0);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.0.message")),
                           "connecting to redis://:[redacted]@cache:6379/0");
    CU_ASSERT_EQUAL(itest_jnum(r.json, "items.0.data.max_tokens"), 9);
    http_resp_free(&r);

    /* As stored: every column a producer's text reaches. */
    snprintf(sql, sizeof(sql),
             "SELECT r.params::text || ' ' || coalesce(r.error_message, '') || ' ' || "
             "coalesce((SELECT string_agg(coalesce(a.error_message, ''), ' ') FROM attempts a "
             "WHERE a.run_id = r.id), '') || ' ' || coalesce((SELECT string_agg(e.message || "
             "coalesce(e.data::text, ''), ' ') FROM events e WHERE e.run_id = r.id), '') "
             "FROM runs r WHERE r.id = '%s'",
             id);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_EQUAL(secrets_in_text(out, strlen(out), "the database"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"max_tokens\": 2048"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"tokenizer\": \"bpe-50k\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot reach mysql://root:[redacted]@db/x"));
    snprintf(want, sizeof(want), "\"db_url\": \"postgres://app:[redacted]@db.internal");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
}

/* ---- Redis ---- */

/* The next message about run from sub (others are skipped), parsed; NULL on timeout. */
static json_object *next_about(struct itest_sub *sub, const char *run, long long *last_id,
                               int *disorder)
{
    for (;;) {
        char *msg = itest_sub_next(sub, ITEST_WAIT_MS);
        json_object *o, *rn;
        long long mid;
        if (!msg)
            return NULL;
        o = json_tokener_parse(msg);
        free(msg);
        if (!o)
            continue;
        /* Ids grow across every message, whoever's. */
        mid = itest_jget(o, "id") && json_object_is_type(itest_jget(o, "id"), json_type_int)
                  ? json_object_get_int64(itest_jget(o, "id"))
                  : -1;
        if (mid <= *last_id)
            (*disorder)++;
        *last_id = mid;
        rn = itest_jget(o, "run");
        if (rn && json_object_is_type(rn, json_type_string) &&
            strcmp(json_object_get_string(rn), run) == 0)
            return o;
        json_object_put(o);
    }
}

static void test_published(void)
{
    static const char *const want[] = {"run.created", "run.updated", "run.heartbeat",
                                       "run.event",   "run.updated", "run.updated"};
    struct itest_sub sub;
    char kind[64], id[40], body[256], first[24] = "", last[24] = "";
    struct http_resp r;
    long long last_id = 0;
    int disorder = 0;

    itest_unique("published", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);
    /* Writes that change something publish; a refused one does not. */
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"%s\",\"status\":\"running\"}",
             world.pa.slug, kind);
    CU_ASSERT_EQUAL(create(&world.member, body, NULL, id), 201);
    CU_ASSERT_EQUAL(itest_run_patch(&world, id, "{\"progress\":0.4}"), 200);
    CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "POST", id, "/heartbeat", "{\"progress\":0.5}", &r),
                    200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "PATCH", id, NULL, "{\"status\":\"queued\"}", &r),
                    409);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events",
                                 "{\"events\":[{\"message\":\"a\"},{\"message\":\"b\"},{}]}", &r),
                    201);
    snprintf(first, sizeof(first), "%s", S(itest_jstr(r.json, "first_id")));
    snprintf(last, sizeof(last), "%s", S(itest_jstr(r.json, "last_id")));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/cancel", NULL, &r), 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_run_patch(&world, id, "{\"status\":\"cancelled\"}"), 200);

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_object *m = next_about(&sub, id, &last_id, &disorder), *p;
        if (!m) {
            fprintf(stderr, "\n  no %s message (#%zu) for the run", want[i], i);
            CU_FAIL("message missing");
            break;
        }
        if (strcmp(S(itest_jstr(m, "type")), want[i]))
            fprintf(stderr, "\n  message #%zu: expected %s, got %s", i, want[i],
                    json_object_to_json_string(m));
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "type")), want[i]);
        p = itest_jget(m, "project");
        CU_ASSERT_TRUE(p && json_object_get_int64(p) == world.pa.id);
        if (i == 0) {
            CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.id")), id);
            CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "running");
        } else if (i == 1) {
            CU_ASSERT_DOUBLE_EQUAL(itest_jnum(m, "data.progress"), 0.4, 1e-6);
        } else if (i == 2) {
            CU_ASSERT_DOUBLE_EQUAL(itest_jnum(m, "data.progress"), 0.5, 1e-6);
        } else if (i == 3) {
            CU_ASSERT_EQUAL(itest_jnum(m, "data.count"), 3);
            CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.first_id")), first);
            CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.last_id")), last);
        } else if (i == 4) {
            CU_ASSERT_TRUE(cancel_requested(itest_jget(m, "data")));
        } else {
            CU_ASSERT_STRING_EQUAL(S(itest_jstr(m, "data.status")), "cancelled");
        }
        json_object_put(m);
    }
    CU_ASSERT_EQUAL(disorder, 0);
    itest_sub_close(&sub);
}

static void test_no_secrets_in_logs(void)
{
    struct timespec ts = {1, 200000000L}; /* nginx flushes its access log every second */
    nanosleep(&ts, NULL);
    CU_ASSERT_EQUAL(secrets_scan_logs(), 0);
}

/* ---- the list's JSON, made in C (runjson.c), against run_json() ---- */

/* Replaces, in squeezed page text, the duration_s of each run that has started and not ended
 * (the one value that depends on when it was made: now()) by X; the values go to durs.
 * Its own ended_at is the nearest before duration_s (its attempt's comes after). */
static int mask_running_durations(char *s, double *durs, int cap)
{
    int n = 0;
    for (char *d = strstr(s, "\"duration_s\":"); d; d = strstr(d + 1, "\"duration_s\":")) {
        char *e = NULL;
        for (char *p = d; p > s; p--)
            if (strncmp(p, "\"ended_at\":", 11) == 0) {
                e = p + 11;
                break;
            }
        char *v = d + 13, *end = v + strcspn(v, ",}");
        if (!e || strncmp(e, "null", 4) != 0 || strncmp(v, "null", 4) == 0)
            continue;
        if (n < cap)
            durs[n] = strtod(v, NULL);
        n++;
        /* the format PostgreSQL's numeric has: -?digits.six digits */
        const char *dot = memchr(v, '.', (size_t)(end - v));
        CU_ASSERT(dot && end - dot == 7);
        *v = 'X';
        memmove(v + 1, end, strlen(end) + 1);
    }
    return n;
}

/* GET path (one page of the list) and compare its items with run_json() of the same runs.
 * Returns the page's next cursor (in cursor, "" at the end); -1 on a difference. */
static int list_page_is_run_json(const struct ident *who, const char *path, char *cursor,
                                 size_t ccap, int *nitems)
{
    struct http_resp r;
    json_object *items;
    size_t cap = 1 << 22;
    char *ids = malloc(64 * 1024), *sql = malloc(80 * 1024), *want = malloc(cap);
    char *got = NULL, *wsq = NULL;
    double got_d[64], want_d[64];
    int rc = -1;

    cursor[0] = '\0';
    CU_ASSERT_FATAL(ids && sql && want);
    if (api_call(who, "GET", path, NULL, &r) != 0 || r.status != 200 ||
        !(items = itest_jget(r.json, "items"))) {
        fprintf(stderr, "\n  GET %s: %ld", path, r.status);
        goto out;
    }
    size_t n = json_object_array_length(items), o = 0;
    *nitems = (int)n;
    if (itest_jstr(r.json, "next_cursor"))
        snprintf(cursor, ccap, "%s", itest_jstr(r.json, "next_cursor"));
    if (n == 0) {
        rc = 0;
        goto out;
    }
    o += (size_t)snprintf(ids + o, 64 * 1024 - o, "{");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(ids + o, 64 * 1024 - o, "%s%s", i ? "," : "",
                              S(itest_jstr(json_object_array_get_idx(items, i), "id")));
    snprintf(ids + o, 64 * 1024 - o, "}");
    /* The items as sent: between the page's first [ and its last ],"next_cursor". */
    const char *a = strchr(r.body, '[');
    const char *b = NULL;
    for (const char *p = strstr(r.body, "],\"next_cursor\""); p;
         p = strstr(p + 1, "],\"next_cursor\""))
        b = p;
    CU_ASSERT_FATAL(a && b && a < b);
    got = itest_json_squeeze(a + 1, (size_t)(b - a - 1));
    snprintf(sql, 80 * 1024,
             "SELECT string_agg(run_json(r, p.slug, la.j)::text, ',' ORDER BY u.i) FROM "
             "unnest('%s'::uuid[]) WITH ORDINALITY u(id, i) JOIN runs r ON r.id = u.id JOIN "
             "projects p ON p.id = r.project_id LEFT JOIN LATERAL (SELECT attempt_json(a) AS j "
             "FROM attempts a WHERE a.run_id = r.id ORDER BY a.seq DESC LIMIT 1) la ON true",
             ids);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, want, cap), 0);
    wsq = itest_json_squeeze(want, strlen(want));
    /* Durations to now() were made at different times: the list's must be the earlier. */
    int ng = mask_running_durations(got, got_d, 64), nw = mask_running_durations(wsq, want_d, 64);
    CU_ASSERT_EQUAL(ng, nw);
    for (int i = 0; i < ng && i < nw && i < 64; i++)
        CU_ASSERT(got_d[i] <= want_d[i]);
    if (strcmp(got, wsq) != 0) {
        size_t i = 0;
        while (got[i] && got[i] == wsq[i])
            i++;
        fprintf(stderr,
                "\n  GET %s differs from run_json() at byte %zu:\n  list:     %.160s\n"
                "  run_json: %.160s\n",
                path, i, got + (i > 40 ? i - 40 : 0), wsq + (i > 40 ? i - 40 : 0));
        goto out;
    }
    rc = 0;
out:
    http_resp_free(&r);
    free(ids);
    free(sql);
    free(want);
    free(got);
    free(wsq);
    return rc;
}

/* Every list statement (plain, one, all, filtered; every sort, both orders; pages) gives, for each
 * run, what run_json() gives for it: the same keys in the same order and the same texts of
 * every value (timestamps with PostgreSQL's trimming of microseconds, float4 progress, the
 * numeric duration, escapes, jsonb as stored, errors, latest attempts, nulls). */
static void test_list_json(void)
{
    char slug[64], id[40], parent[40], body[200], sql[8192];
    long long pid;
    struct ident tok;

    CU_ASSERT_EQUAL_FATAL(itest_make_project(&world.adm, "listjson", slug, sizeof(slug), &pid), 0);
    CU_ASSERT_EQUAL_FATAL(itest_new_token(&world.adm, slug, "[\"write\"]", NULL, &tok), 201);
    /* Some through the API, as producers make them. */
    CU_ASSERT_EQUAL_FATAL(
        create(&tok,
               "{\"kind\":\"api\",\"name\":\"\xc3\xa9 \\\" \\\\ \\n \\u0001 \\u2028 / \\t\","
               "\"tags\":[\"a\\\"b\",\"\xc3\xa9\",\"\\\\\"],\"progress\":0.1,\"group_id\":\"g\","
               "\"input\":{\"x\":[1,2.50,\"\\u00e9\\n\"],\"n\":null,\"big\":1e30,\"neg\":-0.0},"
               "\"params\":{}}",
               NULL, parent),
        201);
    snprintf(body, sizeof(body), "{\"kind\":\"api\",\"parent_id\":\"%s\",\"status\":\"running\"}",
             parent);
    CU_ASSERT_EQUAL_FATAL(create(&tok, body, NULL, id), 201);
    CU_ASSERT_EQUAL_FATAL(create(&tok, "{\"kind\":\"api\",\"progress\":0.33333334}", NULL, id),
                          201);
    /* Every shape at once through SQL: all statuses; times with 0 to 6 microsecond digits
     * and trailing zeros; errors with some parts NULL; workers, experiments; attempts, the
     * latest running, failed or none; progress of every float4 form; jsonb of every kind. */
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO workers (project_id, name) VALUES (%lld, 'w1'); "
        /* One experiment per linked run: at most one active run each (migration 0034). */
        "INSERT INTO experiments (project_id, name) SELECT %lld, 'e' || g FROM "
        "generate_series(4, 60, 4) g; "
        "INSERT INTO runs (project_id, experiment_id, kind, name, queue, status, priority, input, "
        "params, tags, created_at, queued_at, started_at, ended_at, last_heartbeat_at, "
        "updated_at, error_type, error_message, error_traceback, error_fingerprint, progress, "
        "group_id, result, summary, cancel_requested, worker_id) "
        "SELECT %lld, CASE WHEN g %% 4 = 0 THEN (SELECT id FROM experiments WHERE "
        "project_id = %lld AND name = 'e' || g) END, (ARRAY['train','eval','k\"\\x'])[1 + g %% 3], "
        "'n' || g || "
        "E'\\t\"\\\\\\u00e9\\n' || chr(1 + g %% 31), 'q', st, g - 20, CASE WHEN g %% 4 = 0 THEN "
        "NULL ELSE jsonb_build_object('a', g, 'f', g / 7.0, 's', E'x\\u2028\"\\\\', 'n', NULL, "
        "'arr', jsonb_build_array(1, 'two', 3.50, -0.0, 1e-7)) END, CASE WHEN g %% 5 = 0 THEN "
        "'{}'::jsonb WHEN g %% 5 = 1 THEN '[]' WHEN g %% 5 = 2 THEN '\"s\"' ELSE '[1, "
        "{\"b\": \"\\u00e9\"}]' END, CASE WHEN g %% 3 = 0 THEN '{}'::text[] ELSE ARRAY['t' || g, "
        "E'q\"\\\\', E'\\u00e9\\n'] END, t0, t0 + interval '1 second', CASE WHEN st <> 'queued' "
        "THEN t0 + (g %% 7) * interval '1.1 second' END, CASE WHEN st IN ('succeeded', 'failed', "
        "'cancelled') THEN t0 + (g %% 7) * interval '1.1 second' + (g * 123457) * interval '1 "
        "microsecond' END, CASE WHEN g %% 2 = 0 THEN t0 + interval '10 ms' END, t0 + interval "
        "'100 ms', CASE WHEN st = 'failed' THEN 'ValueError' WHEN g %% 11 = 0 THEN NULL END, CASE "
        "WHEN st = 'failed' OR g %% 13 = 0 THEN E'bad \\\\ \"value\" \\n ' || g END, CASE WHEN g "
        "%% 2 = 0 THEN 'tb' END, CASE WHEN st = 'failed' THEN 'fp' || g END, (ARRAY[NULL, 0, 1, "
        "0.5, 0.1, 1e-5, 0.0001, 0.33333334, 0.000244140625, 0.999999940395, 1.4e-45])[1 + g %% "
        "11]::real, CASE WHEN g %% 3 = 0 THEN 'grp' END, CASE WHEN g %% 2 = 0 THEN "
        "jsonb_build_object('acc', 0.1 * g, 'big', 1e30) END, CASE WHEN g %% 3 = 0 THEN "
        "'\"str\"'::jsonb END, g %% 17 = 0, CASE WHEN g %% 5 = 0 THEN (SELECT max(id) FROM "
        "workers WHERE project_id = %lld) END "
        "FROM generate_series(1, 60) g, LATERAL (SELECT (ARRAY['queued', 'running', 'retrying', "
        "'succeeded', 'failed', 'cancelled'])[1 + g %% 6] AS st, timestamptz '2026-09-28 "
        "07:43:11.4953+00' + g * interval '1 second' + (g %% 10) * interval '100 ms' + (g %% 3) "
        "* interval '10 us' AS t0) x; "
        "INSERT INTO attempts (run_id, seq, status, worker_id, created_at, started_at, ended_at, "
        "last_heartbeat_at, error_type, error_message, error_traceback) SELECT r.id, s, CASE WHEN "
        "s = 2 THEN 'running' ELSE 'failed' END, r.worker_id, r.created_at + s * interval '0.5 "
        "s', r.started_at, CASE WHEN s = 1 THEN r.started_at + interval '0.25 s' END, "
        "r.last_heartbeat_at, CASE WHEN s = 1 THEN 'lease_expired' END, CASE WHEN s = 1 THEN "
        "E'lost \\u00e9' END, CASE WHEN s = 1 AND r.priority %% 3 = 0 THEN 'tb' END FROM runs r "
        "CROSS JOIN generate_series(1, 2) s WHERE r.project_id = %lld AND r.started_at IS NOT "
        "NULL AND r.kind <> 'api' AND (s = 1 OR r.priority %% 2 = 0); "
        /* Attempts written bypassing the API: their runs' copy is made as a fixture's must
         * (migration 0024); run_json() below still takes the latest attempt from attempts. */
        "SELECT runs_latest_attempt_sync(ARRAY(SELECT id FROM runs WHERE project_id = %lld))",
        pid, pid, pid, pid, pid, pid, pid);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);

    static const char *const queries[] = {
        "limit=1000",                              /* run_list_created_desc_all */
        "order=asc&limit=7",                       /* _asc_all, paged */
        "status=succeeded,failed,running&limit=9", /* plain, paged */
        "status=queued&order=asc&limit=1000",      /* run_list_created_asc_one */
        "status=failed&limit=4",                   /* _desc_one, paged */
        "status=running&order=asc&limit=3",        /* _asc_one, paged */
        "status=failed,failed&limit=1000",         /* one status named twice: plain */
        "kind=train&limit=1000",                   /* filtered */
        "q=n1&sort=ended&order=asc&limit=1000",    /* filtered */
        "sort=started&limit=8",                    /* plain, every status, paged */
        "sort=started&order=asc&status=running,retrying&limit=1000",
        "sort=ended&limit=11",
        "sort=duration&limit=6",
        "sort=duration&order=asc&limit=1000",
        "sort=duration&tag=t4&limit=1000",
    };
    /* Each query read again and again: a worker reads a page whole at first, then, once
     * most of its runs are held rendered (runcache.h), from a probe of ids and versions. Both
     * must give run_json()'s runs. Between rounds a third of the runs change (a new row
     * version each): the probe reads those by id and must never give an older version. */
#define PROBED  "runwatch_run_list_pages_total{read=\"probed\"}"
#define CACHED  "runwatch_run_list_probed_runs_total{source=\"cached\"}"
#define READ_ID "runwatch_run_list_probed_runs_total{source=\"read\"}"
    double probed0 = itest_metric(PROBED), cached0 = itest_metric(CACHED);
    double read0 = itest_metric(READ_ID);
    for (int round = 0; round < 12; round++) {
        if (round % 4 == 3) {
            snprintf(sql, sizeof(sql),
                     "UPDATE runs SET progress = %d / 100.0, name = coalesce(name, '') || '%d', "
                     "summary = jsonb_build_object('round', %d) WHERE project_id = %lld AND "
                     "kind <> 'api' AND priority %% 3 = 0",
                     round, round, round, pid);
            CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
        }
        for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
            char cursor[256] = "", path[1024];
            int pages = 0, total = 0, n = 0;
            do {
                snprintf(path, sizeof(path), "/api/v1/runs?project=%s&%s%s%s", slug, queries[q],
                         cursor[0] ? "&cursor=" : "", cursor);
                CU_ASSERT_EQUAL(list_page_is_run_json(&tok, path, cursor, sizeof(cursor), &n), 0);
                total += n;
            } while (cursor[0] && ++pages < 50);
            CU_ASSERT(total > 0); /* each query lists something, so it compared something */
        }
    }
    /* Both ways were taken, and the probes both used the cache and read changed runs. */
    CU_ASSERT(itest_metric(PROBED) > probed0);
    CU_ASSERT(itest_metric(CACHED) > cached0);
    CU_ASSERT(itest_metric(READ_ID) > read0);
#undef PROBED
#undef CACHED
#undef READ_ID
}

int suite_runs_register(void)
{
    CU_pSuite s = CU_add_suite("runs", runs_init, runs_fini);
    if (!s)
        return 1;
    return !CU_add_test(s, "create and get", test_create_and_get) ||
           !CU_add_test(s, "create: bad input names the field", test_create_validation) ||
           !CU_add_test(s, "a retried create makes one run", test_idempotent_create) ||
           !CU_add_test(s, "every status move, legal or not", test_transitions) ||
           !CU_add_test(s, "PATCH fields and error fingerprints", test_patch_fields) ||
           !CU_add_test(s, "PATCH/heartbeat: bad input names the field", test_patch_validation) ||
           !CU_add_test(s, "heartbeat", test_heartbeat) || !CU_add_test(s, "cancel", test_cancel) ||
           !CU_add_test(s, "paging while runs arrive", test_pagination) ||
           !CU_add_test(s, "list filters", test_filters) ||
           !CU_add_test(s, "list: bad query names the field", test_list_validation) ||
           !CU_add_test(s, "runs sorted by start, end, duration, paged", test_sorts) ||
           !CU_add_test(s, "the list's JSON is run_json()'s", test_list_json) ||
           !CU_add_test(s, "wait: ended, ends meanwhile, times out", test_wait) ||
           !CU_add_test(s, "wait: bad input names the field", test_wait_validation) ||
           !CU_add_test(s, "wait: slots are bounded", test_wait_slots) ||
           !CU_add_test(s, "heartbeats name their attempt", test_heartbeat_attempt) ||
           !CU_add_test(s, "who may touch which run", test_access) ||
           !CU_add_test(s, "another project's run ids cannot be probed", test_run_id_probe) ||
           !CU_add_test(s, "secrets are redacted", test_redaction) ||
           !CU_add_test(s, "secrets by key words and value shapes",
                        test_redaction_words_and_shapes) ||
           !CU_add_test(s, "writes are published in order", test_published) ||
           !CU_add_test(s, "no secret in any log", test_no_secrets_in_logs);
}
