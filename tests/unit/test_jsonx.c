/* jsonx: strict parsing and the field validators that name the failing field. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "jsonx.h"
#include "suites.h"

static json_object *parse(const char *s)
{
    struct jsonx_err err;
    return jsonx_parse(s, strlen(s), &err);
}

static void test_parse_strict(void)
{
    struct jsonx_err err;
    json_object *o = parse(" {\"a\": [1, 2, {\"b\": null}]}\n");
    CU_ASSERT_PTR_NOT_NULL(o);
    json_object_put(o);

    const char *bad[] = {"",
                         "{",
                         "{\"a\":1,}",
                         "{'a':1}",
                         "{\"a\":1} x",
                         "{\"a\":1}{}",
                         "nul",
                         "{\"a\":\"\xff\"}",
                         "[1,]",
                         "{\"a\":NaN}",
                         "{\"a\":-Infinity}",
                         "{\"a\":1.}",
                         "{\"a\":.5}",
                         "{\"a\":\"t\tb\"}",
                         "/*c*/{}",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        o = jsonx_parse(bad[i], strlen(bad[i]), &err);
        CU_ASSERT_PTR_NULL(o);
        json_object_put(o);
        CU_ASSERT_TRUE(strlen(err.message) > 0);
    }
    /* An embedded NUL is refused, not truncated. */
    o = jsonx_parse("{\"a\":1}\0{", 9, &err);
    CU_ASSERT_PTR_NULL(o);
}

/* A table of documents: field NULL means accepted; otherwise refused, naming that field,
 * with a message holding `says` (when given). */
struct refusal_case {
    const char *doc, *field;
};

static void check_refusals(const struct refusal_case *cases, size_t n, const char *says)
{
    for (size_t i = 0; i < n; i++) {
        struct jsonx_err err;
        memset(&err, 0, sizeof(err));
        json_object *o = jsonx_parse(cases[i].doc, strlen(cases[i].doc), &err);
        if (cases[i].field) {
            CU_ASSERT_PTR_NULL(o);
            CU_ASSERT_STRING_EQUAL(err.field, cases[i].field);
            if (says)
                CU_ASSERT_PTR_NOT_NULL(strstr(err.message, says));
        } else {
            CU_ASSERT_PTR_NOT_NULL(o);
            if (!o)
                fprintf(stderr, "\n  case %zu refused: %s", i, err.message);
        }
        json_object_put(o);
    }
}

/* Numbers are kept as sent (json-c keeps the literal, PostgreSQL every digit): one that a
 * double does not hold, or an integer json-c would clamp, is refused with its field. */
static void test_number_range(void)
{
    static const struct refusal_case cases[] = {
        {"{\"a\":1e131000}", "a"},
        {"{\"a\":-1E+400}", "a"},
        {"{\"a\":1e-400}", "a"},
        {"{\"a\":0.0000001e-330}", "a"},
        {"{\"a\":0e999999}", "a"},
        {"{\"a\":1e00000000001}", NULL},
        {"{\"a\":123456789012345678901234567890}", "a"},
        {"{\"a\":18446744073709551616}", "a"},
        {"{\"a\":-9223372036854775809}", "a"},
        {"{\"p\":{\"x\":[1,2,{\"y\":1e999}]}}", "p.x[2].y"},
        {"{\"e\":[{\"ts\":\"1e999\",\"d\":{\"k,{\":[0,1e999]}}]}", "e[0].d.k,{[1]"},
        {"[1,[2,3e500]]", "[1][1]"},
        {"{\"a\":1e308,\"b\":-1.7976931348623157e308,\"c\":4.9e-324,\"d\":0e5}", NULL},
        {"{\"a\":18446744073709551615,\"b\":-9223372036854775808,\"c\":0.5e1}", NULL},
        {"{\"a\":\"1e131000\",\"b\":[true,false,null],\"c\":-0}", NULL},
        {"{\"a\":1.00000000000000000000000000000000000000000000000001}", NULL},
    };
    check_refusals(cases, sizeof(cases) / sizeof(cases[0]), "the number");
}

