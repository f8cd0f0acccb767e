/* Events API (api/events.c): a run's event log written one at a time or in batches (a
 * bad batch stores nothing), read oldest first with cursors and newest first with
 * before=; a run deleted by hand takes its log with it; many producers at once share
 * commits (the group commit) without losing, doubling or reordering an acknowledged event,
 * and one refused in a group does not take the others with it. Each test works in runs
 * of its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct itest_world world;
static json_object *openapi;

/* ---- fixture ---- */

static int events_init(void)
{
    char path[1024];

    openapi = json_object_from_file(repo_path("openapi/openapi.json", path, sizeof(path)));
    if (!openapi) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    return itest_world_init(&world, "events") ? 1 : 0;
}

static int events_fini(void)
{
    json_object_put(openapi);
    openapi = NULL;
    return 0;
}

/* ---- events ---- */

/* Every event of run, oldest first, paged by limit; ids into ids (cap). */
static int events_all(const char *run, int limit, char (*ids)[24], int cap, int *pages)
{
    char path[256], after[32] = "";
    long long last = 0;
    int n = 0;

    *pages = 0;
    for (;;) {
        struct http_resp r;
        json_object *items;
        snprintf(path, sizeof(path), "/api/v1/runs/%s/events?limit=%d%s%s", run, limit,
                 after[0] ? "&after=" : "", after);
        if (api_call(&world.viewer, "GET", path, NULL, &r) != 0 || r.status != 200 ||
            !(items = itest_jget(r.json, "items"))) {
            fprintf(stderr, "\n  GET %s: %ld %s", path, r.status, S(r.body));
            http_resp_free(&r);
            return -1;
        }
        (*pages)++;
        if ((int)json_object_array_length(items) > limit)
            n = -1000000;
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            const char *eid = itest_jstr(json_object_array_get_idx(items, i), "id");
            long long v = eid ? strtoll(eid, NULL, 10) : 0;
            if (v <= last)
                n = -1000000; /* out of order, or not a string id */
            last = v;
            if (n >= 0 && n < cap)
                snprintf(ids[n], 24, "%s", eid);
            n++;
        }
        after[0] = '\0';
        if (itest_jstr(r.json, "next_cursor"))
            snprintf(after, sizeof(after), "%s", itest_jstr(r.json, "next_cursor"));
        http_resp_free(&r);
        if (!after[0] || *pages > 2000)
            return n < 0 ? -1 : n;
    }
}

