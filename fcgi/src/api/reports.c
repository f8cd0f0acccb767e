/* reports: the reporting endpoints. Every read runs inside a transaction that first
 * sets a signed grant of the caller's projects (all they are a member of, or the one
 * named by ?project=), and then reads the report schema, whose views keep only those
 * projects' rows; so a report cannot show another project's runs even if its SQL is
 * wrong. Built-in reports are answered with JSON that PostgreSQL builds, on the streaming
 * replica when one is configured (db_read; the primary when it cannot answer). Ad-hoc SQL
 * (and running a saved report) goes to db_report, on the read-only login. */
#include "reports.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_log.h"
#include "access.h"
#include "counters.h"
#include "config.h"
#include "db.h"
#include "db_report.h"
#include "log.h"

#define REPORTS_MAX_WINDOW_S (400L * 86400)
#define REPORTS_MAX_BUCKETS  10000
#define REPORTS_SQL_MAX      100000

/* $1..$4 of report_grant(): who asks, and the one project it is narrowed to. */
/* report_grant and report_set_grant share their first four inputs (reports.sql). */
_Static_assert(REPORT_GRANT_IN_USER_ID == REPORT_SET_GRANT_IN_USER_ID &&
                   REPORT_GRANT_IN_IS_ADMIN == REPORT_SET_GRANT_IN_IS_ADMIN &&
                   REPORT_GRANT_IN_TOKEN_PROJECT == REPORT_SET_GRANT_IN_TOKEN_PROJECT &&
                   REPORT_GRANT_IN_PROJECT_ID == REPORT_SET_GRANT_IN_PROJECT_ID,
               "report_grant and report_set_grant differ");

static void reports_grant_params(const struct req *r, const char *only, const char **p)
{
    const struct access_ident *id = r->op.ident;
    p[REPORT_GRANT_IN_USER_ID] = id->kind == ACCESS_SESSION ? id->user_id : NULL;
    p[REPORT_GRANT_IN_IS_ADMIN] = id->kind == ACCESS_SESSION && id->is_admin ? "true" : "false";
    p[REPORT_GRANT_IN_TOKEN_PROJECT] = id->kind == ACCESS_TOKEN ? id->token_project_id : NULL;
    p[REPORT_GRANT_IN_PROJECT_ID] = only;
}

/* ?project= narrows to one project the caller can see; without it, all of them. */
static int reports_project(struct req *r, const char **only)
{
    struct access_project pr;
    const char *slug = req_query(r, "project");

    *only = NULL;
    if (!slug)
        return 0;
    if (access_project(&r->op, slug, ACCESS_ROLE_VIEWER, &pr))
        return -1;
    *only = pr.id;
    return 0;
}

/* Opens o's transaction (on the primary, or the replica's op of reports_answer) with the
 * caller's grant set in it. */
static int reports_begin_on(struct req *r, struct op *o, const char *only)
{
    const char *p[REPORT_SET_GRANT__NIN];
    reports_grant_params(r, only, p);
    if (db_begin(o))
        return -1;
    return DB_EXEC(o, DB_STMT_REPORT_SET_GRANT, p) ? 0 : -1;
}

static int reports_begin(struct req *r, const char *only)
{
    return reports_begin_on(r, &r->op, only);
}

struct reports_window {
    const char *from, *to, *secs;
    long s;
};

/* from/to (RFC 3339) or window ("90m", "24h", "7d"; default dflt_s) ending at to. */
static int reports_window(struct req *r, long dflt_s, struct reports_window *w)
{
    const char *win = req_query(r, "window");

    w->from = req_query(r, "from");
    w->to = req_query(r, "to");
    w->s = dflt_s;
    if (w->from && !jsonx_is_rfc3339(w->from))
        return req_error(r, 400, "invalid_field", "from", "from must be an RFC 3339 time");
    if (w->to && !jsonx_is_rfc3339(w->to))
        return req_error(r, 400, "invalid_field", "to", "to must be an RFC 3339 time");
    if (win) {
        char *end;
        long n = isdigit((unsigned char)win[0]) ? strtol(win, &end, 10) : -1;
        long unit = 0;
        if (n > 0 && end[0] && !end[1])
            unit = end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 0;
        if (!unit || n > REPORTS_MAX_WINDOW_S / unit)
            return req_error(r, 400, "invalid_field", "window",
                             "window must be minutes, hours or days (30m, 24h, 7d), at most 400d");
        if (w->from)
            return req_error(r, 400, "invalid_field", "window", "give window or from, not both");
        w->s = n * unit;
    }
    w->secs = arena_sprintf(r->op.arena, "%ld", w->s);
    return 0;
}

