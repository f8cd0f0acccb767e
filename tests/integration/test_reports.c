/* Reports suite: the built-in reports count what was made, failure groups group it,
 * anomalies find what was planted (times moved back with SQL), thresholds are per
 * project, and ad-hoc SQL is safe by the database: a viewer of project A cannot read
 * B's rows, write anything, read users/sessions/tokens, forge a grant, take back the
 * application's role, run past the timeout, or pull more than the row cap; a string of
 * two statements is refused. Between tenants: B cannot read, cancel or end A's running
 * query, EXPLAIN nothing (no "Rows Removed by Filter" about A's run ids), read no
 * statistics, and take no advisory lock (rollups, the wait slots of POST /runs/wait,
 * which answers while the report caps are full). Saved reports: create, list, change,
 * run, CSV, delete.
 * Each test makes its own kinds and error types, so the tests do not depend on one
 * another. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct ident adm, viewer, member, viewer_b, tread_b;
static struct {
    char slug[64];
    long long id;
} pa, pb;

static int new_member(const char *tag, const char *slug, const char *role, struct ident *u)
{
    return itest_new_member(&adm, tag, "reports.test", slug, role, u);
}

static int reports_init(void)
{
    if (itest_instance_admin(&adm) != 0)
        return 1;
    if (itest_make_project(&adm, "rep-a", pa.slug, sizeof(pa.slug), &pa.id) ||
        itest_make_project(&adm, "rep-b", pb.slug, sizeof(pb.slug), &pb.id))
        return 1;
    if (new_member("viewer", pa.slug, "viewer", &viewer) ||
        new_member("member", pa.slug, "member", &member) ||
        new_member("viewer-b", pb.slug, "viewer", &viewer_b))
        return 1;
    return itest_new_token(&adm, pb.slug, "[\"read\"]", NULL, &tread_b) == 201 ? 0 : 1;
}

/* ---- helpers ---- */

/* A run of project slug with kind, moved to status (running, failed with error type
 * etype, succeeded); its id into id. */
static int run_with(const char *slug, const char *kind, const char *status, const char *etype,
                    char *id, size_t cap)
{
    struct itest_run run = {.project = slug,
                            .kind = kind,
                            .status = strcmp(status, "queued") == 0 ? "queued" : "running"};
    struct http_resp r;
    char body[400], path[200];
    int ok;

    ok = itest_make_run(&adm, &run, id, cap) == 201;
    if (!ok || strcmp(status, "queued") == 0 || strcmp(status, "running") == 0)
        return ok ? 0 : -1;
    snprintf(path, sizeof(path), "/api/v1/runs/%s", id);
    if (etype)
        snprintf(body, sizeof(body),
                 "{\"status\":\"%s\",\"error\":{\"type\":\"%s\",\"message\":\"failed at step "
                 "%d\"}}",
                 status, etype, rand() % 1000);
    else
        snprintf(body, sizeof(body), "{\"status\":\"%s\"}", status);
    ok = api_call(&adm, "PATCH", path, body, &r) == 0 && r.status == 200;
    http_resp_free(&r);
    return ok ? 0 : -1;
}

/* POST /api/v1/reports/query {sql, project} as who. */
static int query(const struct ident *who, const char *sql, const char *project, struct http_resp *r)
{
    json_object *b = json_object_new_object();
    json_object_object_add(b, "sql", json_object_new_string(sql));
    if (project)
        json_object_object_add(b, "project", json_object_new_string(project));
    int rc = api_call(who, "POST", "/api/v1/reports/query", json_object_to_json_string(b), r);
    json_object_put(b);
    return rc;
}

/* The one value of a one-row, one-column query, as text ("" on failure). */
static const char *scalar(const struct ident *who, const char *sql, char *out, size_t cap)
{
    struct http_resp r;
    json_object *v;

    out[0] = '\0';
    if (query(who, sql, NULL, &r) == 0 && r.status == 200 && (v = itest_jget(r.json, "rows.0.0")))
        snprintf(out, cap, "%s", json_object_get_string(v));
    else
        fprintf(stderr, "\n  query %s: %ld %s", sql, r.status, S(r.body));
    http_resp_free(&r);
    return out;
}

static long status_of(const struct ident *who, const char *method, const char *path,
                      const char *body, char *code, size_t cap)
{
    struct http_resp r;
    long st = api_call(who, method, path, body, &r) == 0 ? r.status : -1;
    if (code)
        snprintf(code, cap, "%s", S(http_error_field(&r)));
    http_resp_free(&r);
    return st;
}

/* Sum of `field` over the items whose `key` equals val. */
static long long sum_items(json_object *o, const char *key, const char *val, const char *field)
{
    json_object *items = itest_jget(o, "items");
    long long sum = 0;
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i), *k, *f;
        if (json_object_object_get_ex(it, key, &k) && k &&
            strcmp(json_object_get_string(k), val) == 0 && json_object_object_get_ex(it, field, &f))
            sum += json_object_get_int64(f);
    }
    return sum;
}

/* ---- built-in reports ---- */

static void test_builtin_reports(void)
{
    char kind[64], kind_b[64], id[64], path[300];
    struct http_resp r;

    itest_unique("thr", kind, sizeof(kind));
    itest_unique("thr-b", kind_b, sizeof(kind_b));
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(run_with(pa.slug, kind, "succeeded", NULL, id, sizeof(id)), 0);
    for (int i = 0; i < 2; i++)
        CU_ASSERT_EQUAL_FATAL(run_with(pa.slug, kind, "failed", "ThrError", id, sizeof(id)), 0);
    CU_ASSERT_EQUAL_FATAL(run_with(pb.slug, kind_b, "failed", "ThrError", id, sizeof(id)), 0);

    /* Throughput by kind: 5 started and 5 ended in A; B's kind is not there for A's viewer. */
    CU_ASSERT_EQUAL(api_call(&viewer, "GET", "/api/v1/reports/throughput?by=kind", NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(sum_items(r.json, "kind", kind, "started"), 5);
    CU_ASSERT_EQUAL(sum_items(r.json, "kind", kind, "ended"), 5);
    CU_ASSERT_EQUAL(sum_items(r.json, "kind", kind_b, "started"), 0);
    CU_ASSERT_EQUAL(itest_jint(r.json, "bucket_s"), 3600);
    /* No replica configured (RUNWATCH_READ_DATABASE_URL): read from the primary, no lag. */
    char from[32];
    const char *read_from = http_header(&r, "X-Runwatch-Read-From", from, sizeof(from));
    CU_ASSERT_STRING_EQUAL(read_from ? read_from : "", "primary");
    CU_ASSERT_PTR_NULL(http_header(&r, "X-Runwatch-Replica-Lag", from, sizeof(from)));
    http_resp_free(&r);
    /* B's viewer sees B's kind, and only B. */
    CU_ASSERT_EQUAL(api_call(&viewer_b, "GET",
                             "/api/v1/reports/throughput?by=kind,project&bucket=day", NULL, &r),
                    0);
    CU_ASSERT_EQUAL(sum_items(r.json, "kind", kind_b, "started"), 1);
    CU_ASSERT_EQUAL(sum_items(r.json, "project", pa.slug, "started"), 0);
    http_resp_free(&r);

    /* Failure rate by kind: 2 of 5. */
    snprintf(path, sizeof(path), "/api/v1/reports/failure-rate?project=%s&by=kind&window=2d",
             pa.slug);
    CU_ASSERT_EQUAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(sum_items(r.json, "kind", kind, "finished"), 5);
    CU_ASSERT_EQUAL(sum_items(r.json, "kind", kind, "failed"), 2);
    http_resp_free(&r);

    /* Durations and queue wait: one row for the kind, with 5 runs and ordered percentiles. */
    snprintf(path, sizeof(path), "/api/v1/reports/durations?project=%s&by=kind", pa.slug);
    CU_ASSERT_EQUAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(sum_items(r.json, "kind", kind, "runs"), 5);
    json_object *items = itest_jget(r.json, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i);
        double p50 = json_object_get_double(itest_jget(it, "p50_s"));
        double p99 = json_object_get_double(itest_jget(it, "p99_s"));
        double mx = json_object_get_double(itest_jget(it, "max_s"));
        CU_ASSERT_TRUE(p50 >= 0 && p50 <= p99 && p99 <= mx);
    }
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/reports/durations?project=%s&metric=queue_wait&by=kind",
             pa.slug);
    CU_ASSERT_EQUAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "metric")), "queue_wait");
    CU_ASSERT_EQUAL(sum_items(r.json, "kind", kind, "runs"), 5);
    http_resp_free(&r);
}

static void test_report_validation(void)
{
    static const struct {
        const char *path;
        long status;
        const char *field;
    } bad[] = {
        {"/api/v1/reports/throughput?window=abc", 400, "window"},
        {"/api/v1/reports/throughput?window=401d", 400, "window"},
        {"/api/v1/reports/throughput?window=0h", 400, "window"},
        {"/api/v1/reports/throughput?from=yesterday", 400, "from"},
        {"/api/v1/reports/throughput?to=2026-13-01", 400, "to"},
        {"/api/v1/reports/throughput?from=2026-01-01T00:00:00Z&window=1d", 400, "window"},
        {"/api/v1/reports/throughput?bucket=week", 400, "bucket"},
        {"/api/v1/reports/throughput?bucket=minute&window=30d", 422, "bucket"},
        {"/api/v1/reports/throughput?by=colour", 400, "by"},
        {"/api/v1/reports/throughput?colour=red", 400, "colour"},
        {"/api/v1/reports/durations?metric=speed", 400, "metric"},
        {"/api/v1/reports/durations?by=queue", 400, "by"},
        {"/api/v1/reports/failure-rate?by=status", 400, "by"},
        {"/api/v1/failure-groups?limit=0", 400, "limit"},
        {"/api/v1/failure-groups/0123456789abcdef/runs?cursor=x", 400, "cursor"},
        {"/api/v1/anomalies?type=slow", 400, "type"},
        {"/api/v1/anomalies?limit=5000", 400, "limit"},
        {"/api/v1/reports/throughput?project=no-such-project", 404, NULL},
        {"/api/v1/failure-groups/not-a-fingerprint/runs", 404, NULL},
    };
    char field[64];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long st = status_of(&viewer, "GET", bad[i].path, NULL, field, sizeof(field));
        if (st != bad[i].status || (bad[i].field && strcmp(field, bad[i].field) != 0))
            fprintf(stderr, "\n  %s: %ld field %s", bad[i].path, st, field);
        CU_ASSERT_EQUAL(st, bad[i].status);
        if (bad[i].field)
            CU_ASSERT_STRING_EQUAL(field, bad[i].field);
    }
}

