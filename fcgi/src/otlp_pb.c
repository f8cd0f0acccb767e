/* otlp_pb: a protobuf decoder for OTLP's ExportTraceServiceRequest, written by hand from
 * the published field numbers, building the tree the OTLP JSON mapping gives (otlp_pb.h).
 * Messages are described by tables (number, JSON name, type); one loop walks them. Only
 * AnyValue's nesting recurses, and the depth cap bounds it. Proto3 semantics are kept:
 * unknown fields are skipped by wire type, a singular field sent twice keeps the last
 * value (a message merges), setting a oneof member clears the others. Anything a
 * conforming encoder cannot produce is refused, naming the field: a wrong wire type, a
 * varint past 10 bytes or past its type's range, a length past the end of its message,
 * invalid UTF-8 or NUL in a string, an id of the wrong length.
 * Also the two small messages a protobuf request is answered with (pbe_*, at the end). */
#include "otlp_pb.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

enum pb_type {
    PB_STRING,      /* string: UTF-8, no NUL */
    PB_STRINGS,     /* repeated string */
    PB_BYTES,       /* bytes: standard base64 */
    PB_ID16,        /* bytes of 16: hex (trace ids) */
    PB_ID8,         /* bytes of 8: hex (span ids) */
    PB_ID8_OR_NONE, /* bytes of 8 or empty: hex or "" (parent span id) */
    PB_FIXED64,     /* fixed64: a decimal string */
    PB_FIXED32,     /* fixed32: an integer */
    PB_UINT32,      /* varint within uint32: an integer */
    PB_INT32,       /* varint within int32 (enums too): an integer */
    PB_INT64,       /* varint: a decimal string */
    PB_BOOL,        /* varint: true unless 0 */
    PB_DOUBLE,      /* fixed64 double: a number, or "NaN", "Infinity", "-Infinity" */
    PB_MSG,         /* a message: an object */
    PB_MSGS,        /* repeated message: an array of objects */
};

/* Protobuf wire types. Groups (3, 4) are proto2's; they are skipped when unknown. */
enum {
    PB_WT_VARINT = 0,
    PB_WT_I64 = 1,
    PB_WT_LEN = 2,
    PB_WT_SGROUP = 3,
    PB_WT_EGROUP = 4,
    PB_WT_I32 = 5
};

struct pb_msg;
struct pb_field {
    uint32_t num;
    const char *name; /* the JSON mapping's key */
    unsigned char type;
    unsigned char oneof; /* a member of the message's one oneof */
    const struct pb_msg *msg;
};
struct pb_msg {
    const struct pb_field *fields;
    size_t n;
};

#define PB_MSG_OF(f)                                                                               \
    {                                                                                              \
        f, sizeof(f) / sizeof(f[0])                                                                \
    }

/* The messages refer to each other, AnyValue in a cycle. */
static const struct pb_msg pb_any_value, pb_key_value;

