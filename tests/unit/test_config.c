/* config: defaults, derived addresses, refusal of malformed values by name, the
 * settings a stack remembers (stack.env) and their printing as shell assignments. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "suites.h"

extern char **environ;

/* No RUNWATCH_* of the caller's, and a var dir without a stack.env: a developer's own
 * stack (var/stack.env) must not leak into these tests. */
static void clear_env(void)
{
    char name[128];
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++) {
            const char *eq = strchr(*e, '=');
            if (strncmp(*e, "RUNWATCH_", 9) == 0 && eq && (size_t)(eq - *e) < sizeof(name)) {
                memcpy(name, *e, (size_t)(eq - *e));
                name[eq - *e] = '\0';
                unsetenv(name); /* changes environ: scan again */
                again = 1;
                break;
            }
        }
    }
    setenv("RUNWATCH_VAR_DIR", "/nonexistent/runwatch-unit-tests", 1);
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
    CU_ASSERT_EQUAL(c.auth_cache_s, 5);
    CU_ASSERT_EQUAL(c.redis_timeout_ms, 500);
    {
        struct config_redis_addr ra;
        config_redis_addr(&c, &ra);
        CU_ASSERT_EQUAL(ra.timeout_ms, 500);
    }
    CU_ASSERT_STRING_EQUAL(c.api_tcp, "");
    CU_ASSERT_EQUAL(c.housekeeper, 1);
    setenv("RUNWATCH_API_TCP", "[::1]:9000", 1);
    setenv("RUNWATCH_HOUSEKEEPER", "off", 1);
    CU_ASSERT_EQUAL_FATAL(config_load(&c, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(c.api_tcp, "[::1]:9000");
    CU_ASSERT_EQUAL(c.housekeeper, 0);
    clear_env();
}

static void test_rejects(void)
{
    struct config c;
    char err[256];
    const char *cases[][2] = {
        {"RUNWATCH_API_WORKERS", "0"},       {"RUNWATCH_API_WORKERS", "four"},
        {"RUNWATCH_MAX_BODY", "10"},         {"RUNWATCH_SSE_PORT", "70000"},
        {"RUNWATCH_LOG_LEVEL", "loud"},      {"RUNWATCH_REDIS_URL", "http://x"},
        {"RUNWATCH_API_WORKERS", "2x"},      {"RUNWATCH_AUTH_CACHE_S", "61"},
        {"RUNWATCH_AUTH_CACHE_S", "-1"},     {"RUNWATCH_API_TCP", "9000"},
        {"RUNWATCH_RUN_CACHE_MB", "-1"},     {"RUNWATCH_RUN_CACHE_MB", "1025"},
        {"RUNWATCH_API_TCP", ":9000"},       {"RUNWATCH_API_TCP", "host:0"},
        {"RUNWATCH_API_TCP", "host:9x"},     {"RUNWATCH_HOUSEKEEPER", "yes"},
        {"RUNWATCH_REDIS_TIMEOUT_MS", "49"}, {"RUNWATCH_REDIS_TIMEOUT_MS", "60001"},
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
    /* Sentinel: the primary's name and every Sentinel, no address until resolved. */
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel://10.0.0.1:26379,s2:26380/rw-main", &ra),
                    0);
    CU_ASSERT_STRING_EQUAL(ra.master, "rw-main");
    CU_ASSERT_EQUAL(ra.nsentinels, 2);
    CU_ASSERT_STRING_EQUAL(ra.sentinels[0].host, "10.0.0.1");
    CU_ASSERT_EQUAL(ra.sentinels[0].port, 26379);
    CU_ASSERT_STRING_EQUAL(ra.sentinels[1].host, "s2");
    CU_ASSERT_EQUAL(ra.sentinels[1].port, 26380);
    CU_ASSERT_STRING_EQUAL(ra.host, "");
    CU_ASSERT_EQUAL(config_parse_redis_url("redis://cache:6380", &ra), 0);
    CU_ASSERT_STRING_EQUAL(ra.master, "");
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel://s1:26379", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel://s1:26379/", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel:///m", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel://s1/m", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel://s1:0/m", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel://s1:1,/m", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel://s1:1/m x", &ra), -1);
    CU_ASSERT_EQUAL(config_parse_redis_url("redis-sentinel://a:1,b:2,c:3,d:4,e:5,f:6/m", &ra), -1);
}

/* stack.env fills what the environment leaves unset; the environment wins. */
static void test_remembered(void)
{
    struct config c;
    char err[256], dir[] = "/tmp/rw-config-XXXXXX", path[64];
    FILE *f;

    clear_env();
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/stack.env", dir);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("# a comment\nRUNWATCH_PG_PORT='6123'\nRUNWATCH_REDIS_URL='redis://h:7'\n"
          "RUNWATCH_SSE_PORT='9'\nRUNWATCH_MAX_BODY='20'\\''48'\nnot a setting\n",
          f);
    fclose(f);
    setenv("RUNWATCH_VAR_DIR", dir, 1);
    setenv("RUNWATCH_SSE_PORT", "8100", 1);
    setenv("RUNWATCH_MAX_BODY", "2048", 1);
    CU_ASSERT_EQUAL(config_load(&c, err, sizeof(err)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.database_url, "/run port=6123 "));
    CU_ASSERT_STRING_EQUAL(c.redis_url, "redis://h:7");
    CU_ASSERT_EQUAL(c.sse_port, 8100);
    CU_ASSERT_EQUAL(c.max_body, 2048);
    /* '20'\''48' is 20'48: not a number, refused by name like any bad value. */
    clear_env();
    setenv("RUNWATCH_VAR_DIR", dir, 1);
    CU_ASSERT_EQUAL(config_load(&c, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "RUNWATCH_MAX_BODY"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "20'48"));
    clear_env();
    unlink(path);
    rmdir(dir);
}