/* ---- failure groups ---- */

static void test_failure_groups(void)
{
    char etype[64], id[64], path[300], fp[32] = "";
    struct http_resp r;
    json_object *items;
    int found = 0;

    itest_unique("GroupError", etype, sizeof(etype));
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(run_with(pa.slug, "grp", "failed", etype, id, sizeof(id)), 0);
    snprintf(path, sizeof(path), "/api/v1/failure-groups?project=%s&window=1d&limit=1000", pa.slug);
    CU_ASSERT_EQUAL_FATAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    items = itest_jget(r.json, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *g = json_object_array_get_idx(items, i);
        if (strcmp(S(itest_jstr(g, "error_type")), etype) != 0)
            continue;
        found++;
        /* "failed at step N": the numbers differ, the fingerprint does not. */
        CU_ASSERT_EQUAL(itest_jint(g, "runs"), 3);
        CU_ASSERT_EQUAL(itest_jlen(g, "sample_runs"), 3);
        CU_ASSERT_STRING_EQUAL(S(itest_jstr(g, "kinds.0")), "grp");
        CU_ASSERT_PTR_NOT_NULL(itest_jstr(g, "first_seen"));
        snprintf(fp, sizeof(fp), "%s", S(itest_jstr(g, "fingerprint")));
    }
    CU_ASSERT_EQUAL(found, 1);
    http_resp_free(&r);

    /* The group's runs, two pages of 2 + 1. */
    snprintf(path, sizeof(path), "/api/v1/failure-groups/%s/runs?limit=2", fp);
    CU_ASSERT_EQUAL_FATAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.0.error.fingerprint")), fp);
    const char *next = itest_jstr(r.json, "next_cursor");
    CU_ASSERT_PTR_NOT_NULL_FATAL(next);
    snprintf(path, sizeof(path), "/api/v1/failure-groups/%s/runs?limit=2&cursor=%s", fp, next);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 1);
    CU_ASSERT_TRUE(itest_jnull(r.json, "next_cursor"));
    http_resp_free(&r);
    /* B's viewer and B's token: no such group. */
    snprintf(path, sizeof(path), "/api/v1/failure-groups/%s/runs", fp);
    CU_ASSERT_EQUAL(status_of(&viewer_b, "GET", path, NULL, NULL, 0), 404);
    CU_ASSERT_EQUAL(status_of(&tread_b, "GET", path, NULL, NULL, 0), 404);
}

/* ---- anomalies ---- */

static int has_anomaly(json_object *o, const char *kind, const char *run)
{
    json_object *items = itest_jget(o, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i);
        if (strcmp(S(itest_jstr(it, "anomaly")), kind) == 0 &&
            strcmp(S(itest_jstr(it, "run_id")), run) == 0)
            return 1;
    }
    return 0;
}

static void test_anomalies(void)
{
    char proj[64], stuck[64], stale[64], fresh[64], lease[64], intr[64], sql[600], path[300];
    char body[300], wname[64];
    long long pid, worker;
    struct http_resp r;

    /* A project of its own, so the counts are this test's. */
    CU_ASSERT_EQUAL_FATAL(itest_make_project(&adm, "rep-anom", proj, sizeof(proj), &pid), 0);
    CU_ASSERT_EQUAL_FATAL(itest_add_member(&adm, proj, viewer.email, "viewer"), 0);
    CU_ASSERT_EQUAL_FATAL(run_with(proj, "anom", "running", NULL, stuck, sizeof(stuck)), 0);
    CU_ASSERT_EQUAL_FATAL(run_with(proj, "anom", "queued", NULL, stale, sizeof(stale)), 0);
    CU_ASSERT_EQUAL_FATAL(run_with(proj, "anom", "queued", NULL, fresh, sizeof(fresh)), 0);
    CU_ASSERT_EQUAL_FATAL(run_with(proj, "anom", "running", NULL, lease, sizeof(lease)), 0);
    /* The clock moved back instead of waiting: heartbeat 20 min ago, queued 2 h ago, a
     * lease that lapsed a minute ago. */
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET last_heartbeat_at = now() - interval '20 minutes' WHERE id = '%s';"
             "UPDATE runs SET queued_at = now() - interval '2 hours', created_at = now() - "
             "interval '2 hours' WHERE id = '%s';"
             "UPDATE runs SET lease_s = 30, lease_expires_at = now() - interval '1 minute' WHERE "
             "id = '%s'",
             stuck, stale, lease);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    /* Interrupted: a run started by a worker that then stops. */
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"%s\"}", proj,
             itest_unique("anom-worker", wname, sizeof(wname)));
    CU_ASSERT_EQUAL_FATAL(api_call(&adm, "POST", "/api/v1/workers", body, &r), 0);
    worker = http_json_int(&r, "id");
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(run_with(proj, "anom", "queued", NULL, intr, sizeof(intr)), 0);
    snprintf(path, sizeof(path), "/api/v1/runs/%s/attempts", intr);
    snprintf(body, sizeof(body), "{\"worker_id\":%lld}", worker);
    CU_ASSERT_EQUAL(status_of(&adm, "POST", path, body, NULL, 0), 201);
    snprintf(path, sizeof(path), "/api/v1/workers/%lld/stop", worker);
    CU_ASSERT_EQUAL(status_of(&adm, "POST", path, NULL, NULL, 0), 200);

    snprintf(path, sizeof(path), "/api/v1/anomalies?project=%s", proj);
    CU_ASSERT_EQUAL_FATAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(has_anomaly(r.json, "stuck", stuck));
    CU_ASSERT_TRUE(has_anomaly(r.json, "stale", stale));
    CU_ASSERT_FALSE(has_anomaly(r.json, "stale", fresh));
    CU_ASSERT_TRUE(has_anomaly(r.json, "lease_expired", lease));
    CU_ASSERT_TRUE(has_anomaly(r.json, "interrupted", intr));
    CU_ASSERT_EQUAL(itest_jint(r.json, "counts.stuck"), 1);
    CU_ASSERT_EQUAL(itest_jint(r.json, "counts.stale"), 1);
    CU_ASSERT_EQUAL(itest_jint(r.json, "counts.interrupted"), 1);
    http_resp_free(&r);

    /* Thresholds are per project: 3 h makes the 2-hour-old run fresh, 1 h stuck_after
     * makes the 20-minute silence normal. */
    snprintf(path, sizeof(path), "/api/v1/projects/%s/anomaly-thresholds", proj);
    CU_ASSERT_EQUAL(
        status_of(&adm, "PUT", path, "{\"stale_after_s\":10800,\"stuck_after_s\":3600}", NULL, 0),
        200);
    CU_ASSERT_EQUAL_FATAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(itest_jint(r.json, "stale_after_s"), 10800);
    CU_ASSERT_EQUAL(itest_jint(r.json, "lease_window_s"), 3600); /* left out: the default */
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/anomalies?project=%s&type=stale,stuck", proj);
    CU_ASSERT_EQUAL_FATAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    CU_ASSERT_FALSE(has_anomaly(r.json, "stale", stale));
    CU_ASSERT_FALSE(has_anomaly(r.json, "stuck", stuck));
    CU_ASSERT_EQUAL(itest_jint(r.json, "counts.interrupted"), 0); /* filtered by type */
    http_resp_free(&r);

    /* A threshold set to null goes back to the default, which has one home in SQL
     * (report.anomaly_defaults): the API, and ad-hoc SQL's thresholds view, read it there. */
    char def[32], seen[32], tsql[200];
    CU_ASSERT_EQUAL_FATAL(
        itest_psql("SELECT stuck_after_s FROM report.anomaly_defaults()", def, sizeof(def)), 0);
    snprintf(path, sizeof(path), "/api/v1/projects/%s/anomaly-thresholds", proj);
    CU_ASSERT_EQUAL(status_of(&adm, "PUT", path, "{\"stuck_after_s\":null}", NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(api_call(&viewer, "GET", path, NULL, &r), 0);
    snprintf(seen, sizeof(seen), "%lld", (long long)itest_jint(r.json, "stuck_after_s"));
    CU_ASSERT_STRING_EQUAL(seen, def);
    CU_ASSERT_EQUAL(itest_jint(r.json, "stale_after_s"), 3600); /* left out: the default */
    http_resp_free(&r);
    snprintf(tsql, sizeof(tsql),
             "select t.stuck_after_s from thresholds t join projects p on p.id = t.project_id "
             "where p.slug = '%s'",
             proj);
    CU_ASSERT_STRING_EQUAL(scalar(&viewer, tsql, seen, sizeof(seen)), def);

    /* Setting them is for project admins; values are checked. */
    CU_ASSERT_EQUAL(status_of(&viewer, "PUT", path, "{\"stuck_after_s\":60}", NULL, 0), 403);
    char field[64];
    CU_ASSERT_EQUAL(status_of(&adm, "PUT", path, "{\"stuck_after_s\":1}", field, sizeof(field)),
                    400);
    CU_ASSERT_STRING_EQUAL(field, "stuck_after_s");
    CU_ASSERT_EQUAL(status_of(&adm, "PUT", path, "{\"stale\":60}", field, sizeof(field)), 400);
    CU_ASSERT_STRING_EQUAL(field, "stale");
    CU_ASSERT_EQUAL(
        status_of(&adm, "PUT", path, "{\"lease_window_s\":\"1h\"}", field, sizeof(field)), 400);
    CU_ASSERT_STRING_EQUAL(field, "lease_window_s");
}

/* ---- ad-hoc SQL ---- */

static void expect_refused(const struct ident *who, const char *sql, long status, const char *code)
{
    struct http_resp r;
    CU_ASSERT_EQUAL_FATAL(query(who, sql, NULL, &r), 0);
    if (r.status != status || (code && strcmp(S(http_error_code(&r)), code) != 0))
        fprintf(stderr, "\n  %s: %ld %s", sql, r.status, S(r.body));
    CU_ASSERT_EQUAL(r.status, status);
    if (code)
        CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), code);
    http_resp_free(&r);
}