static void test_events(void)
{
    char kind[64], id[40], ids[1100][24], first[24], path[256];
    struct http_resp r;
    int pages, n;
    char *big;
    size_t o, cap = 1001 * 64 + 64;

    itest_unique("events", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);

    /* One event, every field. */
    CU_ASSERT_EQUAL(
        itest_run_op(&world.member, "POST", id, "/events",
                     "{\"ts\":\"2026-01-02T03:04:05.123Z\",\"kind\":\"metric\",\"level\":"
                     "\"warning\",\"message\":\"m1\",\"data\":{\"loss\":0.5}}",
                     &r),
        201);
    CU_ASSERT_EQUAL(itest_jnum(r.json, "count"), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(itest_jstr(r.json, "first_id"));
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "first_id")), S(itest_jstr(r.json, "last_id")));
    snprintf(first, sizeof(first), "%s", itest_jstr(r.json, "first_id"));
    http_resp_free(&r);
    /* The least: defaults. */
    CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "POST", id, "/events", "{}", &r), 201);
    http_resp_free(&r);
    /* A batch. */
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events",
                                 "{\"events\":[{\"message\":\"b1\"},{\"message\":\"b2\",\"level\":"
                                 "\"debug\"},{\"message\":\"b3\"},{\"message\":\"b4\",\"level\":"
                                 "\"critical\"},{\"message\":\"b5\",\"kind\":\"stdout\"}]}",
                                 &r),
                    201);
    CU_ASSERT_EQUAL(itest_jnum(r.json, "count"), 5);
    CU_ASSERT_TRUE(strtoll(S(itest_jstr(r.json, "first_id")), NULL, 10) > strtoll(first, NULL, 10));
    CU_ASSERT_TRUE(strtoll(S(itest_jstr(r.json, "last_id")), NULL, 10) >
                   strtoll(S(itest_jstr(r.json, "first_id")), NULL, 10));
    http_resp_free(&r);

    /* Read back, oldest first. */
    snprintf(path, sizeof(path), "/api/v1/runs/%s/events", id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.tread, "GET", path, NULL, &r), 0);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 7);
    CU_ASSERT_TRUE(itest_jnull(r.json, "next_cursor"));
    {
        json_object *e0 = itest_jget(r.json, "items.0"), *e1 = itest_jget(r.json, "items.1");
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e0, "id")), first);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e0, "run_id")), id);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e0, "kind")), "metric");
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e0, "level")), "warning");
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e0, "message")), "m1");
        CU_ASSERT_DOUBLE_EQUAL(itest_jnum(e0, "data.loss"), 0.5, 1e-9);
        CU_ASSERT_EQUAL(itest_ts_usec(itest_jstr(e0, "ts")),
                        itest_ts_usec("2026-01-02T03:04:05.123Z"));
        CU_ASSERT_TRUE(itest_has_schema_keys(openapi, e0, "Event"));
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e1, "kind")), "log");
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e1, "level")), "info");
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(e1, "message")), "");
        CU_ASSERT_PTR_NOT_NULL(itest_jstr(e1, "ts"));
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.5.level")), "critical");
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.6.kind")), "stdout");
    }
    http_resp_free(&r);

    /* Paging with after: the same 7, in three pages. */
    n = events_all(id, 3, ids, 1100, &pages);
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT_EQUAL(pages, 3);
    CU_ASSERT_STRING_EQUAL(ids[0], first);
    snprintf(path, sizeof(path), "/api/v1/runs/%s/events?after=%s", id, ids[6]);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.viewer, "GET", path, NULL, &r), 0);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    CU_ASSERT_TRUE(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/runs/%s/events?after=%s&limit=2", id, ids[2]);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.0.id")), ids[3]);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "next_cursor")), ids[4]);
    http_resp_free(&r);

    /* The largest batch, then one too many. */
    big = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    o = (size_t)snprintf(big, cap, "{\"events\":[");
    for (int i = 0; i < 1000; i++)
        o += (size_t)snprintf(big + o, cap - o, "%s{\"message\":\"e%d\",\"data\":{\"i\":%d}}",
                              i ? "," : "", i, i);
    snprintf(big + o, cap - o, "]}");
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events", big, &r), 201);
    CU_ASSERT_EQUAL(itest_jnum(r.json, "count"), 1000);
    http_resp_free(&r);
    n = events_all(id, 1000, ids, 1100, &pages);
    CU_ASSERT_EQUAL(n, 1007);
    CU_ASSERT_EQUAL(pages, 2);
    o = (size_t)snprintf(big, cap, "{\"events\":[");
    for (int i = 0; i < 1001; i++)
        o += (size_t)snprintf(big + o, cap - o, "%s{}", i ? "," : "");
    snprintf(big + o, cap - o, "]}");
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events", big, &r), 422);
    CU_ASSERT_STRING_EQUAL(S(http_error_field(&r)), "events");
    http_resp_free(&r);
    free(big);
    CU_ASSERT_EQUAL(events_all(id, 1000, ids, 1100, &pages), 1007);
}

