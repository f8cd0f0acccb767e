/* spans: OpenTelemetry traces (docs/ARCHITECTURE.md, "Traces").
 * Ingest: the body is decoded into the OTLP JSON read-only tree (jsonx.h's jsonx_val, in the
 * request's arena: spans_otlp_decode, the one place an encoding is chosen), then
 * spans_otlp_ingest checks the whole tree, turns it into the
 * batch span_insert stores in one statement (one transaction, all or nothing), publishes
 * run.spans for each run it touched, and answers ExportTraceServiceResponse. A malformed
 * request is a 400 naming the field and stores nothing; a well-formed span that cannot be
 * kept (an all-zero id, a time past 2^63 ns) is counted in partialSuccess.
 * Reads: a run's spans (runs_access decides), a trace and a search within one project. */
#include "spans.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "api/runs.h"
#include "db.h"
#include "hex.h"
#include "inflate.h"
#include "log.h"
#include "otlp_pb.h"
#include "pgjson.h"
#include "pub.h"
#include "spanjson.h"

#define SPANS_PATH_FRAMES 128

/* The walk of one request: what it builds and where it is (the field path of an error:
 * frames of a key and, for an array's member, its index, turned into text only when a
 * field is refused; formatting it at every field was a cost every valid span paid). */
/* The batch's span columns, each one of span_insert's array parameters in libpq's binary
 * format (spans_col), in the statement's order. */
enum spans_column {
    SPANS_C_TRACE,   /* bytea: 16 bytes */
    SPANS_C_SPAN,    /* bytea: 8 bytes */
    SPANS_C_PARENT,  /* bytea: 8 bytes, NULL for a root */
    SPANS_C_STATE,   /* text */
    SPANS_C_FLAGS,   /* int8 */
    SPANS_C_NAME,    /* text */
    SPANS_C_KIND,    /* int2 */
    SPANS_C_START,   /* int8: ns */
    SPANS_C_END,     /* int8: ns */
    SPANS_C_CODE,    /* int2 */
    SPANS_C_MSG,     /* text */
    SPANS_C_ATTRS,   /* jsonb */
    SPANS_C_DATTRS,  /* int8 */
    SPANS_C_EVENTS,  /* jsonb */
    SPANS_C_DEVENTS, /* int8 */
    SPANS_C_LINKS,   /* jsonb */
    SPANS_C_DLINKS,  /* int8 */
    SPANS_C_RES,     /* int4: the resource's index in the batch */
    SPANS_C_SCOPE,   /* int4: the scope's */
    SPANS_C_RUN,     /* int4: its run's place in run_ids (from 1), NULL when it names none */
    SPANS_C_ATTEMPT, /* int4, NULL when it names no attempt */
    SPANS_C_RANK,    /* int4: the span's place among the batch's spans of its run, from 1 */
    SPANS_NCOLS
};

/* One column: a one-dimensional array as array_send writes it (a 20-byte header: 1
 * dimension, a has-nulls flag, the element type's OID, the length and the lower bound 1;
 * then each element as a 4-byte length, -1 for NULL, and its bytes; big-endian). The
 * header's flag and length are written at the end (spans_col_end). */
struct spans_col {
    struct jsonx_out o;
    uint32_t oid;
    int hasnull;
};

struct spans_walk {
    struct req *r;
    /* The batch, written as the walk goes: resources and scopes as two JSON arrays, the
     * spans as span_insert's column arrays (a tree of the batch and its serialisation were
     * a third of the request's CPU; a json document of the spans was a fifth of the
     * statement's, parsed again by PostgreSQL). */
    struct jsonx_out res, sco;
    struct spans_col col[SPANS_NCOLS];
    long nres, nsco, nspans;
    /* The runs the batch's spans name, how many each and in which order first named
     * (spans_rank; span_insert's run_ids and run_counts): open addressing on the UUID's
     * text, 2^k slots, at most half full. */
    struct spans_run_count {
        const char *run; /* NULL: an empty slot */
        long n;
        unsigned idx; /* from 1, in the order first named */
    } * runs;
    unsigned runs_mask, nruns;
    long rejected;
    const char *reject_reason;
    struct {
        const char *key; /* lives as long as the request's tree */
        long idx;        /* -1: not an array member */
    } path[SPANS_PATH_FRAMES];
    int depth; /* frames pushed (those past SPANS_PATH_FRAMES are counted, not kept) */
};

/* Enters key (idx >= 0: its member idx); returns the depth to go back to. */
static int spans_push(struct spans_walk *w, const char *key, long idx)
{
    int d = w->depth++;
    if (d < SPANS_PATH_FRAMES) {
        w->path[d].key = key;
        w->path[d].idx = idx;
    }
    return d;
}

static void spans_pop(struct spans_walk *w, int depth)
{
    w->depth = depth;
}

/* The walk's path, then key when given ("a[0].b.key"); NULL for the request itself. */
static const char *spans_path(struct spans_walk *w, const char *key)
{
    int n = w->depth < SPANS_PATH_FRAMES ? w->depth : SPANS_PATH_FRAMES;
    const char *out = "";

    for (int d = 0; d < n && out; d++)
        out = w->path[d].idx >= 0
                  ? arena_sprintf(w->r->op.arena, "%s%s%s[%ld]", out, d ? "." : "", w->path[d].key,
                                  w->path[d].idx)
                  : arena_sprintf(w->r->op.arena, "%s%s%s", out, d ? "." : "", w->path[d].key);
    if (out && key)
        out = arena_sprintf(w->r->op.arena, "%s%s%s", out, n ? "." : "", key);
    return out && out[0] ? out : NULL;
}

/* A 400 naming the field at the walk's path (plus key when given). */
static int spans_bad(struct spans_walk *w, const char *key, const char *msg)
{
    return req_error(w->r, 400, "invalid_field", spans_path(w, key), "%s", msg);
}

/* A string of the request's tree: its text (not NUL-terminated) and length. */
struct spans_str {
    const char *s;
    size_t n;
};

/* 1 when a string of the tree is lit (a NUL-terminated literal). */
static int spans_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* A member of obj, NULL when absent or JSON null (proto3 JSON: null is the default). */
static const struct jsonx_val *spans_get(const struct jsonx_val *obj, const char *key)
{
    const struct jsonx_val *v = jsonx_get(obj, key);
    return v && v->kind != JSONX_NULL ? v : NULL;
}

/* An optional object member; -1 with the error set when it is another type. */
static int spans_object(struct spans_walk *w, const struct jsonx_val *obj, const char *key,
                        const struct jsonx_val **out)
{
    *out = spans_get(obj, key);
    if (*out && (*out)->kind != JSONX_OBJECT)
        return spans_bad(w, key, "must be an object");
    return 0;
}

static int spans_array(struct spans_walk *w, const struct jsonx_val *obj, const char *key,
                       const struct jsonx_val **out)
{
    *out = spans_get(obj, key);
    if (*out && (*out)->kind != JSONX_ARRAY)
        return spans_bad(w, key, "must be an array");
    return 0;
}

/* An optional string member without NUL bytes (PostgreSQL's text holds none); "" absent. */
static int spans_string(struct spans_walk *w, const struct jsonx_val *obj, const char *key,
                        struct spans_str *out)
{
    const struct jsonx_val *v = spans_get(obj, key);
    out->s = "";
    out->n = 0;
    if (!v)
        return 0;
    if (v->kind != JSONX_STRING)
        return spans_bad(w, key, "must be a string");
    if (v->len && memchr(v->s, '\0', v->len))
        return spans_bad(w, key, "must not contain NUL");
    if (v->len) {
        out->s = v->s;
        out->n = v->len;
    }
    return 0;
}