static void test_query_isolation(void)
{
    char kind[64], id[64], sql[300], out[256], out2[256];

    itest_unique("iso", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(run_with(pa.slug, kind, "succeeded", NULL, id, sizeof(id)), 0);
    CU_ASSERT_EQUAL_FATAL(run_with(pb.slug, kind, "succeeded", NULL, id, sizeof(id)), 0);
    CU_ASSERT_EQUAL_FATAL(run_with(pb.slug, kind, "succeeded", NULL, id, sizeof(id)), 0);

    /* Each sees the runs of their own project only, with or without a WHERE of theirs. */
    snprintf(sql, sizeof(sql), "select count(*) from runs where kind = '%s'", kind);
    CU_ASSERT_STRING_EQUAL(scalar(&viewer, sql, out, sizeof(out)), "1");
    CU_ASSERT_STRING_EQUAL(scalar(&viewer_b, sql, out, sizeof(out)), "2");
    CU_ASSERT_STRING_EQUAL(scalar(&tread_b, sql, out, sizeof(out)), "2");
    snprintf(sql, sizeof(sql), "select count(*) from runs where id = '%s'", id); /* B's run */
    CU_ASSERT_STRING_EQUAL(scalar(&viewer, sql, out, sizeof(out)), "0");
    snprintf(sql, sizeof(sql), "select count(*) from projects where slug = '%s'", pb.slug);
    CU_ASSERT_STRING_EQUAL(scalar(&viewer, sql, out, sizeof(out)), "0");
    snprintf(sql, sizeof(sql),
             "select count(*) from events e join runs r on r.id = e.run_id where r.project_id = "
             "%lld",
             pb.id);
    CU_ASSERT_STRING_EQUAL(scalar(&viewer, sql, out, sizeof(out)), "0");
    /* A forged grant (set_config is open to everyone) shows nothing at all. */
    snprintf(sql, sizeof(sql),
             "select set_config('runwatch.grant', '%lld|' || pg_backend_pid() || "
             "'|9999999999|00', true) is not null, (select count(*) from projects)",
             pb.id);
    struct http_resp r;
    CU_ASSERT_EQUAL(query(&viewer, sql, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(json_object_get_int(itest_jget(r.json, "rows.0.1")), 0);
    http_resp_free(&r);
    /* The user's own grant cannot be widened either: editing it breaks the signature. */
    snprintf(sql, sizeof(sql),
             "select set_config('runwatch.grant', '%lld,' || current_setting('runwatch.grant'), "
             "true) is not null, (select count(*) from projects)",
             pb.id);
    CU_ASSERT_EQUAL(query(&viewer, sql, NULL, &r), 0);
    CU_ASSERT_EQUAL(json_object_get_int(itest_jget(r.json, "rows.0.1")), 0);
    http_resp_free(&r);
    /* An instance admin sees both; ?project narrows. */
    snprintf(sql, sizeof(sql), "select count(*) from runs where kind = '%s'", kind);
    CU_ASSERT_STRING_EQUAL(scalar(&adm, sql, out, sizeof(out)), "3");
    CU_ASSERT_EQUAL(query(&adm, sql, pa.slug, &r), 0);
    CU_ASSERT_EQUAL(json_object_get_int(itest_jget(r.json, "rows.0.0")), 1);
    http_resp_free(&r);
    /* B's token cannot narrow to A. */
    CU_ASSERT_EQUAL(query(&tread_b, sql, pa.slug, &r), 0);
    CU_ASSERT_EQUAL(r.status, 404);
    http_resp_free(&r);
    (void)out2;
}

/* One project's rows in every table added since the report schema's first views, each
 * named or tagged tag: a run, a worker, an experiment with a lease, a span, an artifact and
 * its promotion, a run table and snapshot, a worker log line and session, a Celery task and
 * worker, a resources version and a queue policy. */
static int seed_newer_tables(const char *slug, long long project, const char *tag)
{
    char run[64], sql[3000], out[512];
    long long worker = itest_new_worker(&adm, slug, tag);

    if (worker <= 0 || run_with(slug, tag, "succeeded", NULL, run, sizeof(run))) {
        fprintf(stderr, "\n  seeding %s: no worker (%lld) or run", slug, worker);
        return -1;
    }
    snprintf(sql, sizeof(sql),
             "WITH x AS (INSERT INTO experiments (project_id, name, desired_state, flags, "
             "lease_id, lease_action, lease_launcher, lease_expires_at) VALUES (%lld, '%s', "
             "'running', '{\"lr\": 0.1}', gen_random_uuid(), 'launch', '%s', now() + interval "
             "'1 hour') RETURNING id, lease_id), "
             "a AS (INSERT INTO experiment_actions (experiment_id, lease_id, action, launcher, "
             "expires_at) SELECT id, lease_id, 'launch', '%s', now() + interval '1 hour' FROM x), "
             "s AS (INSERT INTO run_snapshots (run_id, experiment_id, experiment_name) SELECT "
             "'%s', id, '%s' FROM x), "
             "f AS (INSERT INTO artifacts (project_id, run_id, name, kind, uri, sha256) VALUES "
             "(%lld, '%s', '%s', 'model', 's3://b/%s', repeat('ab', 32)) RETURNING id) "
             "INSERT INTO promotions (project_id, name, kind, version, artifact_id, "
             "artifact_name, run_id, sha256) SELECT %lld, '%s', 'model', 1, id, '%s', '%s', "
             "repeat('ab', 32) FROM f",
             project, tag, tag, tag, run, tag, project, run, tag, tag, project, tag, tag, run);
    if (itest_psql(sql, out, sizeof(out)) != 0) {
        fprintf(stderr, "\n  seeding %s: %s", slug, out);
        return -1;
    }
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO spans (project_id, start_at, trace_id, span_id, name, start_ns, end_ns) "
        "VALUES (%lld, now(), decode(md5(random()::text), 'hex'), "
        "substring(decode(md5(random()::text), 'hex') from 1 for 8), '%s', 1000000, 3000000); "
        "INSERT INTO run_tables (run_id, name, project_id, columns) VALUES ('%s', '%s', "
        "%lld, '[\"a\"]'); "
        "INSERT INTO worker_events (project_id, worker_id, message) VALUES (%lld, %lld, '%s'); "
        "INSERT INTO worker_sessions (worker_id, host) VALUES (%lld, '%s'); "
        "INSERT INTO celery_tasks (run_id, project_id, hostname) VALUES ('%s', %lld, '%s'); "
        "INSERT INTO celery_workers (worker_id, project_id, sw_ident, last_seen) VALUES "
        "(%lld, %lld, '%s', now()); "
        "INSERT INTO resources (project_id, resources_id, version, resources) VALUES (%lld, "
        "'%s', 1, '{}'); "
        "INSERT INTO queue_policies (project_id, queue, max_attempts) VALUES (%lld, '%s', 3)",
        project, tag, run, tag, project, project, worker, tag, worker, tag, run, project, tag,
        worker, project, tag, project, tag, project, tag);
    if (itest_psql(sql, out, sizeof(out)) != 0) {
        fprintf(stderr, "\n  seeding %s: %s", slug, out);
        return -1;
    }
    return 0;
}

/* Every table added since the first report views has its view, keeping the caller's
 * projects only; the grown views (runs, attempts, workers, experiments) answer their new
 * columns. */
static void test_query_newer_views(void)
{
    static const struct {
        const char *view, *where;
    } views[] = {
        {"spans", "name = '{tag}' and trace_id ~ '^[0-9a-f]{32}$' and duration_ms = 2"},
        {"experiments", "name = '{tag}' and flags = config and actual_state = 'stopped'"},
        {"experiment_actions", "launcher = '{tag}'"},
        {"artifacts", "name = '{tag}' and sha256 = repeat('ab', 32)"},
        {"promotions", "name = '{tag}'"},
        {"run_tables", "name = '{tag}'"},
        {"run_snapshots", "experiment_name = '{tag}'"},
        {"worker_events", "message = '{tag}'"},
        {"worker_sessions", "host = '{tag}'"},
        {"celery_tasks", "hostname = '{tag}'"},
        {"celery_workers", "sw_ident = '{tag}'"},
        {"resources", "resources_id = '{tag}'"},
        {"queue_policies", "queue = '{tag}'"},
        {"runs", "kind = '{tag}' and attempt_seq is null and retry_on is null"},
        {"workers", "name = '{tag}' and current_run_id is null"},
    };
    char tag[64], sql[400], where[300], out[64];

    itest_unique("newer", tag, sizeof(tag));
    CU_ASSERT_EQUAL_FATAL(seed_newer_tables(pa.slug, pa.id, tag), 0);
    CU_ASSERT_EQUAL_FATAL(seed_newer_tables(pb.slug, pb.id, tag), 0);
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
        const struct itest_subst subs[] = {{"{tag}", tag}, {NULL, NULL}};
        itest_expand(views[i].where, subs, where, sizeof(where));
        snprintf(sql, sizeof(sql), "select count(*) from %s where %s", views[i].view, where);
        if (strcmp(scalar(&viewer, sql, out, sizeof(out)), "1") != 0)
            fprintf(stderr, "\n  A's viewer, %s: %s", sql, out);
        CU_ASSERT_STRING_EQUAL(out, "1");
        CU_ASSERT_STRING_EQUAL(scalar(&tread_b, sql, out, sizeof(out)), "1");
        CU_ASSERT_STRING_EQUAL(scalar(&adm, sql, out, sizeof(out)), "2");
        /* Only the caller's project, whatever the WHERE asks. */
        snprintf(sql, sizeof(sql), "select count(*) from %s where project_id = %lld and %s",
                 views[i].view, pb.id, where);
        CU_ASSERT_STRING_EQUAL(scalar(&viewer, sql, out, sizeof(out)), "0");
    }
}

static void test_query_cannot_escape(void)
{
    /* No public tables, by name or by schema. */
    expect_refused(&viewer, "select * from users", 400, "query_error");
    expect_refused(&viewer, "select password_hash from public.users", 403, "permission_denied");
    expect_refused(&viewer, "select * from public.sessions", 403, "permission_denied");
    expect_refused(&viewer, "select token_hash from public.api_tokens", 403, "permission_denied");
    expect_refused(&viewer, "select * from public.runs", 403, "permission_denied");
    expect_refused(&viewer, "select * from pg_catalog.pg_authid", 403, "permission_denied");
    expect_refused(&viewer, "select k from public.report_secret", 403, "permission_denied");
    expect_refused(&viewer, "select public.report_grant(1, true, null, null, pg_backend_pid())",
                   403, "permission_denied");
    /* Functions that run SQL run it as the report role too. */
    expect_refused(&viewer, "select query_to_xml('select * from public.users', true, true, '')",
                   403, "permission_denied");
    /* No writes of any kind: anything but a query is refused before it runs, and the
     * read-only transaction stays under it. */
    expect_refused(&viewer, "insert into runs (project_id, kind) values (1, 'x')", 422,
                   "not_a_query");
    expect_refused(&viewer, "update runs set kind = 'x'", 422, "not_a_query");
    expect_refused(&viewer, "delete from runs", 422, "not_a_query");
    expect_refused(&viewer, "with d as (delete from runs returning id) select count(*) from d", 422,
                   "not_a_query");
    expect_refused(&viewer, "create table report.t (x int)", 422, "not_a_query");
    expect_refused(&viewer, "create temporary table t (x int)", 422, "not_a_query");
    expect_refused(&viewer, "copy (select 1) to stdout", 422, "not_a_query");
    expect_refused(&viewer, "copy runs from stdin", 422, "not_a_query");
    expect_refused(&viewer, "do $$ begin delete from runs; end $$", 422, "not_a_query");
    expect_refused(&viewer, "select set_config('transaction_read_only', 'off', false)", 400,
                   "query_error");
    /* The application's role cannot be taken back: not by SET, not inside a query. */
    expect_refused(&viewer, "set role runwatch", 422, "not_a_query");
    expect_refused(&viewer,
                   "select set_config('role', 'runwatch', true), query_to_xml('select "
                   "password_hash from public.users', true, true, '')",
                   403, "permission_denied");
    expect_refused(&viewer, "set session authorization runwatch", 422, "not_a_query");
    /* One statement per request, refused by the server's extended protocol. */
    expect_refused(&viewer, "select 1; select 2", 400, "multiple_statements");
    expect_refused(&viewer, "select 1; delete from runs", 400, "multiple_statements");
}

static void test_query_bounds(void)
{
    struct http_resp r;

    /* Time: the statement timeout cancels it, also when the statement switches it off. */
    expect_refused(&viewer, "select pg_sleep(30)", 422, "query_timeout");
    expect_refused(&viewer, "select set_config('statement_timeout', '0', true), pg_sleep(30)", 422,
                   "query_timeout");
    /* Memory: a result of 10^12 rows stops at the cap, read one row at a time. */
    CU_ASSERT_EQUAL_FATAL(query(&viewer,
                                "select a.x, b.y from generate_series(1, 1000000) a(x), "
                                "generate_series(1, 1000000) b(y)",
                                NULL, &r),
                          0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "row_count"), 10000);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "rows"), 10000);
    CU_ASSERT_TRUE(json_object_get_boolean(itest_jget(r.json, "truncated")));
    http_resp_free(&r);
    /* One value past the byte cap (16 MiB) is never copied: 3 MB of chr(1) escapes to 18
     * MB of JSON. The answer is cut before that row, not grown to hold it. */
    CU_ASSERT_EQUAL_FATAL(
        query(&viewer,
              "select 1 as n union all select 2 union all select length(repeat(chr(1), "
              "3000000) || '') union all select 4",
              NULL, &r),
        0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "row_count"), 4);
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(query(&viewer,
                                "select g, case when g = 3 then repeat(chr(1), 3000000) end as big "
                                "from generate_series(1, 5) g",
                                NULL, &r),
                          0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(itest_jint(r.json, "row_count"), 2);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "rows"), 2);
    CU_ASSERT_TRUE(json_object_get_boolean(itest_jget(r.json, "truncated")));
    CU_ASSERT_TRUE(r.len < 4096);
    http_resp_free(&r);
    /* And a result that must be materialised first hits the server's temp-file limit
     * (wide rows: 256 MB is written after some 30,000 of them, with little work per byte,
     * so the limit comes well before the timeout even on a busy machine). */
    expect_refused(&viewer,
                   "select g, repeat('x', 8000) as pad from generate_series(1, 100000000) g "
                   "order by g desc",
                   422, "resource_limit");
    /* The connection is fine afterwards. */
    CU_ASSERT_EQUAL_FATAL(query(&viewer, "select 1 as one, 'a,b' as t, null as n", NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "columns.0.name")), "one");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "columns.0.type")), "int4");
    CU_ASSERT_EQUAL(itest_jint(r.json, "rows.0.0"), 1);
    CU_ASSERT_TRUE(itest_jnull(r.json, "rows.0.2"));
    CU_ASSERT_FALSE(json_object_get_boolean(itest_jget(r.json, "truncated")));
    /* The test stack's ad-hoc SQL reads the primary: no replica lag (tests/scale has one). */
    CU_ASSERT_TRUE(itest_jnull(r.json, "replica_lag_s"));
    http_resp_free(&r);

    /* Validation of the request itself. */
    char field[64];
    CU_ASSERT_EQUAL(status_of(&viewer, "POST", "/api/v1/reports/query", "{}", field, sizeof(field)),
                    400);
    CU_ASSERT_STRING_EQUAL(field, "sql");
    CU_ASSERT_EQUAL(status_of(&viewer, "POST", "/api/v1/reports/query",
                              "{\"sql\":\"select 1\",\"limit\":5}", field, sizeof(field)),
                    400);
    CU_ASSERT_STRING_EQUAL(field, "limit");
    CU_ASSERT_EQUAL(status_of(&viewer, "POST", "/api/v1/reports/query?format=xml",
                              "{\"sql\":\"select 1\"}", field, sizeof(field)),
                    400);
    CU_ASSERT_STRING_EQUAL(field, "format");
    expect_refused(&viewer, "select from_nowhere(", 400, "query_error");
}