static void test_event_validation(void)
{
    static const struct itest_bad cases[] = {
        /* A batch with one bad item is refused whole, naming the item. */
        {"POST", "/api/v1/runs/{r}/events",
         "{\"events\":[{\"message\":\"ok\"},{\"level\":\"fatal\"},{\"message\":\"ok\"}]}", 0, 400,
         NULL, "events[1].level", NULL},
        {"POST", "/api/v1/runs/{r}/events",
         "{\"events\":[{\"message\":\"ok\"},{\"message\":\"ok\"},{\"data\":[1]}]}", 0, 400, NULL,
         "events[2].data", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"events\":[{\"message\":\"ok\"},{\"ts\":\"noon\"}]}",
         0, 400, NULL, "events[1].ts", NULL},
        {"POST", "/api/v1/runs/{r}/events",
         "{\"events\":[{\"message\":\"ok\"},{\"colour\":\"red\"}]}", 0, 400, NULL,
         "events[1].colour", NULL},
        {"POST", "/api/v1/runs/{r}/events",
         "{\"events\":[{\"message\":\"ok\"},{\"ts\":\"2026-13-45T00:00:00Z\"}]}", 0, 400, NULL,
         "events[1].ts", NULL},
        {"POST", "/api/v1/runs/{r}/events",
         "{\"events\":[{\"message\":\"ok\"},{\"data\":{\"a\":\"x\\u0000y\"}}]}", 0, 400, NULL,
         "events[1].data.a", NULL},
        /* Numbers a double does not hold (kept as sent, 1e131000 would print 131,001
         * digits on every read), or integers json-c would clamp, are refused by field. */
        {"POST", "/api/v1/runs/{r}/events",
         "{\"events\":[{\"message\":\"ok\"},{\"data\":{\"x\":1e131000}}]}", 0, 400, NULL,
         "events[1].data.x", NULL},
        /* A key sent twice (json-c would keep the last without a word). */
        {"POST", "/api/v1/runs/{r}/events", "{\"message\":\"a\",\"message\":\"b\"}", 0, 400, NULL,
         "message", NULL},
        {"POST", "/api/v1/runs/{r}/events",
         "{\"events\":[{\"message\":\"ok\"},{\"data\":{\"k\":1,\"k\":2}}]}", 0, 400, NULL,
         "events[1].data.k", NULL},
        /* Text that cannot be stored as sent: a lone surrogate, overlong UTF-8. */
        {"POST", "/api/v1/runs/{r}/events", "{\"message\":\"half \\ud83d\"}", 0, 400, NULL,
         "message", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"data\":{\"k\":\"\xc0\xaf\"}}", 0, 400, NULL,
         "data.k", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"data\":{\"loss\":[0.5,1e-400]}}", 0, 400, NULL,
         "data.loss[1]", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"data\":{\"n\":123456789012345678901234567890}}", 0,
         400, NULL, "data.n", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"events\":[{\"message\":\"ok\"},5]}", 0, 400, NULL,
         NULL, NULL},
        /* The route reads its body with jsonx_read: refused as json-c refuses, in its words. */
        {"POST", "/api/v1/runs/{r}/events", "[{\"message\":\"ok\"}]", 0, 400, "invalid_json", NULL,
         NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"events\":[{\"message\":\"ok\"},]}", 0, 400,
         "invalid_json", NULL, NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"message\":\"ok\"} x", 0, 400, "invalid_json", NULL,
         NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"data\":{\"n\":01}}", 0, 400, "invalid_json", NULL,
         NULL},
        {"POST", "/api/v1/runs/{r}/events",
         "{\"events\":[{\"message\":\"ok\"}],\"\\u0065vents\":[]}", 0, 400, "invalid_json", NULL,
         NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"events\":[]}", 0, 422, NULL, "events", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"events\":{}}", 0, 400, NULL, "events", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"events\":[{}],\"message\":\"x\"}", 0, 400, NULL,
         "events", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"level\":\"fatal\"}", 0, 400, NULL, "level", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"ts\":\"yesterday\"}", 0, 400, NULL, "ts", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"ts\":\"2026-13-45T00:00:00Z\"}", 0, 400, NULL, "ts",
         NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"kind\":\"\"}", 0, 400, NULL, "kind", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"data\":[1]}", 0, 400, NULL, "data", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"message\":7}", 0, 400, NULL, "message", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"colour\":\"red\"}", 0, 400, NULL, "colour", NULL},
        {"POST", "/api/v1/runs/{r}/events", "{\"message\":\"x\"}", API_CT_TEXT, 415, NULL, NULL,
         NULL},
        {"POST", "/api/v1/runs/6f1c1a2e-0000-4000-8000-000000000000/events", "{\"message\":\"x\"}",
         0, 404, NULL, NULL, NULL},
        {"GET", "/api/v1/runs/{r}/events?after=abc", NULL, 0, 400, NULL, "after", NULL},
        {"GET", "/api/v1/runs/{r}/events?after=99999999999999999999", NULL, 0, 400, NULL, "after",
         NULL},
        {"GET", "/api/v1/runs/{r}/events?limit=0", NULL, 0, 400, NULL, "limit", NULL},
        {"GET", "/api/v1/runs/{r}/events?limit=1001", NULL, 0, 400, NULL, "limit", NULL},
        {"GET", "/api/v1/runs/6f1c1a2e-0000-4000-8000-000000000000/events", NULL, 0, 404, NULL,
         NULL, NULL},
        {"GET", "/api/v1/runs/not-a-uuid/events", NULL, 0, 404, NULL, NULL, NULL},
    };
    char kind[64], id[40], ids[8][24];
    struct http_resp r;
    int pages;

    itest_unique("badevents", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);
    CU_ASSERT_EQUAL(
        itest_run_op(&world.member, "POST", id, "/events", "{\"message\":\"only\"}", &r), 201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_check_bad(&world, &world.member, cases, sizeof(cases) / sizeof(cases[0]),
                                    &(struct itest_bad_targets){.run = id}),
                    0);
    /* Nothing of the refused batches was stored. */
    CU_ASSERT_EQUAL(events_all(id, 100, ids, 8, &pages), 1);
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

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.twrite, "POST",
                    "{\"events\":[{\"message\":\"e0\"},{\"message\":\"e1\"},{\"message\":\"e2\"},"
                    "{\"message\":\"e3\"},{\"message\":\"e4\"},{\"message\":\"e5\"},"
                    "{\"message\":\"e6\"}]}",
                    &r, "/api/v1/runs/%s/events", run),
        201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/events", run), 200);
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
        CU_ASSERT_EQUAL_FATAL(itest_callf(&world.viewer, "GET", NULL, &r, "%s", path), 200);
        long n = itest_jlen(r.json, "items");
        for (long i = 0; i < n; i++) {
            char item[48], msg[16];
            snprintf(item, sizeof(item), "items.%ld.id", i);
            CU_ASSERT(got < 7 && itest_streq(itest_jstr(r.json, item), ids[6 - got]));
            snprintf(item, sizeof(item), "items.%ld.message", i);
            snprintf(msg, sizeof(msg), "e%d", 6 - got);
            CU_ASSERT(itest_streq(itest_jstr(r.json, item), msg));
            got++;
        }
        if (itest_jnull(r.json, "next_cursor")) {
            http_resp_free(&r);
            break;
        }
        CU_ASSERT_EQUAL(n, 3);
        snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(r.json, "next_cursor")));
        CU_ASSERT(itest_streq(cursor, ids[7 - got]));
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(got, 7);

    /* before the oldest: nothing; order=asc is the default order. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/runs/%s/events?order=desc&before=%s", run, ids[0]),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/runs/%s/events?order=asc&limit=1", run),
                    200);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.id"), ids[0]));
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
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/events?%s", run, bad[i].query);
        CU_ASSERT(IS_ERROR(r, 400, "invalid_field", bad[i].field));
        http_resp_free(&r);
    }
    itest_callf(&world.member_b, "GET", NULL, &r, "/api/v1/runs/%s/events?order=desc", run);
    CU_ASSERT(IS_ERROR(r, 404, NULL, NULL));
    http_resp_free(&r);
}

/* ---- a deleted run's log ---- */