/* ?bucket=minute|hour|day as seconds; at most REPORTS_MAX_BUCKETS in a window. */
static int reports_bucket(struct req *r, const char *dflt, const struct reports_window *w,
                          const char **out)
{
    const char *b = req_query(r, "bucket");
    long s;

    if (!b)
        b = dflt;
    if (strcmp(b, "minute") == 0)
        s = 60;
    else if (strcmp(b, "hour") == 0)
        s = 3600;
    else if (strcmp(b, "day") == 0)
        s = 86400;
    else
        return req_error(r, 400, "invalid_field", "bucket", "bucket must be minute, hour or day");
    if (!w->from && w->s / s > REPORTS_MAX_BUCKETS)
        return req_error(r, 422, "invalid_value", "bucket",
                         "at most %d buckets: choose a larger bucket or a shorter window",
                         REPORTS_MAX_BUCKETS);
    *out = arena_sprintf(r->op.arena, "%ld", s);
    return 0;
}

/* ?by=a,b: the dimensions (of the NULL-terminated dims) to group by, as "true"/"false"
 * in dims' order. Absent: dflt; empty: none (totals). */
static int reports_by(struct req *r, const char *const *dims, const char *dflt, const char **flags)
{
    const char *by = req_query(r, "by");
    int n = 0;

    if (!by)
        by = dflt;
    for (n = 0; dims[n]; n++)
        flags[n] = "false";
    for (const char *s = by; *s;) {
        size_t len = strcspn(s, ",");
        int found = 0;
        for (int i = 0; dims[i]; i++)
            if (strlen(dims[i]) == len && strncmp(dims[i], s, len) == 0) {
                flags[i] = "true";
                found = 1;
            }
        if (!found) {
            char list[128] = "";
            for (int i = 0; dims[i]; i++) {
                size_t o = strlen(list);
                snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", dims[i]);
            }
            return req_error(r, 400, "invalid_field", "by", "by must be a comma list of %s", list);
        }
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

/* The built-in reports answer one row whose one column is the whole answer. */
_Static_assert(REPORT_THROUGHPUT_REPORT == 0 && REPORT_DURATIONS_REPORT == 0 &&
                   REPORT_QUEUE_WAIT_REPORT == 0 && REPORT_FAILURE_RATE_REPORT == 0 &&
                   REPORT_FAILURE_GROUPS_REPORT == 0 && REPORT_ANOMALIES_REPORT == 0,
               "a built-in report does not answer in its first column");

/* Runs a built-in report on the replica (db_read): 1 when it answered (the answer is
 * set), 0 when it could not and the primary is to answer instead, -1 with the request's
 * error set for an error the primary would give as well (the caller's own). Its lag
 * comes from the report's own transaction, so it is that of the snapshot read. */
static int reports_on_replica(struct req *r, struct db *rdb, const char *only, enum db_stmt_id id,
                              const char **p, int np)
{
    struct op ro = r->op; /* the request's arena, configuration and identity */
    PGresult *res, *rep;

    ro.db = rdb;
    op_clear(&ro);
    if (reports_begin_on(r, &ro, only) == 0 && (res = db_exec(&ro, id, p, np)) &&
        (rep = db_exec(&ro, DB_STMT_ADHOC_REPLICA, NULL, 0)) && db_commit(&ro) == 0) {
        if (strcmp(PQgetvalue(rep, 0, ADHOC_REPLICA_STANDBY), "t") == 0 &&
            !PQgetisnull(rep, 0, ADHOC_REPLICA_LAG_S))
            req_add_header(r, "X-Runwatch-Replica-Lag",
                           arena_sprintf(r->op.arena, "%.3f",
                                         strtod(PQgetvalue(rep, 0, ADHOC_REPLICA_LAG_S), NULL)));
        req_add_header(r, "X-Runwatch-Read-From", "replica");
        return req_json_text(r, 200, PQgetvalue(res, 0, REPORT_THROUGHPUT_REPORT)) ? -1 : 1;
    }
    db_rollback(rdb);
    /* The replica is down, restarting, cancelled the read for a conflict with recovery,
     * or failed on its side: the primary has the same data, only fresher. */
    if (ro.err.kind == OP_UNAVAILABLE || ro.err.kind == OP_CONFLICT || ro.err.kind == OP_INTERNAL) {
        log_info("built-in report %s: the replica could not answer (%s); reading the primary",
                 db_stmts[id].name, ro.err.message ? ro.err.message : ro.err.code);
        return 0;
    }
    r->op.err = ro.err;
    return -1;
}

/* Runs a built-in report statement whose one row, one column is the whole answer: on the
 * replica when one is configured (RUNWATCH_READ_DATABASE_URL), else, or when it cannot
 * answer, on the primary. X-Runwatch-Read-From says which ("primary-fallback": a
 * replica is configured but did not answer), X-Runwatch-Replica-Lag how far behind. */
static int reports_answer(struct req *r, const char *only, enum db_stmt_id id, const char **p,
                          int np)
{
    struct db *rdb = db_read(r->op.cfg);
    PGresult *res;
    int rc;

    if (rdb && (rc = reports_on_replica(r, rdb, only, id, p, np)) != 0)
        return rc < 0 ? -1 : 0;
    if (reports_begin(r, only) || !(res = db_exec(&r->op, id, p, np)) || db_commit(&r->op))
        return -1;
    req_add_header(r, "X-Runwatch-Read-From", rdb ? "primary-fallback" : "primary");
    return req_json_text(r, 200, PQgetvalue(res, 0, REPORT_THROUGHPUT_REPORT));
}

int reports_throughput(struct req *r)
{
    static const char *const known[] = {"project", "from", "to", "window", "bucket", "by", NULL};
    static const char *const dims[] = {"project", "kind", "queue", "status", NULL};
    struct reports_window w;
    const char *only, *bucket, *by[4];

    if (req_only_params(r, known) || reports_window(r, 86400, &w) ||
        reports_bucket(r, "hour", &w, &bucket) || reports_by(r, dims, "project", by) ||
        reports_project(r, &only))
        return -1;
    const char *p[REPORT_THROUGHPUT__NIN] = {
        [REPORT_THROUGHPUT_IN_FROM] = w.from,      [REPORT_THROUGHPUT_IN_TO] = w.to,
        [REPORT_THROUGHPUT_IN_LENGTH_S] = w.secs,  [REPORT_THROUGHPUT_IN_BUCKET_S] = bucket,
        [REPORT_THROUGHPUT_IN_BY_PROJECT] = by[0], [REPORT_THROUGHPUT_IN_BY_KIND] = by[1],
        [REPORT_THROUGHPUT_IN_BY_QUEUE] = by[2],   [REPORT_THROUGHPUT_IN_BY_STATUS] = by[3]};
    return reports_answer(r, only, DB_STMT_REPORT_THROUGHPUT, p, REPORT_THROUGHPUT__NIN);
}

int reports_durations(struct req *r)
{
    static const char *const known[] = {"project", "from", "to", "window", "by", "metric", NULL};
    static const char *const run_dims[] = {"project", "kind", "experiment", NULL};
    static const char *const wait_dims[] = {"project", "queue", "kind", NULL};
    const char *metric = req_query(r, "metric");
    struct reports_window w;
    const char *only, *by[3];
    int wait;

    if (req_only_params(r, known))
        return -1;
    if (metric && strcmp(metric, "duration") != 0 && strcmp(metric, "queue_wait") != 0)
        return req_error(r, 400, "invalid_field", "metric",
                         "metric must be duration or queue_wait");
    wait = metric && strcmp(metric, "queue_wait") == 0;
    if (reports_window(r, 7 * 86400, &w) ||
        reports_by(r, wait ? wait_dims : run_dims, wait ? "project,queue" : "project,kind", by) ||
        reports_project(r, &only))
        return -1;
    /* by[] follows the dimensions: run_dims for durations, wait_dims for queue_wait. */
    _Static_assert(REPORT_DURATIONS_IN_FROM == REPORT_QUEUE_WAIT_IN_FROM &&
                       REPORT_DURATIONS_IN_TO == REPORT_QUEUE_WAIT_IN_TO &&
                       REPORT_DURATIONS_IN_LENGTH_S == REPORT_QUEUE_WAIT_IN_LENGTH_S &&
                       REPORT_DURATIONS_IN_BY_PROJECT == REPORT_QUEUE_WAIT_IN_BY_PROJECT &&
                       REPORT_DURATIONS_IN_BY_KIND == REPORT_QUEUE_WAIT_IN_BY_QUEUE &&
                       REPORT_DURATIONS_IN_BY_EXPERIMENT == REPORT_QUEUE_WAIT_IN_BY_KIND &&
                       REPORT_DURATIONS__NIN == REPORT_QUEUE_WAIT__NIN,
                   "report_durations and report_queue_wait differ");
    const char *p[REPORT_DURATIONS__NIN] = {
        [REPORT_DURATIONS_IN_FROM] = w.from,     [REPORT_DURATIONS_IN_TO] = w.to,
        [REPORT_DURATIONS_IN_LENGTH_S] = w.secs, [REPORT_DURATIONS_IN_BY_PROJECT] = by[0],
        [REPORT_DURATIONS_IN_BY_KIND] = by[1],   [REPORT_DURATIONS_IN_BY_EXPERIMENT] = by[2]};
    return reports_answer(r, only, wait ? DB_STMT_REPORT_QUEUE_WAIT : DB_STMT_REPORT_DURATIONS, p,
                          REPORT_DURATIONS__NIN);
}

int reports_failure_rate(struct req *r)
{
    static const char *const known[] = {"project", "from", "to", "window", "bucket", "by", NULL};
    static const char *const dims[] = {"project", "kind", "worker", NULL};
    struct reports_window w;
    const char *only, *bucket, *by[3];

    if (req_only_params(r, known) || reports_window(r, 7 * 86400, &w) ||
        reports_bucket(r, "day", &w, &bucket) || reports_by(r, dims, "project,kind", by) ||
        reports_project(r, &only))
        return -1;
    const char *p[REPORT_FAILURE_RATE__NIN] = {
        [REPORT_FAILURE_RATE_IN_FROM] = w.from,      [REPORT_FAILURE_RATE_IN_TO] = w.to,
        [REPORT_FAILURE_RATE_IN_LENGTH_S] = w.secs,  [REPORT_FAILURE_RATE_IN_BUCKET_S] = bucket,
        [REPORT_FAILURE_RATE_IN_BY_PROJECT] = by[0], [REPORT_FAILURE_RATE_IN_BY_KIND] = by[1],
        [REPORT_FAILURE_RATE_IN_BY_WORKER] = by[2]};
    return reports_answer(r, only, DB_STMT_REPORT_FAILURE_RATE, p, REPORT_FAILURE_RATE__NIN);
}

int reports_failure_groups(struct req *r)
{
    static const char *const known[] = {"project", "from", "to", "window", "limit", NULL};
    struct reports_window w;
    const char *only;
    long limit;

    if (req_only_params(r, known) || reports_window(r, 30 * 86400, &w) || req_limit(r, &limit) ||
        reports_project(r, &only))
        return -1;
    const char *p[REPORT_FAILURE_GROUPS__NIN] = {[REPORT_FAILURE_GROUPS_IN_FROM] = w.from,
                                                 [REPORT_FAILURE_GROUPS_IN_TO] = w.to,
                                                 [REPORT_FAILURE_GROUPS_IN_LENGTH_S] = w.secs,
                                                 [REPORT_FAILURE_GROUPS_IN_LIMIT] =
                                                     arena_sprintf(r->op.arena, "%ld", limit)};
    return reports_answer(r, only, DB_STMT_REPORT_FAILURE_GROUPS, p, REPORT_FAILURE_GROUPS__NIN);
}

/* Fingerprints are error_fingerprint()'s: 16 lowercase hex digits. */
static int reports_is_fingerprint(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 16;
}

int reports_failure_group_runs(struct req *r)
{
    static const char *const known[] = {"project", "limit", "cursor", NULL};
    const char *fp = req_path_param(r, "fingerprint"), *cursor = req_query(r, "cursor");
    const char *cur_ts = NULL, *cur_id = NULL, *only;
    long limit;
    PGresult *res;

    if (!fp || !reports_is_fingerprint(fp))
        return req_error(r, 404, "not_found", NULL, "no such failure group");
    if (req_only_params(r, known) || req_limit(r, &limit))
        return -1;
    if (cursor) {
        const char *tilde = strchr(cursor, '~');
        if (tilde) {
            cur_ts = arena_strndup(r->op.arena, cursor, (size_t)(tilde - cursor));
            cur_id = tilde + 1;
        }
        if (!tilde || !jsonx_is_rfc3339(cur_ts) || !jsonx_is_uuid(cur_id))
            return req_error(r, 400, "invalid_field", "cursor",
                             "cursor is not one this API issued");
    }
    if (reports_project(r, &only) || reports_begin(r, only))
        return -1;
    const char *p[REPORT_GROUP_RUNS__NIN] = {[REPORT_GROUP_RUNS_IN_FINGERPRINT] = fp,
                                             [REPORT_GROUP_RUNS_IN_CURSOR_ENDED_AT] = cur_ts,
                                             [REPORT_GROUP_RUNS_IN_CURSOR_ID] = cur_id,
                                             [REPORT_GROUP_RUNS_IN_LIMIT] =
                                                 arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_REPORT_GROUP_RUNS, p)) || db_commit(&r->op))
        return -1;
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    /* A group with no run the caller may see does not exist for the caller. */
    if (n == 0 && !cursor)
        return req_error(r, 404, "not_found", NULL, "no such failure group");
    const char *next = n > limit
                           ? arena_sprintf(r->op.arena, "%s~%s",
                                           PQgetvalue(res, shown - 1, REPORT_GROUP_RUNS_ENDED_AT),
                                           PQgetvalue(res, shown - 1, REPORT_GROUP_RUNS_ID))
                           : NULL;
    _Static_assert(REPORT_GROUP_RUNS_RUN_JSON == 0, "db_page_response splices column 0");
    return req_page_rows(r, res, shown, next);
}

