/* spanjson: a span's JSON, made from binary columns (spanjson.h says what it must equal)
 * with pgjson's cell writers. */
#include "spanjson.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

#include "db_stmt.h"
#include "pgjson.h"

/* The span reads and the search answer span_columns (the same "out" line); these name the
 * columns of all four, and spans.c's page writer reads the cursor's columns by these names. */
#define C(name)                   SPAN_TRACE_##name
#define SPANJSON_SAME(stmt, name) (stmt##_##name == SPAN_TRACE_##name)
#define SPANJSON_SAME_ALL(name)                                                                    \
    (SPANJSON_SAME(SPAN_LIST_RUN, name) && SPANJSON_SAME(SPAN_LIST_RUN_START, name) &&             \
     SPANJSON_SAME(SPAN_SEARCH, name))
_Static_assert(SPANJSON_SAME_ALL(_NOUT) && SPANJSON_SAME_ALL(TRACE_ID) &&
                   SPANJSON_SAME_ALL(SPAN_ID) && SPANJSON_SAME_ALL(START_NS) &&
                   SPANJSON_SAME_ALL(ATTRIBUTES) && SPANJSON_SAME_ALL(RESOURCE) &&
                   SPANJSON_SAME_ALL(SCOPE) && SPANJSON_SAME_ALL(SEQUENCE_ID) &&
                   SPANJSON_SAME_ALL(RECEIVED_AT),
               "the span statements answer span_columns alike");

static const unsigned spanjson_types[C(_NOUT)] = {
    [C(TRACE_ID)] = PGJSON_BYTEA,
    [C(SPAN_ID)] = PGJSON_BYTEA,
    [C(PARENT_SPAN_ID)] = PGJSON_BYTEA,
    [C(TRACE_STATE)] = PGJSON_TEXT,
    [C(FLAGS)] = PGJSON_INT8,
    [C(NAME)] = PGJSON_TEXT,
    [C(KIND)] = PGJSON_INT2,
    [C(START_NS)] = PGJSON_INT8,
    [C(END_NS)] = PGJSON_INT8,
    [C(START_AT)] = PGJSON_TIMESTAMPTZ,
    [C(STATUS_CODE)] = PGJSON_INT2,
    [C(STATUS_MESSAGE)] = PGJSON_TEXT,
    [C(ATTRIBUTES)] = PGJSON_JSONB,
    [C(DROPPED_ATTRIBUTES_COUNT)] = PGJSON_INT8,
    [C(EVENTS)] = PGJSON_JSONB,
    [C(DROPPED_EVENTS_COUNT)] = PGJSON_INT8,
    [C(LINKS)] = PGJSON_JSONB,
    [C(DROPPED_LINKS_COUNT)] = PGJSON_INT8,
    [C(RESOURCE)] = PGJSON_JSONB,
    [C(SCOPE)] = PGJSON_JSONB,
    [C(RUN_ID)] = PGJSON_UUID,
    [C(ATTEMPT_SEQ)] = PGJSON_INT4,
    [C(SEQUENCE_ID)] = PGJSON_INT8,
    [C(RECEIVED_AT)] = PGJSON_TIMESTAMPTZ,
};

int spanjson_check(const PGresult *res, char *err, size_t errlen)
{
    if (PQnfields(res) != C(_NOUT)) {
        snprintf(err, errlen, "a span statement answers %d columns, not %d", PQnfields(res),
                 C(_NOUT));
        return -1;
    }
    return pgjson_check(res, 0, spanjson_types, C(_NOUT), "a span statement", err, errlen);
}

/* Unix epoch in PostgreSQL's microseconds since 2000-01-01. */
#define SPANJSON_UNIX_EPOCH INT64_C(-946684800000000)

/* An int8 as a JSON string ("start_time_unix_nano": s.start_ns::text). */
static void spanjson_int8_text(struct pgjson_row *w, int col)
{
    char buf[PGJSON_NUM_MAX + 2];
    const unsigned char *p;
    if (pgjson_null(w, col) || !(p = pgjson_val(w, col, 8)))
        return;
    buf[0] = '"';
    size_t n = 1 + pgjson_fmt_i64(buf + 1, (int64_t)pgjson_be64(p));
    buf[n++] = '"';
    pgjson_raw(w->o, buf, n);
}

/* end_at: timestamptz 'epoch' + (s.end_ns / 1000) * interval '1 microsecond'. The bigint
 * goes to float8 on its way to float8 * interval (no int8 * interval operator), so past
 * 2^53 microseconds (the year 2255) it is rounded as a double, and so is it here. */
static void spanjson_end_at(struct pgjson_row *w)
{
    char buf[PGJSON_NUM_MAX + 2];
    const unsigned char *p;
    if (pgjson_null(w, C(END_NS)) || !(p = pgjson_val(w, C(END_NS), 8)))
        return;
    int64_t us = (int64_t)(double)((int64_t)pgjson_be64(p) / 1000);
    buf[0] = '"';
    size_t n = 1 + pgjson_fmt_time(buf + 1, SPANJSON_UNIX_EPOCH + us);
    buf[n++] = '"';
    pgjson_raw(w->o, buf, n);
}

