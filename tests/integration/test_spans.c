/* Traces (api/spans.c): OTLP/HTTP JSON ingest through nginx (POST /v1/traces and
 * /api/v1/otlp/v1/traces) and the read API. Every attribute type and the span's parts
 * come back exactly as sent; a malformed or hostile request is a 4xx with the
 * google.rpc.Status body and stores nothing, not even the valid spans beside the bad one;
 * a run id of another project never links, and another project's token reads nothing of
 * A's; a span sent twice is stored once; linked batches publish run.spans. Each test
 * works with trace ids of its own. The same holds in protobuf and gzipped (test_encodings):
 * a protobuf request is answered in protobuf, a failure as google.rpc.Status. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "")

static struct itest_world world;

static int spans_init(void)
{
    return itest_world_init(&world, "spans") ? 1 : 0;
}

/* A trace id of 32 hex digits no other test uses. */
static const char *fresh_trace(char out[33])
{
    static unsigned n;
    snprintf(out, 33, "%016llx%08x%08x", (unsigned long long)time(NULL) * 1000003ULL,
             (unsigned)getpid(), ++n);
    return out;
}

/* POST body to path as token who with the given Content-Type (NULL: application/json)
 * and more headers (one line or NULL). */
static long otlp_post(const struct ident *who, const char *path, const char *ctype,
                      const char *more, const char *body, size_t len, struct http_resp *r)
{
    char auth[300], ct[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", who->secret);
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
    const char *h[] = {auth, ct, more, NULL};
    if (http_do("POST", path, body, len, h, r) != 0)
        return -1;
    return r->status;
}

static long otlp(const struct ident *who, const char *body, struct http_resp *r)
{
    long st = otlp_post(who, "/v1/traces", NULL, NULL, body, strlen(body), r);
    if (st != 200)
        fprintf(stderr, "\n  POST /v1/traces: %ld %.300s", st, S(r->body));
    return st;
}

/* The trace as who reads it (GET /api/v1/traces/{id}); the status. */
static long get_trace(const struct ident *who, const char *trace, struct http_resp *r)
{
    return itest_callf(who, "GET", NULL, r, "/api/v1/traces/%s", trace);
}

/* The number of spans of trace in any project, from the database. */
static long stored(const char *trace)
{
    char sql[200], out[32] = "";
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM spans WHERE trace_id = decode('%s', 'hex')",
             trace);
    if (itest_psql(sql, out, sizeof(out)) != 0)
        return -1;
    return strtol(out, NULL, 10);
}

/* One span's JSON (OTLP) with the given trace, span id, parent ("" none) and extra
 * members (a leading comma, or ""). */
static const char *span_json(char *buf, size_t cap, const char *trace, const char *span,
                             const char *parent, const char *extra)
{
    snprintf(buf, cap,
             "{\"traceId\":\"%s\",\"spanId\":\"%s\"%s%s%s,\"name\":\"op\","
             "\"startTimeUnixNano\":\"1767225600123456789\","
             "\"endTimeUnixNano\":\"1767225601987654321\"%s}",
             trace, span, parent[0] ? ",\"parentSpanId\":\"" : "", parent, parent[0] ? "\"" : "",
             extra);
    return buf;
}

/* An ExportTraceServiceRequest of the spans (JSON text of a list, without brackets) under
 * one resource with the given attributes (JSON text of a list, without brackets). */
static const char *request_json(char *buf, size_t cap, const char *res_attrs, const char *spans)
{
    snprintf(buf, cap,
             "{\"resourceSpans\":[{\"resource\":{\"attributes\":[%s]},\"scopeSpans\":[{"
             "\"scope\":{\"name\":\"itest\",\"version\":\"1.2\"},\"spans\":[%s]}]}]}",
             res_attrs, spans);
    return buf;
}

/* The span of the answer to GET /traces with the id span, or NULL. */
static json_object *find_span(json_object *trace, const char *span)
{
    json_object *spans = itest_jget(trace, "spans");
    for (size_t i = 0; spans && i < json_object_array_length(spans); i++) {
        json_object *s = json_object_array_get_idx(spans, i);
        if (itest_streq(itest_jstr(s, "span_id"), span))
            return s;
    }
    return NULL;
}

/* ---- round trip ---- */

