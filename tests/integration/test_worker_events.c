/* Worker events suite: a worker's own log (POST/GET /api/v1/workers/{worker}/events,
 * migration 0031): the shapes of an append and of its pages (both orders, the cursor),
 * bad input answered 400 naming the field, nothing of another project's workers seen or
 * written, the live worker.event message with the worker's name and the batch, and
 * retention like run events' (RUNWATCH_RETENTION_DAYS_EVENTS drops old months of
 * worker_events too). Polls with generous deadlines; never times anything. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "itest.h"

#define S_OR(s) ((s) ? (s) : "(null)")

static struct itest_world w;
static long long worker_a = -1, worker_b = -1;
static char name_a[64];

static long long make_worker(const struct ident *who, const char *slug, char *name, size_t cap)
{
    struct http_resp r;
    char body[256], nb[64];
    long long id = -1;

    itest_unique("wev", name ? name : nb, name ? cap : sizeof(nb));
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"%s\"}", slug, name ? name : nb);
    long st = itest_callf(who, "POST", body, &r, "/api/v1/workers");
    if (st == 201 || st == 200)
        id = itest_jint(r.json, "id");
    http_resp_free(&r);
    return id;
}

static int wev_init(void)
{
    if (itest_world_init(&w, "wev"))
        return -1;
    worker_a = make_worker(&w.member, w.pa.slug, name_a, sizeof(name_a));
    worker_b = make_worker(&w.adm, w.pb.slug, NULL, 0);
    return worker_a > 0 && worker_b > 0 ? 0 : -1;
}

/* One line, then a batch: ids increase, the answer counts; the page renders every field. */
static void test_append_and_read_shapes(void)
{
    struct http_resp r;

    CU_ASSERT_EQUAL(itest_callf(&w.twrite, "POST", "{\"message\":\"lone line\"}", &r,
                                "/api/v1/workers/%lld/events", worker_a),
                    201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "count"), 1);
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "first_id"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_callf(&w.member, "POST",
                    "{\"events\":[{\"message\":\"disk 91% full\",\"level\":\"warning\",\"kind\":"
                    "\"disk\",\"data\":{\"free_gb\":3,\"password\":\"hunter2\"}},{\"message\":"
                    "\"gpu 1 lost\",\"level\":\"error\",\"ts\":\"2026-12-04T10:00:00Z\"}]}",
                    &r, "/api/v1/workers/%lld/events", worker_a),
        201);
    EXPECT_STATUS(r, 201);
    CU_ASSERT_EQUAL(itest_jint(r.json, "count"), 2);
    CU_ASSERT(atoll(S_OR(itest_jstr(r.json, "last_id"))) >
              atoll(S_OR(itest_jstr(r.json, "first_id"))));
    http_resp_free(&r);

    /* Oldest first. */
    CU_ASSERT_EQUAL(
        itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/workers/%lld/events", worker_a), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 3);
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "items.0.message")), "lone line");
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "items.0.level")), "info");
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "items.0.kind")), "log");
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.worker_id"), worker_a);
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "items.1.level")), "warning");
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "items.1.kind")), "disk");
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.data.free_gb"), 3);
    /* Redacted like a run's events. */
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "items.1.data.password")), "[redacted]");
    CU_ASSERT_PTR_NOT_NULL(strstr(S_OR(itest_jstr(r.json, "items.2.ts")), "2026-12-04T10:00:00"));
    CU_ASSERT_TRUE(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);

    /* Newest first, a page of one, then the cursor. */
    CU_ASSERT_EQUAL(itest_callf(&w.tread, "GET", NULL, &r,
                                "/api/v1/workers/%lld/events?order=desc&limit=1", worker_a),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "items.0.message")), "gpu 1 lost");
    char cursor[32];
    snprintf(cursor, sizeof(cursor), "%s", S_OR(itest_jstr(r.json, "next_cursor")));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&w.viewer, "GET", NULL, &r,
                                "/api/v1/workers/%lld/events?order=desc&limit=5&before=%s",
                                worker_a, cursor),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "items.1.message")), "lone line");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/workers/%lld/events?after=%s",
                                worker_a, cursor),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);
}