int reports_anomalies(struct req *r)
{
    static const char *const known[] = {"project", "type", "limit", NULL};
    static const char *const types[] = {"stuck", "stale", "interrupted", "lease_expired", NULL};
    const char *only, *arr = NULL;
    long limit;

    if (req_only_params(r, known) || req_limit(r, &limit) || req_enum_list(r, "type", types, &arr))
        return -1;
    if (reports_project(r, &only))
        return -1;
    const char *p[REPORT_ANOMALIES__NIN] = {[REPORT_ANOMALIES_IN_KINDS] = arr,
                                            [REPORT_ANOMALIES_IN_LIMIT] =
                                                arena_sprintf(r->op.arena, "%ld", limit)};
    return reports_answer(r, only, DB_STMT_REPORT_ANOMALIES, p, REPORT_ANOMALIES__NIN);
}

/* ---- thresholds ---- */

int reports_thresholds_get(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[THRESHOLDS_GET__NIN] = {
        [THRESHOLDS_GET_IN_PROJECT_ID] = pr.id, [THRESHOLDS_GET_IN_SLUG] = pr.slug};
    if (!(res = DB_EXEC(&r->op, DB_STMT_THRESHOLDS_GET, p)))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, THRESHOLDS_GET_THRESHOLDS));
}

int reports_thresholds_put(struct req *r)
{
    static const char *const keys[] = {"stuck_after_s", "stale_after_s", "lease_window_s", NULL};
    json_object *b = r->body_json;
    struct jsonx_err je;
    int64_t stuck = 0, stale = 0, lease = 0;
    int has_stuck = 0, has_stale = 0, has_lease = 0;
    struct access_project pr;
    PGresult *res;

    /* PUT replaces the whole setting: a field left out (or null) goes back to its default,
     * which the statement takes from the defaults' one home (report.anomaly_defaults). */
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_int(b, "stuck_after_s", JSONX_NULLABLE, 10, 604800, &stuck, &has_stuck, &je) ||
        jsonx_int(b, "stale_after_s", JSONX_NULLABLE, 10, 2592000, &stale, &has_stale, &je) ||
        jsonx_int(b, "lease_window_s", JSONX_NULLABLE, 60, 2592000, &lease, &has_lease, &je))
        return req_error_json(r, 400, &je);
    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_ADMIN, &pr))
        return -1;
    const char *p[THRESHOLDS_PUT__NIN] = {
        [THRESHOLDS_PUT_IN_PROJECT_ID] = pr.id,
        [THRESHOLDS_PUT_IN_STUCK_AFTER_S] =
            has_stuck ? arena_sprintf(r->op.arena, "%lld", (long long)stuck) : NULL,
        [THRESHOLDS_PUT_IN_STALE_AFTER_S] =
            has_stale ? arena_sprintf(r->op.arena, "%lld", (long long)stale) : NULL,
        [THRESHOLDS_PUT_IN_LEASE_WINDOW_S] =
            has_lease ? arena_sprintf(r->op.arena, "%lld", (long long)lease) : NULL,
        [THRESHOLDS_PUT_IN_USER_ID] =
            r->op.ident->kind == ACCESS_SESSION ? r->op.ident->user_id : NULL,
        [THRESHOLDS_PUT_IN_SLUG] = pr.slug};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_THRESHOLDS_PUT, p)) ||
        audit_log_write(&r->op, "anomaly_thresholds.update", pr.id, pr.slug,
                        PQgetvalue(res, 0, THRESHOLDS_PUT_THRESHOLDS)) ||
        db_commit(&r->op))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, THRESHOLDS_PUT_THRESHOLDS));
}

