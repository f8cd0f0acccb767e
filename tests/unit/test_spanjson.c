/* spanjson: a span's JSON made from binary columns, from a result made as libpq makes a
 * binary one. The expected texts follow span_json() / span_json_lean() on PostgreSQL 15
 * (the traces integration suite compares whole answers with them on a server); this pins
 * the shapes, end_at's float8 rounding past 2^53 microseconds, and malformed values. */
#include <libpq-fe.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "db_stmt.h"
#include "jsonx.h"
#include "spanjson.h"
#include "pgres_fake.h"
#include "suites.h"

#define COL(name) SPAN_TRACE_##name

static const unsigned col_type[COL(_NOUT)] = {
    [COL(TRACE_ID)] = 17,       [COL(SPAN_ID)] = 17,
    [COL(PARENT_SPAN_ID)] = 17, [COL(TRACE_STATE)] = 25,
    [COL(FLAGS)] = 20,          [COL(NAME)] = 25,
    [COL(KIND)] = 21,           [COL(START_NS)] = 20,
    [COL(END_NS)] = 20,         [COL(START_AT)] = 1184,
    [COL(STATUS_CODE)] = 21,    [COL(STATUS_MESSAGE)] = 25,
    [COL(ATTRIBUTES)] = 3802,   [COL(DROPPED_ATTRIBUTES_COUNT)] = 20,
    [COL(EVENTS)] = 3802,       [COL(DROPPED_EVENTS_COUNT)] = 20,
    [COL(LINKS)] = 3802,        [COL(DROPPED_LINKS_COUNT)] = 20,
    [COL(RESOURCE)] = 3802,     [COL(SCOPE)] = 3802,
    [COL(RUN_ID)] = 2950,       [COL(ATTEMPT_SEQ)] = 23,
    [COL(SEQUENCE_ID)] = 20,    [COL(RECEIVED_AT)] = 1184,
};

static PGresult *make_result(int text_col)
{
    return pgres_fake(col_type, COL(_NOUT), 2, text_col);
}

/* The columns every span has (NOT NULL), as a stored span without anything set has them. */
static void put_plain(PGresult *res, int row)
{
    static const unsigned char trace[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static const unsigned char span[8] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7};
    pgres_put(res, row, COL(TRACE_ID), trace, 16);
    pgres_put(res, row, COL(SPAN_ID), span, 8);
    pgres_put_text(res, row, COL(TRACE_STATE), "");
    pgres_put_be(res, row, COL(FLAGS), 0, 8);
    pgres_put_text(res, row, COL(NAME), "");
    pgres_put_be(res, row, COL(KIND), 0, 2);
    pgres_put_be(res, row, COL(STATUS_CODE), 0, 2);
    pgres_put_text(res, row, COL(STATUS_MESSAGE), "");
    pgres_put(res, row, COL(ATTRIBUTES), "\1{}", 3);
    pgres_put_be(res, row, COL(DROPPED_ATTRIBUTES_COUNT), 0, 8);
    pgres_put(res, row, COL(EVENTS), "\1[]", 3);
    pgres_put_be(res, row, COL(DROPPED_EVENTS_COUNT), 0, 8);
    pgres_put(res, row, COL(LINKS), "\1[]", 3);
    pgres_put_be(res, row, COL(DROPPED_LINKS_COUNT), 0, 8);
    pgres_put(res, row, COL(RESOURCE), "\1{}", 3);
    pgres_put(res, row, COL(SCOPE), "\1{}", 3);
}