/* Bad input: 400 naming the field, nothing stored. */
static void test_bad_input_names_the_field(void)
{
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"events\":[{\"message\":\"ok\"},{\"level\":\"loud\"}]}", "events[1].level"},
        {"{\"events\":[{\"ts\":\"yesterday at noon\"}]}", "events[0].ts"},
        {"{\"events\":[{\"message\":\"x\",\"colour\":\"red\"}]}", "events[0].colour"},
        {"{\"message\":7}", "message"},
        {"{\"events\":[{\"data\":[1,2]}]}", "events[0].data"},
    };
    struct http_resp r;
    char out[64];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        itest_callf(&w.member, "POST", bad[i].body, &r, "/api/v1/workers/%lld/events", worker_a);
        CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, bad[i].field));
        http_resp_free(&r);
    }
    /* An empty batch is well-formed: 422, as for a run's events. */
    itest_callf(&w.member, "POST", "{\"events\":[]}", &r, "/api/v1/workers/%lld/events", worker_a);
    CU_ASSERT_TRUE(IS_ERROR(r, 422, NULL, "events"));
    http_resp_free(&r);
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/workers/%lld/events?order=sideways", worker_a);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, "invalid_field", "order"));
    http_resp_free(&r);
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/workers/%lld/events?after=x", worker_a);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, "invalid_field", "after"));
    http_resp_free(&r);
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/workers/%lld/events?limit=0", worker_a);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "limit"));
    http_resp_free(&r);
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM worker_events WHERE worker_id = %lld AND message = 'ok'",
             worker_a);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0");
}

/* Project B's worker: A's people and tokens neither read nor write it (404, as for a worker
 * that does not exist), and nothing is stored; B's member does both. */
static void test_cross_project_isolation(void)
{
    struct http_resp r;
    const struct ident *a_side[] = {&w.viewer, &w.member, &w.tread, &w.twrite};
    char sql[160], out[64];

    for (size_t i = 0; i < sizeof(a_side) / sizeof(a_side[0]); i++) {
        itest_callf(a_side[i], "POST", "{\"message\":\"from A\"}", &r,
                    "/api/v1/workers/%lld/events", worker_b);
        CU_ASSERT_TRUE(IS_ERROR(r, 404, "not_found", NULL));
        http_resp_free(&r);
        itest_callf(a_side[i], "GET", NULL, &r, "/api/v1/workers/%lld/events", worker_b);
        CU_ASSERT_TRUE(IS_ERROR(r, 404, "not_found", NULL));
        http_resp_free(&r);
    }
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/workers/999999999/events");
    CU_ASSERT_TRUE(IS_ERROR(r, 404, "not_found", NULL));
    http_resp_free(&r);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM worker_events WHERE worker_id = %lld",
             worker_b);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0");
    CU_ASSERT_EQUAL(itest_callf(&w.twrite_b, "POST", "{\"message\":\"from B\"}", &r,
                                "/api/v1/workers/%lld/events", worker_b),
                    201);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_callf(&w.member_b, "GET", NULL, &r, "/api/v1/workers/%lld/events", worker_b), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    http_resp_free(&r);
}

/* The append is published after COMMIT as worker.event, with the worker's id and name and
 * the batch as GET renders it. */
static void test_live_message(void)
{
    struct itest_sub sub;
    struct http_resp r;
    json_object *found = NULL;

    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);
    CU_ASSERT_EQUAL(itest_callf(&w.member, "POST", "{\"message\":\"live line\"}", &r,
                                "/api/v1/workers/%lld/events", worker_a),
                    201);
    http_resp_free(&r);
    for (int i = 0; i < 200 && !found; i++) {
        char *m = itest_sub_next(&sub, ITEST_WAIT_MS);
        if (!m)
            break;
        json_object *o = json_tokener_parse(m);
        free(m);
        if (o && strcmp(S_OR(itest_jstr(o, "type")), "worker.event") == 0 &&
            itest_jint(o, "data.worker_id") == worker_a)
            found = o;
        else
            json_object_put(o);
    }
    itest_sub_close(&sub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(found);
    CU_ASSERT_EQUAL(itest_jint(found, "project"), w.pa.id);
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(found, "data.worker_name")), name_a);
    CU_ASSERT_EQUAL(itest_jint(found, "data.count"), 1);
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(found, "data.events.0.message")), "live line");
    json_object_put(found);
}