/* opentelemetry/proto/common/v1/common.proto */
static const struct pb_field pb_array_value_f[] = {
    {1, "values", PB_MSGS, 0, &pb_any_value},
};
static const struct pb_msg pb_array_value = PB_MSG_OF(pb_array_value_f);
static const struct pb_field pb_kvlist_f[] = {
    {1, "values", PB_MSGS, 0, &pb_key_value},
};
static const struct pb_msg pb_kvlist = PB_MSG_OF(pb_kvlist_f);
static const struct pb_field pb_any_value_f[] = {
    {1, "stringValue", PB_STRING, 1, NULL},
    {2, "boolValue", PB_BOOL, 1, NULL},
    {3, "intValue", PB_INT64, 1, NULL},
    {4, "doubleValue", PB_DOUBLE, 1, NULL},
    {5, "arrayValue", PB_MSG, 1, &pb_array_value},
    {6, "kvlistValue", PB_MSG, 1, &pb_kvlist},
    {7, "bytesValue", PB_BYTES, 1, NULL},
    /* Profiles only; a trace receiver treats it as absent (kept for the ingest to see). */
    {8, "stringValueStrindex", PB_INT32, 1, NULL},
};
static const struct pb_msg pb_any_value = PB_MSG_OF(pb_any_value_f);
static const struct pb_field pb_key_value_f[] = {
    {1, "key", PB_STRING, 0, NULL},
    {2, "value", PB_MSG, 0, &pb_any_value},
    {3, "keyStrindex", PB_INT32, 0, NULL},
};
static const struct pb_msg pb_key_value = PB_MSG_OF(pb_key_value_f);
static const struct pb_field pb_scope_f[] = {
    {1, "name", PB_STRING, 0, NULL},
    {2, "version", PB_STRING, 0, NULL},
    {3, "attributes", PB_MSGS, 0, &pb_key_value},
    {4, "droppedAttributesCount", PB_UINT32, 0, NULL},
};
static const struct pb_msg pb_scope = PB_MSG_OF(pb_scope_f);
static const struct pb_field pb_entity_ref_f[] = {
    {1, "schemaUrl", PB_STRING, 0, NULL},
    {2, "type", PB_STRING, 0, NULL},
    {3, "idKeys", PB_STRINGS, 0, NULL},
    {4, "descriptionKeys", PB_STRINGS, 0, NULL},
};
static const struct pb_msg pb_entity_ref = PB_MSG_OF(pb_entity_ref_f);

/* opentelemetry/proto/resource/v1/resource.proto */
static const struct pb_field pb_resource_f[] = {
    {1, "attributes", PB_MSGS, 0, &pb_key_value},
    {2, "droppedAttributesCount", PB_UINT32, 0, NULL},
    {3, "entityRefs", PB_MSGS, 0, &pb_entity_ref},
};
static const struct pb_msg pb_resource = PB_MSG_OF(pb_resource_f);

/* opentelemetry/proto/trace/v1/trace.proto */
static const struct pb_field pb_status_f[] = {
    {2, "message", PB_STRING, 0, NULL},
    {3, "code", PB_INT32, 0, NULL},
};
static const struct pb_msg pb_status = PB_MSG_OF(pb_status_f);
static const struct pb_field pb_event_f[] = {
    {1, "timeUnixNano", PB_FIXED64, 0, NULL},
    {2, "name", PB_STRING, 0, NULL},
    {3, "attributes", PB_MSGS, 0, &pb_key_value},
    {4, "droppedAttributesCount", PB_UINT32, 0, NULL},
};
static const struct pb_msg pb_event = PB_MSG_OF(pb_event_f);
static const struct pb_field pb_link_f[] = {
    {1, "traceId", PB_ID16, 0, NULL},
    {2, "spanId", PB_ID8, 0, NULL},
    {3, "traceState", PB_STRING, 0, NULL},
    {4, "attributes", PB_MSGS, 0, &pb_key_value},
    {5, "droppedAttributesCount", PB_UINT32, 0, NULL},
    {6, "flags", PB_FIXED32, 0, NULL},
};
static const struct pb_msg pb_link = PB_MSG_OF(pb_link_f);
static const struct pb_field pb_span_f[] = {
    {1, "traceId", PB_ID16, 0, NULL},
    {2, "spanId", PB_ID8, 0, NULL},
    {3, "traceState", PB_STRING, 0, NULL},
    {4, "parentSpanId", PB_ID8_OR_NONE, 0, NULL},
    {5, "name", PB_STRING, 0, NULL},
    {6, "kind", PB_INT32, 0, NULL},
    {7, "startTimeUnixNano", PB_FIXED64, 0, NULL},
    {8, "endTimeUnixNano", PB_FIXED64, 0, NULL},
    {9, "attributes", PB_MSGS, 0, &pb_key_value},
    {10, "droppedAttributesCount", PB_UINT32, 0, NULL},
    {11, "events", PB_MSGS, 0, &pb_event},
    {12, "droppedEventsCount", PB_UINT32, 0, NULL},
    {13, "links", PB_MSGS, 0, &pb_link},
    {14, "droppedLinksCount", PB_UINT32, 0, NULL},
    {15, "status", PB_MSG, 0, &pb_status},
    {16, "flags", PB_FIXED32, 0, NULL},
};
static const struct pb_msg pb_span = PB_MSG_OF(pb_span_f);
static const struct pb_field pb_scope_spans_f[] = {
    {1, "scope", PB_MSG, 0, &pb_scope},
    {2, "spans", PB_MSGS, 0, &pb_span},
    {3, "schemaUrl", PB_STRING, 0, NULL},
};
static const struct pb_msg pb_scope_spans = PB_MSG_OF(pb_scope_spans_f);
static const struct pb_field pb_resource_spans_f[] = {
    {1, "resource", PB_MSG, 0, &pb_resource},
    {2, "scopeSpans", PB_MSGS, 0, &pb_scope_spans},
    {3, "schemaUrl", PB_STRING, 0, NULL},
};
static const struct pb_msg pb_resource_spans = PB_MSG_OF(pb_resource_spans_f);

