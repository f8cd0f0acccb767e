/* runs: how an illegal status move reaches a client, and the JSON helpers the runs API relies on
 * (redaction by key words and value shapes, RFC 3339 and UUID checks). */
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

/* Keys judged by their words, both ways. Each key is tried with a harmless value, so a key
 * that is kept stays exactly as sent. */
static void test_redact_keys(void)
{
    static const struct {
        const char *key;
        int secret;
    } cases[] = {
        /* secret */
        {"password", 1},
        {"DB_Password", 1},
        {"passwd", 1},
        {"pwd", 1},
        {"passPhrase", 1},
        {"dbpassword", 1},
        {"secret", 1},
        {"client_secret", 1},
        {"clientSecret", 1},
        {"AWSSecretAccessKey", 1},
        {"aws_secret_access_key", 1},
        {"token", 1},
        {"access_token", 1},
        {"refreshToken", 1},
        {"id_token", 1},
        {"X-Auth-Token", 1},
        {"GITHUB_TOKEN", 1},
        {"hf_token", 1},
        {"api_key", 1},
        {"api-key", 1},
        {"apiKey", 1},
        {"APIKey", 1},
        {"apikey", 1},
        {"X-Api-Key", 1},
        {"openai.api.key", 1},
        {"privateKey", 1},
        {"private_key", 1},
        {"ssh_key", 1},
        {"access_key_id", 1},
        {"Authorization", 1},
        {"proxy-authorization", 1},
        {"auth", 1},
        {"basic_auth", 1},
        {"credentials", 1},
        {"gcpCredential", 1},
        {"cookie", 1},
        {"Set-Cookie", 1},
        {"session_id", 1},
        {"sessionId", 1},
        {"session_key", 1},
        {"jwt", 1},
        {"signature", 1},
        {"oauth2_token", 1},
        {"s3SecretKey", 1},
        {"token2", 1},
        /* kept */
        {"max_tokens", 0},
        {"maxTokens", 0},
        {"max_new_tokens", 0},
        {"num_tokens", 0},
        {"tokens", 0},
        {"tokenizer", 0},
        {"tokenizer_name", 0},
        {"token_count", 0},
        {"token_type_ids", 0},
        {"pad_token", 0},
        {"eos_token", 0},
        {"pad_token_id", 0},
        {"auth_type", 0},
        {"author", 0},
        {"authors", 0},
        {"key", 0},
        {"keys", 0},
        {"monkey", 0},
        {"keyboard", 0},
        {"public_key", 0},
        {"primary_key", 0},
        {"secretary", 0},
        {"secretion_rate", 0},
        {"passes", 0},
        {"compass", 0},
        {"session", 0},
        {"db_url", 0},
        {"lr", 0},
        {"learning_rate", 0},
        {"host", 0},
        {"KEY_PATH", 0},
        {"bypass", 0},
        {"cookbook", 0},
        {"sig_figs", 0},
        {"", 0},
    };
    static const char *const extra[] = {"hf_hub", "corp_id", NULL};
    size_t nsecret = 0, nkept = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, cases[i].key, json_object_new_string("v4lue"));
        CU_ASSERT_EQUAL(jsonx_redact(o, NULL), cases[i].secret);
        json_object *v = json_object_object_get(o, cases[i].key);
        const char *got = json_object_get_string(v);
        if (strcmp(got, cases[i].secret ? "[redacted]" : "v4lue") != 0) {
            fprintf(stderr, "\nkey %s: %s\n", cases[i].key, got);
            CU_FAIL("key redaction");
        }
        nsecret += cases[i].secret;
        nkept += !cases[i].secret;
        json_object_put(o);
    }
    CU_ASSERT(nsecret >= 40 && nkept >= 30);

    /* RUNWATCH_REDACT_KEYS adds words and word sequences, matched the same way. */
    const char *in =
        "{\"hfHub\":1,\"HF_HUB_DIR\":2,\"hfhub\":3,\"hub\":4,\"corpId\":5,\"CORPID\":6,"
        "\"corp\":7,\"a\":{\"corp_id\":[1]},\"max_tokens\":8}";
    struct jsonx_err err;
    json_object *o = jsonx_parse(in, strlen(in), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jsonx_redact(o, extra), 6);
    CU_ASSERT_STRING_EQUAL(jsonx_to_string(o, NULL),
                           "{\"hfHub\":\"[redacted]\",\"HF_HUB_DIR\":\"[redacted]\","
                           "\"hfhub\":\"[redacted]\",\"hub\":4,\"corpId\":\"[redacted]\","
                           "\"CORPID\":\"[redacted]\",\"corp\":7,\"a\":{\"corp_id\":"
                           "\"[redacted]\"},\"max_tokens\":8}");
    json_object_put(o);
}

