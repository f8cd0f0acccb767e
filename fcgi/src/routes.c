/* routes: the whole HTTP API of runwatch-api in one table. To find an endpoint's
 * code, find its line here. Keep it in step with openapi/openapi.json (a unit test
 * checks) and with the access matrix of tests/integration/test_access.c. */
#include "router.h"

#include "api/agl.h"
#include "api/artifacts.h"
#include "api/attempts.h"
#include "api/audit.h"
#include "api/celery.h"
#include "api/health.h"
#include "api/events.h"
#include "api/graph.h"
#include "api/experiments.h"
#include "api/login.h"
#include "api/leaderboard.h"
#include "api/metrics.h"
#include "api/policies.h"
#include "api/projects.h"
#include "api/queue.h"
#include "api/reports.h"
#include "api/rollouts.h"
#include "api/run_facets.h"
#include "api/runs.h"
#include "api/spans.h"
#include "api/traces.h"
#include "api/users.h"
#include "api/workers.h"
#include "prom.h"

#define J   ROUTE_JSON_BODY
#define JR  ROUTE_JSON_READ
#define PUB ROUTE_PUBLIC

const struct route routes[] = {
    {"GET", "/api/v1/healthz", health_live, PUB},
    {"GET", "/api/v1/readyz", health_ready, PUB},
    /* Prometheus: public here, because the metrics token is checked by prom.c, not by
     * the token lookup; everyone else must be an instance admin (prom.c). */
    {"GET", "/api/v1/metrics", prom_metrics, PUB},

    {"POST", "/api/v1/auth/login", login_signin, PUB | J},
    {"POST", "/api/v1/auth/logout", login_signout, 0},
    {"GET", "/api/v1/auth/me", login_me, 0},
    {"GET", "/api/v1/auth/check", login_check, 0},
    {"POST", "/api/v1/auth/password", login_password, J},

    {"GET", "/api/v1/users", users_list, 0},
    {"POST", "/api/v1/users", users_create, J},
    {"PATCH", "/api/v1/users/{user}", users_update, J},
    {"POST", "/api/v1/users/{user}/password", users_password, J},

    {"GET", "/api/v1/projects", projects_list, 0},
    {"POST", "/api/v1/projects", projects_create, J},
    {"GET", "/api/v1/projects/{project}", projects_get, 0},
    {"PATCH", "/api/v1/projects/{project}", projects_update, J},
    {"GET", "/api/v1/projects/{project}/members", members_list, 0},
    {"POST", "/api/v1/projects/{project}/members", members_add, J},
    {"PATCH", "/api/v1/projects/{project}/members/{user}", members_update, J},
    {"DELETE", "/api/v1/projects/{project}/members/{user}", members_remove, 0},
    {"GET", "/api/v1/projects/{project}/run-roots", graph_roots, 0},
    {"GET", "/api/v1/projects/{project}/tokens", tokens_list, 0},
    {"POST", "/api/v1/projects/{project}/tokens", tokens_create, J},
    {"DELETE", "/api/v1/projects/{project}/tokens/{token}", tokens_revoke, 0},

    {"GET", "/api/v1/audit", audit_list, 0},

    {"POST", "/api/v1/runs", runs_create, J},
    {"GET", "/api/v1/runs", runs_list, 0},
    {"POST", "/api/v1/runs/wait", runs_wait, J},
    {"GET", "/api/v1/runs/count", run_facets_count, 0},
    {"GET", "/api/v1/runs/values", run_facets_values, 0},
    /* Literal, before /runs/{run}: the first match wins (router.c). */
    {"GET", "/api/v1/runs/compare", metrics_compare, 0},
    {"GET", "/api/v1/runs/{run}", runs_get, 0},
    {"PATCH", "/api/v1/runs/{run}", runs_update, J},
    /* The body is optional ({"progress": …}); the handler parses it when present. */
    {"POST", "/api/v1/runs/{run}/heartbeat", runs_heartbeat, 0},
    {"POST", "/api/v1/runs/{run}/cancel", runs_cancel, 0},
    {"POST", "/api/v1/runs/{run}/events", events_create, JR},
    {"GET", "/api/v1/runs/{run}/events", events_list, 0},
    {"POST", "/api/v1/runs/{run}/metrics", metrics_create, J},
    {"GET", "/api/v1/runs/{run}/metrics", metrics_list, 0},
    {"GET", "/api/v1/leaderboard", leaderboard_list, 0},
    {"GET", "/api/v1/runs/{run}/spans", spans_list, 0},
    {"GET", "/api/v1/runs/{run}/attempts", attempts_list, 0},
    {"GET", "/api/v1/runs/{run}/graph", graph_get, 0},
    {"GET", "/api/v1/runs/{run}/lineage", graph_lineage, 0},
    /* Optional body ({"worker_id", "lease_s"}), parsed by the handler. */
    {"POST", "/api/v1/runs/{run}/attempts", attempts_start, 0},
    {"PATCH", "/api/v1/runs/{run}/attempts/{seq}", attempts_update, J},
    /* What a run leaves behind (api/artifacts.c): artifacts, promotions, tables, snapshot.
     * An upload's body is the file (its cap: RUNWATCH_ARTIFACT_MAX_BYTES, req_is_upload). */
    {"POST", "/api/v1/runs/{run}/artifacts", artifacts_create, J},
    {"GET", "/api/v1/runs/{run}/artifacts", artifacts_list, 0},
    {"POST", "/api/v1/runs/{run}/artifacts/upload", artifacts_upload, 0},
    {"GET", "/api/v1/runs/{run}/artifacts/{artifact}", artifacts_get, 0},
    {"GET", "/api/v1/runs/{run}/artifacts/{artifact}/content", artifacts_content, 0},
    {"POST", "/api/v1/runs/{run}/artifacts/{artifact}/promote", promotions_create, J},
    {"GET", "/api/v1/artifacts", artifacts_project_list, 0},
    {"GET", "/api/v1/promotions", promotions_list, 0},
    {"GET", "/api/v1/promotions/{promotion}", promotions_get, 0},
    /* The body ({"reason"}) is optional; the handler parses it when present. */
    {"POST", "/api/v1/promotions/{promotion}/demote", promotions_demote, 0},
    {"GET", "/api/v1/runs/{run}/tables", run_tables_list, 0},
    {"GET", "/api/v1/runs/{run}/tables/{name}", run_tables_get, 0},
    {"POST", "/api/v1/runs/{run}/tables/{name}", run_tables_put, J},
    {"GET", "/api/v1/runs/{run}/snapshot", run_snapshot_get, 0},

    {"POST", "/api/v1/queues/{queue}/claim", queue_claim, J},
    /* A queue's retry policy, which the housekeeper's watchdog enforces (api/policies.c). */
    {"GET", "/api/v1/queues/{queue}/policy", policies_get, 0},
    {"PUT", "/api/v1/queues/{queue}/policy", policies_put, J},

    /* Traces (api/spans.c; the list of traces with their aggregates, api/traces.c).
     * OTLP/HTTP: nginx maps POST /v1/traces here; the handler reads the body itself (JSON
     * now; its encodings are chosen in one place there). */
    {"POST", "/api/v1/otlp/v1/traces", spans_otlp_traces, 0},
    {"GET", "/api/v1/traces", traces_list, 0},
    {"GET", "/api/v1/traces/{trace_id}", spans_trace, 0},
    {"GET", "/api/v1/spans", spans_search, 0},

    {"POST", "/api/v1/workers", workers_register, J},
    {"GET", "/api/v1/workers", workers_list, 0},
    {"GET", "/api/v1/workers/{worker}", workers_get, 0},
    /* Optional body ({"status", "resources"}), parsed by the handler. */
    {"POST", "/api/v1/workers/{worker}/heartbeat", workers_heartbeat, 0},
    {"POST", "/api/v1/workers/{worker}/stop", workers_stop, 0},
    {"POST", "/api/v1/workers/{worker}/events", workers_events_create, JR},
    {"GET", "/api/v1/workers/{worker}/events", workers_events_list, 0},

    /* Experiments and the reconcile contract of their launchers (api/experiments.c). The
     * literal routes come before the {experiment} ones: the first match wins. */
    {"GET", "/api/v1/experiments", experiments_list, 0},
    {"POST", "/api/v1/experiments", experiments_create, J},
    {"GET", "/api/v1/experiments/reconcile", experiments_reconcile, 0},
    {"GET", "/api/v1/experiments/flag-schema", experiments_project_schema, 0},
    {"GET", "/api/v1/experiments/{experiment}", experiments_get, 0},
    {"PATCH", "/api/v1/experiments/{experiment}", experiments_update, J},
    {"DELETE", "/api/v1/experiments/{experiment}", experiments_delete, 0},
    {"GET", "/api/v1/experiments/{experiment}/runs", experiments_runs, 0},
    {"GET", "/api/v1/experiments/{experiment}/flag-schema", experiments_schema, 0},
    {"POST", "/api/v1/experiments/{experiment}/claim", experiments_claim, J},
    {"POST", "/api/v1/experiments/{experiment}/renew", experiments_renew, J},
    {"POST", "/api/v1/experiments/{experiment}/report", experiments_report, J},

    /* The Celery bridge's ingest (api/celery.c): a burst of Celery events in one write. */
    {"POST", "/api/v1/celery/events", celery_events, J},
    {"GET", "/api/v1/celery/registry", celery_registry, 0},
    {"GET", "/api/v1/celery/workers", celery_workers, 0},
    {"GET", "/api/v1/runs/{run}/celery", celery_run, 0},

    /* Reporting (api/reports.c; the report schema of migration 0007). */
    {"GET", "/api/v1/reports/throughput", reports_throughput, 0},
    {"GET", "/api/v1/reports/durations", reports_durations, 0},
    {"GET", "/api/v1/reports/failure-rate", reports_failure_rate, 0},
    {"POST", "/api/v1/reports/query", reports_query, J},
    {"GET", "/api/v1/reports/saved", reports_saved_list, 0},
    {"POST", "/api/v1/reports/saved", reports_saved_create, J},
    {"GET", "/api/v1/reports/saved/{report}", reports_saved_get, 0},
    {"PATCH", "/api/v1/reports/saved/{report}", reports_saved_update, J},
    {"DELETE", "/api/v1/reports/saved/{report}", reports_saved_delete, 0},
    {"POST", "/api/v1/reports/saved/{report}/run", reports_saved_run, 0},
    {"GET", "/api/v1/failure-groups", reports_failure_groups, 0},
    {"GET", "/api/v1/failure-groups/{fingerprint}/runs", reports_failure_group_runs, 0},
    {"GET", "/api/v1/anomalies", reports_anomalies, 0},

    /* The agent-lightning store (api/agl.c, docs/AGENT_LIGHTNING.md): agent-lightning's
     * /v1/agl, answered in its shapes. nginx maps /agl/<token>/v1/agl/… here with the token
     * as the bearer. The literal routes (search, latest, next) come before the {id} ones of
     * the same method: the first match wins, so they are never taken for ids. */
    {"GET", "/api/v1/agl/health", agl_health, PUB},
    {"POST", "/api/v1/agl/queues/rollouts/enqueue", agl_enqueue, J},
    {"POST", "/api/v1/agl/queues/rollouts/dequeue", agl_dequeue, 0},
    {"POST", "/api/v1/agl/rollouts", agl_rollouts_start, J},
    {"GET", "/api/v1/agl/rollouts", agl_rollouts_list, 0},
    {"POST", "/api/v1/agl/rollouts/search", agl_rollouts_search, 0},
    {"GET", "/api/v1/agl/rollouts/{rollout}", agl_rollouts_get, 0},
    {"POST", "/api/v1/agl/rollouts/{rollout}", agl_rollouts_update, J},
    {"POST", "/api/v1/agl/rollouts/{rollout}/attempts", agl_attempts_start, 0},
    {"GET", "/api/v1/agl/rollouts/{rollout}/attempts", agl_attempts_list, 0},
    {"POST", "/api/v1/agl/rollouts/{rollout}/attempts/search", agl_attempts_search, 0},
    {"GET", "/api/v1/agl/rollouts/{rollout}/attempts/latest", agl_attempts_latest, 0},
    {"POST", "/api/v1/agl/rollouts/{rollout}/attempts/{attempt}", agl_attempts_update, J},
    {"GET", "/api/v1/agl/workers", agl_workers_list, 0},
    {"POST", "/api/v1/agl/workers/search", agl_workers_search, 0},
    {"GET", "/api/v1/agl/workers/{worker}", agl_workers_get, 0},
    {"POST", "/api/v1/agl/workers/{worker}", agl_workers_beat, 0},
    {"GET", "/api/v1/agl/statistics", agl_statistics, 0},
    {"GET", "/api/v1/agl/resources", agl_resources_list, 0},
    {"POST", "/api/v1/agl/resources", agl_resources_add, J},
    {"GET", "/api/v1/agl/resources/latest", agl_resources_latest, 0},
    {"GET", "/api/v1/agl/resources/{resources}", agl_resources_get, 0},
    {"POST", "/api/v1/agl/resources/{resources}", agl_resources_update, J},
    {"POST", "/api/v1/agl/spans", agl_spans_add, J},
    {"GET", "/api/v1/agl/spans", agl_spans_list, 0},
    {"POST", "/api/v1/agl/spans/search", agl_spans_search, 0},
    {"POST", "/api/v1/agl/spans/next", agl_spans_next, J},
    {"POST", "/api/v1/agl/waits/rollouts", agl_waits, J},
    /* The dashboard's reads of the store (api/rollouts.c): a viewer's, session or token. */
    {"GET", "/api/v1/rollouts", rollouts_list, 0},
    {"GET", "/api/v1/rollouts/{run}/attempts", rollouts_attempts, 0},
    {"GET", "/api/v1/resources", resources_list, 0},
    {"GET", "/api/v1/resources/{resources}", resources_get, 0},
    {"GET", "/api/v1/projects/{project}/anomaly-thresholds", reports_thresholds_get, 0},
    {"PUT", "/api/v1/projects/{project}/anomaly-thresholds", reports_thresholds_put, J},
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
