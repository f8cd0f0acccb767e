/* Run facets suite: GET /api/v1/runs/count (the runs of a view, with the list's filters,
 * counted up to the cap: "more" past it) and GET /api/v1/runs/values (a project's kinds and
 * queues for the filters' menus): exact answers on a fresh project, the cap reached with
 * rows made in SQL, bad input 400 naming the field, another project's values never seen. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define S_OR(s) ((s) ? (s) : "(null)")

static struct itest_world w;

static int rf_init(void)
{
    if (itest_world_init(&w, "rfc"))
        return -1;
    /* A: 3 train (2 on gpu), 2 eval on cpu; B: a kind and a queue of its own. */
    static const struct {
        const char *kind, *queue;
    } runs[] = {
        {"train", "gpu"}, {"train", "gpu"}, {"train", "cpu"}, {"eval", "cpu"}, {"eval", "cpu"}};
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        struct itest_run run = {.project = w.pa.slug, .kind = runs[i].kind, .queue = runs[i].queue};
        if (itest_make_run(&w.member, &run, NULL, 0) != 201)
            return -1;
    }
    struct itest_run other = {.project = w.pb.slug, .kind = "secret-kind", .queue = "secret-q"};
    return itest_make_run(&w.adm, &other, NULL, 0) == 201 ? 0 : -1;
}

static long long count_of(const char *query, int *more)
{
    struct http_resp r;
    long long n = -1;
    if (itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/runs/count?project=%s%s", w.pa.slug,
                    query) == 200) {
        n = itest_jint(r.json, "count");
        *more = json_object_get_boolean(itest_jget(r.json, "more"));
    } else
        fprintf(stderr, "\n  count: %ld %.300s", r.status, S_OR(r.body));
    http_resp_free(&r);
    return n;
}

static void test_count_with_filters(void)
{
    int more = -1;
    CU_ASSERT_EQUAL(count_of("", &more), 5);
    CU_ASSERT_EQUAL(more, 0);
    CU_ASSERT_EQUAL(count_of("&kind=train", &more), 3);
    CU_ASSERT_EQUAL(count_of("&kind=train&queue=gpu", &more), 2);
    CU_ASSERT_EQUAL(count_of("&status=queued", &more), 5);
    CU_ASSERT_EQUAL(count_of("&status=failed,succeeded", &more), 0);
    CU_ASSERT_EQUAL(count_of("&queue=nowhere", &more), 0);
}

/* Past the cap: count is the cap and more is true (the count stops reading there). */
static void test_count_stops_at_the_cap(void)
{
    char sql[512], out[64];
    int more = -1;
    snprintf(sql, sizeof(sql),
             "INSERT INTO runs (project_id, kind, queue, status) SELECT %lld, 'bulk', 'bulk', "
             "'queued' FROM generate_series(1, 10005)",
             w.pa.id);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_EQUAL(count_of("&kind=bulk", &more), 10000);
    CU_ASSERT_EQUAL(more, 1);
    CU_ASSERT_EQUAL(count_of("", &more), 10000);
    CU_ASSERT_EQUAL(more, 1);
    CU_ASSERT_EQUAL(count_of("&kind=train", &more), 3);
    CU_ASSERT_EQUAL(more, 0);
}

static void test_values(void)
{
    struct http_resp r;

    CU_ASSERT_EQUAL(itest_callf(&w.tread, "GET", NULL, &r,
                                "/api/v1/runs/values?project=%s&field=kind", w.pa.slug),
                    200);
    CU_ASSERT_STRING_EQUAL(S_OR(itest_jstr(r.json, "field")), "kind");
    CU_ASSERT_TRUE(itest_jlen(r.json, "items") >= 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(S_OR(r.body), "\"eval\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(S_OR(r.body), "\"train\""));
    CU_ASSERT_PTR_NULL(strstr(S_OR(r.body), "secret"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&w.viewer, "GET", NULL, &r,
                                "/api/v1/runs/values?project=%s&field=queue", w.pa.slug),
                    200);
    CU_ASSERT_PTR_NOT_NULL(strstr(S_OR(r.body), "\"cpu\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(S_OR(r.body), "\"gpu\""));
    CU_ASSERT_PTR_NULL(strstr(S_OR(r.body), "secret"));
    http_resp_free(&r);
}

static void test_bad_input(void)
{
    struct http_resp r;
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/runs/values?project=%s&field=name", w.pa.slug);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, "invalid_field", "field"));
    http_resp_free(&r);
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/runs/count?project=%s&status=done", w.pa.slug);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "status"));
    http_resp_free(&r);
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/runs/count?project=%s&worker=x", w.pa.slug);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, "invalid_field", "worker"));
    http_resp_free(&r);
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/runs/count?project=%s&limit=3", w.pa.slug);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "limit"));
    http_resp_free(&r);
    itest_callf(&w.viewer, "GET", NULL, &r, "/api/v1/runs/count?project=%s", w.pb.slug);
    CU_ASSERT_TRUE(IS_ERROR(r, 404, "not_found", NULL));
    http_resp_free(&r);
}

int suite_run_facets_register(void)
{
    CU_pSuite s = CU_add_suite("run_facets", rf_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "a view's count follows the list's filters", test_count_with_filters) ||
        !CU_add_test(s, "the count stops at the cap and says more", test_count_stops_at_the_cap) ||
        !CU_add_test(s, "kinds and queues of the project, none of another's", test_values) ||
        !CU_add_test(s, "bad input is 400 naming the field", test_bad_input))
        return -1;
    return 0;
}