static void test_round_trip(void)
{
    char trace[33], link_trace[33], s1[4096], s2[512], mid[4700], body[5200];
    struct http_resp r;
    fresh_trace(trace);
    fresh_trace(link_trace);
    /* Upper-case hex (the OTLP example's), every AnyValue kind, ints as strings and as
     * numbers at the int64 extremes, an unknown member at each level. */
    span_json(
        s1, sizeof(s1), trace, "EEE19B7EC3C1B174", "",
        ",\"kind\":2,\"traceState\":\"k=v\",\"flags\":257,\"futureField\":{\"x\":1},"
        "\"attributes\":["
        "{\"key\":\"s\",\"value\":{\"stringValue\":\"h\\u00e9llo \\\"q\\\" \\\\ \\n\"}},"
        "{\"key\":\"t\",\"value\":{\"boolValue\":true}},"
        "{\"key\":\"f\",\"value\":{\"boolValue\":false}},"
        "{\"key\":\"imax\",\"value\":{\"intValue\":\"9223372036854775807\"}},"
        "{\"key\":\"imin\",\"value\":{\"intValue\":\"-9223372036854775808\"}},"
        "{\"key\":\"inum\",\"value\":{\"intValue\":9223372036854775807}},"
        "{\"key\":\"ineg\",\"value\":{\"intValue\":-42}},"
        "{\"key\":\"d\",\"value\":{\"doubleValue\":0.1}},"
        "{\"key\":\"dint\",\"value\":{\"doubleValue\":3}},"
        "{\"key\":\"dnan\",\"value\":{\"doubleValue\":\"NaN\"}},"
        "{\"key\":\"dinf\",\"value\":{\"doubleValue\":\"-Infinity\"}},"
        "{\"key\":\"dbig\",\"value\":{\"intValue\":1.5e300}},"
        "{\"key\":\"by\",\"value\":{\"bytesValue\":\"AAH/\"}},"
        /* A null kind is absent and an unknown member ignored, beside the one value. */
        "{\"key\":\"nk\",\"value\":{\"stringValue\":null,\"futureKind\":1,"
        "\"boolValue\":false}},"
        "{\"key\":\"empty\",\"value\":{}},"
        "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":1},"
        "{\"stringValue\":\"x\"},{\"arrayValue\":{\"values\":[{\"boolValue\":true}]}}]}}},"
        "{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":"
        "{\"doubleValue\":2.5}},{\"key\":\"b\",\"value\":{\"kvlistValue\":{}}}]}}}],"
        "\"droppedAttributesCount\":3,"
        "\"events\":[{\"timeUnixNano\":\"1767225600500000001\",\"name\":\"ev\",\"attributes\":"
        "[{\"key\":\"n\",\"value\":{\"intValue\":\"7\"}}],\"droppedAttributesCount\":1}],"
        "\"droppedEventsCount\":2,\"droppedLinksCount\":4,"
        "\"status\":{\"code\":2,\"message\":\"boom\"}");
    size_t n = strlen(s1);
    snprintf(s1 + n - 1, sizeof(s1) - n + 1,
             ",\"links\":[{\"traceId\":\"%s\",\"spanId\":\"0000000000000abc\",\"traceState\":"
             "\"x=y\",\"flags\":1,\"attributes\":[{\"key\":\"l\",\"value\":{\"stringValue\":"
             "\"link\"}}]}]}",
             link_trace);
    span_json(s2, sizeof(s2), trace, "eee19b7ec3c1b175", "eee19b7ec3c1b174", "");
    snprintf(mid, sizeof(mid), "%s,%s", s1, s2);
    request_json(body, sizeof(body),
                 "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}}", mid);

    CU_ASSERT_EQUAL(otlp(&world.twrite, body, &r), 200);
    char ct[128];
    CU_ASSERT_PTR_NOT_NULL(
        strstr(S(http_header(&r, "Content-Type", ct, sizeof(ct))), "application/json"));
    CU_ASSERT_PTR_NOT_NULL(itest_jget(r.json, "partialSuccess"));
    CU_ASSERT_PTR_NULL(itest_jget(r.json, "partialSuccess.rejectedSpans"));
    http_resp_free(&r);

    CU_ASSERT_EQUAL_FATAL(get_trace(&world.tread, trace, &r), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "spans"), 2);
    json_object *a = find_span(r.json, "eee19b7ec3c1b174"),
                *b = find_span(r.json, "eee19b7ec3c1b175");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* ids lower-cased; a root has no parent; the child names it */
    CU_ASSERT(itest_jnull(a, "parent_span_id"));
    CU_ASSERT(itest_streq(itest_jstr(b, "parent_span_id"), "eee19b7ec3c1b174"));
    CU_ASSERT(itest_streq(itest_jstr(a, "trace_id"), trace));
    /* nanoseconds exactly */
    CU_ASSERT(itest_streq(itest_jstr(a, "start_time_unix_nano"), "1767225600123456789"));
    CU_ASSERT(itest_streq(itest_jstr(a, "end_time_unix_nano"), "1767225601987654321"));
    CU_ASSERT_EQUAL(itest_jint(a, "duration_ns"), 1864197532LL);
    CU_ASSERT_EQUAL(itest_jint(a, "kind"), 2);
    CU_ASSERT_EQUAL(itest_jint(a, "flags"), 257);
    CU_ASSERT(itest_streq(itest_jstr(a, "trace_state"), "k=v"));
    CU_ASSERT_EQUAL(itest_jint(a, "status.code"), 2);
    CU_ASSERT(itest_streq(itest_jstr(a, "status.message"), "boom"));
    CU_ASSERT_EQUAL(itest_jint(a, "dropped_attributes_count"), 3);
    CU_ASSERT_EQUAL(itest_jint(a, "dropped_events_count"), 2);
    CU_ASSERT_EQUAL(itest_jint(a, "dropped_links_count"), 4);
    /* every value with its type */
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.s.stringValue"), "h\xc3\xa9llo \"q\" \\ \n"));
    CU_ASSERT(json_object_get_boolean(itest_jget(a, "attributes.t.boolValue")) == 1);
    json_object *f = NULL;
    CU_ASSERT(itest_jfind(a, "attributes.f.boolValue", &f) &&
              json_object_is_type(f, json_type_boolean) && !json_object_get_boolean(f));
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.imax.intValue"), "9223372036854775807"));
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.imin.intValue"), "-9223372036854775808"));
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.inum.intValue"), "9223372036854775807"));
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.ineg.intValue"), "-42"));
    CU_ASSERT(itest_jnum(a, "attributes.d.doubleValue") == 0.1);
    CU_ASSERT(itest_jnum(a, "attributes.dint.doubleValue") == 3.0);
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.dnan.doubleValue"), "NaN"));
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.dinf.doubleValue"), "-Infinity"));
    /* an integral number past int64 (the JS SDK's intValue of 1.5e300) stays the double */
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.dbig.doubleValue"), "1.5e+300"));
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.by.bytesValue"), "AAH/"));
    json_object *nk = itest_jget(a, "attributes.nk");
    CU_ASSERT(nk && json_object_object_length(nk) == 1 &&
              json_object_is_type(itest_jget(nk, "boolValue"), json_type_boolean) &&
              !json_object_get_boolean(itest_jget(nk, "boolValue")));
    json_object *empty = itest_jget(a, "attributes.empty");
    CU_ASSERT(json_object_is_type(empty, json_type_object) &&
              json_object_object_length(empty) == 0);
    CU_ASSERT_EQUAL(itest_jlen(a, "attributes.arr.arrayValue.values"), 3);
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.arr.arrayValue.values.0.intValue"), "1"));
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.arr.arrayValue.values.1.stringValue"), "x"));
    CU_ASSERT(json_object_get_boolean(
        itest_jget(a, "attributes.arr.arrayValue.values.2.arrayValue.values.0.boolValue")));
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.kv.kvlistValue.values.0.key"), "a"));
    CU_ASSERT(itest_jnum(a, "attributes.kv.kvlistValue.values.0.value.doubleValue") == 2.5);
    CU_ASSERT(itest_streq(itest_jstr(a, "attributes.kv.kvlistValue.values.1.key"), "b"));
    CU_ASSERT_EQUAL(itest_jlen(a, "attributes.kv.kvlistValue.values.1.value.kvlistValue.values"),
                    0);
    /* events and links */
    CU_ASSERT(itest_streq(itest_jstr(a, "events.0.time_unix_nano"), "1767225600500000001"));
    CU_ASSERT(itest_streq(itest_jstr(a, "events.0.name"), "ev"));
    CU_ASSERT(itest_streq(itest_jstr(a, "events.0.attributes.n.intValue"), "7"));
    CU_ASSERT_EQUAL(itest_jint(a, "events.0.dropped_attributes_count"), 1);
    CU_ASSERT(itest_streq(itest_jstr(a, "links.0.trace_id"), link_trace));
    CU_ASSERT(itest_streq(itest_jstr(a, "links.0.span_id"), "0000000000000abc"));
    CU_ASSERT(itest_streq(itest_jstr(a, "links.0.trace_state"), "x=y"));
    CU_ASSERT_EQUAL(itest_jint(a, "links.0.flags"), 1);
    CU_ASSERT(itest_streq(itest_jstr(a, "links.0.attributes.l.stringValue"), "link"));
    /* the resource and the scope */
    /* (a dotted key: looked up by hand, not by path) */
    CU_ASSERT(itest_streq(
        itest_jstr(json_object_object_get(itest_jget(a, "resource.attributes"), "service.name"),
                   "stringValue"),
        "svc"));
    CU_ASSERT(itest_streq(itest_jstr(a, "scope.name"), "itest"));
    CU_ASSERT(itest_streq(itest_jstr(a, "scope.version"), "1.2"));
    /* unlinked */
    CU_ASSERT(itest_jnull(a, "run_id"));
    CU_ASSERT(itest_jnull(a, "sequence_id"));
    http_resp_free(&r);
}

/* ---- malformed and hostile ---- */

struct bad_case {
    const char *what;
    const char *body; /* {t}: the trace id (a valid span with it comes first) */
    long status;
    const char *field; /* when set, the message names it first ("field: why") */
};

