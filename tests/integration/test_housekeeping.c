/* Housekeeping suite: what the housekeeper (runwatch-api housekeeper, under serve) does
 * with no request asking: leases lapse on a queue nobody claims from (one, or thousands
 * at once, queued again in slices and each published once), the report rollups fold;
 * and what a pass (`runwatch-api housekeep --once`) does to the event
 * partitions: months ahead created, rows of the default partition moved to their
 * month, a database whose partitions ran out healed, and retention dropping only what
 * is wholly past it. Polls with generous deadlines; never times anything. */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define S(x)        ((x) ? (x) : "(null)")
#define DEADLINE_S  90
#define HK_QUEUE    "hk-nobody-claims"
#define FLOOD_QUEUE "hk-flood"
#define FLOOD_RUNS  2500 /* leases lapsing at once: three of the housekeeper's slices */
#define ID_LEN      37   /* a uuid's text and its NUL */

static struct ident adm;
static char slug[64];
static long long project;
static char run_id[40];

static int hk_init(void)
{
    if (itest_instance_admin(&adm) != 0)
        return -1;
    return itest_make_project(&adm, "hk", slug, sizeof(slug), &project);
}

/* One value of SQL (the first row's first column) into out; 0 when psql succeeded. */
static int sql1(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sql1(char *out, size_t cap, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    out[0] = '\0';
    return itest_psql(sql, out, cap);
}

/* `runwatch-api housekeep --once` with env (e.g. "RUNWATCH_RETENTION_DAYS_EVENTS=200 "
 * or ""); its exit status. */
static int housekeep_once(const char *env)
{
    const char *bin = getenv("RUNWATCH_BIN_DIR");
    char cmd[2048];
    int st;

    snprintf(cmd, sizeof(cmd), "%s'%s/runwatch-api' housekeep --once >/dev/null 2>&1", env,
             bin ? bin : "build/release");
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A run of the suite's project on HK_QUEUE, claimed with a lease: running. */
static int make_claimed_run(char id[40])
{
    struct http_resp r;
    char body[256];
    long long worker = -1;
    long st;

    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"hk-worker\"}", slug);
    st = itest_callf(&adm, "POST", body, &r, "/api/v1/workers");
    if (st == 201 || st == 200)
        worker = itest_jint(r.json, "id");
    http_resp_free(&r);
    if (worker < 0)
        return -1;
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"kind\":\"hk\",\"queue\":\"%s\"}", slug,
             HK_QUEUE);
    st = itest_callf(&adm, "POST", body, &r, "/api/v1/runs");
    http_resp_free(&r);
    if (st != 201)
        return -1;
    snprintf(body, sizeof(body), "{\"project\":\"%s\",\"worker_id\":%lld,\"lease_s\":3600}", slug,
             worker);
    st = itest_callf(&adm, "POST", body, &r, "/api/v1/queues/%s/claim", HK_QUEUE);
    id[0] = '\0';
    if (st == 200 && itest_jstr(r.json, "id"))
        snprintf(id, 40, "%s", itest_jstr(r.json, "id"));
    else
        fprintf(stderr, "\n  claim: %ld %.300s", st, S(r.body));
    http_resp_free(&r);
    return id[0] ? 0 : -1;
}

/* The housekeeper's first pass runs every task, whatever their last run. */
static void test_first_pass_runs_everything(void)
{
    char out[256] = "";
    /* Every task of the table, however many there are (six since migrations 0014 and 0017). */
    for (int i = 0; i < DEADLINE_S && strcmp(out, "t") != 0; i++) {
        if (i)
            sleep(1);
        sql1(out, sizeof(out),
             "SELECT count(*) FILTER (WHERE last_ok) = count(*) AND count(*) >= 6 FROM "
             "housekeeping_tasks");
    }
    CU_ASSERT_STRING_EQUAL(out, "t");
    sql1(out, sizeof(out),
         "SELECT count(*) FROM pg_class WHERE relname = 'events_' || "
         "to_char(now() + interval '3 months', 'YYYY_MM')");
    CU_ASSERT_STRING_EQUAL(out, "1");
}