static void test_query_csv(void)
{
    static const char *const csv[] = {"Accept: text/csv", NULL};
    struct http_resp r;
    char ct[128];

    CU_ASSERT_EQUAL_FATAL(api_req(&viewer, "POST", "/api/v1/reports/query",
                                  "{\"sql\":\"select 1 as a, 'x,\\\"y\\\"' as b, null as c\"}", 0,
                                  csv, &r),
                          0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(http_header(&r, "Content-Type", ct, sizeof(ct)));
    CU_ASSERT_TRUE(strncmp(ct, "text/csv", 8) == 0);
    CU_ASSERT_STRING_EQUAL(S(r.body), "a,b,c\r\n1,\"x,\"\"y\"\"\",\r\n");
    http_resp_free(&r);
    /* Text a spreadsheet would run as a formula is neutralised; numbers keep their sign. */
    CU_ASSERT_EQUAL_FATAL(
        api_req(&viewer, "POST", "/api/v1/reports/query",
                "{\"sql\":\"select -5 as n, -1.5::float8 as f, '=HYPERLINK(\\\"x\\\")' as a, "
                "'+1' as b, '@SUM(A1)' as c, '-2' as d, 'plain' as e\"}",
                0, csv, &r),
        0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(S(r.body), "n,f,a,b,c,d,e\r\n-5,-1.5,\"'=HYPERLINK(\"\"x\"\")\",\"'+1\","
                                      "\"'@SUM(A1)\",\"'-2\",plain\r\n");
    http_resp_free(&r);
    CU_ASSERT_EQUAL_FATAL(api_req(&viewer, "POST", "/api/v1/reports/query?format=csv",
                                  "{\"sql\":\"select g from generate_series(1, 20000) g\"}", 0,
                                  NULL, &r),
                          0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(S(http_header(&r, "X-Runwatch-Truncated", ct, sizeof(ct))), "true");
    http_resp_free(&r);
}

/* ---- concurrency caps ---- */

struct held_query {
    const struct ident *who;
    const char *sql;
    long status;
};

/* Runs the held query, asking again while refused with 429 (a cap, or the worker busy with
 * another query: nginx may pick it), for up to a minute: the query must run. */
static void *held_query_retry(void *arg)
{
    struct held_query *q = arg;
    for (int i = 0; i < 6000; i++) {
        struct http_resp r;
        q->status = query(q->who, q->sql, NULL, &r) == 0 ? r.status : -1;
        http_resp_free(&r);
        if (q->status != 429)
            break;
        itest_sleep_ms(10);
    }
    return NULL;
}

/* runwatch_report_queries_running from nginx's /metrics, or -1. */
static long reports_running(void)
{
    struct http_resp r;
    long v = -1;
    const char *name = "\nrunwatch_report_queries_running ";
    if (itest_scrape(&r) == 0 && r.status == 200 && r.body) {
        const char *p = strstr(r.body, name);
        if (p)
            v = strtol(p + strlen(name), NULL, 10);
    }
    http_resp_free(&r);
    return v;
}

/* Slow ad-hoc queries hold at most RUNWATCH_REPORT_CONCURRENCY seats (the test stack's
 * 2, tests/integration/run.sh); more get 429 at once, and producers' writes and /healthz
 * go on while the seats are full. No clock is asserted: the caps are seen full before and
 * after the writes (a held query cannot end and be replaced in between: each is one
 * request), and a round where a held query ended too early is tried again, longer. */
static void test_query_caps(void)
{
    struct ident tok;
    char run[40], code[64];
    int proved = 0;

    CU_ASSERT_EQUAL_FATAL(itest_new_token(&adm, pa.slug, "[\"write\"]", NULL, &tok), 201);
    struct itest_run spec = {.project = pa.slug, .kind = "caps", .status = "running"};
    CU_ASSERT_EQUAL_FATAL(itest_make_run(&adm, &spec, run, sizeof(run)), 201);
    for (int round = 0; round < 3 && !proved; round++) {
        const char *sql = round == 0 ? "select pg_sleep(2)" : "select pg_sleep(4.5)";
        struct held_query held = {.who = &viewer, .sql = sql},
                          held_b = {.who = &viewer_b, .sql = sql};
        pthread_t t, tb;
        int writes_ok = 0, health_ok = 0;
        long before = -1;

        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, held_query_retry, &held), 0);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tb, NULL, held_query_retry, &held_b), 0);
        for (int i = 0; i < 3000 && (before = reports_running()) < 2; i++)
            itest_sleep_ms(10);
        /* Full: another user's query is refused at once, with the API's error shape. */
        long st = status_of(&member, "POST", "/api/v1/reports/query", "{\"sql\":\"select 1\"}",
                            code, sizeof(code));
        /* Producers and health are not starved meanwhile. */
        for (int i = 0; i < 10; i++) {
            struct http_resp r;
            writes_ok += itest_run_op(&tok, "POST", run, "/events", "{\"message\":\"while full\"}",
                                      &r) == 201;
            http_resp_free(&r);
        }
        {
            struct http_resp r;
            health_ok = http_get("/api/v1/healthz", &r) == 0 && r.status == 200;
            http_resp_free(&r);
        }
        long after =
            status_of(&member, "POST", "/api/v1/reports/query", "{\"sql\":\"select 1\"}", NULL, 0);
        pthread_join(t, NULL);
        pthread_join(tb, NULL);
        CU_ASSERT_EQUAL(held.status, 200);
        CU_ASSERT_EQUAL(held_b.status, 200);
        CU_ASSERT_EQUAL(writes_ok, 10);
        CU_ASSERT_TRUE(health_ok);
        if (before >= 2 && st == 429 && after == 429) {
            proved = 1;
        } else {
            fprintf(stderr, "\n  round %d not conclusive: running %ld, refused %ld/%ld (%s)", round,
                    before, st, after, code);
        }
    }
    CU_ASSERT_TRUE(proved);
    /* Seats are given back: the next query runs, and none is left held. */
    char one[16];
    CU_ASSERT_STRING_EQUAL(scalar(&member, "select 1", one, sizeof(one)), "1");
    CU_ASSERT_EQUAL(reports_running(), 0);
}