/* Events and metrics have no foreign key to their run (migration 0012): the writes read
 * the run in their statement, and a run deleted by hand takes both with it (the
 * runs_delete_logs trigger), as ON DELETE CASCADE did. Another run's rows stay. */
static void test_deleted_run_log(void)
{
    char gone[40], kept[40], sql[400], out[64];
    struct http_resp r;

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", gone), 0);
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", kept), 0);
    for (int i = 0; i < 2; i++) {
        const char *run = i ? kept : gone;
        CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "POST", run, "/events",
                                     "{\"events\":[{\"message\":\"a\"},{\"message\":\"b\"}]}", &r),
                        201);
        http_resp_free(&r);
        CU_ASSERT_EQUAL(itest_run_op(&world.twrite, "POST", run, "/metrics",
                                     "{\"metrics\":[{\"key\":\"loss\",\"value\":1,\"step\":1}]}",
                                     &r),
                        201);
        http_resp_free(&r);
    }
    snprintf(sql, sizeof(sql), "DELETE FROM runs WHERE id = '%s'", gone);
    itest_psql_ok(sql);
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM events WHERE run_id = '%s') || '|' || "
             "(SELECT count(*) FROM metrics WHERE run_id = '%s') || '|' || "
             "(SELECT count(*) FROM events WHERE run_id = '%s') || '|' || "
             "(SELECT count(*) FROM metrics WHERE run_id = '%s')",
             gone, gone, kept, kept);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0|0|2|1");
    /* The run is gone for writers too: nothing is stored, the answer is 404. */
    CU_ASSERT_EQUAL(
        itest_run_op(&world.twrite, "POST", gone, "/events", "{\"message\":\"late\"}", &r), 404);
    http_resp_free(&r);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE run_id = '%s'", gone);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0");
}