/* A lease that lapsed on a queue nobody claims from: the run is queued again, its attempt
 * failed lease_expired, with no request asking. */
static void test_lease_expires_without_claims(void)
{
    char out[256] = "";
    CU_ASSERT_EQUAL_FATAL(make_claimed_run(run_id), 0);
    /* The lease would last an hour: make it lapse now. */
    CU_ASSERT_EQUAL_FATAL(sql1(out, sizeof(out),
                               "UPDATE runs SET lease_expires_at = now() - interval '1 minute' "
                               "WHERE id = '%s' AND status = 'running' RETURNING 1",
                               run_id),
                          0);
    CU_ASSERT_STRING_EQUAL_FATAL(out, "1");
    for (int i = 0; i < DEADLINE_S && strcmp(out, "queued") != 0; i++) {
        sleep(1);
        sql1(out, sizeof(out), "SELECT status FROM runs WHERE id = '%s'", run_id);
    }
    CU_ASSERT_STRING_EQUAL(out, "queued");
    sql1(out, sizeof(out),
         "SELECT status || ' ' || error_type FROM attempts WHERE run_id = '%s' ORDER BY seq DESC "
         "LIMIT 1",
         run_id);
    CU_ASSERT_STRING_EQUAL(out, "failed lease_expired");
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Thousands of leases lapse in one statement (workers lost, or the stack down for a
 * while): the housekeeper queues every run again, in slices, and publishes each run's
 * run.updated (lease_expired) once, after the commit that queued it. */
static void test_many_leases_lapse_at_once(void)
{
    static char want[FLOOD_RUNS][ID_LEN], got[FLOOD_RUNS + 1][ID_LEN];
    static char list[FLOOD_RUNS * ID_LEN + 1];
    char out[256], sql[1024];
    struct itest_sub sub = {.fd = -1};
    size_t nwant = 0, ngot = 0, unqueued = 0;

    /* Running runs with an hour's lease, each with its running attempt, as claims leave
     * them. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO runs (project_id, kind, name, status, queue, started_at, "
             "last_heartbeat_at, lease_s, lease_expires_at) SELECT %lld, 'flood', 'flood-' || "
             "g, 'running', '" FLOOD_QUEUE "', now(), now(), 3600, now() + interval '1 hour' "
             "FROM generate_series(1, %d) g; INSERT INTO attempts (run_id, seq, status, "
             "started_at) SELECT id, 1, 'running', now() FROM runs WHERE project_id = %lld "
             "AND queue = '" FLOOD_QUEUE "'; SELECT runs_latest_attempt_sync(ARRAY(SELECT id "
             "FROM runs WHERE project_id = %lld AND queue = '" FLOOD_QUEUE "'))",
             project, FLOOD_RUNS, project, project);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(id::text, ',') FROM runs WHERE project_id = %lld AND queue = "
             "'" FLOOD_QUEUE "'",
             project);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, list, sizeof(list)), 0);
    for (const char *t = list; *t && nwant < FLOOD_RUNS;) {
        size_t n = strcspn(t, ",");
        snprintf(want[nwant++], ID_LEN, "%.*s", (int)n, t);
        t += n + (t[n] == ',');
    }
    CU_ASSERT_EQUAL_FATAL(nwant, FLOOD_RUNS);

    CU_ASSERT_EQUAL_FATAL(itest_sub_open(&sub, "runwatch:events"), 0);
    CU_ASSERT_EQUAL_FATAL(sql1(out, sizeof(out),
                               "WITH u AS (UPDATE runs SET lease_expires_at = now() - interval "
                               "'1 second' WHERE project_id = %lld AND queue = '" FLOOD_QUEUE
                               "' RETURNING 1) SELECT count(*) FROM u",
                               project),
                          0);
    CU_ASSERT_EQUAL_FATAL(atoi(out), FLOOD_RUNS);

    /* Every message until each run was heard of, or none came for a long while; then
     * a second more, to catch a run published twice. */
    while (ngot <= FLOOD_RUNS) {
        char *msg = itest_sub_next(&sub, ngot < FLOOD_RUNS ? DEADLINE_S * 1000 : 1000);
        json_object *o;
        if (!msg)
            break;
        o = json_tokener_parse(msg);
        free(msg);
        const char *type = o ? itest_jstr(o, "type") : NULL,
                   *reason = o ? itest_jstr(o, "data.reason") : NULL,
                   *run = o ? itest_jstr(o, "run") : NULL;
        if (type && reason && run && strcmp(type, "run.updated") == 0 &&
            itest_jint(o, "project") == project && strcmp(reason, "lease_expired") == 0) {
            /* Published after its commit: the run is queued already (checked for one in
             * 250, each psql costs a process). */
            if (ngot % 250 == 0 && ngot < FLOOD_RUNS) {
                sql1(out, sizeof(out), "SELECT status FROM runs WHERE id = '%s'", run);
                unqueued += strcmp(out, "queued") != 0;
            }
            snprintf(got[ngot++], ID_LEN, "%s", run);
        }
        json_object_put(o);
    }
    itest_sub_close(&sub);
    CU_ASSERT_EQUAL(ngot, FLOOD_RUNS);
    CU_ASSERT_EQUAL(unqueued, 0);
    /* Each run exactly once: the two sorted lists are the same. */
    qsort(want, nwant, ID_LEN, id_cmp);
    qsort(got, ngot, ID_LEN, id_cmp);
    CU_ASSERT_EQUAL(ngot == nwant ? memcmp(want, got, sizeof(want)) : -1, 0);

    sql1(out, sizeof(out),
         "SELECT count(*) FILTER (WHERE r.status = 'queued' AND r.lease_expires_at IS NULL AND "
         "a.status = 'failed' AND a.error_type = 'lease_expired') || '/' || count(*) FROM runs r "
         "JOIN attempts a ON a.run_id = r.id AND a.seq = 1 WHERE r.project_id = %lld AND "
         "r.queue = '" FLOOD_QUEUE "'",
         project);
    snprintf(sql, sizeof(sql), "%d/%d", FLOOD_RUNS, FLOOD_RUNS);
    CU_ASSERT_STRING_EQUAL(out, sql);

    /* In slices, each its own statement: the housekeeper's log shows the slices that
     * said more was left (a JSON log line, its quotes escaped). */
    {
        char path[600], line[4096];
        int slices = 0;
        FILE *f = fopen(var_path("log/api.log", path, sizeof(path)), "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        while (fgets(line, sizeof(line), f))
            slices += strstr(line, "task expire_leases: {\\\"more\\\": true") != NULL;
        fclose(f);
        CU_ASSERT(slices >= FLOOD_RUNS / 1000);
    }
}

/* The claim and the expiry appended rollup deltas: the housekeeper folds them. */
static void test_rollups_fold_without_requests(void)
{
    char out[256] = "";
    for (int i = 0; i < DEADLINE_S && strcmp(out, "0|1") != 0; i++) {
        if (i)
            sleep(1);
        sql1(out, sizeof(out),
             "SELECT (SELECT count(*) FROM rollup_delta WHERE project_id = %lld) || '|' || "
             "(SELECT coalesce(sum(started), 0) FROM rollup_hourly WHERE project_id = %lld AND "
             "queue = '" HK_QUEUE "')",
             project, project);
    }
    CU_ASSERT_STRING_EQUAL(out, "0|1");
}

/* The partition an event (by its ts) is stored in. */
static void partition_of(const char *when, char *out, size_t cap)
{
    sql1(out, cap, "SELECT tableoid::regclass FROM events WHERE run_id = '%s' AND message = '%s'",
         run_id, when);
}

static void add_event(const char *when, const char *offset)
{
    char out[64];
    CU_ASSERT_EQUAL(sql1(out, sizeof(out),
                         "INSERT INTO events (project_id, run_id, ts, message) VALUES (%lld, '%s', "
                         "now() + interval '%s', '%s')",
                         project, run_id, offset, when),
                    0);
}

/* Partitions ran out (next month's dropped), and an event is dated five months ahead:
 * both land in the default; a pass gives each its own month and leaves the default
 * without them. */
static void test_partitions_heal(void)
{
    char out[256], want[64];

    CU_ASSERT_FATAL(run_id[0] != '\0');
    CU_ASSERT_EQUAL(sql1(out, sizeof(out),
                         "DO $$ DECLARE p text := 'events_' || to_char(now() + interval '1 month', "
                         "'YYYY_MM'); BEGIN IF to_regclass(p) IS NOT NULL THEN EXECUTE "
                         "format('DROP TABLE %%I', p); END IF; END $$"),
                    0);
    add_event("plus1", "1 month");
    add_event("plus5", "5 months");
    partition_of("plus1", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "events_default");
    partition_of("plus5", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "events_default");

    CU_ASSERT_EQUAL(housekeep_once(""), 0);

    sql1(want, sizeof(want), "SELECT 'events_' || to_char(now() + interval '1 month', 'YYYY_MM')");
    partition_of("plus1", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, want);
    sql1(want, sizeof(want), "SELECT 'events_' || to_char(now() + interval '5 months', 'YYYY_MM')");
    partition_of("plus5", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, want);
    sql1(out, sizeof(out), "SELECT count(*) FROM events_default WHERE run_id = '%s'", run_id);
    CU_ASSERT_STRING_EQUAL(out, "0");
    /* Through the API too: the run's events are all there. */
    struct http_resp r;
    CU_ASSERT_EQUAL(itest_callf(&adm, "GET", NULL, &r, "/api/v1/runs/%s/events", run_id), 200);
    CU_ASSERT(itest_jlen(r.json, "items") >= 2);
    http_resp_free(&r);
}

/* Events 400 and 100 days old get their months; a pass with a retention of 200 days
 * drops the first month only; with none set, nothing goes. */
static void test_retention_drops_only_past_it(void)
{
    char out[256], old_part[64], mid_part[64];

    CU_ASSERT_FATAL(run_id[0] != '\0');
    add_event("minus400", "-400 days");
    add_event("minus100", "-100 days");
    CU_ASSERT_EQUAL(housekeep_once(""), 0);
    sql1(old_part, sizeof(old_part),
         "SELECT 'events_' || to_char(now() - interval '400 days', 'YYYY_MM')");
    sql1(mid_part, sizeof(mid_part),
         "SELECT 'events_' || to_char(now() - interval '100 days', 'YYYY_MM')");
    partition_of("minus400", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, old_part);
    partition_of("minus100", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, mid_part);

    CU_ASSERT_EQUAL(housekeep_once("RUNWATCH_RETENTION_DAYS_EVENTS=200 "), 0);
    sql1(out, sizeof(out), "SELECT to_regclass('%s') IS NULL", old_part);
    CU_ASSERT_STRING_EQUAL(out, "t");
    partition_of("minus400", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "");
    partition_of("minus100", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, mid_part);
    partition_of("plus5", out, sizeof(out));
    CU_ASSERT_NOT_EQUAL(out[0], '\0');
    sql1(out, sizeof(out),
         "SELECT count(*) FROM pg_class WHERE relname = 'events_' || to_char(now(), 'YYYY_MM')");
    CU_ASSERT_STRING_EQUAL(out, "1");
    sql1(out, sizeof(out), "SELECT last_ok FROM housekeeping_tasks WHERE name = 'partitions'");
    CU_ASSERT_STRING_EQUAL(out, "t");
}

int suite_housekeeping_register(void)
{
    CU_pSuite s = CU_add_suite("housekeeping", hk_init, NULL);
    if (!s)
        return -1;
    if (!CU_add_test(s, "the housekeeper's first pass runs every task",
                     test_first_pass_runs_everything) ||
        !CU_add_test(s, "a lease lapses on a queue nobody claims from",
                     test_lease_expires_without_claims) ||
        !CU_add_test(s, "thousands of leases lapse at once: each run queued and published once",
                     test_many_leases_lapse_at_once) ||
        !CU_add_test(s, "the rollups fold without any request",
                     test_rollups_fold_without_requests) ||
        !CU_add_test(s, "partitions that ran out heal; an event five months ahead gets its month",
                     test_partitions_heal) ||
        !CU_add_test(s, "retention drops only the partitions wholly past it",
                     test_retention_drops_only_past_it))
        return -1;
    return 0;
}