/* Values judged by their shape, whatever their key: the secret goes, the rest stays. */
static void test_redact_values(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        /* redacted */
        {"postgres://app:hunter2@db.internal:5432/runs",
         "postgres://app:[redacted]@db.internal:5432/runs"},
        {"redis://:s3cret@cache:6379/0", "redis://:[redacted]@cache:6379/0"},
        {"url https://u:p%40ss@example.com/x?y=1 then",
         "url https://u:[redacted]@example.com/x?y=1 then"},
        {"mongodb+srv://root:pw@cluster0/db", "mongodb+srv://root:[redacted]@cluster0/db"},
        {"Bearer abcdefghijklmnop1234", "Bearer [redacted]"},
        {"Authorization: bearer eyJhbGciOi.xyz-0123456789", "Authorization: bearer [redacted]"},
        {"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "[redacted]"},
        {"key:\n-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\nok",
         "key:\n[redacted]\nok"},
        {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE (cut)", "[redacted]"},
        {"AKIAIOSFODNN7EXAMPLE", "[redacted]"},
        {"id=AKIAIOSFODNN7EXAMPLE;", "id=[redacted];"},
        {"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[redacted]"},
        {"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[redacted]"},
        {"glpat-abcdefghij0123456789", "[redacted]"},
        {"xoxb-1234567890-abcdefghij", "[redacted]"},
        {"sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "[redacted]"},
        {"key sk-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef012345 used", "key [redacted] used"},
        {"sk_live_abcdefghijklmnop1234", "[redacted]"},
        {"rk_test_abcdefghijklmnop1234", "[redacted]"},
        {"AIzaSyA1234567890abcdefghijklmnopqrstuv", "[redacted]"},
        {"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_nature-x", "[redacted]"},
        {"rw_AbCdEfGh_0123456789abcdefghijABCDEFGHIJ0123456789-_x", "[redacted]"},
        {"two: AKIAIOSFODNN7EXAMPLE and ghp_abcdefghijklmnopqrstuvwxyz0123456789.",
         "two: [redacted] and [redacted]."},
        /* kept */
        {"s3://bucket/run/ckpt-12.pt", NULL},
        {"https://example.com/a:b@c", NULL},
        {"https://user@example.com/", NULL},
        {"http://[::1]:8080/x", NULL},
        {"a:b@c", NULL},
        {"bearer of bad news", NULL},
        {"Bearer short", NULL},
        {"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", NULL},
        {"-----BEGIN CERTIFICATE-----", NULL},
        {"AKIA-not-a-key", NULL},
        {"AKIAIOSFODNN7EXAMPL", NULL},
        {"ghp_short", NULL},
        {"sk-learn-classifier-model-version-two", NULL},
        {"task-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef012345", NULL},
        {"risk_live_abcdefghijklmnop1234", NULL},
        {"eyJhbGciOiJIUzI1NiJ9 alone", NULL},
        {"rw_short_token", NULL},
        {"max_tokens=2048 tokenizer=bpe", NULL},
        {"loss 0.41 at step 100", NULL},
        {"", NULL},
    };
    size_t nred = 0, nkept = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* In an object under an ordinary key, and in an array. */
        json_object *o = json_object_new_object(), *arr = json_object_new_array();
        json_object_object_add(o, "note", json_object_new_string(cases[i].in));
        json_object_array_add(arr, json_object_new_string(cases[i].in));
        json_object_object_add(o, "list", arr);
        const char *want = cases[i].out ? cases[i].out : cases[i].in;
        CU_ASSERT_EQUAL(jsonx_redact(o, NULL), cases[i].out ? 2 : 0);
        const char *got = json_object_get_string(json_object_object_get(o, "note"));
        const char *got2 = json_object_get_string(json_object_array_get_idx(arr, 0));
        if (strcmp(got, want) != 0 || strcmp(got2, want) != 0) {
            fprintf(stderr, "\nvalue %s: %s\n", cases[i].in, got);
            CU_FAIL("value redaction");
        }
        nred += cases[i].out != NULL;
        nkept += cases[i].out == NULL;
        json_object_put(o);
    }
    CU_ASSERT(nred >= 20 && nkept >= 20);

    /* Under a secret key the whole value goes, whatever it is; deep values are reached. */
    const char *in = "{\"lr\":0.1,\"API_KEY\":{\"a\":1},\"db\":{\"Password\":[1,2],\"host\":\"h\"},"
                     "\"list\":[{\"refresh_token\":null},1,[\"Bearer abcdefghijklmnopqrst\"]]}";
    struct jsonx_err err;
    json_object *o = jsonx_parse(in, strlen(in), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jsonx_redact(o, NULL), 4);
    CU_ASSERT_STRING_EQUAL(jsonx_to_string(o, NULL),
                           "{\"lr\":0.1,\"API_KEY\":\"[redacted]\",\"db\":{\"Password\":"
                           "\"[redacted]\",\"host\":\"h\"},\"list\":[{\"refresh_token\":"
                           "\"[redacted]\"},1,[\"Bearer [redacted]\"]]}");
    json_object_put(o);
}

static void test_long_key_and_nul(void)
{
    struct jsonx_err err;
    char key[300], doc[400], path[64] = "";
    memset(key, 'k', 200);
    memcpy(key + 200, "_Password", 10);
    snprintf(doc, sizeof(doc), "{\"%s\":\"s3cret\"}", key);
    json_object *o = jsonx_parse(doc, strlen(doc), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jsonx_redact(o, NULL), 1);
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
        {"secret keys by word", test_redact_keys},
        {"secret values by shape", test_redact_values},
        {"rfc3339 and uuid", test_time_and_uuid},
        {"long keys redacted, NUL located", test_long_key_and_nul},
        {NULL, NULL},
    };
    return test_add_suite("runs", cases);
}