/* ---- ad-hoc SQL ---- */

/* CSV when asked for by ?format=csv or an Accept header that prefers it. */
static int reports_format(struct req *r, enum db_report_format *fmt)
{
    const char *f = req_query(r, "format"), *accept = req_header(r, "Accept");

    if (f && strcmp(f, "csv") != 0 && strcmp(f, "json") != 0)
        return req_error(r, 400, "invalid_field", "format", "format must be json or csv");
    if (f)
        *fmt = strcmp(f, "csv") == 0 ? DB_REPORT_FORMAT_CSV : DB_REPORT_FORMAT_JSON;
    else
        *fmt = accept && strstr(accept, "text/csv") && !strstr(accept, "application/json")
                   ? DB_REPORT_FORMAT_CSV
                   : DB_REPORT_FORMAT_JSON;
    return 0;
}

static void reports_leave(void *seat)
{
    counters_report_leave(*(int *)seat);
}

/* A seat for one ad-hoc query (counters_report_enter), held to the end of the request:
 * at most RUNWATCH_REPORT_CONCURRENCY run in all workers and RUNWATCH_REPORT_PER_USER of
 * one user or token; beyond, 429 at once, so slow queries never take the workers that
 * producers and health checks need. */
static int reports_admit(struct req *r)
{
    const struct access_ident *id = r->op.ident;
    const char *key = id->user_id ? id->user_id : id->token_id;
    int64_t who = key ? strtoll(key, NULL, 10) : 0;
    int running = 0, rc, *seat = arena_alloc(r->op.arena, sizeof(*seat));

    if (!seat)
        return req_error(r, 500, "internal", NULL, "out of memory");
    if (!id->user_id)
        who = -who;
    /* A request served while this worker waits for another query cannot use its report
     * connection: refused like a full cap, and counted with them. */
    rc = db_report_busy() ? -1
                          : counters_report_enter(who, (int)r->op.cfg->report_concurrency,
                                                  (int)r->op.cfg->report_per_user, &running, seat);
    if (rc == 0) {
        if (arena_defer(r->op.arena, reports_leave, seat) == 0)
            return 0;
        counters_report_leave(*seat);
        return req_error(r, 500, "internal", NULL, "out of memory");
    }
    counters_add(COUNTERS_REPORT_REFUSED, 1);
    req_add_header(r, "Retry-After", "1");
    if (rc == COUNTERS_REPORT_PER_USER)
        return req_error(r, 429, "too_many_queries", NULL,
                         "you have %d queries running, the most at once; retry when one ends",
                         running);
    if (rc == COUNTERS_REPORT_GLOBAL)
        return req_error(r, 429, "too_many_queries", NULL,
                         "%d queries are running, the most at once; retry when one ends", running);
    return req_error(r, 429, "too_many_queries", NULL,
                     "this worker is running a query; retry in a moment");
}

