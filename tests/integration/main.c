/* Integration runner: expects the stack started by tests/integration/run.sh. One suite
 * per API module plus the cross-cutting ones; RUNWATCH_SUITES=runs,queue runs only
 * those (a developer's shortcut: CI runs them all). */
#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

/* In the order they run: audit reads what auth, users and projects did, and the log
 * scans at the end of auth, runs and queue search for every secret noted so far. */
static const struct {
    const char *name;
    int (*reg)(void);
} suites[] = {
    {"foundation", suite_foundation_register},
    {"health", suite_health_register},
    {"access", suite_access_register},
    {"auth", suite_auth_register},
    {"users", suite_users_register},
    {"projects", suite_projects_register},
    {"audit", suite_audit_register},
    {"runs", suite_runs_register},
    {"events", suite_events_register},
    {"queue", suite_queue_register},
    {"workers", suite_workers_register},
    {"metrics", suite_metrics_register},
    {"reports", suite_reports_register},
    {"stream", suite_stream_register},
    {"prometheus", suite_prometheus_register},
    {"housekeeping", suite_housekeeping_register},
    {"lifecycle", suite_lifecycle_register},
    {"edge", suite_edge_register},
    {"spans", suite_spans_register},
    {"traces", suite_traces_register},
    {"rollouts", suite_rollouts_register},
    {"artifacts", suite_artifacts_register},
    {"worker_events", suite_worker_events_register},
    {"run_facets", suite_run_facets_register},
    {"graph", suite_graph_register},
    {"experiments", suite_experiments_register},
    {"leaderboard", suite_leaderboard_register},
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

/* 1 when name is in the comma-separated list (NULL or empty: every suite). */
static int wanted(const char *list, const char *name)
{
    size_t n = strlen(name);

    if (!list || !*list)
        return 1;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* Every name in list is a suite's; else prints the ones there are and returns 0. */
static int list_ok(const char *list)
{
    char name[64];

    if (!list)
        return 1;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ","), i;
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        for (i = 0; i < N_SUITES && strcmp(suites[i].name, name) != 0; i++)
            ;
        if (len && i == N_SUITES) {
            fprintf(stderr, "RUNWATCH_SUITES: no suite \"%s\"; there are:", name);
            for (i = 0; i < N_SUITES; i++)
                fprintf(stderr, " %s", suites[i].name);
            fprintf(stderr, "\n");
            return 0;
        }
        p += len + (p[len] == ',');
    }
    return 1;
}

int main(void)
{
    const char *only = getenv("RUNWATCH_SUITES");
    unsigned failures;

    if (!list_ok(only))
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < N_SUITES; i++) {
        if (wanted(only, suites[i].name) && suites[i].reg()) {
            fprintf(stderr, "cannot register suite %s: %s\n", suites[i].name, CU_get_error_msg());
            CU_cleanup_registry();
            return 2;
        }
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