/* opentelemetry/proto/collector/trace/v1/trace_service.proto */
static const struct pb_field pb_request_f[] = {
    {1, "resourceSpans", PB_MSGS, 0, &pb_resource_spans},
};
static const struct pb_msg pb_request = PB_MSG_OF(pb_request_f);

/* The decoder's state: where it is, as a stack of keys and indexes, made into a JSON path
 * only when a field is refused (formatting it for every field cost a third of the time). */
#define PBD_FRAMES (2 * OTLP_PB_MAX_DEPTH + 8)
struct pbd {
    struct jsonx_err *err;
    struct arena *a;
    size_t n; /* frames in use; past PBD_FRAMES they are counted, not kept */
    struct {
        const char *name; /* a key, or NULL for an index */
        size_t index;
    } at[PBD_FRAMES];
};

/* Enters a key (name) or an array index; returns what pbd_pop restores. */
static size_t pbd_push(struct pbd *d, const char *name, size_t index)
{
    if (d->n < PBD_FRAMES) {
        d->at[d->n].name = name;
        d->at[d->n].index = index;
    }
    return d->n++;
}

static void pbd_pop(struct pbd *d, size_t old)
{
    d->n = old;
}

/* The path of the frames, "resourceSpans[0].scopeSpans", cut to fit. */
static void pbd_path(const struct pbd *d, char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < d->n && i < PBD_FRAMES && len < cap; i++) {
        int k = d->at[i].name
                    ? snprintf(buf + len, cap - len, "%s%s", len ? "." : "", d->at[i].name)
                    : snprintf(buf + len, cap - len, "[%zu]", d->at[i].index);
        if (k < 0)
            break;
        len += (size_t)k;
    }
}

