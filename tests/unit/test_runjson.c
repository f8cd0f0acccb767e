/* runjson: the run list's JSON made from binary columns. The expected texts are what
 * PostgreSQL 15 answered for the same values (to_json of a timestamptz, json_build_object of
 * a real, extract(epoch …) of an interval, run_json() of a row); the runs integration suite
 * compares whole pages with run_json() on a server. */
#include <libpq-fe.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "db_stmt.h"
#include "jsonx.h"
#include "pgjson.h"
#include "runjson.h"
#include "pgres_fake.h"
#include "suites.h"

static void test_time(void)
{
    static const struct {
        int64_t us;
        const char *json, *cursor;
    } cases[] = {
        {0, "2000-01-01T00:00:00+00:00", "2000-01-01T00:00:00.000000Z"},
        {1, "2000-01-01T00:00:00.000001+00:00", "2000-01-01T00:00:00.000001Z"},
        {-1, "1999-12-31T23:59:59.999999+00:00", "1999-12-31T23:59:59.999999Z"},
        {843291791495351, "2026-09-21T07:43:11.495351+00:00", "2026-09-21T07:43:11.495351Z"},
        /* trailing zeros of the microseconds go, and the point with them when all are 0 */
        {843291791495350, "2026-09-21T07:43:11.49535+00:00", "2026-09-21T07:43:11.495350Z"},
        {843291791400000, "2026-09-21T07:43:11.4+00:00", "2026-09-21T07:43:11.400000Z"},
        {843291791000000, "2026-09-21T07:43:11+00:00", "2026-09-21T07:43:11.000000Z"},
        {843291791000010, "2026-09-21T07:43:11.00001+00:00", "2026-09-21T07:43:11.000010Z"},
        {86399999999, "2000-01-01T23:59:59.999999+00:00", "2000-01-01T23:59:59.999999Z"},
        {-63082281600000000, "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00.000000Z"},
    };
    char buf[PGJSON_NUM_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_EQUAL(pgjson_fmt_time(buf, cases[i].us), strlen(cases[i].json));
        CU_ASSERT_STRING_EQUAL(buf, cases[i].json);
        CU_ASSERT_EQUAL(pgjson_fmt_cursor_time(buf, cases[i].us), strlen(cases[i].cursor));
        CU_ASSERT_STRING_EQUAL(buf, cases[i].cursor);
    }
    pgjson_fmt_time(buf, -63113904000000000);
    CU_ASSERT_STRING_EQUAL(buf, "0001-01-01T00:00:00+00:00 BC");
    pgjson_fmt_time(buf, 315537897600000000);
    CU_ASSERT_STRING_EQUAL(buf, "11998-12-31T00:00:00+00:00");
    pgjson_fmt_time(buf, INT64_MAX);
    CU_ASSERT_STRING_EQUAL(buf, "infinity");
    pgjson_fmt_time(buf, INT64_MIN);
    CU_ASSERT_STRING_EQUAL(buf, "-infinity");
}

static void test_float4(void)
{
    static const struct {
        uint32_t bits;
        const char *text;
    } cases[] = {
        {0x00000000, "0"},
        {0x80000000, "-0"},
        {0x3f800000, "1"},
        {0x3f000000, "0.5"},
        {0x3dcccccd, "0.1"},
        {0x3eaaaaab, "0.33333334"},
        {0x3727c5ac, "1e-05"},         /* below 1e-4: scientific */
        {0x38d1b717, "0.0001"},        /* 1e-4: still fixed */
        {0x47f12000, "123456"},        /* below 1e6: fixed */
        {0x4996b438, "1.234567e+06"},  /* 1e6 and above: scientific */
        {0x4ceb79a3, "1.2345679e+08"}, /* shortest digits that read back */
        {0x60ad78ec, "1e+20"},
        /* 2^-12 = 0.000244140625: two 8-digit decimals are as near; ties go to even */
        {0x39800000, "0.00024414062"},
        /* 186254208: 1.862542e+08 reads back (strtof rounds the tie to even) but lies
         * exactly halfway to the next float, which PostgreSQL does not accept */
        {0x4d31a038, "1.8625421e+08"},
        {0x00000001, "1e-45"},
        {0x7f7fffff, "3.4028235e+38"},
        {0x7fc00000, "\"NaN\""},
        {0x7f800000, "\"Infinity\""},
        {0xff800000, "\"-Infinity\""},
    };
    char buf[PGJSON_NUM_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        float f;
        memcpy(&f, &cases[i].bits, sizeof(f));
        CU_ASSERT_EQUAL(pgjson_fmt_float4(buf, f), strlen(cases[i].text));
        CU_ASSERT_STRING_EQUAL(buf, cases[i].text);
    }
}