static int housekeep_once(const char *env)
{
    const char *bin = getenv("RUNWATCH_BIN_DIR");
    char cmd[2048];
    int st;

    snprintf(cmd, sizeof(cmd), "%s'%s/runwatch-api' housekeep --once >/dev/null 2>&1", env,
             bin ? bin : "build/release");
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Kept like run events: lines 400 and 100 days old get their months; a pass with
 * RUNWATCH_RETENTION_DAYS_EVENTS=200 drops the older month of worker_events too, and the
 * worker's own family variable wins over it. */
static void test_retention_like_run_events(void)
{
    char sql[512], out[128], old_part[64], mid_part[64];
    struct http_resp r;

    snprintf(
        sql, sizeof(sql),
        "{\"events\":[{\"message\":\"old\",\"ts\":\"%s\"},{\"message\":\"mid\",\"ts\":\"%s\"}]}",
        "2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z");
    /* The times are set in SQL (relative to now), after the append put them in the default. */
    CU_ASSERT_EQUAL(
        itest_callf(&w.member, "POST", sql, &r, "/api/v1/workers/%lld/events", worker_a), 201);
    http_resp_free(&r);
    snprintf(sql, sizeof(sql),
             "WITH m AS (DELETE FROM worker_events WHERE worker_id = %lld AND message IN "
             "('old','mid') RETURNING *) INSERT INTO worker_events SELECT id, project_id, "
             "worker_id, CASE message WHEN 'old' THEN now() - interval '400 days' ELSE now() - "
             "interval '100 days' END, kind, level, message, data FROM m",
             worker_a);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_EQUAL(housekeep_once(""), 0);
    itest_psql("SELECT 'worker_events_' || to_char(now() - interval '400 days', 'YYYY_MM')",
               old_part, sizeof(old_part));
    itest_psql("SELECT 'worker_events_' || to_char(now() - interval '100 days', 'YYYY_MM')",
               mid_part, sizeof(mid_part));
    snprintf(sql, sizeof(sql),
             "SELECT to_regclass('%s') IS NOT NULL AND to_regclass('%s') IS NOT NULL", old_part,
             mid_part);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "t");

    /* The worker family's own variable, longer, wins: nothing goes. */
    CU_ASSERT_EQUAL(housekeep_once("RUNWATCH_RETENTION_DAYS_EVENTS=200 "
                                   "RUNWATCH_RETENTION_DAYS_WORKER_EVENTS=1000 "),
                    0);
    snprintf(sql, sizeof(sql), "SELECT to_regclass('%s') IS NOT NULL", old_part);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "t");

    /* The events' retention alone: the old month of worker_events goes, the other stays. */
    CU_ASSERT_EQUAL(housekeep_once("RUNWATCH_RETENTION_DAYS_EVENTS=200 "), 0);
    snprintf(sql, sizeof(sql), "SELECT to_regclass('%s') IS NULL AND to_regclass('%s') IS NOT NULL",
             old_part, mid_part);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "t");
    CU_ASSERT_EQUAL(
        itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/workers/%lld/events?limit=1000", worker_a),
        200);
    CU_ASSERT_PTR_NULL(strstr(S_OR(r.body), "\"old\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(S_OR(r.body), "\"mid\""));
    http_resp_free(&r);
}

int suite_worker_events_register(void)
{
    CU_pSuite s = CU_add_suite("worker_events", wev_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "append one line and a batch; read both orders by cursor",
                     test_append_and_read_shapes) ||
        !CU_add_test(s, "bad input is 400 naming the field", test_bad_input_names_the_field) ||
        !CU_add_test(s, "another project's worker is neither read nor written",
                     test_cross_project_isolation) ||
        !CU_add_test(s, "an append is published live as worker.event", test_live_message) ||
        !CU_add_test(s, "kept like run events: retention drops old months",
                     test_retention_like_run_events))
        return -1;
    return 0;
}
