/* runs: how an illegal status move reaches a client, and the JSON helpers the runs API relies on
 * (redaction, RFC 3339 and UUID checks). */
#include <stdio.h>
#include <string.h>

#include "api/runs.h"
#include "db_err.h"
#include "jsonx.h"
#include "req.h"
#include "suites.h"

/* The state machine itself lives in SQL (sql/functions/25_lifecycle.sql; the integration
 * suite "lifecycle" drives it from every path). Here: its SQLSTATE reaches the client as
 * 409 illegal_transition with the trigger's own message, field and details. */
static void test_illegal_transition_maps(void)
{
    struct db_err_map m = db_err_classify(DB_ERR_ILLEGAL_TRANSITION);
    CU_ASSERT_EQUAL(req_op_status(m.kind), 409);
    CU_ASSERT_STRING_EQUAL(m.code, "illegal_transition");
    CU_ASSERT_TRUE(m.server_text);
    CU_ASSERT_EQUAL(m.retry_after, 0);
    /* No other SQLSTATE passes the server's text through. */
    static const char *const others[] = {"23505", "23514", "22P02", "40001",
                                         "42P01", "P0001", "RW408", NULL};
    for (int i = 0; others[i]; i++)
        CU_ASSERT_FALSE(db_err_classify(others[i]).server_text);
    CU_ASSERT_FALSE(db_err_classify(NULL).server_text);
}

static void test_redact(void)
{
    static const char *const pats[] = {"password", "secret", "token", "api_key", NULL};
    struct jsonx_err err;
    const char *in = "{\"lr\":0.1,\"API_KEY\":\"k\",\"db\":{\"Password\":\"p\",\"host\":\"h\"},"
                     "\"list\":[{\"refresh_token\":\"t\"},1],\"secretive\":{\"a\":1}}";
    json_object *o = jsonx_parse(in, strlen(in), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jsonx_redact(o, pats), 4);
    const char *out = jsonx_to_string(o, NULL);
    CU_ASSERT_PTR_NULL(strstr(out, "\"k\""));
    CU_ASSERT_PTR_NULL(strstr(out, "\"p\""));
    CU_ASSERT_PTR_NULL(strstr(out, "\"t\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"host\":\"h\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"secretive\":\"[redacted]\""));
    json_object_put(o);
}

static void test_long_key_and_nul(void)
{
    static const char *const pats[] = {"password", NULL};
    struct jsonx_err err;
    char key[300], doc[400], path[64] = "";
    memset(key, 'k', 200);
    memcpy(key + 200, "_Password", 10);
    snprintf(doc, sizeof(doc), "{\"%s\":\"s3cret\"}", key);
    json_object *o = jsonx_parse(doc, strlen(doc), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jsonx_redact(o, pats), 1);
    CU_ASSERT_PTR_NULL(strstr(jsonx_to_string(o, NULL), "s3cret"));
    json_object_put(o);

    const char *nul = "{\"a\":{\"b\":[1,\"x\\u0000y\"]}}";
    o = jsonx_parse(nul, strlen(nul), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_TRUE(jsonx_find_nul(o, path, sizeof(path)));
    CU_ASSERT_STRING_EQUAL(path, "a.b[1]");
    json_object_put(o);
    const char *clean = "{\"a\":{\"b\":[1,\"xy\"]}}";
    o = jsonx_parse(clean, strlen(clean), &err);
    path[0] = '\0';
    CU_ASSERT_FALSE(jsonx_find_nul(o, path, sizeof(path)));
    CU_ASSERT_STRING_EQUAL(path, "");
    json_object_put(o);
}

static void test_time_and_uuid(void)
{
    CU_ASSERT_TRUE(jsonx_is_rfc3339("2026-11-24T12:00:00Z"));
    CU_ASSERT_TRUE(jsonx_is_rfc3339("2026-11-24T12:00:00.123456+02:00"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-11-24 12:00:00Z"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-11-24T12:00:00"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-11-24T12:00:00+0200"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-11-24T12:00:00.Z"));
    /* The calendar, not only the shape: PostgreSQL would refuse these later. */
    CU_ASSERT_TRUE(jsonx_is_rfc3339("2024-02-29T00:00:00Z"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-02-29T00:00:00Z"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-13-01T00:00:00Z"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-04-31T00:00:00Z"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-01-01T24:00:00Z"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("2026-01-01T00:00:00+25:00"));
    CU_ASSERT_FALSE(jsonx_is_rfc3339("0000-01-01T00:00:00Z"));
    CU_ASSERT_TRUE(jsonx_is_uuid("075eb87b-1261-43aa-8323-247f7efe0aec"));
    CU_ASSERT_FALSE(jsonx_is_uuid("075eb87b-1261-43aa-8323-247f7efe0ae"));
    CU_ASSERT_FALSE(jsonx_is_uuid("075eb87b-1261-43aa-8323-247f7efe0aecc"));
    CU_ASSERT_FALSE(jsonx_is_uuid("075eb87b_1261-43aa-8323-247f7efe0aec"));
    CU_ASSERT_FALSE(jsonx_is_uuid("zzzzzzzz-1261-43aa-8323-247f7efe0aec"));
}

int suite_runs_register(void)
{
    static const struct test_case cases[] = {
        {"illegal transition maps to 409", test_illegal_transition_maps},
        {"secret redaction", test_redact},
        {"rfc3339 and uuid", test_time_and_uuid},
        {"long keys redacted, NUL located", test_long_key_and_nul},
        {NULL, NULL},
    };
    return test_add_suite("runs", cases);
}
