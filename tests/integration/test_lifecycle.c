/* Lifecycle suite: the one table of legal status moves (sql/functions/25_lifecycle.sql)
 * holds on every path that writes a status: the API (PATCH, cancel), attempts and
 * claims, lease expiry (at claim time and expire_leases(), the sweeper's move) and
 * raw SQL. An illegal move is SQLSTATE RW409 in the database and 409 illegal_transition
 * naming both states over HTTP; the legal system move (lease expiry, running -> queued)
 * still happens; the README's table is the database's. Leases are lapsed by moving
 * lease_expires_at back, never by waiting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

#define S(s) ((s) ? (s) : "(null)")

static struct ident adm, tok;
static char slug[64];
static long long pid;

static int lifecycle_init(void)
{
    if (itest_instance_admin(&adm) != 0) {
        fprintf(stderr, "cannot sign in the instance admin\n");
        return 1;
    }
    if (itest_make_project(&adm, "life", slug, sizeof(slug), &pid) ||
        itest_new_token(&adm, slug, "[\"read\",\"write\"]", NULL, &tok) != 201)
        return 1;
    return 0;
}

/* ---- helpers ---- */

/* A run of the project in queue (NULL: default), created with status (queued or
 * running); its id in id. 0 on 201. */
static int new_run(const char *queue, const char *status, char id[40])
{
    struct http_resp r;
    char body[300];
    long st;

    snprintf(body, sizeof(body), "{\"kind\":\"life\",\"queue\":\"%s\",\"status\":\"%s\"}",
             queue ? queue : "default", status);
    st = itest_callf(&tok, "POST", body, &r, "/api/v1/runs");
    id[0] = '\0';
    if (st == 201 && itest_jstr(r.json, "id"))
        snprintf(id, 40, "%s", itest_jstr(r.json, "id"));
    else
        fprintf(stderr, "\n  create run %s: %ld %s", body, st, S(r.body));
    http_resp_free(&r);
    return st == 201 && id[0] ? 0 : -1;
}

static long long new_worker(void)
{
    struct http_resp r;
    char body[200], name[64];
    long long id = -1;

    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", itest_unique("life-w", name, sizeof(name)));
    if (itest_callf(&tok, "POST", body, &r, "/api/v1/workers") == 201)
        id = itest_jint(r.json, "id");
    else
        fprintf(stderr, "\n  register %s: %ld %s", body, r.status, S(r.body));
    http_resp_free(&r);
    return id;
}

/* A claim on queue by worker with a lease; the claimed run's id in id ("" when none).
 * Returns the status. */
static long claim(const char *queue, long long worker, char id[40])
{
    struct http_resp r;
    char body[200];
    long st;

    snprintf(body, sizeof(body), "{\"worker_id\":%lld,\"lease_s\":600}", worker);
    st = itest_callf(&tok, "POST", body, &r, "/api/v1/queues/%s/claim", queue);
    id[0] = '\0';
    if (st == 200 && itest_jstr(r.json, "id"))
        snprintf(id, 40, "%s", itest_jstr(r.json, "id"));
    if (st != 200 && st != 204)
        fprintf(stderr, "\n  claim on %s: %ld %.300s", queue, st, S(r.body));
    http_resp_free(&r);
    return st;
}

/* The run's status now (into buf), straight from the database. */
static const char *db_status(const char *table, const char *where, char *buf, size_t cap)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT status FROM %s WHERE %s", table, where);
    if (itest_psql(sql, buf, cap) != 0)
        snprintf(buf, cap, "(psql failed)");
    return buf;
}

static const char *run_status(const char *run, char *buf, size_t cap)
{
    char where[100];
    snprintf(where, sizeof(where), "id = '%s'", run);
    return db_status("runs", where, buf, cap);
}

static const char *attempt_status(const char *run, int seq, char *buf, size_t cap)
{
    char where[120];
    snprintf(where, sizeof(where), "run_id = '%s' AND seq = %d", run, seq);
    return db_status("attempts", where, buf, cap);
}

/* 1 when r is 409 illegal_transition on field status, its message "cannot move <what>
 * from <from> to <to>" and its details {from, to}; else prints what came. */