/* Every setting as NAME='value', quotes escaped; a relative var dir made absolute. */
static void test_shell(void)
{
    struct config c;
    char err[256], cwd[PATH_MAX], want[PATH_MAX + 64], *text = NULL;
    size_t len = 0;
    FILE *out;

    clear_env();
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
    setenv("RUNWATCH_VAR_DIR", "./no-such-var", 1);
    setenv("RUNWATCH_DATABASE_URL", "host=/x password='a b'", 1);
    CU_ASSERT_EQUAL_FATAL(config_load(&c, err, sizeof(err)), 0);
    out = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(config_print_shell(&c, out, err, sizeof(err)), 0);
    fclose(out);
    snprintf(want, sizeof(want), "RUNWATCH_VAR_DIR='%s/no-such-var'\n", cwd);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "RUNWATCH_DATABASE_URL='host=/x password='\\''a b'\\'''\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "RUNWATCH_HTTP_PORT='8080'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "RUNWATCH_LOG_LEVEL='info'\n"));
    free(text);
    clear_env();
}

/* Secrets live in files: the first line without its end; a missing file is an empty
 * secret only where one is optional; the Redis password is read from the var dir's file
 * and goes with the address, never into the URL or the shell output. */
static void test_secrets(void)
{
    struct config c;
    struct config_redis_addr ra;
    char err[256], dir[] = "/tmp/rw-secret-XXXXXX", path[64], rundir[64], out[16], *text = NULL;
    size_t len = 0;
    FILE *f;

    clear_env();
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/none", dir);
    CU_ASSERT_EQUAL(config_read_secret(path, 1, "X", out, sizeof(out), err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(config_read_secret(path, 0, "X_FILE", out, sizeof(out), err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "X_FILE"));
    snprintf(rundir, sizeof(rundir), "%s/run", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(rundir, 0700), 0);
    snprintf(path, sizeof(path), "%s/run/redis.password", dir);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("s3cret\nsecond line\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(config_read_secret(path, 0, "X", out, sizeof(out), err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(out, "s3cret");
    /* Longer than the buffer: refused, not cut. */
    CU_ASSERT_EQUAL(config_read_secret(path, 0, "X", out, 4, err, sizeof(err)), -1);

    setenv("RUNWATCH_VAR_DIR", dir, 1);
    CU_ASSERT_EQUAL_FATAL(config_load(&c, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(c.redis_password, "s3cret");
    config_redis_addr(&c, &ra);
    CU_ASSERT_STRING_EQUAL(ra.password, "s3cret");
    CU_ASSERT_STRING_EQUAL(ra.host, "127.0.0.1");
    f = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(config_print_shell(&c, f, err, sizeof(err)), 0);
    fclose(f);
    CU_ASSERT_PTR_NULL(strstr(text, "s3cret"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "RUNWATCH_REDIS_PASSWORD_FILE='"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "/run/sse.key'\n"));
    free(text);
    clear_env();
    unlink(path);
    rmdir(rundir);
    rmdir(dir);
}

int suite_config_register(void)
{
    static const struct test_case cases[] = {
        {"defaults derive from var dir and ports", test_defaults},
        {"malformed values are named", test_rejects},
        {"redis url", test_redis_url},
        {"stack.env fills what the environment leaves unset", test_remembered},
        {"config --shell", test_shell},
        {"secrets are read from files, never printed", test_secrets},
        {NULL, NULL},
    };
    return test_add_suite("config", cases);
}