static void test_seconds(void)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "0.000000"},
        {1, "0.000001"},
        {1500000, "1.500000"},
        {-500000, "-0.500000"},
        {86399500000, "86399.500000"},
        {-86400500000, "-86400.500000"},
        {1234567890123457, "1234567890.123457"},
        {10000000, "10.000000"},
        {-10, "-0.000010"},
    };
    char buf[PGJSON_NUM_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_EQUAL(pgjson_fmt_seconds(buf, cases[i].us), strlen(cases[i].text));
        CU_ASSERT_STRING_EQUAL(buf, cases[i].text);
    }
}

static void test_out_str(void)
{
    struct arena a;
    struct jsonx_out o;
    size_t len;
    const char in[] = "a\"b\\c\b\f\n\r\t\x01\x1f\x7f \xc3\xa9/\xe2\x80\xa8";

    arena_init(&a, 256);
    jsonx_out_init(&o, &a, 8); /* small, so it grows */
    jsonx_out_str(&o, in, sizeof(in) - 1);
    jsonx_out_raw(&o, ",", 1);
    jsonx_out_str(&o, "", 0);
    const char *s = jsonx_out_end(&o, &len);
    /* As PostgreSQL's to_json(text): control bytes as \u00xx in lowercase, DEL, UTF-8 and
     * the slash as they are. */
    CU_ASSERT_STRING_EQUAL(s, "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\x7f \xc3\xa9/"
                              "\xe2\x80\xa8\",\"\"");
    CU_ASSERT_EQUAL(len, strlen(s));
    arena_fini(&a);
}

/* ---- a whole row, from a result made as libpq makes a binary one ---- */

#define COL(name) RUN_LIST_CREATED_DESC_##name

static const unsigned col_type[COL(_NOUT)] = {
    [COL(ID)] = 2950,
    [COL(PROJECT)] = 25,
    [COL(EXPERIMENT_ID)] = 20,
    [COL(KIND)] = 25,
    [COL(NAME)] = 25,
    [COL(QUEUE)] = 25,
    [COL(STATUS)] = 25,
    [COL(PRIORITY)] = 23,
    [COL(INPUT)] = 3802,
    [COL(PARAMS)] = 3802,
    [COL(TAGS)] = 1009,
    [COL(PARENT_ID)] = 2950,
    [COL(ROOT_ID)] = 2950,
    [COL(GROUP_ID)] = 25,
    [COL(WORKER_ID)] = 20,
    [COL(PROGRESS)] = 700,
    [COL(CREATED_AT)] = 1184,
    [COL(QUEUED_AT)] = 1184,
    [COL(STARTED_AT)] = 1184,
    [COL(ENDED_AT)] = 1184,
    [COL(LAST_HEARTBEAT_AT)] = 1184,
    [COL(UPDATED_AT)] = 1184,
    [COL(CANCEL_REQUESTED)] = 16,
    [COL(ERROR_TYPE)] = 25,
    [COL(ERROR_MESSAGE)] = 25,
    [COL(ERROR_TRACEBACK)] = 25,
    [COL(ERROR_FINGERPRINT)] = 25,
    [COL(RESULT)] = 3802,
    [COL(SUMMARY)] = 3802,
    [COL(NOW)] = 1184,
    [COL(A_SEQ)] = 23,
    [COL(A_STATUS)] = 25,
    [COL(A_WORKER_ID)] = 20,
    [COL(A_CREATED_AT)] = 1184,
    [COL(A_STARTED_AT)] = 1184,
    [COL(A_ENDED_AT)] = 1184,
    [COL(A_LAST_HEARTBEAT_AT)] = 1184,
    [COL(A_ERROR_TYPE)] = 25,
    [COL(A_ERROR_MESSAGE)] = 25,
    [COL(A_ERROR_TRACEBACK)] = 25,
    [COL(VERSION)] = 28,
};