/* Refuses the input: "malformed protobuf: <path> <what>" with the path as the field. */
static int pbd_fail(struct pbd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pbd_fail(struct pbd *d, const char *fmt, ...)
{
    char what[160], path[sizeof(d->err->field)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    pbd_path(d, path, sizeof(path));
    jsonx_err_set(d->err, path, "malformed protobuf: %s %s", path[0] ? path : "the request", what);
    return -1;
}

static int pbd_nomem(struct pbd *d)
{
    jsonx_err_set(d->err, "", "out of memory");
    return -1;
}

/* A varint of at most 10 bytes whose 10th holds only the 64th bit. 0, or -1 when the
 * bytes end first, -2 when it is too long. */
static int pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 70; shift += 7) {
        unsigned char b;
        if (*p >= end)
            return -1;
        b = *(*p)++;
        if (shift == 63 && b > 1)
            return -2;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -2;
}

static uint64_t pb_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int pb_varint_or_fail(struct pbd *d, const unsigned char **p, const unsigned char *end,
                             uint64_t *v)
{
    int rc = pb_varint(p, end, v);
    if (rc == -1)
        return pbd_fail(d, "has a truncated varint");
    if (rc == -2)
        return pbd_fail(d, "has a varint longer than 10 bytes");
    return 0;
}

/* Skips a field the tables do not know (a newer schema's), by its wire type. A group
 * is skipped to its matching end, nested at most `depth_left` deep. */
static int pb_skip(struct pbd *d, uint32_t num, unsigned wt, const unsigned char **p,
                   const unsigned char *end, int depth_left)
{
    uint64_t v;

    switch (wt) {
    case PB_WT_VARINT:
        return pb_varint_or_fail(d, p, end, &v);
    case PB_WT_I64:
    case PB_WT_I32: {
        size_t n = wt == PB_WT_I64 ? 8 : 4;
        if ((size_t)(end - *p) < n)
            return pbd_fail(d, "field %" PRIu32 " ends past its message", num);
        *p += n;
        return 0;
    }
    case PB_WT_LEN:
        if (pb_varint_or_fail(d, p, end, &v) != 0)
            return -1;
        if (v > (uint64_t)(end - *p))
            return pbd_fail(d, "field %" PRIu32 " ends past its message", num);
        *p += v;
        return 0;
    case PB_WT_SGROUP:
        if (depth_left <= 0)
            return pbd_fail(d, "field %" PRIu32 " nests groups too deep", num);
        for (;;) {
            uint64_t tag;
            if (*p >= end)
                return pbd_fail(d, "group %" PRIu32 " has no end", num);
            if (pb_varint_or_fail(d, p, end, &tag) != 0)
                return -1;
            if ((tag & 7) == PB_WT_EGROUP) {
                if (tag >> 3 != num)
                    return pbd_fail(d, "group %" PRIu32 " ends with group %" PRIu64, num, tag >> 3);
                return 0;
            }
            if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
                return pbd_fail(d, "has field number %" PRIu64, tag >> 3);
            if (pb_skip(d, (uint32_t)(tag >> 3), (unsigned)(tag & 7), p, end, depth_left - 1) != 0)
                return -1;
        }
    default:
        return pbd_fail(d, "field %" PRIu32 " has wire type %u", num, wt);
    }
}

static unsigned pb_wire_type(enum pb_type t)
{
    switch (t) {
    case PB_FIXED64:
    case PB_DOUBLE:
        return PB_WT_I64;
    case PB_FIXED32:
        return PB_WT_I32;
    case PB_UINT32:
    case PB_INT32:
    case PB_INT64:
    case PB_BOOL:
        return PB_WT_VARINT;
    default:
        return PB_WT_LEN;
    }
}

/* ---- The tree (jsonx.h's read-only form, built in the request's arena). An object of
 * message m has room for m's fields from the start (each is one key, a repeated field one
 * array); an array grows by doubling: its room is 4, then the power of two at or above n, so
 * it needs no field of its own. A string is the bytes of the buffer (no copy); numbers,
 * ids and base64 are text written in the arena. */

static void pb_str(struct jsonx_val *v, const char *s, size_t n, int kind)
{
    memset(v, 0, sizeof(*v));
    v->kind = (unsigned char)kind;
    v->s = n ? s : "";
    v->len = n;
}

/* n bytes of text in the arena, NUL-terminated (the walk's strtod reads it). */
static char *pb_text(struct pbd *d, const char *s, size_t n)
{
    char *t = arena_alloc(d->a, n + 1);
    if (t) {
        memcpy(t, s, n);
        t[n] = '\0';
    }
    return t;
}

/* The text of a double that reads back as the same double, as short as it can be, with
 * ".0" when it would read as an integer (as the JSON mapping's number would). */
static int pb_double(struct pbd *d, struct jsonx_val *v, double x)
{
    char buf[40];
    const char *t;

    if (isnan(x) || isinf(x)) {
        t = isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
        pb_str(v, t, strlen(t), JSONX_STRING);
        return 0;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    if (!strpbrk(buf, ".eE")) {
        size_t n = strlen(buf);
        memcpy(buf + n, ".0", 3);
    }
    if (!(t = pb_text(d, buf, strlen(buf))))
        return pbd_nomem(d);
    pb_str(v, t, strlen(t), JSONX_NUMBER);
    return 0;
}

/* v in decimal, with a minus when negative is set (int64's magnitude as a uint64): a string
 * (kind JSONX_STRING, the JSON mapping's 64-bit form) or an integer (JSONX_NUMBER). */
static int pb_decimal(struct pbd *d, struct jsonx_val *out, uint64_t v, int negative, int kind)
{
    char buf[JSONX_DEC_MAX], *t;
    size_t n = jsonx_fmt_dec(buf, v, negative);

    if (!(t = pb_text(d, buf, n)))
        return pbd_nomem(d);
    pb_str(out, t, n, kind);
    out->integer = kind == JSONX_NUMBER;
    return 0;
}

static int pb_hex(struct pbd *d, struct jsonx_val *out, const unsigned char *s, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *buf = arena_alloc(d->a, 2 * n + 1);

    if (!buf)
        return pbd_nomem(d);
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = digits[s[i] >> 4];
        buf[2 * i + 1] = digits[s[i] & 15];
    }
    buf[2 * n] = '\0';
    pb_str(out, buf, 2 * n, JSONX_STRING);
    return 0;
}

static int pb_base64(struct pbd *d, struct jsonx_val *out, const unsigned char *s, size_t n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t out_len = (n + 2) / 3 * 4, o = 0;
    char *buf = arena_alloc(d->a, out_len + 1);

    if (!buf)
        return pbd_nomem(d);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        buf[o++] = digits[v >> 18 & 63];
        buf[o++] = digits[v >> 12 & 63];
        buf[o++] = i + 1 < n ? digits[v >> 6 & 63] : '=';
        buf[o++] = i + 2 < n ? digits[v & 63] : '=';
    }
    buf[out_len] = '\0';
    pb_str(out, buf, out_len, JSONX_STRING);
    return 0;
}