/* ---- many producers at once: the group commit (serve.c, db_batch) ----
 * Sixteen producers post lone events at once, two to a run, so the workers find several
 * requests ready and commit their writes together. Some events are refused by PostgreSQL
 * itself (a trigger this test adds), so groups fail and run again one by one; one
 * producer writes to a run deleted meanwhile. Checked: every 201 is stored exactly once
 * and nothing else is, each producer's events are published once and in id order, the
 * refused ones get their own error, and groups did form (the counters of /metrics). */

#define GC_PRODUCERS 16
#define GC_EACH      25 /* posts a producer makes a flood */
#define GC_FLOODS    6  /* floods at most, until groups (and a failed one) were seen */
#define GC_REFUSED   "gc-refused"

struct gc_producer {
    int no;
    char run[40];
    int refuse_every; /* every n-th post is refused by the trigger; 0: never */
    int gone;         /* the run was deleted: every post is a 404 */
    long long ids[GC_EACH * GC_FLOODS];
    int nids;
    int flood, refused, missing, wrong;
};

static void *gc_produce(void *arg)
{
    struct gc_producer *p = arg;
    char body[128];

    for (int j = 0; j < GC_EACH; j++) {
        struct http_resp r;
        int refuse = p->refuse_every && j % p->refuse_every == 1;
        if (refuse)
            snprintf(body, sizeof(body), "{\"message\":\"%s\"}", GC_REFUSED);
        else
            snprintf(body, sizeof(body), "{\"message\":\"gc-%d-%d-%d\",\"level\":\"info\"}", p->no,
                     p->flood, j);
        long st = itest_run_op(&world.twrite, "POST", p->run, "/events", body, &r);
        const char *first = itest_jstr(r.json, "first_id");
        if (p->gone  ? st == 404 && itest_streq(http_error_code(&r), "not_found")
            : refuse ? st == 422 && itest_streq(http_error_code(&r), "invalid_value")
                     : st == 201 && first) {
            if (refuse || p->gone)
                p->refused++;
            else if (p->nids < GC_EACH * GC_FLOODS)
                p->ids[p->nids++] = strtoll(first, NULL, 10);
        } else if (p->wrong++ < 2) {
            fprintf(stderr, "\n  producer %d post %d: %ld %.200s", p->no, j, st, S(r.body));
        }
        http_resp_free(&r);
    }
    return NULL;
}

