/* Experiments (api/experiments.c): CRUD with filters, bad input naming the field, who may
 * write, audit entries and isolation between projects; runs linked by experiment_id or name;
 * the database's rule of one active run per experiment under a race; the inferred flag schema;
 * the reconcile contract (claim, lease, report, back-off, a lapsed lease taken over); and two
 * launchers in threads against one set of experiments, every action done exactly once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

static struct itest_world world;

/* A string assertion that fails, not crashes, when the value is missing (NULL). */
static const char *or_null(const char *s)
{
    return s ? s : "(missing)";
}
#define STR_EQ(a, b) CU_ASSERT_STRING_EQUAL(or_null(a), (b))

static int experiments_init(void)
{
    return itest_world_init(&world, "experiments") ? 1 : 0;
}

/* POST /experiments as who with body (JSON text); the new id, or -1 (the answer printed). */
static long long make_exp(const struct ident *who, const char *body)
{
    struct http_resp r;
    long long id = -1;

    if (api_call(who, "POST", "/api/v1/experiments", body, &r) == 0) {
        if (r.status == 201)
            id = http_json_int(&r, "id");
        else
            fprintf(stderr, "\n  create experiment: %ld %.300s", r.status, r.body ? r.body : "");
        http_resp_free(&r);
    }
    return id;
}

/* The experiments of A named with prefix, counted in the database. */
static long count_named(const char *prefix)
{
    char sql[300], out[64];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM experiments WHERE project_id = %lld AND name LIKE '%s%%'",
             world.pa.id, prefix);
    return itest_psql(sql, out, sizeof(out)) == 0 ? atol(out) : -1;
}

/* A batch is made whole, in order, or not at all; an error names the member. */
static void test_batch_create(void)
{
    char pre[64], body[2000], big[40000];
    struct http_resp r;

    itest_unique("batch", pre, sizeof(pre));
    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"experiments\":[{\"name\":\"%s-1\",\"flags\":{\"n\":1}},"
             "{\"name\":\"%s-2\",\"flags\":{\"n\":2},\"tags\":[\"grid\"]},{\"name\":\"%s-3\","
             "\"desired_state\":\"running\"}]}",
             world.pa.slug, pre, pre, pre);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", body, &r, "/api/v1/experiments"), 201);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 3);
    char want[96];
    for (int i = 0; i < 3; i++) {
        char path[32];
        snprintf(want, sizeof(want), "%s-%d", pre, i + 1);
        snprintf(path, sizeof(path), "items.%d.name", i);
        STR_EQ(itest_jstr(r.json, path), want);
    }
    STR_EQ(itest_jstr(r.json, "items.2.desired_state"), "running");
    http_resp_free(&r);
    CU_ASSERT_EQUAL(count_named(pre), 3);

    /* Refused whole: a name taken (by the batch above), repeated within, a bad member. */
    static const struct {
        const char *items, *field;
        long status;
    } bad[] = {
        {"{\"name\":\"{p}-4\"},{\"name\":\"{p}-5\"},{\"name\":\"{p}-1\"}", "experiments[2].name",
         409},
        {"{\"name\":\"{p}-4\"},{\"name\":\"{p}-4\"}", "experiments[1].name", 409},
        {"{\"name\":\"{p}-4\"},{\"name\":7}", "experiments[1].name", 400},
        {"{\"name\":\"{p}-4\",\"bogus\":1}", "experiments[0].bogus", 400},
        {"{\"name\":\"{p}-4\"},{\"name\":\"{p}-5\",\"tags\":[\"\"]}", "experiments[1].tags", 422},
        {"{\"name\":\"{p}-4\",\"desired_state\":\"on\"}", "experiments[0].desired_state", 400},
        {"{\"name\":\"{p}-4\"},3", "experiments", 400},
        {"", "experiments", 422},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char items[600];
        const struct itest_subst subs[] = {{"{p}", pre}, {NULL, NULL}};
        itest_expand(bad[i].items, subs, items, sizeof(items));
        snprintf(body, sizeof(body), "{\"project\":\"%s\",\"experiments\":[%s]}", world.pa.slug,
                 items);
        CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", body, &r, "/api/v1/experiments"),
                        bad[i].status);
        if (!IS_ERROR(r, bad[i].status, NULL, bad[i].field))
            fprintf(stderr, "\n  batch %s: %ld %.300s", items, r.status, or_null(r.body));
        CU_ASSERT(IS_ERROR(r, bad[i].status, NULL, bad[i].field));
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(count_named(pre), 3);

    /* Past 256 members; other keys beside the batch; a viewer. */
    size_t o =
        (size_t)snprintf(big, sizeof(big), "{\"project\":\"%s\",\"experiments\":[", world.pa.slug);
    for (int i = 0; i < 257; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "%s{\"name\":\"%s-big-%d\"}", i ? "," : "",
                              pre, i);
    snprintf(big + o, sizeof(big) - o, "]}");
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", big, &r, "/api/v1/experiments"), 422);
    CU_ASSERT(IS_ERROR(r, 422, NULL, "experiments"));
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"x\",\"experiments\":[]}",
             world.pa.slug);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", body, &r, "/api/v1/experiments"), 400);
    CU_ASSERT(IS_ERROR(r, 400, NULL, "name"));
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"experiments\":[{\"name\":\"%s-v\"}]}",
             world.pa.slug, pre);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "POST", body, "/api/v1/experiments"), 403);
    CU_ASSERT_EQUAL(count_named(pre), 3);
}