static void test_row(void)
{
    static const unsigned char run[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                          0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    static const unsigned char parent[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const char attrs[] = "\1{\"a\": {\"intValue\": \"1\"}}";
    struct arena a;
    struct jsonx_out o;
    char err[256];

    PGresult *res = make_result(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    /* row 0: a linked span with a bit of everything */
    put_plain(res, 0);
    pgres_put_text(res, 0, COL(TRACE_STATE), "k=v");
    pgres_put_be(res, 0, COL(FLAGS), 257, 8);
    pgres_put_text(res, 0, COL(NAME), "n\"\n\xc3\xa9");
    pgres_put_be(res, 0, COL(KIND), 2, 2);
    pgres_put_be(res, 0, COL(START_NS), 1767225600123456789, 8);
    pgres_put_be(res, 0, COL(END_NS), 1767225601987654321, 8);
    pgres_put_be(res, 0, COL(START_AT), 820540800123456, 8);
    pgres_put_be(res, 0, COL(STATUS_CODE), 2, 2);
    pgres_put_text(res, 0, COL(STATUS_MESSAGE), "boom\x01");
    pgres_put(res, 0, COL(ATTRIBUTES), attrs, (int)sizeof(attrs) - 1);
    pgres_put_be(res, 0, COL(DROPPED_ATTRIBUTES_COUNT), 3, 8);
    pgres_put_text(res, 0, COL(SCOPE), "\1{\"name\": \"s\"}");
    pgres_put(res, 0, COL(RUN_ID), run, 16);
    pgres_put_be(res, 0, COL(ATTEMPT_SEQ), 2, 4);
    pgres_put_be(res, 0, COL(SEQUENCE_ID), 7, 8);
    pgres_put_be(res, 0, COL(RECEIVED_AT), 0, 8);
    /* row 1: unlinked, a parent, and the last nanoseconds there are (end_ns / 1000 past
     * 2^53 is rounded to a double in SQL: ...775 becomes ...776) */
    put_plain(res, 1);
    pgres_put(res, 1, COL(PARENT_SPAN_ID), parent, 8);
    pgres_put_be(res, 1, COL(START_NS), 9223372036854775000, 8);
    pgres_put_be(res, 1, COL(END_NS), INT64_MAX, 8);
    pgres_put_be(res, 1, COL(START_AT), 8276687236854776, 8);
    pgres_put_be(res, 1, COL(RECEIVED_AT), 1, 8);

    CU_ASSERT_EQUAL(spanjson_check(res, err, sizeof(err)), 0);
    arena_init(&a, 1024);
    jsonx_out_init(&o, &a, 16);
    CU_ASSERT_EQUAL(spanjson_row(&o, res, 0, -1, -1), 0);
    jsonx_out_raw(&o, "\n", 1);
    CU_ASSERT_EQUAL(spanjson_row(&o, res, 1, 1, 0), 0);
    CU_ASSERT_STRING_EQUAL(
        jsonx_out_end(&o, NULL),
        "{\"trace_id\":\"000102030405060708090a0b0c0d0e0f\",\"span_id\":\"a0a1a2a3a4a5a6a7\","
        "\"parent_span_id\":null,\"trace_state\":\"k=v\",\"flags\":257,"
        "\"name\":\"n\\\"\\n\xc3\xa9\",\"kind\":2,\"start_time_unix_nano\":\"1767225600123456789\","
        "\"end_time_unix_nano\":\"1767225601987654321\","
        "\"start_at\":\"2026-01-01T00:00:00.123456+00:00\","
        "\"end_at\":\"2026-01-01T00:00:01.987654+00:00\",\"duration_ns\":1864197532,"
        "\"status\":{\"code\":2,\"message\":\"boom\\u0001\"},"
        "\"attributes\":{\"a\": {\"intValue\": \"1\"}},\"dropped_attributes_count\":3,"
        "\"events\":[],\"dropped_events_count\":0,\"links\":[],\"dropped_links_count\":0,"
        "\"resource\":{},\"scope\":{\"name\": \"s\"},"
        "\"run_id\":\"00112233-4455-6677-8899-aabbccddeeff\",\"attempt\":2,\"sequence_id\":7,"
        "\"received_at\":\"2000-01-01T00:00:00+00:00\"}\n"
        "{\"trace_id\":\"000102030405060708090a0b0c0d0e0f\",\"span_id\":\"a0a1a2a3a4a5a6a7\","
        "\"parent_span_id\":\"ffffffffffffffff\",\"trace_state\":\"\",\"flags\":0,\"name\":\"\","
        "\"kind\":0,\"start_time_unix_nano\":\"9223372036854775000\","
        "\"end_time_unix_nano\":\"9223372036854775807\","
        "\"start_at\":\"2262-04-11T23:47:16.854776+00:00\","
        "\"end_at\":\"2262-04-11T23:47:16.854776+00:00\",\"duration_ns\":807,"
        "\"status\":{\"code\":0,\"message\":\"\"},\"attributes\":{},"
        "\"dropped_attributes_count\":0,\"events\":[],\"dropped_events_count\":0,\"links\":[],"
        "\"dropped_links_count\":0,\"run_id\":null,\"attempt\":null,\"sequence_id\":null,"
        "\"received_at\":\"2000-01-01T00:00:00.000001+00:00\",\"resource_index\":1,"
        "\"scope_index\":0}");

    /* A malformed value fails the row and leaves what was written before it. */
    size_t before = o.len;
    pgres_put(res, 1, COL(KIND), "\0\0\0\0", 4);
    CU_ASSERT_EQUAL(spanjson_row(&o, res, 1, 0, 0), -1);
    CU_ASSERT_EQUAL(o.len, before);
    pgres_put_be(res, 1, COL(KIND), 0, 2);
    pgres_put(res, 1, COL(EVENTS), "\2[]", 3); /* a jsonb version this code does not know */
    CU_ASSERT_EQUAL(spanjson_row(&o, res, 1, -1, -1), -1);
    pgres_put(res, 1, COL(EVENTS), "\1[]", 3);
    /* a duration past int64 is an error in SQL */
    pgres_put_be(res, 1, COL(START_NS), (uint64_t)INT64_MIN, 8);
    CU_ASSERT_EQUAL(spanjson_row(&o, res, 1, -1, -1), -1);
    CU_ASSERT_EQUAL(o.len, before);
    PQclear(res);
    arena_fini(&a);

    /* A column in text, or of another type, is refused before any row is read. */
    res = make_result(COL(START_AT));
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    CU_ASSERT_EQUAL(spanjson_check(res, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "format 0"));
    PQclear(res);
}

int suite_spanjson_register(void)
{
    static const struct test_case cases[] = {
        {"a row as span_json() and span_json_lean(), and malformed values refused", test_row},
        {NULL, NULL},
    };
    return test_add_suite("spanjson", cases);
}
