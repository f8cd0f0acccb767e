/* runs: the state machine, and the JSON helpers the runs API relies on (redaction,
 * RFC 3339 and UUID checks). */
#include <stdio.h>
#include <string.h>

#include "api/runs.h"
#include "jsonx.h"
#include "suites.h"

static void test_transitions(void)
{
    const char *ok[][2] = {
        {"queued", "running"},  {"queued", "cancelled"},    {"running", "succeeded"},
        {"running", "failed"},  {"running", "retrying"},    {"retrying", "running"},
        {"retrying", "queued"}, {"succeeded", "succeeded"}, {"queued", "failed"}};
    const char *bad[][2] = {{"succeeded", "running"}, {"failed", "succeeded"},
                            {"cancelled", "running"}, {"queued", "succeeded"},
                            {"queued", "retrying"},   {"running", "queued"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        CU_ASSERT_TRUE(runs_transition_ok(ok[i][0], ok[i][1]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_FALSE(runs_transition_ok(bad[i][0], bad[i][1]));
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
        {"state machine", test_transitions},
        {"secret redaction", test_redact},
        {"rfc3339 and uuid", test_time_and_uuid},
        {"long keys redacted, NUL located", test_long_key_and_nul},
        {NULL, NULL},
    };
    return test_add_suite("runs", cases);
}
