/* config: defaults, derived addresses, and refusal of malformed values by name. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "suites.h"

static const char *vars[] = {"RUNWATCH_VAR_DIR",
                             "RUNWATCH_PG_PORT",
                             "RUNWATCH_REDIS_PORT",
                             "RUNWATCH_DATABASE_URL",
                             "RUNWATCH_REDIS_URL",
                             "RUNWATCH_API_SOCKET",
                             "RUNWATCH_API_WORKERS",
                             "RUNWATCH_MAX_BODY",
                             "RUNWATCH_LOG_LEVEL",
                             "RUNWATCH_SSE_PORT",
                             NULL};

static void clear_env(void)
{
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
}

static void test_defaults(void)
{
    struct config c;
    char err[256];
    clear_env();
    setenv("RUNWATCH_VAR_DIR", "/tmp/rw", 1);
    setenv("RUNWATCH_PG_PORT", "6000", 1);
    CU_ASSERT_EQUAL_FATAL(config_load(&c, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(c.database_url,
                           "host=/tmp/rw/run port=6000 dbname=runwatch user=runwatch");
    CU_ASSERT_STRING_EQUAL(c.redis_url, "redis://127.0.0.1:6389");
    CU_ASSERT_STRING_EQUAL(c.api_socket, "/tmp/rw/run/api.sock");
    CU_ASSERT_EQUAL(c.max_body, 1048576);
    CU_ASSERT_TRUE(c.api_workers >= 2);
    CU_ASSERT_EQUAL(c.sse_port, 8089);
    clear_env();
}

static void test_rejects(void)
{
    struct config c;
    char err[256];
    const char *cases[][2] = {
        {"RUNWATCH_API_WORKERS", "0"},  {"RUNWATCH_API_WORKERS", "four"},
        {"RUNWATCH_MAX_BODY", "10"},    {"RUNWATCH_SSE_PORT", "70000"},
        {"RUNWATCH_LOG_LEVEL", "loud"}, {"RUNWATCH_REDIS_URL", "http://x"},
        {"RUNWATCH_API_WORKERS", "2x"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        clear_env();
        setenv(cases[i][0], cases[i][1], 1);
        CU_ASSERT_EQUAL(config_load(&c, err, sizeof(err)), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i][0]));
    }
    clear_env();
}

static void test_redis_url(void)
{
    struct config_redis_addr ra;
    CU_ASSERT_EQUAL(config_parse_redis_url("redis://10.0.0.1:7000", &ra), 0);
    CU_ASSERT_STRING_EQUAL(ra.host, "10.0.0.1");
    CU_ASSERT_EQUAL(ra.port, 7000);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis://cache", &ra), 0);
    CU_ASSERT_EQUAL(ra.port, 6379);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis://cache:6380/0", &ra), 0);
    CU_ASSERT_EQUAL(ra.port, 6380);
    CU_ASSERT_EQUAL(config_parse_redis_url("unix:/run/redis.sock", &ra), 0);
    CU_ASSERT_TRUE(ra.is_unix);
    CU_ASSERT_STRING_EQUAL(ra.host, "/run/redis.sock");
    CU_ASSERT_EQUAL(config_parse_redis_url("redis://:1", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis://h:0", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis://h:x", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("unix:", &ra), -1);
}

int suite_config_register(void)
{
    static const struct test_case cases[] = {
        {"defaults derive from var dir and ports", test_defaults},
        {"malformed values are named", test_rejects},
        {"redis url", test_redis_url},
        {NULL, NULL},
    };
    return test_add_suite("config", cases);
}