/* A run of experiment exp made by who (a member of A); its id in id on 201. */
static long exp_run(const struct ident *who, long long exp, char id[40])
{
    char extra[64];
    struct itest_run run = {.project = world.pa.slug, .kind = "exp", .extra = extra};
    snprintf(extra, sizeof(extra), "\"experiment_id\":%lld", exp);
    return itest_make_run(who, &run, id, 40);
}

static void test_crud(void)
{
    struct http_resp r;
    char body[600];
    long long a, b, t;

    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"name\":\"crud-a\",\"description\":\"first\",\"flags\":"
             "{\"nodes\":2,\"model\":{\"layers\":4}},\"kind\":\"train\",\"queue\":\"gpu\","
             "\"tags\":[\"crud\",\"alpha\"]}",
             world.pa.slug);
    CU_ASSERT_FATAL((a = make_exp(&world.member, body)) > 0);
    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"name\":\"crud-b\",\"tags\":[\"crud\"],\"desired_state\":"
             "\"running\"}",
             world.pa.slug);
    CU_ASSERT_FATAL((b = make_exp(&world.member, body)) > 0);
    /* A write token makes one in its own project, named as the token. */
    CU_ASSERT_FATAL((t = make_exp(&world.twrite, "{\"name\":\"crud-token\",\"tags\":[\"crud\"]}")) >
                    0);

    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/experiments/%lld", a),
                    200);
    STR_EQ(itest_jstr(r.json, "name"), "crud-a");
    STR_EQ(itest_jstr(r.json, "kind"), "train");
    STR_EQ(itest_jstr(r.json, "queue"), "gpu");
    STR_EQ(itest_jstr(r.json, "desired_state"), "stopped");
    STR_EQ(itest_jstr(r.json, "actual_state"), "stopped");
    CU_ASSERT_TRUE(itest_jnull(r.json, "action"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "flags.model.layers"), 4);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "tags"), 2);
    STR_EQ(itest_jstr(r.json, "created_by"), world.member.email);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/experiments/%lld", t),
                    200);
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "created_by"));
    CU_ASSERT_TRUE(itest_jstr(r.json, "created_by") &&
                   strncmp(itest_jstr(r.json, "created_by"), "token:", 6) == 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/experiments/%lld", b),
                    200);
    STR_EQ(itest_jstr(r.json, "action"), "launch");
    http_resp_free(&r);

    /* Filters: name substring, desired state, tag; pages by cursor. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/experiments?project=%s&q=CRUD-&tag=crud", world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 3);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/experiments?project=%s&tag=alpha", world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/experiments?project=%s&state=running&tag=crud",
                                world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.id"), b);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/experiments?project=%s&tag=crud&limit=2", world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    char cursor[32] = "";
    if (itest_jstr(r.json, "next_cursor"))
        snprintf(cursor, sizeof(cursor), "%s", itest_jstr(r.json, "next_cursor"));
    http_resp_free(&r);
    CU_ASSERT_FATAL(cursor[0] != '\0');
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/experiments?project=%s&tag=crud&limit=2&cursor=%s",
                                world.pa.slug, cursor),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.id"), a);
    CU_ASSERT_TRUE(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);

    /* Change: desired state, flags, tags; updated_by; a read-only caller may not. */
    CU_ASSERT_EQUAL(
        itest_callf(&world.twrite, "PATCH",
                    "{\"desired_state\":\"running\",\"flags\":{\"nodes\":4},\"tags\":[]}", &r,
                    "/api/v1/experiments/%lld", a),
        200);
    STR_EQ(itest_jstr(r.json, "desired_state"), "running");
    CU_ASSERT_EQUAL(itest_jint(r.json, "flags.nodes"), 4);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "tags"), 0);
    STR_EQ(itest_jstr(r.json, "name"), "crud-a");
    CU_ASSERT_TRUE(itest_jstr(r.json, "updated_by") &&
                   strncmp(itest_jstr(r.json, "updated_by"), "token:", 6) == 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.viewer, "PATCH", "{\"description\":\"x\"}",
                                  "/api/v1/experiments/%lld", a),
                    403);
    CU_ASSERT_EQUAL(itest_statusf(&world.tread, "PATCH", "{\"description\":\"x\"}",
                                  "/api/v1/experiments/%lld", a),
                    403);

    /* Audit: create and update are there, with the fields changed. */
    CU_ASSERT_EQUAL(itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/audit?project=%s&limit=50",
                                world.pa.slug),
                    200);
    CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "\"experiment.create\""));
    CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "\"experiment.update\""));
    CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "\"desired_state\""));
    http_resp_free(&r);

    /* Delete; then it is gone, and the delete is audited. */
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "DELETE", NULL, "/api/v1/experiments/%lld", t),
                    204);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "GET", NULL, "/api/v1/experiments/%lld", t), 404);
    CU_ASSERT_EQUAL(itest_callf(&world.adm, "GET", NULL, &r, "/api/v1/audit?project=%s&limit=50",
                                world.pa.slug),
                    200);
    CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "\"experiment.delete\""));
    http_resp_free(&r);
}

