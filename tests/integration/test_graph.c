/* The run graph (api/graph.c): GET /runs/{run}/graph and /lineage, and the dependencies a
 * new run declares (depends_on, after_group → run_deps). A small Celery-shaped tree in
 * project A (a root, a group of two, a grandchild, a chord callback waiting for the group
 * and for one run) is read back as nodes, groups and edges from any of its runs; pages
 * follow offset; project B's runs never appear (404 on its run, a dependency on it is
 * refused at create and left out when one was written behind the API's back); bad input is
 * a 400 naming the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static struct itest_world world;

static int graph_init(void)
{
    return itest_world_init(&world, "graph") ? 1 : 0;
}

/* 1 when the array at path holds an object whose members match (key, value) pairs. */
static int has_obj(json_object *o, const char *path, const char *k1, const char *v1, const char *k2,
                   const char *v2, const char *k3, const char *v3)
{
    json_object *a = itest_jget(o, path);
    if (!a || !json_object_is_type(a, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *e = json_object_array_get_idx(a, i);
        const char *a1 = itest_jstr(e, k1), *a2 = k2 ? itest_jstr(e, k2) : NULL,
                   *a3 = k3 ? itest_jstr(e, k3) : NULL;
        if (a1 && strcmp(a1, v1) == 0 && (!k2 || (a2 && strcmp(a2, v2) == 0)) &&
            (!k3 || (a3 && strcmp(a3, v3) == 0)))
            return 1;
    }
    return 0;
}

static char root[40], c1[40], c2[40], gc[40], cb[40], xb[40], group[64];

static void make_tree(void)
{
    char extra[300];

    itest_unique("chord", group, sizeof(group));
    CU_ASSERT_EQUAL_FATAL(
        itest_make_run(&world.twrite, &(struct itest_run){.kind = "flow"}, root, sizeof(root)),
        201);
    snprintf(extra, sizeof(extra), "\"group_id\":\"%s\"", group);
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite,
                                         &(struct itest_run){.parent = root, .extra = extra}, c1,
                                         sizeof(c1)),
                          201);
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite,
                                         &(struct itest_run){.parent = root, .extra = extra}, c2,
                                         sizeof(c2)),
                          201);
    CU_ASSERT_EQUAL_FATAL(
        itest_make_run(&world.twrite, &(struct itest_run){.parent = c1}, gc, sizeof(gc)), 201);
    snprintf(extra, sizeof(extra), "\"after_group\":\"%s\",\"depends_on\":[\"%s\"]", group, c1);
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite,
                                         &(struct itest_run){.parent = root, .extra = extra}, cb,
                                         sizeof(cb)),
                          201);
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite_b, &(struct itest_run){0}, xb, sizeof(xb)),
                          201);
}