/* How many members an object of message m has room for: one for each of its fields, and one
 * for its oneof's members together (setting one clears the others, so at most one is there):
 * an AnyValue, the most frequent message, takes one member's room, not seven. */
static size_t pb_room(const struct pb_msg *m)
{
    size_t room = 0;
    int oneof = 0;

    for (size_t i = 0; i < m->n; i++) {
        room += !m->fields[i].oneof;
        oneof |= m->fields[i].oneof;
    }
    return room + (size_t)oneof;
}

/* An empty object of message m, with pb_room(m) members' room. */
static int pb_object(struct pbd *d, struct jsonx_val *v, const struct pb_msg *m)
{
    memset(v, 0, sizeof(*v));
    v->kind = JSONX_OBJECT;
    if (!(v->members = arena_alloc(d->a, pb_room(m) * sizeof(struct jsonx_member))))
        return pbd_nomem(d);
    return 0;
}

/* obj's member for field f, NULL when it has none yet (keys are the table's names). */
static struct jsonx_member *pb_member(struct jsonx_val *obj, const struct pb_field *f)
{
    struct jsonx_member *m = (struct jsonx_member *)obj->members;
    for (uint32_t i = 0; i < obj->n; i++)
        if (m[i].key == f->name)
            return &m[i];
    return NULL;
}

/* obj's member for f, added (its value zeroed: JSONX_NULL) when it has none; NULL when obj
 * has no room left (room: pb_room of its message; the oneof's clearing keeps it from
 * happening, and an arena block would not catch a write past it). */