/* Decimal digits only (an optional leading '-' when neg), at most 20 of them. */
static int spans_digits(const char *s, int neg)
{
    size_t i = (neg && s[0] == '-') ? 1 : 0, n = 0;
    for (; s[i]; i++, n++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return n > 0 && n <= 20;
}

/* 1 when s[0..n) is a non-negative int64 in decimal (a cursor's nanoseconds: 19 digits,
 * one more than req_is_int takes). */
static int spans_digits_n(const char *s, size_t n)
{
    char buf[24];
    if (n == 0 || n > 19)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    (void)strtoll(buf, NULL, 10);
    return errno == 0;
}

/* s[0..n) as decimal digits, with a leading '-' when neg allows it: 0 with the magnitude in
 * *mag and *minus set for a '-'; -1 when it is not that (or has more than 20 digits), -2 when
 * the magnitude is past uint64. */
static int spans_dec(const char *s, size_t n, int neg, uint64_t *mag, int *minus)
{
    size_t i = 0;
    uint64_t v = 0;

    *minus = neg && n && s[0] == '-';
    i = (size_t)*minus;
    if (i == n || n - i > 20)
        return -1;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        if (v > (UINT64_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    *mag = v;
    return 0;
}

/* A value's text as a double (strtod: a number's text, or a string's), through a
 * NUL-terminated copy; *end_ok is 1 when strtod read all of it. */
static double spans_strtod(struct arena *a, const char *s, size_t n, int *end_ok)
{
    char buf[64], *t = n < sizeof(buf) ? buf : arena_strndup(a, s, n), *end;
    double d;

    if (!t) {
        *end_ok = 0;
        return 0;
    }
    memcpy(t, s, n);
    t[n] = '\0';
    d = strtod(t, &end);
    *end_ok = n > 0 && *end == '\0';
    return d;
}

/* An unsigned 64-bit integer (fixed64 times, uint32 counts) as a JSON number or a decimal
 * string, the two forms OTLP JSON allows. 0 when absent. */
static int spans_u64(struct spans_walk *w, const struct jsonx_val *obj, const char *key,
                     uint64_t max, uint64_t *out)
{
    const struct jsonx_val *v = spans_get(obj, key);
    uint64_t m = 0;
    int minus, rc;
    *out = 0;
    if (!v)
        return 0;
    if (v->kind == JSONX_NUMBER && v->integer) {
        rc = spans_dec(v->s, v->len, 1, &m, &minus);
        if (minus && (rc || m))
            return spans_bad(w, key, "must not be negative");
        if (rc)
            return spans_bad(w, key, "is out of range");
    } else if (v->kind == JSONX_STRING) {
        rc = spans_dec(v->s, v->len, 0, &m, &minus);
        if (rc == -1)
            return spans_bad(w, key, "must be a non-negative integer");
        if (rc)
            return spans_bad(w, key, "is out of range");
    } else {
        return spans_bad(w, key, "must be an integer or a decimal string");
    }
    if (m > max)
        return spans_bad(w, key, "is out of range");
    *out = m;
    return 0;
}

/* An enum, as OTLP JSON sends it: an integer (names are not allowed), within [0, max]. */
static int spans_enum(struct spans_walk *w, const struct jsonx_val *obj, const char *key, int max,
                      int *out)
{
    const struct jsonx_val *v = spans_get(obj, key);
    uint64_t m = 0;
    int minus;
    *out = 0;
    if (!v)
        return 0;
    if (v->kind != JSONX_NUMBER || !v->integer)
        return spans_bad(w, key, "must be an integer (OTLP JSON sends enums as integers)");
    if (spans_dec(v->s, v->len, 1, &m, &minus) || (minus && m) || m > (uint64_t)max)
        return spans_bad(w, key, max == 5 ? "must be 0 to 5" : "must be 0 to 2");
    *out = (int)m;
    return 0;
}

/* An id in hex of nbytes bytes, lower-cased into out (2*nbytes+1): 1 when all zero or
 * absent (OTLP's "no id"), 0 when set, -1 with the error set when malformed. */
static int spans_hex_id(struct spans_walk *w, const struct jsonx_val *obj, const char *key,
                        size_t nbytes, char *out)
{
    struct spans_str s;
    int zero = 1;
    if (spans_string(w, obj, key, &s))
        return -1;
    if (!s.n)
        return 1;
    const char *msg = nbytes == 16 ? "must be 32 hex digits" : "must be 16 hex digits";
    if (s.n != 2 * nbytes)
        return spans_bad(w, key, msg);
    for (size_t i = 0; i < 2 * nbytes; i++) {
        if (!isxdigit((unsigned char)s.s[i]))
            return spans_bad(w, key, msg);
        out[i] = (char)tolower((unsigned char)s.s[i]);
        zero &= s.s[i] == '0';
    }
    out[2 * nbytes] = '\0';
    return zero;
}

/* Standard or URL-safe base64, padded or not (proto3 JSON accepts both). */
static int spans_is_base64(const char *s, size_t n)
{
    size_t pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '+' && c != '/' && c != '-' && c != '_')
            return 0;
    }
    return n % 4 != 1 && (pad == 0 || (n + pad) % 4 == 0);
}

/* The shortest "%.*g" that reads back as d: 0.1 stays 0.1, not 0.10000000000000001. */
static const char *spans_double_text(struct arena *a, double d)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return arena_strdup(a, buf);
}

static json_object *spans_double(struct arena *a, double d)
{
    if (isnan(d))
        return json_object_new_string("NaN");
    if (isinf(d))
        return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
    const char *t = spans_double_text(a, d);
    /* Past 9e18, jsonb would print the number with all its digits (1.5e300 as 301 of
     * them), which integer parsers (json-c's among them) read wrongly: such a double is
     * kept as proto3 JSON's other form of a double, its text in a string. */
    if (t && fabs(d) >= 9e18)
        return json_object_new_string(t);
    return t ? json_object_new_double_s(d, t) : NULL;
}

static int spans_kvlist(struct spans_walk *w, struct jsonx_out *o, const struct jsonx_val *list);

/* An int64 as OTLP JSON's decimal string. */
static json_object *spans_decimal(long long v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", v);
    return json_object_new_string(buf);
}

#define SPANS_LIT(o, s) jsonx_out_raw((o), (s), sizeof(s) - 1)

static void spans_out_s(struct jsonx_out *o, struct spans_str s)
{
    jsonx_out_str(o, s.s, s.n);
}

static void spans_out_u64(struct jsonx_out *o, uint64_t v)
{
    char buf[JSONX_DEC_MAX];
    jsonx_out_raw(o, buf, jsonx_fmt_dec(buf, v, 0));
}