static void test_bad_input(void)
{
    struct http_resp r;
    char body[300];
    long long a;

    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"bad-base\"}", world.pa.slug);
    CU_ASSERT_FATAL((a = make_exp(&world.member, body)) > 0);
    static const struct {
        const char *body, *field;
        long status;
    } cases[] = {
        {"{\"description\":\"no name\"}", "name", 400},
        {"{\"name\":\"\"}", "name", 400},
        {"{\"name\":\"x\",\"flags\":[1]}", "flags", 400},
        {"{\"name\":\"x\",\"desired_state\":\"paused\"}", "desired_state", 400},
        {"{\"name\":\"x\",\"tags\":[1]}", "tags", 422},
        {"{\"name\":\"x\",\"kind\":\"\"}", "kind", 400},
        {"{\"name\":\"x\",\"colour\":\"red\"}", "colour", 400},
        {"{\"name\":\"bad-base\"}", "name", 409},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char full[300];
        snprintf(full, sizeof(full), "{\"project\":\"%s\",%s", world.pa.slug, cases[i].body + 1);
        CU_ASSERT_EQUAL(api_call(&world.member, "POST", "/api/v1/experiments", full, &r), 0);
        CU_ASSERT_TRUE(IS_ERROR(r, cases[i].status, NULL, cases[i].field));
        http_resp_free(&r);
    }
    /* PATCH: the same rules; a rename onto another's name is 409 naming name. */
    CU_ASSERT_EQUAL(itest_callf(&world.member, "PATCH", "{\"desired_state\":\"on\"}", &r,
                                "/api/v1/experiments/%lld", a),
                    400);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "desired_state"));
    http_resp_free(&r);
    /* Query parameters of the list. */
    static const struct {
        const char *query, *field;
    } qs[] = {{"state=paused", "state"},
              {"cursor=abc", "cursor"},
              {"limit=0", "limit"},
              {"nope=1", "nope"},
              {"tag=", "tag"}};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        CU_ASSERT_EQUAL(itest_callf(&world.member, "GET", NULL, &r,
                                    "/api/v1/experiments?project=%s&%s", world.pa.slug,
                                    qs[i].query),
                        400);
        CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, qs[i].field));
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(itest_callf(&world.member, "GET", NULL, &r,
                                "/api/v1/experiments/reconcile?project=%s", world.pa.slug),
                    400);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "launcher"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST", "{\"launcher\":\"l\",\"action\":\"boot\"}",
                                &r, "/api/v1/experiments/%lld/claim", a),
                    400);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "action"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.member, "POST",
                                "{\"lease_id\":\"not-a-uuid-not-a-uuid-not-a-uuid-xx\",\"outcome\":"
                                "\"done\"}",
                                &r, "/api/v1/experiments/%lld/report", a),
                    400);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "lease_id"));
    http_resp_free(&r);
}

static void test_isolation(void)
{
    struct http_resp r;
    char body[300], run[40];
    long long a, bexp;

    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"iso-a\"}", world.pa.slug);
    CU_ASSERT_FATAL((a = make_exp(&world.member, body)) > 0);
    CU_ASSERT_FATAL((bexp = make_exp(&world.twrite_b, "{\"name\":\"iso-b\"}")) > 0);
    /* B's member and B's token see nothing of A's experiment; A's of B's. */
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "GET", NULL, "/api/v1/experiments/%lld", a),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "GET", NULL, "/api/v1/experiments/%lld", a),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "PATCH", "{\"description\":\"x\"}",
                                  "/api/v1/experiments/%lld", a),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "DELETE", NULL, "/api/v1/experiments/%lld", a),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "POST",
                                  "{\"launcher\":\"x\",\"action\":\"launch\"}",
                                  "/api/v1/experiments/%lld/claim", a),
                    404);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "GET", NULL, "/api/v1/experiments/%lld", bexp),
                    404);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member, "GET", NULL, "/api/v1/experiments?project=%s", world.pb.slug),
        404);
    CU_ASSERT_EQUAL(itest_callf(&world.twrite_b, "GET", NULL, &r, "/api/v1/experiments?q=iso-"),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    STR_EQ(itest_jstr(r.json, "items.0.name"), "iso-b");
    http_resp_free(&r);
    /* A run of A cannot join B's experiment, by id or by name. */
    CU_ASSERT_EQUAL(exp_run(&world.member, bexp, run), 422);
    struct itest_run byname = {.project = world.pa.slug, .extra = "\"experiment\":\"iso-b\""};
    CU_ASSERT_EQUAL(itest_make_run(&world.member, &byname, run, sizeof(run)), 422);
}