/* Text PostgreSQL could not store, or json-c would change silently: overlong UTF-8,
 * encoded surrogates, code points past U+10FFFF, and lone UTF-16 surrogate escapes
 * (json-c turns them into U+FFFD). Each names its field; pairs and plain text pass. */
static void test_text_strict(void)
{
    static const struct refusal_case cases[] = {
        {"{\"a\":\"\xc0\xaf\"}", "a"},
        {"{\"a\":\"\xe0\x80\xaf\"}", "a"},
        {"{\"a\":{\"b\":[\"ok\",\"\xed\xa0\x80\"]}}", "a.b[1]"},
        {"{\"a\":\"\xf4\x90\x80\x80\"}", "a"},
        {"{\"a\":\"\xe2\x82\"}", "a"},
        {"{\"a\":\"x\\ud800\"}", "a"},
        {"{\"a\":\"\\ud800x\"}", "a"},
        {"{\"a\":\"\\ud800\\u0041\"}", "a"},
        {"{\"a\":\"\\udc00\"}", "a"},
        {"{\"a\":\"\\ud83d\\ude00 \xf0\x9f\x98\x80 \xe2\x82\xac \xc3\xa9 \xf4\x8f\xbf\xbf\"}",
         NULL},
        {"{\"\\ud83d\\ude00\":\"\\u00e9\\uFFFD\\\\ud800\"}", NULL},
    };
    check_refusals(cases, sizeof(cases) / sizeof(cases[0]), NULL);
}

/* A key sent twice in one object is refused (json-c keeps the last without a word), naming
 * it; the same name in different objects is fine. */
static void test_duplicate_keys(void)
{
    static const struct refusal_case cases[] = {
        {"{\"a\":1,\"a\":2}", "a"},
        {"{\"p\":{\"x\":1,\"y\":2,\"x\":3}}", "p.x"},
        {"[{\"a\":1},{\"b\":1,\"b\":2}]", "[1].b"},
        {"{\"e\":[{\"k\":{\"q\":1}},{\"k\":1,\"k\":{\"z\":{}}}]}", "e[1].k"},
        {"{\"a\":1,\"\\u0061\":2}", ""},
        {"{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}],\"c\":{}}", NULL},
        {"{\"a,\\\"b\":1,\"a\":{\"x\":[1,{\"y\":\"}\"}]},\"z\":2}", NULL},
    };
    check_refusals(cases, sizeof(cases) / sizeof(cases[0]), "twice");
}

static void test_parse_depth_limit(void)
{
    char deep[200];
    struct jsonx_err err;
    int d = 40;
    for (int i = 0; i < d; i++)
        deep[i] = '[';
    for (int i = 0; i < d; i++)
        deep[d + i] = ']';
    json_object *o = jsonx_parse(deep, (size_t)(2 * d), &err);
    CU_ASSERT_PTR_NULL(o);
    json_object_put(o);
}

/* A closing bracket with nothing open is refused where it stands. The prescan's depth
 * went below zero on it, and the next opening bracket wrote below its stack array (the
 * first input tests/fuzz/fuzz_json.c found; the long run of ']' reaches far enough to
 * crash without a sanitizer). */
static void test_stray_closing_brackets(void)
{
    static const struct {
        const char *doc, *says;
    } cases[] = {
        {"{]]]][[[.[[][[[]", "unexpected ']' at offset 2"},
        {"]", "unexpected ']' at offset 0"},
        {"}{\"a\":1}", "unexpected '}' at offset 0"},
        {"[1]]", "unexpected ']' at offset 3"},
        {"{\"a\":{}}}[[{\"b\":[1]}]]", "unexpected '}' at offset 8"},
        {"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "{\"a\":[{\"b\":[{\"c\":1}]}]}",
         "unexpected ']' at offset 0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct jsonx_err err;
        memset(&err, 0, sizeof(err));
        json_object *o = jsonx_parse(cases[i].doc, strlen(cases[i].doc), &err);
        CU_ASSERT_PTR_NULL(o);
        json_object_put(o);
        if (!strstr(err.message, cases[i].says))
            fprintf(stderr, "\n  %s: %s", cases[i].doc, err.message);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].says));
    }
}

