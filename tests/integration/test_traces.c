/* The list of traces (api/traces.c, GET /api/v1/traces): one item per trace whose root is
 * stored, newest first, with its span count, error spans and extent over all its spans
 * (a child that ends after its root counts); pages by cursor; filters on the root's name
 * and start; a trace without a stored root is not listed; another project's caller sees
 * none of it; bad parameters are 400s naming the field. A trace and a run's spans read in
 * the lean form (?form=lean: resources and scopes once, spans referring to them by index)
 * carry the same spans as the full form. Spans go in through OTLP/HTTP
 * (POST /v1/traces), with trace ids and root names of this suite's own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "")

static struct itest_world world;

static int traces_init(void)
{
    return itest_world_init(&world, "traces") ? 1 : 0;
}

/* A trace id of 32 hex digits no other test uses. */
static const char *fresh_trace(char out[33])
{
    static unsigned n;
    snprintf(out, 33, "%016llx%08x%08x", (unsigned long long)time(NULL) * 7919ULL,
             (unsigned)getpid(), ++n);
    return out;
}

/* One OTLP span: trace, span id, parent ("" for a root), name, start and end (Unix
 * seconds of 2026-01-01 plus the offsets in ms), status code. */
static void span(char *buf, size_t cap, const char *trace, const char *id, const char *parent,
                 const char *name, long start_ms, long end_ms, int status)
{
    const long long base = 1767225600000LL; /* 2026-01-01T00:00:00Z in ms */
    snprintf(buf, cap,
             "{\"traceId\":\"%s\",\"spanId\":\"%s\"%s%s%s,\"name\":\"%s\","
             "\"startTimeUnixNano\":\"%lld000000\",\"endTimeUnixNano\":\"%lld000000\","
             "\"status\":{\"code\":%d}}",
             trace, id, parent[0] ? ",\"parentSpanId\":\"" : "", parent, parent[0] ? "\"" : "",
             name, base + start_ms, base + end_ms, status);
}

/* POST /v1/traces as the write token of A (or B) with the spans (JSON list text without
 * brackets); the status. */
static long ingest(const struct ident *who, const char *spans)
{
    size_t cap = strlen(spans) + 200;
    char auth[300], *body = malloc(cap);
    struct http_resp r;
    if (!body)
        return -1;
    snprintf(body, cap, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}", spans);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", who->secret);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    long st = http_do("POST", "/v1/traces", body, strlen(body), h, &r) == 0 ? r.status : -1;
    if (st != 200)
        fprintf(stderr, "\n  POST /v1/traces: %ld %.300s", st, S(r.body));
    if (st != -1)
        http_resp_free(&r);
    free(body);
    return st;
}

