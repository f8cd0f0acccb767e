/* Access matrix: for every endpoint, the status each kind of caller gets. The matrix
 * is data: a route in routes.c or an operation in openapi/openapi.json that has no row
 * fails the completeness test, and so does a row for an operation that does not exist.
 * Every call gets a fresh, valid request (fresh targets for destructive operations), so
 * the answer depends only on who asks, never on the order of the calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

enum {
    ID_ANON,
    ID_VIEWER,
    ID_MEMBER,
    ID_PADMIN,
    ID_IADMIN,
    ID_TREAD,
    ID_TWRITE,
    ID_TADMIN,
    ID_OTHER,
    N_ID,
};

static const char *const id_names[N_ID] = {
    "anonymous",  "viewer",      "member",      "project-admin",       "instance-admin",
    "token-read", "token-write", "token-admin", "other-project-admin",
};

/* What a call needs besides method and path: its body and fresh targets. */
enum op {
    OP_PLAIN,
    OP_LOGIN,
    OP_LOGOUT,
    OP_PASSWORD,
    OP_USER_CREATE,
    OP_USER_PATCH,
    OP_USER_PASSWORD, /* {user}: a throwaway user, given a new password */
    OP_PROJECT_CREATE,
    OP_PROJECT_PATCH,
    OP_MEMBER_ADD,
    OP_MEMBER_PATCH,
    OP_MEMBER_REMOVE,
    OP_TOKEN_CREATE,
    OP_TOKEN_REVOKE,
    OP_RUN_CREATE,     /* a run in {project}, named in the body */
    OP_RUN_CREATE_OWN, /* a run without a project: a token's own */
    OP_RUN,            /* {run}: a fresh queued run of {project}, no body */
    OP_RUN_PATCH,      /* {run}: a fresh queued run, started */
    OP_RUN_HEARTBEAT,  /* {run}: a fresh running run, with progress */
    OP_EVENT_CREATE,   /* {run}: a fresh queued run, one event */
    OP_METRIC_CREATE,  /* {run}: a fresh queued run, one metric point */
    OP_COMPARE,        /* {runs}: two fresh queued runs of {project}, comma-separated */
    OP_WAIT,           /* a fresh queued run of {project} waited for (in the body), no time */
    OP_ATTEMPT_PATCH,  /* {run}/{seq}: a fresh run whose attempt 1 runs, ended */
    OP_CLAIM,          /* {queue}: a fresh queue holding one run; a worker of {project} */
    OP_CLAIM_OWN,      /* the same without a project: a token's own */
    OP_WORKER_NEW,     /* a fresh worker name in {project} */
    OP_WORKER_NEW_OWN, /* the same without a project: a token's own */
    OP_WORKER,         /* {worker}: a fresh worker of {project}, no body */
    OP_WORKER_BEAT,    /* {worker}: a fresh worker, with a status */
    OP_WORKER_EVENT,   /* {worker}: a fresh worker, one log line */
    /* reports */
    OP_QUERY,        /* ad-hoc SQL narrowed to {project} */
    OP_SAVED_CREATE, /* a fresh saved report in {project} */
    OP_SAVED,        /* {report}: a fresh saved report of {project} (the instance admin's) */
    OP_SAVED_PATCH,  /* {report}: the same, renamed */
    OP_GROUP,        /* {fingerprint}: a fresh failure group of {project} */
    OP_THRESHOLDS,   /* thresholds of {project}, set */
    /* traces */
    OP_OTLP,       /* a one-span OTLP export (a token's own project) */
    OP_CELERY,     /* an empty burst of Celery events (the bridge's ingest) */
    OP_CELERY_RUN, /* {run}: a fresh Celery task of {project}, made through the ingest */
    OP_TRACE,      /* {trace_id}: a fresh trace of one span in {project} */
    /* the agent-lightning store (a token's own project) */
    OP_POLICY,    /* {queue}: a fresh queue name; for PUT, a policy in {project} */
    OP_AGL,       /* {rollout}: a fresh started rollout of project A; {attempt} latest; the body the
                   * path takes (agl_matrix_body) */
    OP_RESOURCES, /* {resources}: resources rs-matrix of {project} (api/rollouts.c) */
    /* what a run leaves behind (api/artifacts.c) */
    OP_ARTIFACT_CREATE, /* {run}: a fresh queued run, one artifact by URI */
    OP_UPLOAD,          /* {run}: a fresh queued run, "hello" with its sha256 (in the query) */
    OP_ARTIFACT,        /* {run}/{artifact}: a fresh run with an uploaded artifact */
    OP_PROMOTE,         /* {run}/{artifact}: a fresh succeeded run's artifact with a sha256 */
    OP_PROMOTION,       /* {promotion}: a fresh promotion of {project} */
    OP_TABLE_PUT,       /* {run}/{name}: a fresh queued run, a table of one row */
    OP_TABLE,           /* {run}/{name}: a fresh run with that table */

    /* experiments (api/experiments.c) */
    OP_EXP_CREATE,     /* a fresh experiment name in {project} */
    OP_EXP_CREATE_OWN, /* the same without a project: a token's own */
    OP_EXP,            /* {experiment}: a fresh experiment of {project} wanting a launch; the
                        * body the path takes (a change, a claim of the launch) */
    OP_EXP_REPORT,     /* {experiment}: the same with its launch claimed; a failure reported
                          (or, for /renew, the lease renewed) */
};

#define OK 2 /* the operation's documented 2xx status */
#define PA 0 /* {project} is project A: viewer, member, project-admin and the tokens' */
#define PB 1 /* {project} is project B: only other-project-admin's */

struct row {
    const char *method;
    const char *path; /* exactly as in routes.c and openapi.json */
    const char *query;
    int project;
    enum op op;
    short expect[N_ID];
};

/* The agent-lightning store: a project token's (sessions 403), reads for a read token. */
#define AGL_READ                                                                                   \
    {                                                                                              \
        401, 403, 403, 403, 403, OK, OK, OK, 403                                                   \
    }
#define AGL_WRITE                                                                                  \
    {                                                                                              \
        401, 403, 403, 403, 403, 403, OK, OK, 403                                                  \
    }