/* Runs sql for the caller, narrowed to project `only` (or all the caller's). The
 * statement is audited first, so even one that fails is on record. */
static int reports_run_sql(struct req *r, const char *sql, const char *only, const char *source,
                           enum db_report_format fmt)
{
    const char *gp[REPORT_GRANT__NIN];
    const char *pid;
    PGresult *res;

    if (reports_admit(r))
        return -1;
    reports_grant_params(r, only, gp);
    if (!(pid = db_report_pid(&r->op)))
        return -1;
    gp[REPORT_GRANT_IN_BACKEND_PID] = pid;
    if (!(res = DB_EXEC(&r->op, DB_STMT_REPORT_GRANT, gp)))
        return -1;
    const char *grant = PQgetvalue(res, 0, REPORT_GRANT_REPORT_GRANT);

    json_object *d = json_object_new_object();
    json_object_object_add(d, "source", json_object_new_string(source));
    json_object_object_add(d, "sql", json_object_new_string_len(sql, (int)strnlen(sql, 2000)));
    if (!req_own_json(r, d) ||
        audit_log_write(&r->op, "report.query", only, NULL, jsonx_to_string(d, NULL)))
        return -1;
    struct db_report_out out;
    if (db_report_run(&r->op, sql, grant, fmt, &out))
        return -1;
    if (out.truncated && fmt == DB_REPORT_FORMAT_CSV)
        req_add_header(r, "X-Runwatch-Truncated", "true");
    if (out.replica_lag_s >= 0 && fmt == DB_REPORT_FORMAT_CSV)
        req_add_header(r, "X-Runwatch-Replica-Lag",
                       arena_sprintf(r->op.arena, "%.3f", out.replica_lag_s));
    r->status = 200;
    r->resp_type = out.type;
    r->resp_body = out.body;
    r->resp_len = out.len;
    return 0;
}

