/* otlp_pb and inflate: the protobuf decoder against the unmodified OpenTelemetry JS
 * serializers (tests/otlp/vectors, made by tests/otlp/gen_vectors.mjs: the same spans as
 * protobuf and as OTLP JSON; the decoded protobuf must equal the JSON once both are
 * normalized), then hand-made malformed and edge inputs, every truncation of a valid
 * request, and gzip inflation under its cap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "arena.h"
#include "inflate.h"
#include "jsonx.h"
#include "otlp_pb.h"
#include "suites.h"

/* ---- helpers */

static unsigned char *read_file(const char *name, size_t *len)
{
    const char *dir = getenv("RUNWATCH_REPO_DIR");
    char path[1024];
    FILE *f;
    unsigned char *buf = NULL;
    long n;

    snprintf(path, sizeof(path), "%s/tests/otlp/vectors/%s", dir ? dir : ".", name);
    if ((f = fopen(path, "rb")) == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)n, f);
        buf[*len] = '\0';
    }
    fclose(f);
    return buf;
}

/* The AnyValue members: kept whatever their value (proto3 sends a set oneof member even
 * when it is zero). */
static int is_oneof_key(const char *k)
{
    return !strcmp(k, "stringValue") || !strcmp(k, "boolValue") || !strcmp(k, "intValue") ||
           !strcmp(k, "doubleValue") || !strcmp(k, "bytesValue");
}

/* Makes the two encodings' trees comparable: proto3 leaves zero values out where the JS
 * JSON serializer writes them (0, "", [], undefined), and the JS serializer adds a
 * non-standard resource.schemaUrl (the request's schemaUrl is one level up, in both). */
static void normalize(json_object *obj)
{
    if (json_object_is_type(obj, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(obj); i++)
            normalize(json_object_array_get_idx(obj, i));
        return;
    }
    if (!json_object_is_type(obj, json_type_object))
        return;
    for (;;) {
        const char *drop = NULL;
        json_object_object_foreach(obj, key, val)
        {
            if (!strcmp(key, "resource") && json_object_is_type(val, json_type_object))
                json_object_object_del(val, "schemaUrl");
            normalize(val);
            if (is_oneof_key(key))
                continue;
            if (val == NULL ||
                (json_object_is_type(val, json_type_int) && json_object_get_int64(val) == 0) ||
                (json_object_is_type(val, json_type_string) &&
                 json_object_get_string_len(val) == 0) ||
                (json_object_is_type(val, json_type_array) && json_object_array_length(val) == 0)) {
                drop = key;
                break;
            }
        }
        if (!drop)
            return;
        json_object_object_del(obj, drop);
    }
}

static double as_double(json_object *o)
{
    if (json_object_is_type(o, json_type_string))
        return strtod(json_object_get_string(o), NULL);
    return json_object_get_double(o);
}

/* Structural equality; numbers by value (the JS JSON writes intValue as a JSON number,
 * rounded to a double past 2^53, where the protobuf carries every bit). On a difference,
 * path says where. */
static int tree_equal(json_object *a, json_object *b, char *path, size_t cap)
{
    json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
    size_t plen = strlen(path);

    if (ta == json_type_object && tb == json_type_object) {
        if (json_object_object_length(a) != json_object_object_length(b))
            return 0;
        json_object_object_foreach(a, key, va)
        {
            json_object *vb;
            snprintf(path + plen, cap - plen, ".%s", key);
            if (!json_object_object_get_ex(b, key, &vb) || !tree_equal(va, vb, path, cap))
                return 0;
        }
        path[plen] = '\0';
        return 1;
    }
    if (ta == json_type_array && tb == json_type_array) {
        if (json_object_array_length(a) != json_object_array_length(b))
            return 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            snprintf(path + plen, cap - plen, "[%zu]", i);
            if (!tree_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i), path,
                            cap))
                return 0;
        }
        path[plen] = '\0';
        return 1;
    }
    if (ta == json_type_string && tb == json_type_string)
        return json_object_get_string_len(a) == json_object_get_string_len(b) &&
               !memcmp(json_object_get_string(a), json_object_get_string(b),
                       (size_t)json_object_get_string_len(a));
    if (ta == json_type_boolean && tb == json_type_boolean)
        return json_object_get_boolean(a) == json_object_get_boolean(b);
    if ((ta == json_type_int || ta == json_type_double || ta == json_type_string) &&
        (tb == json_type_int || tb == json_type_double || tb == json_type_string))
        return as_double(a) == as_double(b);
    return 0;
}