/* clang-format off */
static const struct row matrix[] = {
    /*                                                                           anon viewer member padmin iadmin tread twrite tadmin other */
    {"GET",    "/api/v1/healthz",                          NULL, PA, OP_PLAIN,          {OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"GET",    "/api/v1/readyz",                           NULL, PA, OP_PLAIN,          {OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    /* Prometheus through the API: instance admins only (nginx's /metrics is by address). */
    {"GET",    "/api/v1/metrics",                          NULL, PA, OP_PLAIN,          {401, 403, 403, 403, OK,  403, 403, 403, 403}},
    {"POST",   "/api/v1/auth/login",                       NULL, PA, OP_LOGIN,          {OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"POST",   "/api/v1/auth/logout",                      NULL, PA, OP_LOGOUT,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"GET",    "/api/v1/auth/me",                          NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"GET",    "/api/v1/auth/check",                       NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"POST",   "/api/v1/auth/password",                    NULL, PA, OP_PASSWORD,       {401, OK,  OK,  OK,  OK,  403, 403, 403, OK}},
    {"GET",    "/api/v1/users",                            NULL, PA, OP_PLAIN,          {401, 403, 403, 403, OK,  403, 403, 403, 403}},
    {"POST",   "/api/v1/users",                            NULL, PA, OP_USER_CREATE,    {401, 403, 403, 403, OK,  403, 403, 403, 403}},
    {"PATCH",  "/api/v1/users/{user}",                     NULL, PA, OP_USER_PATCH,     {401, 403, 403, 403, OK,  403, 403, 403, 403}},
    {"POST",   "/api/v1/users/{user}/password",            NULL, PA, OP_USER_PASSWORD,  {401, 403, 403, 403, OK,  403, 403, 403, 403}},
    {"GET",    "/api/v1/projects",                         NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"POST",   "/api/v1/projects",                         NULL, PA, OP_PROJECT_CREATE, {401, 403, 403, 403, OK,  403, 403, 403, 403}},
    {"GET",    "/api/v1/projects/{project}",               NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"PATCH",  "/api/v1/projects/{project}",               NULL, PA, OP_PROJECT_PATCH,  {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    {"GET",    "/api/v1/projects/{project}/members",       NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/projects/{project}/members",       NULL, PA, OP_MEMBER_ADD,     {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    {"PATCH",  "/api/v1/projects/{project}/members/{user}",NULL, PA, OP_MEMBER_PATCH,   {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    {"DELETE", "/api/v1/projects/{project}/members/{user}",NULL, PA, OP_MEMBER_REMOVE,  {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    {"GET",    "/api/v1/projects/{project}/tokens",        NULL, PA, OP_PLAIN,          {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    {"POST",   "/api/v1/projects/{project}/tokens",        NULL, PA, OP_TOKEN_CREATE,   {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    {"DELETE", "/api/v1/projects/{project}/tokens/{token}",NULL, PA, OP_TOKEN_REVOKE,   {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    {"GET",    "/api/v1/audit",                            NULL, PA, OP_PLAIN,          {401, 403, 403, 403, OK,  403, 403, 403, 403}},
    {"GET",    "/api/v1/audit",              "project={project}", PA, OP_PLAIN,         {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    /* Runs: viewers and read tokens read, members and write tokens write. Without a
     * project a token means its own; a user must name one. */
    {"POST",   "/api/v1/runs",                             NULL, PA, OP_RUN_CREATE,     {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/runs",                             NULL, PA, OP_RUN_CREATE_OWN, {401, 400, 400, 400, 400, 403, OK,  OK,  400}},
    {"GET",    "/api/v1/runs",               "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/runs",                             NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    /* The list's count and its filters' values: whoever may list. */
    {"GET",    "/api/v1/runs/count",         "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/runs/values",  "project={project}&field=kind", PA, OP_PLAIN,    {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}",                       NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"PATCH",  "/api/v1/runs/{run}",                       NULL, PA, OP_RUN_PATCH,      {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/heartbeat",             NULL, PA, OP_RUN_HEARTBEAT,  {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/cancel",                NULL, PA, OP_RUN,            {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/events",                NULL, PA, OP_EVENT_CREATE,   {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/events",                NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/metrics",               NULL, PA, OP_METRIC_CREATE,  {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/metrics",               NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    /* Compare: a viewer's read of the project, as each run's metrics above. */
    {"GET",    "/api/v1/runs/compare", "project={project}&runs={runs}", PA, OP_COMPARE, {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    /* The leaderboard: a viewer's read, like the run list. */
    {"GET",    "/api/v1/leaderboard", "project={project}&metric=loss", PA, OP_PLAIN,    {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/leaderboard",              "metric=loss", PA, OP_PLAIN,         {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    /* Waiting only reads: viewers may. A run the caller cannot see is a 404. */
    {"POST",   "/api/v1/runs/wait",                        NULL, PA, OP_WAIT,           {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    /* Attempts and the queue follow the runs' rules: viewers read, members write. */
    {"GET",    "/api/v1/runs/{run}/attempts",              NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/graph",                 NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/lineage",               NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/attempts",              NULL, PA, OP_RUN,            {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"PATCH",  "/api/v1/runs/{run}/attempts/{seq}",        NULL, PA, OP_ATTEMPT_PATCH,  {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/queues/{queue}/claim",             NULL, PA, OP_CLAIM,          {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/queues/{queue}/claim",             NULL, PA, OP_CLAIM_OWN,      {401, 400, 400, 400, 400, 403, OK,  OK,  400}},
    /* Workers: viewers list and read, members register, beat and stop. */
    {"POST",   "/api/v1/workers",                          NULL, PA, OP_WORKER_NEW,     {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/workers",                          NULL, PA, OP_WORKER_NEW_OWN, {401, 400, 400, 400, 400, 403, OK,  OK,  400}},
    {"GET",    "/api/v1/workers",            "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/workers",                          NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    {"GET",    "/api/v1/workers/{worker}",                 NULL, PA, OP_WORKER,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/workers/{worker}/heartbeat",       NULL, PA, OP_WORKER_BEAT,    {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/workers/{worker}/stop",            NULL, PA, OP_WORKER,         {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    /* A worker's own log: members (producers) append, viewers read, like a run's events. */
    {"POST",   "/api/v1/workers/{worker}/events",          NULL, PA, OP_WORKER_EVENT,   {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/workers/{worker}/events",          NULL, PA, OP_WORKER,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    /* The Celery bridge's ingest: a producer's write, like a run's events. */
    {"POST",   "/api/v1/celery/events",      "project={project}", PA, OP_CELERY,        {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/celery/events",                    NULL, PA, OP_CELERY,         {401, 400, 400, 400, 400, 403, OK,  OK,  400}},
    {"GET",    "/api/v1/celery/registry",    "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/celery/workers",     "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/celery",                NULL, PA, OP_CELERY_RUN,     {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    /* reports (test_reports.c has the behaviour; here only who may) */
    {"GET",    "/api/v1/reports/throughput",               NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"GET",    "/api/v1/reports/throughput", "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/reports/durations",  "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/reports/failure-rate","project={project}", PA, OP_PLAIN,        {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/reports/query",                    NULL, PA, OP_QUERY,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/reports/saved",                    NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"POST",   "/api/v1/reports/saved",                    NULL, PA, OP_SAVED_CREATE,   {401, 403, OK,  OK,  OK,  403, 403, 403, 404}},
    {"GET",    "/api/v1/reports/saved/{report}",           NULL, PA, OP_SAVED,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"PATCH",  "/api/v1/reports/saved/{report}",           NULL, PA, OP_SAVED_PATCH,    {401, 403, 403, OK,  OK,  403, 403, 403, 404}},
    {"DELETE", "/api/v1/reports/saved/{report}",           NULL, PA, OP_SAVED,          {401, 403, 403, OK,  OK,  403, 403, 403, 404}},
    {"POST",   "/api/v1/reports/saved/{report}/run",       NULL, PA, OP_SAVED,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/failure-groups",     "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/failure-groups/{fingerprint}/runs", NULL, PA, OP_GROUP,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/anomalies",          "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/anomalies",                        NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"GET",    "/api/v1/projects/{project}/anomaly-thresholds", NULL, PA, OP_PLAIN,     {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/projects/{project}/run-roots",     NULL, PA, OP_PLAIN,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"PUT",    "/api/v1/projects/{project}/anomaly-thresholds", NULL, PA, OP_THRESHOLDS, {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    /* Traces: OTLP ingest takes a project token that may write, never a session; reads
     * are a viewer's, of the token's own project or the one a user names. */
    {"POST",   "/api/v1/otlp/v1/traces",                   NULL, PA, OP_OTLP,           {401, 403, 403, 403, 403, 403, OK,  OK,  403}},
    {"GET",    "/api/v1/runs/{run}/spans",                 NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/traces/{trace_id}",  "project={project}", PA, OP_TRACE,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/traces/{trace_id}",                NULL, PA, OP_TRACE,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    {"GET",    "/api/v1/spans",              "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/spans",                            NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    {"GET",    "/api/v1/traces",             "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/traces",                           NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},

    /* The same project endpoints on project B, which only other-project-admin (and the
     * instance admin) can see: everyone else gets 404, tokens of A included. */
    {"GET",    "/api/v1/projects/{project}",               NULL, PB, OP_PLAIN,          {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"PATCH",  "/api/v1/projects/{project}",               NULL, PB, OP_PROJECT_PATCH,  {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/projects/{project}/members",       NULL, PB, OP_PLAIN,          {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/projects/{project}/members",       NULL, PB, OP_MEMBER_ADD,     {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"PATCH",  "/api/v1/projects/{project}/members/{user}",NULL, PB, OP_MEMBER_PATCH,   {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"DELETE", "/api/v1/projects/{project}/members/{user}",NULL, PB, OP_MEMBER_REMOVE,  {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/projects/{project}/tokens",        NULL, PB, OP_PLAIN,          {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/projects/{project}/tokens",        NULL, PB, OP_TOKEN_CREATE,   {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"DELETE", "/api/v1/projects/{project}/tokens/{token}",NULL, PB, OP_TOKEN_REVOKE,   {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/audit",              "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs",                             NULL, PB, OP_RUN_CREATE,     {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs",               "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}",                       NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"PATCH",  "/api/v1/runs/{run}",                       NULL, PB, OP_RUN_PATCH,      {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs/{run}/heartbeat",             NULL, PB, OP_RUN_HEARTBEAT,  {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs/{run}/cancel",                NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/count",         "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/values",  "project={project}&field=queue", PB, OP_PLAIN,   {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs/{run}/events",                NULL, PB, OP_EVENT_CREATE,   {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/events",                NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs/{run}/metrics",               NULL, PB, OP_METRIC_CREATE,  {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/metrics",               NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/compare", "project={project}&runs={runs}", PB, OP_COMPARE, {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/leaderboard", "project={project}&metric=loss", PB, OP_PLAIN,    {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs/wait",                        NULL, PB, OP_WAIT,           {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/attempts",              NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/graph",                 NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/lineage",               NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs/{run}/attempts",              NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"PATCH",  "/api/v1/runs/{run}/attempts/{seq}",        NULL, PB, OP_ATTEMPT_PATCH,  {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/queues/{queue}/claim",             NULL, PB, OP_CLAIM,          {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/workers",                          NULL, PB, OP_WORKER_NEW,     {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/workers",            "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/workers/{worker}",                 NULL, PB, OP_WORKER,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/workers/{worker}/heartbeat",       NULL, PB, OP_WORKER_BEAT,    {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/workers/{worker}/stop",            NULL, PB, OP_WORKER,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/workers/{worker}/events",          NULL, PB, OP_WORKER_EVENT,   {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/workers/{worker}/events",          NULL, PB, OP_WORKER,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/celery/events",      "project={project}", PB, OP_CELERY,        {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/celery/registry",    "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/celery",                NULL, PB, OP_CELERY_RUN,     {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    /* reports, project B */
    {"GET",    "/api/v1/reports/throughput", "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/reports/query",                    NULL, PB, OP_QUERY,          {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/reports/saved",                    NULL, PB, OP_SAVED_CREATE,   {401, 404, 404, 404, OK,  403, 403, 403, OK}},
    {"GET",    "/api/v1/reports/saved/{report}",           NULL, PB, OP_SAVED,          {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"PATCH",  "/api/v1/reports/saved/{report}",           NULL, PB, OP_SAVED_PATCH,    {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/reports/saved/{report}/run",       NULL, PB, OP_SAVED,          {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/failure-groups/{fingerprint}/runs", NULL, PB, OP_GROUP,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"PUT",    "/api/v1/projects/{project}/anomaly-thresholds", NULL, PB, OP_THRESHOLDS, {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/spans",                 NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/traces/{trace_id}",  "project={project}", PB, OP_TRACE,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/traces/{trace_id}",                NULL, PB, OP_TRACE,          {401, 400, 400, 400, 400, 404, 404, 404, 400}},
    {"GET",    "/api/v1/spans",              "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/traces",             "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    /* a queue's retry policy (api/policies.c) */
    {"GET",    "/api/v1/queues/{queue}/policy", "project={project}", PB, OP_POLICY,     {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"PUT",    "/api/v1/queues/{queue}/policy",            NULL, PB, OP_POLICY,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    /* the agent-lightning store (api/agl.c) */
    {"GET", "/api/v1/agl/health", NULL, PA, OP_AGL, {OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK}},
    {"POST", "/api/v1/agl/queues/rollouts/enqueue", NULL, PA, OP_AGL, AGL_WRITE},
    {"POST", "/api/v1/agl/queues/rollouts/dequeue", NULL, PA, OP_AGL, AGL_WRITE},
    {"POST", "/api/v1/agl/rollouts", NULL, PA, OP_AGL, AGL_WRITE},
    {"GET", "/api/v1/agl/rollouts", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/rollouts/search", NULL, PA, OP_AGL, AGL_READ},
    {"GET", "/api/v1/agl/rollouts/{rollout}", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/rollouts/{rollout}", NULL, PA, OP_AGL, AGL_WRITE},
    {"POST", "/api/v1/agl/rollouts/{rollout}/attempts", NULL, PA, OP_AGL, AGL_WRITE},
    {"GET", "/api/v1/agl/rollouts/{rollout}/attempts", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/rollouts/{rollout}/attempts/search", NULL, PA, OP_AGL, AGL_READ},
    {"GET", "/api/v1/agl/rollouts/{rollout}/attempts/latest", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/rollouts/{rollout}/attempts/{attempt}", NULL, PA, OP_AGL, AGL_WRITE},
    {"GET", "/api/v1/agl/workers", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/workers/search", NULL, PA, OP_AGL, AGL_READ},
    {"GET", "/api/v1/agl/workers/{worker}", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/workers/{worker}", NULL, PA, OP_AGL, AGL_WRITE},
    {"GET", "/api/v1/agl/statistics", NULL, PA, OP_AGL, AGL_READ},
    {"GET", "/api/v1/agl/resources", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/resources", NULL, PA, OP_AGL, AGL_WRITE},
    {"GET", "/api/v1/agl/resources/latest", NULL, PA, OP_AGL, AGL_READ},
    {"GET", "/api/v1/agl/resources/{resources}", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/resources/{resources}", NULL, PA, OP_AGL, AGL_WRITE},
    {"POST", "/api/v1/agl/spans", NULL, PA, OP_AGL, AGL_WRITE},
    {"GET", "/api/v1/agl/spans", "rollout_id={rollout}", PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/spans/search", NULL, PA, OP_AGL, AGL_READ},
    {"POST", "/api/v1/agl/spans/next", NULL, PA, OP_AGL, AGL_WRITE},
    {"POST", "/api/v1/agl/waits/rollouts", NULL, PA, OP_AGL, AGL_READ},
    /* the dashboard's reads of the store (api/rollouts.c): the native reads' rules */
    {"GET",    "/api/v1/rollouts",           "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/rollouts",                         NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    {"GET",    "/api/v1/rollouts/{run}/attempts",          NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/resources",          "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/resources",                        NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    {"GET",    "/api/v1/resources/{resources}", "project={project}", PA, OP_RESOURCES,  {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/rollouts",           "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/rollouts/{run}/attempts",          NULL, PB, OP_RUN,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/resources",          "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/resources/{resources}", "project={project}", PB, OP_RESOURCES,  {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    /* What a run leaves behind (api/artifacts.c): viewers read, producers (members, write
     * tokens) register, upload, promote and emit tables; demoting is the project admin's. */
    {"POST",   "/api/v1/runs/{run}/artifacts",             NULL, PA, OP_ARTIFACT_CREATE,{401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/artifacts",             NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/artifacts/upload", "name=u&sha256=2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", PA, OP_UPLOAD, {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/artifacts/{artifact}", NULL, PA, OP_ARTIFACT,       {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/artifacts/{artifact}/content", NULL, PA, OP_ARTIFACT, {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/artifacts/{artifact}/promote", NULL, PA, OP_PROMOTE, {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/artifacts",          "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/artifacts",                        NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    {"GET",    "/api/v1/promotions",         "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/promotions",                       NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    {"GET",    "/api/v1/promotions/{promotion}",           NULL, PA, OP_PROMOTION,      {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/promotions/{promotion}/demote",    NULL, PA, OP_PROMOTION,      {401, 403, 403, OK,  OK,  403, 403, OK,  404}},
    {"GET",    "/api/v1/runs/{run}/tables",                NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/tables/{name}",         NULL, PA, OP_TABLE,          {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/tables/{name}",         NULL, PA, OP_TABLE_PUT,      {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/runs/{run}/snapshot",              NULL, PA, OP_RUN,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/runs/{run}/artifacts",             NULL, PB, OP_ARTIFACT_CREATE,{401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs/{run}/artifacts/upload", "name=u&sha256=2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", PB, OP_UPLOAD, {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/artifacts/{artifact}/content", NULL, PB, OP_ARTIFACT, {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/runs/{run}/artifacts/{artifact}/promote", NULL, PB, OP_PROMOTE, {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/promotions/{promotion}/demote",    NULL, PB, OP_PROMOTION,      {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/runs/{run}/tables/{name}",         NULL, PB, OP_TABLE,          {401, 404, 404, 404, OK,  404, 404, 404, OK}},

    /* Experiments: viewers and read tokens read (the reconcile list too), members and write
     * tokens write, claim and report. */
    {"GET",    "/api/v1/experiments",        "project={project}", PA, OP_PLAIN,         {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/experiments",                      NULL, PA, OP_PLAIN,          {401, 400, 400, 400, 400, OK,  OK,  OK,  400}},
    {"POST",   "/api/v1/experiments",                      NULL, PA, OP_EXP_CREATE,     {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/experiments",                      NULL, PA, OP_EXP_CREATE_OWN, {401, 400, 400, 400, 400, 403, OK,  OK,  400}},
    {"GET",    "/api/v1/experiments/reconcile", "project={project}&launcher=m", PA, OP_PLAIN, {401, OK, OK, OK, OK, OK, OK, OK, 404}},
    {"GET",    "/api/v1/experiments/flag-schema", "project={project}", PA, OP_PLAIN,     {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/experiments/{experiment}",         NULL, PA, OP_EXP,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"PATCH",  "/api/v1/experiments/{experiment}",         NULL, PA, OP_EXP,            {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"DELETE", "/api/v1/experiments/{experiment}",         NULL, PA, OP_EXP,            {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/experiments/{experiment}/runs",    NULL, PA, OP_EXP,            {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"GET",    "/api/v1/experiments/{experiment}/flag-schema", NULL, PA, OP_EXP,        {401, OK,  OK,  OK,  OK,  OK,  OK,  OK,  404}},
    {"POST",   "/api/v1/experiments/{experiment}/claim",   NULL, PA, OP_EXP,            {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/experiments/{experiment}/renew",   NULL, PA, OP_EXP_REPORT,     {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"POST",   "/api/v1/experiments/{experiment}/report",  NULL, PA, OP_EXP_REPORT,     {401, 403, OK,  OK,  OK,  403, OK,  OK,  404}},
    {"GET",    "/api/v1/experiments",        "project={project}", PB, OP_PLAIN,         {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/experiments",                      NULL, PB, OP_EXP_CREATE,     {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"GET",    "/api/v1/experiments/{experiment}",         NULL, PB, OP_EXP,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"PATCH",  "/api/v1/experiments/{experiment}",         NULL, PB, OP_EXP,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/experiments/{experiment}/claim",   NULL, PB, OP_EXP,            {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/experiments/{experiment}/renew",   NULL, PB, OP_EXP_REPORT,     {401, 404, 404, 404, OK,  404, 404, 404, OK}},
    {"POST",   "/api/v1/experiments/{experiment}/report",  NULL, PB, OP_EXP_REPORT,     {401, 404, 404, 404, OK,  404, 404, 404, OK}},
};
/* clang-format on */

/* Operations the API document lists that runwatch-api does not serve. */
static const char *const not_api_routes[][2] = {
    {"GET", "/api/v1/stream"},         /* the SSE hub after auth_request (test_stream.c) */
    {"GET", "/api/v1/stream/healthz"}, /* the SSE hub, through nginx */
    {"GET", "/api/v1/openapi.json"},   /* a static file served by nginx */
};

static struct ident ids[N_ID];
static struct {
    char slug[64];
    char name[80];
    long long id;
} projects[2];
static json_object *openapi;

/* ---- fixture ---- */

static struct ident *admin(void)
{
    return &ids[ID_IADMIN];
}

/* Creates a user through the API (as the instance admin); fills email, password, id. */
static int make_user(const char *tag, struct ident *u)
{
    return itest_new_user(admin(), tag, "access.test", u);
}

static int add_member(int p, const char *email, const char *role)
{
    return itest_add_member(admin(), projects[p].slug, email, role);
}

/* Creates a token of project p (as the instance admin). */
static int make_token(int p, const char *scopes, struct ident *t)
{
    return itest_new_token(admin(), projects[p].slug, scopes, NULL, t) == 201 ? 0 : -1;
}

/* Creates a run of project p (as the instance admin) in status ("queued", "running"). */
static int make_run(int p, const char *status, char *id, size_t cap)
{
    struct itest_run run = {.project = projects[p].slug, .kind = "matrix", .status = status};
    return itest_make_run(admin(), &run, id, cap) == 201 ? 0 : -1;
}

/* A queued run of project p in queue (as the instance admin). */
static int make_queued_run(int p, const char *queue, char *id, size_t cap)
{
    struct itest_run run = {.project = projects[p].slug, .kind = "matrix", .queue = queue};
    return itest_make_run(admin(), &run, id, cap) == 201 ? 0 : -1;
}

/* Starts attempt 1 of run (as the instance admin). */
static int start_attempt(const char *run)
{
    struct http_resp r;
    char path[200];
    int rc;

    snprintf(path, sizeof(path), "/api/v1/runs/%s/attempts", run);
    rc = api_call(admin(), "POST", path, NULL, &r) == 0 && r.status == 201 ? 0 : -1;
    if (rc)
        fprintf(stderr, "start attempt: %ld %s\n", r.status, r.body ? r.body : "");
    http_resp_free(&r);
    return rc;
}

/* A fresh worker of project p (as the instance admin); returns its id or -1. */
static long long make_worker(int p)
{
    struct http_resp r;
    char body[300], name[64];
    long long id = -1;

    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"%s\"}", projects[p].slug,
             itest_unique("matrix-worker", name, sizeof(name)));
    if (api_call(admin(), "POST", "/api/v1/workers", body, &r) == 0 && r.status == 201)
        id = http_json_int(&r, "id");
    else
        fprintf(stderr, "register worker: %ld %s\n", r.status, r.body ? r.body : "");
    http_resp_free(&r);
    return id;
}

/* A fresh saved report of project p (as the instance admin); its id or -1. */
static long long make_saved_report(int p)
{
    struct http_resp r;
    char body[300], name[64];
    long long id = -1;

    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"%s\",\"sql\":\"select 1\"}",
             projects[p].slug, itest_unique("matrix-saved", name, sizeof(name)));
    if (api_call(admin(), "POST", "/api/v1/reports/saved", body, &r) == 0 && r.status == 201)
        id = http_json_int(&r, "id");
    else
        fprintf(stderr, "save report: %ld %s\n", r.status, r.body ? r.body : "");
    http_resp_free(&r);
    return id;
}

/* A failed run of project p with an error of its own: a fresh failure group, whose
 * fingerprint goes to fp. */
static int make_failure_group(int p, char *fp, size_t cap)
{
    struct http_resp r;
    char run[64], path[200], body[300], name[64];
    const char *f;
    int rc = -1;

    if (make_run(p, "running", run, sizeof(run)))
        return -1;
    snprintf(path, sizeof(path), "/api/v1/runs/%s", run);
    snprintf(body, sizeof(body),
             "{\"status\":\"failed\",\"error\":{\"type\":\"%s\",\"message\":\"boom\"}}",
             itest_unique("MatrixError", name, sizeof(name)));
    if (api_call(admin(), "PATCH", path, body, &r) == 0 && r.status == 200 &&
        (f = itest_jstr(r.json, "error.fingerprint"))) {
        snprintf(fp, cap, "%s", f);
        rc = 0;
    } else {
        fprintf(stderr, "fail run: %ld %s\n", r.status, r.body ? r.body : "");
    }
    http_resp_free(&r);
    return rc;
}

/* A trace id no other test made: 32 hex digits. */
static void fresh_trace(char out[33])
{
    static unsigned n;
    snprintf(out, 33, "%016llx%08x%08x", (unsigned long long)time(NULL), (unsigned)getpid(), ++n);
}

/* A trace of one span in project p, stored directly (the OTLP ingest has its own suite,
 * and takes only a token's own project). */
static int make_trace(int p, char trace[33])
{
    char sql[512];
    fresh_trace(trace);
    snprintf(sql, sizeof(sql),
             "INSERT INTO spans (project_id, start_at, trace_id, span_id, name, start_ns, end_ns) "
             "VALUES (%lld, '2026-01-01T00:00:00Z', decode('%s', 'hex'), "
             "decode('0102030405060708', 'hex'), 'matrix', 1767225600000000000, "
             "1767225600000000001)",
             projects[p].id, trace);
    return itest_psql(sql, NULL, 0) == 0 ? 0 : -1;
}

static int make_project(int p, const char *tag)
{
    struct http_resp r;
    char body[300];
    int rc;

    char slug[64];

    itest_unique(tag, slug, sizeof(slug));
    snprintf(projects[p].slug, sizeof(projects[p].slug), "%s", slug);
    snprintf(projects[p].name, sizeof(projects[p].name), "Project %s", slug);
    snprintf(body, sizeof(body), "{\"slug\":\"%s\",\"name\":\"%s\"}", projects[p].slug,
             projects[p].name);
    rc = api_call(admin(), "POST", "/api/v1/projects", body, &r) == 0 && r.status == 201 ? 0 : -1;
    projects[p].id = http_json_int(&r, "id");
    if (rc)
        fprintf(stderr, "create project: %ld %s\n", r.status, r.body ? r.body : "");
    http_resp_free(&r);
    return rc;
}

static int access_init(void)
{
    char path[1024];
    static const char *const roles[] = {"viewer", "member", "admin"};

    openapi = json_object_from_file(repo_path("openapi/openapi.json", path, sizeof(path)));
    if (!openapi) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    if (itest_instance_admin(&ids[ID_IADMIN]) != 0) {
        fprintf(stderr, "cannot sign in the instance admin\n");
        return 1;
    }
    if (make_project(PA, "acc-a") || make_project(PB, "acc-b"))
        return 1;
    for (int i = 0; i < 3; i++) {
        if (make_user(roles[i], &ids[ID_VIEWER + i]) ||
            add_member(PA, ids[ID_VIEWER + i].email, roles[i]) ||
            api_login(&ids[ID_VIEWER + i]) != 200)
            return 1;
    }
    if (make_user("other", &ids[ID_OTHER]) || add_member(PB, ids[ID_OTHER].email, "admin") ||
        api_login(&ids[ID_OTHER]) != 200)
        return 1;
    if (make_token(PA, "[\"read\"]", &ids[ID_TREAD]) ||
        make_token(PA, "[\"write\"]", &ids[ID_TWRITE]) ||
        make_token(PA, "[\"admin\"]", &ids[ID_TADMIN]))
        return 1;
    ids[ID_ANON].kind = IDENT_ANON;
    return 0;
}

static int access_fini(void)
{
    json_object_put(openapi);
    openapi = NULL;
    return 0;
}

/* ---- the document ---- */

static json_object *doc_operation(const char *method, const char *path)
{
    json_object *paths, *item, *op;
    char m[16];
    size_t i;

    for (i = 0; method[i] && i < sizeof(m) - 1; i++)
        m[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    m[i] = '\0';
    if (!openapi || !json_object_object_get_ex(openapi, "paths", &paths) ||
        !json_object_object_get_ex(paths, path, &item) || !json_object_object_get_ex(item, m, &op))
        return NULL;
    return op;
}

/* The documented 2xx status of an operation, or 0. */
static long doc_success(json_object *op)
{
    json_object *resp;
    if (!op || !json_object_object_get_ex(op, "responses", &resp))
        return 0;
    json_object_object_foreach(resp, code, v)
    {
        (void)v;
        if (code[0] == '2')
            return strtol(code, NULL, 10);
    }
    return 0;
}

static int doc_has_status(json_object *op, long status)
{
    json_object *resp, *v;
    char code[24];
    snprintf(code, sizeof(code), "%ld", status);
    return op && json_object_object_get_ex(op, "responses", &resp) &&
           json_object_object_get_ex(resp, code, &v);
}

/* ---- one call ---- */

/* Values for the path parameters of the queue and workers rows. */
struct more_targets {
    const char *queue;
    long long worker;
    long long report;        /* {report} */
    const char *fingerprint; /* {fingerprint} */
    char trace[33];          /* {trace_id} */
    char rollout[64];        /* {rollout} */
    long long artifact;      /* {artifact} */
    long long promotion;     /* {promotion} */

    long long experiment; /* {experiment} */
    char runs[128];       /* {runs} */
};

static int substitute(const char *tmpl, const char *query, const char *project, long long user,
                      long long token, const char *run, const struct more_targets *more, char *out,
                      size_t cap)
{
    size_t o = 0;
    for (const char *s = tmpl; *s;) {
        const char *val = NULL;
        char num[32];
        size_t skip = 0;
        if (strncmp(s, "{project}", 9) == 0) {
            val = project;
            skip = 9;
        } else if (strncmp(s, "{user}", 6) == 0) {
            snprintf(num, sizeof(num), "%lld", user);
            val = num;
            skip = 6;
        } else if (strncmp(s, "{token}", 7) == 0) {
            snprintf(num, sizeof(num), "%lld", token);
            val = num;
            skip = 7;
        } else if (strncmp(s, "{runs}", 6) == 0) {
            val = more->runs;
            skip = 6;
        } else if (strncmp(s, "{run}", 5) == 0) {
            val = run;
            skip = 5;
        } else if (strncmp(s, "{seq}", 5) == 0) {
            val = "1"; /* the attempt the fixture started */
            skip = 5;
        } else if (strncmp(s, "{queue}", 7) == 0) {
            val = more->queue;
            skip = 7;
        } else if (strncmp(s, "{worker}", 8) == 0) {
            snprintf(num, sizeof(num), "%lld", more->worker);
            val = num;
            skip = 8;
        } else if (strncmp(s, "{report}", 8) == 0) {
            snprintf(num, sizeof(num), "%lld", more->report);
            val = num;
            skip = 8;
        } else if (strncmp(s, "{fingerprint}", 13) == 0) {
            val = more->fingerprint;
            skip = 13;
        } else if (strncmp(s, "{trace_id}", 10) == 0) {
            val = more->trace;
            skip = 10;
        } else if (strncmp(s, "{artifact}", 10) == 0) {
            snprintf(num, sizeof(num), "%lld", more->artifact);
            val = num;
            skip = 10;
        } else if (strncmp(s, "{promotion}", 11) == 0) {
            snprintf(num, sizeof(num), "%lld", more->promotion);
            val = num;
            skip = 11;
        } else if (strncmp(s, "{name}", 6) == 0) {
            val = "t"; /* the table the fixture made */
            skip = 6;
        } else if (strncmp(s, "{rollout}", 9) == 0) {
            val = more->rollout;
            skip = 9;
        } else if (strncmp(s, "{attempt}", 9) == 0) {
            val = "latest";
            skip = 9;
        } else if (strncmp(s, "{experiment}", 12) == 0) {
            snprintf(num, sizeof(num), "%lld", more->experiment);
            val = num;
            skip = 12;
        } else if (strncmp(s, "{resources}", 11) == 0) {
            val = "rs-matrix";
            skip = 11;
        }
        if (val) {
            size_t n = strlen(val);
            if (o + n >= cap)
                return -1;
            memcpy(out + o, val, n);
            o += n;
            s += skip;
        } else {
            if (o + 1 >= cap)
                return -1;
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    if (query) {
        if (o + 1 >= cap)
            return -1;
        out[o++] = '?';
        return substitute(query, NULL, project, user, token, run, more, out + o, cap - o);
    }
    return 0;
}

/* A fresh rollout of project A, started (attempt 1), by its write token. */
static int make_rollout(char *id, size_t cap)
{
    struct http_resp r;
    const char *rid;
    int rc = -1;

    if (api_call(&ids[ID_TWRITE], "POST", "/api/v1/agl/rollouts", "{\"input\":1}", &r) == 0 &&
        r.status == 201 && (rid = http_json_string(&r, "rollout_id"))) {
        snprintf(id, cap, "%s", rid);
        rc = 0;
    }
    http_resp_free(&r);
    return rc;
}

/* The body of an agent-lightning store call: what its client sends there. */
static const char *agl_matrix_body(const struct row *row, const char *rollout, char *buf,
                                   size_t cap)
{
    const char *p = row->path + strlen("/api/v1/agl");

    if (strcmp(row->method, "POST") != 0)
        return NULL;
    if (strcmp(p, "/queues/rollouts/enqueue") == 0)
        return "{\"rollouts\":[{\"input\":1}]}";
    if (strcmp(p, "/rollouts") == 0)
        return "{\"input\":1}";
    if (strcmp(p, "/rollouts/{rollout}") == 0)
        return "{\"metadata\":{\"m\":1}}";
    if (strcmp(p, "/rollouts/{rollout}/attempts/{attempt}") == 0)
        return "{\"status\":\"running\"}";
    if (strcmp(p, "/resources") == 0 || strcmp(p, "/resources/{resources}") == 0)
        return "{\"p\":{\"resource_type\":\"prompt_template\",\"template\":\"x\"}}";
    if (strcmp(p, "/waits/rollouts") == 0) {
        snprintf(buf, cap, "{\"rollout_ids\":[\"%s\"],\"timeout\":0}", rollout);
        return buf;
    }
    if (strcmp(p, "/spans/next") == 0) {
        snprintf(buf, cap, "{\"rollout_id\":\"%s\",\"attempt_id\":\"1\"}", rollout);
        return buf;
    }
    if (strcmp(p, "/spans") == 0) {
        char trace[33];
        fresh_trace(trace);
        snprintf(buf, cap,
                 "{\"rollout_id\":\"%s\",\"attempt_id\":\"1\",\"sequence_id\":1,"
                 "\"trace_id\":\"%s\",\"span_id\":\"0102030405060708\",\"name\":\"matrix\"}",
                 rollout, trace);
        return buf;
    }
    if (strstr(p, "/search")) {
        if (strcmp(p, "/spans/search") == 0) {
            snprintf(buf, cap, "{\"rollout_id\":\"%s\"}", rollout);
            return buf;
        }
        return "{}";
    }
    return "{}";
}

/* A fresh run of project p holding what op needs, made by the instance admin: an uploaded
 * artifact ("hello"), or the run succeeded with it (to promote), or a promotion of it, or a
 * table "t". */
static int make_leftovers(int p, enum op op, char *run, size_t cap, struct more_targets *more)
{
    struct http_resp r;
    char path[300];
    long st;

    if (make_run(p, op == OP_TABLE ? "queued" : "running", run, cap))
        return -1;
    if (op == OP_TABLE) {
        snprintf(path, sizeof(path), "/api/v1/runs/%s/tables/t", run);
        api_call(admin(), "POST", path, "{\"columns\":[\"a\"],\"rows\":[[1]]}", &r);
        st = r.status;
        http_resp_free(&r);
        return st == 200 ? 0 : -1;
    }
    snprintf(path, sizeof(path),
             "/api/v1/runs/%s/artifacts/upload?name=h&sha256="
             "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
             run);
    api_call(admin(), "POST", path, "hello", &r);
    st = r.status;
    more->artifact = itest_jint(r.json, "id");
    http_resp_free(&r);
    if (st != 201 || more->artifact <= 0)
        return -1;
    if (op == OP_ARTIFACT)
        return 0;
    snprintf(path, sizeof(path), "/api/v1/runs/%s", run);
    api_call(admin(), "PATCH", path, "{\"status\":\"succeeded\"}", &r);
    st = r.status;
    http_resp_free(&r);
    if (st != 200)
        return -1;
    if (op == OP_PROMOTE)
        return 0;
    snprintf(path, sizeof(path), "/api/v1/runs/%s/artifacts/%lld/promote", run, more->artifact);
    api_call(admin(), "POST", path, "{\"name\":\"matrix\"}", &r);
    st = r.status;
    more->promotion = itest_jint(r.json, "id");
    http_resp_free(&r);
    return st == 201 && more->promotion > 0 ? 0 : -1;
}

/* Makes the request of row for identity who; returns the status (or -1 on a setup
 * failure, which is reported). code gets the error code of an error answer. */
static long access_call(const struct row *row, int who, char *code, size_t ccap)
{
    struct ident caller = ids[who], throwaway;
    struct http_resp r;
    char path[512], body[1024], name[64], pw[80], run[64] = "", queue[64] = "", fp[32] = "";
    struct more_targets more = {.queue = queue, .fingerprint = fp};
    long long user = 0, token = 0;
    const char *slug = projects[row->project].slug;
    const char *b = NULL;
    long status;

    code[0] = '\0';
    switch (row->op) {
    case OP_PLAIN:
        break;
    case OP_LOGIN:
        snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", ids[ID_VIEWER].email,
                 ids[ID_VIEWER].password);
        b = body;
        break;
    case OP_LOGOUT:
    case OP_PASSWORD:
        /* A session of its own, so the fixture's session survives the call. */
        if (caller.kind == IDENT_SESSION && api_login(&caller) != 200)
            return -1;
        snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"%s\"}",
                 caller.kind == IDENT_SESSION ? caller.password : "not-my-password",
                 caller.kind == IDENT_SESSION ? caller.password : "whatever-new-1");
        b = row->op == OP_PASSWORD ? body : NULL;
        break;
    case OP_USER_CREATE:
        snprintf(body, sizeof(body), "{\"email\":\"%s@access.test\",\"password\":\"%s\"}",
                 itest_unique("newuser", name, sizeof(name)), itest_password(pw, sizeof(pw)));
        b = body;
        break;
    case OP_USER_PATCH:
        if (make_user("patchme", &throwaway))
            return -1;
        user = throwaway.user_id;
        b = "{\"display_name\":\"renamed\"}";
        break;
    case OP_USER_PASSWORD:
        if (make_user("resetme", &throwaway))
            return -1;
        user = throwaway.user_id;
        snprintf(body, sizeof(body), "{\"password\":\"%s\"}", itest_password(pw, sizeof(pw)));
        b = body;
        break;
    case OP_PROJECT_CREATE:
        snprintf(body, sizeof(body), "{\"slug\":\"%s\",\"name\":\"made by a matrix call\"}",
                 itest_unique("acc-new", name, sizeof(name)));
        b = body;
        break;
    case OP_PROJECT_PATCH:
        /* The same name: the call is real and changes nothing. */
        snprintf(body, sizeof(body), "{\"name\":\"%s\"}", projects[row->project].name);
        b = body;
        break;
    case OP_MEMBER_ADD:
        if (make_user("addme", &throwaway))
            return -1;
        snprintf(body, sizeof(body), "{\"email\":\"%s\",\"role\":\"viewer\"}", throwaway.email);
        b = body;
        break;
    case OP_MEMBER_PATCH:
    case OP_MEMBER_REMOVE:
        if (make_user(row->op == OP_MEMBER_PATCH ? "promoteme" : "removeme", &throwaway) ||
            add_member(row->project, throwaway.email, "viewer"))
            return -1;
        user = throwaway.user_id;
        b = row->op == OP_MEMBER_PATCH ? "{\"role\":\"member\"}" : NULL;
        break;
    case OP_TOKEN_CREATE:
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"scopes\":[\"read\"]}",
                 itest_unique("matrix", name, sizeof(name)));
        b = body;
        break;
    case OP_TOKEN_REVOKE:
        if (make_token(row->project, "[\"read\"]", &throwaway))
            return -1;
        token = throwaway.token_id;
        break;
    case OP_RUN_CREATE:
        snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"matrix\"}", slug);
        b = body;
        break;
    case OP_RUN_CREATE_OWN:
        b = "{\"kind\":\"matrix\"}";
        break;
    case OP_RUN:
    case OP_RUN_PATCH:
    case OP_EVENT_CREATE:
    case OP_METRIC_CREATE:
        if (make_run(row->project, "queued", run, sizeof(run)))
            return -1;
        b = row->op == OP_RUN_PATCH       ? "{\"status\":\"running\"}"
            : row->op == OP_EVENT_CREATE  ? "{\"message\":\"from the matrix\"}"
            : row->op == OP_METRIC_CREATE ? "{\"key\":\"loss\",\"value\":0.5,\"step\":1}"
                                          : NULL;
        break;
    case OP_COMPARE: {
        char second[40];
        if (make_run(row->project, "queued", run, sizeof(run)) ||
            make_run(row->project, "queued", second, sizeof(second)))
            return -1;
        snprintf(more.runs, sizeof(more.runs), "%s,%s", run, second);
        break;
    }
    case OP_WAIT:
        /* No time to wait: an allowed wait answers at once (not done). */
        if (make_run(row->project, "queued", run, sizeof(run)))
            return -1;
        snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"timeout_s\":0}", run);
        b = body;
        break;
    case OP_CELERY:
        b = "{\"events\":[]}";
        break;
    case OP_CELERY_RUN: {
        /* A task id of random hex, received by a worker, posted as the instance admin. */
        char ev[400];
        unsigned long long a = ((unsigned long long)rand() << 31) ^ (unsigned long long)rand(),
                           c = ((unsigned long long)rand() << 31) ^ (unsigned long long)rand();
        snprintf(run, sizeof(run), "%08llx-%04llx-4%03llx-8%03llx-%012llx", a & 0xffffffffULL,
                 (a >> 32) & 0xffffULL, c & 0xfffULL, (c >> 12) & 0xfffULL,
                 (a ^ (c << 7)) & 0xffffffffffffULL);
        snprintf(ev, sizeof(ev),
                 "{\"events\":[{\"type\":\"task-received\",\"uuid\":\"%s\",\"timestamp\":1,"
                 "\"hostname\":\"w@matrix\",\"name\":\"matrix.task\"}]}",
                 run);
        if (itest_statusf(admin(), "POST", ev, "/api/v1/celery/events?project=%s", slug) != 200)
            return -1;
        break;
    }
    case OP_RUN_HEARTBEAT:
        if (make_run(row->project, "running", run, sizeof(run)))
            return -1;
        b = "{\"progress\":0.5}";
        break;
    case OP_ATTEMPT_PATCH:
        if (make_run(row->project, "queued", run, sizeof(run)) || start_attempt(run))
            return -1;
        b = "{\"status\":\"succeeded\"}";
        break;
    case OP_CLAIM:
    case OP_CLAIM_OWN:
        /* A queue of its own holding one run, so a claim always finds something. */
        itest_unique("matrix-q", queue, sizeof(queue));
        if (make_queued_run(row->project, queue, run, sizeof(run)) ||
            (more.worker = make_worker(row->project)) < 0)
            return -1;
        if (row->op == OP_CLAIM)
            snprintf(body, sizeof(body), "{\"project\":\"%s\",\"worker_id\":%lld}", slug,
                     more.worker);
        else
            snprintf(body, sizeof(body), "{\"worker_id\":%lld}", more.worker);
        b = body;
        break;
    case OP_WORKER_NEW:
    case OP_WORKER_NEW_OWN:
        if (row->op == OP_WORKER_NEW)
            snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"%s\"}", slug,
                     itest_unique("matrix-new", name, sizeof(name)));
        else
            snprintf(body, sizeof(body), "{\"name\":\"%s\"}",
                     itest_unique("matrix-new", name, sizeof(name)));
        b = body;
        break;
    case OP_WORKER:
    case OP_WORKER_BEAT:
    case OP_WORKER_EVENT:
        if ((more.worker = make_worker(row->project)) < 0)
            return -1;
        b = row->op == OP_WORKER_BEAT    ? "{\"status\":\"idle\"}"
            : row->op == OP_WORKER_EVENT ? "{\"events\":[{\"message\":\"matrix\"}]}"
                                         : NULL;
        break;
    case OP_QUERY:
        snprintf(body, sizeof(body), "{\"sql\":\"select count(*) from runs\",\"project\":\"%s\"}",
                 slug);
        b = body;
        break;
    case OP_SAVED_CREATE:
        snprintf(body, sizeof(body),
                 "{\"project\":\"%s\",\"name\":\"%s\",\"sql\":\"select 1\",\"chart\":{\"type\":"
                 "\"table\"}}",
                 slug, itest_unique("matrix-report", name, sizeof(name)));
        b = body;
        break;
    case OP_SAVED:
    case OP_SAVED_PATCH:
        if ((more.report = make_saved_report(row->project)) < 0)
            return -1;
        b = row->op == OP_SAVED_PATCH ? "{\"sql\":\"select 2\"}" : NULL;
        break;
    case OP_GROUP:
        if (make_failure_group(row->project, fp, sizeof(fp)))
            return -1;
        break;
    case OP_THRESHOLDS:
        b = "{\"stuck_after_s\":600}";
        break;
    case OP_OTLP:
        fresh_trace(more.trace);
        snprintf(body, sizeof(body),
                 "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"%s\","
                 "\"spanId\":\"0102030405060708\",\"name\":\"matrix\","
                 "\"startTimeUnixNano\":\"1767225600000000000\","
                 "\"endTimeUnixNano\":\"1767225600000000001\"}]}]}]}",
                 more.trace);
        b = body;
        break;
    case OP_TRACE:
        if (make_trace(row->project, more.trace))
            return -1;
        break;
    case OP_POLICY:
        itest_unique("matrix-q", queue, sizeof(queue));
        snprintf(body, sizeof(body), "{\"project\":\"%s\",\"timeout_s\":60}", slug);
        b = strcmp(row->method, "PUT") == 0 ? body : NULL;
        break;
    case OP_RESOURCES:
        snprintf(body, sizeof(body),
                 "INSERT INTO resources (project_id, resources_id, version, resources) VALUES "
                 "(%lld, 'rs-matrix', 1, '{}') ON CONFLICT DO NOTHING",
                 projects[row->project].id);
        if (itest_psql(body, NULL, 0) != 0)
            return -1;
        break;
    case OP_EXP_CREATE:
    case OP_EXP_CREATE_OWN:
        itest_unique("matrix-exp", name, sizeof(name));
        if (row->op == OP_EXP_CREATE)
            snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"%s\"}", slug, name);
        else
            snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
        b = body;
        break;
    case OP_EXP:
    case OP_EXP_REPORT: {
        /* Made in the database: the fixture must not depend on the roles under test. */
        char out[128];
        snprintf(body, sizeof(body),
                 "INSERT INTO experiments (project_id, name, desired_state) VALUES (%lld, '%s', "
                 "'running') RETURNING id",
                 projects[row->project].id, itest_unique("matrix-exp", name, sizeof(name)));
        if (itest_psql(body, out, sizeof(out)) != 0)
            return -1;
        more.experiment = atoll(out);
        if (row->op == OP_EXP_REPORT) {
            snprintf(body, sizeof(body),
                     "UPDATE experiments SET lease_id = gen_random_uuid(), lease_action = "
                     "'launch', lease_launcher = 'm', lease_expires_at = now() + interval '1 hour' "
                     "WHERE id = %lld RETURNING lease_id",
                     more.experiment);
            if (itest_psql(body, out, sizeof(out)) != 0)
                return -1;
            if (strstr(row->path, "/renew"))
                snprintf(body, sizeof(body), "{\"lease_id\":\"%s\"}", out);
            else
                snprintf(body, sizeof(body), "{\"lease_id\":\"%s\",\"outcome\":\"failed\"}", out);
            b = body;
        } else if (strcmp(row->method, "PATCH") == 0) {
            b = "{\"description\":\"matrix\"}";
        } else if (strstr(row->path, "/claim")) {
            b = "{\"launcher\":\"m\",\"action\":\"launch\"}";
        }
        break;
    }
    case OP_AGL:
        if (make_rollout(more.rollout, sizeof(more.rollout)))
            return -1;
        b = agl_matrix_body(row, more.rollout, body, sizeof(body));
        break;
    case OP_ARTIFACT_CREATE:
    case OP_UPLOAD:
    case OP_TABLE_PUT:
        if (make_run(row->project, "queued", run, sizeof(run)))
            return -1;
        b = row->op == OP_ARTIFACT_CREATE ? "{\"name\":\"m\",\"kind\":\"file\",\"uri\":\"s3://m\"}"
            : row->op == OP_UPLOAD        ? "hello"
                                          : "{\"columns\":[\"a\"],\"rows\":[[1]]}";
        break;
    case OP_ARTIFACT:
    case OP_PROMOTE:
    case OP_PROMOTION:
    case OP_TABLE:
        if (make_leftovers(row->project, row->op, run, sizeof(run), &more))
            return -1;
        b = row->op == OP_PROMOTE ? "{\"name\":\"matrix\"}" : NULL;
        break;
    }
    if (substitute(row->path, row->query, slug, user, token, run, &more, path, sizeof(path)) != 0)
        return -1;
    if (api_call(&caller, row->method, path, b, &r) != 0) {
        http_resp_free(&r);
        return -1;
    }
    status = r.status;
    if (http_error_code(&r))
        snprintf(code, ccap, "%s", http_error_code(&r));
    else if (r.json && itest_jint(r.json, "code") >= 0) {
        /* The OTLP paths answer google.rpc.Status: its code in the API's words. */
        long long c = itest_jint(r.json, "code");
        snprintf(code, ccap, "%s",
                 c == 16  ? "unauthenticated"
                 : c == 7 ? "forbidden"
                 : c == 5 ? "not_found"
                          : "rpc");
    } else if (r.json && json_object_object_get_ex(r.json, "detail", NULL) &&
               http_json_string(&r, "code")) {
        /* The agent-lightning store answers its client's {"detail"}, with our code. */
        snprintf(code, ccap, "%s", http_json_string(&r, "code"));
    }
    /* Whatever a call hands out is a secret for the log scan. */
    if (http_json_string(&r, "token"))
        secret_note("API token", http_json_string(&r, "token"));
    if (http_set_cookie_value(&r, "rw_session", name, sizeof(name)))
        secret_note("session cookie", name);
    http_resp_free(&r);
    /* A password change ends the user's other sessions, the fixture's among them. */
    if (row->op == OP_PASSWORD && caller.kind == IDENT_SESSION && api_login(&ids[who]) != 200)
        return -1;
    return status;
}

static const char *expect_text(short e, long ok, char *buf, size_t cap)
{
    snprintf(buf, cap, "%ld", e == OK ? ok : (long)e);
    return buf;
}

static const char *const error_codes[][2] = {
    {"401", "unauthenticated"},
    {"403", "forbidden"},
    {"404", "not_found"},
};

static void test_access_matrix(void)
{
    int mismatches = 0, calls = 0;

    for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
        const struct row *row = &matrix[i];
        json_object *op = doc_operation(row->method, row->path);
        long ok = doc_success(op);

        for (int who = 0; who < N_ID; who++) {
            char code[64], want[16], what[400];
            long got = access_call(row, who, code, sizeof(code));
            short e = row->expect[who];
            long expect = e == OK ? ok : e;
            const char *problem = NULL;

            calls++;
            snprintf(what, sizeof(what), "%s %s%s%s [project %s] %s", row->method, row->path,
                     row->query ? "?" : "", row->query ? row->query : "",
                     row->project == PA ? "A" : "B", id_names[who]);
            if (got < 0) {
                problem = "setup failed";
            } else if (got != expect) {
                problem = "wrong status";
            } else if (op && !doc_has_status(op, got)) {
                problem = "status not documented in openapi.json";
            } else {
                for (size_t k = 0; k < sizeof(error_codes) / sizeof(error_codes[0]); k++)
                    if (got == strtol(error_codes[k][0], NULL, 10) &&
                        strcmp(code, error_codes[k][1]) != 0)
                        problem = "wrong error code";
            }
            if (problem) {
                mismatches++;
                fprintf(stderr, "\n  ACCESS %s: expected %s got %ld%s%s%s (%s)", what,
                        expect_text(e, ok, want, sizeof(want)), got, code[0] ? " (" : "", code,
                        code[0] ? ")" : "", problem);
            }
        }
    }
    if (mismatches)
        fprintf(stderr, "\n  %d of %d access matrix calls answered differently\n", mismatches,
                calls);
    CU_ASSERT_EQUAL(mismatches, 0);
}

/* ---- completeness ---- */

static int matrix_has(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++)
        if (strcmp(matrix[i].method, method) == 0 && strcmp(matrix[i].path, path) == 0)
            return 1;
    return 0;
}

static int skipped(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof(not_api_routes) / sizeof(not_api_routes[0]); i++)
        if (strcmp(not_api_routes[i][0], method) == 0 && strcmp(not_api_routes[i][1], path) == 0)
            return 1;
    return 0;
}

static void test_matrix_complete(void)
{
    static const char *const methods[] = {"get",    "put",  "post",   "patch",
                                          "delete", "head", "options"};
    json_object *paths;
    char file[1024], line[512], m[16], p[300];
    int missing = 0, unknown = 0, routes = 0;
    FILE *f;

    CU_ASSERT_TRUE_FATAL(openapi && json_object_object_get_ex(openapi, "paths", &paths));
    /* Every documented operation has a row. */
    json_object_object_foreach(paths, path, item)
    {
        if (strncmp(path, "/api/v1/", 8) != 0)
            continue;
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
            json_object *op;
            char up[16];
            size_t k;
            if (!json_object_object_get_ex(item, methods[i], &op))
                continue;
            for (k = 0; methods[i][k]; k++)
                up[k] = (char)(methods[i][k] - 32);
            up[k] = '\0';
            if (!matrix_has(up, path) && !skipped(up, path)) {
                fprintf(stderr, "\n  MATRIX MISSING: %s %s (in openapi.json)", up, path);
                missing++;
            }
        }
    }
    /* Every row is a documented operation. */
    for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
        if (!doc_operation(matrix[i].method, matrix[i].path)) {
            fprintf(stderr, "\n  MATRIX UNKNOWN: %s %s is not in openapi.json", matrix[i].method,
                    matrix[i].path);
            unknown++;
        }
        if (!doc_success(doc_operation(matrix[i].method, matrix[i].path)) &&
            doc_operation(matrix[i].method, matrix[i].path)) {
            fprintf(stderr, "\n  MATRIX: %s %s documents no 2xx response", matrix[i].method,
                    matrix[i].path);
            unknown++;
        }
    }
    /* Every served route has a row, documented or not. */
    f = fopen(repo_path("fcgi/src/routes.c", file, sizeof(file)), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, " {\"%15[A-Z]\", \"%299[^\"]\"", m, p) != 2 || strncmp(p, "/api/", 5))
            continue;
        routes++;
        if (!matrix_has(m, p)) {
            fprintf(stderr, "\n  MATRIX MISSING: %s %s (in routes.c)", m, p);
            missing++;
        }
    }
    fclose(f);
    CU_ASSERT_TRUE(routes > 0);
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(unknown, 0);
}

int suite_access_register(void)
{
    CU_pSuite s = CU_add_suite("access", access_init, access_fini);
    if (!s)
        return 1;
    return !CU_add_test(s, "matrix covers every endpoint", test_matrix_complete) ||
           !CU_add_test(s, "access matrix", test_access_matrix);
}