static void test_runs_link(void)
{
    struct http_resp r;
    char body[300], run1[40], run2[40];
    long long a;

    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"link-a\"}", world.pa.slug);
    CU_ASSERT_FATAL((a = make_exp(&world.member, body)) > 0);
    CU_ASSERT_EQUAL_FATAL(exp_run(&world.member, a, run1), 201);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s", run1), 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "experiment_id"), a);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/experiments/%lld", a),
                    200);
    STR_EQ(itest_jstr(r.json, "actual_state"), "running");
    STR_EQ(itest_jstr(r.json, "active_run_id"), run1);
    STR_EQ(itest_jstr(r.json, "action"), "stop"); /* desired: stopped */
    http_resp_free(&r);
    /* A second active run: refused by id and by name, naming the field given. */
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"exp\",\"experiment\":\"link-a\"}",
             world.pa.slug);
    CU_ASSERT_EQUAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "conflict", "experiment"));
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"exp\",\"experiment_id\":%lld}",
             world.pa.slug, a);
    CU_ASSERT_EQUAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    CU_ASSERT_TRUE(IS_ERROR(r, 409, "conflict", "experiment_id"));
    http_resp_free(&r);
    snprintf(
        body, sizeof(body),
        "{\"project\":\"%s\",\"kind\":\"exp\",\"experiment_id\":%lld,\"experiment\":\"link-a\"}",
        world.pa.slug, a);
    CU_ASSERT_EQUAL(api_call(&world.member, "POST", "/api/v1/runs", body, &r), 0);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "experiment"));
    http_resp_free(&r);
    /* The rule is the database's: a row written past the API is refused as well. */
    char sql[300], out[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO runs (project_id, kind, experiment_id) VALUES (%lld, 'x', %lld)",
             world.pa.id, a);
    CU_ASSERT_NOT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    /* Once the run ends, the next may start; the history lists both, newest first. */
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member, "PATCH", "{\"status\":\"running\"}", "/api/v1/runs/%s", run1),
        200);
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "PATCH",
                                  "{\"status\":\"failed\",\"error\":"
                                  "{\"type\":\"Exit\",\"message\":\"exit code 3\"}}",
                                  "/api/v1/runs/%s", run1),
                    200);
    CU_ASSERT_EQUAL_FATAL(exp_run(&world.member, a, run2), 201);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/experiments/%lld/runs", a),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    STR_EQ(itest_jstr(r.json, "items.0.id"), run2);
    STR_EQ(itest_jstr(r.json, "items.1.id"), run1);
    STR_EQ(itest_jstr(r.json, "items.1.error.message"), "exit code 3");
    http_resp_free(&r);
}

/* ---- the race: many creates of a run of one experiment at once ---- */

struct race_arg {
    long long exp;
    long status;
    const char *source;
};

static void *race_one(void *p)
{
    struct race_arg *a = p;
    char body[200];
    struct http_resp r;

    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"race\",\"experiment_id\":%lld}",
             world.pa.slug, a->exp);
    a->status = api_call(&world.member, "POST", "/api/v1/runs", body, &r) == 0 ? r.status : -1;
    http_resp_free(&r);
    return NULL;
}

static void test_one_active_race(void)
{
    enum { N = 8 };
    pthread_t th[N];
    struct race_arg args[N];
    char body[300], out[64], sql[200];
    long long exp;
    int created = 0, conflicts = 0;

    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"race\"}", world.pa.slug);
    CU_ASSERT_FATAL((exp = make_exp(&world.member, body)) > 0);
    for (int i = 0; i < N; i++) {
        args[i] = (struct race_arg){.exp = exp};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, race_one, &args[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        created += args[i].status == 201;
        conflicts += args[i].status == 409;
    }
    CU_ASSERT_EQUAL(created, 1);
    CU_ASSERT_EQUAL(conflicts, N - 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs WHERE experiment_id = %lld", exp);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    STR_EQ(out, "1");
}

/* ---- flag schema ---- */

static json_object *schema_path(json_object *s, const char *path)
{
    long n = itest_jlen(s, "paths");
    for (long i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof(k), "paths.%ld", i);
        json_object *p = itest_jget(s, k);
        if (itest_jstr(p, "path") && strcmp(itest_jstr(p, "path"), path) == 0)
            return p;
    }
    return NULL;
}

static void test_flag_schema(void)
{
    struct http_resp r;
    char body[600];
    long long first = -1;

    /* Twelve experiments under "sch": lr mixes integers and floats, opt has three values
     * (a choice), tag is unique per experiment (a string), net.depth is nested, dims an
     * array, seed sometimes null. */
    for (int i = 0; i < 12; i++) {
        snprintf(body, sizeof(body),
                 "{\"project\":\"%s\",\"name\":\"schema-%d\",\"flags\":{\"sch\":{\"lr\":%s,"
                 "\"opt\":\"%s\",\"tag\":\"t-%d\",\"net\":{\"depth\":%d},\"dims\":[%d,2],"
                 "\"seed\":%s,\"fp16\":%s}}}",
                 world.pa.slug, i, i % 2 ? "0.5" : "1",
                 i % 3 == 0   ? "adam"
                 : i % 3 == 1 ? "sgd"
                              : "lion",
                 i, 2 + i % 4, i % 2, i % 4 ? "7" : "null", i % 2 ? "true" : "false");
        long long id = make_exp(&world.member, body);
        CU_ASSERT_FATAL(id > 0);
        if (first < 0)
            first = id;
    }
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/experiments/flag-schema?project=%s", world.pa.slug),
                    200);
    STR_EQ(itest_jstr(schema_path(r.json, "sch.lr"), "type"), "float");
    STR_EQ(itest_jstr(schema_path(r.json, "sch.opt"), "type"), "choice");
    CU_ASSERT_EQUAL(itest_jlen(schema_path(r.json, "sch.opt"), "values"), 3);
    STR_EQ(itest_jstr(schema_path(r.json, "sch.tag"), "type"), "string");
    STR_EQ(itest_jstr(schema_path(r.json, "sch.net.depth"), "type"), "integer");
    CU_ASSERT_EQUAL(itest_jint(schema_path(r.json, "sch.net.depth"), "min"), 2);
    CU_ASSERT_EQUAL(itest_jint(schema_path(r.json, "sch.net.depth"), "max"), 5);
    STR_EQ(itest_jstr(schema_path(r.json, "sch.dims"), "type"), "array");
    STR_EQ(itest_jstr(schema_path(r.json, "sch.seed"), "type"), "integer");
    CU_ASSERT_TRUE(
        json_object_get_boolean(itest_jget(schema_path(r.json, "sch.seed"), "nullable")));
    STR_EQ(itest_jstr(schema_path(r.json, "sch.fp16"), "type"), "boolean");
    CU_ASSERT_PTR_NULL(schema_path(r.json, "sch.net")); /* objects are walked, not leaves */
    http_resp_free(&r);
    /* One experiment's own: its values only. */
    CU_ASSERT_EQUAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/experiments/%lld/flag-schema", first),
        200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "documents"), 1);
    CU_ASSERT_EQUAL(itest_jint(r.json, "experiment_id"), first);
    STR_EQ(itest_jstr(schema_path(r.json, "sch.lr"), "type"), "integer");
    CU_ASSERT_EQUAL(itest_jlen(schema_path(r.json, "sch.opt"), "values"), 1);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/experiments/%lld/flag-schema", first),
        404);
}