/* A report connection the server ended (pg_terminate_backend, a restart) is noticed and
 * replaced before the next query is signed for it: every query after the kill answers
 * 200, none 503. Each worker holds its own, so several queries reach them all. */
static void test_query_after_kill(void)
{
    char killed[512] = "", one[16];
    int n = 0, alive = 1;

    for (int i = 0; i < 6; i++)
        CU_ASSERT_STRING_EQUAL(scalar(&viewer, "select 1", one, sizeof(one)), "1");
    CU_ASSERT_EQUAL_FATAL(itest_psql_admin("select string_agg(pid::text, ' ') from (select pid, "
                                           "pg_terminate_backend(pid) as t from pg_stat_activity "
                                           "where application_name = 'runwatch-report') a where t",
                                           killed, sizeof(killed)),
                          0);
    /* The backends' goodbye reaches the sockets once they have exited: waited for (a
     * terminated backend may take its time on a busy machine), not slept on. */
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0;
         alive && itest_now_s() < deadline; itest_sleep_ms(alive ? 50 : 0)) {
        char *p = killed, *end;
        n = 0;
        alive = 0;
        for (long pid; (pid = strtol(p, &end, 10)) > 0; p = end, n++)
            alive |= !(kill((pid_t)pid, 0) == -1 && errno == ESRCH);
    }
    CU_ASSERT_TRUE(n >= 1);
    CU_ASSERT_FALSE(alive);
    for (int i = 0; i < 6; i++) {
        struct http_resp r;
        CU_ASSERT_EQUAL(query(&viewer, "select 1", NULL, &r), 0);
        CU_ASSERT_EQUAL(r.status, 200);
        if (r.status != 200)
            fprintf(stderr, "\n  query %d after the kill: %ld %s", i, r.status, S(r.body));
        http_resp_free(&r);
    }
}

/* ---- one tenant's SQL against another's ---- */

struct look {
    const struct ident *who;
    const char *sql;
    struct http_resp r;
    int rc;
};

static void *look_run(void *arg)
{
    struct look *l = arg;
    l->rc = query(l->who, l->sql, NULL, &l->r);
    return NULL;
}

/* who's statement, sent three at a time until one is not refused with 429: nginx hands
 * a request to the connection it used last, which may be the worker busy with the query
 * under test (that refuses a second one), so a single sender could wait for it to end.
 * The answer must be status and code and must not hold `secret`. */
static void expect_refused_past_caps(const struct ident *who, const char *sql, long status,
                                     const char *code, const char *secret)
{
    enum { N = 3 };
    struct look l[N];
    int got = -1;

    for (int i = 0; i < 2000 && got < 0; i++) {
        pthread_t t[N];
        int started[N] = {0};
        for (int k = 0; k < N; k++) {
            l[k] = (struct look){.who = who, .sql = sql, .rc = -1};
            started[k] = pthread_create(&t[k], NULL, look_run, &l[k]) == 0;
        }
        for (int k = 0; k < N; k++) {
            if (started[k])
                pthread_join(t[k], NULL);
            if (got < 0 && l[k].rc == 0 && l[k].r.status != 429)
                got = k;
        }
        for (int k = 0; k < N; k++)
            if (k != got)
                http_resp_free(&l[k].r);
        if (got < 0)
            itest_sleep_ms(10);
    }
    CU_ASSERT_TRUE_FATAL(got >= 0);
    struct http_resp *r = &l[got].r;
    if (r->status != status || strcmp(S(http_error_code(r)), code) != 0)
        fprintf(stderr, "\n  %s: %ld %s", sql, r->status, S(r->body));
    CU_ASSERT_EQUAL(r->status, status);
    CU_ASSERT_STRING_EQUAL(S(http_error_code(r)), code);
    CU_ASSERT_PTR_NULL(secret && r->body ? strstr(r->body, secret) : NULL);
    http_resp_free(r);
}

/* Every tenant's SQL runs as one login, and PostgreSQL shows a role the query texts of
 * its other backends and lets it signal them. While a query of project A's viewer runs
 * (a secret literal in it), project B's viewer can neither read its text nor cancel or
 * end it: the statistics views and functions and the signals are not the report login's
 * (sql/setup/report_confine.sql). A's query then answers normally. */
static void test_query_other_tenants_queries(void)
{
    char tag[64], sql[256], look[320], pid[32] = "", b[256];
    struct held_query held = {.who = &viewer, .sql = sql};
    pthread_t t;

    itest_unique("rw-secret", tag, sizeof(tag));
    snprintf(sql, sizeof(sql), "select pg_sleep(4.5), '%s' as secret", tag);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, held_query_retry, &held), 0);
    /* Until A's query runs (as the superuser sees it). */
    snprintf(look, sizeof(look),
             "select pid from pg_stat_activity where query like '%%%s%%' and state = 'active' "
             "and pid <> pg_backend_pid()",
             tag);
    for (int i = 0; i < 3000 && !pid[0]; i++) {
        if (itest_psql_admin(look, pid, sizeof(pid)) != 0)
            pid[0] = '\0';
        if (!pid[0])
            itest_sleep_ms(10);
    }
    CU_ASSERT_TRUE(pid[0] != '\0');
    if (pid[0]) {
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(b, sizeof(b), "select pid, query from pg_stat_activity where query like '%%%s%%'",
                 tag);
        expect_refused_past_caps(&viewer_b, b, 403, "permission_denied", tag);
        expect_refused_past_caps(
            &viewer_b, "select pg_stat_get_backend_activity(s) from pg_stat_get_backend_idset() s",
            403, "permission_denied", tag);
        snprintf(b, sizeof(b), "select pg_cancel_backend(%s)", pid);
        expect_refused_past_caps(&viewer_b, b, 403, "permission_denied", NULL);
        snprintf(b, sizeof(b), "select pg_terminate_backend(%s)", pid);
        expect_refused_past_caps(&viewer_b, b, 403, "permission_denied", NULL);
        /* Said, not asserted (no clock in tests): the looks came while A's query ran. */
        snprintf(look, sizeof(look),
                 "select count(*) from pg_stat_activity where pid = %s and state = 'active'", pid);
        if (itest_psql_admin(look, b, sizeof(b)) == 0 && atoi(b) != 1)
            fprintf(stderr, "\n  A's query had ended before B's last look");
    }
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(held.status, 200);
}

/* EXPLAIN counts rows before the views' project filter ("Rows Removed by Filter: 1"
 * says another project's run exists) and estimates from every tenant's rows: nothing but
 * a query runs, however it is dressed, and the answer for another project's run id is
 * the answer for an id nobody has. */
/* tmpl with its one "%s" replaced by id, into out. */
static const char *with_id(const char *tmpl, const char *id, char *out, size_t cap)
{
    const char *at = strstr(tmpl, "%s");
    if (!at)
        snprintf(out, cap, "%s", tmpl);
    else
        snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, id, at + 2);
    return out;
}

