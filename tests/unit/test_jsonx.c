/* jsonx: strict parsing and the field validators that name the failing field. */
#include <stdio.h>
#include <string.h>

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

/* The sole member's text as sent, or -1 when the document is not written so. */
static void test_sole_member(void)
{
    static const struct {
        const char *doc, *key, *want; /* want NULL: -1 */
    } cases[] = {
        {"{\"events\":[{\"a\":1},{\"b\":\"}\"}]}", "events", "[{\"a\":1},{\"b\":\"}\"}]"},
        {" \n{ \"events\" :\t[1, 2] \r\n} \n", "events", "[1, 2]"},
        {"{\"events\":{}}", "events", "{}"},
        {"{\"secret\":2}", "secret", "2"}, /* a bare number up to the brace (fuzz_json.c) */
        {"{\"event\":[1]}", "events", NULL},
        {"{\"eventsx\":[1]}", "events", NULL},
        {"{\"\\u0065vents\":[1]}", "events", NULL}, /* escaped: the tree's own text must do */
        {"[{\"events\":[1]}]", "events", NULL},
        {"{\"events\":", "events", NULL},
        {"{\"events\":}", "events", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t off = 0, n = 0, len = strlen(cases[i].doc);
        int rc = jsonx_sole_member(cases[i].doc, len, cases[i].key, &off, &n);
        if (!cases[i].want) {
            CU_ASSERT_EQUAL(rc, -1);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_EQUAL(n, strlen(cases[i].want));
        CU_ASSERT_EQUAL(memcmp(cases[i].doc + off, cases[i].want, n), 0);
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
        {"a sole member's text as sent", test_sole_member},
        {NULL, NULL},
    };
    return test_add_suite("jsonx", cases);
}