static void test_malformed(void)
{
    /* Each case holds a valid span of the test's trace before the bad part: a 4xx must
     * store nothing of it. */
#define OK_SPAN                                                                                    \
    "{\"traceId\":\"{t}\",\"spanId\":\"0102030405060708\",\"name\":\"ok\","                        \
    "\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}"
#define WRAP(x) "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" OK_SPAN "," x "]}]}]}"
    static const struct bad_case cases[] = {
        {"not JSON", "{\"resourceSpans\":[{t}", 400, NULL},
        {"trailing garbage", WRAP("{}") "x", 400, NULL},
        {"top level an array", "[\"{t}\"]", 400, NULL},
        {"resourceSpans an object", "{\"resourceSpans\":{\"x\":\"{t}\"}}", 400, NULL},
        {"span a string", WRAP("\"span\""), 400, NULL},
        {"short trace id", WRAP("{\"traceId\":\"abc\",\"spanId\":\"0102030405060708\"}"), 400,
         NULL},
        {"non-hex trace id",
         WRAP("{\"traceId\":\"zz8efff798038103d269b633813fc60c\",\"spanId\":\"0102030405060708\"}"),
         400, NULL},
        {"base64 span id (proto3 JSON, not OTLP)",
         WRAP("{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"AQIDBAUGBwg=\"}"),
         400, NULL},
        {"kind by name", WRAP("{\"kind\":\"SPAN_KIND_SERVER\"}"), 400, NULL},
        {"kind out of range", WRAP("{\"kind\":9}"), 400, NULL},
        {"status code by name", WRAP("{\"status\":{\"code\":\"STATUS_CODE_ERROR\"}}"), 400, NULL},
        {"negative time", WRAP("{\"startTimeUnixNano\":-1}"), 400, NULL},
        {"time with a fraction", WRAP("{\"startTimeUnixNano\":\"1.5\"}"), 400, NULL},
        {"time past uint64", WRAP("{\"startTimeUnixNano\":\"18446744073709551616\"}"), 400, NULL},
        {"intValue past int64",
         WRAP(
             "{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"9223372036854775808\"}}]}"),
         400, NULL},
        {"intValue below int64",
         WRAP("{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"-9223372036854775809\"}}]"
              "}"),
         400, NULL},
        {"intValue a word",
         WRAP("{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"ten\"}}]}"), 400,
         "resourceSpans[0].scopeSpans[0].spans[1].attributes[0].value.intValue"},
        {"intValue with a fraction",
         WRAP("{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":1.5}}]}"), 400, NULL},
        {"two values in one AnyValue",
         WRAP(
             "{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":1,\"stringValue\":\"a\"}}]}"),
         400, NULL},
        {"boolValue a string",
         WRAP("{\"attributes\":[{\"key\":\"k\",\"value\":{\"boolValue\":\"true\"}}]}"), 400, NULL},
        {"doubleValue a word",
         WRAP("{\"attributes\":[{\"key\":\"k\",\"value\":{\"doubleValue\":\"fast\"}}]}"), 400,
         NULL},
        {"bytesValue not base64",
         WRAP("{\"attributes\":[{\"key\":\"k\",\"value\":{\"bytesValue\":\"!!!\"}}]}"), 400, NULL},
        {"NUL in a string",
         WRAP("{\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"a\\u0000b\"}}]}"), 400,
         NULL},
        {"NUL in a name", WRAP("{\"name\":\"a\\u0000\"}"), 400, NULL},
        {"attributes an object", WRAP("{\"attributes\":{\"k\":\"v\"}}"), 400, NULL},
        {"attribute not a KeyValue", WRAP("{\"attributes\":[5]}"), 400, NULL},
        {"events an object", WRAP("{\"events\":{}}"), 400, NULL},
        {"link with a short span id",
         WRAP("{\"links\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"01\"}]}"),
         400, NULL},
        {"dropped count past uint32", WRAP("{\"droppedAttributesCount\":4294967296}"), 400,
         "resourceSpans[0].scopeSpans[0].spans[1].droppedAttributesCount"},
        {"invalid UTF-8", WRAP("{\"name\":\"\xff\xfe\"}"), 400, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char trace[33], body[2048];
        struct http_resp r;
        fresh_trace(trace);
        const struct itest_subst subs[] = {{"{t}", trace}, {NULL, NULL}};
        itest_expand(cases[i].body, subs, body, sizeof(body));
        long st = otlp(&world.twrite, body, &r);
        const char *msg = r.json ? itest_jstr(r.json, "message") : NULL;
        int ok = st == cases[i].status && r.json && itest_jint(r.json, "code") == 3 && msg &&
                 !itest_jget(r.json, "error");
        if (ok && cases[i].field) {
            size_t n = strlen(cases[i].field);
            ok = strncmp(msg, cases[i].field, n) == 0 && strncmp(msg + n, ": ", 2) == 0;
        }
        if (!ok)
            fprintf(stderr, "\n  %s: %ld %.300s", cases[i].what, st, r.body ? r.body : "");
        CU_ASSERT(ok);
        http_resp_free(&r);
        long n = stored(trace);
        if (n != 0)
            fprintf(stderr, "\n  %s: %ld spans stored", cases[i].what, n);
        CU_ASSERT_EQUAL(n, 0);
    }

    /* Values nested past the JSON layer's depth (JSONX_MAX_DEPTH): 400, nothing stored. */
    {
        char deep_trace[33], deep[4096], *o = deep;
        size_t cap = sizeof(deep);
        int k = snprintf(o, cap,
                         "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"%s\","
                         "\"spanId\":\"0102030405060708\",\"attributes\":[{\"key\":\"k\","
                         "\"value\":",
                         fresh_trace(deep_trace));
        o += k;
        cap -= (size_t)k;
        for (int d = 0; d < 40; d++, o += 25, cap -= 25)
            memcpy(o, "{\"arrayValue\":{\"values\":[", 25);
        for (int d = 0; d < 40; d++, o += 3, cap -= 3)
            memcpy(o, "]}}", 3);
        snprintf(o, cap, "}]}]}]}]}");
        struct http_resp dr;
        CU_ASSERT_EQUAL(otlp(&world.twrite, deep, &dr), 400);
        CU_ASSERT_EQUAL(itest_jint(dr.json, "code"), 3);
        http_resp_free(&dr);
        CU_ASSERT_EQUAL(stored(deep_trace), 0);
    }

    /* Other content types and encodings: 415 with the same body, nothing stored. */
    char trace[33], body[512], one[300];
    struct http_resp r;
    fresh_trace(trace);
    request_json(body, sizeof(body), "",
                 span_json(one, sizeof(one), trace, "0102030405060708", "", ""));
    CU_ASSERT_EQUAL(
        otlp_post(&world.twrite, "/v1/traces", "text/plain", NULL, body, strlen(body), &r), 415);
    CU_ASSERT_EQUAL(itest_jint(r.json, "code"), 3);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", NULL, "Content-Encoding: br", body,
                              strlen(body), &r),
                    415);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 0);
    /* Sessions and read tokens may not ingest; no identity is a 401, in OTLP's shape too. */
    CU_ASSERT_EQUAL(otlp(&world.tread, body, &r), 403);
    CU_ASSERT_EQUAL(itest_jint(r.json, "code"), 7);
    http_resp_free(&r);
    const char *noauth[] = {"Content-Type: application/json", "X-Runwatch-CSRF: 1", NULL};
    CU_ASSERT_EQUAL_FATAL(http_do("POST", "/v1/traces", body, strlen(body), noauth, &r), 0);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT_EQUAL(itest_jint(r.json, "code"), 16);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 0);

    /* Above RUNWATCH_OTLP_MAX_BYTES (8 MiB by default): 413, nothing read. */
    size_t big = 9u * 1024 * 1024;
    char *huge = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    memset(huge, ' ', big);
    memcpy(huge, body, strlen(body));
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", NULL, NULL, huge, big, &r), 413);
    CU_ASSERT_EQUAL(itest_jint(r.json, "code"), 3);
    http_resp_free(&r);
    free(huge);
    CU_ASSERT_EQUAL(stored(trace), 0);

    /* An empty body and an empty request are successes that store nothing. */
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", NULL, NULL, "", 0, &r), 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(otlp(&world.twrite, "{}", &r), 200);
    http_resp_free(&r);
}