static void test_query_no_explain(void)
{
    static const char *const refused[] = {
        "explain analyze select * from runs where id = '%s'",
        "EXPLAIN (ANALYZE, FORMAT JSON) select * from runs where id = '%s'",
        "/* a comment */ Explain\n\tAnalyze select * from runs where id = '%s'",
        "-- a line\n  explain (costs off) select * from runs where id = '%s'",
        "explain select * from runs where id = '%s'",
        "explain analyze execute p('%s')",
    };
    static const char *const broken[] = {
        "(explain analyze select * from runs where id = '%s')",
        "with x as (select 1) explain analyze select * from runs where id = '%s'",
        "select 1; explain analyze select * from runs where id = '%s'",
        "select query_to_xml('explain analyze select * from runs where id = ''%s''', true, "
        "false, '')",
    };
    char kind[64], id[64], sql[400], out[64];
    struct http_resp r, none;

    itest_unique("explain", kind, sizeof(kind));
    CU_ASSERT_EQUAL_FATAL(run_with(pb.slug, kind, "succeeded", NULL, id, sizeof(id)), 0);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        with_id(refused[i], id, sql, sizeof(sql));
        CU_ASSERT_EQUAL_FATAL(query(&viewer, sql, NULL, &r), 0);
        with_id(refused[i], "00000000-0000-4000-8000-000000000000", sql, sizeof(sql));
        CU_ASSERT_EQUAL_FATAL(query(&viewer, sql, NULL, &none), 0);
        if (r.status != 422)
            fprintf(stderr, "\n  %s: %ld %s", refused[i], r.status, S(r.body));
        CU_ASSERT_EQUAL(r.status, 422);
        CU_ASSERT_STRING_EQUAL(S(http_error_code(&r)), "not_a_query");
        CU_ASSERT_STRING_EQUAL(S(r.body), S(none.body));
        http_resp_free(&r);
        http_resp_free(&none);
    }
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        with_id(broken[i], id, sql, sizeof(sql));
        CU_ASSERT_EQUAL_FATAL(query(&viewer, sql, NULL, &r), 0);
        if (r.status < 400 || (r.body && strstr(r.body, "Removed")))
            fprintf(stderr, "\n  %s: %ld %s", broken[i], r.status, S(r.body));
        CU_ASSERT_TRUE(r.status >= 400 && r.status < 500);
        CU_ASSERT_PTR_NULL(r.body ? strstr(r.body, "Removed") : NULL);
        http_resp_free(&r);
    }
    /* Queries in every dress still run. */
    CU_ASSERT_STRING_EQUAL(scalar(&viewer,
                                  "/* c */ (with x as (select 1 as n) select n from x) union all "
                                  "(values (2)) -- the end",
                                  out, sizeof(out)),
                           "1");
    CU_ASSERT_STRING_EQUAL(scalar(&viewer, "  SELECT 3;  ", out, sizeof(out)), "3");
    snprintf(sql, sizeof(sql), "select count(*) from (table projects) p where p.slug = '%s'",
             pa.slug);
    CU_ASSERT_STRING_EQUAL(scalar(&viewer, sql, out, sizeof(out)), "1");
}

/* Instance-wide statistics are not the report login's: row counts, sizes, activity and
 * locks of every tenant. The catalogue of what it may query stays readable (the
 * dashboard lists the schema from it). */
static void test_query_no_statistics(void)
{
    static const char *const refused[] = {
        "select relname, n_live_tup from pg_stat_user_tables",
        "select * from pg_stat_all_tables",
        "select * from pg_statio_user_tables",
        "select * from pg_stat_database",
        "select * from pg_stats",
        "select * from pg_locks",
        "select reltuples, relpages from pg_class where relname = 'runs'",
        "select pg_stat_get_live_tuples(c.oid) from pg_class c where c.relname = 'runs'",
        "select pg_relation_size(c.oid) from pg_class c where c.relname = 'runs'",
        "select pg_database_size(current_database())",
        "select txid_current_snapshot()",
        "select pg_current_wal_lsn()",
    };
    char out[64];

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        expect_refused(&viewer, refused[i], 403, "permission_denied");
    CU_ASSERT_STRING_EQUAL(scalar(&viewer,
                                  "select relname from pg_class where relname = 'runs' limit 1",
                                  out, sizeof(out)),
                           "runs");
    CU_ASSERT_TRUE(atoi(scalar(&viewer,
                               "select count(*) from information_schema.columns where "
                               "table_schema = 'report' and table_name = 'runs'",
                               out, sizeof(out))) > 10);
    CU_ASSERT_STRING_EQUAL(scalar(&viewer,
                                  "select p.proname from pg_catalog.pg_proc p join "
                                  "pg_catalog.pg_namespace n on n.oid = p.pronamespace where "
                                  "n.nspname = 'report' and p.proname = 'throughput'",
                                  out, sizeof(out)),
                           "throughput");
}

/* The rollup folder's lock, housekeeping leadership and the wait slots of POST
 * /runs/wait are advisory locks: a report can take none of them, nor call the folder. */
static void test_query_no_locks(void)
{
    static const char *const refused[] = {
        "select pg_try_advisory_xact_lock(hashtext('runwatch.rollup_fold'))",
        "select pg_advisory_xact_lock(hashtext('runwatch.rollup_fold'))",
        "select pg_try_advisory_lock(1920165473, 1)",
        "select pg_advisory_lock_shared(7243002)",
        "select public.rollup_fold(1)",
    };
    char out[64];

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        expect_refused(&viewer, refused[i], 403, "permission_denied");
    /* None is held afterwards by a report connection. */
    CU_ASSERT_EQUAL(itest_psql_admin("select count(*) from pg_locks l join pg_stat_activity a "
                                     "on a.pid = l.pid where l.locktype = 'advisory' and "
                                     "a.application_name = 'runwatch-report'",
                                     out, sizeof(out)),
                    0);
    CU_ASSERT_EQUAL(atoi(out), 0);
}

/* POST /runs/wait works while the report caps are full, also when the first of the
 * queries filling them tries to take every wait slot (a session advisory lock each)
 * before it sleeps. No clock is asserted: the caps are seen full before and after the
 * waits, and a round where a held query ended too early is tried again, longer. */
static void test_wait_while_caps_full(void)
{
    char queued[64], done[64], grab[300], hold[64], body[200];
    int proved = 0;

    CU_ASSERT_EQUAL_FATAL(run_with(pa.slug, "capwait", "queued", NULL, queued, sizeof(queued)), 0);
    CU_ASSERT_EQUAL_FATAL(run_with(pa.slug, "capwait", "succeeded", NULL, done, sizeof(done)), 0);
    for (int round = 0; round < 3 && !proved; round++) {
        const char *nap = round == 0 ? "2" : "4.5";
        struct held_query g = {.who = &member, .sql = grab}, h1 = {.who = &viewer, .sql = hold},
                          h2 = {.who = &viewer_b, .sql = hold};
        pthread_t tg, t1, t2;
        long before = -1, st, after, w_done, w_queued;
        char code[64] = "";

        snprintf(grab, sizeof(grab),
                 "select pg_try_advisory_lock(1920165473, g), pg_sleep(case when g = 64 then %s "
                 "else 0 end) from generate_series(1, 64) g",
                 nap);
        snprintf(hold, sizeof(hold), "select pg_sleep(%s)", nap);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tg, NULL, held_query_retry, &g), 0);
        /* The grabber first: until it was answered (refused) or holds a seat. */
        for (int i = 0; i < 3000 && g.status == 0 && reports_running() < 1; i++)
            itest_sleep_ms(10);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t1, NULL, held_query_retry, &h1), 0);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t2, NULL, held_query_retry, &h2), 0);
        for (int i = 0; i < 3000 && (before = reports_running()) < 2; i++)
            itest_sleep_ms(10);
        st = status_of(&adm, "POST", "/api/v1/reports/query", "{\"sql\":\"select 1\"}", NULL, 0);
        snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"timeout_s\":1}", done);
        w_done = status_of(&viewer, "POST", "/api/v1/runs/wait", body, code, sizeof(code));
        snprintf(body, sizeof(body), "{\"ids\":[\"%s\"],\"timeout_s\":1}", queued);
        w_queued = status_of(&viewer, "POST", "/api/v1/runs/wait", body, code, sizeof(code));
        after = status_of(&adm, "POST", "/api/v1/reports/query", "{\"sql\":\"select 1\"}", NULL, 0);
        pthread_join(tg, NULL);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        if (w_done != 200 || w_queued != 200)
            fprintf(stderr, "\n  round %d: waits answered %ld, %ld (%s); the grabber %ld", round,
                    w_done, w_queued, code, g.status);
        CU_ASSERT_EQUAL(w_done, 200);
        CU_ASSERT_EQUAL(w_queued, 200);
        CU_ASSERT_EQUAL(g.status, 403);
        if (before >= 2 && st == 429 && after == 429)
            proved = 1;
        else
            fprintf(stderr, "\n  round %d not conclusive: running %ld, refused %ld/%ld", round,
                    before, st, after);
    }
    CU_ASSERT_TRUE(proved);
}

/* ---- saved reports ---- */