static int refused(const struct http_resp *r, const char *what, const char *from, const char *to,
                   int line)
{
    char want[160];
    snprintf(want, sizeof(want), "cannot move %s from %s to %s", what, from, to);
    if (r->status == 409 && strcmp(S(http_error_code(r)), "illegal_transition") == 0 &&
        strcmp(S(http_error_field(r)), "status") == 0 &&
        strcmp(S(http_error_message(r)), want) == 0 &&
        strcmp(S(itest_jstr(r->json, "error.details.from")), from) == 0 &&
        strcmp(S(itest_jstr(r->json, "error.details.to")), to) == 0)
        return 1;
    fprintf(stderr, "\n  line %d: expected 409 \"%s\", got %ld %.400s", line, want, r->status,
            S(r->body));
    return 0;
}
#define REFUSED(r, what, from, to) refused(&(r), what, from, to, __LINE__)

/* Runs the PL/pgSQL statements body in a DO block that catches any error; out gets
 * "sqlstate=none" or "sqlstate=<code> <message>". */
static const char *sql_outcome(const char *body, char *out, size_t cap)
{
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "DO $t$ BEGIN %s; RAISE NOTICE 'sqlstate=none'; EXCEPTION WHEN OTHERS THEN "
             "RAISE NOTICE 'sqlstate=%% %%', SQLSTATE, SQLERRM; END $t$",
             body);
    if (itest_psql(sql, out, cap) != 0)
        snprintf(out, cap, "(psql failed)");
    /* Keep what follows "NOTICE:  ". */
    char *n = strstr(out, "sqlstate=");
    if (n)
        memmove(out, n, strlen(n) + 1);
    return out;
}

/* ---- the API ---- */

static void test_api_refuses(void)
{
    char run[40], st[64], before[64], after[64];
    struct http_resp r;

    CU_ASSERT_EQUAL_FATAL(new_run(NULL, "running", run), 0);
    CU_ASSERT_EQUAL(
        itest_callf(&tok, "PATCH", "{\"status\":\"succeeded\"}", &r, "/api/v1/runs/%s", run), 200);
    http_resp_free(&r);
    snprintf(before, sizeof(before), "%s", "");
    {
        char sql[160];
        snprintf(sql, sizeof(sql), "SELECT updated_at FROM runs WHERE id = '%s'", run);
        itest_psql(sql, before, sizeof(before));
        /* Back to running, to retrying, to queued: each names both states, nothing moves. */
        static const char *const tos[] = {"running", "retrying", "queued", "failed", NULL};
        for (int i = 0; tos[i]; i++) {
            char body[64];
            snprintf(body, sizeof(body), "{\"status\":\"%s\"}", tos[i]);
            itest_callf(&tok, "PATCH", body, &r, "/api/v1/runs/%s", run);
            CU_ASSERT_TRUE(REFUSED(r, "a run", "succeeded", tos[i]));
            http_resp_free(&r);
        }
        itest_psql(sql, after, sizeof(after));
        CU_ASSERT_STRING_EQUAL(before, after);
    }
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "succeeded");
    /* Reporting the same outcome again is no move. */
    CU_ASSERT_EQUAL(itest_callf(&tok, "PATCH", "{\"status\":\"succeeded\",\"progress\":1}", &r,
                                "/api/v1/runs/%s", run),
                    200);
    http_resp_free(&r);
    /* Cancel of an ended run. */
    itest_callf(&tok, "POST", NULL, &r, "/api/v1/runs/%s/cancel", run);
    CU_ASSERT_TRUE(REFUSED(r, "a run", "succeeded", "cancelled"));
    http_resp_free(&r);
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "succeeded");
}

/* A cancel that was asked for wins over a retry (a legal request becomes cancelled), but
 * an illegal request stays illegal: it is not turned into a cancel. */