static PGresult *make_result(int text_col)
{
    return pgres_fake(col_type, COL(_NOUT), 2, text_col);
}

static void test_row(void)
{
    static const unsigned char id[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                         0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    static const unsigned char root[16] = {0xff, 0xff, 0xff, 0xff, [15] = 1};
    /* text[] {'a"', NULL}: ndim 1, has nulls, text; size 2, lower bound 1; the elements */
    static const unsigned char tags[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0,   0,   25,  0,   0,   0,
                                         2, 0, 0, 0, 1, 0, 0, 0, 2, 'a', '"', 255, 255, 255, 255};
    static const unsigned char no_tags[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25};
    static const char input[] = "\1{\"a\": [1, 2.50]}";
    struct arena a;
    struct jsonx_out o;
    char err[256];

    PGresult *res = make_result(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    /* row 0: every kind of value */
    pgres_put(res, 0, COL(ID), id, 16);
    pgres_put_text(res, 0, COL(PROJECT), "p\"1");
    pgres_put_be(res, 0, COL(EXPERIMENT_ID), 7, 8);
    pgres_put_text(res, 0, COL(KIND), "train");
    pgres_put_text(res, 0, COL(NAME), "\xc3\xa9\n");
    pgres_put_text(res, 0, COL(QUEUE), "q");
    pgres_put_text(res, 0, COL(STATUS), "failed");
    pgres_put_be(res, 0, COL(PRIORITY), (uint32_t)-3, 4);
    pgres_put(res, 0, COL(INPUT), input, (int)sizeof(input) - 1);
    pgres_put(res, 0, COL(TAGS), tags, (int)sizeof(tags));
    pgres_put(res, 0, COL(ROOT_ID), root, 16);
    pgres_put_be(res, 0, COL(WORKER_ID), 9000000000, 8);
    pgres_put_be(res, 0, COL(PROGRESS), 0x3dcccccd, 4);
    pgres_put_be(res, 0, COL(CREATED_AT), 843291791495350, 8);
    pgres_put_be(res, 0, COL(STARTED_AT), 843291791000000, 8);
    pgres_put_be(res, 0, COL(ENDED_AT), 843291792500000, 8);
    pgres_put_be(res, 0, COL(UPDATED_AT), 0, 8);
    pgres_put(res, 0, COL(CANCEL_REQUESTED), "\1", 1);
    pgres_put_text(res, 0, COL(ERROR_MESSAGE), "m");
    pgres_put_text(res, 0, COL(ERROR_FINGERPRINT), "fp");
    pgres_put(res, 0, COL(RESULT), "\0011", 2);
    pgres_put_be(res, 0, COL(NOW), 0, 8);
    pgres_put_be(res, 0, COL(A_SEQ), 2, 4);
    pgres_put_text(res, 0, COL(A_STATUS), "running");
    pgres_put_be(res, 0, COL(A_CREATED_AT), 1, 8);
    /* row 1: running (duration to now), no tags, no error, no attempt */
    pgres_put(res, 1, COL(ID), id, 16);
    pgres_put(res, 1, COL(TAGS), no_tags, (int)sizeof(no_tags));
    pgres_put_be(res, 1, COL(STARTED_AT), 843291791000000, 8);
    pgres_put_be(res, 1, COL(NOW), 843291793000000, 8);
    pgres_put(res, 1, COL(CANCEL_REQUESTED), "\0", 1);

    CU_ASSERT_EQUAL(runjson_check(res, err, sizeof(err)), 0);
    arena_init(&a, 1024);
    jsonx_out_init(&o, &a, 16);
    struct runjson_hole h0, h1;
    CU_ASSERT_EQUAL(runjson_row(&o, res, 0, &h0), 0);
    jsonx_out_raw(&o, "\n", 1);
    CU_ASSERT_EQUAL(runjson_row(&o, res, 1, &h1), 0);
    /* Where each duration_s value went (runcache.c keeps the run around it). */
    CU_ASSERT_EQUAL(h0.start, 0);
    CU_ASSERT_NSTRING_EQUAL(o.buf + h0.at, "1.500000,", h0.end - h0.at + 1);
    CU_ASSERT_EQUAL(h0.end - h0.at, 8);
    CU_ASSERT_NSTRING_EQUAL(o.buf + h1.at, "2.000000,", h1.end - h1.at + 1);
    CU_ASSERT_EQUAL(h1.end - h1.at, 8);
    CU_ASSERT_NSTRING_EQUAL(o.buf + h1.start, "{\"id\":", 6);
    CU_ASSERT_EQUAL(h1.start, h0.stop + 1); /* the "\n" between */
    CU_ASSERT_EQUAL(h1.stop, o.len);
    CU_ASSERT_STRING_EQUAL(
        jsonx_out_end(&o, NULL),
        "{\"id\":\"00112233-4455-6677-8899-aabbccddeeff\",\"project\":\"p\\\"1\","
        "\"experiment_id\":7,\"kind\":\"train\",\"name\":\"\xc3\xa9\\n\",\"queue\":\"q\","
        "\"status\":\"failed\",\"priority\":-3,\"input\":{\"a\": [1, 2.50]},\"params\":null,"
        "\"tags\":[\"a\\\"\",null],\"parent_id\":null,"
        "\"root_id\":\"ffffffff-0000-0000-0000-000000000001\",\"group_id\":null,"
        "\"worker_id\":9000000000,\"progress\":0.1,"
        "\"created_at\":\"2026-09-21T07:43:11.49535+00:00\",\"queued_at\":null,"
        "\"started_at\":\"2026-09-21T07:43:11+00:00\","
        "\"ended_at\":\"2026-09-21T07:43:12.5+00:00\",\"last_heartbeat_at\":null,"
        "\"updated_at\":\"2000-01-01T00:00:00+00:00\",\"cancel_requested\":true,"
        "\"duration_s\":1.500000,\"error\":{\"type\":null,\"message\":\"m\",\"traceback\":null,"
        "\"fingerprint\":\"fp\"},\"result\":1,\"summary\":null,\"latest_attempt\":{\"seq\":2,"
        "\"status\":\"running\",\"worker_id\":null,"
        "\"created_at\":\"2000-01-01T00:00:00.000001+00:00\",\"started_at\":null,"
        "\"ended_at\":null,\"last_heartbeat_at\":null,\"error\":null}}\n"
        "{\"id\":\"00112233-4455-6677-8899-aabbccddeeff\",\"project\":null,"
        "\"experiment_id\":null,\"kind\":null,\"name\":null,\"queue\":null,\"status\":null,"
        "\"priority\":null,\"input\":null,\"params\":null,\"tags\":[],\"parent_id\":null,"
        "\"root_id\":null,\"group_id\":null,\"worker_id\":null,\"progress\":null,"
        "\"created_at\":null,\"queued_at\":null,\"started_at\":\"2026-09-21T07:43:11+00:00\","
        "\"ended_at\":null,\"last_heartbeat_at\":null,\"updated_at\":null,"
        "\"cancel_requested\":false,\"duration_s\":2.000000,\"error\":null,\"result\":null,"
        "\"summary\":null,\"latest_attempt\":null}");

    /* A malformed value fails the row and leaves what was written before it. */
    size_t before = o.len;
    pgres_put(res, 1, COL(PROGRESS), "\0\0", 2);
    CU_ASSERT_EQUAL(runjson_row(&o, res, 1, NULL), -1);
    CU_ASSERT_EQUAL(o.len, before);
    pgres_put(res, 1, COL(PROGRESS), NULL, -1);
    pgres_put(res, 1, COL(INPUT), "\2{}", 3); /* a jsonb version this code does not know */
    CU_ASSERT_EQUAL(runjson_row(&o, res, 1, NULL), -1);
    PQclear(res);
    arena_fini(&a);

    /* A column in text, or of another type, is refused before any row is read. */
    res = make_result(COL(CREATED_AT));
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    CU_ASSERT_EQUAL(runjson_check(res, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "format 0"));
    PQclear(res);
}

int suite_runjson_register(void)
{
    static const struct test_case cases[] = {
        {"timestamps as PostgreSQL's JSON and the cursor", test_time},
        {"float4 as float4out", test_float4},
        {"durations as extract(epoch)", test_seconds},
        {"text escaped as PostgreSQL's JSON", test_out_str},
        {"a row as run_json(), and malformed values refused", test_row},
        {NULL, NULL},
    };
    return test_add_suite("runjson", cases);
}