/* ---- protobuf and gzip ---- */

/* A tag and a length of at most 127 (the small messages here). */
static unsigned char *pb_len(unsigned char *o, unsigned num, size_t len)
{
    *o++ = (unsigned char)(num << 3 | 2);
    *o++ = (unsigned char)len;
    return o;
}

/* An ExportTraceServiceRequest in protobuf with one span (trace in hex, the span id's
 * last byte sid; name "op", the times of span_json), written by hand from the field
 * numbers of trace.proto: request { resource_spans (1) { scope_spans (2) { spans (2) }}}.
 * Returns its length. */
static size_t request_pb(unsigned char *buf, const char *trace, unsigned char sid)
{
    unsigned char span[64], *o = span;
    o = pb_len(o, 1, 16); /* trace_id */
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        sscanf(trace + 2 * i, "%2x", &v);
        *o++ = (unsigned char)v;
    }
    o = pb_len(o, 2, 8); /* span_id */
    memcpy(o, "\x01\x02\x03\x04\x05\x06\x07", 7);
    o[7] = sid;
    o += 8;
    o = pb_len(o, 5, 2); /* name */
    memcpy(o, "op", 2);
    o += 2;
    const unsigned long long t[2] = {1767225600123456789ULL, 1767225601987654321ULL};
    for (int k = 0; k < 2; k++) { /* start_time_unix_nano (7), end (8): fixed64 */
        *o++ = (unsigned char)((7 + k) << 3 | 1);
        for (int i = 0; i < 8; i++)
            *o++ = (unsigned char)(t[k] >> (8 * i));
    }
    size_t n = (size_t)(o - span);
    unsigned char *w = pb_len(buf, 1, n + 4); /* resource_spans */
    w = pb_len(w, 2, n + 2);                  /* scope_spans */
    w = pb_len(w, 2, n);                      /* spans */
    memcpy(w, span, n);
    return n + 6;
}

/* in[0..len) gzipped (zlib, windowBits 31) into a malloc'd buffer; its length. */
static unsigned char *gzip_of(const void *in, size_t len, size_t *outlen)
{
    z_stream z = {0};
    uLong cap = compressBound((uLong)len) + 64;
    unsigned char *out = malloc(cap);
    if (!out || deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *outlen = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* A google.rpc.Status in protobuf with this code and a message: the bytes
 * 08 <code> 12 <len> <message>, the message's length at most 127. */
static int is_pb_status(const struct http_resp *r, int code)
{
    char ct[128];
    const unsigned char *b = (const unsigned char *)r->body;
    int ok = http_header(r, "Content-Type", ct, sizeof(ct)) &&
             strcmp(ct, "application/x-protobuf") == 0 && r->len >= 4 && b[0] == 0x08 &&
             b[1] == code && b[2] == 0x12 && b[3] > 0 && b[3] < 128 && r->len == 4u + b[3];
    if (!ok)
        fprintf(stderr, "\n  not a protobuf Status %d: %ld %s %zu bytes", code, r->status, ct,
                r->len);
    return ok;
}

static void test_encodings(void)
{
    const char *pb = "application/x-protobuf", *gz = "Content-Encoding: gzip";
    char trace[33], ct[128], body[512], one[300];
    unsigned char req[128];
    struct http_resp r;
    size_t n, zn;
    unsigned char *z;

    /* Protobuf: stored, answered with the empty ExportTraceServiceResponse. */
    fresh_trace(trace);
    n = request_pb(req, trace, 0x08);
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", pb, NULL, (char *)req, n, &r), 200);
    CU_ASSERT(itest_streq(http_header(&r, "Content-Type", ct, sizeof(ct)), pb));
    CU_ASSERT_EQUAL(r.len, 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 1);
    CU_ASSERT_EQUAL(get_trace(&world.tread, trace, &r), 200);
    json_object *s = find_span(r.json, "0102030405060708");
    CU_ASSERT(s && itest_streq(itest_jstr(s, "name"), "op") &&
              itest_streq(itest_jstr(s, "start_time_unix_nano"), "1767225600123456789"));
    http_resp_free(&r);

    /* A span that cannot be kept (all-zero trace id): partial_success in protobuf,
     * 0a <len> 08 01 12 <len> <message>. */
    {
        unsigned char bad[128];
        size_t bn = request_pb(bad, "00000000000000000000000000000000", 0x08);
        CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", pb, NULL, (char *)bad, bn, &r), 200);
        const unsigned char *b = (const unsigned char *)r.body;
        CU_ASSERT(r.len > 6 && b[0] == 0x0a && b[1] == r.len - 2 && b[2] == 0x08 && b[3] == 1 &&
                  b[4] == 0x12 && b[5] == r.len - 6);
        http_resp_free(&r);
    }

    /* Malformed protobuf (a length past the end): 400, a protobuf Status, nothing stored;
     * an unknown encoding of a protobuf body: 415 in protobuf too. */
    fresh_trace(trace);
    n = request_pb(req, trace, 0x08);
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", pb, NULL, (char *)req, n - 1, &r), 400);
    CU_ASSERT(is_pb_status(&r, 3));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        otlp_post(&world.twrite, "/v1/traces", pb, "Content-Encoding: br", (char *)req, n, &r),
        415);
    CU_ASSERT(is_pb_status(&r, 3));
    http_resp_free(&r);
    /* A protobuf token error (a read token) is a protobuf Status too. */
    CU_ASSERT_EQUAL(otlp_post(&world.tread, "/v1/traces", pb, NULL, (char *)req, n, &r), 403);
    CU_ASSERT(is_pb_status(&r, 7));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 0);

    /* gzip, protobuf and JSON: stored. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(z = gzip_of(req, n, &zn));
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", pb, gz, (char *)z, zn, &r), 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 1);
    /* Truncated gzip: 400 naming Content-Encoding, nothing stored. */
    fresh_trace(trace);
    n = request_pb(req, trace, 0x08);
    free(z);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z = gzip_of(req, n, &zn));
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", pb, gz, (char *)z, zn - 4, &r), 400);
    CU_ASSERT(is_pb_status(&r, 3));
    http_resp_free(&r);
    free(z);
    CU_ASSERT_EQUAL(stored(trace), 0);

    request_json(body, sizeof(body), "",
                 span_json(one, sizeof(one), trace, "0102030405060708", "", ""));
    CU_ASSERT_PTR_NOT_NULL_FATAL(z = gzip_of(body, strlen(body) - 1, &zn));
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", NULL, gz, (char *)z, zn, &r), 400);
    CU_ASSERT(r.json && itest_jint(r.json, "code") == 3); /* the JSON's, not the gzip's */
    http_resp_free(&r);
    free(z);
    CU_ASSERT_EQUAL(stored(trace), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z = gzip_of(body, strlen(body), &zn));
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", NULL, gz, (char *)z, zn - 1, &r), 400);
    CU_ASSERT(r.json && itest_jint(r.json, "code") == 3 && itest_jstr(r.json, "message") &&
              strncmp(itest_jstr(r.json, "message"), "Content-Encoding: ", 18) == 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", NULL, gz, (char *)z, zn, &r), 200);
    CU_ASSERT(itest_jget(r.json, "partialSuccess") != NULL);
    http_resp_free(&r);
    free(z);
    CU_ASSERT_EQUAL(stored(trace), 1);

    /* A small gzip body that inflates past RUNWATCH_OTLP_MAX_BYTES (8 MiB by default):
     * 413 in both encodings, nothing stored. */
    fresh_trace(trace);
    size_t big = 9u * 1024 * 1024;
    char *huge = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    memset(huge, ' ', big);
    request_json(body, sizeof(body), "",
                 span_json(one, sizeof(one), trace, "0102030405060708", "", ""));
    memcpy(huge, body, strlen(body));
    CU_ASSERT_PTR_NOT_NULL_FATAL(z = gzip_of(huge, big, &zn));
    CU_ASSERT(zn < 64 * 1024);
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", NULL, gz, (char *)z, zn, &r), 413);
    CU_ASSERT(r.json && itest_jint(r.json, "code") == 3);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(otlp_post(&world.twrite, "/v1/traces", pb, gz, (char *)z, zn, &r), 413);
    CU_ASSERT(is_pb_status(&r, 3));
    http_resp_free(&r);
    free(z);
    free(huge);
    CU_ASSERT_EQUAL(stored(trace), 0);

    /* Another content type: 415 with the JSON Status, whatever the encoding. */
    CU_ASSERT_EQUAL(
        otlp_post(&world.twrite, "/v1/traces", "application/grpc", gz, body, strlen(body), &r),
        415);
    CU_ASSERT(r.json && itest_jint(r.json, "code") == 3);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 0);
}