static void test_cancel_wins_over_retry(void)
{
    char run[40], st[64];
    struct http_resp r;

    CU_ASSERT_EQUAL_FATAL(new_run(NULL, "running", run), 0);
    CU_ASSERT_EQUAL(itest_callf(&tok, "POST", NULL, &r, "/api/v1/runs/%s/cancel", run), 200);
    CU_ASSERT_TRUE(itest_jget(r.json, "cancel_requested") &&
                   json_object_get_boolean(itest_jget(r.json, "cancel_requested")));
    http_resp_free(&r);
    itest_callf(&tok, "PATCH", "{\"status\":\"queued\"}", &r, "/api/v1/runs/%s", run);
    CU_ASSERT_TRUE(REFUSED(r, "a run", "running", "queued"));
    http_resp_free(&r);
    CU_ASSERT_EQUAL(
        itest_callf(&tok, "PATCH", "{\"status\":\"retrying\"}", &r, "/api/v1/runs/%s", run), 200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "cancelled");
    http_resp_free(&r);
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "cancelled");
    /* Asking the cancelled run to retry now is an illegal move, not a second cancel. */
    itest_callf(&tok, "PATCH", "{\"status\":\"retrying\"}", &r, "/api/v1/runs/%s", run);
    CU_ASSERT_TRUE(REFUSED(r, "a run", "cancelled", "retrying"));
    http_resp_free(&r);
}

/* ---- attempts and claims ---- */

static void test_attempts_and_claims_refuse(void)
{
    char queue[64], run[40], got[40], st[64], sql[300];
    long long w;
    struct http_resp r;

    itest_unique("life-q", queue, sizeof(queue));
    CU_ASSERT_TRUE_FATAL((w = new_worker()) > 0);
    CU_ASSERT_EQUAL_FATAL(new_run(queue, "queued", run), 0);
    CU_ASSERT_EQUAL_FATAL(claim(queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    CU_ASSERT_EQUAL(itest_callf(&tok, "PATCH", "{\"status\":\"succeeded\"}", &r,
                                "/api/v1/runs/%s/attempts/1", run),
                    200);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "status")), "succeeded");
    http_resp_free(&r);

    /* No new attempt on an ended run, and the ended attempt does not change its mind. */
    itest_callf(&tok, "POST", "{}", &r, "/api/v1/runs/%s/attempts", run);
    CU_ASSERT_TRUE(REFUSED(r, "a run", "succeeded", "running"));
    http_resp_free(&r);
    itest_callf(&tok, "PATCH", "{\"status\":\"failed\"}", &r, "/api/v1/runs/%s/attempts/1", run);
    CU_ASSERT_TRUE(REFUSED(r, "an attempt", "succeeded", "failed"));
    http_resp_free(&r);
    /* A claim finds nothing to start in a queue whose run ended. */
    CU_ASSERT_EQUAL(claim(queue, w, got), 204);
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "succeeded");
    CU_ASSERT_STRING_EQUAL(attempt_status(run, 1, st, sizeof(st)), "succeeded");

    /* A run cancelled behind its worker's back (its attempt still running): the worker's
     * success would move the run from cancelled to succeeded, and the whole write is
     * refused, the attempt included. */
    CU_ASSERT_EQUAL_FATAL(new_run(queue, "queued", run), 0);
    CU_ASSERT_EQUAL_FATAL(claim(queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    snprintf(sql, sizeof(sql), "UPDATE runs SET status = 'cancelled' WHERE id = '%s'", run);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    itest_callf(&tok, "PATCH", "{\"status\":\"succeeded\"}", &r, "/api/v1/runs/%s/attempts/1", run);
    CU_ASSERT_TRUE(REFUSED(r, "a run", "cancelled", "succeeded"));
    http_resp_free(&r);
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "cancelled");
    CU_ASSERT_STRING_EQUAL(attempt_status(run, 1, st, sizeof(st)), "running");
    CU_ASSERT_EQUAL(claim(queue, w, got), 204);
}

/* ---- lease expiry: the system move ---- */