static void test_list(void)
{
    char t1[33], t2[33], t3[33], name[64], orphan[64], a[6][400], all[2600];
    struct http_resp r;
    fresh_trace(t1);
    fresh_trace(t2);
    fresh_trace(t3);
    itest_unique("trace-root", name, sizeof(name));
    itest_unique("trace-orphan", orphan, sizeof(orphan));
    /* t1: a root of 0-1000 ms, a child of 100-1500 ms (outlives the root) in error, and a
     * grandchild; t2 (newer): a lone ok root of 5000-5250 ms; t3: a child whose root never
     * came. */
    span(a[0], sizeof(a[0]), t1, "1000000000000001", "", name, 0, 1000, 0);
    span(a[1], sizeof(a[1]), t1, "1000000000000002", "1000000000000001", "child", 100, 1500, 2);
    span(a[2], sizeof(a[2]), t1, "1000000000000003", "1000000000000002", "leaf", 200, 300, 1);
    span(a[3], sizeof(a[3]), t2, "2000000000000001", "", name, 5000, 5250, 1);
    span(a[4], sizeof(a[4]), t3, "3000000000000002", "3000000000000001", orphan, 6000, 6100, 0);
    snprintf(all, sizeof(all), "%s,%s,%s,%s,%s", a[0], a[1], a[2], a[3], a[4]);
    CU_ASSERT_EQUAL_FATAL(ingest(&world.twrite, all), 200);

    /* Newest root first, with each trace's aggregates. */
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                      "/api/v1/traces?project=%s&name=%s", world.pa.slug, name),
                          200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.trace_id"), t2));
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.span_count"), 1);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.error_count"), 0);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.duration_ns"), 250000000LL);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.root_status"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.trace_id"), t1));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.root_span_id"), "1000000000000001"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.1.root_name"), name));
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.span_count"), 3);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.error_count"), 1);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.1.duration_ns"), 1500000000LL);
    CU_ASSERT(
        itest_streq(itest_jstr(r.json, "items.1.start_time_unix_nano"), "1767225600000000000"));
    CU_ASSERT(itest_jnull(r.json, "items.1.run_id"));
    http_resp_free(&r);

    /* One a page: the cursor leads to the older trace, then the list ends. */
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/traces?name=%s&limit=1", name), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.trace_id"), t2));
    char cursor[128];
    snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(r.json, "next_cursor")));
    http_resp_free(&r);
    CU_ASSERT_FATAL(cursor[0] != '\0');
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.tread, "GET", NULL, &r,
                                      "/api/v1/traces?name=%s&limit=1&cursor=%s", name, cursor),
                          200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.trace_id"), t1));
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);

    /* The root's start range: [from, to). */
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.tread, "GET", NULL, &r,
                    "/api/v1/traces?name=%s&from=2026-01-01T00:00:04Z&to=2026-01-01T00:00:06Z",
                    name),
        200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.trace_id"), t2));
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.tread, "GET", NULL, &r,
                                      "/api/v1/traces?name=%s&to=2026-01-01T00:00:00Z", name),
                          200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);

    /* A trace without its root is not listed (GET /spans finds it). */
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/traces?name=%s", orphan), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);

    /* Project B's callers see none of A's traces, even naming its root. */
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.twrite_b, "GET", NULL, &r, "/api/v1/traces?name=%s", name), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_statusf(&world.member_b, "GET", NULL, "/api/v1/traces?project=%s", world.pa.slug),
        404);
}