/* ---- the reconcile contract ---- */

/* GET the experiment; its field as a string copied to out ("" when null). */
static void exp_field(long long id, const char *field, char *out, size_t cap)
{
    struct http_resp r;
    out[0] = '\0';
    if (itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/experiments/%lld", id) == 200 &&
        itest_jstr(r.json, field))
        snprintf(out, cap, "%s", itest_jstr(r.json, field));
    http_resp_free(&r);
}

/* Claims action on id as launcher; the status; the lease id in lease on 200. */
static long claim(const char *launcher, long long id, const char *action, int lease_s,
                  char lease[40])
{
    struct http_resp r;
    char body[200];
    long st;

    snprintf(body, sizeof(body), "{\"launcher\":\"%s\",\"action\":\"%s\",\"lease_s\":%d}", launcher,
             action, lease_s);
    st = itest_callf(&world.member, "POST", body, &r, "/api/v1/experiments/%lld/claim", id);
    if (lease)
        snprintf(lease, 40, "%s",
                 st == 200 && itest_jstr(r.json, "lease_id") ? itest_jstr(r.json, "lease_id") : "");
    http_resp_free(&r);
    return st;
}

static long report(long long id, const char *lease, const char *outcome, const char *run,
                   const char *more)
{
    char body[300];
    snprintf(body, sizeof(body), "{\"lease_id\":\"%s\",\"outcome\":\"%s\"%s%s%s%s%s}", lease,
             outcome, run ? ",\"run_id\":\"" : "", run ? run : "", run ? "\"" : "", more ? "," : "",
             more ? more : "");
    return itest_statusf(&world.member, "POST", body, "/api/v1/experiments/%lld/report", id);
}

/* 1 when the reconcile list for launcher holds experiment id with action. */
static int listed(const char *launcher, long long id, const char *action)
{
    struct http_resp r;
    int found = 0;

    if (itest_callf(&world.viewer, "GET", NULL, &r,
                    "/api/v1/experiments/reconcile?project=%s&launcher=%s&limit=1000",
                    world.pa.slug, launcher) == 200) {
        long n = itest_jlen(r.json, "items");
        for (long i = 0; i < n; i++) {
            char k[32];
            snprintf(k, sizeof(k), "items.%ld", i);
            json_object *e = itest_jget(r.json, k);
            found |= itest_jint(e, "id") == id && itest_jstr(e, "action") &&
                     strcmp(itest_jstr(e, "action"), action) == 0;
        }
    }
    http_resp_free(&r);
    return found;
}

/* The member sets experiment id's desired state; the status. */
static long desire(long long id, const char *state)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"desired_state\":\"%s\"}", state);
    return itest_statusf(&world.member, "PATCH", body, "/api/v1/experiments/%lld", id);
}

/* A crashed launcher's one-second lease on id's launch, lapsed and claimed over by heir
 * (waited for, not slept on): the crashed one's lease id in lease, the heir's in heirs.
 * The heir's claim's status. */
static long crash_and_take_over(long long id, const char *heir, char lease[40], char heirs[40])
{
    long st;
    if (claim("crashed", id, "launch", 1, lease) != 200)
        return -1;
    time_t deadline = time(NULL) + 60;
    while ((st = claim(heir, id, "launch", 60, heirs)) == 409 && time(NULL) < deadline)
        usleep(200 * 1000);
    return st;
}