static void test_grouped_events(void)
{
    static struct gc_producer pr[GC_PRODUCERS + 1];
    pthread_t t[GC_PRODUCERS + 1];
    struct itest_sub sub;
    char sql[1024], out[8192], runs[GC_PRODUCERS / 2][40], gone[40];
    double batches0 = itest_metric("runwatch_write_batches_total"),
           fallbacks0 = itest_metric("runwatch_write_batch_fallbacks_total");
    int floods = 0, wrong = 0, published = 0;

    CU_ASSERT_TRUE_FATAL(batches0 >= 0 && fallbacks0 >= 0);
    for (int i = 0; i < GC_PRODUCERS / 2; i++)
        CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", runs[i]), 0);
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", gone), 0);
    snprintf(sql, sizeof(sql), "DELETE FROM runs WHERE id = '%s'", gone);
    itest_psql_ok(sql);
    /* PostgreSQL refuses one message (check_violation: 422), wherever it is in a group. */
    itest_psql_ok("CREATE FUNCTION itest_gc_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                  "BEGIN IF NEW.message = '" GC_REFUSED "' THEN RAISE EXCEPTION 'refused' "
                  "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$; "
                  "CREATE TRIGGER itest_gc_refuse BEFORE INSERT ON events FOR EACH ROW "
                  "EXECUTE FUNCTION itest_gc_refuse()");
    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);
    for (int i = 0; i <= GC_PRODUCERS; i++) {
        pr[i] = (struct gc_producer){.no = i, .refuse_every = i % 4 == 3 ? 5 : 0};
        snprintf(pr[i].run, sizeof(pr[i].run), "%s", i < GC_PRODUCERS ? runs[i / 2] : gone);
        pr[i].gone = i == GC_PRODUCERS;
    }
    /* Whether requests meet in a worker depends on the machine: flood again until a group
     * committed and one failed, a bounded number of times (no speed is assumed). */
    while (floods < GC_FLOODS &&
           (itest_metric("runwatch_write_batches_total") <= batches0 ||
            itest_metric("runwatch_write_batch_fallbacks_total") <= fallbacks0)) {
        for (int i = 0; i <= GC_PRODUCERS; i++) {
            pr[i].flood = floods;
            CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, gc_produce, &pr[i]), 0);
        }
        for (int i = 0; i <= GC_PRODUCERS; i++)
            pthread_join(t[i], NULL);
        floods++;
    }
    itest_psql_ok("DROP TRIGGER itest_gc_refuse ON events; DROP FUNCTION itest_gc_refuse()");
    CU_ASSERT_TRUE(itest_metric("runwatch_write_batches_total") > batches0);
    CU_ASSERT_TRUE(itest_metric("runwatch_write_batched_requests_total") >= 2);
    CU_ASSERT_TRUE(itest_metric("runwatch_write_batch_fallbacks_total") > fallbacks0);

    for (int i = 0; i <= GC_PRODUCERS; i++) {
        wrong += pr[i].wrong;
        /* Every refused post got its error; every other one a 201. */
        CU_ASSERT_EQUAL(pr[i].nids + pr[i].refused, floods * GC_EACH);
        if (i == GC_PRODUCERS)
            continue;
        /* Stored: exactly the acknowledged events of this producer, each once. */
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM events "
                 "WHERE run_id = '%s' AND message LIKE 'gc-%d-%%'",
                 pr[i].run, i);
        CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
        char want[8192];
        size_t o = 0;
        want[0] = '\0';
        for (int k = 0; k < pr[i].nids && o < sizeof(want) - 24; k++)
            o += (size_t)snprintf(want + o, sizeof(want) - o, "%s%lld", k ? "," : "", pr[i].ids[k]);
        if (strcmp(out, want) != 0)
            fprintf(stderr, "\n  producer %d stored %.200s, acknowledged %.200s", i, out, want);
        CU_ASSERT_STRING_EQUAL(out, want);
    }
    CU_ASSERT_EQUAL(wrong, 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM events WHERE message = '" GC_REFUSED "' OR run_id = '%s'", gone);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0");

    /* Published: each acknowledged event once, a producer's in the order of their ids. */
    int next[GC_PRODUCERS] = {0}, expected = 0, bad_frames = 0;
    for (int i = 0; i < GC_PRODUCERS; i++)
        expected += pr[i].nids;
    while (published < expected) {
        char *m = itest_sub_next(&sub, ITEST_WAIT_MS);
        if (!m)
            break;
        json_object *f = json_tokener_parse(m);
        const char *msg = itest_jstr(f, "data.events.0.message"),
                   *first = itest_jstr(f, "data.first_id");
        int no, fl, j;
        if (itest_streq(itest_jstr(f, "type"), "run.event") && msg && first &&
            sscanf(msg, "gc-%d-%d-%d", &no, &fl, &j) == 3 && no >= 0 && no < GC_PRODUCERS &&
            itest_streq(itest_jstr(f, "run"), pr[no].run)) {
            published++;
            if (next[no] >= pr[no].nids || pr[no].ids[next[no]] != strtoll(first, NULL, 10)) {
                if (bad_frames++ < 3)
                    fprintf(stderr, "\n  producer %d: frame of event %s out of order or extra", no,
                            first);
            } else {
                next[no]++;
            }
        }
        json_object_put(f);
        free(m);
    }
    itest_sub_close(&sub);
    CU_ASSERT_EQUAL(bad_frames, 0);
    CU_ASSERT_EQUAL(published, expected);
}

/* ---- Idempotency-Key on batches ---- */

