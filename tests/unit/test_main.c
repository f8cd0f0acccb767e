/* Unit test runner: every suite registers itself here. No server is needed; the
 * integration suites under tests/integration drive the real stack. */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "suites.h"

int main(void)
{
    unsigned failures;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (suite_arena_register() || suite_router_register() || suite_req_register() ||
        suite_jsonx_register() || suite_config_register() || suite_misc_register() ||
        suite_openapi_register() || suite_runs_register() || suite_handlers_register() ||
        suite_hub_register() || suite_idcache_register() || suite_conns_register() ||
        suite_pub_register() || suite_runjson_register() || suite_runcache_register() ||
        suite_spanjson_register() || suite_otlp_pb_register() || suite_flagschema_register()) {
        fprintf(stderr, "cannot register suites: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