int reports_query(struct req *r)
{
    static const char *const keys[] = {"sql", "project", NULL};
    static const char *const known[] = {"format", NULL};
    json_object *b = r->body_json;
    struct jsonx_err je;
    const char *sql = NULL, *slug = NULL, *only = NULL;
    enum db_report_format fmt;
    struct access_project pr;

    if (req_only_params(r, known) || reports_format(r, &fmt))
        return -1;
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "sql", JSONX_REQUIRED, 1, REPORTS_SQL_MAX, &sql, NULL, &je) ||
        jsonx_string(b, "project", JSONX_NULLABLE, 1, 63, &slug, NULL, &je))
        return req_error_json(r, 400, &je);
    if (slug) {
        if (access_project(&r->op, slug, ACCESS_ROLE_VIEWER, &pr))
            return -1;
        only = pr.id;
    }
    return reports_run_sql(r, sql, only, "adhoc", fmt);
}

/* ---- saved reports ---- */

/* chart: {"type": line|bar|table, "x": column, "y": column or [columns], "series":
 * column, "title": text}. */
static int reports_check_chart(struct req *r, json_object *chart)
{
    static const char *const keys[] = {"type", "x", "y", "series", "title", NULL};
    static const char *const types[] = {"line", "bar", "table", NULL};
    struct jsonx_err je;
    const char *s;
    json_object *y;
    char field[160];

    if (jsonx_only_keys(chart, keys, &je) ||
        jsonx_enum(chart, "type", JSONX_REQUIRED, types, &s, NULL, &je) ||
        jsonx_string(chart, "x", JSONX_NULLABLE, 1, 200, &s, NULL, &je) ||
        jsonx_string(chart, "series", JSONX_NULLABLE, 1, 200, &s, NULL, &je) ||
        jsonx_string(chart, "title", JSONX_NULLABLE, 0, 200, &s, NULL, &je)) {
        snprintf(field, sizeof(field), "chart.%s", je.field);
        return req_error(r, 400, "invalid_field", field, "chart.%s", je.message);
    }
    if (json_object_object_get_ex(chart, "y", &y) && y) {
        int ok = json_object_is_type(y, json_type_string) ||
                 (json_object_is_type(y, json_type_array) && json_object_array_length(y) <= 20);
        for (size_t i = 0;
             ok && json_object_is_type(y, json_type_array) && i < json_object_array_length(y); i++)
            ok = json_object_is_type(json_object_array_get_idx(y, i), json_type_string);
        if (!ok)
            return req_error(r, 400, "invalid_field", "chart.y",
                             "chart.y must be a column name or a list of up to 20");
    }
    return 0;
}