/* otlp_pb_decode's read-only tree as a json-c tree, to compare with what jsonx_parse makes
 * of the JSON mapping: the tree printed (jsonx_out_val) and parsed again, so a tree the
 * JSON path would refuse (its depth, UTF-8, numbers) fails here too. NULL with err filled
 * when the decoder refused; a printed tree that does not parse again is a failed check. */
static json_object *pb_json(const unsigned char *buf, size_t len, struct jsonx_err *err)
{
    struct arena a;
    struct jsonx_val root;
    struct jsonx_out o;
    json_object *tree = NULL;

    arena_init(&a, 4096);
    if (otlp_pb_decode(&a, buf, len, &root, err) == 0) {
        const char *text;
        size_t tl;
        struct jsonx_err jerr;
        jsonx_out_init(&o, &a, 256);
        jsonx_out_val(&o, &root);
        text = jsonx_out_end(&o, &tl);
        CU_ASSERT_PTR_NOT_NULL(text);
        tree = text ? jsonx_parse(text, tl, &jerr) : NULL;
        CU_ASSERT_PTR_NOT_NULL(tree);
        if (text && !tree)
            fprintf(stderr, "\nthe decoded tree does not parse as JSON: %s (%s)\n", jerr.message,
                    jerr.field);
    }
    arena_fini(&a);
    return tree;
}

static json_object *decode_ok(const unsigned char *buf, size_t len)
{
    struct jsonx_err err = {{0}, {0}};
    json_object *o = pb_json(buf, len, &err);
    if (!o)
        fprintf(stderr, "\nrefused: %s (field %s)\n", err.message, err.field);
    return o;
}

/* What the JSON path would make of our tree: jsonx_parse must take its text back. */
static int reparses(json_object *o)
{
    struct jsonx_err err;
    size_t len;
    const char *text = jsonx_to_string(o, &len);
    json_object *again = jsonx_parse(text, len, &err);
    if (!again) {
        fprintf(stderr, "\nour tree does not parse as JSON: %s (%s)\n", err.message, err.field);
        return 0;
    }
    json_object_put(again);
    return 1;
}

/* A tree's value at a path of keys and indexes ("resourceSpans", "0", ...), NULL-ended. */
static json_object *at(json_object *o, const char *const *keys)
{
    for (; o && *keys; keys++) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(*keys));
        else if (!json_object_object_get_ex(o, *keys, &o))
            return NULL;
    }
    return o;
}

/* The span attribute named key of the first span: its AnyValue. */
static json_object *attr(json_object *root, int span, const char *key)
{
    char idx[16];
    snprintf(idx, sizeof(idx), "%d", span);
    const char *const p[] = {"resourceSpans", "0", "scopeSpans", "0",
                             "spans",         idx, "attributes", NULL};
    json_object *attrs = at(root, p);
    for (size_t i = 0; attrs && i < json_object_array_length(attrs); i++) {
        json_object *kv = json_object_array_get_idx(attrs, i), *k, *v;
        if (json_object_object_get_ex(kv, "key", &k) && !strcmp(json_object_get_string(k), key) &&
            json_object_object_get_ex(kv, "value", &v))
            return v;
    }
    return NULL;
}

static const char *attr_text(json_object *root, const char *key, const char *member)
{
    json_object *v = attr(root, 0, key), *m;
    if (!v || !json_object_object_get_ex(v, member, &m))
        return "(absent)";
    return json_object_get_string(m);
}

/* ---- the npm vectors */

