/* Integration runner: expects the stack started by tests/integration/run.sh. */
#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <stdio.h>

#include "itest.h"

int main(void)
{
    unsigned failures;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (suite_foundation_register() || suite_access_register() || suite_auth_register() ||
        suite_runs_register() || suite_queue_register() || suite_produce_register() ||
        suite_reports_register() || suite_stream_register() || suite_prometheus_register() ||
        suite_housekeeping_register() || suite_lifecycle_register()) {
        fprintf(stderr, "cannot register suites: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    /* A suite whose set-up failed ran none of its tests: that is a failure too. */
    failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
               CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    curl_global_cleanup();
    return failures ? 1 : 0;
}