int reports_saved_list(struct req *r)
{
    static const char *const known[] = {"project", NULL};
    const char *only;
    PGresult *res;

    if (req_only_params(r, known) || reports_project(r, &only) || reports_begin(r, only) ||
        !(res = db_exec(&r->op, DB_STMT_SAVED_LIST, NULL, 0)) || db_commit(&r->op))
        return -1;
    _Static_assert(SAVED_LIST_SAVED_REPORT_JSON == 0, "db_page_response splices column 0");
    return req_page_rows(r, res, PQntuples(res), NULL);
}

int reports_saved_create(struct req *r)
{
    static const char *const keys[] = {"project", "name", "sql", "chart", NULL};
    json_object *b = r->body_json, *chart = NULL;
    struct jsonx_err je;
    const char *slug = NULL, *name = NULL, *sql = NULL;
    struct access_project pr;
    PGresult *res;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "project", JSONX_REQUIRED, 1, 63, &slug, NULL, &je) ||
        jsonx_string(b, "name", JSONX_REQUIRED, 1, 200, &name, NULL, &je) ||
        jsonx_string(b, "sql", JSONX_REQUIRED, 1, REPORTS_SQL_MAX, &sql, NULL, &je) ||
        jsonx_child(b, "chart", JSONX_NULLABLE, json_type_object, &chart, NULL, &je))
        return req_error_json(r, 400, &je);
    if ((chart && reports_check_chart(r, chart)) || access_require_user(&r->op) ||
        access_project(&r->op, slug, ACCESS_ROLE_MEMBER, &pr))
        return -1;
    const char *p[SAVED_CREATE__NIN] = {[SAVED_CREATE_IN_PROJECT_ID] = pr.id,
                                        [SAVED_CREATE_IN_OWNER_ID] = r->op.ident->user_id,
                                        [SAVED_CREATE_IN_NAME] = name,
                                        [SAVED_CREATE_IN_SQL] = sql,
                                        [SAVED_CREATE_IN_CHART] =
                                            chart ? jsonx_to_string(chart, NULL) : NULL,
                                        [SAVED_CREATE_IN_SLUG] = pr.slug};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_SAVED_CREATE, p)) ||
        db_commit(&r->op)) {
        req_refine_error(r, 409, "name", "a saved report of this name exists in the project");
        return -1;
    }
    return req_json_text(r, 201, PQgetvalue(res, 0, SAVED_CREATE_SAVED_REPORT_JSON));
}

/* The saved report in the path, checked against the caller's role on its project;
 * *res keeps its row (json, project_id, owner_id, sql). */