static void check_vector(const char *name)
{
    char fpb[64], fjson[64], path[512] = "";
    size_t pblen = 0, jlen = 0;
    unsigned char *pb, *js;
    json_object *ours, *theirs;

    snprintf(fpb, sizeof(fpb), "%s.pb", name);
    snprintf(fjson, sizeof(fjson), "%s.json", name);
    pb = read_file(fpb, &pblen);
    js = read_file(fjson, &jlen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    ours = decode_ok(pb, pblen);
    theirs = json_tokener_parse((const char *)js);
    CU_ASSERT_PTR_NOT_NULL(ours);
    CU_ASSERT_PTR_NOT_NULL(theirs);
    if (ours && theirs) {
        CU_ASSERT(reparses(ours));
        normalize(ours);
        normalize(theirs);
        if (!tree_equal(ours, theirs, path, sizeof(path))) {
            fprintf(stderr, "\n%s: protobuf and JSON differ at %s\nours:   %s\ntheirs: %s\n", name,
                    path, jsonx_to_string(ours, NULL), json_object_to_json_string(theirs));
            CU_FAIL("the decoded protobuf differs from the JSON serialization");
        }
    }
    json_object_put(ours);
    json_object_put(theirs);
    free(pb);
    free(js);
}

static void test_vectors_equal_json(void)
{
    check_vector("every_type");
    check_vector("full");
    check_vector("empty");
    check_vector("sdk");
}

/* What the JSON rounds, the protobuf keeps exactly, and our tree must show it. */
static void test_vectors_exact(void)
{
    size_t len = 0;
    unsigned char *pb = read_file("full.pb", &len);
    json_object *o;

    CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
    o = decode_ok(pb, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(attr_text(o, "int.min", "intValue"), "-9223372036854775808");
    CU_ASSERT_STRING_EQUAL(attr_text(o, "int.maxdouble", "intValue"), "9223372036854774784");
    CU_ASSERT_STRING_EQUAL(attr_text(o, "int.2p62", "intValue"), "4611686018427387904");
    CU_ASSERT_STRING_EQUAL(attr_text(o, "int.neg", "intValue"), "-1");
    CU_ASSERT_STRING_EQUAL(attr_text(o, "bytes", "bytesValue"), "AAECf4D+/w==");
    CU_ASSERT_STRING_EQUAL(attr_text(o, "bytes.one", "bytesValue"), "+w==");
    CU_ASSERT_STRING_EQUAL(attr_text(o, "bytes.two", "bytesValue"), "+/8=");
    CU_ASSERT_STRING_EQUAL(attr_text(o, "bytes.empty", "bytesValue"), "");
    CU_ASSERT_STRING_EQUAL(attr_text(o, "double.tenth", "doubleValue"), "0.1");
    {
        json_object *d;
        CU_ASSERT(json_object_object_get_ex(attr(o, 0, "double.subnormal"), "doubleValue", &d) &&
                  json_object_get_double(d) == 5e-324);
        CU_ASSERT(json_object_object_get_ex(attr(o, 0, "double.third"), "doubleValue", &d) &&
                  json_object_get_double(d) == 1.0 / 3);
    }
    /* null and undefined attribute values: an empty AnyValue, as in the JSON. */
    CU_ASSERT_EQUAL(json_object_object_length(attr(o, 0, "null")), 0);
    {
        /* The span with both ends of fixed64 and a remote parent. */
        const char *const start[] = {"resourceSpans", "0", "scopeSpans",        "1",
                                     "spans",         "0", "startTimeUnixNano", NULL};
        const char *const end[] = {"resourceSpans", "0", "scopeSpans",      "1",
                                   "spans",         "0", "endTimeUnixNano", NULL};
        const char *const flags[] = {"resourceSpans", "0", "scopeSpans", "1",
                                     "spans",         "0", "flags",      NULL};
        const char *const parent[] = {"resourceSpans", "0", "scopeSpans",   "1",
                                      "spans",         "0", "parentSpanId", NULL};
        CU_ASSERT_STRING_EQUAL(json_object_get_string(at(o, start)), "0");
        CU_ASSERT_STRING_EQUAL(json_object_get_string(at(o, end)), "18446744073709551615");
        CU_ASSERT_EQUAL(json_object_get_int64(at(o, flags)), 0x300);
        CU_ASSERT_STRING_EQUAL(json_object_get_string(at(o, parent)), "ffffffffffffffff");
    }
    json_object_put(o);
    free(pb);
}

/* Every prefix of a valid request is refused or decoded, never a crash (the ASan build
 * runs this too), and so is every single-byte change. */
static void test_truncations_and_flips(void)
{
    const char *names[] = {"full.pb", "every_type.pb", "sdk.pb"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        size_t len = 0, refused = 0;
        unsigned char *pb = read_file(names[k], &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
        for (size_t n = 0; n < len; n++) {
            struct jsonx_err err = {{0}, {0}};
            unsigned char *copy = malloc(n ? n : 1);
            json_object *o;
            memcpy(copy, pb, n); /* exactly n bytes: ASan sees a read past them */
            o = pb_json(copy, n, &err);
            if (o) {
                CU_ASSERT(reparses(o));
            } else {
                refused++;
                CU_ASSERT(strncmp(err.message, "malformed protobuf: ", 20) == 0);
            }
            json_object_put(o);
            free(copy);
        }
        /* Most prefixes cut a length-delimited field short. */
        CU_ASSERT(refused > len / 2);
        for (size_t i = 0; i < len; i++) {
            static const unsigned char flips[] = {0x00, 0xff, 0x80, 0x7f};
            for (size_t f = 0; f < sizeof(flips); f++) {
                struct jsonx_err err;
                unsigned char save = pb[i];
                json_object *o;
                pb[i] = flips[f];
                o = pb_json(pb, len, &err);
                if (o)
                    CU_ASSERT(reparses(o));
                json_object_put(o);
                pb[i] = save;
            }
        }
        free(pb);
    }
}

/* ---- hand-made inputs */

struct pbuf {
    unsigned char b[2048];
    size_t n;
};

static void put_varint(struct pbuf *p, unsigned long long v)
{
    do {
        p->b[p->n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

static void put_tag(struct pbuf *p, unsigned num, unsigned wt)
{
    put_varint(p, (unsigned long long)num << 3 | wt);
}

static void put_len(struct pbuf *p, unsigned num, const void *s, size_t n)
{
    put_tag(p, num, 2);
    put_varint(p, n);
    memcpy(p->b + p->n, s, n);
    p->n += n;
}

static void put_msg(struct pbuf *p, unsigned num, const struct pbuf *m)
{
    put_len(p, num, m->b, m->n);
}

static void put_fixed64(struct pbuf *p, unsigned num, unsigned long long v)
{
    put_tag(p, num, 1);
    for (int i = 0; i < 8; i++)
        p->b[p->n++] = (unsigned char)(v >> (8 * i));
}

/* A request with one span made of span_fields. */
static void wrap_span(struct pbuf *req, const struct pbuf *span)
{
    struct pbuf ss = {{0}, 0}, rs = {{0}, 0};
    req->n = 0;
    put_msg(&ss, 2, span);
    put_msg(&rs, 2, &ss);
    put_msg(req, 1, &rs);
}

/* A request whose one span has the attribute "k" = value. */
static void wrap_value(struct pbuf *req, const struct pbuf *value)
{
    struct pbuf kv = {{0}, 0}, span = {{0}, 0};
    put_len(&kv, 1, "k", 1);
    put_msg(&kv, 2, value);
    put_msg(&span, 9, &kv);
    wrap_span(req, &span);
}

static const char *first_value(json_object *o, const char *member)
{
    json_object *v = attr(o, 0, "k"), *m;
    if (!v || !json_object_object_get_ex(v, member, &m))
        return "(absent)";
    return json_object_get_string(m);
}

static void test_doubles(void)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {1.5, "1.5"},
        {1e300, "1e+300"},
        {1e21, "1e+21"},
        {123456789012345678.0, "1.2345678901234568e+17"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {5e-324, "4.94065645841247e-324"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pbuf val = {{0}, 0}, req;
        unsigned long long bits;
        json_object *o, *d;
        memcpy(&bits, &cases[i].v, sizeof(bits));
        put_fixed64(&val, 4, bits);
        wrap_value(&req, &val);
        o = decode_ok(req.b, req.n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT(json_object_object_get_ex(attr(o, 0, "k"), "doubleValue", &d));
        CU_ASSERT(json_object_is_type(d, json_type_double));
        CU_ASSERT_STRING_EQUAL(json_object_to_json_string(d), cases[i].text);
        CU_ASSERT(json_object_get_double(d) == cases[i].v);
        CU_ASSERT(reparses(o));
        json_object_put(o);
    }
    /* Not numbers in JSON: the proto3 JSON mapping's strings. */
    static const struct {
        double v;
        const char *text;
    } special[] = {{NAN, "NaN"}, {INFINITY, "Infinity"}, {-INFINITY, "-Infinity"}};
    for (size_t i = 0; i < 3; i++) {
        struct pbuf val = {{0}, 0}, req;
        unsigned long long bits;
        json_object *o;
        memcpy(&bits, &special[i].v, sizeof(bits));
        put_fixed64(&val, 4, bits);
        wrap_value(&req, &val);
        o = decode_ok(req.b, req.n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_STRING_EQUAL(first_value(o, "doubleValue"), special[i].text);
        json_object_put(o);
    }
}

static void test_scalars_and_merging(void)
{
    struct pbuf span = {{0}, 0}, st1 = {{0}, 0}, st2 = {{0}, 0}, req;
    json_object *o;

    /* kind -1: an int32 sent sign-extended in 10 bytes. */
    put_tag(&span, 6, 0);
    put_varint(&span, 0xffffffffffffffffULL);
    /* A field sent twice: the last wins; a message sent twice merges. */
    put_len(&span, 5, "first", 5);
    put_len(&span, 5, "second", 6);
    put_len(&st1, 2, "msg", 3);
    put_tag(&st2, 3, 0);
    put_varint(&st2, 2);
    put_msg(&span, 15, &st1);
    put_msg(&span, 15, &st2);
    put_len(&span, 4, "", 0); /* an empty parent: no parent */
    put_tag(&span, 10, 0);
    put_varint(&span, 0xffffffffULL);
    wrap_span(&req, &span);
    o = decode_ok(req.b, req.n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    {
        const char *const kind[] = {"resourceSpans", "0", "scopeSpans", "0",
                                    "spans",         "0", "kind",       NULL};
        const char *const name[] = {"resourceSpans", "0", "scopeSpans", "0",
                                    "spans",         "0", "name",       NULL};
        const char *const msg[] = {"resourceSpans", "0",       "scopeSpans", "0", "spans", "0",
                                   "status",        "message", NULL};
        const char *const code[] = {"resourceSpans", "0",    "scopeSpans", "0", "spans", "0",
                                    "status",        "code", NULL};
        const char *const parent[] = {"resourceSpans", "0", "scopeSpans",   "0",
                                      "spans",         "0", "parentSpanId", NULL};
        const char *const dropped[] = {
            "resourceSpans", "0", "scopeSpans", "0", "spans", "0", "droppedAttributesCount", NULL};
        CU_ASSERT_EQUAL(json_object_get_int64(at(o, kind)), -1);
        CU_ASSERT_STRING_EQUAL(json_object_get_string(at(o, name)), "second");
        CU_ASSERT_STRING_EQUAL(json_object_get_string(at(o, msg)), "msg");
        CU_ASSERT_EQUAL(json_object_get_int64(at(o, code)), 2);
        CU_ASSERT_STRING_EQUAL(json_object_get_string(at(o, parent)), "");
        CU_ASSERT_EQUAL(json_object_get_int64(at(o, dropped)), 4294967295LL);
    }
    json_object_put(o);

    /* A oneof: the last member set wins, the others go. */
    {
        struct pbuf val = {{0}, 0};
        put_len(&val, 1, "s", 1);
        put_tag(&val, 3, 0);
        put_varint(&val, 5);
        wrap_value(&req, &val);
        o = decode_ok(req.b, req.n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(json_object_object_length(attr(o, 0, "k")), 1);
        CU_ASSERT_STRING_EQUAL(first_value(o, "intValue"), "5");
        json_object_put(o);
    }
    /* Unknown fields of every wire type, a group with a group inside, are skipped. */
    {
        struct pbuf val = {{0}, 0};
        put_tag(&val, 100, 0);
        put_varint(&val, 1ULL << 63);
        put_fixed64(&val, 101, 7);
        put_len(&val, 102, "xyz", 3);
        put_tag(&val, 103, 5);
        memcpy(val.b + val.n, "\1\2\3\4", 4);
        val.n += 4;
        put_tag(&val, 104, 3);
        put_tag(&val, 105, 3);
        put_tag(&val, 1, 0);
        put_varint(&val, 9);
        put_tag(&val, 105, 4);
        put_tag(&val, 104, 4);
        put_len(&val, 8000, "", 0);
        put_len(&val, 1, "kept", 4);
        wrap_value(&req, &val);
        o = decode_ok(req.b, req.n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_STRING_EQUAL(first_value(o, "stringValue"), "kept");
        CU_ASSERT_EQUAL(json_object_object_length(attr(o, 0, "k")), 1);
        json_object_put(o);
    }
    /* An empty body is an empty request. */
    o = decode_ok((const unsigned char *)"", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(json_object_object_length(o), 0);
    json_object_put(o);
}

/* Nesting: arrays of arrays up to the JSON path's depth are taken, one more is refused,
 * and the JSON path refuses the JSON text of that one too. */
static void test_depth(void)
{
    for (int k = 6; k <= 9; k++) {
        struct pbuf v = {{0}, 0}, req;
        struct jsonx_err err = {{0}, {0}};
        json_object *o;
        char text[1024];
        size_t tl = 0;

        put_tag(&v, 3, 0);
        put_varint(&v, 1);
        for (int i = 0; i < k; i++) {
            struct pbuf arr = {{0}, 0}, next = {{0}, 0};
            put_msg(&arr, 1, &v);
            put_msg(&next, 5, &arr);
            v = next;
        }
        wrap_value(&req, &v);
        o = pb_json(req.b, req.n, &err);
        /* The same document as JSON text, for jsonx_parse. */
        tl += (size_t)snprintf(text + tl, sizeof(text) - tl,
                               "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":"
                               "[{\"key\":\"k\",\"value\":");
        for (int i = 0; i < k; i++)
            tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "{\"arrayValue\":{\"values\":[");
        tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "{\"intValue\":\"1\"}");
        for (int i = 0; i < k; i++)
            tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "]}}");
        tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "}]}]}]}]}");
        {
            struct jsonx_err jerr;
            json_object *j = jsonx_parse(text, tl, &jerr);
            /* Both encodings agree on where the limit is. */
            CU_ASSERT_EQUAL(o != NULL, j != NULL);
            if (o && j) {
                char path[512] = "";
                CU_ASSERT(tree_equal(o, j, path, sizeof(path)));
            }
            json_object_put(j);
        }
        if (k <= 7) {
            CU_ASSERT_PTR_NOT_NULL(o);
        } else {
            CU_ASSERT_PTR_NULL(o);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "nests deeper than 32 levels"));
        }
        json_object_put(o);
    }
}

static void test_malformed(void)
{
    struct pbuf id15 = {{0}, 0}, id9 = {{0}, 0}, badutf = {{0}, 0}, nul = {{0}, 0}, big = {{0}, 0},
                kind = {{0}, 0}, wt = {{0}, 0}, lid = {{0}, 0};
    struct pbuf reqs[8];
    static const unsigned char raw_id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct pbuf link = {{0}, 0};

    put_len(&id15, 1, raw_id, 15);
    put_len(&id9, 2, raw_id, 9);
    put_len(&badutf, 5, "a\xc0\xafz", 4); /* an overlong '/' */
    put_len(&nul, 5, "a\0b", 3);
    put_tag(&big, 10, 0);
    put_varint(&big, 0x100000000ULL);
    put_tag(&kind, 6, 0);
    put_varint(&kind, 0x80000000ULL);
    put_tag(&wt, 7, 0); /* startTimeUnixNano is fixed64 */
    put_varint(&wt, 1);
    put_len(&link, 1, raw_id, 16);
    put_len(&link, 2, raw_id, 7);
    put_msg(&lid, 13, &link);
    wrap_span(&reqs[0], &id15);
    wrap_span(&reqs[1], &id9);
    wrap_span(&reqs[2], &badutf);
    wrap_span(&reqs[3], &nul);
    wrap_span(&reqs[4], &big);
    wrap_span(&reqs[5], &kind);
    wrap_span(&reqs[6], &wt);
    wrap_span(&reqs[7], &lid);

    static const struct {
        const char *field, *message;
    } want[] = {
        {"resourceSpans[0].scopeSpans[0].spans[0].traceId", "must be 16 bytes, not 15"},
        {"resourceSpans[0].scopeSpans[0].spans[0].spanId", "must be 8 bytes, not 9"},
        {"resourceSpans[0].scopeSpans[0].spans[0].name", "is not valid UTF-8"},
        {"resourceSpans[0].scopeSpans[0].spans[0].name", "must not contain NUL characters"},
        {"resourceSpans[0].scopeSpans[0].spans[0].droppedAttributesCount", "past uint32"},
        {"resourceSpans[0].scopeSpans[0].spans[0].kind", "past int32"},
        {"resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano", "has wire type 0, not 1"},
        {"resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId", "must be 8 bytes, not 7"},
    };
    for (size_t i = 0; i < 8; i++) {
        struct jsonx_err err = {{0}, {0}};
        json_object *o = pb_json(reqs[i].b, reqs[i].n, &err);
        CU_ASSERT_PTR_NULL(o);
        json_object_put(o);
        CU_ASSERT_STRING_EQUAL(err.field, want[i].field);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want[i].message));
        if (strcmp(err.field, want[i].field) || !strstr(err.message, want[i].message))
            fprintf(stderr, "\ncase %zu: %s (%s)\n", i, err.message, err.field);
    }

    /* Raw byte strings: broken framing at the top. */
    static const struct {
        const char *bytes;
        size_t len;
        const char *field, *message;
    } raw[] = {
        {"\x0a", 1, "resourceSpans", "truncated varint"},
        {"\x80", 1, "", "truncated varint"},
        {"\x0a\x05\x00", 3, "resourceSpans", "past the end of its message"},
        {"\x08\x01", 2, "resourceSpans", "has wire type 0, not 2"},
        {"\x00\x01", 2, "", "has field number 0"},
        {"\x2f", 1, "", "field 5 has wire type 7"},
        {"\x2c", 1, "", "field 5 has wire type 4"},
        {"\x2b\x08\x01", 3, "", "group 5 has no end"},
        {"\x2b\x34", 2, "", "group 5 ends with group 6"},
        {"\x29\x01\x02", 3, "", "field 5 ends past its message"},
        {"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11, "", "longer than 10 bytes"},
        {"\x0a\x02\x12\x05", 4, "resourceSpans[0].scopeSpans", "past the end"},
    };
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        struct jsonx_err err = {{0}, {0}};
        json_object *o = pb_json((const unsigned char *)raw[i].bytes, raw[i].len, &err);
        CU_ASSERT_PTR_NULL(o);
        json_object_put(o);
        CU_ASSERT_STRING_EQUAL(err.field, raw[i].field);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, raw[i].message));
        if (strcmp(err.field, raw[i].field) || !strstr(err.message, raw[i].message))
            fprintf(stderr, "\nraw case %zu: %s (%s)\n", i, err.message, err.field);
    }
}

/* ---- inflate */

static unsigned char *gzip(const unsigned char *in, size_t n, size_t *outlen)
{
    z_stream zs;
    size_t cap = compressBound(n) + 64;
    unsigned char *out = malloc(cap);

    memset(&zs, 0, sizeof(zs));
    if (!out || deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&zs);
        free(out);
        return NULL;
    }
    *outlen = zs.total_out;
    deflateEnd(&zs);
    return out;
}

static void test_inflate(void)
{
    size_t plen = 0, glen = 0, olen;
    unsigned char *plain = read_file("full.pb", &plen), *gz, *out, *two;
    struct jsonx_err err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    gz = gzip(plain, plen, &glen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gz);
    /* Exactly at the cap: taken; one byte under: refused. */
    CU_ASSERT_EQUAL(inflate_gzip(gz, glen, plen, &out, &olen, &err), INFLATE_OK);
    CU_ASSERT_EQUAL(olen, plen);
    CU_ASSERT(out && memcmp(out, plain, plen) == 0 && out[olen] == '\0');
    free(out);
    CU_ASSERT_EQUAL(inflate_gzip(gz, glen, plen - 1, &out, &olen, &err), INFLATE_TOO_LARGE);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_STRING_EQUAL(err.field, "Content-Encoding");
    /* Two members in a row: both. */
    two = malloc(2 * glen);
    memcpy(two, gz, glen);
    memcpy(two + glen, gz, glen);
    CU_ASSERT_EQUAL(inflate_gzip(two, 2 * glen, 2 * plen, &out, &olen, &err), INFLATE_OK);
    CU_ASSERT_EQUAL(olen, 2 * plen);
    CU_ASSERT(out && memcmp(out + plen, plain, plen) == 0);
    free(out);
    /* Trailing garbage, every truncation and a flipped CRC: malformed. */
    two[glen] = 'x';
    CU_ASSERT_EQUAL(inflate_gzip(two, glen + 1, 2 * plen, &out, &olen, &err), INFLATE_MALFORMED);
    for (size_t n = 0; n < glen; n++)
        CU_ASSERT_EQUAL(inflate_gzip(gz, n, 2 * plen, &out, &olen, &err), INFLATE_MALFORMED);
    gz[glen - 6] ^= 1;
    CU_ASSERT_EQUAL(inflate_gzip(gz, glen, 2 * plen, &out, &olen, &err), INFLATE_MALFORMED);
    CU_ASSERT_EQUAL(inflate_gzip((const unsigned char *)"{}", 2, 100, &out, &olen, &err),
                    INFLATE_MALFORMED);
    /* An empty document compresses to a valid gzip of nothing. */
    free(gz);
    gz = gzip((const unsigned char *)"", 0, &glen);
    CU_ASSERT_EQUAL(inflate_gzip(gz, glen, 0, &out, &olen, &err), INFLATE_OK);
    CU_ASSERT(out != NULL && olen == 0);
    free(out);
    free(gz);
    free(two);
    free(plain);
}

/* A bomb: 64 MiB of zeros is ~64 KiB compressed; a 1 MiB cap stops it there. */
static void test_inflate_bomb(void)
{
    size_t n = 64u << 20, glen = 0, olen = 1;
    unsigned char *zeros = calloc(1, n), *gz, *out = (unsigned char *)"x";
    struct jsonx_err err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(zeros);
    gz = gzip(zeros, n, &glen);
    free(zeros);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gz);
    CU_ASSERT(glen < n / 500);
    CU_ASSERT_EQUAL(inflate_gzip(gz, glen, 1u << 20, &out, &olen, &err), INFLATE_TOO_LARGE);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(olen, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "size limit"));
    free(gz);
}