static void test_reconcile(void)
{
    char body[300], lease[40], lease2[40], run[40], v[128];
    long long e;

    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"name\":\"rec-1\",\"desired_state\":\"running\"}",
             world.pa.slug);
    CU_ASSERT_FATAL((e = make_exp(&world.member, body)) > 0);
    CU_ASSERT_TRUE(listed("l1", e, "launch"));
    /* A claim of an action it does not need, then the right one; the second launcher is
     * refused and no longer sees it; the holder still does. */
    CU_ASSERT_EQUAL(claim("l1", e, "stop", 60, NULL), 409);
    CU_ASSERT_EQUAL(claim("l1", e, "launch", 60, lease), 200);
    CU_ASSERT_EQUAL(claim("l2", e, "launch", 60, NULL), 409);
    CU_ASSERT_FALSE(listed("l2", e, "launch"));
    CU_ASSERT_TRUE(listed("l1", e, "launch"));
    /* A launch done names a run of this experiment. */
    CU_ASSERT_EQUAL(report(e, lease, "done", NULL, NULL), 400);
    CU_ASSERT_EQUAL_FATAL(exp_run(&world.member, e, run), 201);
    CU_ASSERT_EQUAL(report(e, lease, "done", run, NULL), 200);
    CU_ASSERT_EQUAL(report(e, lease, "done", run, NULL), 409); /* reported already */
    exp_field(e, "actual_state", v, sizeof(v));
    STR_EQ(v, "running");
    CU_ASSERT_FALSE(listed("l1", e, "launch"));

    /* Stop: done only once the run has ended. */
    CU_ASSERT_EQUAL(desire(e, "stopped"), 200);
    CU_ASSERT_TRUE(listed("l2", e, "stop"));
    CU_ASSERT_EQUAL(claim("l2", e, "stop", 60, lease), 200);
    CU_ASSERT_EQUAL(report(e, lease, "done", NULL, NULL), 409);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member, "PATCH", "{\"status\":\"cancelled\"}", "/api/v1/runs/%s", run),
        200);
    CU_ASSERT_EQUAL(report(e, lease, "done", NULL, NULL), 200);
    exp_field(e, "actual_state", v, sizeof(v));
    STR_EQ(v, "stopped");

    /* Terminate: needed even with no run (the launcher frees what it holds). */
    CU_ASSERT_EQUAL(desire(e, "terminated"), 200);
    CU_ASSERT_EQUAL(claim("l1", e, "terminate", 60, lease), 200);
    CU_ASSERT_EQUAL(report(e, lease, "done", NULL, NULL), 200);
    exp_field(e, "actual_state", v, sizeof(v));
    STR_EQ(v, "terminated");
    CU_ASSERT_FALSE(listed("l1", e, "terminate"));

    /* A failed launch keeps the error and backs off; asking again clears the back-off. */
    CU_ASSERT_EQUAL(desire(e, "running"), 200);
    CU_ASSERT_EQUAL(claim("l1", e, "launch", 60, lease), 200);
    CU_ASSERT_EQUAL(
        report(e, lease, "failed", NULL, "\"error\":\"quota exceeded\",\"retry_after_s\":3600"),
        200);
    exp_field(e, "last_error", v, sizeof(v));
    STR_EQ(v, "quota exceeded");
    CU_ASSERT_FALSE(listed("l1", e, "launch"));
    CU_ASSERT_EQUAL(claim("l1", e, "launch", 60, NULL), 409);
    CU_ASSERT_EQUAL(desire(e, "stopped"), 200);
    CU_ASSERT_EQUAL(desire(e, "running"), 200);
    CU_ASSERT_TRUE(listed("l1", e, "launch"));

    /* A crashed launcher: its one-second lease lapses (waited for, not slept on), another
     * takes over, and the first one's late report is refused. */
    CU_ASSERT_EQUAL_FATAL(crash_and_take_over(e, "l2", lease, lease2), 200);
    CU_ASSERT_EQUAL(report(e, lease, "failed", NULL, "\"error\":\"late\""), 409);
    CU_ASSERT_EQUAL_FATAL(exp_run(&world.member, e, run), 201);
    CU_ASSERT_EQUAL(report(e, lease2, "done", run, NULL), 200);
    char sql[300], out[256];
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(launcher || ':' || action || ':' || coalesce(outcome, '-'), ',' "
             "ORDER BY id) FROM experiment_actions WHERE experiment_id = %lld",
             e);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    STR_EQ(out, "l1:launch:done,l2:stop:done,l1:terminate:done,l1:launch:failed,"
                "crashed:launch:lapsed,l2:launch:done");
}

/* A renewal's status; body is the request's JSON as sent. */
static long renew(long long id, const char *body, struct http_resp *r)
{
    return itest_callf(&world.member, "POST", body, r, "/api/v1/experiments/%lld/renew", id);
}

/* A long action keeps its lease by renewing it: past the claim's one-second expiry (waited
 * for in the database's clock, never slept on) another launcher is still refused; the action's
 * row keeps the new expiry; a wrong, reported or malformed lease is refused naming the field. */