static int reports_saved_access(struct req *r, enum access_role min, struct access_project *pr,
                                PGresult **res)
{
    const char *id = req_path_param(r, "report");

    if (!id || !req_is_int(id))
        return req_error(r, 404, "not_found", NULL, "no such saved report");
    const char *p[SAVED_GET__NIN] = {[SAVED_GET_IN_SAVED_ID] = id};
    if (!(*res = DB_EXEC(&r->op, DB_STMT_SAVED_GET, p)))
        return -1;
    if (PQntuples(*res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such saved report");
    return access_project_by_id(&r->op, PQgetvalue(*res, 0, SAVED_GET_PROJECT_ID), min, pr,
                                "saved report");
}

/* Changing a saved report is for its owner and the project's admins. */
static int reports_saved_may_change(struct req *r, const struct access_project *pr, PGresult *res)
{
    if (access_require_user(&r->op))
        return -1;
    if (pr->role >= ACCESS_ROLE_ADMIN ||
        (!PQgetisnull(res, 0, SAVED_GET_OWNER_ID) &&
         strcmp(PQgetvalue(res, 0, SAVED_GET_OWNER_ID), r->op.ident->user_id) == 0))
        return 0;
    return req_error(r, 403, "forbidden", NULL,
                     "only its owner or a project admin may change a saved report");
}

int reports_saved_get(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (reports_saved_access(r, ACCESS_ROLE_VIEWER, &pr, &res))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, SAVED_GET_SAVED_REPORT_JSON));
}

int reports_saved_update(struct req *r)
{
    static const char *const keys[] = {"name", "sql", "chart", NULL};
    json_object *b = r->body_json, *chart = NULL;
    struct jsonx_err je;
    const char *name = NULL, *sql = NULL;
    struct access_project pr;
    PGresult *res, *cur;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "name", JSONX_NULLABLE, 1, 200, &name, NULL, &je) ||
        jsonx_string(b, "sql", JSONX_NULLABLE, 1, REPORTS_SQL_MAX, &sql, NULL, &je) ||
        jsonx_child(b, "chart", JSONX_NULLABLE, json_type_object, &chart, NULL, &je))
        return req_error_json(r, 400, &je);
    if (chart && reports_check_chart(r, chart))
        return -1;
    if (db_begin(&r->op) || reports_saved_access(r, ACCESS_ROLE_VIEWER, &pr, &cur) ||
        reports_saved_may_change(r, &pr, cur))
        return -1;
    const char *p[SAVED_UPDATE__NIN] = {[SAVED_UPDATE_IN_SAVED_ID] = req_path_param(r, "report"),
                                        [SAVED_UPDATE_IN_NAME] = name,
                                        [SAVED_UPDATE_IN_SQL] = sql,
                                        [SAVED_UPDATE_IN_CHART] =
                                            chart ? jsonx_to_string(chart, NULL) : NULL,
                                        [SAVED_UPDATE_IN_SLUG] = pr.slug};
    if (!(res = DB_EXEC(&r->op, DB_STMT_SAVED_UPDATE, p)) || db_commit(&r->op)) {
        req_refine_error(r, 409, "name", "a saved report of this name exists in the project");
        return -1;
    }
    return req_json_text(r, 200, PQgetvalue(res, 0, SAVED_UPDATE_SAVED_REPORT_JSON));
}

int reports_saved_delete(struct req *r)
{
    struct access_project pr;
    PGresult *cur;

    if (db_begin(&r->op) || reports_saved_access(r, ACCESS_ROLE_VIEWER, &pr, &cur) ||
        reports_saved_may_change(r, &pr, cur))
        return -1;
    const char *p[SAVED_DELETE__NIN] = {[SAVED_DELETE_IN_SAVED_ID] = req_path_param(r, "report")};
    if (!DB_EXEC(&r->op, DB_STMT_SAVED_DELETE, p) || db_commit(&r->op))
        return -1;
    r->status = 204;
    return 0;
}

int reports_saved_run(struct req *r)
{
    static const char *const known[] = {"format", NULL};
    enum db_report_format fmt;
    struct access_project pr;
    PGresult *res;

    if (req_only_params(r, known) || reports_format(r, &fmt) ||
        reports_saved_access(r, ACCESS_ROLE_VIEWER, &pr, &res))
        return -1;
    /* Run with the caller's own grant, narrowed to the report's project: a saved report
     * shows each reader what that reader may see. */
    return reports_run_sql(r, PQgetvalue(res, 0, SAVED_GET_SQL), pr.id,
                           arena_sprintf(r->op.arena, "saved:%s", req_path_param(r, "report")),
                           fmt);
}