static void test_bad_params(void)
{
    static const struct {
        const char *query, *field;
    } bad[] = {
        {"cursor=x", "cursor"},
        {"cursor=1:00:00", "cursor"},
        {"cursor=1767225600000000000:0123456789abcdef0123456789abcdeg:0123456789abcdef", "cursor"},
        {"from=yesterday", "from"},
        {"to=2026-13-01", "to"},
        {"limit=0", "limit"},
        {"status=error", "status"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_resp r;
        long st = itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/traces?%s", bad[i].query);
        if (!IS_ERROR(r, 400, NULL, bad[i].field))
            fprintf(stderr, "\n  (query %s)", bad[i].query);
        (void)st;
        http_resp_free(&r);
    }
}

/* The spans of a lean answer (key: "spans" or "items") made full again: each span with the
 * resource and scope its indexes name, the indexes gone. Checks the indexes are in range. */
static json_object *lean_expand(json_object *lean, const char *key)
{
    json_object *spans = itest_jget(lean, key), *res = itest_jget(lean, "resources"),
                *sco = itest_jget(lean, "scopes"), *out = json_object_new_array();
    for (size_t i = 0; spans && res && sco && i < json_object_array_length(spans); i++) {
        json_object *s = NULL, *ri, *si;
        json_object_deep_copy(json_object_array_get_idx(spans, i), &s, NULL);
        CU_ASSERT_FATAL(json_object_object_get_ex(s, "resource_index", &ri) &&
                        json_object_object_get_ex(s, "scope_index", &si));
        size_t r = (size_t)json_object_get_int(ri), c = (size_t)json_object_get_int(si);
        CU_ASSERT_FATAL(r < json_object_array_length(res) && c < json_object_array_length(sco));
        json_object_object_add(s, "resource", json_object_get(json_object_array_get_idx(res, r)));
        json_object_object_add(s, "scope", json_object_get(json_object_array_get_idx(sco, c)));
        json_object_object_del(s, "resource_index");
        json_object_object_del(s, "scope_index");
        json_object_array_add(out, s);
    }
    return out;
}

/* The full answer's spans and the lean one's made full are the same, span by span. */
static void same_spans(json_object *full, json_object *lean, const char *key)
{
    json_object *a = itest_jget(full, key), *b = lean_expand(lean, key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(json_object_array_length(a), json_object_array_length(b));
    for (size_t i = 0; i < json_object_array_length(a) && i < json_object_array_length(b); i++) {
        json_object *x = json_object_array_get_idx(a, i), *y = json_object_array_get_idx(b, i);
        CU_ASSERT(json_object_object_get_ex(x, "resource", NULL) && json_object_equal(x, y));
    }
    json_object_put(b);
}

static void test_lean(void)
{
    char run[64], trace[33], a[400], b[400], c[400], d[400], e[400], body[4000];
    struct itest_run rr = {.status = "running"};
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &rr, run, sizeof(run)), 201);
    fresh_trace(trace);
    span(a, sizeof(a), trace, "3000000000000001", "", "lean-root", 0, 900, 0);
    span(b, sizeof(b), trace, "3000000000000002", "3000000000000001", "lean-a", 10, 200, 1);
    span(c, sizeof(c), trace, "3000000000000003", "3000000000000001", "lean-b", 20, 300, 2);
    span(d, sizeof(d), trace, "3000000000000004", "3000000000000001", "lean-c", 30, 400, 0);
    span(e, sizeof(e), trace, "3000000000000005", "3000000000000004", "lean-d", 40, 500, 0);
    /* Two resources naming the run; the first with two scopes, the second with a scope equal
     * to the first's first (one entry in "scopes"). */
    snprintf(body, sizeof(body),
             "{\"resourceSpans\":["
             "{\"resource\":{\"attributes\":[{\"key\":\"runwatch.run_id\",\"value\":{"
             "\"stringValue\":\"%s\"}},{\"key\":\"service.name\",\"value\":{\"stringValue\":"
             "\"lean-one\"}}]},\"scopeSpans\":["
             "{\"scope\":{\"name\":\"s1\",\"version\":\"1\"},\"spans\":[%s,%s]},"
             "{\"scope\":{\"name\":\"s2\"},\"spans\":[%s]}]},"
             "{\"resource\":{\"attributes\":[{\"key\":\"runwatch.run_id\",\"value\":{"
             "\"stringValue\":\"%s\"}},{\"key\":\"service.name\",\"value\":{\"stringValue\":"
             "\"lean-two\"}}],\"droppedAttributesCount\":2},\"scopeSpans\":["
             "{\"scope\":{\"name\":\"s1\",\"version\":\"1\"},\"spans\":[%s,%s]}]}]}",
             run, a, b, c, run, d, e);
    char auth[300];
    struct http_resp r, full, lean;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", world.twrite.secret);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    CU_ASSERT_EQUAL_FATAL(http_do("POST", "/v1/traces", body, strlen(body), h, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    http_resp_free(&r);

    /* The trace: the default is the full form; the lean one names 2 resources, 2 scopes. */
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.tread, "GET", NULL, &full, "/api/v1/traces/%s", trace),
                          200);
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/traces/%s?form=full", trace), 200);
    CU_ASSERT(json_object_equal(full.json, r.json));
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.tread, "GET", NULL, &lean, "/api/v1/traces/%s?form=lean", trace), 200);
    CU_ASSERT_EQUAL(itest_jlen(full.json, "spans"), 5);
    CU_ASSERT_EQUAL(itest_jlen(lean.json, "resources"), 2);
    CU_ASSERT_EQUAL(itest_jlen(lean.json, "scopes"), 2);
    CU_ASSERT_PTR_NULL(itest_jget(lean.json, "spans.0.resource"));
    CU_ASSERT_PTR_NOT_NULL(itest_jget(lean.json, "spans.0.resource_index"));
    CU_ASSERT(itest_streq(itest_jstr(lean.json, "trace_id"), trace));
    CU_ASSERT(
        json_object_equal(itest_jget(full.json, "truncated"), itest_jget(lean.json, "truncated")));
    same_spans(full.json, lean.json, "spans");
    http_resp_free(&full);
    http_resp_free(&lean);

    /* The run's spans, in pages, in both orders: the same spans and cursors in both forms. */
    static const char *const orders[] = {"sequence", "start"};
    for (int o = 0; o < 2; o++) {
        char cursor[80] = "";
        for (int page = 0; page < 3; page++) {
            CU_ASSERT_EQUAL_FATAL(itest_callf(&world.viewer, "GET", NULL, &full,
                                              "/api/v1/runs/%s/spans?order=%s&limit=2%s%s", run,
                                              orders[o], cursor[0] ? "&cursor=" : "", cursor),
                                  200);
            CU_ASSERT_EQUAL_FATAL(
                itest_callf(&world.viewer, "GET", NULL, &lean,
                            "/api/v1/runs/%s/spans?order=%s&limit=2&form=lean%s%s", run, orders[o],
                            cursor[0] ? "&cursor=" : "", cursor),
                200);
            CU_ASSERT_EQUAL(itest_jlen(full.json, "items"), page < 2 ? 2 : 1);
            CU_ASSERT(itest_jlen(lean.json, "resources") >= 1 &&
                      itest_jlen(lean.json, "resources") <= itest_jlen(lean.json, "items"));
            same_spans(full.json, lean.json, "items");
            CU_ASSERT(json_object_equal(itest_jget(full.json, "next_cursor"),
                                        itest_jget(lean.json, "next_cursor")));
            snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(full.json, "next_cursor")));
            CU_ASSERT(page < 2 ? cursor[0] != '\0' : itest_jnull(full.json, "next_cursor"));
            http_resp_free(&full);
            http_resp_free(&lean);
        }
    }

    /* form is full or lean */
    CU_ASSERT_EQUAL(itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/traces/%s?form=x", trace),
                    400);
    CU_ASSERT(IS_ERROR(r, 400, "invalid_field", "form"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/spans?form=x", run), 400);
    CU_ASSERT(IS_ERROR(r, 400, "invalid_field", "form"));
    http_resp_free(&r);
}

/* ---- the span JSON made in C (spanjson.c) against span_json() and span_json_lean() ---- */

/* The text of body after the first from and before the last to that follows it; NULL when
 * either is missing. (Keys and brackets written bare cannot occur inside a JSON string.) */
static const char *between(const char *body, const char *from, const char *to, size_t *n)
{
    const char *a = body ? strstr(body, from) : NULL, *b = NULL;
    if (!a)
        return NULL;
    a += strlen(from);
    for (const char *p = strstr(a, to); p; p = strstr(p + 1, to))
        b = p;
    if (!b)
        return NULL;
    *n = (size_t)(b - a);
    return a;
}

/* got[0..n) (spans as the API sent them) against want (psql's text of the SQL function's
 * rows joined by commas), both without the whitespace between tokens and got without the
 * lean form's resource_index and scope_index (test_lean checks what they point at): 0 when
 * they are the same text, else -1 with the first difference printed. */
static int same_text(const char *what, const char *got, size_t n, const char *want)
{
    static const char *const keys[] = {",\"resource_index\":", ",\"scope_index\":"};
    char *g = itest_json_squeeze(got, n), *w = itest_json_squeeze(want, strlen(want));
    int rc = -1;
    if (!g || !w)
        goto out;
    for (int k = 0; k < 2; k++)
        for (char *p = strstr(g, keys[k]); p; p = strstr(p, keys[k])) {
            char *e = p + strlen(keys[k]);
            while (*e >= '0' && *e <= '9')
                e++;
            memmove(p, e, strlen(e) + 1);
        }
    if (strcmp(g, w) == 0) {
        rc = 0;
        goto out;
    }
    size_t i = 0;
    while (g[i] && g[i] == w[i])
        i++;
    fprintf(stderr, "\n  %s differs from SQL at byte %zu:\n  API: %.200s\n  SQL: %.200s\n", what, i,
            g + (i > 80 ? i - 80 : 0), w + (i > 80 ? i - 80 : 0));
out:
    free(g);
    free(w);
    return rc;
}

#define JSON_CAP (1 << 20)

/* The trace's spans by GET /traces/{id} in both forms (and the lean form's resources and
 * scopes) against the SQL functions of the same rows in the statement's order. */
static void trace_is_sql(const char *trace)
{
    static const char *const forms[] = {"full", "lean"};
    char *want = malloc(JSON_CAP), sql[1024], what[160];
    const char *t;
    size_t n;
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    for (int f = 0; f < 2; f++) {
        struct http_resp r;
        CU_ASSERT_EQUAL_FATAL(itest_callf(&world.tread, "GET", NULL, &r,
                                          "/api/v1/traces/%s?form=%s", trace, forms[f]),
                              200);
        snprintf(sql, sizeof(sql),
                 "SELECT string_agg(%s(s)::text, ',' ORDER BY s.start_ns, s.span_id) FROM spans "
                 "s WHERE s.trace_id = decode('%s', 'hex')",
                 f ? "span_json_lean" : "span_json", trace);
        CU_ASSERT_EQUAL_FATAL(itest_psql(sql, want, JSON_CAP), 0);
        t = between(r.body, "\"spans\":[", f ? "],\"resources\":[" : "],\"truncated\":", &n);
        snprintf(what, sizeof(what), "GET /traces/%s?form=%s", trace, forms[f]);
        CU_ASSERT_PTR_NOT_NULL(t);
        CU_ASSERT(t && same_text(what, t, n, want) == 0);
        for (int c = 0; f && c < 2; c++) {
            /* each distinct resource (scope) once, in the order of first appearance (the
             * bodies are in span_origins, migration 0027) */
            const char *col = c ? "scope" : "resource";
            snprintf(
                sql, sizeof(sql),
                "SELECT string_agg(x.v::text, ',' ORDER BY x.i) FROM (SELECT q.v, min(q.n) "
                "AS i FROM (SELECT (SELECT o.body FROM span_origins o WHERE o.id = s.%s_id) AS v, "
                "row_number() OVER (ORDER BY s.start_ns, "
                "s.span_id) AS n FROM spans s WHERE s.trace_id = decode('%s', 'hex')) q "
                "GROUP BY q.v) x",
                col, trace);
            CU_ASSERT_EQUAL_FATAL(itest_psql(sql, want, JSON_CAP), 0);
            t = c ? between(r.body, "\"scopes\":[", "],\"truncated\":", &n)
                  : between(r.body, "\"resources\":[", "],\"scopes\":[", &n);
            snprintf(what, sizeof(what), "GET /traces/%s?form=lean: %ss", trace, col);
            CU_ASSERT(t && same_text(what, t, n, want) == 0);
        }
        http_resp_free(&r);
    }
    free(want);
}

/* The items of every page of a paged GET (path ends in a query; the cursor is appended),
 * joined with commas into got (JSON_CAP bytes); items end where end_marker begins. Returns
 * their length. */
static size_t paged_items(const struct ident *as, const char *path, const char *end_marker,
                          char *got)
{
    char cursor[120] = "";
    size_t len = 0;
    for (int page = 0; page < 20; page++) {
        struct http_resp r;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(
            itest_callf(as, "GET", NULL, &r, "%s%s%s", path, cursor[0] ? "&cursor=" : "", cursor),
            200);
        const char *t = between(r.body, "\"items\":[", end_marker, &n);
        CU_ASSERT_FATAL(t != NULL && len + n + 2 < JSON_CAP);
        if (n && len)
            got[len++] = ',';
        memcpy(got + len, t, n);
        len += n;
        snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(r.json, "next_cursor")));
        http_resp_free(&r);
        if (!cursor[0])
            break;
    }
    got[len] = '\0';
    return len;
}