static void test_renew(void)
{
    char body[300], lease[40], other[40], out[256], sql[400];
    struct http_resp r;
    long long e;

    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"name\":\"renew-1\",\"desired_state\":\"running\"}",
             world.pa.slug);
    CU_ASSERT_FATAL((e = make_exp(&world.member, body)) > 0);
    /* Claimed for a second and renewed at once. On a busy machine the renewal may come after
     * that second; a lapsed lease nobody claimed over is still the holder's, so it is renewed
     * all the same. Any other refusal is tried again with a new claim until the deadline (a
     * renewal that never works fails there). */
    long rst = 0;
    for (double deadline_s = itest_now_s() + ITEST_WAIT_MS / 1000.0;
         rst != 200 && itest_now_s() < deadline_s;) {
        if (claim("slow", e, "launch", 1, lease) != 200) {
            usleep(200 * 1000); /* the last round's lease has not lapsed yet */
            continue;
        }
        snprintf(body, sizeof(body), "{\"lease_id\":\"%s\",\"lease_s\":600}", lease);
        if ((rst = renew(e, body, &r)) != 200)
            http_resp_free(&r);
    }
    CU_ASSERT_EQUAL_FATAL(rst, 200);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "lease_id"), lease));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "action"), "launch"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "launcher"), "slow"));
    CU_ASSERT_EQUAL(itest_jint(r.json, "experiment.id"), e);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "experiment.lease.launcher"), "slow"));
    http_resp_free(&r);
    /* The first expiry passes in the database's clock; the lease lives on. */
    snprintf(sql, sizeof(sql),
             "SELECT now() > a.claimed_at + interval '1.5 s' FROM experiment_actions a "
             "WHERE a.lease_id = '%s'",
             lease);
    time_t deadline = time(NULL) + 60;
    while (itest_psql(sql, out, sizeof(out)) == 0 && strcmp(out, "t") != 0 && time(NULL) < deadline)
        usleep(200 * 1000);
    CU_ASSERT_STRING_EQUAL(out, "t");
    CU_ASSERT_EQUAL(claim("fast", e, "launch", 60, NULL), 409);
    snprintf(sql, sizeof(sql),
             "SELECT (e.lease_expires_at > now() + interval '500 s')::text || '|' || "
             "(a.expires_at = e.lease_expires_at)::text || '|' || coalesce(a.outcome, '-') FROM "
             "experiments e JOIN experiment_actions a ON a.lease_id = e.lease_id WHERE e.id = %lld",
             e);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "true|true|-");

    /* Bad input names its field; another lease is refused. */
    static const struct {
        const char *body, *field;
        long status;
    } bad[] = {
        {"{\"lease_s\":60}", "lease_id", 400},
        {"{\"lease_id\":\"not-a-uuid-not-a-uuid-not-a-uuid-xx\"}", "lease_id", 400},
        {"{\"lease_id\":\"00000000-0000-4000-8000-000000000000\",\"lease_s\":0}", "lease_s", 400},
        {"{\"lease_id\":\"00000000-0000-4000-8000-000000000000\",\"lease_s\":3601}", "lease_s",
         400},
        {"{\"lease_id\":\"00000000-0000-4000-8000-000000000000\",\"until\":1}", "until", 400},
        {"{\"lease_id\":\"00000000-0000-4000-8000-000000000000\"}", "lease_id", 409},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(renew(e, bad[i].body, &r), bad[i].status);
        if (!IS_ERROR(r, bad[i].status, NULL, bad[i].field))
            fprintf(stderr, "\n  renew %s: %ld %.200s", bad[i].body, r.status, or_null(r.body));
        CU_ASSERT(IS_ERROR(r, bad[i].status, NULL, bad[i].field));
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(itest_statusf(&world.member, "POST",
                                  "{\"lease_id\":\"00000000-0000-4000-8000-000000000000\"}",
                                  "/api/v1/experiments/999999999/renew"),
                    404);

    /* Reported: the lease is over, and so is its renewal. */
    CU_ASSERT_EQUAL(report(e, lease, "failed", NULL, "\"error\":\"quota\""), 200);
    snprintf(body, sizeof(body), "{\"lease_id\":\"%s\"}", lease);
    CU_ASSERT_EQUAL(renew(e, body, &r), 409);
    CU_ASSERT(IS_ERROR(r, 409, NULL, "lease_id"));
    http_resp_free(&r);

    /* A lapsed lease claimed over by another launcher: the first one's renewal is refused, the
     * new holder's accepted. */
    CU_ASSERT_EQUAL(desire(e, "stopped"), 200);
    CU_ASSERT_EQUAL(desire(e, "running"), 200);
    CU_ASSERT_EQUAL_FATAL(crash_and_take_over(e, "heir", lease, other), 200);
    snprintf(body, sizeof(body), "{\"lease_id\":\"%s\"}", lease);
    CU_ASSERT_EQUAL(renew(e, body, &r), 409);
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"lease_id\":\"%s\",\"lease_s\":120}", other);
    CU_ASSERT_EQUAL(renew(e, body, &r), 200);
    http_resp_free(&r);
}

/* ---- two launchers against one set ---- */

#define SET_N 6

struct launcher {
    const char *name;
    const char *tag;
    const struct ident *who;
    int acted; /* actions this launcher did and reported */
};

/* One pass: every listed experiment of the set, claimed and acted on. */
static int launcher_pass(struct launcher *l)
{
    struct http_resp r;
    int seen = 0;

    if (itest_callf(l->who, "GET", NULL, &r, "/api/v1/experiments/reconcile?launcher=%s&limit=1000",
                    l->name) != 200) {
        http_resp_free(&r);
        return -1;
    }
    json_object *items = itest_jget(r.json, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *e = json_object_array_get_idx(items, i), *tags = itest_jget(e, "tags");
        int mine = 0;
        for (size_t t = 0; tags && t < json_object_array_length(tags); t++)
            mine |= strcmp(json_object_get_string(json_object_array_get_idx(tags, t)), l->tag) == 0;
        if (!mine)
            continue;
        seen++;
        long long id = itest_jint(e, "id");
        const char *action = itest_jstr(e, "action");
        char body[200], lease[40] = "", run[40] = "";
        if (!action)
            continue;
        struct http_resp c;
        snprintf(body, sizeof(body), "{\"launcher\":\"%s\",\"action\":\"%s\"}", l->name, action);
        if (itest_callf(l->who, "POST", body, &c, "/api/v1/experiments/%lld/claim", id) == 200)
            snprintf(lease, sizeof(lease), "%s", itest_jstr(c.json, "lease_id"));
        http_resp_free(&c);
        if (!lease[0])
            continue; /* the other launcher has it */
        if (strcmp(action, "launch") == 0) {
            char rb[200];
            snprintf(rb, sizeof(rb), "{\"kind\":\"two\",\"experiment_id\":%lld}", id);
            long rs = itest_callf(l->who, "POST", rb, &c, "/api/v1/runs");
            if (rs == 201)
                snprintf(run, sizeof(run), "%s", itest_jstr(c.json, "id"));
            else
                fprintf(stderr, "\n  %s: the run of %lld: %ld %.300s", l->name, id, rs,
                        c.body ? c.body : "");
            http_resp_free(&c);
        } else {
            const char *active = itest_jstr(e, "active_run_id");
            if (active)
                itest_statusf(l->who, "PATCH", "{\"status\":\"cancelled\"}", "/api/v1/runs/%s",
                              active);
        }
        snprintf(body, sizeof(body), "{\"lease_id\":\"%s\",\"outcome\":\"done\"%s%s%s}", lease,
                 run[0] ? ",\"run_id\":\"" : "", run, run[0] ? "\"" : "");
        struct http_resp rep;
        long st = itest_callf(l->who, "POST", body, &rep, "/api/v1/experiments/%lld/report", id);
        if (st == 200)
            l->acted++;
        else /* says why, for the count checked below */
            fprintf(stderr, "\n  %s: %s of %lld reported %ld %.200s", l->name, action, id, st,
                    rep.body ? rep.body : "");
        http_resp_free(&rep);
    }
    http_resp_free(&r);
    return seen;
}