static void test_lease_expiry_moves(void)
{
    char queue[64], run[40], got[40], st[64], sql[400], out[256];
    long long w;
    struct http_resp r;

    /* Legal: at claim time, a lapsed lease sends its run back to the queue, and the claim
     * takes it again as attempt 2. */
    itest_unique("life-l", queue, sizeof(queue));
    CU_ASSERT_TRUE_FATAL((w = new_worker()) > 0);
    CU_ASSERT_EQUAL_FATAL(new_run(queue, "queued", run), 0);
    CU_ASSERT_EQUAL_FATAL(claim(queue, w, got), 200);
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET lease_expires_at = now() - interval '1 minute' WHERE id = '%s'", run);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    /* Expiry runs at most once a second per API process: poll (up to a minute), never
     * time. */
    long cst = 204;
    for (int i = 0; i < 600 && cst == 204; i++) {
        if (i)
            nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
        cst = claim(queue, w, got);
    }
    CU_ASSERT_EQUAL(cst, 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    CU_ASSERT_EQUAL(itest_callf(&tok, "GET", NULL, &r, "/api/v1/runs/%s/attempts", run), 200);
    CU_ASSERT_EQUAL(itest_jlen(r.json, "items"), 2);
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.0.status")), "failed");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.0.error.type")), "lease_expired");
    CU_ASSERT_STRING_EQUAL(S(itest_jstr(r.json, "items.1.status")), "running");
    http_resp_free(&r);

    /* Legal: the sweeper's function, for every queue, moves running -> queued. The
     * housekeeper runs the same function on its own schedule and may get there between
     * the UPDATE and this call (it did, under ASan on a busy machine): either one moved
     * it, once, and the checks below hold the same. */
    CU_ASSERT_EQUAL(itest_psql(sql, NULL, 0), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM expire_leases(%lld, NULL) x WHERE x.expired_run = '%s'", pid,
             run);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_TRUE(strcmp(out, "1") == 0 || strcmp(out, "0") == 0);
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "queued");
    CU_ASSERT_STRING_EQUAL(attempt_status(run, 2, st, sizeof(st)), "failed");

    /* An ended run with a stale lapsed lease is not resurrected, by claims or the
     * sweeper. */
    CU_ASSERT_EQUAL_FATAL(claim(queue, w, got), 200);
    CU_ASSERT_STRING_EQUAL(got, run);
    CU_ASSERT_EQUAL(
        itest_callf(&tok, "PATCH", "{\"status\":\"cancelled\"}", &r, "/api/v1/runs/%s", run), 200);
    http_resp_free(&r);
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET lease_expires_at = now() - interval '1 minute' WHERE id = '%s'", run);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(claim(queue, w, got), 204);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM expire_leases(NULL, NULL) x WHERE x.expired_run = '%s'", run);
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0");
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "cancelled");

    /* And the announcement opens only its own door: lease expiry of an ended run, or of a
     * run that is not running, is refused by the trigger. */
    static const char *const ended[] = {"cancelled", "succeeded", "failed", NULL};
    for (int i = 0; ended[i]; i++) {
        char other[40];
        CU_ASSERT_EQUAL_FATAL(new_run(queue, "running", other), 0);
        snprintf(sql, sizeof(sql), "UPDATE runs SET status = '%s' WHERE id = '%s'", ended[i],
                 other);
        CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
        snprintf(sql, sizeof(sql),
                 "PERFORM set_config('runwatch.transition', 'lease_expiry', true); UPDATE runs "
                 "SET status = 'queued' WHERE id = '%s'",
                 other);
        char want[128];
        snprintf(want, sizeof(want), "sqlstate=RW409 cannot move a run from %s to queued",
                 ended[i]);
        CU_ASSERT_STRING_EQUAL(sql_outcome(sql, out, sizeof(out)), want);
        CU_ASSERT_STRING_EQUAL(run_status(other, st, sizeof(st)), ended[i]);
    }
}

/* ---- raw SQL ---- */