static struct jsonx_member *pb_member_add(struct jsonx_val *obj, const struct pb_field *f,
                                          size_t room)
{
    struct jsonx_member *m = pb_member(obj, f);
    if (m)
        return m;
    if (obj->n >= room)
        return NULL;
    m = (struct jsonx_member *)&obj->members[obj->n++];
    memset(m, 0, sizeof(*m));
    m->key = f->name;
    m->key_len = strlen(f->name);
    return m;
}

/* A new last item of the array arr, zeroed. */
static struct jsonx_val *pb_item_add(struct pbd *d, struct jsonx_val *arr)
{
    struct jsonx_val *items = (struct jsonx_val *)arr->items;
    uint32_t n = arr->n;

    if (n == UINT32_MAX) {
        pbd_fail(d, "has too many elements");
        return NULL;
    }
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        size_t cap = n ? 2 * (size_t)n : 4;
        struct jsonx_val *grown = arena_alloc(d->a, cap * sizeof(*grown));
        if (!grown) {
            pbd_nomem(d);
            return NULL;
        }
        if (n)
            memcpy(grown, items, n * sizeof(*grown));
        arr->items = items = grown;
    }
    memset(&items[n], 0, sizeof(items[n]));
    arr->n = n + 1;
    return &items[n];
}

static int pb_message(struct pbd *d, const struct pb_msg *m, const unsigned char *p,
                      const unsigned char *end, struct jsonx_val *obj, int depth);

/* Sets (or, for repeated fields, appends) one field's value in obj; d's frames name the
 * field. depth is the level obj is at (the request is 1). */
