#ifndef RW_TEST_SUITES_H
#define RW_TEST_SUITES_H

#include <CUnit/CUnit.h>

int suite_arena_register(void);
int suite_router_register(void);
int suite_req_register(void);
int suite_jsonx_register(void);
int suite_config_register(void);
int suite_misc_register(void);
int suite_openapi_register(void);
int suite_runs_register(void);
int suite_handlers_register(void);
int suite_hub_register(void);
int suite_idcache_register(void);
int suite_conns_register(void);
int suite_pub_register(void);
int suite_runjson_register(void);
int suite_runcache_register(void);
int suite_spanjson_register(void);
int suite_otlp_pb_register(void);
int suite_flagschema_register(void);

/* Adds a suite and its tests; returns non-zero on failure. */
struct test_case {
    const char *name;
    CU_TestFunc fn;
};
int test_add_suite(const char *name, const struct test_case *cases);

#endif