static void test_raw_sql(void)
{
    char run[40], st[64], sql[600], out[256];

    CU_ASSERT_EQUAL_FATAL(new_run(NULL, "running", run), 0);
    /* Without the announcement, lease expiry's move is illegal like any other. */
    snprintf(sql, sizeof(sql), "UPDATE runs SET status = 'queued' WHERE id = '%s'", run);
    CU_ASSERT_STRING_EQUAL(sql_outcome(sql, out, sizeof(out)),
                           "sqlstate=RW409 cannot move a run from running to queued");
    /* A legal move is fine from SQL too. */
    snprintf(sql, sizeof(sql), "UPDATE runs SET status = 'succeeded' WHERE id = '%s'", run);
    CU_ASSERT_STRING_EQUAL(sql_outcome(sql, out, sizeof(out)), "sqlstate=none");
    snprintf(sql, sizeof(sql), "UPDATE runs SET status = 'running' WHERE id = '%s'", run);
    CU_ASSERT_STRING_EQUAL(sql_outcome(sql, out, sizeof(out)),
                           "sqlstate=RW409 cannot move a run from succeeded to running");
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "succeeded");
    /* A plain psql statement fails (exit status) and says why. */
    CU_ASSERT_NOT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot move a run from succeeded to running"));

    /* Attempts obey the same table. */
    CU_ASSERT_EQUAL_FATAL(new_run(NULL, "queued", run), 0);
    snprintf(sql, sizeof(sql),
             "INSERT INTO attempts (run_id, seq, status) VALUES ('%s', 1, 'succeeded')", run);
    CU_ASSERT_EQUAL_FATAL(itest_psql(sql, NULL, 0), 0);
    snprintf(sql, sizeof(sql), "UPDATE attempts SET status = 'running' WHERE run_id = '%s'", run);
    CU_ASSERT_STRING_EQUAL(sql_outcome(sql, out, sizeof(out)),
                           "sqlstate=RW409 cannot move an attempt from succeeded to running");

    /* The sweeper's announcement ends with its move: the same transaction's next
     * statement is checked as usual. */
    CU_ASSERT_EQUAL_FATAL(new_run(NULL, "running", run), 0);
    snprintf(sql, sizeof(sql),
             "PERFORM expire_leases(%lld, 'no-such-queue'); UPDATE runs SET status = "
             "'queued' WHERE id = '%s'",
             pid, run);
    CU_ASSERT_STRING_EQUAL(sql_outcome(sql, out, sizeof(out)),
                           "sqlstate=RW409 cannot move a run from running to queued");
    CU_ASSERT_STRING_EQUAL(run_status(run, st, sizeof(st)), "running");
}

/* ---- the documented table ---- */

/* The README states the table once; it must be the database's, row for row. */
static void test_readme_table(void)
{
    char path[1024], line[512], doc[4096] = "", db[4096];
    size_t o = 0;
    int in = 0, rows = 0;
    FILE *f = fopen(repo_path("README.md", path, sizeof(path)), "r");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "<!-- lifecycle:begin -->")) {
            in = 1;
            continue;
        }
        if (strstr(line, "<!-- lifecycle:end -->"))
            break;
        /* "| run | queued | running | |" -> "run|queued|running|"; skip the head. */
        if (!in || line[0] != '|' || strstr(line, "---") || strstr(line, "| of |"))
            continue;
        char cell[4][64] = {{0}};
        int n = 0;
        for (char *c = line + 1; *c && *c != '\n' && n < 4; n++) {
            char *end = strchr(c, '|');
            if (!end)
                break;
            char *a = c, *b = end;
            while (a < b && *a == ' ')
                a++;
            while (b > a && b[-1] == ' ')
                b--;
            snprintf(cell[n], sizeof(cell[n]), "%.*s", (int)(b - a), a);
            c = end + 1;
        }
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s%s|%s|%s|%s", rows ? "\n" : "", cell[0],
                              cell[1], cell[2], cell[3]);
        rows++;
    }
    fclose(f);
    CU_ASSERT_TRUE(rows > 0);
    CU_ASSERT_EQUAL(itest_psql("SELECT entity || '|' || from_status || '|' || to_status || '|' "
                               "|| coalesce(system_move, '') FROM lifecycle_transitions()",
                               db, sizeof(db)),
                    0);
    if (strcmp(doc, db) != 0)
        fprintf(stderr, "\n  README's lifecycle table:\n%s\n  the database's:\n%s", doc, db);
    CU_ASSERT_STRING_EQUAL(doc, db);
}

int suite_lifecycle_register(void)
{
    CU_pSuite s = CU_add_suite("lifecycle", lifecycle_init, NULL);
    if (!s)
        return 1;
    return !CU_add_test(s, "the API: an illegal move is 409 naming both", test_api_refuses) ||
           !CU_add_test(s, "a cancel wins over a retry, not over the table",
                        test_cancel_wins_over_retry) ||
           !CU_add_test(s, "attempts and claims: ended runs stay ended",
                        test_attempts_and_claims_refuse) ||
           !CU_add_test(s, "lease expiry: legal from running only", test_lease_expiry_moves) ||
           !CU_add_test(s, "raw SQL: the trigger refuses with RW409", test_raw_sql) ||
           !CU_add_test(s, "the README's table is the database's", test_readme_table);
}