static int pb_value(struct pbd *d, const struct pb_field *f, const unsigned char **p,
                    const unsigned char *end, struct jsonx_val *obj, int depth, size_t room)
{
    const unsigned char *s = NULL;
    uint64_t v = 0;
    size_t n = 0;
    struct jsonx_member *mem;
    struct jsonx_val *val;

    /* Read the field's bytes by its wire type (already checked against the table). */
    switch (pb_wire_type(f->type)) {
    case PB_WT_VARINT:
        if (pb_varint_or_fail(d, p, end, &v) != 0)
            return -1;
        break;
    case PB_WT_I64:
    case PB_WT_I32:
        n = pb_wire_type(f->type) == PB_WT_I64 ? 8 : 4;
        if ((size_t)(end - *p) < n)
            return pbd_fail(d, "ends past its message");
        v = pb_le(*p, (int)n);
        *p += n;
        break;
    default:
        if (pb_varint_or_fail(d, p, end, &v) != 0)
            return -1;
        if (v > (uint64_t)(end - *p))
            return pbd_fail(d, "has a length of %" PRIu64 " bytes, past the end of its message", v);
        s = *p;
        n = (size_t)v;
        *p += n;
        break;
    }

    if (!(mem = pb_member_add(obj, f, room)))
        return pbd_fail(d, "has more fields than its message");
    val = &mem->val;
    /* A repeated field's element is one level below its array. */
    if (f->type == PB_MSGS || f->type == PB_STRINGS) {
        if (depth + 1 > OTLP_PB_MAX_DEPTH || (f->type == PB_MSGS && depth + 2 > OTLP_PB_MAX_DEPTH))
            return pbd_fail(d, "nests deeper than %d levels", OTLP_PB_MAX_DEPTH);
        if (val->kind != JSONX_ARRAY) {
            memset(val, 0, sizeof(*val));
            val->kind = JSONX_ARRAY;
        }
        size_t old = pbd_push(d, NULL, val->n);
        if (!(val = pb_item_add(d, val)))
            return -1;
        pbd_pop(d, old);
    }
    switch ((enum pb_type)f->type) {
    case PB_STRING:
    case PB_STRINGS: {
        size_t old = 0;
        if (f->type == PB_STRINGS)
            old = pbd_push(d, NULL, mem->val.n - 1);
        if (n > INT32_MAX)
            return pbd_fail(d, "is too long");
        if (memchr(s, '\0', n))
            return pbd_fail(d, "must not contain NUL characters (\\u0000)");
        if (!jsonx_utf8_valid((const char *)s, n))
            return pbd_fail(d, "is not valid UTF-8");
        if (f->type == PB_STRINGS)
            pbd_pop(d, old);
        pb_str(val, (const char *)s, n, JSONX_STRING);
        return 0;
    }
    case PB_BYTES:
        if (n > INT32_MAX / 4 * 3 - 3)
            return pbd_fail(d, "is too long");
        return pb_base64(d, val, s, n);
    case PB_ID16:
    case PB_ID8:
    case PB_ID8_OR_NONE: {
        size_t want = f->type == PB_ID16 ? 16 : 8;
        if (n != want && !(n == 0 && f->type == PB_ID8_OR_NONE))
            return pbd_fail(d, "must be %zu bytes, not %zu", want, n);
        return pb_hex(d, val, s, n);
    }
    case PB_FIXED64:
        return pb_decimal(d, val, v, 0, JSONX_STRING);
    case PB_FIXED32:
        return pb_decimal(d, val, v, 0, JSONX_NUMBER);
    case PB_UINT32:
        if (v > UINT32_MAX)
            return pbd_fail(d, "is %" PRIu64 ", past uint32", v);
        return pb_decimal(d, val, v, 0, JSONX_NUMBER);
    case PB_INT32:
        /* A negative int32 is sent sign-extended to 64 bits. */
        if ((int64_t)v < INT32_MIN || (int64_t)v > INT32_MAX)
            return pbd_fail(d, "is %" PRId64 ", past int32", (int64_t)v);
        return (int64_t)v < 0 ? pb_decimal(d, val, ~v + 1, 1, JSONX_NUMBER)
                              : pb_decimal(d, val, v, 0, JSONX_NUMBER);
    case PB_INT64:
        /* The magnitude of a negative int64 (two's complement), INT64_MIN included. */
        return (int64_t)v < 0 ? pb_decimal(d, val, ~v + 1, 1, JSONX_STRING)
                              : pb_decimal(d, val, v, 0, JSONX_STRING);
    case PB_BOOL:
        memset(val, 0, sizeof(*val));
        val->kind = JSONX_BOOL;
        val->truth = v != 0;
        val->s = val->truth ? "true" : "false";
        val->len = val->truth ? 4 : 5;
        return 0;
    case PB_DOUBLE: {
        double dv;
        memcpy(&dv, &v, sizeof(dv));
        return pb_double(d, val, dv);
    }
    case PB_MSG:
        /* Sent twice, a message merges into the first. */
        if (val->kind != JSONX_OBJECT) {
            if (depth + 1 > OTLP_PB_MAX_DEPTH)
                return pbd_fail(d, "nests deeper than %d levels", OTLP_PB_MAX_DEPTH);
            if (pb_object(d, val, f->msg) != 0)
                return -1;
        }
        return pb_message(d, f->msg, s, s + n, val, depth + 1);
    case PB_MSGS: {
        size_t old = pbd_push(d, NULL, mem->val.n - 1);
        if (pb_object(d, val, f->msg) != 0 || pb_message(d, f->msg, s, s + n, val, depth + 2) != 0)
            return -1;
        pbd_pop(d, old);
        return 0;
    }
    }
    return 0;
}

/* Decodes the message m in p[0..end) into obj (at level depth), merging into what obj
 * already holds. */