/* The run's spans by GET /runs/{run}/spans, pages of two, in both orders and forms, against
 * the SQL functions of all its spans in that order. */
static void run_spans_are_sql(const char *run)
{
    static const char *const forms[] = {"full", "lean"}, *const orders[] = {"sequence", "start"};
    char *want = malloc(JSON_CAP), *got = malloc(JSON_CAP), sql[512], what[160];
    CU_ASSERT_PTR_NOT_NULL_FATAL(want && got);
    for (int o = 0; o < 2; o++)
        for (int f = 0; f < 2; f++) {
            char path[200];
            snprintf(path, sizeof(path), "/api/v1/runs/%s/spans?order=%s&form=%s&limit=2", run,
                     orders[o], forms[f]);
            size_t len = paged_items(&world.viewer, path,
                                     f ? "],\"resources\":[" : "],\"next_cursor\":", got);
            snprintf(sql, sizeof(sql),
                     "SELECT string_agg(%s(s)::text, ',' ORDER BY %s) FROM spans s WHERE "
                     "s.run_id = '%s'",
                     f ? "span_json_lean" : "span_json",
                     o ? "s.start_ns, s.sequence_id" : "s.sequence_id", run);
            CU_ASSERT_EQUAL_FATAL(itest_psql(sql, want, JSON_CAP), 0);
            CU_ASSERT(want[0] != '\0' && want[0] != '\n');
            snprintf(what, sizeof(what), "GET /runs/%s/spans?order=%s&form=%s", run, orders[o],
                     forms[f]);
            CU_ASSERT(same_text(what, got, len, want) == 0);
        }
    free(want);
    free(got);
}