static void test_saved_reports(void)
{
    char name[64], body[600], path[200], ct[128];
    struct http_resp r;
    long long id;

    itest_unique("weekly", name, sizeof(name));
    snprintf(
        body, sizeof(body),
        "{\"project\":\"%s\",\"name\":\"%s\",\"sql\":\"select status, count(*) from runs "
        "group by 1 order by 1\",\"chart\":{\"type\":\"bar\",\"x\":\"status\",\"y\":[\"count\"]}}",
        pa.slug, name);
    CU_ASSERT_EQUAL_FATAL(api_call(&member, "POST", "/api/v1/reports/saved", body, &r), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, 201);
    id = http_json_int(&r, "id");
    CU_ASSERT_EQUAL(http_json_int(&r, "owner_id"), member.user_id);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "chart.type")), "bar");
    http_resp_free(&r);
    /* The same name again is a conflict on name. */
    char field[64];
    CU_ASSERT_EQUAL(status_of(&member, "POST", "/api/v1/reports/saved", body, field, sizeof(field)),
                    409);
    CU_ASSERT_STRING_EQUAL(field, "name");
    /* Listed for A's viewer, not for B's. */
    CU_ASSERT_EQUAL(api_call(&viewer, "GET", "/api/v1/reports/saved", NULL, &r), 0);
    CU_ASSERT_TRUE(strstr(S(r.body), name) != NULL);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(api_call(&viewer_b, "GET", "/api/v1/reports/saved", NULL, &r), 0);
    CU_ASSERT_TRUE(strstr(S(r.body), name) == NULL);
    http_resp_free(&r);
    /* The owner changes it; a viewer may not. */
    snprintf(path, sizeof(path), "/api/v1/reports/saved/%lld", id);
    CU_ASSERT_EQUAL(status_of(&viewer, "PATCH", path, "{\"name\":\"mine now\"}", NULL, 0), 403);
    CU_ASSERT_EQUAL(api_call(&member, "PATCH", path,
                             "{\"sql\":\"select count(*) as n from runs\",\"chart\":{\"type\":"
                             "\"table\"}}",
                             &r),
                    0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "name")), name);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "sql")), "select count(*) as n from runs");
    http_resp_free(&r);
    /* Run by the viewer (JSON and CSV); B's viewer cannot. */
    snprintf(path, sizeof(path), "/api/v1/reports/saved/%lld/run", id);
    CU_ASSERT_EQUAL(api_call(&viewer, "POST", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "columns.0.name")), "n");
    CU_ASSERT_TRUE(itest_jint(r.json, "rows.0.0") >= 1);
    http_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/reports/saved/%lld/run?format=csv", id);
    CU_ASSERT_EQUAL(api_call(&viewer, "POST", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(strncmp(S(r.body), "n\r\n", 3) == 0);
    CU_ASSERT_TRUE(strncmp(S(http_header(&r, "Content-Type", ct, sizeof(ct))), "text/csv", 8) == 0);
    http_resp_free(&r);
    CU_ASSERT_EQUAL(status_of(&viewer_b, "POST", path, NULL, NULL, 0), 404);
    /* Bad charts and fields. */
    snprintf(
        body, sizeof(body),
        "{\"project\":\"%s\",\"name\":\"x\",\"sql\":\"select 1\",\"chart\":{\"type\":\"pie\"}}",
        pa.slug);
    CU_ASSERT_EQUAL(status_of(&member, "POST", "/api/v1/reports/saved", body, field, sizeof(field)),
                    400);
    CU_ASSERT_STRING_EQUAL(field, "chart.type");
    snprintf(body, sizeof(body),
             "{\"project\":\"%s\",\"name\":\"x\",\"sql\":\"select 1\",\"chart\":{\"type\":\"line\","
             "\"y\":[1]}}",
             pa.slug);
    CU_ASSERT_EQUAL(status_of(&member, "POST", "/api/v1/reports/saved", body, field, sizeof(field)),
                    400);
    CU_ASSERT_STRING_EQUAL(field, "chart.y");
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"\",\"sql\":\"select 1\"}",
             pa.slug);
    CU_ASSERT_EQUAL(status_of(&member, "POST", "/api/v1/reports/saved", body, field, sizeof(field)),
                    400);
    CU_ASSERT_STRING_EQUAL(field, "name");
    /* Delete: the owner may; then it is gone. */
    snprintf(path, sizeof(path), "/api/v1/reports/saved/%lld", id);
    CU_ASSERT_EQUAL(status_of(&viewer, "DELETE", path, NULL, NULL, 0), 403);
    CU_ASSERT_EQUAL(status_of(&member, "DELETE", path, NULL, NULL, 0), 204);
    CU_ASSERT_EQUAL(status_of(&member, "GET", path, NULL, NULL, 0), 404);
}

/* ---- rollups (migration 0009) ---- */

/* Compares the built-in report functions with the same reports computed from the runs
 * (0007's definitions, percentile_cont for the percentiles), over windows with ragged
 * ends, buckets that are and are not whole hours, and a window inside one hour, all in
 * the transaction of one psql call. Prints the mismatches of throughput, failure rate,
 * durations and queue wait as "a|b|c|d" (and to stderr unless quiet); tol is the
 * relative error allowed a percentile. */
static int rollup_mismatches(long long project, const char *tol, int quiet, char *out, size_t cap)
{
    char sql[8192];
    snprintf(
        sql, sizeof(sql),
        "DO $$ BEGIN PERFORM set_config('runwatch.grant', report_grant(NULL, true, NULL, %lld, "
        "pg_backend_pid()), true); PERFORM set_config('rwtest.p', '%lld', true); END $$;"
        "WITH w(f, t, b) AS (VALUES (now() - interval '7 days', now(), interval '1 hour'),"
        " (now() - interval '3 days 7 minutes', now() - interval '5 hours 3 minutes', interval "
        "'6 hours'), (now() - interval '6 days', now() + interval '1 day', interval '1 day'),"
        " (date_bin('1 hour', now(), '2000-01-03') - interval '50 minutes', date_bin('1 hour',"
        " now(), '2000-01-03') - interval '10 minutes', interval '1 hour'),"
        " (now() - interval '7 days', now(), interval '15 minutes')),"
        " p AS (SELECT current_setting('rwtest.p')::bigint AS id),"
        " r AS (SELECT r.*, extract(epoch FROM r.ended_at - r.started_at)::float8 AS d,"
        " greatest(0, extract(epoch FROM r.started_at - coalesce(r.queued_at,"
        " r.created_at)))::float8 AS q FROM runs r, p WHERE r.project_id = p.id),"
        " tn AS (SELECT w.f, w.t, w.b, x.* FROM w, report.throughput(w.f, w.t, w.b, true, true, "
        "true, true) x),"
        " tr AS (SELECT w.f, w.t, w.b, x.bk, x.project_id, x.kind, x.queue, x.status, "
        "sum(x.s)::bigint, sum(x.e)::bigint FROM w, LATERAL (SELECT date_bin(w.b, r.started_at, "
        "'2000-01-03') AS bk, r.project_id, r.kind, r.queue, r.status, 1 AS s, 0 AS e FROM r "
        "WHERE r.started_at >= w.f AND r.started_at < w.t UNION ALL SELECT date_bin(w.b, "
        "r.ended_at, '2000-01-03'), r.project_id, r.kind, r.queue, r.status, 0, 1 FROM r WHERE "
        "r.ended_at >= w.f AND r.ended_at < w.t) x GROUP BY 1, 2, 3, 4, 5, 6, 7, 8),"
        " fn AS (SELECT w.f, w.t, w.b, x.* FROM w, report.failure_rate(w.f, w.t, w.b, true, "
        "true, false) x),"
        " fr AS (SELECT w.f, w.t, w.b, date_bin(w.b, r.ended_at, '2000-01-03'), r.project_id, "
        "r.kind, NULL::bigint, count(*), count(*) FILTER (WHERE r.status = 'failed'), (count(*) "
        "FILTER (WHERE r.status = 'failed'))::float8 / count(*) FROM w, r WHERE r.ended_at >= "
        "w.f AND r.ended_at < w.t AND r.status IN ('succeeded', 'failed', 'cancelled') GROUP BY "
        "1, 2, 3, 4, 5, 6),"
        " dn AS (SELECT w.f, w.t, w.b, x.kind AS k, x.runs, x.p50_s AS p50, x.p90_s AS p90, "
        "x.p99_s "
        "AS p99, x.max_s AS mx FROM w, report.durations(w.f, w.t, true, true, false) x),"
        " dr AS (SELECT w.f, w.t, w.b, r.kind AS k, count(*) AS runs, percentile_cont(0.5) WITHIN "
        "GROUP (ORDER BY r.d) AS p50, percentile_cont(0.9) WITHIN GROUP (ORDER BY r.d) AS p90, "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY r.d) AS p99, max(r.d) AS mx FROM w, r "
        "WHERE r.ended_at >= w.f AND r.ended_at < w.t AND r.started_at IS NOT NULL GROUP BY 1, "
        "2, 3, 4),"
        " qn AS (SELECT w.f, w.t, w.b, x.queue || '/' || x.kind AS k, x.runs, x.p50_s AS p50, "
        "x.p90_s AS p90, x.p99_s AS p99, x.max_s AS mx FROM w, report.queue_wait(w.f, w.t, true, "
        "true, true) x),"
        " qr AS (SELECT w.f, w.t, w.b, r.queue || '/' || r.kind AS k, count(*) AS runs, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY r.q) AS p50, percentile_cont(0.9) WITHIN "
        "GROUP (ORDER BY r.q) AS p90, percentile_cont(0.99) WITHIN GROUP (ORDER BY r.q) AS p99, "
        "max(r.q) AS mx FROM w, r WHERE r.started_at >= w.f AND r.started_at < w.t GROUP BY 1, "
        "2, 3, 4)"
        " SELECT (SELECT count(*) FROM ((TABLE tn EXCEPT ALL TABLE tr) UNION ALL (TABLE tr "
        "EXCEPT ALL TABLE tn)) m) || '|' || (SELECT count(*) FROM ((TABLE fn EXCEPT ALL TABLE "
        "fr) UNION ALL (TABLE fr EXCEPT ALL TABLE fn)) m) || '|' || (SELECT count(*) FROM dn FULL "
        "JOIN dr USING (f, t, b, k) WHERE dn.runs IS DISTINCT FROM dr.runs OR dn.mx IS DISTINCT "
        "FROM dr.mx OR NOT abs(dn.p50 - dr.p50) <= %s * abs(dr.p50) + 1e-9 OR NOT abs(dn.p90 - "
        "dr.p90) <= %s * abs(dr.p90) + 1e-9 OR NOT abs(dn.p99 - dr.p99) <= %s * abs(dr.p99) + "
        "1e-9) || '|' || (SELECT count(*) FROM qn FULL JOIN qr USING (f, t, b, k) WHERE qn.runs IS "
        "DISTINCT FROM qr.runs OR qn.mx IS DISTINCT FROM qr.mx OR NOT abs(qn.p50 - qr.p50) <= %s "
        "* abs(qr.p50) + 1e-9 OR NOT abs(qn.p90 - qr.p90) <= %s * abs(qr.p90) + 1e-9 OR NOT "
        "abs(qn.p99 - qr.p99) <= %s * abs(qr.p99) + 1e-9)",
        project, project, tol, tol, tol, tol, tol, tol);
    int rc = itest_psql(sql, out, cap);
    if (rc != 0 || (!quiet && strcmp(out, "0|0|0|0") != 0))
        fprintf(stderr,
                "\n  rollup mismatches (throughput|failure rate|durations|queue wait, "
                "tolerance %s): %s",
                tol, out);
    return rc;
}