static int pb_message(struct pbd *d, const struct pb_msg *m, const unsigned char *p,
                      const unsigned char *end, struct jsonx_val *obj, int depth)
{
    size_t room = pb_room(m);

    while (p < end) {
        const struct pb_field *f = NULL;
        uint64_t tag;
        uint32_t num;
        unsigned wt;
        size_t old;

        if (pb_varint_or_fail(d, &p, end, &tag) != 0)
            return -1;
        if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
            return pbd_fail(d, "has field number %" PRIu64, tag >> 3);
        num = (uint32_t)(tag >> 3);
        wt = (unsigned)(tag & 7);
        for (size_t i = 0; i < m->n; i++)
            if (m->fields[i].num == num) {
                f = &m->fields[i];
                break;
            }
        if (!f) {
            if (pb_skip(d, num, wt, &p, end, OTLP_PB_MAX_DEPTH) != 0)
                return -1;
            continue;
        }
        old = pbd_push(d, f->name, 0);
        if (wt != pb_wire_type(f->type))
            return pbd_fail(d, "has wire type %u, not %u", wt, pb_wire_type(f->type));
        if (f->oneof && obj->n > 0) {
            /* Setting a oneof member clears the others; a message member sent again
             * after itself merges. */
            struct jsonx_member *mm = (struct jsonx_member *)obj->members;
            uint32_t k = 0;
            for (uint32_t i = 0; i < obj->n; i++) {
                int other = 0;
                for (size_t j = 0; j < m->n; j++)
                    if (m->fields[j].oneof && &m->fields[j] != f && mm[i].key == m->fields[j].name)
                        other = 1;
                if (!other)
                    mm[k++] = mm[i];
            }
            obj->n = k;
        }
        if (pb_value(d, f, &p, end, obj, depth, room) != 0)
            return -1;
        pbd_pop(d, old);
    }
    return 0;
}

int otlp_pb_decode(struct arena *a, const unsigned char *buf, size_t len, struct jsonx_val *root,
                   struct jsonx_err *err)
{
    struct pbd d = {.err = err, .a = a};

    if (pb_object(&d, root, &pb_request) != 0)
        return -1;
    if (len == 0) /* an empty request (and buf may be NULL) */
        return 0;
    return pb_message(&d, &pb_request, buf, buf + len, root, 1);
}

/* The encoder: a writer that only counts when out is NULL. */
struct pbe {
    unsigned char *out;
    size_t len;
};

static void pbe_bytes(struct pbe *e, const void *p, size_t n)
{
    if (e->out && n)
        memcpy(e->out + e->len, p, n);
    e->len += n;
}

static void pbe_varint(struct pbe *e, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    pbe_bytes(e, b, n);
}

/* A varint field; a negative int32 or int64 is sign-extended to ten bytes, as protobuf
 * encodes it. */
static void pbe_int(struct pbe *e, uint32_t num, int64_t v)
{
    pbe_varint(e, (uint64_t)num << 3 | PB_WT_VARINT);
    pbe_varint(e, (uint64_t)v);
}

static void pbe_len(struct pbe *e, uint32_t num, const void *p, size_t n)
{
    pbe_varint(e, (uint64_t)num << 3 | PB_WT_LEN);
    pbe_varint(e, n);
    pbe_bytes(e, p, n);
}

size_t otlp_pb_export_response(unsigned char *out, int64_t rejected, const char *message)
{
    struct pbe e = {.out = out};
    size_t mlen = message ? strlen(message) : 0;

    if (rejected == 0)
        return 0;
    /* ExportTracePartialSuccess counted first (a writer without out), then written
     * after its tag and length; proto3 leaves an empty field out. */
    struct pbe inner = {0};
    pbe_int(&inner, 1, rejected);
    if (mlen)
        pbe_len(&inner, 2, message, mlen);
    pbe_varint(&e, 1u << 3 | PB_WT_LEN);
    pbe_varint(&e, inner.len);
    pbe_int(&e, 1, rejected);
    if (mlen)
        pbe_len(&e, 2, message, mlen);
    return e.len;
}

size_t otlp_pb_status(unsigned char *out, int32_t code, const char *message)
{
    struct pbe e = {.out = out};
    size_t mlen = message ? strlen(message) : 0;

    if (code)
        pbe_int(&e, 1, code);
    if (mlen)
        pbe_len(&e, 2, message, mlen);
    return e.len;
}