/* A refusal inside an object before its first key is read (bad UTF-8 in the key itself)
 * builds the path from that level's key offset, which was never set: UBSan saw the
 * pointer run off the buffer (fuzz_json.c). The path ends at the object. */
static void test_refusal_in_first_key(void)
{
    static const char *const docs[] = {"[[[[[[[[[[1[[{\"s\xda[", "{\"\xc0\xaf\":1}",
                                       "[{\"a\":{\"b\xff\":2}}]"};
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct jsonx_err err;
        memset(&err, 0, sizeof(err));
        json_object *o = jsonx_parse(docs[i], strlen(docs[i]), &err);
        CU_ASSERT_PTR_NULL(o);
        json_object_put(o);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "invalid UTF-8"));
    }
}

static void test_fields(void)
{
    struct jsonx_err err;
    json_object *o = parse("{\"s\":\"abc\",\"n\":42,\"big\":18446744073709551615,\"f\":0.5,"
                           "\"b\":true,\"z\":null,\"arr\":[1],\"obj\":{},\"st\":\"failed\"}");
    const char *s = NULL;
    int64_t n = 0;
    double f = 0;
    int b = 0, present = -1;
    json_object *child = NULL;
    static const char *const statuses[] = {"queued", "running", "failed", NULL};

    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jsonx_string(o, "s", JSONX_REQUIRED, 1, 10, &s, &present, &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "abc");
    CU_ASSERT_EQUAL(present, 1);
    CU_ASSERT_EQUAL(jsonx_string(o, "s", 0, 4, 10, &s, NULL, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.field, "s");
    CU_ASSERT_EQUAL(jsonx_string(o, "n", 0, 0, 10, &s, NULL, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "n must be a string");
    CU_ASSERT_EQUAL(jsonx_string(o, "missing", JSONX_REQUIRED, 0, 10, &s, NULL, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.field, "missing");
    CU_ASSERT_EQUAL(jsonx_string(o, "missing", 0, 0, 10, &s, &present, &err), 0);
    CU_ASSERT_EQUAL(present, 0);
    CU_ASSERT_EQUAL(jsonx_string(o, "z", 0, 0, 10, &s, NULL, &err), -1);
    CU_ASSERT_EQUAL(jsonx_string(o, "z", JSONX_NULLABLE, 0, 10, &s, &present, &err), 0);
    CU_ASSERT_EQUAL(present, 0);

    CU_ASSERT_EQUAL(jsonx_int(o, "n", 0, 0, 100, &n, NULL, &err), 0);
    CU_ASSERT_EQUAL(n, 42);
    CU_ASSERT_EQUAL(jsonx_int(o, "n", 0, 0, 41, &n, NULL, &err), -1);
    CU_ASSERT_EQUAL(jsonx_int(o, "big", 0, INT64_MIN, INT64_MAX, &n, NULL, &err), -1);
    CU_ASSERT_EQUAL(jsonx_int(o, "f", 0, 0, 1, &n, NULL, &err), -1);
    CU_ASSERT_EQUAL(jsonx_number(o, "f", 0, 0, 1, &f, NULL, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(f, 0.5, 1e-12);
    CU_ASSERT_EQUAL(jsonx_number(o, "n", 0, 0, 1, &f, NULL, &err), -1);
    CU_ASSERT_EQUAL(jsonx_bool(o, "b", 0, &b, NULL, &err), 0);
    CU_ASSERT_EQUAL(b, 1);
    CU_ASSERT_EQUAL(jsonx_bool(o, "n", 0, &b, NULL, &err), -1);
    CU_ASSERT_EQUAL(jsonx_enum(o, "st", 0, statuses, &s, NULL, &err), 0);
    CU_ASSERT_STRING_EQUAL(s, "failed");
    CU_ASSERT_EQUAL(jsonx_enum(o, "s", 0, statuses, &s, NULL, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "queued, running, failed"));
    CU_ASSERT_EQUAL(jsonx_child(o, "arr", 0, json_type_array, &child, NULL, &err), 0);
    CU_ASSERT_EQUAL(jsonx_child(o, "arr", 0, json_type_object, &child, NULL, &err), -1);
    CU_ASSERT_EQUAL(jsonx_child(o, "obj", 0, json_type_object, &child, NULL, &err), 0);
    json_object_put(o);
}

static void test_only_keys(void)
{
    struct jsonx_err err;
    static const char *const allowed[] = {"kind", "name", NULL};
    json_object *o = parse("{\"kind\":\"a\",\"nmae\":\"typo\"}");
    CU_ASSERT_EQUAL(jsonx_only_keys(o, allowed, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.field, "nmae");
    json_object_put(o);
    o = parse("{\"kind\":\"a\"}");
    CU_ASSERT_EQUAL(jsonx_only_keys(o, allowed, &err), 0);
    json_object_put(o);
}

static void test_to_string(void)
{
    json_object *o = parse("{\"url\":\"a/b\",\"n\":1}");
    size_t len;
    const char *s = jsonx_to_string(o, &len);
    CU_ASSERT_STRING_EQUAL(s, "{\"url\":\"a/b\",\"n\":1}");
    CU_ASSERT_EQUAL(len, strlen(s));
    json_object_put(o);
}

/* ---- jsonx_read: the same documents as jsonx_parse (with an object or array on top), the
 * same values. tests/fuzz/fuzz_jsonread.c checks the same on random bytes. */

static int read_doc(struct arena *a, const char *s, size_t len, struct jsonx_val *v, int *nul)
{
    return jsonx_read(a, s, len, v, nul);
}

static void nest(char *buf, size_t cap, int levels, const char *open, const char *inner, char close)
{
    size_t n = 0, ol = strlen(open);
    for (int i = 0; i < levels && n + ol < cap; i++, n += ol)
        memcpy(buf + n, open, ol);
    n += (size_t)snprintf(buf + n, cap - n, "%s", inner);
    for (int i = 0; i < levels && n + 1 < cap; i++)
        buf[n++] = close;
    buf[n] = '\0';
}

static void test_read_agrees(void)
{
    static const struct {
        const char *doc;
        size_t len; /* 0: strlen */
    } cases[] = {
        {"", 0},
        {" ", 0},
        {"{}", 0},
        {"[]", 0},
        {" \r\n\t{ }\n", 0},
        {"{} x", 0},
        {"{}{}", 0},
        {"{\"a\":1,}", 0},
        {"[1,]", 0},
        {"[,1]", 0},
        {"[1,,2]", 0},
        {"{,}", 0},
        {"{\"a\"}", 0},
        {"{\"a\":}", 0},
        {"{1:2}", 0},
        {"{'a':1}", 0},
        {"[01]", 0},
        {"[0001]", 0},
        {"[00, 000, -01, -0001.5, 01.5, 00e2, 01e2]", 0},
        {"[-01]", 0},
        {"[1+]", 0},
        {"[1e+-3]", 0},
        {"[12-]", 0},
        {"[-+1]", 0},
        {"[0-]", 0},
        {"[1.5.5]", 0},
        {"[1e5e5]", 0},
        {"[-e5]", 0},
        {"[1e5-]", 0},
        {"[-]", 0},
        {"[1.]", 0},
        {"[.5]", 0},
        {"[1e]", 0},
        {"[1e+]", 0},
        {"[1E+5, 1e05, 0.0e-0, -0, -0.0]", 0},
        {"[+1]", 0},
        {"[0x10]", 0},
        {"[NaN]", 0},
        {"[Infinity]", 0},
        {"[nan]", 0},
        {"[true,false,null]", 0},
        {"[tru]", 0},
        {"[nul]", 0},
        {"[truex]", 0},
        {"[true1]", 0},
        {"[1true]", 0},
        {"[1 2]", 0},
        {"{\"a\":1 \"b\":2}", 0},
        {"[\"\\a\"]", 0},
        {"[\"\\u00\"]", 0},
        {"[\"\\u00zz\"]", 0},
        {"[\"\\ud800\"]", 0},
        {"[\"\\udc00\"]", 0},
        {"[\"\\ud800\\u0041\"]", 0},
        {"[\"\\ud800\\n\"]", 0},
        {"[\"\\ud834\\udd1e\", \"\\uD834\\uDD1E\"]", 0},
        /* json-c turns a pair whose code point's low 16 bits look like a surrogate into one
         * U+FFFD: the same string, and so two such keys are one key twice. */
        {"[\"\\ud836\\udd1e\", \"a\\udbff\\udfffb\", \"\\ud836\\udc00\\u0041\", "
         "\"\\ud876\\udd1e\\ud834\\udd1e\"]",
         0},
        {"{\"\\ud836\\udd1e\":1,\"\\ud836\\udd1f\":2}", 0},
        {"{\"\\ud836\\udd1e\":1,\"\xef\xbf\xbd\":2}", 0},
        {"[\"\\u0000\"]", 0},
        {"{\"a\\u0000b\":1,\"a\":2}", 0},
        {"{\"a\\u0000b\":1,\"a\\u0000c\":2}", 0},
        {"{\"a\\u0000b\":1}", 0},
        {"{\"a\":1,\"a\":2}", 0},
        {"{\"a\":1,\"\\u0061\":2}", 0},
        {"{\"a\":{\"b\":1,\"b\":1}}", 0},
        {"[\"\xc0\x80\"]", 0},
        {"[\"\xed\xa0\x80\"]", 0},
        {"[\"\xf4\x90\x80\x80\"]", 0},
        {"[\"\xe2\x82\xac \xf0\x9f\x98\x80\"]", 0},
        {"[\"\xe2\x82\"]", 0},
        {"[\"\x7f\"]", 0},
        {"[\"\x01\"]", 0},
        {"[\"a\tb\"]", 0},
        {"[1]\0", 4},
        {"[\"a\0\"]", 6},
        {"{\"a\0\":1}", 8},
        {"1", 0},
        {"\"a\"", 0},
        {"true ", 0},
        {"null", 0},
        {"[1e400]", 0},
        {"[2e-400]", 0},
        {"[123456789012345678901234567890]", 0},
        {"[18446744073709551615]", 0},
        {"[18446744073709551616]", 0},
        {"[-9223372036854775808]", 0},
        {"[-9223372036854775809]", 0},
        {"[1e10000]", 0},
        {"[0e99999]", 0},
        {"[1.5e300]", 0},
        {"\xef\xbb\xbf{}", 0},
        {"[1]\f", 0},
        {"[\"\\/\\\"\\\\\\b\\f\\n\\r\\t\"]", 0},
        {"{\"\":1}", 0},
        {"{\"\\u00e9\":\"\\u00e9\",\"\xc3\xa9\":1}", 0},
        {"[\"\\", 0},
        {"[\"\\u12", 0},
        {"{\"a\":[", 0},
        {"]", 0},
        {"}", 0},
        {"{]", 0},
        {"[}", 0},
        {"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,"
         "\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17,\"r\":18}",
         0},
        {"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,"
         "\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17,\"a\":18}",
         0},
    };
    struct arena a;
    struct jsonx_err err;
    struct jsonx_val v;
    char deep[400];

    arena_init(&a, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) + 8; i++) {
        const char *doc;
        size_t len;
        int nul = 0;
        if (i < sizeof(cases) / sizeof(cases[0])) {
            doc = cases[i].doc;
            len = cases[i].len ? cases[i].len : strlen(doc);
        } else {
            /* Depth: a value at JSONX_MAX_DEPTH levels below the top is refused, an empty
             * array or object too. */
            size_t k = i - sizeof(cases) / sizeof(cases[0]);
            int levels = JSONX_MAX_DEPTH - 1 + (int)(k % 4) / 2;
            if (k < 4)
                nest(deep, sizeof(deep), levels, "[", k % 2 ? "1" : "[]", ']');
            else
                nest(deep, sizeof(deep), levels, "{\"a\":", k % 2 ? "1" : "{}", '}');
            doc = deep;
            len = strlen(deep);
        }
        json_object *o = jsonx_parse(doc, len, &err);
        int want = o && (json_object_is_type(o, json_type_object) ||
                         json_object_is_type(o, json_type_array));
        int got = read_doc(&a, doc, len, &v, &nul) == 0;
        if (want != got)
            fprintf(stderr, "\njsonx_read %s case %zu: %.*s\n", got ? "accepts" : "refuses", i,
                    (int)len, doc);
        CU_ASSERT_EQUAL(got, want);
        if (want && got) {
            char path[256] = "";
            CU_ASSERT(jsonx_val_matches(&v, o));
            CU_ASSERT_EQUAL(!nul, !jsonx_find_nul(o, path, sizeof(path)));
        }
        json_object_put(o);
        arena_reset(&a);
    }
    arena_fini(&a);
}

/* What the tree holds: spans of the body where nothing was escaped, keys in order and cut at
 * a NUL, a container's text as sent, numbers' kinds. */
static void test_read_values(void)
{
    static const char doc[] =
        " {\"events\" : [ {\"a\":\"plain\",\"b\":\"\\u00e9\\n\\ud834\\udd1e\",\"c\":-1.5e3,"
        "\"d\":7,\"e\":true,\"f\":null,\"g\\u0000x\":[]} ,\"\\u0000\"] }\n";
    struct arena a;
    struct jsonx_val v;
    const struct jsonx_val *ev, *e;
    int nul = 0;

    arena_init(&a, 4096);
    CU_ASSERT_EQUAL_FATAL(jsonx_read(&a, doc, sizeof(doc) - 1, &v, &nul), 0);
    CU_ASSERT_EQUAL(nul, 1); /* the "\u0000" string */
    CU_ASSERT_EQUAL(v.kind, JSONX_OBJECT);
    CU_ASSERT_EQUAL(v.n, 1);
    ev = jsonx_get(&v, "events");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_PTR_NULL(jsonx_get(&v, "event"));
    CU_ASSERT_EQUAL_FATAL(ev->kind, JSONX_ARRAY);
    CU_ASSERT_EQUAL_FATAL(ev->n, 2);
    CU_ASSERT_EQUAL(ev->s, strchr(doc, '['));
    CU_ASSERT_EQUAL(ev->s + ev->len, strrchr(doc, ']') + 1);
    e = &ev->items[0];
    CU_ASSERT_EQUAL_FATAL(e->n, 7);
    CU_ASSERT_EQUAL(e->members[0].val.kind, JSONX_STRING);
    CU_ASSERT_EQUAL(e->members[0].val.len, 5);
    CU_ASSERT_PTR_EQUAL(e->members[0].val.s, strstr(doc, "plain")); /* a span of the body */
    CU_ASSERT_EQUAL(e->members[1].val.len, 2 + 1 + 4);
    CU_ASSERT_EQUAL(memcmp(e->members[1].val.s, "\xc3\xa9\n\xf0\x9d\x84\x9e", 7), 0);
    CU_ASSERT_EQUAL(e->members[2].val.kind, JSONX_NUMBER);
    CU_ASSERT_EQUAL(e->members[2].val.integer, 0);
    CU_ASSERT_EQUAL(e->members[2].val.len, 6);
    CU_ASSERT_EQUAL(e->members[3].val.integer, 1);
    CU_ASSERT_EQUAL(e->members[4].val.kind, JSONX_BOOL);
    CU_ASSERT_EQUAL(e->members[4].val.truth, 1);
    CU_ASSERT_EQUAL(e->members[5].val.kind, JSONX_NULL);
    CU_ASSERT_EQUAL(e->members[6].key_len, 1); /* "g\u0000x" is "g", as json-c keeps it */
    CU_ASSERT_EQUAL(e->members[6].val.kind, JSONX_ARRAY);
    CU_ASSERT_EQUAL(e->members[6].val.n, 0);
    CU_ASSERT_EQUAL(ev->items[1].len, 1);
    arena_fini(&a);
}

/* The getters of both trees: the same answers and the same words. */
static void test_read_getters(void)
{
    static const char *const levels[] = {"debug", "info", NULL};
    static const char *const keys[] = {"s", "n", "o", "l", "z", NULL};
    static const char *const docs[] = {
        "{\"s\":\"2026-12-04T01:02:03Z\",\"n\":null,\"o\":{},\"l\":\"info\",\"z\":[1]}",
        "{\"s\":1,\"n\":\"\",\"o\":[],\"l\":\"loud\",\"z\":{}}",
        "{\"s\":\"x\",\"unknown\\u00e9\":1}",
        "{\"l\":null,\"s\":\"a\\u0000b\"}",
    };
    struct arena a;
    arena_init(&a, 4096);
    for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        struct jsonx_val v;
        struct jsonx_err e1, e2;
        int nul;
        json_object *o = parse(docs[d]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL_FATAL(jsonx_read(&a, docs[d], strlen(docs[d]), &v, &nul), 0);
        memset(&e1, 0, sizeof(e1));
        memset(&e2, 0, sizeof(e2));
        CU_ASSERT_EQUAL(jsonx_only_keys(o, keys, &e1), jsonx_vonly_keys(&v, keys, &e2));
        CU_ASSERT_STRING_EQUAL(e1.message, e2.message);
        for (size_t k = 0; keys[k]; k++) {
            for (unsigned flags = 0; flags < 4; flags++) {
                const char *s1 = NULL, *s2 = NULL;
                size_t n2;
                json_object *c1;
                const struct jsonx_val *c2;
                memset(&e1, 0, sizeof(e1));
                memset(&e2, 0, sizeof(e2));
                CU_ASSERT_EQUAL(jsonx_string(o, keys[k], flags, 1, 30, &s1, NULL, &e1),
                                jsonx_vstring(&v, keys[k], flags, 1, 30, &s2, &n2, NULL, &e2));
                CU_ASSERT_STRING_EQUAL(e1.message, e2.message);
                CU_ASSERT_STRING_EQUAL(e1.field, e2.field);
                CU_ASSERT_EQUAL(jsonx_enum(o, keys[k], flags, levels, &s1, NULL, &e1),
                                jsonx_venum(&v, keys[k], flags, levels, &s2, NULL, &e2));
                CU_ASSERT_STRING_EQUAL(e1.message, e2.message);
                CU_ASSERT_EQUAL(jsonx_child(o, keys[k], flags, json_type_object, &c1, NULL, &e1),
                                jsonx_vchild(&v, keys[k], flags, JSONX_OBJECT, &c2, NULL, &e2));
                CU_ASSERT_STRING_EQUAL(e1.message, e2.message);
            }
        }
        json_object_put(o);
    }
    arena_fini(&a);
}

/* jsonx_vredacts says 1 exactly when jsonx_redact replaces something: a secret key at any
 * depth, a string of a secret's shape (in an array too), an extra word. */
static void test_read_redacts(void)
{
    static const char *const extra[] = {"tenant id", NULL};
    static const struct {
        const char *doc;
        int want;
    } cases[] = {
        {"[{\"message\":\"loss 0.25\",\"data\":{\"step\":1,\"max_tokens\":5}}]", 0},
        {"[{\"data\":{\"nested\":{\"api_key\":null}}}]", 1},
        {"[{\"data\":{\"list\":[1,{\"password\":\"x\"}]}}]", 1},
        {"[{\"message\":\"Authorization: Bearer abcdefghijklmnop1234\"}]", 1},
        {"[{\"data\":{\"urls\":[\"postgres://u:pw@host/db\"]}}]", 1},
        {"[{\"data\":{\"urls\":[\"https://host/db\"]}}]", 0},
        {"[{\"data\":{\"tenantId\":\"t\"}}]", 1},
        {"[{\"data\":{\"pass\\u0000word\":\"t\"}}]", 0}, /* the key is "pass" */
        {"[{\"data\":{\"\\u0070assword\":\"t\"}}]", 1},
        {"[\"plain\", [\"sk_live_abcdefghijklmnop\"]]", 1},
    };
    struct arena a;
    arena_init(&a, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct jsonx_val v;
        int nul;
        json_object *o = parse(cases[i].doc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL_FATAL(jsonx_read(&a, cases[i].doc, strlen(cases[i].doc), &v, &nul), 0);
        CU_ASSERT_EQUAL(jsonx_vredacts(&v, extra), cases[i].want);
        CU_ASSERT_EQUAL(jsonx_redact(o, extra) > 0, cases[i].want);
        json_object_put(o);
    }
    arena_fini(&a);
}

/* A body cut inside a string after a high surrogate's escape is refused before json-c reads
 * it: json-c 0.16's tokener kept the surrogate through json_tokener_reset, and the next
 * document's first pair was decoded with a U+FFFD before it. */
static void test_dangling_surrogate(void)
{
    /* Cut after the high surrogate, and a \u without its digits after one. */
    static const char *const bad[] = {"{\"m\":\"\\ud834", "{\"m\":\"\\ud834\\u\\udc00\"}",
                                      "{\"m\":\"\\ud834\\u12\"}", "{\"m\":\"\\u12\"}"};
    static const char next[] = "{\"m\":\"\\ud834\\udd1e\\u00dd\"}";
    struct jsonx_err err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_object *o = jsonx_parse(bad[i], strlen(bad[i]), &err), *m;
        CU_ASSERT_PTR_NULL(o);
        json_object_put(o);
        o = jsonx_parse(next, sizeof(next) - 1, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_FATAL(json_object_object_get_ex(o, "m", &m));
        CU_ASSERT_EQUAL(json_object_get_string_len(m), 6);
        CU_ASSERT_STRING_EQUAL(json_object_get_string(m), "\xf0\x9d\x84\x9e\xc3\x9d");
        json_object_put(o);
    }
}

static void test_rfc3339_len(void)
{
    static const char *const times[] = {
        "2026-12-04T01:02:03Z",      "2026-12-04T01:02:03.123+05:30",
        "2026-02-30T01:02:03Z",      "2026-12-04T01:02:03",
        "2026-12-04T01:02:03.Z",     "2026-12-04T01:02:03+0530",
        "2024-02-29T23:59:60-00:00", "2026-12-04"};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        char buf[64];
        size_t n = strlen(times[i]);
        /* Not NUL-terminated: a digit right after must not count. */
        memcpy(buf, times[i], n);
        buf[n] = '9';
        CU_ASSERT_EQUAL(jsonx_is_rfc3339_len(buf, n), jsonx_is_rfc3339(times[i]));
    }
    CU_ASSERT_EQUAL(jsonx_is_rfc3339(times[0]), 1);
    CU_ASSERT_EQUAL(jsonx_is_rfc3339(times[2]), 0);
}

/* jsonx_fmt_dec against printf, at the ends of int64 and uint64 and round them. */
static void test_fmt_dec(void)
{
    static const uint64_t mags[] = {0,
                                    1,
                                    9,
                                    10,
                                    99,
                                    100,
                                    12345678901234567ULL,
                                    (uint64_t)INT64_MAX,
                                    (uint64_t)INT64_MAX + 1,
                                    UINT64_MAX};
    for (size_t i = 0; i < sizeof(mags) / sizeof(mags[0]); i++)
        for (int minus = 0; minus < 2; minus++) {
            char got[JSONX_DEC_MAX], want[32];
            int n = snprintf(want, sizeof(want), "%s%llu", minus ? "-" : "",
                             (unsigned long long)mags[i]);
            CU_ASSERT_EQUAL(jsonx_fmt_dec(got, mags[i], minus), (size_t)n);
            CU_ASSERT_STRING_EQUAL(got, want);
        }
}

int suite_jsonx_register(void)
{
    static const struct test_case cases[] = {
        {"strict parsing", test_parse_strict},
        {"number range", test_number_range},
        {"text strict", test_text_strict},
        {"duplicate keys", test_duplicate_keys},
        {"depth limit", test_parse_depth_limit},
        {"stray closing brackets", test_stray_closing_brackets},
        {"a refusal in an object's first key", test_refusal_in_first_key},
        {"field validators", test_fields},
        {"unknown keys rejected", test_only_keys},
        {"compact output", test_to_string},
        {"jsonx_read accepts what jsonx_parse accepts", test_read_agrees},
        {"jsonx_read's values", test_read_values},
        {"the getters of both trees agree", test_read_getters},
        {"jsonx_vredacts is jsonx_redact's verdict", test_read_redacts},
        {"an RFC 3339 time of a given length", test_rfc3339_len},
        {"a cut body's surrogate does not reach the next", test_dangling_surrogate},
        {"decimal digits of a sign and a magnitude", test_fmt_dec},
        {NULL, NULL},
    };
    return test_add_suite("jsonx", cases);
}