/* duration_ns: s.end_ns - s.start_ns (an overflow, an error in PostgreSQL, is malformed). */
static void spanjson_duration(struct pgjson_row *w)
{
    char buf[PGJSON_NUM_MAX];
    const unsigned char *s, *e;
    int64_t d;
    if (PQgetisnull(w->res, w->row, C(START_NS)) || PQgetisnull(w->res, w->row, C(END_NS))) {
        pgjson_raw(w->o, "null", 4);
        return;
    }
    if (!(s = pgjson_val(w, C(START_NS), 8)) || !(e = pgjson_val(w, C(END_NS), 8)))
        return;
    if (__builtin_sub_overflow((int64_t)pgjson_be64(e), (int64_t)pgjson_be64(s), &d)) {
        w->bad = 1;
        return;
    }
    pgjson_raw(w->o, buf, pgjson_fmt_i64(buf, d));
}

int spanjson_row(struct jsonx_out *o, const PGresult *res, int row, int resource_index,
                 int scope_index)
{
    struct pgjson_row w = {.o = o, .res = res, .row = row, .bad = 0};
    size_t start = o->len;

    PGJSON_RAW(o, "{\"trace_id\":");
    pgjson_hex(&w, C(TRACE_ID));
    PGJSON_RAW(o, ",\"span_id\":");
    pgjson_hex(&w, C(SPAN_ID));
    PGJSON_RAW(o, ",\"parent_span_id\":");
    pgjson_hex(&w, C(PARENT_SPAN_ID));
    PGJSON_RAW(o, ",\"trace_state\":");
    pgjson_text(&w, C(TRACE_STATE));
    PGJSON_RAW(o, ",\"flags\":");
    pgjson_int(&w, C(FLAGS), 8);
    PGJSON_RAW(o, ",\"name\":");
    pgjson_text(&w, C(NAME));
    PGJSON_RAW(o, ",\"kind\":");
    pgjson_int(&w, C(KIND), 2);
    PGJSON_RAW(o, ",\"start_time_unix_nano\":");
    spanjson_int8_text(&w, C(START_NS));
    PGJSON_RAW(o, ",\"end_time_unix_nano\":");
    spanjson_int8_text(&w, C(END_NS));
    PGJSON_RAW(o, ",\"start_at\":");
    pgjson_time(&w, C(START_AT));
    PGJSON_RAW(o, ",\"end_at\":");
    spanjson_end_at(&w);
    PGJSON_RAW(o, ",\"duration_ns\":");
    spanjson_duration(&w);
    PGJSON_RAW(o, ",\"status\":{\"code\":");
    pgjson_int(&w, C(STATUS_CODE), 2);
    PGJSON_RAW(o, ",\"message\":");
    pgjson_text(&w, C(STATUS_MESSAGE));
    PGJSON_RAW(o, "},\"attributes\":");
    pgjson_jsonb(&w, C(ATTRIBUTES));
    PGJSON_RAW(o, ",\"dropped_attributes_count\":");
    pgjson_int(&w, C(DROPPED_ATTRIBUTES_COUNT), 8);
    PGJSON_RAW(o, ",\"events\":");
    pgjson_jsonb(&w, C(EVENTS));
    PGJSON_RAW(o, ",\"dropped_events_count\":");
    pgjson_int(&w, C(DROPPED_EVENTS_COUNT), 8);
    PGJSON_RAW(o, ",\"links\":");
    pgjson_jsonb(&w, C(LINKS));
    PGJSON_RAW(o, ",\"dropped_links_count\":");
    pgjson_int(&w, C(DROPPED_LINKS_COUNT), 8);
    if (resource_index < 0) {
        PGJSON_RAW(o, ",\"resource\":");
        pgjson_jsonb(&w, C(RESOURCE));
        PGJSON_RAW(o, ",\"scope\":");
        pgjson_jsonb(&w, C(SCOPE));
    }
    PGJSON_RAW(o, ",\"run_id\":");
    pgjson_uuid(&w, C(RUN_ID));
    PGJSON_RAW(o, ",\"attempt\":");
    pgjson_int(&w, C(ATTEMPT_SEQ), 4);
    PGJSON_RAW(o, ",\"sequence_id\":");
    pgjson_int(&w, C(SEQUENCE_ID), 8);
    PGJSON_RAW(o, ",\"received_at\":");
    pgjson_time(&w, C(RECEIVED_AT));
    if (resource_index >= 0) {
        char buf[2 * PGJSON_NUM_MAX];
        size_t n = pgjson_fmt_i64(buf, resource_index);
        PGJSON_RAW(o, ",\"resource_index\":");
        pgjson_raw(o, buf, n);
        n = pgjson_fmt_i64(buf, scope_index);
        PGJSON_RAW(o, ",\"scope_index\":");
        pgjson_raw(o, buf, n);
    }
    pgjson_raw(o, "}", 1);
    if (w.bad) {
        o->len = start;
        return -1;
    }
    return 0;
}