/* A double as spans_double makes it, written as text. */
static void spans_out_double(struct jsonx_out *o, double d)
{
    char buf[40];
    if (isnan(d)) {
        SPANS_LIT(o, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        if (d > 0)
            SPANS_LIT(o, "\"Infinity\"");
        else
            SPANS_LIT(o, "\"-Infinity\"");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (fabs(d) >= 9e18)
        jsonx_out_str(o, buf, strlen(buf));
    else
        jsonx_out_raw(o, buf, strlen(buf));
}

/* The AnyValue kinds, in the order spans_value looks for them. */
enum spans_kind {
    SPANS_STRING,
    SPANS_BOOL,
    SPANS_INT,
    SPANS_DOUBLE,
    SPANS_ARRAY,
    SPANS_KVLIST,
    SPANS_BYTES,
    SPANS_NKINDS,
    SPANS_NONE = SPANS_NKINDS
};
static const char *const spans_kinds[SPANS_NKINDS] = {"stringValue", "boolValue",  "intValue",
                                                      "doubleValue", "arrayValue", "kvlistValue",
                                                      "bytesValue"};

/* What spans_value wrote, for the attributes that name a run or an attempt: the kind
 * (SPANS_NONE for any but a string or an int) and its text. */
struct spans_scalar {
    int kind;
    struct spans_str text; /* a string's (in the request's tree), or buf */
    char buf[JSONX_DEC_MAX];
};

/* An int64 written as {"intValue":"n"} (sc, when given, learns its text). */
static void spans_out_int(struct jsonx_out *o, uint64_t mag, int minus, struct spans_scalar *sc)
{
    char own[JSONX_DEC_MAX], *buf = sc ? sc->buf : own;
    size_t n = jsonx_fmt_dec(buf, mag, minus);
    SPANS_LIT(o, "{\"intValue\":\"");
    jsonx_out_raw(o, buf, n);
    SPANS_LIT(o, "\"}");
    if (sc) {
        sc->kind = SPANS_INT;
        sc->text.s = buf;
        sc->text.n = n;
    }
}

/* One AnyValue, normalised to the OTLP JSON form that is stored, written to o: intValue as
 * a decimal string, doubleValue as a number (NaN, the infinities and magnitudes past 9e18
 * as proto3 JSON's strings), bytesValue as the base64 sent. An integral intValue past
 * int64 (the JavaScript SDK sends every integral number as intValue, 1.5e300 too) is kept
 * as the doubleValue it was. sc (may be NULL) learns a string's or an int's text. */
static int spans_value(struct spans_walk *w, struct jsonx_out *o, const struct jsonx_val *v,
                       struct spans_scalar *sc)
{
    const struct jsonx_val *val = NULL;
    int kind = SPANS_NONE;

    if (sc)
        sc->kind = SPANS_NONE;
    if (!v) {
        SPANS_LIT(o, "{}");
        return 0;
    }
    if (v->kind != JSONX_OBJECT)
        return spans_bad(w, NULL, "must be an AnyValue object");
    /* The members walked once (an AnyValue has one); other keys are ignored and a null is
     * absent, as spans_get has it. */
    for (uint32_t m = 0; m < v->n; m++) {
        const struct jsonx_member *mb = &v->members[m];
        int i = 0;
        if (mb->val.kind == JSONX_NULL)
            continue;
        while (i < SPANS_NKINDS && !spans_is(mb->key, mb->key_len, spans_kinds[i]))
            i++;
        if (i == SPANS_NKINDS)
            continue;
        if (kind != SPANS_NONE)
            return spans_bad(w, NULL, "must hold one value");
        kind = i;
        val = &mb->val;
    }
    const char *kname = kind == SPANS_NONE ? NULL : spans_kinds[kind];
    switch (kind) {
    case SPANS_NONE: /* {}: an empty value */
        SPANS_LIT(o, "{}");
        return 0;
    case SPANS_STRING:
        if (val->kind != JSONX_STRING)
            return spans_bad(w, kname, "must be a string");
        if (val->len && memchr(val->s, '\0', val->len))
            return spans_bad(w, kname, "must not contain NUL");
        SPANS_LIT(o, "{\"stringValue\":");
        jsonx_out_str(o, val->s, val->len);
        SPANS_LIT(o, "}");
        if (sc) {
            sc->kind = SPANS_STRING;
            sc->text.s = val->s;
            sc->text.n = val->len;
        }
        return 0;
    case SPANS_BOOL:
        if (val->kind != JSONX_BOOL)
            return spans_bad(w, kname, "must be true or false");
        if (val->truth)
            SPANS_LIT(o, "{\"boolValue\":true}");
        else
            SPANS_LIT(o, "{\"boolValue\":false}");
        return 0;
    case SPANS_INT: {
        uint64_t mag = 0;
        int minus = 0, ok;
        if (val->kind == JSONX_NUMBER && val->integer) {
            if (spans_dec(val->s, val->len, 1, &mag, &minus) ||
                mag > (minus ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
                return spans_bad(w, kname, "is out of the int64 range");
        } else if (val->kind == JSONX_STRING) {
            if (spans_dec(val->s, val->len, 1, &mag, &minus) ||
                mag > (minus ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
                return spans_bad(w, kname, "must be an int64 as a number or a decimal string");
        } else if (val->kind == JSONX_NUMBER) {
            double d = spans_strtod(w->r->op.arena, val->s, val->len, &ok);
            if (!ok || !isfinite(d) || d != floor(d))
                return spans_bad(w, kname, "must be an integer");
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
                SPANS_LIT(o, "{\"doubleValue\":");
                spans_out_double(o, d);
                SPANS_LIT(o, "}");
                return 0;
            }
            long long ll = (long long)d;
            minus = ll < 0;
            mag = minus ? (uint64_t)0 - (uint64_t)ll : (uint64_t)ll;
        } else {
            return spans_bad(w, kname, "must be an int64 as a number or a decimal string");
        }
        spans_out_int(o, mag, minus && mag, sc);
        return 0;
    }
    case SPANS_DOUBLE: {
        double d;
        int ok;
        if (val->kind == JSONX_NUMBER) {
            d = spans_strtod(w->r->op.arena, val->s, val->len, &ok);
        } else if (val->kind == JSONX_STRING) {
            if (spans_is(val->s, val->len, "NaN"))
                d = NAN;
            else if (spans_is(val->s, val->len, "Infinity"))
                d = INFINITY;
            else if (spans_is(val->s, val->len, "-Infinity"))
                d = -INFINITY;
            else {
                d = spans_strtod(w->r->op.arena, val->s, val->len, &ok);
                if (!ok || !isfinite(d) || isspace((unsigned char)val->s[0]) ||
                    memchr(val->s, '\0', val->len))
                    return spans_bad(w, kname, "must be a number");
                for (size_t i = 0; i < val->len; i++)
                    if (strchr("xXnNiI", val->s[i]))
                        return spans_bad(w, kname, "must be a number");
            }
        } else {
            return spans_bad(w, kname, "must be a number");
        }
        SPANS_LIT(o, "{\"doubleValue\":");
        spans_out_double(o, d);
        SPANS_LIT(o, "}");
        return 0;
    }
    case SPANS_BYTES:
        if (val->kind != JSONX_STRING || !spans_is_base64(val->s, val->len))
            return spans_bad(w, kname, "must be base64");
        SPANS_LIT(o, "{\"bytesValue\":");
        jsonx_out_str(o, val->s, val->len);
        SPANS_LIT(o, "}");
        return 0;
    default: {
        /* arrayValue {"values": [AnyValue]} and kvlistValue {"values": [KeyValue]} */
        const struct jsonx_val *values;
        int at = spans_push(w, kname, -1);
        if (val->kind != JSONX_OBJECT)
            return spans_bad(w, NULL, "must be an object");
        if (spans_array(w, val, "values", &values))
            return -1;
        if (kind == SPANS_KVLIST) {
            SPANS_LIT(o, "{\"kvlistValue\":{\"values\":");
            if (spans_kvlist(w, o, values))
                return -1;
        } else {
            uint32_t len = values ? values->n : 0;
            SPANS_LIT(o, "{\"arrayValue\":{\"values\":[");
            for (uint32_t i = 0; i < len; i++) {
                int at2 = spans_push(w, "values", (long)i);
                if (i)
                    SPANS_LIT(o, ",");
                if (spans_value(
                        w, o, values->items[i].kind == JSONX_NULL ? NULL : &values->items[i], NULL))
                    return -1;
                spans_pop(w, at2);
            }
            SPANS_LIT(o, "]");
        }
        SPANS_LIT(o, "}}");
        spans_pop(w, at);
        return 0;
    }
    }
}

/* A kvlistValue's values: [{"key", "value"}] kept as a list. */
static int spans_kvlist(struct spans_walk *w, struct jsonx_out *o, const struct jsonx_val *list)
{
    uint32_t len = list ? list->n : 0;
    SPANS_LIT(o, "[");
    for (uint32_t i = 0; i < len; i++) {
        const struct jsonx_val *kv = &list->items[i];
        struct spans_str key;
        int at = spans_push(w, "values", (long)i);
        if (kv->kind != JSONX_OBJECT)
            return spans_bad(w, NULL, "must be a KeyValue object");
        if (spans_string(w, kv, "key", &key))
            return -1;
        if (i)
            SPANS_LIT(o, ",");
        SPANS_LIT(o, "{\"key\":");
        spans_out_s(o, key);
        SPANS_LIT(o, ",\"value\":");
        spans_push(w, "value", -1);
        if (spans_value(w, o, spans_get(kv, "value"), NULL))
            return -1;
        SPANS_LIT(o, "}");
        spans_pop(w, at);
    }
    SPANS_LIT(o, "]");
    return 0;
}

/* The attributes that name a span's run and attempt (spans_run_of), as written: index 0
 * runwatch's keys, 1 agent-lightning's. */
struct spans_names {
    int run_set[2]; /* a stringValue of a UUID's length: run holds it */
    char run[2][37];
    int attempt_set[2]; /* an intValue's decimal or a stringValue's text, short enough */
    char attempt[2][24];
};

static void spans_note(struct spans_names *nm, struct spans_str key, const struct spans_scalar *sc)
{
    static const char *const runs[] = {"runwatch.run_id", "agentlightning.rollout_id"};
    static const char *const attempts[] = {"runwatch.attempt", "agentlightning.attempt_id"};
    for (int k = 0; k < 2; k++) {
        /* A key repeated keeps its last value, in jsonb and here alike. */
        if (spans_is(key.s, key.n, runs[k])) {
            nm->run_set[k] = sc->kind == SPANS_STRING && sc->text.n == 36;
            /* Lower case: the batch's spans are counted per run by this text (spans_rank),
             * and PostgreSQL's uuid reads either case as the same run. */
            for (size_t i = 0; nm->run_set[k] && i < 36; i++)
                nm->run[k][i] = (char)tolower((unsigned char)sc->text.s[i]);
            nm->run[k][36] = '\0';
        } else if (spans_is(key.s, key.n, attempts[k])) {
            nm->attempt_set[k] = sc->kind != SPANS_NONE && sc->text.n < sizeof(nm->attempt[k]) &&
                                 !memchr(sc->text.s, '\0', sc->text.n);
            if (nm->attempt_set[k]) {
                memcpy(nm->attempt[k], sc->text.s, sc->text.n);
                nm->attempt[k][sc->text.n] = '\0';
            }
        }
    }
}

/* A list of KeyValue as the object {key: AnyValue} that is stored, written to o (keys are
 * unique in OTLP; a repeated one keeps its last value: jsonb keeps a key's last). nm (may
 * be NULL) learns the attributes naming a run. */
static int spans_attributes(struct spans_walk *w, struct jsonx_out *o, const struct jsonx_val *obj,
                            const char *key, struct spans_names *nm)
{
    const struct jsonx_val *list;
    if (nm)
        memset(nm, 0, sizeof(*nm));
    if (spans_array(w, obj, key, &list))
        return -1;
    uint32_t len = list ? list->n : 0;
    SPANS_LIT(o, "{");
    for (uint32_t i = 0; i < len; i++) {
        const struct jsonx_val *kv = &list->items[i];
        struct spans_str k;
        struct spans_scalar sc;
        int at = spans_push(w, key, (long)i);
        if (kv->kind != JSONX_OBJECT)
            return spans_bad(w, NULL, "must be a KeyValue object");
        if (spans_string(w, kv, "key", &k))
            return -1;
        if (i)
            SPANS_LIT(o, ",");
        spans_out_s(o, k);
        SPANS_LIT(o, ":");
        spans_push(w, "value", -1);
        if (spans_value(w, o, spans_get(kv, "value"), nm ? &sc : NULL))
            return -1;
        if (nm)
            spans_note(nm, k, &sc);
        spans_pop(w, at);
    }
    SPANS_LIT(o, "}");
    return 0;
}

/* droppedAttributesCount and the like: uint32, written as ,"name":n. */
static int spans_count(struct spans_walk *w, struct jsonx_out *o, const struct jsonx_val *obj,
                       const char *key, const char *name)
{
    uint64_t n;
    if (spans_u64(w, obj, key, UINT32_MAX, &n))
        return -1;
    SPANS_LIT(o, ",\"");
    jsonx_out_raw(o, name, strlen(name));
    SPANS_LIT(o, "\":");
    spans_out_u64(o, n);
    return 0;
}

/* An attempt number's text (1 to 2^31-1), else 0. */
static long spans_attempt(int set, const char *t)
{
    if (!set || !spans_digits(t, 0) || strlen(t) > 10)
        return 0;
    long n = strtol(t, NULL, 10);
    return n >= 1 && n <= INT32_MAX ? n : 0;
}

/* The run a span names: runwatch.run_id, else agentlightning.rollout_id (how rollouts map
 * to runs beyond that is the agent-lightning store's), on the span first, then on its
 * resource; only a UUID (span_insert links it when it is a run of the token's project). */
static const char *spans_run_of(const struct spans_names *span, const struct spans_names *res,
                                long *attempt)
{
    const struct spans_names *where[] = {span, res};
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < 2; k++) {
            if (where[i]->run_set[k] && jsonx_is_uuid(where[i]->run[k])) {
                *attempt = spans_attempt(span->attempt_set[k], span->attempt[k]);
                if (!*attempt)
                    *attempt = spans_attempt(res->attempt_set[k], res->attempt[k]);
                return where[i]->run[k];
            }
        }
    return NULL;
}

static void spans_reject(struct spans_walk *w, const char *why)
{
    if (!w->rejected) {
        const char *at = spans_path(w, NULL);
        w->reject_reason = arena_sprintf(w->r->op.arena, "%s %s", at ? at : "", why);
    }
    w->rejected++;
}

/* A span's events, written as the stored list. */
static int spans_events(struct spans_walk *w, struct jsonx_out *o, const struct jsonx_val *span)
{
    const struct jsonx_val *list;
    if (spans_array(w, span, "events", &list))
        return -1;
    uint32_t len = list ? list->n : 0;
    SPANS_LIT(o, "[");
    for (uint32_t i = 0; i < len; i++) {
        const struct jsonx_val *ev = &list->items[i];
        struct spans_str name;
        uint64_t t;
        int at = spans_push(w, "events", (long)i);
        if (ev->kind != JSONX_OBJECT)
            return spans_bad(w, NULL, "must be an object");
        if (spans_u64(w, ev, "timeUnixNano", UINT64_MAX, &t) || spans_string(w, ev, "name", &name))
            return -1;
        if (i)
            SPANS_LIT(o, ",");
        SPANS_LIT(o, "{\"time_unix_nano\":\"");
        spans_out_u64(o, t);
        SPANS_LIT(o, "\",\"name\":");
        spans_out_s(o, name);
        SPANS_LIT(o, ",\"attributes\":");
        if (spans_attributes(w, o, ev, "attributes", NULL) ||
            spans_count(w, o, ev, "droppedAttributesCount", "dropped_attributes_count"))
            return -1;
        SPANS_LIT(o, "}");
        spans_pop(w, at);
    }
    SPANS_LIT(o, "]");
    return 0;
}

/* A span's links, written as the stored list. */
static int spans_links(struct spans_walk *w, struct jsonx_out *o, const struct jsonx_val *span)
{
    const struct jsonx_val *list;
    if (spans_array(w, span, "links", &list))
        return -1;
    uint32_t len = list ? list->n : 0;
    SPANS_LIT(o, "[");
    for (uint32_t i = 0; i < len; i++) {
        const struct jsonx_val *ln = &list->items[i];
        char trace[33] = "", span_id[17] = "";
        struct spans_str state;
        uint64_t flags;
        int at = spans_push(w, "links", (long)i);
        if (ln->kind != JSONX_OBJECT)
            return spans_bad(w, NULL, "must be an object");
        if (spans_hex_id(w, ln, "traceId", 16, trace) < 0 ||
            spans_hex_id(w, ln, "spanId", 8, span_id) < 0 ||
            spans_string(w, ln, "traceState", &state) ||
            spans_u64(w, ln, "flags", UINT32_MAX, &flags))
            return -1;
        if (i)
            SPANS_LIT(o, ",");
        SPANS_LIT(o, "{\"trace_id\":\"");
        jsonx_out_raw(o, trace, strlen(trace));
        SPANS_LIT(o, "\",\"span_id\":\"");
        jsonx_out_raw(o, span_id, strlen(span_id));
        SPANS_LIT(o, "\",\"trace_state\":");
        spans_out_s(o, state);
        SPANS_LIT(o, ",\"flags\":");
        spans_out_u64(o, flags);
        SPANS_LIT(o, ",\"attributes\":");
        if (spans_attributes(w, o, ln, "attributes", NULL) ||
            spans_count(w, o, ln, "droppedAttributesCount", "dropped_attributes_count"))
            return -1;
        SPANS_LIT(o, "}");
        spans_pop(w, at);
    }
    SPANS_LIT(o, "]");
    return 0;
}

static void spans_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static void spans_col_init(struct spans_col *c, struct arena *a, size_t cap, uint32_t oid)
{
    jsonx_out_init(&c->o, a, cap);
    c->oid = oid;
    c->hasnull = 0;
    char *p = jsonx_out_room(&c->o, 20);
    if (p) {
        memset(p, 0, 20);
        c->o.len += 20;
    }
}

/* An element's length, then room for its n bytes (NULL after an allocation failure). */
static char *spans_col_elem(struct spans_col *c, size_t n)
{
    char *p = jsonx_out_room(&c->o, 4 + n);
    if (!p)
        return NULL;
    spans_be32(p, (uint32_t)n);
    c->o.len += 4 + n;
    return p + 4;
}

static void spans_col_null(struct spans_col *c)
{
    char *p = jsonx_out_room(&c->o, 4);
    if (p) {
        spans_be32(p, UINT32_MAX); /* -1 */
        c->o.len += 4;
    }
    c->hasnull = 1;
}

static void spans_col_bytes(struct spans_col *c, const void *s, size_t n)
{
    char *p = spans_col_elem(c, n);
    if (p && n)
        memcpy(p, s, n);
}

static void spans_col_int(struct spans_col *c, uint64_t v, size_t width)
{
    char *p = spans_col_elem(c, width);
    for (size_t i = 0; p && i < width; i++)
        p[i] = (char)(v >> (8 * (width - 1 - i)));
}

/* Opens a jsonb element (its length patched by spans_col_close): jsonb's binary form is a
 * version byte, 1, then the JSON text, which the caller writes to c->o. */
static size_t spans_col_open_jsonb(struct spans_col *c)
{
    size_t at = c->o.len;
    char *p = jsonx_out_room(&c->o, 5);
    if (p) {
        p[4] = 1;
        c->o.len += 5;
    }
    return at;
}

static void spans_col_close(struct spans_col *c, size_t at)
{
    if (!c->o.failed)
        spans_be32(c->o.buf + at, (uint32_t)(c->o.len - at - 4));
}

/* The array's bytes with n elements (its header completed), NULL after a failure. */
static const char *spans_col_end(struct spans_col *c, long n, int *len)
{
    size_t total;
    const char *buf = jsonx_out_end(&c->o, &total);
    if (!buf || total > INT32_MAX)
        return NULL;
    spans_be32(c->o.buf, 1);
    spans_be32(c->o.buf + 4, (uint32_t)c->hasnull);
    spans_be32(c->o.buf + 8, c->oid);
    spans_be32(c->o.buf + 12, (uint32_t)n);
    spans_be32(c->o.buf + 16, 1);
    *len = (int)total;
    return buf;
}

/* 2n hex digits (checked already) as n bytes. */
static void spans_col_hex(struct spans_col *c, const char *hex, size_t n)
{
    char *p = spans_col_elem(c, n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (char)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
}

/* A UUID's canonical text (checked already) as its 16 bytes. */
static void spans_col_uuid(struct spans_col *c, const char *u)
{
    char *p = spans_col_elem(c, 16);
    for (size_t i = 0, k = 0; p && k < 16; k++) {
        if (u[i] == '-')
            i++;
        p[k] = (char)(hex_digit(u[i]) << 4 | hex_digit(u[i + 1]));
        i += 2;
    }
}

/* A run's text's slot in the batch's table of runs (spans_rank). */
static uint32_t spans_run_hash(const char *run)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = run; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return h;
}

/* The place of the next span of run among the batch's spans of it (1 for its first), and
 * the run's place among the batch's runs (*idx, from 1). span_insert numbers a run's spans
 * from the run's reserved base by this place, with no sort or window over the batch
 * (docs/PERFORMANCE.md, "span ingest without json-c's tree"). 0 when out of memory. */
static long spans_rank(struct spans_walk *w, const char *run, unsigned *idx)
{
    uint32_t h = spans_run_hash(run);
    if (!w->runs || 2 * (w->nruns + 1) > w->runs_mask + 1) {
        unsigned size = w->runs ? 2 * (w->runs_mask + 1) : 16;
        struct spans_run_count *t = arena_calloc(w->r->op.arena, size * sizeof(*t));
        if (!t)
            return 0;
        for (unsigned i = 0; w->runs && i <= w->runs_mask; i++) {
            if (!w->runs[i].run)
                continue;
            uint32_t k = spans_run_hash(w->runs[i].run);
            while (t[k & (size - 1)].run)
                k++;
            t[k & (size - 1)] = w->runs[i];
        }
        w->runs = t;
        w->runs_mask = size - 1;
    }
    for (;; h++) {
        struct spans_run_count *e = &w->runs[h & w->runs_mask];
        if (!e->run) {
            if (!(e->run = arena_strdup(w->r->op.arena, run)))
                return 0;
            e->idx = ++w->nruns;
        } else if (strcmp(e->run, run) != 0) {
            continue;
        }
        *idx = e->idx;
        return ++e->n;
    }
}

/* One span into the batch's columns (span_insert's arrays); a span that cannot be kept is
 * taken back out and counted. */
static int spans_span(struct spans_walk *w, const struct jsonx_val *span, int ri, int si,
                      const struct spans_names *res_names)
{
    char trace[33], span_id[17], parent[17];
    struct spans_str name, state, msg = {"", 0};
    uint64_t start, end, flags;
    int kind, code = 0, zt, zs, zp;
    const struct jsonx_val *status;
    struct spans_names nm;

    if (span->kind != JSONX_OBJECT)
        return spans_bad(w, NULL, "must be an object");
    if ((zt = spans_hex_id(w, span, "traceId", 16, trace)) < 0 ||
        (zs = spans_hex_id(w, span, "spanId", 8, span_id)) < 0 ||
        (zp = spans_hex_id(w, span, "parentSpanId", 8, parent)) < 0 ||
        spans_string(w, span, "traceState", &state) ||
        spans_u64(w, span, "flags", UINT32_MAX, &flags) || spans_string(w, span, "name", &name) ||
        spans_enum(w, span, "kind", 5, &kind) ||
        spans_u64(w, span, "startTimeUnixNano", UINT64_MAX, &start) ||
        spans_u64(w, span, "endTimeUnixNano", UINT64_MAX, &end) ||
        spans_object(w, span, "status", &status))
        return -1;
    if (status) {
        int at = spans_push(w, "status", -1);
        if (spans_string(w, status, "message", &msg) || spans_enum(w, status, "code", 2, &code))
            return -1;
        spans_pop(w, at);
    }
    /* The three jsonb columns first: the span is checked whole before deciding whether to
     * keep it (a malformed span further on is still a 400); one that cannot be kept is
     * taken back out of them. */
    struct spans_col *col = w->col;
    size_t mark[3] = {col[SPANS_C_ATTRS].o.len, col[SPANS_C_EVENTS].o.len,
                      col[SPANS_C_LINKS].o.len};
    size_t at = spans_col_open_jsonb(&col[SPANS_C_ATTRS]);
    if (spans_attributes(w, &col[SPANS_C_ATTRS].o, span, "attributes", &nm))
        return -1;
    spans_col_close(&col[SPANS_C_ATTRS], at);
    at = spans_col_open_jsonb(&col[SPANS_C_EVENTS]);
    if (spans_events(w, &col[SPANS_C_EVENTS].o, span))
        return -1;
    spans_col_close(&col[SPANS_C_EVENTS], at);
    at = spans_col_open_jsonb(&col[SPANS_C_LINKS]);
    if (spans_links(w, &col[SPANS_C_LINKS].o, span))
        return -1;
    spans_col_close(&col[SPANS_C_LINKS], at);
    uint64_t da, de, dl;
    if (spans_u64(w, span, "droppedAttributesCount", UINT32_MAX, &da) ||
        spans_u64(w, span, "droppedEventsCount", UINT32_MAX, &de) ||
        spans_u64(w, span, "droppedLinksCount", UINT32_MAX, &dl))
        return -1;
    if (zt || zs || start > INT64_MAX || end > INT64_MAX) {
        if (!col[SPANS_C_ATTRS].o.failed && !col[SPANS_C_EVENTS].o.failed &&
            !col[SPANS_C_LINKS].o.failed) {
            col[SPANS_C_ATTRS].o.len = mark[0];
            col[SPANS_C_EVENTS].o.len = mark[1];
            col[SPANS_C_LINKS].o.len = mark[2];
        }
        spans_reject(w, zt || zs ? "has no traceId or spanId (empty or all zero)"
                                 : "has a time past 2^63 nanoseconds");
        return 0;
    }
    long attempt = 0;
    const char *run = spans_run_of(&nm, res_names, &attempt);
    w->nspans++;
    spans_col_hex(&col[SPANS_C_TRACE], trace, 16);
    spans_col_hex(&col[SPANS_C_SPAN], span_id, 8);
    if (zp)
        spans_col_null(&col[SPANS_C_PARENT]);
    else
        spans_col_hex(&col[SPANS_C_PARENT], parent, 8);
    spans_col_bytes(&col[SPANS_C_STATE], state.s, state.n);
    spans_col_int(&col[SPANS_C_FLAGS], flags, 8);
    spans_col_bytes(&col[SPANS_C_NAME], name.s, name.n);
    spans_col_int(&col[SPANS_C_KIND], (uint64_t)kind, 2);
    spans_col_int(&col[SPANS_C_START], start, 8);
    spans_col_int(&col[SPANS_C_END], end, 8);
    spans_col_int(&col[SPANS_C_CODE], (uint64_t)code, 2);
    spans_col_bytes(&col[SPANS_C_MSG], msg.s, msg.n);
    spans_col_int(&col[SPANS_C_DATTRS], da, 8);
    spans_col_int(&col[SPANS_C_DEVENTS], de, 8);
    spans_col_int(&col[SPANS_C_DLINKS], dl, 8);
    spans_col_int(&col[SPANS_C_RES], (uint64_t)ri, 4);
    spans_col_int(&col[SPANS_C_SCOPE], (uint64_t)si, 4);
    if (run && attempt)
        spans_col_int(&col[SPANS_C_ATTEMPT], (uint64_t)attempt, 4);
    else
        spans_col_null(&col[SPANS_C_ATTEMPT]);
    if (run) {
        unsigned idx = 0;
        long rank = spans_rank(w, run, &idx);
        if (!rank)
            return req_error(w->r, 500, "internal", NULL, "out of memory");
        spans_col_int(&col[SPANS_C_RUN], idx, 4);
        spans_col_int(&col[SPANS_C_RANK], (uint64_t)rank, 4);
    } else {
        spans_col_null(&col[SPANS_C_RUN]);
        spans_col_null(&col[SPANS_C_RANK]);
    }
    return 0;
}

/* The whole ExportTraceServiceRequest into the batch: resources, scopes and spans. */
static int spans_walk_request(struct spans_walk *w, const struct jsonx_val *req)
{
    const struct jsonx_val *rss;
    if (req->kind != JSONX_OBJECT)
        return spans_bad(w, NULL, "the request must be an ExportTraceServiceRequest object");
    if (spans_array(w, req, "resourceSpans", &rss))
        return -1;
    uint32_t nrs = rss ? rss->n : 0;
    for (uint32_t i = 0; i < nrs; i++) {
        const struct jsonx_val *rs = &rss->items[i], *res, *sss;
        struct spans_str schema;
        struct spans_names rnames;
        int at = spans_push(w, "resourceSpans", (long)i);
        if (rs->kind != JSONX_OBJECT)
            return spans_bad(w, NULL, "must be an object");
        if (spans_object(w, rs, "resource", &res) || spans_array(w, rs, "scopeSpans", &sss) ||
            spans_string(w, rs, "schemaUrl", &schema))
            return -1;
        int at2 = spans_push(w, "resource", -1);
        if (w->nres)
            SPANS_LIT(&w->res, ",");
        SPANS_LIT(&w->res, "{\"attributes\":");
        if (spans_attributes(w, &w->res, res, "attributes", &rnames) ||
            spans_count(w, &w->res, res, "droppedAttributesCount", "dropped_attributes_count"))
            return -1;
        spans_pop(w, at2);
        SPANS_LIT(&w->res, ",\"schema_url\":");
        spans_out_s(&w->res, schema);
        SPANS_LIT(&w->res, "}");
        int ri = (int)w->nres++;
        uint32_t nss = sss ? sss->n : 0;
        for (uint32_t j = 0; j < nss; j++) {
            const struct jsonx_val *ss = &sss->items[j], *scope, *spans;
            struct spans_str sname, sversion, sschema;
            int at3 = spans_push(w, "scopeSpans", (long)j);
            if (ss->kind != JSONX_OBJECT)
                return spans_bad(w, NULL, "must be an object");
            if (spans_object(w, ss, "scope", &scope) || spans_array(w, ss, "spans", &spans) ||
                spans_string(w, ss, "schemaUrl", &sschema))
                return -1;
            int at4 = spans_push(w, "scope", -1);
            if (spans_string(w, scope, "name", &sname) ||
                spans_string(w, scope, "version", &sversion))
                return -1;
            if (w->nsco)
                SPANS_LIT(&w->sco, ",");
            SPANS_LIT(&w->sco, "{\"name\":");
            spans_out_s(&w->sco, sname);
            SPANS_LIT(&w->sco, ",\"version\":");
            spans_out_s(&w->sco, sversion);
            SPANS_LIT(&w->sco, ",\"attributes\":");
            if (spans_attributes(w, &w->sco, scope, "attributes", NULL) ||
                spans_count(w, &w->sco, scope, "droppedAttributesCount",
                            "dropped_attributes_count"))
                return -1;
            spans_pop(w, at4);
            SPANS_LIT(&w->sco, ",\"schema_url\":");
            spans_out_s(&w->sco, sschema);
            SPANS_LIT(&w->sco, "}");
            int si = (int)w->nsco++;
            uint32_t nsp = spans ? spans->n : 0;
            for (uint32_t k = 0; k < nsp; k++) {
                int at5 = spans_push(w, "spans", (long)k);
                if (spans_span(w, &spans->items[k], ri, si, &rnames))
                    return -1;
                spans_pop(w, at5);
            }
            spans_pop(w, at3);
        }
        spans_pop(w, at);
    }
    return 0;
}

/* Whether the request came as protobuf: its answer is protobuf too (OTLP/HTTP replies in
 * the request's content type; req_render does the same for errors). */
static int spans_is_pb(const struct req *r)
{
    return req_media_is(r->content_type, "application/x-protobuf");
}

/* ExportTraceServiceResponse: partialSuccess empty, or the spans dropped and why
 * (rejectedSpans is an int64: a string in OTLP JSON). In protobuf, all accepted is the
 * empty message. */
static int spans_otlp_answer(struct req *r, long rejected, const char *why)
{
    if (spans_is_pb(r)) {
        const char *msg = rejected && !why ? "spans rejected" : why;
        size_t n = otlp_pb_export_response(NULL, rejected, msg);
        unsigned char *out = arena_alloc(r->op.arena, n + 1);
        if (!out)
            return req_error(r, 500, "internal", NULL, "out of memory");
        r->status = 200;
        r->resp_type = "application/x-protobuf";
        r->resp_len = otlp_pb_export_response(out, rejected, msg);
        r->resp_body = (const char *)out;
        return 0;
    }
    const char *body =
        rejected ? arena_sprintf(
                       r->op.arena,
                       "{\"partialSuccess\":{\"rejectedSpans\":\"%ld\",\"errorMessage\":", rejected)
                 : "{\"partialSuccess\":{}}";
    if (rejected) {
        json_object *m = json_object_new_string(why ? why : "spans rejected");
        const char *text = m ? jsonx_to_string(m, NULL) : NULL;
        body = text ? arena_sprintf(r->op.arena, "%s%s}}", body, text) : NULL;
        json_object_put(m);
    }
    return req_json_text(r, 200, body);
}

/* The numbers of the batch's spans (span_reserve, its own transaction): its runs in the
 * order first named (each span's run_idx points there) with how many spans name each, and
 * back, for span_insert's run_links, run_latest and run_bases, three arrays in that order.
 * A batch that names no run reserves nothing. -1 with the error set in r->op. */
static int spans_reserve(struct spans_walk *w, const char *project_id, const char **p)
{
    struct arena *a = w->r->op.arena;
    p[SPAN_INSERT_IN_RUN_LINKS] = p[SPAN_INSERT_IN_RUN_LATEST] = p[SPAN_INSERT_IN_RUN_BASES] = "{}";
    if (!w->nruns)
        return 0;
    struct spans_col ids, counts;
    const char **order = arena_calloc(a, w->nruns * sizeof(*order));
    long *n = arena_calloc(a, w->nruns * sizeof(*n));
    if (!order || !n)
        return op_fail(&w->r->op, OP_INTERNAL, "internal", NULL, "out of memory");
    for (unsigned i = 0; w->runs && i <= w->runs_mask; i++)
        if (w->runs[i].run) {
            order[w->runs[i].idx - 1] = w->runs[i].run;
            n[w->runs[i].idx - 1] = w->runs[i].n;
        }
    spans_col_init(&ids, a, 64 + 20 * w->nruns, 2950);
    spans_col_init(&counts, a, 64 + 8 * w->nruns, 23);
    for (unsigned i = 0; i < w->nruns; i++) {
        spans_col_uuid(&ids, order[i]);
        spans_col_int(&counts, (uint64_t)n[i], 4);
    }
    const char *rp[SPAN_RESERVE__NIN] = {[SPAN_RESERVE_IN_PROJECT] = project_id};
    int lengths[SPAN_RESERVE__NIN] = {0}, formats[SPAN_RESERVE__NIN] = {0};
    rp[SPAN_RESERVE_IN_RUN_IDS] = spans_col_end(&ids, w->nruns, &lengths[SPAN_RESERVE_IN_RUN_IDS]);
    rp[SPAN_RESERVE_IN_RUN_COUNTS] =
        spans_col_end(&counts, w->nruns, &lengths[SPAN_RESERVE_IN_RUN_COUNTS]);
    formats[SPAN_RESERVE_IN_RUN_IDS] = formats[SPAN_RESERVE_IN_RUN_COUNTS] = 1;
    if (!rp[SPAN_RESERVE_IN_RUN_IDS] || !rp[SPAN_RESERVE_IN_RUN_COUNTS])
        return op_fail(&w->r->op, OP_INTERNAL, "internal", NULL, "out of memory");
    PGresult *res =
        db_exec_bin(&w->r->op, DB_STMT_SPAN_RESERVE, rp, lengths, formats, SPAN_RESERVE__NIN);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return op_fail(&w->r->op, OP_INTERNAL, "internal", NULL, "span_reserve answered no row");
    p[SPAN_INSERT_IN_RUN_LINKS] = PQgetvalue(res, 0, SPAN_RESERVE_LINKS);
    p[SPAN_INSERT_IN_RUN_LATEST] = PQgetvalue(res, 0, SPAN_RESERVE_LATEST);
    p[SPAN_INSERT_IN_RUN_BASES] = PQgetvalue(res, 0, SPAN_RESERVE_BASES);
    return 0;
}

/* After a batch failed past its reservation: its holds go now, so the run's readers do not
 * wait for this session's next batch or the housekeeper (housekeep_span_holds). The
 * batch's error stays the request's. */
static void spans_release(struct req *r)
{
    struct op_err failed = r->op.err;
    op_clear(&r->op);
    (void)db_exec(&r->op, DB_STMT_SPAN_RELEASE, NULL, 0);
    r->op.err = failed;
}

int spans_otlp_ingest(struct req *r, const char *project_id, const struct jsonx_val *request)
{
    /* Each column's element type (the statement's casts say the same) and first room, a
     * share of the body's size (a buffer doubles as it fills). */
    static const struct {
        uint32_t oid;
        unsigned share; /* the body's size over this */
        int in;         /* span_insert's parameter */
    } cols[SPANS_NCOLS] = {
        [SPANS_C_TRACE] = {17, 8, SPAN_INSERT_IN_TRACE_IDS},
        [SPANS_C_SPAN] = {17, 16, SPAN_INSERT_IN_SPAN_IDS},
        [SPANS_C_PARENT] = {17, 16, SPAN_INSERT_IN_PARENT_IDS},
        [SPANS_C_STATE] = {25, 32, SPAN_INSERT_IN_TRACE_STATES},
        [SPANS_C_FLAGS] = {20, 16, SPAN_INSERT_IN_FLAGS},
        [SPANS_C_NAME] = {25, 8, SPAN_INSERT_IN_NAMES},
        [SPANS_C_KIND] = {21, 32, SPAN_INSERT_IN_KINDS},
        [SPANS_C_START] = {20, 16, SPAN_INSERT_IN_STARTS},
        [SPANS_C_END] = {20, 16, SPAN_INSERT_IN_ENDS},
        [SPANS_C_CODE] = {21, 32, SPAN_INSERT_IN_CODES},
        [SPANS_C_MSG] = {25, 32, SPAN_INSERT_IN_MESSAGES},
        [SPANS_C_ATTRS] = {3802, 2, SPAN_INSERT_IN_ATTRIBUTES},
        [SPANS_C_DATTRS] = {20, 16, SPAN_INSERT_IN_DROPPED_ATTRIBUTES},
        [SPANS_C_EVENTS] = {3802, 4, SPAN_INSERT_IN_EVENTS},
        [SPANS_C_DEVENTS] = {20, 16, SPAN_INSERT_IN_DROPPED_EVENTS},
        [SPANS_C_LINKS] = {3802, 16, SPAN_INSERT_IN_LINKS},
        [SPANS_C_DLINKS] = {20, 16, SPAN_INSERT_IN_DROPPED_LINKS},
        [SPANS_C_RES] = {23, 32, SPAN_INSERT_IN_RESOURCE_IDX},
        [SPANS_C_SCOPE] = {23, 32, SPAN_INSERT_IN_SCOPE_IDX},
        [SPANS_C_RUN] = {23, 32, SPAN_INSERT_IN_RUN_IDX},
        [SPANS_C_ATTEMPT] = {23, 32, SPAN_INSERT_IN_ATTEMPTS},
        [SPANS_C_RANK] = {23, 32, SPAN_INSERT_IN_RANKS},
    };
    struct spans_walk w = {.r = r};
    const char *p[SPAN_INSERT__NIN] = {[SPAN_INSERT_IN_PROJECT] = project_id};
    int lengths[SPAN_INSERT__NIN] = {0}, formats[SPAN_INSERT__NIN] = {0};
    PGresult *res;

    jsonx_out_init(&w.res, r->op.arena, 1024);
    jsonx_out_init(&w.sco, r->op.arena, 1024);
    for (int c = 0; c < SPANS_NCOLS; c++)
        spans_col_init(&w.col[c], r->op.arena, 64 + r->body_len / cols[c].share, cols[c].oid);
    SPANS_LIT(&w.res, "[");
    SPANS_LIT(&w.sco, "[");
    if (spans_walk_request(&w, request))
        return -1;
    if (w.nspans == 0) /* nothing to store: an empty request too */
        return spans_otlp_answer(r, w.rejected, w.reject_reason);
    SPANS_LIT(&w.res, "]");
    SPANS_LIT(&w.sco, "]");
    p[SPAN_INSERT_IN_RESOURCES] = jsonx_out_end(&w.res, NULL);
    p[SPAN_INSERT_IN_SCOPES] = jsonx_out_end(&w.sco, NULL);
    for (int c = 0; c < SPANS_NCOLS; c++) {
        p[cols[c].in] = spans_col_end(&w.col[c], w.nspans, &lengths[cols[c].in]);
        formats[cols[c].in] = 1;
        if (!p[cols[c].in])
            return req_error(r, 500, "internal", NULL, "out of memory");
    }
    if (!p[SPAN_INSERT_IN_RESOURCES] || !p[SPAN_INSERT_IN_SCOPES])
        return req_error(r, 500, "internal", NULL, "out of memory");
    if (spans_reserve(&w, project_id, p))
        return -1;
    _Static_assert(SPAN_INSERT_DEDUPE__NIN == SPAN_INSERT__NIN, "one parameter list for both");
    res = db_exec_bin(&r->op, DB_STMT_SPAN_INSERT, p, lengths, formats, SPAN_INSERT__NIN);
    if (!res && strcmp(r->op.err.sqlstate, "23505") == 0) {
        /* A span stored already (an exporter's retry, a span sent twice): span_insert
         * rolled back whole; the same batch again, skipping such spans (span_insert's
         * comment says why two statements). */
        op_clear(&r->op);
        res = db_exec_bin(&r->op, DB_STMT_SPAN_INSERT_DEDUPE, p, lengths, formats,
                          SPAN_INSERT_DEDUPE__NIN);
    }
    if (!res) {
        if (w.nruns)
            spans_release(r);
        return -1;
    }
    /* After the COMMIT (the statement was its own transaction): one compact message per
     * run touched, so a viewer of the run fetches what it misses (after its last sequence
     * id). Unlinked spans (run_id NULL) have no run to tell. */
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, SPAN_INSERT_RUN_ID))
            continue;
        pub_event(r->op.pub, project_id, "run.spans", PQgetvalue(res, i, SPAN_INSERT_RUN_ID),
                  arena_sprintf(r->op.arena,
                                "{\"count\":%s,\"first_sequence_id\":\"%s\","
                                "\"last_sequence_id\":\"%s\"}",
                                PQgetvalue(res, i, SPAN_INSERT_COUNT),
                                PQgetvalue(res, i, SPAN_INSERT_FIRST_SEQ),
                                PQgetvalue(res, i, SPAN_INSERT_LAST_SEQ)));
    }
    return spans_otlp_answer(r, w.rejected, w.reject_reason);
}

/* A decoder's refusal: a 400 naming the field, or a 500 when it ran out of memory (an
 * empty field and that message, for jsonx_parse and otlp_pb_decode alike). */
static void spans_decode_error(struct req *r, const struct jsonx_err *je)
{
    if (!je->field[0] && strcmp(je->message, "out of memory") == 0)
        req_error(r, 500, "internal", NULL, "out of memory");
    else
        req_error_json(r, 400, je);
}

/* The body as the OTLP JSON read-only tree (jsonx_read's, in the request's arena), whatever
 * its encoding. The one place an encoding is chosen: Content-Type (OTLP JSON or protobuf,
 * anything else 415 before any work), then Content-Encoding (identity or gzip, inflated
 * under the same cap as the body, RUNWATCH_OTLP_MAX_BYTES: past it a 413, having allocated
 * no more), then the decoder, both making the same tree. json-c's tree was most of a JSON
 * request's API time (docs/PERFORMANCE.md, "span ingest without json-c's tree"); it is
 * built only to say why a body jsonx_read refused is malformed. */
static const struct jsonx_val *spans_otlp_decode(struct req *r)
{
    const char *enc = req_header(r, "Content-Encoding");
    const unsigned char *body = (const unsigned char *)(r->body ? r->body : "");
    size_t len = r->body_len;
    int pb = spans_is_pb(r), nul = 0;
    struct jsonx_err je;
    struct jsonx_val *tree = arena_calloc(r->op.arena, sizeof(*tree));

    if (!pb && !req_media_is(r->content_type, "application/json")) {
        req_error(r, 415, "unsupported_media_type", "Content-Type",
                  "must be application/json or application/x-protobuf");
        return NULL;
    }
    if (!tree) {
        req_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    if (enc && strcasecmp(enc, "gzip") == 0) {
        unsigned char *out;
        switch (inflate_gzip(body, len, r->op.cfg->otlp_max_bytes, &out, &len, &je)) {
        case INFLATE_OK:
            break;
        case INFLATE_TOO_LARGE:
            req_error(r, 413, "body_too_large", "Content-Encoding",
                      "request body inflates past %zu bytes", r->op.cfg->otlp_max_bytes);
            return NULL;
        case INFLATE_MALFORMED:
            req_error_json(r, 400, &je);
            return NULL;
        default:
            req_error(r, 500, "internal", NULL, "out of memory");
            return NULL;
        }
        if (arena_defer(r->op.arena, free, out) != 0) {
            free(out);
            req_error(r, 500, "internal", NULL, "out of memory");
            return NULL;
        }
        body = out;
    } else if (enc && *enc && strcasecmp(enc, "identity") != 0) {
        req_error(r, 415, "unsupported_media_type", "Content-Encoding",
                  "must be gzip or identity (or absent)");
        return NULL;
    }
    if (pb) {
        if (otlp_pb_decode(r->op.arena, body, len, tree, &je) != 0) {
            spans_decode_error(r, &je);
            return NULL;
        }
    } else if (len == 0) { /* an empty body is an empty request */
        tree->kind = JSONX_OBJECT;
    } else if (jsonx_read(r->op.arena, (const char *)body, len, tree, &nul) != 0) {
        /* A NUL in a string is the walk's to refuse, naming the field. jsonx_read refuses
         * a top level other than an object or array, which JSON allows: the walk says so. */
        json_object *again = jsonx_parse((const char *)body, len, &je);
        if (!again) {
            spans_decode_error(r, &je);
            return NULL;
        }
        json_object_put(again);
        req_error(r, 400, "invalid_field", NULL,
                  "the request must be an ExportTraceServiceRequest object");
        return NULL;
    }
    return tree;
}

int spans_otlp_traces(struct req *r)
{
    /* A project token that may write: its project is the spans'. */
    const char *project = access_own_project(&r->op, ACCESS_ROLE_MEMBER);
    if (!project)
        return req_error(r, 403, "forbidden", NULL,
                         r->op.ident && r->op.ident->kind == ACCESS_TOKEN
                             ? "the token may not write"
                             : "OTLP ingest takes a project token (Authorization: Bearer)");
    const struct jsonx_val *tree = spans_otlp_decode(r);
    if (!tree)
        return -1;
    return spans_otlp_ingest(r, project, tree);
}

/* ?status= as OTLP's code: unset 0, ok 1, error 2. */
static int spans_status_param(struct req *r, const char **out)
{
    static const char *const names[] = {"unset", "ok", "error"};
    const char *s = req_query(r, "status");
    *out = NULL;
    if (!s)
        return 0;
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i == 0 ? "0" : i == 1 ? "1" : "2";
            return 0;
        }
    return req_error(r, 400, "invalid_field", "status", "status must be unset, ok or error");
}

/* ?form=: full (the default: each span carries its resource and scope) or lean (each
 * resource and scope once per answer, in "resources" and "scopes", and each span their
 * index there: a trace's spans mostly share one resource, about 1 KB of JSON a span that
 * the dashboard's waterfall paid to fetch and parse 5,000 times). */
static int spans_form_param(struct req *r, int *lean)
{
    const char *f = req_query(r, "form");
    *lean = f && strcmp(f, "lean") == 0;
    if (f && !*lean && strcmp(f, "full") != 0)
        return req_error(r, 400, "invalid_field", "form", "form must be full or lean");
    return 0;
}

/* The distinct texts of one column of a read answer (resources, or scopes), in order of
 * first appearance: open addressing on FNV-1a of the text. PostgreSQL writes equal jsonb
 * values as equal text, so equal texts are the same resource. */
struct spans_tab {
    int *slot;  /* index + 1 into the answer's rows of each kept text's first row; 0 empty */
    int *first; /* the row of each kept text, in order */
    unsigned mask;
    int n;
};

static int spans_tab_init(struct spans_tab *t, struct arena *a, int rows)
{
    unsigned size = 16;
    while (size < 2u * (unsigned)rows)
        size <<= 1;
    t->slot = arena_alloc(a, size * sizeof *t->slot);
    t->first = arena_alloc(a, ((size_t)rows + 1) * sizeof *t->first);
    t->mask = size - 1;
    t->n = 0;
    if (!t->slot || !t->first)
        return -1;
    memset(t->slot, 0, size * sizeof *t->slot);
    return 0;
}

/* The index of row i's text in column col, kept if it is new. */
static int spans_tab_index(struct spans_tab *t, PGresult *res, int i, int col)
{
    const char *s = PQgetvalue(res, i, col);
    int len = PQgetlength(res, i, col);
    uint32_t h = 2166136261u;
    for (int k = 0; k < len; k++)
        h = (h ^ (unsigned char)s[k]) * 16777619u;
    for (unsigned j = h & t->mask;; j = (j + 1) & t->mask) {
        if (!t->slot[j]) {
            t->first[t->n] = i;
            t->slot[j] = ++t->n;
            return t->n - 1;
        }
        int row = t->first[t->slot[j] - 1];
        if (PQgetlength(res, row, col) == len &&
            memcmp(PQgetvalue(res, row, col), s, (size_t)len) == 0)
            return t->slot[j] - 1;
    }
}

/* Rows 0..shown of a read statement's binary answer (span_columns) as `"<key>":[…]` in o,
 * each span rendered by spanjson.c, in the form asked: the full one is span_json()'s, with
 * "resource" and "scope" in each span; the lean one gives each span "resource_index" and
 * "scope_index" and follows with "resources" and "scopes". */
static int spans_rows_out(struct req *r, struct jsonx_out *o, PGresult *res, int shown, int lean,
                          const char *key)
{
    struct spans_tab tr, ts;
    char err[256];

    if (shown && spanjson_check(res, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return req_error(r, 500, "internal", NULL, "internal error");
    }
    if (lean &&
        (spans_tab_init(&tr, r->op.arena, shown) || spans_tab_init(&ts, r->op.arena, shown)))
        return req_error(r, 500, "internal", NULL, "out of memory");
    jsonx_out_raw(o, "\"", 1);
    jsonx_out_raw(o, key, strlen(key));
    jsonx_out_raw(o, "\":[", 3);
    for (int i = 0; i < shown; i++) {
        if (i)
            jsonx_out_raw(o, ",", 1);
        int ri = lean ? spans_tab_index(&tr, res, i, SPAN_TRACE_RESOURCE) : -1;
        int si = lean ? spans_tab_index(&ts, res, i, SPAN_TRACE_SCOPE) : -1;
        if (spanjson_row(o, res, i, ri, si) != 0) {
            log_error("span read: row %d has a malformed binary value", i);
            return req_error(r, 500, "internal", NULL, "internal error");
        }
    }
    jsonx_out_raw(o, "]", 1);
    if (!lean)
        return 0;
    for (int c = 0; c < 2; c++) {
        const struct spans_tab *t = c ? &ts : &tr;
        jsonx_out_raw(o, c ? ",\"scopes\":[" : ",\"resources\":[", c ? 11 : 14);
        for (int k = 0; k < t->n; k++) {
            struct pgjson_row w = {.o = o, .res = res, .row = t->first[k], .bad = 0};
            if (k)
                jsonx_out_raw(o, ",", 1);
            pgjson_jsonb(&w, c ? SPAN_TRACE_SCOPE : SPAN_TRACE_RESOURCE);
            if (w.bad) /* (spanjson_row read the same value well) */
                return req_error(r, 500, "internal", NULL, "internal error");
        }
        jsonx_out_raw(o, "]", 1);
    }
    return 0;
}

/* The cursor after a page's last row, made from its binary columns: sequence_id, or
 * start_ns:sequence_id (a run's spans by start), or start_ns:trace_id:span_id (the search). */
enum spans_cursor { SPANS_CURSOR_SEQUENCE, SPANS_CURSOR_START, SPANS_CURSOR_SEARCH };

/* {"items":[…](,"resources":[…],"scopes":[…]),"next_cursor":…}: rows 0..shown of a binary
 * span_columns answer, and a cursor after the last when more is set. */
static int spans_page(struct req *r, PGresult *res, int shown, int more, int lean,
                      enum spans_cursor kind)
{
    struct jsonx_out o;
    jsonx_out_init(&o, r->op.arena, 64 + (size_t)shown * 1024);
    jsonx_out_raw(&o, "{", 1);
    if (spans_rows_out(r, &o, res, shown, lean, "items"))
        return -1;
    jsonx_out_raw(&o, ",\"next_cursor\":", 15);
    if (!more || !shown) {
        jsonx_out_raw(&o, "null}", 5);
        return req_json_text(r, 200, jsonx_out_end(&o, NULL));
    }
    /* Numbers, hex and colons (spanjson_check read the columns' types): nothing to escape. */
    char next[2 * PGJSON_NUM_MAX + 64], *e = next;
    int last = shown - 1;
    *e++ = '"';
    if (kind != SPANS_CURSOR_SEQUENCE) {
        e += pgjson_fmt_i64(e, pgjson_time_at(res, last, SPAN_TRACE_START_NS));
        *e++ = ':';
    }
    if (kind != SPANS_CURSOR_SEARCH) {
        e += pgjson_fmt_i64(e, pgjson_time_at(res, last, SPAN_TRACE_SEQUENCE_ID));
    } else {
        for (int c = 0; c < 2; c++) {
            int col = c ? SPAN_TRACE_SPAN_ID : SPAN_TRACE_TRACE_ID,
                len = PQgetlength(res, last, col);
            if (c)
                *e++ = ':';
            e = pgjson_hex_bytes(e, (const unsigned char *)PQgetvalue(res, last, col),
                                 (size_t)(len < 16 ? len : 16));
        }
    }
    memcpy(e, "\"}", 2);
    jsonx_out_raw(&o, next, (size_t)(e + 2 - next));
    return req_json_text(r, 200, jsonx_out_end(&o, NULL));
}

/* GET /runs/{run}/spans: by sequence id (order=sequence, the default) or by start time. */
int spans_list(struct req *r)
{
    static const char *const known[] = {"order",  "cursor", "attempt", "name",
                                        "status", "limit",  "form",    NULL};
    const char *order = req_query(r, "order"), *cursor = req_query(r, "cursor");
    const char *attempt = req_query(r, "attempt"), *name = req_query(r, "name"), *status;
    struct access_project pr;
    long limit;
    int lean;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit) || spans_status_param(r, &status) ||
        spans_form_param(r, &lean))
        return -1;
    if (order && strcmp(order, "sequence") != 0 && strcmp(order, "start") != 0)
        return req_error(r, 400, "invalid_field", "order", "order must be sequence or start");
    int by_start = order && strcmp(order, "start") == 0;
    if (attempt && (!req_is_int(attempt) || strlen(attempt) > 9))
        return req_error(r, 400, "invalid_field", "attempt", "attempt must be an attempt number");
    const char *after = "0", *after_ns = "-1", *after_seq = "0";
    if (cursor) {
        const char *colon = strchr(cursor, ':');
        if (!by_start ? !req_is_int(cursor)
                      : !colon || !req_is_int(colon + 1) ||
                            !spans_digits_n(cursor, (size_t)(colon - cursor)))
            return req_error(r, 400, "invalid_field", "cursor",
                             "cursor must be a next_cursor of this list and order");
        after = cursor;
        if (by_start) {
            after_ns = arena_strndup(r->op.arena, cursor, (size_t)(colon - cursor));
            after_seq = colon + 1;
        }
    }
    if (runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *lim = arena_sprintf(r->op.arena, "%ld", limit + 1);
    if (by_start) {
        const char *p[SPAN_LIST_RUN_START__NIN] = {[SPAN_LIST_RUN_START_IN_RUN] =
                                                       req_path_param(r, "run"),
                                                   [SPAN_LIST_RUN_START_IN_AFTER_NS] = after_ns,
                                                   [SPAN_LIST_RUN_START_IN_AFTER_SEQ] = after_seq,
                                                   [SPAN_LIST_RUN_START_IN_ATTEMPT] = attempt,
                                                   [SPAN_LIST_RUN_START_IN_NAME] = name,
                                                   [SPAN_LIST_RUN_START_IN_STATUS] = status,
                                                   [SPAN_LIST_RUN_START_IN_LIMIT] = lim};
        res = DB_EXEC(&r->op, DB_STMT_SPAN_LIST_RUN_START, p);
    } else {
        const char *p[SPAN_LIST_RUN__NIN] = {[SPAN_LIST_RUN_IN_RUN] = req_path_param(r, "run"),
                                             [SPAN_LIST_RUN_IN_AFTER] = after,
                                             [SPAN_LIST_RUN_IN_ATTEMPT] = attempt,
                                             [SPAN_LIST_RUN_IN_NAME] = name,
                                             [SPAN_LIST_RUN_IN_STATUS] = status,
                                             [SPAN_LIST_RUN_IN_LIMIT] = lim};
        res = DB_EXEC(&r->op, DB_STMT_SPAN_LIST_RUN, p);
    }
    if (!res)
        return -1;
    int n = PQntuples(res);
    return spans_page(r, res, n > limit ? (int)limit : n, n > limit, lean,
                      by_start ? SPANS_CURSOR_START : SPANS_CURSOR_SEQUENCE);
}

/* 1 when s is n hex digits. */
static int spans_is_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int spans_cursor_parse(struct arena *a, const char *cursor, const char **ns,
                              const char **trace, const char **span)
{
    const char *c1 = strchr(cursor, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    *ns = c1 ? arena_strndup(a, cursor, (size_t)(c1 - cursor)) : NULL;
    *trace = c2 ? arena_strndup(a, c1 + 1, (size_t)(c2 - c1 - 1)) : NULL;
    *span = c2 ? c2 + 1 : NULL;
    return *ns && spans_digits_n(*ns, strlen(*ns)) && spans_is_hex(*trace, 32) &&
                   spans_is_hex(*span, 16)
               ? 0
               : -1;
}

int spans_range_params(struct req *r, const char *cursor_of, struct spans_range *g)
{
    const char *cursor = req_query(r, "cursor");

    memset(g, 0, sizeof(*g));
    g->from = req_query(r, "from");
    g->to = req_query(r, "to");
    if (g->from && !jsonx_is_rfc3339(g->from))
        return req_error(r, 400, "invalid_field", "from", "from must be an RFC 3339 time");
    if (g->to && !jsonx_is_rfc3339(g->to))
        return req_error(r, 400, "invalid_field", "to", "to must be an RFC 3339 time");
    if (cursor &&
        spans_cursor_parse(r->op.arena, cursor, &g->after_ns, &g->after_trace, &g->after_span))
        return req_error(r, 400, "invalid_field", "cursor", "cursor must be a next_cursor of %s",
                         cursor_of);
    return 0;
}

/* GET /traces/{trace_id}: the trace's spans in the caller's project (?project= for a user;
 * a token reads its own). A trace with no span there is 404, whoever else has it. */
int spans_trace(struct req *r)
{
    static const char *const known[] = {"project", "form", NULL};
    const char *trace = req_path_param(r, "trace_id");
    struct access_project pr;
    int lean;
    PGresult *res;

    if (req_only_params(r, known) || spans_form_param(r, &lean))
        return -1;
    if (!spans_is_hex(trace, 32))
        return req_error(r, 404, "not_found", NULL, "no such trace");
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[SPAN_TRACE__NIN] = {[SPAN_TRACE_IN_PROJECT] = pr.id,
                                      [SPAN_TRACE_IN_TRACE] = trace,
                                      [SPAN_TRACE_IN_LIMIT] =
                                          arena_sprintf(r->op.arena, "%d", SPANS_TRACE_MAX + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_SPAN_TRACE, p)))
        return -1;
    int n = PQntuples(res), shown = n > SPANS_TRACE_MAX ? SPANS_TRACE_MAX : n;
    if (n == 0)
        return req_error(r, 404, "not_found", NULL, "no such trace");
    struct jsonx_out o;
    jsonx_out_init(&o, r->op.arena, 64 + (size_t)shown * (lean ? 512 : 1536));
    jsonx_out_raw(&o, "{\"trace_id\":\"", 13);
    for (int i = 0; i < 32; i++) {
        char c = (char)tolower((unsigned char)trace[i]);
        jsonx_out_raw(&o, &c, 1);
    }
    jsonx_out_raw(&o, "\",", 2);
    if (spans_rows_out(r, &o, res, shown, lean, "spans"))
        return -1;
    const char *tail = n > SPANS_TRACE_MAX ? ",\"truncated\":true}" : ",\"truncated\":false}";
    jsonx_out_raw(&o, tail, strlen(tail));
    return req_json_text(r, 200, jsonx_out_end(&o, NULL));
}

/* ?attr=key=value as the attribute objects a span's attributes may contain: the value as
 * a string, and also as an int, a double or a bool when it reads as one (a JSON array of
 * {"key": AnyValue}). */
static const char *spans_attr_filter(struct req *r, const char *attr)
{
    const char *eq = strchr(attr, '=');
    if (!eq || eq == attr)
        return NULL;
    const char *key = arena_strndup(r->op.arena, attr, (size_t)(eq - attr)), *v = eq + 1;
    json_object *arr = req_own_json(r, json_object_new_array());
    if (!arr || !key)
        return NULL;
    const char *kinds[3] = {"stringValue", NULL, NULL};
    json_object *vals[3] = {json_object_new_string(v), NULL, NULL};
    char *end;
    errno = 0;
    long long ll = spans_digits(v, 1) ? strtoll(v, &end, 10) : 0;
    if (spans_digits(v, 1) && !errno && !*end) {
        kinds[1] = "intValue";
        vals[1] = spans_decimal(ll);
    }
    double d = *v ? strtod(v, &end) : 0;
    if (*v && !*end && isfinite(d) && !strpbrk(v, "xXnNiI")) {
        kinds[2] = "doubleValue";
        vals[2] = spans_double(r->op.arena, d);
    } else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        kinds[2] = "boolValue";
        vals[2] = json_object_new_boolean(v[0] == 't');
    }
    for (int i = 0; i < 3; i++) {
        if (!kinds[i])
            continue;
        json_object *one = json_object_new_object(), *val = json_object_new_object();
        json_object_object_add(val, kinds[i], vals[i]);
        json_object_object_add(one, key, val);
        json_object_array_add(arr, one);
    }
    return jsonx_to_string(arr, NULL);
}