static long long idem_count(const char *table, const char *run)
{
    char sql[256], out[64];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE run_id = '%s'", table, run);
    return itest_psql(sql, out, sizeof(out)) == 0 ? strtoll(out, NULL, 10) : -1;
}

/* POST body to the run's sub with the key (NULL: none) as the write token; the status. */
static long idem_post(const char *run, const char *sub, const char *key, const char *body,
                      struct http_resp *r)
{
    char path[128], hdr[300];
    const char *h[2] = {hdr, NULL};
    snprintf(path, sizeof(path), "/api/v1/runs/%s%s", run, sub);
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", key ? key : "");
    if (api_req(&world.twrite, "POST", path, body, 0, key ? h : NULL, r) != 0)
        return -1;
    return r->status;
}

#define IDEM_RACERS 8
struct idem_racer {
    const char *run, *sub, *key, *body;
    long status;
    char answer[256];
};

static void *idem_race(void *arg)
{
    struct idem_racer *x = arg;
    struct http_resp r;
    x->status = idem_post(x->run, x->sub, x->key, x->body, &r);
    snprintf(x->answer, sizeof(x->answer), "%s", S(r.body));
    http_resp_free(&r);
    return NULL;
}

/* A batch retried with its Idempotency-Key (the connection dropped after the COMMIT) is
 * stored once and answered as the first time (200 instead of 201); the same key with another
 * batch is refused naming the header; racing duplicates store once; keys are per run and per
 * endpoint; a lone event (which may join a group commit) the same. */
static void idem_case(const char *table, const char *sub, const char *b1, const char *b2,
                      long long n1)
{
    char run[40], other[40], key[80], first[256];
    struct http_resp r;

    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", run), 0);
    CU_ASSERT_EQUAL_FATAL(itest_token_run(&world, "running", other), 0);
    itest_unique("idem", key, sizeof(key));

    CU_ASSERT_EQUAL(idem_post(run, sub, key, b1, &r), 201);
    snprintf(first, sizeof(first), "%s", S(r.body));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(idem_count(table, run), n1);
    CU_ASSERT_EQUAL(idem_post(run, sub, key, b1, &r), 200);
    CU_ASSERT_STRING_EQUAL(S(r.body), first);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(idem_count(table, run), n1);

    /* The same key with another batch: refused, nothing stored. */
    CU_ASSERT_EQUAL(idem_post(run, sub, key, b2, &r), 422);
    CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), "idempotency_key_reused");
    CU_ASSERT_STRING_EQUAL(S(http_error_field(&r)), "Idempotency-Key");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(idem_count(table, run), n1);

    /* Another run, or no key: stored. */
    CU_ASSERT_EQUAL(idem_post(other, sub, key, b1, &r), 201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(idem_post(run, sub, NULL, b1, &r), 201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(idem_count(table, run), 2 * n1);

    /* Racing duplicates: one stores, every answer is the same. */
    {
        struct idem_racer x[IDEM_RACERS];
        pthread_t t[IDEM_RACERS];
        char rkey[80];
        int stored = 0;
        itest_unique("idem-race", rkey, sizeof(rkey));
        for (int i = 0; i < IDEM_RACERS; i++) {
            x[i] = (struct idem_racer){run, sub, rkey, b2, 0, ""};
            CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, idem_race, &x[i]), 0);
        }
        for (int i = 0; i < IDEM_RACERS; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < IDEM_RACERS; i++) {
            stored += x[i].status == 201;
            CU_ASSERT(x[i].status == 201 || x[i].status == 200);
            CU_ASSERT_STRING_EQUAL(x[i].answer, x[0].answer);
        }
        CU_ASSERT_EQUAL(stored, 1);
    }
    CU_ASSERT(idem_count(table, run) > 2 * n1);
    long long after_race = idem_count(table, run);

    /* A malformed key is refused before anything is written. */
    {
        char longkey[260];
        memset(longkey, 'k', 201);
        longkey[201] = '\0';
        CU_ASSERT_EQUAL(idem_post(run, sub, longkey, b1, &r), 400);
        CU_ASSERT_STRING_EQUAL(S(http_error_field(&r)), "Idempotency-Key");
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(idem_count(table, run), after_race);
}

