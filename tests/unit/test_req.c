/* req: query-string parsing and decoding, header lookup from FastCGI params, and the
 * single error renderer's JSON shape. */
#include <string.h>

#include "arena.h"
#include "req.h"
#include "suites.h"

static struct arena a;

static void test_query_parsing(void)
{
    struct req r;
    arena_reset(&a);
    req_init(&r, &a);
    CU_ASSERT_EQUAL(
        req_parse_query(&r, "status=failed&status=running&q=a+b%2Bc&empty=&flag&&x=%C3%A9"), 0);
    CU_ASSERT_EQUAL(r.n_query_params, 6);
    CU_ASSERT_STRING_EQUAL(req_query(&r, "status"), "failed"); /* first wins */
    CU_ASSERT_STRING_EQUAL(req_query(&r, "q"), "a b+c");
    CU_ASSERT_STRING_EQUAL(req_query(&r, "empty"), "");
    CU_ASSERT_STRING_EQUAL(req_query(&r, "flag"), "");
    CU_ASSERT_STRING_EQUAL(req_query(&r, "x"), "\xc3\xa9");
    CU_ASSERT_PTR_NULL(req_query(&r, "missing"));
    CU_ASSERT_EQUAL(req_parse_query(&r, ""), 0);
    CU_ASSERT_EQUAL(r.n_query_params, 0);
}

static void test_query_rejects(void)
{
    struct req r;
    char many[REQ_MAX_QUERY_PARAMS * 4 + 16];
    size_t o = 0;

    arena_reset(&a);
    req_init(&r, &a);
    CU_ASSERT_EQUAL(req_parse_query(&r, "a=%4"), -1);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_STRING_EQUAL(r.op.err.code, "invalid_query");

    req_init(&r, &a);
    CU_ASSERT_EQUAL(req_parse_query(&r, "a=%00"), -1);
    req_init(&r, &a);
    CU_ASSERT_EQUAL(req_parse_query(&r, "=v"), -1);

    for (int i = 0; i <= REQ_MAX_QUERY_PARAMS; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, "a=1&");
    req_init(&r, &a);
    CU_ASSERT_EQUAL(req_parse_query(&r, many), -1);
    CU_ASSERT_EQUAL(r.status, 400);
}

static void test_headers(void)
{
    struct req r;
    char *env[] = {"HTTP_IDEMPOTENCY_KEY=k1", "CONTENT_TYPE=application/json", "HTTP_X_CSRF=1",
                   NULL};
    arena_reset(&a);
    req_init(&r, &a);
    r.env = env;
    CU_ASSERT_STRING_EQUAL(req_header(&r, "Idempotency-Key"), "k1");
    CU_ASSERT_STRING_EQUAL(req_header(&r, "idempotency-key"), "k1");
    CU_ASSERT_STRING_EQUAL(req_header(&r, "Content-Type"), "application/json");
    CU_ASSERT_STRING_EQUAL(req_header(&r, "X-Csrf"), "1");
    CU_ASSERT_PTR_NULL(req_header(&r, "X-Csr"));
}

static void test_error_render_shape(void)
{
    struct req r;
    json_object *o, *e, *v;

    arena_reset(&a);
    req_init(&r, &a);
    CU_ASSERT_EQUAL(req_error(&r, 422, "invalid_field", "status", "status must be %s", "valid"),
                    -1);
    /* The first error wins. */
    req_error(&r, 500, "internal", NULL, "later");
    req_render(&r, -1);
    CU_ASSERT_EQUAL(r.status, 422);
    o = json_tokener_parse(r.resp_body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, "error", &e));
    CU_ASSERT_TRUE(json_object_object_get_ex(e, "code", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "invalid_field");
    CU_ASSERT_TRUE(json_object_object_get_ex(e, "field", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "status");
    CU_ASSERT_TRUE(json_object_object_get_ex(e, "message", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "status must be valid");
    json_object_put(o);

    /* A handler that fails silently is a 500, still in the same shape. */
    arena_reset(&a);
    req_init(&r, &a);
    req_render(&r, -1);
    CU_ASSERT_EQUAL(r.status, 500);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.resp_body, "\"code\":\"internal\""));
}

static void test_decode(void)
{
    arena_reset(&a);
    CU_ASSERT_STRING_EQUAL(req_decode(&a, "a%20b+c", 7, 0), "a b+c");
    CU_ASSERT_STRING_EQUAL(req_decode(&a, "a%20b+c", 7, 1), "a b c");
    CU_ASSERT_PTR_NULL(req_decode(&a, "%", 1, 0));
    CU_ASSERT_PTR_NULL(req_decode(&a, "%a", 2, 0));
    CU_ASSERT_PTR_NULL(req_decode(&a, "%gg", 3, 0));
    CU_ASSERT_STRING_EQUAL(req_decode(&a, "%41%4a", 6, 0), "AJ");
}

static int init(void)
{
    arena_init(&a, 4096);
    return 0;
}

static int clean(void)
{
    arena_fini(&a);
    return 0;
}

/* The upload path takes the bigger body cap (RUNWATCH_ARTIFACT_MAX_BYTES): only that one
 * route, one run segment between the prefix and the suffix. */
static void test_is_upload(void)
{
    CU_ASSERT_TRUE(
        req_is_upload("/api/v1/runs/1b4e28ba-2fa1-11d2-883f-0016d3cca427/artifacts/upload"));
    CU_ASSERT_TRUE(req_is_upload("/api/v1/runs/x/artifacts/upload"));
    CU_ASSERT_FALSE(req_is_upload("/api/v1/runs//artifacts/upload"));
    CU_ASSERT_FALSE(req_is_upload("/api/v1/runs/a/b/artifacts/upload"));
    CU_ASSERT_FALSE(req_is_upload("/api/v1/runs/a/artifacts/upload/x"));
    CU_ASSERT_FALSE(req_is_upload("/api/v1/runs/a/artifacts"));
    CU_ASSERT_FALSE(req_is_upload("/api/v1/runs/artifacts/upload"));
    CU_ASSERT_FALSE(req_is_upload("/api/v1/otlp/runs/a/artifacts/upload"));
    CU_ASSERT_FALSE(req_is_upload(""));
}

int suite_req_register(void)
{
    CU_pSuite s = CU_add_suite("req", init, clean);
    if (!s)
        return 1;
    return !CU_add_test(s, "query parsing", test_query_parsing) ||
           !CU_add_test(s, "query rejects malformed input", test_query_rejects) ||
           !CU_add_test(s, "header lookup", test_headers) ||
           !CU_add_test(s, "error render shape", test_error_render_shape) ||
           !CU_add_test(s, "percent decoding", test_decode) ||
           !CU_add_test(s, "the artifact upload path", test_is_upload);
}