static long long delta_rows(long long project)
{
    char sql[200], out[64];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM rollup_delta WHERE project_id = %lld",
             project);
    return itest_psql(sql, out, sizeof(out)) == 0 ? atoll(out) : -1;
}

/* Folds until the project has no deltas left (the housekeeper may be folding too: then
 * rollup_fold answers -1 and the next turn goes on). */
static long long fold_all(long long project)
{
    for (double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0;
         itest_now_s() < deadline && delta_rows(project) != 0;) {
        CU_ASSERT_EQUAL(itest_psql("SELECT rollup_fold(1000000)", NULL, 0), 0);
        usleep(100 * 1000);
    }
    return delta_rows(project);
}

static void test_rollups_agree(void)
{
    char proj[64], id[64], path[300], body[200], sql[2048], out[256];
    char running[4][64];
    long long pid;
    struct http_resp r;

    CU_ASSERT_EQUAL_FATAL(itest_make_project(&adm, "rep-roll", proj, sizeof(proj), &pid), 0);
    /* 24 runs over two kinds in every state, then spread over the last four days with
     * SQL: durations 10% apart and waits at least 4% apart, so each histogram bucket
     * (2% wide) holds one value and the percentiles must come out exact. */
    for (int i = 0; i < 24; i++) {
        static const char *const st[] = {"succeeded", "failed",    "succeeded", "running",
                                         "succeeded", "cancelled", "queued",    "failed"};
        const char *status = st[i % 8];
        CU_ASSERT_EQUAL_FATAL(run_with(proj, i % 3 ? "roll-a" : "roll-b", status,
                                       strcmp(status, "failed") == 0 ? "RollError" : NULL, id,
                                       sizeof(id)),
                              0);
        if (strcmp(status, "running") == 0 && i / 8 < 4)
            snprintf(running[i / 8], sizeof(running[0]), "%s", id);
    }
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET created_at = x.c, queued_at = x.c, queue = CASE WHEN x.n %% 2 = 0 "
             "THEN 'gpu' ELSE 'default' END, started_at = CASE WHEN started_at IS NOT NULL THEN "
             "x.c + x.n * interval '17 seconds' END, ended_at = CASE WHEN ended_at IS NOT NULL "
             "THEN x.c + x.n * interval '17 seconds' + 30 * power(1.1, x.n) * interval '1 "
             "second' END FROM (SELECT id, n, now() - n * interval '3 hours 59 minutes' AS c "
             "FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM runs WHERE project_id = "
             "%lld) o) x WHERE runs.id = x.id",
             pid);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    /* Then the API moves two of the running ones on: the trigger's path. */
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/api/v1/runs/%s", running[i]);
        snprintf(body, sizeof(body), "{\"status\":\"%s\"}", i ? "failed" : "succeeded");
        CU_ASSERT_EQUAL(status_of(&adm, "PATCH", path, body, NULL, 0), 200);
    }

    /* Exact, whether the deltas are folded or not. */
    CU_ASSERT_EQUAL(rollup_mismatches(pid, "1e-12", 0, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0|0|0|0");
    /* The housekeeper folds on its own, about every second: the deltas drain with no
     * request at all (a generous deadline: the test may share a slow machine). */
    for (int i = 0; i < 600 && delta_rows(pid) != 0; i++)
        usleep(100 * 1000);
    CU_ASSERT_EQUAL(delta_rows(pid), 0);
    CU_ASSERT_EQUAL(rollup_mismatches(pid, "1e-12", 0, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0|0|0|0");

    /* An import of 3,000 finished runs with durations and waits that share buckets: the
     * statement trigger's path; percentiles within 1%, counts and max exact. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO runs (project_id, kind, name, queue, status, created_at, queued_at, "
             "started_at, ended_at) SELECT %lld, 'roll-' || (g %% 3), 'import', 'bulk', CASE "
             "WHEN g %% 5 = 0 THEN 'failed' ELSE 'succeeded' END, c, c, c + (g %% 97) * "
             "interval '1.3 seconds', c + (g %% 97) * interval '1.3 seconds' + (1 + (g * 7919) "
             "%% 5000) * interval '0.77 seconds' FROM generate_series(1, 3000) g, LATERAL "
             "(SELECT now() - g * interval '2 minutes 1 second' AS c) t",
             pid);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    CU_ASSERT_EQUAL(rollup_mismatches(pid, "0.01", 0, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0|0|0|0");
    /* Folded in slices of at most 500 deltas, one after another in one transaction that
     * holds the folder's lock (the housekeeper's fold waits): each slice folds no more than
     * it may, several fold some, and together they fold every delta there was. The deltas
     * are made in that transaction (each import's kind changed and changed back: eight a
     * run), since the housekeeper may have folded the import's already. */
    snprintf(sql, sizeof(sql),
             "BEGIN; SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext('runwatch.rollup_fold')))"
             " l WHERE false; UPDATE runs SET kind = kind || '~' WHERE project_id = %lld AND name "
             "= 'import'; UPDATE runs SET kind = left(kind, -1) WHERE project_id = %lld AND name = "
             "'import'; CREATE TEMP TABLE fb AS SELECT count(*) AS c FROM rollup_delta; CREATE "
             "TEMP TABLE fs AS SELECT g, rollup_fold(500) AS n FROM generate_series(1, 100) g; "
             "SELECT (SELECT max(n) FROM fs) <= 500, (SELECT count(*) FROM fs WHERE n > 0) > 1, "
             "(SELECT sum(n) FROM fs) = (SELECT c FROM fb), (SELECT count(*) FROM rollup_delta) = "
             "0; COMMIT",
             pid, pid);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "t|t|t|t");
    CU_ASSERT_EQUAL(fold_all(pid), 0);
    CU_ASSERT_EQUAL(rollup_mismatches(pid, "0.01", 0, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0|0|0|0");
    /* …and not exact there: the check above is not vacuous. */
    CU_ASSERT_EQUAL(rollup_mismatches(pid, "1e-12", 1, out, sizeof(out)), 0);
    CU_ASSERT_STRING_NOT_EQUAL(out, "0|0|0|0");

    /* Deleting runs takes them out of the rollups; the largest durations go, so max is
     * exact only if the fold reads the bounds of the days that lost runs again. */
    /* The deltas are counted in the DELETE's own transaction: the housekeeper may fold
     * them the moment it commits. */
    snprintf(sql, sizeof(sql),
             "BEGIN; DELETE FROM runs WHERE project_id = %lld AND name = 'import' AND (status = "
             "'failed' OR ended_at - started_at > interval '3500 seconds'); SELECT count(*) FROM "
             "rollup_delta WHERE project_id = %lld; COMMIT",
             pid, pid);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_TRUE(atoll(out) > 0);
    CU_ASSERT_EQUAL(fold_all(pid), 0);
    CU_ASSERT_EQUAL(rollup_mismatches(pid, "0.01", 0, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0|0|0|0");

    /* The rollups' views keep to the caller's projects, like every view of the schema. */
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM report.runs_hourly WHERE project_id = %lld) + (SELECT "
             "count(*) FROM report.hist_daily WHERE project_id = %lld)",
             pid, pid);
    CU_ASSERT_TRUE(atoll(scalar(&adm, sql, out, sizeof(out))) > 0);
    CU_ASSERT_STRING_EQUAL(scalar(&viewer_b, sql, out, sizeof(out)), "0");

    /* Through the API: the durations answer says how close its percentiles are. */
    snprintf(path, sizeof(path), "/api/v1/reports/durations?project=%s&window=7d", proj);
    CU_ASSERT_EQUAL(api_call(&adm, "GET", path, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(itest_jget(r.json, "relative_error")), 0.01,
                           1e-12);
    http_resp_free(&r);
}

int suite_reports_register(void)
{
    CU_pSuite s = CU_add_suite("reports", reports_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "built-in reports count what was made, per project",
                     test_builtin_reports) ||
        !CU_add_test(s, "report parameters are validated", test_report_validation) ||
        !CU_add_test(s, "failure groups: by fingerprint, paged runs, per project",
                     test_failure_groups) ||
        !CU_add_test(s, "anomalies: stuck, stale, interrupted, lease expired; thresholds",
                     test_anomalies) ||
        !CU_add_test(s, "ad-hoc SQL sees only the caller's projects", test_query_isolation) ||
        !CU_add_test(s, "ad-hoc SQL: every newer table has its view, per project",
                     test_query_newer_views) ||
        !CU_add_test(s, "ad-hoc SQL cannot write, read secrets or change role",
                     test_query_cannot_escape) ||
        !CU_add_test(s, "ad-hoc SQL is bounded in time and rows", test_query_bounds) ||
        !CU_add_test(s, "ad-hoc SQL as CSV", test_query_csv) ||
        !CU_add_test(s, "ad-hoc SQL has concurrency caps; writes go on", test_query_caps) ||
        !CU_add_test(s, "a report connection the server ended is replaced",
                     test_query_after_kill) ||
        !CU_add_test(s, "ad-hoc SQL cannot see, cancel or end another tenant's query",
                     test_query_other_tenants_queries) ||
        !CU_add_test(s, "ad-hoc SQL runs queries only: no EXPLAIN", test_query_no_explain) ||
        !CU_add_test(s, "ad-hoc SQL reads no instance-wide statistics", test_query_no_statistics) ||
        !CU_add_test(s, "ad-hoc SQL takes no advisory lock (rollups, wait slots)",
                     test_query_no_locks) ||
        !CU_add_test(s, "POST /runs/wait works while the report caps are full",
                     test_wait_while_caps_full) ||
        !CU_add_test(s, "saved reports: create, list, change, run, delete", test_saved_reports) ||
        !CU_add_test(s, "the rollups agree with the runs, folded or not", test_rollups_agree))
        return -1;
    return 0;
}