/* GET /spans?name=… (the search), pages of one, against span_json() of the project's spans
 * of that name in the search's order. */
static void search_is_sql(const char *name)
{
    char *want = malloc(JSON_CAP), *got = malloc(JSON_CAP), sql[512], what[160], path[200];
    CU_ASSERT_PTR_NOT_NULL_FATAL(want && got);
    snprintf(path, sizeof(path), "/api/v1/spans?name=%s&limit=1", name);
    size_t len = paged_items(&world.tread, path, "],\"next_cursor\":", got);
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(span_json(s)::text, ',' ORDER BY s.start_ns DESC, s.trace_id "
             "DESC, s.span_id DESC) FROM spans s WHERE s.project_id = %lld AND s.name = '%s'",
             world.pa.id, name);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, want, JSON_CAP), 0);
    CU_ASSERT(want[0] != '\0' && want[0] != '\n');
    snprintf(what, sizeof(what), "GET /spans?name=%s", name);
    CU_ASSERT(same_text(what, got, len, want) == 0);
    free(want);
    free(got);
}

/* Spans of every shape: every AnyValue kind (the int64 extremes, NaN, infinities, bytes,
 * nested arrays and lists), text with quotes, control bytes and UTF-8, events, links,
 * dropped counts, an error status, roots and children, times with and without
 * microseconds, an end before the start, an end at 2^63 - 1 ns (past 2^53 microseconds,
 * where end_at is rounded as a double in SQL), a linked run with an attempt named, a run
 * without one, and spans of no run with no resource or scope. */