/* Spans that cannot be kept are counted, the others stored. */
static void test_partial(void)
{
    char trace[33], a[300], b[300], c[300], all[1000], body[1400];
    struct http_resp r;
    fresh_trace(trace);
    span_json(a, sizeof(a), trace, "0102030405060708", "", "");
    span_json(b, sizeof(b), "00000000000000000000000000000000", "0102030405060709", "", "");
    span_json(c, sizeof(c), trace, "0000000000000000", "", "");
    snprintf(all, sizeof(all), "%s,%s,%s", a, b, c);
    CU_ASSERT_EQUAL(otlp(&world.twrite, request_json(body, sizeof(body), "", all), &r), 200);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "partialSuccess.rejectedSpans"), "2"));
    CU_ASSERT_PTR_NOT_NULL(itest_jstr(r.json, "partialSuccess.errorMessage"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 1);
}

/* A resource and scope sent again are stored once (span_origins, migration 0027): two
 * requests under the same resource (named after a fresh trace, so no other test sent it)
 * refer to one row, a third under another resource to a second; each span still answers
 * with its own resource. */
static void test_origins_once(void)
{
    char trace[33], other[33], res[2][200], sp[300], body[900], sql[400], out[64] = "";
    struct http_resp r;
    fresh_trace(trace);
    fresh_trace(other);
    for (int i = 0; i < 2; i++)
        snprintf(res[i], sizeof(res[i]),
                 "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc-%s\"}}",
                 i ? other : trace);
    static const char *const ids[] = {"0a0a0a0a0a0a0a01", "0a0a0a0a0a0a0a02", "0a0a0a0a0a0a0a03"};
    for (int i = 0; i < 3; i++) {
        span_json(sp, sizeof(sp), trace, ids[i], "", "");
        CU_ASSERT_EQUAL(otlp(&world.twrite, request_json(body, sizeof(body), res[i == 2], sp), &r),
                        200);
        http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(stored(trace), 3);
    snprintf(sql, sizeof(sql),
             "SELECT count(DISTINCT s.resource_id) || ':' || count(DISTINCT s.scope_id) || ':' "
             "|| (SELECT count(*) FROM span_origins o WHERE o.body @> '{\"attributes\":"
             "{\"service.name\":{\"stringValue\":\"svc-%s\"}}}') FROM spans s WHERE "
             "s.trace_id = decode('%s', 'hex')",
             trace, trace);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "2:1:1");
    CU_ASSERT_EQUAL_FATAL(get_trace(&world.tread, trace, &r), 200);
    for (int i = 0; i < 3; i++) {
        char want[80];
        snprintf(want, sizeof(want), "svc-%s", i == 2 ? other : trace);
        json_object *v = NULL; /* the key has a dot: not an itest_jget path */
        json_object_object_get_ex(itest_jget(find_span(r.json, ids[i]), "resource.attributes"),
                                  "service.name", &v);
        CU_ASSERT(itest_streq(itest_jstr(v, "stringValue"), want));
    }
    http_resp_free(&r);
}

/* ---- runs: linking, sequence ids, the live message, isolation ---- */