/* GET /spans: search a project's spans, newest start first. */
int spans_search(struct req *r)
{
    static const char *const known[] = {"project", "name", "attr",   "status", "min_duration_ms",
                                        "from",    "to",   "cursor", "limit",  NULL};
    const char *attr = req_query(r, "attr"), *min_ms = req_query(r, "min_duration_ms");
    const char *status, *attrs = NULL, *min_ns = NULL;
    struct spans_range g;
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit) || spans_status_param(r, &status))
        return -1;
    if (attr && !(attrs = spans_attr_filter(r, attr)))
        return req_error(r, 400, "invalid_field", "attr", "attr must be key=value");
    if (min_ms) {
        if (!req_is_int(min_ms) || strlen(min_ms) > 12)
            return req_error(r, 400, "invalid_field", "min_duration_ms",
                             "min_duration_ms must be a whole number of milliseconds");
        min_ns = arena_sprintf(r->op.arena, "%lld", strtoll(min_ms, NULL, 10) * 1000000LL);
    }
    if (spans_range_params(r, "this search", &g))
        return -1;
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[SPAN_SEARCH__NIN] = {[SPAN_SEARCH_IN_PROJECT] = pr.id,
                                       [SPAN_SEARCH_IN_NAME] = req_query(r, "name"),
                                       [SPAN_SEARCH_IN_ATTRS] = attrs,
                                       [SPAN_SEARCH_IN_STATUS] = status,
                                       [SPAN_SEARCH_IN_MIN_DURATION_NS] = min_ns,
                                       [SPAN_SEARCH_IN_FROM] = g.from,
                                       [SPAN_SEARCH_IN_TO] = g.to,
                                       [SPAN_SEARCH_IN_AFTER_NS] = g.after_ns,
                                       [SPAN_SEARCH_IN_AFTER_TRACE] = g.after_trace,
                                       [SPAN_SEARCH_IN_AFTER_SPAN] = g.after_span,
                                       [SPAN_SEARCH_IN_LIMIT] =
                                           arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_SPAN_SEARCH, p)))
        return -1;
    int n = PQntuples(res);
    return spans_page(r, res, n > limit ? (int)limit : n, n > limit, 0, SPANS_CURSOR_SEARCH);
}
