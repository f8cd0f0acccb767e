/* router: literal and {param} matching, percent-decoding of path parameters, 404 vs
 * 405 with Allow, HEAD served by GET routes, JSON-body routes parsed before the
 * handler runs. */
#include <string.h>

#include "arena.h"
#include "router.h"
#include "suites.h"

static int hits;
static int h_ok(struct req *r)
{
    hits++;
    return req_json(r, 200, json_object_new_object());
}

static const struct route table[] = {
    {"GET", "/api/v1/runs", h_ok, 0},
    {"POST", "/api/v1/runs", h_ok, ROUTE_JSON_BODY},
    {"GET", "/api/v1/runs/{id}", h_ok, 0},
    {"PATCH", "/api/v1/runs/{id}", h_ok, ROUTE_JSON_BODY},
    {"GET", "/api/v1/runs/{id}/events/{event}", h_ok, 0},
};
#define NT (sizeof(table) / sizeof(table[0]))

static struct arena a;

static void setup(struct req *r, const char *method, const char *path)
{
    arena_reset(&a);
    req_init(r, &a);
    r->method = method;
    r->path = path;
}

static void test_match_literal_and_params(void)
{
    struct req r;
    setup(&r, "GET", "/api/v1/runs/abc");
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs/{id}", r.path), 1);
    CU_ASSERT_STRING_EQUAL(req_path_param(&r, "id"), "abc");
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs", "/api/v1/runs"), 1);
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs", "/api/v1/runs/"), 0);
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs/{id}", "/api/v1/runs/"), 0);
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs/{id}", "/api/v1/runs/a/b"), 0);
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs", "/api/v1/run"), 0);
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs", "/api/v1/runsx"), 0);
    CU_ASSERT_EQUAL(
        router_match(&r, "/api/v1/runs/{id}/events/{event}", "/api/v1/runs/r1/events/7"), 1);
    CU_ASSERT_STRING_EQUAL(req_path_param(&r, "id"), "r1");
    CU_ASSERT_STRING_EQUAL(req_path_param(&r, "event"), "7");
}

static void test_param_percent_decoding(void)
{
    struct req r;
    setup(&r, "GET", "/api/v1/runs/a%2Fb%20c");
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs/{id}", r.path), 1);
    CU_ASSERT_STRING_EQUAL(req_path_param(&r, "id"), "a/b c");
    setup(&r, "GET", "/api/v1/runs/bad%zz");
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs/{id}", r.path), -1);
    CU_ASSERT_EQUAL(r.status, 400);
    setup(&r, "GET", "/api/v1/runs/nul%00");
    CU_ASSERT_EQUAL(router_match(&r, "/api/v1/runs/{id}", r.path), -1);
}

static void test_dispatch_404_405(void)
{
    struct req r;
    hits = 0;
    setup(&r, "GET", "/api/v1/nope");
    CU_ASSERT_EQUAL(router_dispatch(table, NT, &r, NULL), -1);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_STRING_EQUAL(r.op.err.code, "not_found");

    setup(&r, "DELETE", "/api/v1/runs/x");
    CU_ASSERT_EQUAL(router_dispatch(table, NT, &r, NULL), -1);
    CU_ASSERT_EQUAL(r.status, 405);
    CU_ASSERT_EQUAL(r.n_resp_headers, 1);
    CU_ASSERT_STRING_EQUAL(r.resp_headers[0].name, "Allow");
    CU_ASSERT_STRING_EQUAL(r.resp_headers[0].value, "GET, PATCH");

    setup(&r, "HEAD", "/api/v1/runs/x");
    CU_ASSERT_EQUAL(router_dispatch(table, NT, &r, NULL), 0);
    CU_ASSERT_EQUAL(hits, 1);
}

static void test_dispatch_json_body(void)
{
    struct req r;
    hits = 0;
    setup(&r, "POST", "/api/v1/runs");
    r.content_type = "application/json; charset=utf-8";
    r.body = "{\"kind\":\"train\"}";
    r.body_len = strlen(r.body);
    CU_ASSERT_EQUAL(router_dispatch(table, NT, &r, NULL), 0);
    CU_ASSERT_EQUAL(hits, 1);
    CU_ASSERT_PTR_NOT_NULL(r.body_json);

    setup(&r, "POST", "/api/v1/runs");
    r.content_type = "application/json";
    r.body = "{\"kind\":";
    r.body_len = strlen(r.body);
    CU_ASSERT_EQUAL(router_dispatch(table, NT, &r, NULL), -1);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_STRING_EQUAL(r.op.err.code, "invalid_json");
    CU_ASSERT_EQUAL(hits, 1);

    setup(&r, "POST", "/api/v1/runs");
    r.content_type = "text/plain";
    r.body = "{}";
    r.body_len = 2;
    CU_ASSERT_EQUAL(router_dispatch(table, NT, &r, NULL), -1);
    CU_ASSERT_EQUAL(r.status, 415);

    setup(&r, "POST", "/api/v1/runs");
    r.content_type = "application/jsonx";
    r.body = "{}";
    r.body_len = 2;
    CU_ASSERT_EQUAL(router_dispatch(table, NT, &r, NULL), -1);
    CU_ASSERT_EQUAL(r.status, 415);

    setup(&r, "POST", "/api/v1/runs");
    r.content_type = "application/json";
    r.body = "[1,2]";
    r.body_len = 5;
    CU_ASSERT_EQUAL(router_dispatch(table, NT, &r, NULL), -1);
    CU_ASSERT_EQUAL(r.status, 400);
}

static void test_real_table_is_well_formed(void)
{
    /* Every pattern is absolute under /api/v1 and no two routes share method+pattern. */
    for (size_t i = 0; i < routes_count; i++) {
        CU_ASSERT_EQUAL(strncmp(routes[i].pattern, "/api/v1/", 8), 0);
        CU_ASSERT_PTR_NOT_NULL(routes[i].handler);
        for (size_t j = i + 1; j < routes_count; j++)
            CU_ASSERT_FALSE(strcmp(routes[i].method, routes[j].method) == 0 &&
                            strcmp(routes[i].pattern, routes[j].pattern) == 0);
    }
}

static int router_init(void)
{
    arena_init(&a, 4096);
    return 0;
}

static int router_clean(void)
{
    arena_fini(&a);
    return 0;
}

int suite_router_register(void)
{
    CU_pSuite s = CU_add_suite("router", router_init, router_clean);
    if (!s)
        return 1;
    return !CU_add_test(s, "match literal and params", test_match_literal_and_params) ||
           !CU_add_test(s, "param percent-decoding", test_param_percent_decoding) ||
           !CU_add_test(s, "dispatch 404 and 405 with Allow", test_dispatch_404_405) ||
           !CU_add_test(s, "dispatch parses JSON bodies", test_dispatch_json_body) ||
           !CU_add_test(s, "routing table well formed", test_real_table_is_well_formed);
}