static void test_run_link(void)
{
    char run[64], trace[33], attrs[300], spans[1200], body[2000], x[300], y[300], z[300];
    struct http_resp r;
    struct itest_run rr = {.status = "running"};
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &rr, run, sizeof(run)), 201);
    struct itest_sub sub;
    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);

    /* The run named by the resource, and once by a span itself with an attempt. */
    fresh_trace(trace);
    snprintf(attrs, sizeof(attrs),
             "{\"key\":\"runwatch.run_id\",\"value\":{\"stringValue\":\"%s\"}}", run);
    span_json(x, sizeof(x), trace, "1000000000000001", "", "");
    span_json(y, sizeof(y), trace, "1000000000000002", "1000000000000001", "");
    span_json(z, sizeof(z), trace, "1000000000000003", "1000000000000001",
              ",\"attributes\":[{\"key\":\"runwatch.attempt\",\"value\":{\"intValue\":7}}]");
    snprintf(spans, sizeof(spans), "%s,%s,%s", x, y, z);
    request_json(body, sizeof(body), attrs, spans);
    CU_ASSERT_EQUAL(
        otlp_post(&world.twrite, "/api/v1/otlp/v1/traces", NULL, NULL, body, strlen(body), &r),
        200);
    http_resp_free(&r);

    /* The live message: count and the sequence range. */
    json_object *m = itest_sub_find(&sub, run, "run.spans");
    itest_sub_close(&sub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(itest_jint(m, "project"), world.pa.id);
    CU_ASSERT_EQUAL(itest_jint(m, "data.count"), 3);
    CU_ASSERT(itest_streq(itest_jstr(m, "data.first_sequence_id"), "1"));
    CU_ASSERT(itest_streq(itest_jstr(m, "data.last_sequence_id"), "3"));
    json_object_put(m);

    /* The run's spans in sequence order, in pages; the attempt filter. */
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/spans?limit=2", run), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.sequence_id"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.span_id"), "1000000000000001"));
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.run_id"), run));
    char cursor[64];
    snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(r.json, "next_cursor")));
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                      "/api/v1/runs/%s/spans?limit=2&cursor=%s", run, cursor),
                          200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.sequence_id"), 3);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.0.attempt"), 7);
    CU_ASSERT(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);
    /* by start time, in pages: the start cursor carries 19-digit nanoseconds */
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                      "/api/v1/runs/%s/spans?order=start&limit=2", run),
                          200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(r.json, "next_cursor")));
    http_resp_free(&r);
    itest_callf(&world.viewer, "GET", NULL, &r,
                "/api/v1/runs/%s/spans?order=start&limit=2&cursor=%s", run, cursor);
    EXPECT_STATUS(r, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.viewer, "GET", NULL, &r,
                                      "/api/v1/runs/%s/spans?attempt=7&order=start", run),
                          200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    http_resp_free(&r);

    /* The same batch again (an exporter's retry): stored once, nothing new to number. */
    CU_ASSERT_EQUAL(otlp(&world.twrite, body, &r), 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 3);

    /* Project B's token naming A's run: stored in B, unlinked; A's run does not see it. */
    char trace_b[33];
    fresh_trace(trace_b);
    span_json(x, sizeof(x), trace_b, "2000000000000001", "", "");
    CU_ASSERT_EQUAL(otlp(&world.twrite_b, request_json(body, sizeof(body), attrs, x), &r), 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(get_trace(&world.twrite_b, trace_b, &r), 200);
    CU_ASSERT(itest_jnull(r.json, "spans.0.run_id"));
    CU_ASSERT(itest_jnull(r.json, "spans.0.sequence_id"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/spans?limit=100", run), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 3);
    http_resp_free(&r);

    /* B reads nothing of A: A's trace, A's run's spans, a search of A's span name. */
    CU_ASSERT_EQUAL(get_trace(&world.twrite_b, trace, &r), 404);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_statusf(&world.twrite_b, "GET", NULL, "/api/v1/runs/%s/spans", run), 404);
    CU_ASSERT_EQUAL(itest_statusf(&world.member_b, "GET", NULL, "/api/v1/traces/%s?project=%s",
                                  trace, world.pa.slug),
                    404);
    CU_ASSERT_EQUAL_FATAL(itest_callf(&world.twrite_b, "GET", NULL, &r,
                                      "/api/v1/spans?attr=runwatch.run_id=%s&limit=1000", run),
                          200);
    json_object *items = itest_jget(r.json, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++)
        CU_ASSERT(!itest_streq(itest_jstr(json_object_array_get_idx(items, i), "trace_id"), trace));
    http_resp_free(&r);
    /* And A does not see B's span. */
    CU_ASSERT_EQUAL(get_trace(&world.tread, trace_b, &r), 404);
    http_resp_free(&r);
}

/* One batch naming two runs span by span, one of them once in upper case: each run's spans
 * take its next sequence ids in the order they came (the API counts each run's spans in
 * the batch; the statement adds the run's counter), and a second batch goes on from there. */
static void test_run_ranks(void)
{
    char run[2][64], upper[64], trace[33], ids[5][17], ex[5][200], sp[5][1400], spans[7200],
        body[7600];
    struct http_resp r;
    for (int k = 0; k < 2; k++) {
        struct itest_run rr = {.status = "running"};
        CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &rr, run[k], sizeof(run[k])), 201);
    }
    for (size_t i = 0; i <= strlen(run[0]); i++)
        upper[i] = (char)toupper((unsigned char)run[0][i]);
    fresh_trace(trace);
    /* runs of the spans, in order: 0, 1, 0 (upper case), 1, 0 */
    const char *named[5] = {run[0], run[1], upper, run[1], run[0]};
    for (int i = 0; i < 5; i++) {
        snprintf(ids[i], sizeof(ids[i]), "30000000000000%02u", (unsigned)(i + 1) % 100u);
        snprintf(
            ex[i], sizeof(ex[i]),
            ",\"attributes\":[{\"key\":\"runwatch.run_id\",\"value\":{\"stringValue\":\"%s\"}}]",
            named[i]);
        span_json(sp[i], sizeof(sp[i]), trace, ids[i], "", ex[i]);
    }
    snprintf(spans, sizeof(spans), "%s,%s,%s,%s,%s", sp[0], sp[1], sp[2], sp[3], sp[4]);
    CU_ASSERT_EQUAL(otlp(&world.twrite, request_json(body, sizeof(body), "", spans), &r), 200);
    http_resp_free(&r);
    static const int want[2][3] = {{0, 2, 4}, {1, 3, -1}};
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(
            itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/spans?limit=100", run[k]),
            200);
        CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), k ? 2 : 3);
        for (int j = 0; j < 3 && want[k][j] >= 0; j++) {
            char path[64];
            snprintf(path, sizeof(path), "items.%d.sequence_id", j);
            CU_ASSERT_EQUAL(itest_jint(r.json, path), j + 1);
            snprintf(path, sizeof(path), "items.%d.span_id", j);
            CU_ASSERT(itest_streq(itest_jstr(r.json, path), ids[want[k][j]]));
        }
        http_resp_free(&r);
    }
    /* The next batch of run 0 goes on after its three. */
    fresh_trace(trace);
    span_json(sp[0], sizeof(sp[0]), trace, ids[0], "", ex[0]);
    span_json(sp[1], sizeof(sp[1]), trace, ids[1], "", ex[2]);
    snprintf(spans, sizeof(spans), "%s,%s", sp[0], sp[1]);
    CU_ASSERT_EQUAL(otlp(&world.twrite, request_json(body, sizeof(body), "", spans), &r), 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/spans?limit=100", run[0]),
        200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 5);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.3.sequence_id"), 4);
    CU_ASSERT_EQUAL(itest_jint(r.json, "items.4.sequence_id"), 5);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.4.span_id"), ids[1]));
    http_resp_free(&r);
}

/* Posts n spans (at most 4) of trace (NULL: a fresh one) naming run, ids from id0; the
 * status. Safe in threads given a trace. */
static long post_run_spans(const char *run, int n, int id0, const char *given)
{
    char trace[33], ex[200], sp[4][1400], spans[5800], body[6400];
    struct http_resp r;
    if (given)
        snprintf(trace, sizeof(trace), "%s", given);
    else
        fresh_trace(trace);
    snprintf(ex, sizeof(ex),
             ",\"attributes\":[{\"key\":\"runwatch.run_id\",\"value\":{\"stringValue\":\"%s\"}}]",
             run);
    spans[0] = 0;
    for (int i = 0; i < n && i < 4; i++) {
        char id[17];
        snprintf(id, sizeof(id), "40000000000000%02u", (unsigned)(id0 + i) % 100u);
        span_json(sp[i], sizeof(sp[i]), trace, id, "", ex);
        snprintf(spans + strlen(spans), sizeof(spans) - strlen(spans), "%s%s", i ? "," : "", sp[i]);
    }
    request_json(body, sizeof(body), "", spans);
    long code = otlp_post(&world.twrite, "/v1/traces", NULL, NULL, body, strlen(body), &r);
    http_resp_free(&r);
    return code;
}