static void *launcher_loop(void *p)
{
    struct launcher *l = p;
    time_t deadline = time(NULL) + 120;
    int idle = 0;

    /* Until the set needs nothing this launcher may claim, seen on three passes in a row. */
    while (time(NULL) < deadline && idle < 3) {
        int seen = launcher_pass(l);
        idle = seen == 0 ? idle + 1 : 0;
    }
    return NULL;
}

static void run_launchers(struct launcher *l1, struct launcher *l2)
{
    pthread_t a, b;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&a, NULL, launcher_loop, l1), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&b, NULL, launcher_loop, l2), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
}

static void test_two_launchers(void)
{
    char tag[64], body[300], sql[600], out[1024];
    long long ids[SET_N];
    struct launcher l1 = {.name = "two-1", .who = &world.twrite},
                    l2 = {.name = "two-2", .who = &world.twrite};

    itest_unique("set", tag, sizeof(tag));
    l1.tag = l2.tag = tag;
    for (int i = 0; i < SET_N; i++) {
        snprintf(body, sizeof(body),
                 "{\"name\":\"%s-%d\",\"tags\":[\"%s\"],\"desired_state\":\"running\"}", tag, i,
                 tag);
        CU_ASSERT_FATAL((ids[i] = make_exp(&world.twrite, body)) > 0);
    }
    run_launchers(&l1, &l2);
    CU_ASSERT_EQUAL(l1.acted + l2.acted, SET_N);
    /* Every experiment running, then all stopped by the same two. */
    for (int i = 0; i < SET_N; i++) {
        char v[32];
        exp_field(ids[i], "actual_state", v, sizeof(v));
        STR_EQ(v, "running");
        CU_ASSERT_EQUAL(itest_statusf(&world.twrite, "PATCH", "{\"desired_state\":\"stopped\"}",
                                      "/api/v1/experiments/%lld", ids[i]),
                        200);
    }
    l1.acted = l2.acted = 0;
    run_launchers(&l1, &l2);
    CU_ASSERT_EQUAL(l1.acted + l2.acted, SET_N);
    /* Exactly once each: one launch and one stop done per experiment, one run each, no claim
     * refused after it was granted (no lapsed lease). */
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(x, ',' ORDER BY x) FROM (SELECT e.name || '=' || "
             "(SELECT count(*) FROM experiment_actions a WHERE a.experiment_id = e.id AND "
             "a.action = 'launch' AND a.outcome = 'done') || '/' || (SELECT count(*) FROM "
             "experiment_actions a WHERE a.experiment_id = e.id AND a.action = 'stop' AND "
             "a.outcome = 'done') || '/' || (SELECT count(*) FROM experiment_actions a WHERE "
             "a.experiment_id = e.id) || '/' || (SELECT count(*) FROM runs r WHERE "
             "r.experiment_id = e.id) AS x FROM experiments e WHERE '%s' = ANY (e.tags)) s",
             tag);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    char want[1024] = "";
    for (int i = 0; i < SET_N; i++) {
        size_t n = strlen(want);
        snprintf(want + n, sizeof(want) - n, "%s%s-%d=1/1/2/1", i ? "," : "", tag, i);
    }
    STR_EQ(out, want);
}

int suite_experiments_register(void)
{
    CU_pSuite s = CU_add_suite("experiments", experiments_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "create, read, list with filters, change, delete; audit", test_crud) ||
        !CU_add_test(s, "bad input is a 4xx naming the field", test_bad_input) ||
        !CU_add_test(s, "a batch is made whole or not at all", test_batch_create) ||
        !CU_add_test(s, "projects see only their own experiments", test_isolation) ||
        !CU_add_test(s, "runs link to their experiment; one active run each", test_runs_link) ||
        !CU_add_test(s, "one active run per experiment under a race", test_one_active_race) ||
        !CU_add_test(s, "flag schema inferred from values", test_flag_schema) ||
        !CU_add_test(s, "reconcile: claim, lease, report, back-off, lapse", test_reconcile) ||
        !CU_add_test(s, "reconcile: a long action renews its lease", test_renew) ||
        !CU_add_test(s, "two launchers act exactly once on every action", test_two_launchers))
        return -1;
    return 0;
}