static void test_graph_shape(void)
{
    struct http_resp r;
    char sql[400], out[64];

    make_tree();
    /* What the create wrote: two edges for the callback. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM run_deps WHERE run_id = '%s' AND (dep_run_id = '%s' OR "
             "dep_group_id = '%s')",
             cb, c1, group);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "2");

    /* From the grandchild, as A's viewer: the root's whole tree. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/graph", gc), 200);
    CU_ASSERT_STRING_EQUAL(itest_jstr(r.json, "root_id") ? itest_jstr(r.json, "root_id") : "",
                           root);
    CU_ASSERT_EQUAL(itest_jint(r.json, "total"), 5);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "nodes"), 5);
    CU_ASSERT_STRING_EQUAL(itest_jstr(r.json, "nodes.0.id") ? itest_jstr(r.json, "nodes.0.id") : "",
                           root);
    CU_ASSERT_EQUAL(itest_jint(r.json, "nodes.0.children"), 3);
    CU_ASSERT_STRING_EQUAL(
        itest_jstr(r.json, "nodes.0.status") ? itest_jstr(r.json, "nodes.0.status") : "", "queued");
    CU_ASSERT_TRUE(has_obj(r.json, "edges", "kind", "child", "source", root, "target", c1));
    CU_ASSERT_TRUE(has_obj(r.json, "edges", "kind", "child", "source", c1, "target", gc));
    CU_ASSERT_TRUE(has_obj(r.json, "edges", "kind", "dep", "source", c1, "target", cb));
    CU_ASSERT_TRUE(has_obj(r.json, "edges", "kind", "group", "source", group, "target", cb));
    CU_ASSERT_EQUAL(itest_jlen(r.json, "edges"), 6); /* 4 lineage, 1 dep, 1 group */
    CU_ASSERT_TRUE(has_obj(r.json, "groups", "id", group, NULL, NULL, NULL, NULL));
    CU_ASSERT_EQUAL(itest_jint(r.json, "groups.0.size"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "groups.0.statuses.queued"), 2);
    CU_ASSERT_TRUE(has_obj(r.json, "nodes", "id", c2, "group_id", group, NULL, NULL));
    CU_ASSERT_EQUAL(itest_jlen(r.json, "outside"), 0);
    http_resp_free(&r);

    /* Pages: two of five, then the last one. */
    CU_ASSERT_EQUAL(
        itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/runs/%s/graph?limit=2", root), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "nodes"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "total"), 5);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/runs/%s/graph?limit=2&offset=4", root),
        200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "nodes"), 1);
    CU_ASSERT_STRING_EQUAL(itest_jstr(r.json, "nodes.0.id") ? itest_jstr(r.json, "nodes.0.id") : "",
                           cb);
    http_resp_free(&r);

    /* Lineage both ways. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/lineage", gc),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "ancestors"), 2);
    CU_ASSERT_STRING_EQUAL(
        itest_jstr(r.json, "ancestors.0.id") ? itest_jstr(r.json, "ancestors.0.id") : "", c1);
    CU_ASSERT_STRING_EQUAL(
        itest_jstr(r.json, "ancestors.1.id") ? itest_jstr(r.json, "ancestors.1.id") : "", root);
    CU_ASSERT_EQUAL(itest_jint(r.json, "ancestors.1.depth"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "descendants_total"), 0);
    CU_ASSERT_EQUAL(itest_jint(r.json, "deps"), 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/lineage", c1),
                    200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "deps"), 1); /* the callback waits for it */
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/lineage?limit=3", root), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "ancestors"), 0);
    CU_ASSERT_EQUAL(itest_jint(r.json, "descendants_total"), 4);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "descendants"), 3); /* the three children, depth 1 */
    CU_ASSERT_EQUAL(itest_jint(r.json, "descendants.2.depth"), 1);
    http_resp_free(&r);
}

static void test_roots(void)
{
    struct http_resp r;

    char other[40];
    CU_ASSERT_FATAL(root[0] != '\0');
    CU_ASSERT_EQUAL_FATAL(
        itest_make_run(&world.twrite, &(struct itest_run){.kind = "lone"}, other, sizeof(other)),
        201);
    /* A's roots: the tree's root with its counts; none of its children. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/projects/%s/run-roots?limit=1000", world.pa.slug),
                    200);
    CU_ASSERT_TRUE(has_obj(r.json, "items", "id", root, NULL, NULL, NULL, NULL));
    CU_ASSERT_FALSE(has_obj(r.json, "items", "id", c1, NULL, NULL, NULL, NULL));
    CU_ASSERT_FALSE(has_obj(r.json, "items", "id", xb, NULL, NULL, NULL, NULL));
    json_object *items = itest_jget(r.json, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i);
        if (strcmp(itest_jstr(it, "id") ? itest_jstr(it, "id") : "", root) == 0) {
            CU_ASSERT_EQUAL(itest_jint(it, "children"), 3);
            CU_ASSERT_EQUAL(itest_jint(it, "descendants"), 4);
        }
    }
    http_resp_free(&r);
    /* Pages of one follow the cursor: the newest root, then the tree's. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/projects/%s/run-roots?limit=1", world.pa.slug),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    char first[40] = "", next[40] = "";
    if (itest_jstr(r.json, "items.0.id"))
        snprintf(first, sizeof(first), "%s", itest_jstr(r.json, "items.0.id"));
    if (itest_jstr(r.json, "next_cursor"))
        snprintf(next, sizeof(next), "%s", itest_jstr(r.json, "next_cursor"));
    http_resp_free(&r);
    CU_ASSERT_FATAL(next[0] != '\0');
    CU_ASSERT_STRING_EQUAL(next, first);
    CU_ASSERT_STRING_EQUAL(first, other);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/projects/%s/run-roots?limit=1&cursor=%s", world.pa.slug,
                                next),
                    200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT_STRING_NOT_EQUAL(
        itest_jstr(r.json, "items.0.id") ? itest_jstr(r.json, "items.0.id") : first, first);
    http_resp_free(&r);
    /* B's member cannot list A's roots; bad parameters name themselves. */
    CU_ASSERT_EQUAL(itest_callf(&world.member_b, "GET", NULL, &r, "/api/v1/projects/%s/run-roots",
                                world.pa.slug),
                    404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/projects/%s/run-roots?cursor=nope", world.pa.slug),
                    400);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "cursor"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                "/api/v1/projects/%s/run-roots?limit=0", world.pa.slug),
                    400);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "limit"));
    http_resp_free(&r);
}