/* The sequence ids a run's spans are read with (GET /runs/{run}/spans), as "1,2,6". */
static void run_seqs(const char *run, char *out, size_t cap)
{
    struct http_resp r;
    out[0] = 0;
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/spans?limit=100", run), 200);
    for (int i = 0; i < itest_jlen(r.json, "items"); i++) {
        char path[48];
        snprintf(path, sizeof(path), "items.%d.sequence_id", i);
        snprintf(out + strlen(out), cap - strlen(out), "%s%ld", i ? "," : "",
                 (long)itest_jint(r.json, path));
    }
    http_resp_free(&r);
}

/* A batch's numbers are reserved in a transaction of their own (span_reserve), so a later
 * batch of the run may commit first: a reader by sequence id stops below the run's lowest
 * hold until the earlier batch's spans are in (or its hold is released), and so never
 * skips them. The hold here stands for a batch between its reservation and its insert. */
static void test_holds(void)
{
    char run[64], sql[400], seqs[200];
    struct itest_run rr = {.status = "running"};
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &rr, run, sizeof(run)), 201);
    CU_ASSERT_EQUAL(post_run_spans(run, 2, 1, NULL), 200);
    run_seqs(run, seqs, sizeof(seqs));
    CU_ASSERT_STRING_EQUAL(seqs, "1,2");
    /* Numbers 3 to 5 reserved by a batch not stored yet: an owner that is no session, and
     * a time far ahead, so the housekeeper leaves it alone meanwhile. */
    snprintf(sql, sizeof(sql),
             "UPDATE run_span_seqs SET last = last + 3 WHERE run_id = '%s';"
             "INSERT INTO span_seq_holds (run_id, first, last, pid, created_at)"
             " VALUES ('%s', 3, 5, 0, now() + interval '1 hour')",
             run, run);
    itest_psql_ok(sql);
    CU_ASSERT_EQUAL(post_run_spans(run, 2, 11, NULL), 200);
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(sequence_id::text, ',' ORDER BY sequence_id) FROM spans "
             "WHERE run_id = '%s'",
             run);
    char out[200] = "";
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "1,2,6,7");
    run_seqs(run, seqs, sizeof(seqs));
    CU_ASSERT_STRING_EQUAL(seqs, "1,2");
    /* The earlier batch lands (its hold goes with its spans): all of it, in order. */
    snprintf(sql, sizeof(sql), "DELETE FROM span_seq_holds WHERE run_id = '%s'", run);
    itest_psql_ok(sql);
    run_seqs(run, seqs, sizeof(seqs));
    CU_ASSERT_STRING_EQUAL(seqs, "1,2,6,7");
    /* A stored batch leaves no hold of its own behind. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM span_seq_holds WHERE run_id = '%s'", run);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0");
}

#define CONC_SENDERS 6
#define CONC_BATCHES 6
struct span_sender {
    const char *run;
    unsigned tag, k;
    int failed;
};

static void *send_batches(void *arg)
{
    struct span_sender *c = arg;
    for (unsigned b = 0; b < CONC_BATCHES; b++) {
        char trace[33];
        snprintf(trace, sizeof(trace), "%08x%08x%08x%08x", c->tag, c->k, b, 0xc0c0c0c0u);
        if (post_run_spans(c->run, 4, 1, trace) != 200)
            c->failed++;
    }
    return NULL;
}

/* Batches of one run from several connections at once (their numbers reserved side by
 * side, their spans stored in any order): every span gets its own number, the numbers are
 * 1 to the count with none skipped, a reader by sequence id sees them all in order, and no
 * hold is left. */
static void test_concurrent_batches(void)
{
    char run[64], sql[600], out[200] = "";
    struct itest_run rr = {.status = "running"};
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &rr, run, sizeof(run)), 201);
    struct span_sender c[CONC_SENDERS];
    pthread_t t[CONC_SENDERS];
    unsigned tag = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    for (unsigned i = 0; i < CONC_SENDERS; i++) {
        c[i] = (struct span_sender){.run = run, .tag = tag, .k = i};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, send_batches, &c[i]), 0);
    }
    int failed = 0;
    for (int i = 0; i < CONC_SENDERS; i++) {
        pthread_join(t[i], NULL);
        failed += c[i].failed;
    }
    CU_ASSERT_EQUAL_FATAL(failed, 0);
    const int n = CONC_SENDERS * CONC_BATCHES * 4;
    snprintf(sql, sizeof(sql),
             "SELECT count(*) || '|' || count(DISTINCT sequence_id) || '|' || min(sequence_id) "
             "|| '|' || max(sequence_id) || '|' || (SELECT count(*) FROM span_seq_holds "
             "WHERE run_id = '%s') FROM spans WHERE run_id = '%s'",
             run, run);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    char want[64];
    snprintf(want, sizeof(want), "%d|%d|1|%d|0", n, n, n);
    CU_ASSERT_STRING_EQUAL(out, want);
    struct http_resp r;
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/spans?limit=1000", run), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), n);
    for (int i = 0; i < itest_jlen(r.json, "items"); i++) {
        char path[48];
        snprintf(path, sizeof(path), "items.%d.sequence_id", i);
        CU_ASSERT_EQUAL(itest_jint(r.json, path), i + 1);
    }
    http_resp_free(&r);
}

/* Holds nobody will release (their session is gone) go once old enough; younger ones stay,
 * and so does a hold of a session that is running a statement. */
static void test_holds_released(void)
{
    char run[64], sql[1400], out[200] = "";
    struct itest_run rr = {.status = "running"};
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &rr, run, sizeof(run)), 201);
    /* A session that is busy: its hold must stay however old. */
    FILE *busy = itest_psql_session();
    CU_ASSERT_PTR_NOT_NULL_FATAL(busy);
    fprintf(busy, "SELECT pg_sleep(60);\n");
    fflush(busy);
    snprintf(sql, sizeof(sql),
             "DO $$ BEGIN FOR i IN 1..600 LOOP PERFORM pg_stat_clear_snapshot(); "
             "PERFORM 1 FROM pg_stat_activity "
             "WHERE query LIKE 'SELECT pg_sleep(60)%%' AND state = 'active'; EXIT WHEN FOUND; "
             "PERFORM pg_sleep(0.1); END LOOP; END $$;"
             "INSERT INTO span_seq_holds (run_id, first, last, pid, created_at)"
             " SELECT '%s'::uuid, 1, 1, 0, now() - interval '1 minute' UNION ALL"
             " SELECT '%s'::uuid, 2, 2, 0, now() + interval '1 hour' UNION ALL"
             " SELECT '%s'::uuid, k, k, a.pid, a.backend_start - (k - 3) * interval '1 minute'"
             " FROM pg_stat_activity a, generate_series(3, 4) k"
             " WHERE a.query LIKE 'SELECT pg_sleep(60)%%' AND a.state = 'active'",
             run, run, run);
    itest_psql_ok(sql);
    /* Released: the one of no session, a minute old (by this call, or by the housekeeper's
     * task first), and the one made before the busy session's pid was its (another
     * session's, gone). Kept: the one too young (a hold's age is 0 s here), and the busy
     * session's, whatever its age. */
    itest_psql_ok("SELECT housekeep_span_holds('{\"span_hold_s\": 0}')");
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(first::text, ',' ORDER BY first) FROM span_seq_holds "
             "WHERE run_id = '%s'",
             run);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "2,3");
    itest_psql_ok("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE query LIKE 'SELECT pg_sleep(60)%' AND state = 'active'");
    pclose(busy);
    snprintf(sql, sizeof(sql), "DELETE FROM span_seq_holds WHERE run_id = '%s'", run);
    itest_psql_ok(sql);
}