static void test_idempotent_batches(void)
{
    idem_case("events", "/events",
              "{\"events\":[{\"message\":\"a\"},{\"message\":\"b\"},{\"message\":\"c\"}]}",
              "{\"events\":[{\"message\":\"other\"}]}", 3);
    /* A lone event: the group commit's kind of request. */
    idem_case("events", "/events", "{\"message\":\"lone\"}", "{\"message\":\"lone too\"}", 1);
    idem_case("metrics", "/metrics",
              "{\"metrics\":[{\"key\":\"loss\",\"value\":0.5,\"step\":1},{\"key\":\"lr\","
              "\"value\":0.1,\"step\":1}]}",
              "{\"key\":\"loss\",\"value\":0.4,\"step\":2}", 2);
}

/* A batch nothing in which is redacted is handed to the database as the bytes it came in
 * (api/events.c, events_text): whitespace, escapes and a number's own digits read back as
 * the values they spell, and a batch with a secret is still stored redacted, whether a key
 * names it or only a value has its shape (jsonx_vredacts must see both, or the raw text goes). */
static void test_events_as_sent(void)
{
    char kind[64], id[40], path[128];
    struct http_resp r;

    itest_unique("events-as-sent", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(itest_run_in(&world, kind, "running", id), 0);
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events",
                                 " {\n \"events\" :\t[ {\"message\":\"caf\\u00e9 \\/ "
                                 "\\\"q\\\"\\n\\ud83d\\ude00\",\"data\":{\"x\":1.50,\"e\":2E+3}} ,"
                                 "{\"data\":{\"password\":\"hunter2\"}}]\r\n} ",
                                 &r),
                    201);
    CU_ASSERT_EQUAL(itest_jnum(r.json, "count"), 2);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_run_op(&world.member, "POST", id, "/events",
                     "{\"events\":[{\"message\":\"t\\u00e9\",\"data\":{\"n\":[1,2.5]}}]}", &r),
        201);
    http_resp_free(&r);
    /* No secret key, only values of a secret's shape (a URL's password, in an array; a bearer
     * token): the batch must not go as sent either. */
    CU_ASSERT_EQUAL(itest_run_op(&world.member, "POST", id, "/events",
                                 "{\"events\":[{\"message\":\"dsn set\",\"data\":{\"dsn\":["
                                 "\"postgres://app:hunter3@db:5432/x\"],\"note\":\"Bearer "
                                 "abcdefghijklmnopqrstuvwxyz0123\"}}]}",
                                 &r),
                    201);
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/runs/%s/events", id);
    CU_ASSERT_EQUAL_FATAL(api_call(&world.tread, "GET", path, NULL, &r), 0);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 4);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.0.message")),
                           "caf\xc3\xa9 / \"q\"\n\xf0\x9f\x98\x80");
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "items.0.data.x"), 1.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "items.0.data.e"), 2000, 1e-9);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.1.data.password")), "[redacted]");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.2.message")), "t\xc3\xa9");
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "items.2.data.n.1"), 2.5, 1e-9);
    CU_ASSERT_PTR_NULL(strstr(S(r.body), "hunter2"));
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.3.data.dsn.0")),
                           "postgres://app:[redacted]@db:5432/x");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.3.data.note")), "Bearer [redacted]");
    CU_ASSERT_PTR_NULL(strstr(S(r.body), "hunter3"));
    CU_ASSERT_PTR_NULL(strstr(S(r.body), "abcdefghijklmnopqrstuvwxyz0123"));
    http_resp_free(&r);
}

int suite_events_register(void)
{
    CU_pSuite s = CU_add_suite("events", events_init, events_fini);
    if (!s)
        return 1;
    return !CU_add_test(s, "events: one, batches, paging", test_events) ||
           !CU_add_test(s, "events: a bad batch stores nothing", test_event_validation) ||
           !CU_add_test(s, "events: a batch as sent reads back as the values it spells",
                        test_events_as_sent) ||
           !CU_add_test(s, "events newest first, paged with before", test_events_desc) ||
           !CU_add_test(s, "a run deleted by hand takes its events and metrics",
                        test_deleted_run_log) ||
           !CU_add_test(s, "producers at once share commits, each event once and in order",
                        test_grouped_events) ||
           !CU_add_test(s, "a batch retried with its Idempotency-Key is stored once",
                        test_idempotent_batches);
}
