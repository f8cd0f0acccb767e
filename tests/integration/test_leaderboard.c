/* The leaderboard (api/leaderboard.c, GET /api/v1/leaderboard): a project's runs ranked by
 * one summary metric, highest first or lowest first (order=asc); runs whose summary lacks
 * the metric or holds it as a non-number are not listed; kind, tag and experiment_id
 * filter; ties newest first; another project's runs never appear, even with a better
 * value; bad parameters are 400s naming the field. Runs of this suite's own kind. */
#include <stdio.h>
#include <string.h>

#include "itest.h"

static struct itest_world world;
static char kind[64];
static char ids[5][40]; /* A: loss 0.5, 0.2, 0.9 (tagged), "bad" (a string), none */
static char other[40];  /* B: loss 0.0 */

static int leaderboard_init(void)
{
    if (itest_world_init(&world, "leaderboard"))
        return 1;
    itest_unique("lb", kind, sizeof(kind));
    const char *extra[5] = {",\"params\":{\"lr\":0.001}", ",\"params\":{\"lr\":0.0003}",
                            ",\"tags\":[\"best-effort\"]", "", ""};
    const char *summary[5] = {"{\"summary\":{\"loss\":0.5,\"acc\":0.7}}",
                              "{\"summary\":{\"loss\":0.2,\"acc\":0.9}}",
                              "{\"summary\":{\"loss\":0.9,\"acc\":0.1}}",
                              "{\"summary\":{\"loss\":\"bad\"}}", "{\"summary\":{\"acc\":1}}"};
    for (int i = 0; i < 5; i++)
        if (itest_world_run(&world, world.pa.slug, kind, extra[i], ids[i]) ||
            itest_run_patch(&world, ids[i], summary[i]) != 200)
            return 1;
    if (itest_queued_run(&world, world.pb.slug, "lbq", kind, 0, other))
        return 1;
    struct http_resp r;
    long st =
        itest_run_op(&world.twrite_b, "PATCH", other, NULL, "{\"summary\":{\"loss\":0.0}}", &r);
    http_resp_free(&r);
    return st == 200 ? 0 : 1;
}

/* The ids of GET /api/v1/leaderboard?<q> as A's viewer, joined by commas into out. */
static long ranked(const char *q, char *out, size_t cap)
{
    struct http_resp r;
    long st = itest_callf(&world.viewer, "GET", NULL, &r,
                          "/api/v1/leaderboard?project=%s&kind=%s&%s", world.pa.slug, kind, q);
    out[0] = 0;
    for (long i = 0; st == 200 && i < itest_jlen(r.json, "items"); i++) {
        char path[32];
        snprintf(path, sizeof(path), "items.%ld.id", i);
        const char *id = itest_jstr(r.json, path);
        size_t o = strlen(out);
        snprintf(out + o, cap - o, "%s%s", o ? "," : "", id ? id : "?");
    }
    http_resp_free(&r);
    return st;
}

static void test_order(void)
{
    char got[400], want[400];
    CU_ASSERT_EQUAL(ranked("metric=loss&order=asc", got, sizeof(got)), 200);
    snprintf(want, sizeof(want), "%s,%s,%s", ids[1], ids[0], ids[2]);
    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_EQUAL(ranked("metric=loss", got, sizeof(got)), 200);
    snprintf(want, sizeof(want), "%s,%s,%s", ids[2], ids[0], ids[1]);
    CU_ASSERT_STRING_EQUAL(got, want);
    /* acc: run 4 has it (1), run 3 does not. */
    CU_ASSERT_EQUAL(ranked("metric=acc&limit=2", got, sizeof(got)), 200);
    snprintf(want, sizeof(want), "%s,%s", ids[4], ids[1]);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_item_shape(void)
{
    struct http_resp r;
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/leaderboard?project=%s&kind=%s&metric=loss&order=asc",
                                world.pa.slug, kind),
                    200);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "items.0.value"), 0.2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "items.0.params.lr"), 0.0003, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(itest_jnum(r.json, "items.0.summary.acc"), 0.9, 1e-12);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.kind"), kind));
    http_resp_free(&r);
}

static void test_filters(void)
{
    char got[400];
    CU_ASSERT_EQUAL(ranked("metric=loss&tag=best-effort", got, sizeof(got)), 200);
    CU_ASSERT_STRING_EQUAL(got, ids[2]);
    CU_ASSERT_EQUAL(ranked("metric=loss&experiment_id=999999999", got, sizeof(got)), 200);
    CU_ASSERT_STRING_EQUAL(got, "");
}

/* B's run has the best loss of all, and A's callers never see it; B's member sees only it. */
static void test_isolation(void)
{
    char got[400];
    CU_ASSERT_EQUAL(ranked("metric=loss&order=asc", got, sizeof(got)), 200);
    CU_ASSERT_PTR_NULL(strstr(got, other));
    struct http_resp r;
    CU_ASSERT_EQUAL(itest_callf(&world.member_b, "GET", NULL, &r,
                                "/api/v1/leaderboard?project=%s&kind=%s&metric=loss", world.pb.slug,
                                kind),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.id"), other));
    http_resp_free(&r);
    /* A's viewer asking for B's project: as if it did not exist. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/leaderboard?project=%s&metric=loss", world.pb.slug),
                    404);
    http_resp_free(&r);
}

static void test_bad_input(void)
{
    static const struct {
        const char *q, *field;
    } bad[] = {
        {"", "metric"},
        {"metric=", "metric"},
        {"metric=a%20b", "metric"},
        {"metric=loss&order=up", "order"},
        {"metric=loss&experiment_id=x", "experiment_id"},
        {"metric=loss&experiment_id=-1", "experiment_id"},
        {"metric=loss&limit=0", "limit"},
        {"metric=loss&kind=", "kind"},
        {"metric=loss&tag=", "tag"},
        {"metric=loss&sort=value", "sort"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_resp r;
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/leaderboard?project=%s&%s",
                    world.pa.slug, bad[i].q);
        CU_ASSERT(IS_ERROR(r, 400, "invalid_field", bad[i].field));
        http_resp_free(&r);
    }
}

int suite_leaderboard_register(void)
{
    CU_pSuite s = CU_add_suite("leaderboard", leaderboard_init, NULL);
    if (!s)
        return -1;
    CU_add_test(s, "runs ranked by a summary metric, either way; non-numbers left out", test_order);
    CU_add_test(s, "an item carries the value, params and summary", test_item_shape);
    CU_add_test(s, "kind, tag and experiment_id filter", test_filters);
    CU_add_test(s, "another project's runs never appear", test_isolation);
    CU_add_test(s, "bad parameters are 400s naming the field", test_bad_input);
    return 0;
}