/* A span sent twice in one batch, and a batch sent again with one new span: each span is
 * stored once (the insert meets the stored span and the batch goes again skipping it), the
 * new one too, and the run's spans keep increasing sequence ids. */
static void test_twice(void)
{
    char run[64], trace[33], attrs[300], x[300], y[300], z[300], spans[1000], body[1600];
    struct http_resp r;
    struct itest_run rr = {.status = "running"};
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&world.twrite, &rr, run, sizeof(run)), 201);
    snprintf(attrs, sizeof(attrs),
             "{\"key\":\"runwatch.run_id\",\"value\":{\"stringValue\":\"%s\"}}", run);
    fresh_trace(trace);
    span_json(x, sizeof(x), trace, "4000000000000001", "", "");
    span_json(y, sizeof(y), trace, "4000000000000002", "4000000000000001", "");
    snprintf(spans, sizeof(spans), "%s,%s,%s", x, x, y);
    CU_ASSERT_EQUAL(otlp(&world.twrite, request_json(body, sizeof(body), attrs, spans), &r), 200);
    CU_ASSERT(strstr(S(r.body), "rejectedSpans") == NULL);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 2);
    span_json(z, sizeof(z), trace, "4000000000000003", "4000000000000001", "");
    snprintf(spans, sizeof(spans), "%s,%s,%s", x, y, z);
    CU_ASSERT_EQUAL(otlp(&world.twrite, request_json(body, sizeof(body), attrs, spans), &r), 200);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(stored(trace), 3);
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.viewer, "GET", NULL, &r, "/api/v1/runs/%s/spans?limit=100", run), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 3);
    long prev = 0;
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof(path), "items.%d.sequence_id", i);
        CU_ASSERT(itest_jint(r.json, path) > prev);
        prev = itest_jint(r.json, path);
    }
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.2.span_id"), "4000000000000003"));
    http_resp_free(&r);
}

/* ---- search ---- */

static void test_search(void)
{
    char trace[33], name[64], a[600], b[600], all[1300], body[1800];
    struct http_resp r;
    fresh_trace(trace);
    itest_unique("search-op", name, sizeof(name));
    snprintf(a, sizeof(a),
             "{\"traceId\":\"%s\",\"spanId\":\"3000000000000001\",\"name\":\"%s\","
             "\"startTimeUnixNano\":\"1767225600000000000\",\"endTimeUnixNano\":"
             "\"1767225602000000000\",\"status\":{\"code\":2},\"attributes\":[{\"key\":"
             "\"gen_ai.request.model\",\"value\":{\"stringValue\":\"m-%s\"}},{\"key\":\"n\","
             "\"value\":{\"intValue\":42}}]}",
             trace, name, trace);
    snprintf(b, sizeof(b),
             "{\"traceId\":\"%s\",\"spanId\":\"3000000000000002\",\"name\":\"%s\","
             "\"startTimeUnixNano\":\"1767225601000000000\",\"endTimeUnixNano\":"
             "\"1767225601000100000\",\"attributes\":[{\"key\":\"gen_ai.request.model\","
             "\"value\":{\"stringValue\":\"other\"}}]}",
             trace, name);
    snprintf(all, sizeof(all), "%s,%s", a, b);
    CU_ASSERT_EQUAL(otlp(&world.twrite, request_json(body, sizeof(body), "", all), &r), 200);
    http_resp_free(&r);

    /* by name, newest start first, one a page */
    CU_ASSERT_EQUAL_FATAL(
        itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/spans?name=%s&limit=1", name), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.span_id"), "3000000000000002"));
    char cursor[128];
    snprintf(cursor, sizeof(cursor), "%s", S(itest_jstr(r.json, "next_cursor")));
    http_resp_free(&r);
    itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/spans?name=%s&limit=1&cursor=%s", name,
                cursor);
    EXPECT_STATUS(r, 200);
    CU_ASSERT(itest_streq(itest_jstr(r.json, "items.0.span_id"), "3000000000000001"));
    http_resp_free(&r);
    /* by attribute (a string, and an int given as text), status, duration, time range */
    struct {
        const char *query;
        long n;
    } q[] = {
        {"attr=gen_ai.request.model=m-{x}", 1},
        {"attr=n=42&name={x}", 1},
        {"status=error&name={x}", 1},
        {"status=ok&name={x}", 0},
        {"min_duration_ms=1000&name={x}", 1},
        {"from=2026-01-01T00:00:00.5Z&to=2026-01-01T00:00:02Z&name={x}", 1},
        {"from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:02Z&name={x}", 2},
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        char query[200];
        const struct itest_subst subs[] = {{"{x}", i == 0 ? trace : name}, {NULL, NULL}};
        itest_expand(q[i].query, subs, query, sizeof(query));
        CU_ASSERT_EQUAL_FATAL(itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/spans?%s", query),
                              200);
        if (itest_jlen(r.json, "items") != q[i].n)
            fprintf(stderr, "\n  %s: %ld items", query, itest_jlen(r.json, "items"));
        CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), q[i].n);
        http_resp_free(&r);
    }
    /* bad filters name the field */
    CU_ASSERT_EQUAL(itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/spans?status=broken"), 400);
    CU_ASSERT(itest_streq(http_error_field(&r), "status"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(itest_callf(&world.tread, "GET", NULL, &r, "/api/v1/spans?cursor=x"), 400);
    CU_ASSERT(itest_streq(http_error_field(&r), "cursor"));
    http_resp_free(&r);
}

int suite_spans_register(void)
{
    CU_pSuite s = CU_add_suite("spans", spans_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "every attribute type, parents, events, links, status round-trip",
                     test_round_trip) ||
        !CU_add_test(s, "malformed and hostile requests: a 4xx, nothing stored", test_malformed) ||
        !CU_add_test(s, "spans that cannot be kept are a partial success", test_partial) ||
        !CU_add_test(s, "a resource and scope sent again are stored once", test_origins_once) ||
        !CU_add_test(s, "protobuf and gzip: stored, answered in the request's encoding",
                     test_encodings) ||
        !CU_add_test(s, "spans link to runs of the token's project only; run.spans",
                     test_run_link) ||
        !CU_add_test(s, "a batch naming two runs numbers each run's spans in order",
                     test_run_ranks) ||
        !CU_add_test(s, "a span sent twice, in a batch or again, is stored once", test_twice) ||
        !CU_add_test(s, "a run's readers stop below a batch's reserved numbers until it lands",
                     test_holds) ||
        !CU_add_test(s, "holds of sessions gone are released, of busy ones kept",
                     test_holds_released) ||
        !CU_add_test(s, "one run's batches at once: each span its own number, none skipped",
                     test_concurrent_batches) ||
        !CU_add_test(s, "search by name, attribute, status, duration and time", test_search))
        return -1;
    return 0;
}