/* The replies: the bytes protobuf gives these messages (hand-checked against
 * trace_service.proto and google/rpc/status.proto), and the size a NULL writer counts. */
static void test_replies(void)
{
    unsigned char out[64];
    static const unsigned char partial[] = {0x0a, 0x06, 0x08, 0x02, 0x12, 0x02, 'n', 'o'};
    static const unsigned char big[] = {0x0a, 0x06, 0x08, 0xac, 0x02, 0x12, 0x01, 'x'};
    static const unsigned char status[] = {0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd'};

    CU_ASSERT_EQUAL(otlp_pb_export_response(NULL, 0, "ignored"), 0);
    CU_ASSERT_EQUAL(otlp_pb_export_response(NULL, 2, "no"), sizeof(partial));
    CU_ASSERT_EQUAL(otlp_pb_export_response(out, 2, "no"), sizeof(partial));
    CU_ASSERT(memcmp(out, partial, sizeof(partial)) == 0);
    CU_ASSERT_EQUAL(otlp_pb_export_response(out, 300, "x"), sizeof(big));
    CU_ASSERT(memcmp(out, big, sizeof(big)) == 0);
    CU_ASSERT_EQUAL(otlp_pb_export_response(out, 1, NULL), 4); /* no message: left out */
    CU_ASSERT(memcmp(out, "\x0a\x02\x08\x01", 4) == 0);
    CU_ASSERT_EQUAL(otlp_pb_status(NULL, 3, "bad"), sizeof(status));
    CU_ASSERT_EQUAL(otlp_pb_status(out, 3, "bad"), sizeof(status));
    CU_ASSERT(memcmp(out, status, sizeof(status)) == 0);
    /* A message past 127 bytes takes a two-byte length. */
    char msg[200];
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    CU_ASSERT_EQUAL(otlp_pb_status(NULL, 13, msg), 2 + 1 + 2 + 199);
}

int suite_otlp_pb_register(void)
{
    static const struct test_case cases[] = {
        {"npm protobuf decodes to the npm JSON", test_vectors_equal_json},
        {"64-bit integers, bytes and doubles exactly", test_vectors_exact},
        {"every truncation and byte flip", test_truncations_and_flips},
        {"doubles, NaN and infinities", test_doubles},
        {"scalars, repeats, oneof, unknown fields", test_scalars_and_merging},
        {"depth cap agrees with the JSON path", test_depth},
        {"malformed input names the field", test_malformed},
        {"gzip: cap, members, truncation", test_inflate},
        {"gzip bomb stops at the cap", test_inflate_bomb},
        {"the protobuf replies", test_replies},
        {NULL, NULL},
    };
    return test_add_suite("otlp_pb", cases);
}