static void test_isolation(void)
{
    struct http_resp r;
    char sql[400], body[300], ghost[40] = "00000000-0000-4000-8000-00000000abcd";

    CU_ASSERT_FATAL(root[0] && xb[0]);
    /* B's run is not A's to read or to depend on. */
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/graph", xb), 404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/lineage", xb),
                    404);
    http_resp_free(&r);
    snprintf(body, sizeof(body), "{\"kind\":\"x\",\"depends_on\":[\"%s\"]}", xb);
    CU_ASSERT_EQUAL(itest_callf(&world.twrite, "POST", body, &r, "/api/v1/runs"), 400);
    CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, "depends_on"));
    http_resp_free(&r);
    /* An edge to B's run and one to a run nobody reported, written as a bridge would
     * (run_deps has no foreign key on dep_run_id): B's is left out, the ghost is unknown. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO run_deps (run_id, project_id, dep_run_id) VALUES ('%s', %lld, '%s'), "
             "('%s', %lld, '%s')",
             c2, world.pa.id, xb, c2, world.pa.id, ghost);
    CU_ASSERT_EQUAL(itest_psql(sql, NULL, 0), 0);
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/graph", root),
                    200);
    CU_ASSERT_TRUE(r.body && !strstr(r.body, xb));
    CU_ASSERT_EQUAL(itest_jlen(r.json, "outside"), 1);
    CU_ASSERT_TRUE(has_obj(r.json, "outside", "id", ghost, "status", "unknown", NULL, NULL));
    CU_ASSERT_TRUE(has_obj(r.json, "edges", "kind", "dep", "source", ghost, "target", c2));
    http_resp_free(&r);
    /* B's member sees nothing of A's graph. */
    CU_ASSERT_EQUAL(itest_callf(&world.member_b, "GET", NULL, &r, "/api/v1/runs/%s/graph", root),
                    404);
    http_resp_free(&r);
}

static void test_bad_input(void)
{
    static const struct {
        const char *body, *field;
    } bodies[] = {
        {"{\"kind\":\"x\",\"depends_on\":\"abc\"}", "depends_on"},
        {"{\"kind\":\"x\",\"depends_on\":[\"not-a-uuid\"]}", "depends_on"},
        {"{\"kind\":\"x\",\"depends_on\":[1]}", "depends_on"},
        {"{\"kind\":\"x\",\"depends_on\":[\"00000000-0000-4000-8000-000000000001\"]}",
         "depends_on"},
        {"{\"kind\":\"x\",\"after_group\":\"\"}", "after_group"},
        {"{\"kind\":\"x\",\"after_group\":5}", "after_group"},
    };
    static const struct {
        const char *query, *field;
    } queries[] = {
        {"graph?limit=0", "limit"},     {"graph?limit=10001", "limit"},
        {"graph?offset=-1", "offset"},  {"graph?offset=x", "offset"},
        {"graph?depth=2", "depth"},     {"lineage?limit=abc", "limit"},
        {"lineage?offset=1", "offset"},
    };
    struct http_resp r;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        CU_ASSERT_EQUAL(itest_callf(&world.twrite, "POST", bodies[i].body, &r, "/api/v1/runs"),
                        400);
        CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, bodies[i].field));
        http_resp_free(&r);
    }
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/%s", root,
                                    queries[i].query),
                        400);
        CU_ASSERT_TRUE(IS_ERROR(r, 400, NULL, queries[i].field));
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/nope/graph"), 404);
    http_resp_free(&r);
}

int suite_graph_register(void)
{
    CU_pSuite s = CU_add_suite("graph", graph_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "a tree with a group and a chord callback read back whole",
                     test_graph_shape) ||
        !CU_add_test(s, "the project's roots with their counts, paged", test_roots) ||
        !CU_add_test(s, "another project's runs never appear", test_isolation) ||
        !CU_add_test(s, "bad input is a 400 naming the field", test_bad_input))
        return -1;
    return 0;
}