static void test_json_is_sql(void)
{
    char r1[64], r2[64], trace[33], *body = malloc(16384);
    struct itest_run running = {.status = "running"}, queued = {.status = "queued"};
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &running, r1, sizeof(r1)), 201);
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &queued, r2, sizeof(r2)), 201);
    fresh_trace(trace);
    snprintf(
        body, 16384,
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"runwatch.run_id\",\"value\":{\"stringValue\":\"%s\"}},"
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc \\\"one\\\"\"}}],"
        "\"droppedAttributesCount\":1},\"scopeSpans\":[{\"scope\":{\"name\":\"sc\","
        "\"version\":\"1.0\",\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":5}}]},"
        "\"spans\":["
        /* the root: everything */
        "{\"traceId\":\"%s\",\"spanId\":\"4000000000000001\",\"name\":\"r\\u00f4ot \\\"q\\\"\","
        "\"kind\":2,\"traceState\":\"k=v,a=\\\\b\",\"flags\":257,"
        "\"startTimeUnixNano\":\"1767225600123456789\",\"endTimeUnixNano\":"
        "\"1767225601987654321\",\"attributes\":["
        "{\"key\":\"s\",\"value\":{\"stringValue\":\"h\\u00e9llo \\\"q\\\" \\\\ \\n\\t\\u0001/\"}},"
        "{\"key\":\"t\",\"value\":{\"boolValue\":true}},"
        "{\"key\":\"f\",\"value\":{\"boolValue\":false}},"
        "{\"key\":\"imax\",\"value\":{\"intValue\":\"9223372036854775807\"}},"
        "{\"key\":\"imin\",\"value\":{\"intValue\":\"-9223372036854775808\"}},"
        "{\"key\":\"ineg\",\"value\":{\"intValue\":-42}},"
        "{\"key\":\"d\",\"value\":{\"doubleValue\":0.1}},"
        "{\"key\":\"dint\",\"value\":{\"doubleValue\":3}},"
        "{\"key\":\"dexp\",\"value\":{\"doubleValue\":-1.25e-7}},"
        "{\"key\":\"dnan\",\"value\":{\"doubleValue\":\"NaN\"}},"
        "{\"key\":\"dinf\",\"value\":{\"doubleValue\":\"-Infinity\"}},"
        "{\"key\":\"dbig\",\"value\":{\"intValue\":1.5e300}},"
        "{\"key\":\"by\",\"value\":{\"bytesValue\":\"AAH/\"}},"
        "{\"key\":\"empty\",\"value\":{}},"
        "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":1},"
        "{\"stringValue\":\"x\"},{\"arrayValue\":{\"values\":[{\"boolValue\":true}]}}]}}},"
        "{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":"
        "{\"doubleValue\":2.5}},{\"key\":\"b\",\"value\":{\"kvlistValue\":{}}}]}}}],"
        "\"droppedAttributesCount\":3,\"events\":["
        "{\"timeUnixNano\":\"1767225600500000001\",\"name\":\"ev\",\"attributes\":"
        "[{\"key\":\"n\",\"value\":{\"intValue\":\"7\"}}],\"droppedAttributesCount\":1},"
        "{\"timeUnixNano\":\"1767225600600000000\",\"name\":\"\\u00e9v2\"}],"
        "\"droppedEventsCount\":2,\"links\":[{\"traceId\":\"%s\",\"spanId\":\"0000000000000abc\","
        "\"traceState\":\"x=y\",\"flags\":1,\"attributes\":[{\"key\":\"l\",\"value\":"
        "{\"stringValue\":\"link\"}}],\"droppedAttributesCount\":2}],\"droppedLinksCount\":4,"
        "\"status\":{\"code\":2,\"message\":\"bo\\\"om\\n\\u0001\\u00e9\"}},"
        /* a child naming its attempt; times whose microseconds end in zeros */
        "{\"traceId\":\"%s\",\"spanId\":\"4000000000000002\",\"parentSpanId\":"
        "\"4000000000000001\",\"name\":\"a\",\"startTimeUnixNano\":\"1767225600100000000\","
        "\"endTimeUnixNano\":\"1767225600100000999\",\"attributes\":[{\"key\":"
        "\"runwatch.attempt\",\"value\":{\"stringValue\":\"3\"}}],\"status\":{\"code\":1}},"
        /* an end before the start (the epoch, under a microsecond) */
        "{\"traceId\":\"%s\",\"spanId\":\"4000000000000003\",\"parentSpanId\":"
        "\"4000000000000001\",\"name\":\"na\\u00efve \\u2713\",\"kind\":5,"
        "\"startTimeUnixNano\":\"1767225602000000000\",\"endTimeUnixNano\":\"999\"},"
        /* the last nanoseconds there are */
        "{\"traceId\":\"%s\",\"spanId\":\"4000000000000004\",\"parentSpanId\":"
        "\"4000000000000002\",\"name\":\"far\",\"startTimeUnixNano\":\"9223372036854775000\","
        "\"endTimeUnixNano\":\"9223372036854775807\",\"status\":{\"code\":2}}]}]},"
        /* no resource, no scope: a span of no run and one naming the queued run */
        "{\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"%s\",\"spanId\":\"4000000000000005\",\"parentSpanId\":"
        "\"4000000000000009\",\"name\":\"orphan\",\"startTimeUnixNano\":\"1\","
        "\"endTimeUnixNano\":\"1999\"},"
        "{\"traceId\":\"%s\",\"spanId\":\"4000000000000006\",\"name\":\"q\","
        "\"startTimeUnixNano\":\"1767225600000001000\",\"endTimeUnixNano\":"
        "\"1767225600000002000\",\"attributes\":[{\"key\":\"runwatch.run_id\",\"value\":"
        "{\"stringValue\":\"%s\"}}]}]}]}]}",
        r1, trace, trace, trace, trace, trace, trace, trace, r2);
    char auth[300];
    struct http_resp r;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", world.twrite.secret);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    CU_ASSERT_EQUAL_FATAL(http_do("POST", "/v1/traces", body, strlen(body), h, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    if (r.status != 200)
        fprintf(stderr, "\n  POST /v1/traces: %ld %.300s", r.status, S(r.body));
    http_resp_free(&r);
    free(body);

    trace_is_sql(trace);
    run_spans_are_sql(r1);
    run_spans_are_sql(r2);
    static const char *const names[] = {"far", "orphan", "a", "q"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        search_is_sql(names[i]);
}

int suite_traces_register(void)
{
    CU_pSuite s = CU_add_suite("traces", traces_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "traces newest first with their aggregates, pages, filters, access",
                     test_list) ||
        !CU_add_test(s, "bad parameters are 400s naming the field", test_bad_params) ||
        !CU_add_test(s, "a trace and a run's spans in the lean form: the same spans", test_lean) ||
        !CU_add_test(s,
                     "the span JSON made in C (trace, run pages, search) is span_json()'s and "
                     "span_json_lean()'s",
                     test_json_is_sql))
        return -1;
    return 0;
}
