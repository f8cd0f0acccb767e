/* prom: GET /api/v1/metrics, the Prometheus text exposition (format 0.0.4) of
 * runwatch-api. Two sources: the shared request counters of every worker (counters.c)
 * and one grouped query over PostgreSQL (runs by status and project, the run start/end
 * counters of migration 0008, stuck runs). A database outage still answers 200 with the
 * process counters and runwatch_database_up 0, so Prometheus tells "API down" from
 * "database down".
 *
 * Access: the exposition covers every project, so it is for the operator: the metrics
 * token (`Authorization: Bearer rwm_…`, the contents of RUNWATCH_METRICS_TOKEN_FILE, which
 * deploy/stack.sh generates; Prometheus sends it from a credentials_file) or a signed-in
 * instance admin. nginx serves it at /metrics as well, to RUNWATCH_METRICS_ALLOW addresses
 * only; an address is not an identity (a reverse proxy on the same host is 127.0.0.1 to
 * nginx), so the token is required there too. Project tokens are refused: they see one
 * project, this shows all of them. */
#include "prom.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "access.h"
#include "counters.h"
#include "db.h"
#include "db_report.h"
#include "config.h"
#include "log.h"
#include "router.h"
#include "sha256.h"

static const char *const prom_statuses[] = {"queued",    "running", "retrying",
                                            "succeeded", "failed",  "cancelled"};
static const char *const prom_final[] = {"succeeded", "failed", "cancelled"};
/* prom_runs answers the statuses, then the final counters, in these arrays' orders. */
_Static_assert(PROM_RUNS_RUNNING == PROM_RUNS_QUEUED + 1 &&
                   PROM_RUNS_RETRYING == PROM_RUNS_QUEUED + 2 &&
                   PROM_RUNS_SUCCEEDED == PROM_RUNS_QUEUED + 3 &&
                   PROM_RUNS_FAILED == PROM_RUNS_QUEUED + 4 &&
                   PROM_RUNS_CANCELLED == PROM_RUNS_QUEUED + 5 &&
                   PROM_RUNS_FAILED_TOTAL == PROM_RUNS_SUCCEEDED_TOTAL + 1 &&
                   PROM_RUNS_CANCELLED_TOTAL == PROM_RUNS_SUCCEEDED_TOTAL + 2,
               "prom_runs' columns are not in prom_statuses' and prom_final's order");
static const char *const prom_classes[COUNTERS_CLASSES] = {"2xx", "3xx", "4xx", "5xx"};

/* A label value: backslash, double quote and newline escaped, as the format says. */
static void prom_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*v, f);
    }
}

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_scalar(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
    prom_head(f, name, type, help);
    fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void prom_requests(FILE *f)
{
    size_t n = counters_routes();
    struct counters_hist h;
    const char *method, *pattern;

    prom_head(f, "runwatch_http_requests_total", "counter",
              "Requests answered, by route pattern and status class.");
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < COUNTERS_CLASSES; c++) {
            counters_route_total(i, c, &h);
            if (!h.count)
                continue;
            counters_route_name(i, &method, &pattern);
            fprintf(f, "runwatch_http_requests_total{method=\"%s\",route=\"", method);
            prom_label(f, pattern);
            fprintf(f, "\",status_class=\"%s\"} %llu\n", prom_classes[c],
                    (unsigned long long)h.count);
        }

    prom_head(f, "runwatch_http_request_duration_seconds", "histogram",
              "Time from the request reaching a worker to its response, by route pattern "
              "and status class.");
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < COUNTERS_CLASSES; c++) {
            uint64_t cum = 0;
            counters_route_total(i, c, &h);
            if (!h.count)
                continue;
            counters_route_name(i, &method, &pattern);
            for (int b = 0; b < COUNTERS_BUCKETS; b++)
                cum += h.bucket[b];
            /* The slots are read while workers add to them: keep the series consistent
             * (the count is never below a bucket). */
            if (h.count < cum)
                h.count = cum;
            cum = 0;
            for (int b = 0; b <= COUNTERS_BUCKETS; b++) {
                fputs("runwatch_http_request_duration_seconds_bucket{method=\"", f);
                fputs(method, f);
                fputs("\",route=\"", f);
                prom_label(f, pattern);
                fprintf(f, "\",status_class=\"%s\",le=\"", prom_classes[c]);
                if (b < COUNTERS_BUCKETS) {
                    cum += h.bucket[b];
                    fprintf(f, "%g\"} %llu\n", counters_bucket_le[b], (unsigned long long)cum);
                } else {
                    fprintf(f, "+Inf\"} %llu\n", (unsigned long long)h.count);
                }
            }
            fprintf(f, "runwatch_http_request_duration_seconds_sum{method=\"%s\",route=\"", method);
            prom_label(f, pattern);
            fprintf(f, "\",status_class=\"%s\"} %.6f\n", prom_classes[c], (double)h.sum_us / 1e6);
            fprintf(f, "runwatch_http_request_duration_seconds_count{method=\"%s\",route=\"",
                    method);
            prom_label(f, pattern);
            fprintf(f, "\",status_class=\"%s\"} %llu\n", prom_classes[c],
                    (unsigned long long)h.count);
        }
}

/* One counter's series by one label: name{label="value"} for each value. */
struct prom_value {
    enum counters_scalar k;
    const char *value;
};

static void prom_labelled(FILE *f, const char *name, const char *help, const char *label,
                          const struct prom_value *v, size_t n)
{
    prom_head(f, name, "counter", help);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, v[i].value,
                (unsigned long long)counters_total(v[i].k));
}

#define PROM_LABELLED(f, name, help, label, values)                                                \
    prom_labelled((f), (name), (help), (label), (values), sizeof(values) / sizeof((values)[0]))

static void prom_process(FILE *f)
{
    static const struct prom_value db_kinds[] = {
        {COUNTERS_DB_UNAVAILABLE, "unavailable"},
        {COUNTERS_DB_TIMEOUT, "timeout"},
        {COUNTERS_DB_RETRY, "retry"},
        {COUNTERS_DB_INTERNAL, "internal"},
    };
    static const struct prom_value auth_cache[] = {
        {COUNTERS_AUTH_CACHE_HIT, "hit"},
        {COUNTERS_AUTH_CACHE_MISS, "miss"},
    };
    static const struct prom_value list_pages[] = {
        {COUNTERS_LIST_WHOLE, "whole"},
        {COUNTERS_LIST_PROBED, "probed"},
        {COUNTERS_LIST_REREAD, "reread"},
    };
    static const struct prom_value probed_runs[] = {
        {COUNTERS_LIST_RUNS_CACHED, "cached"},
        {COUNTERS_LIST_RUNS_READ, "read"},
    };

    prom_scalar(f, "runwatch_events_stored_total", "counter",
                "Run events stored through the API (each item of a batch counts).",
                counters_total(COUNTERS_EVENTS_STORED));
    prom_scalar(f, "runwatch_metric_points_stored_total", "counter",
                "Metric points stored through the API (each item of a batch counts).",
                counters_total(COUNTERS_METRIC_POINTS_STORED));
    prom_scalar(f, "runwatch_redis_published_total", "counter",
                "Live events published to Redis after COMMIT.",
                counters_total(COUNTERS_PUB_PUBLISHED));
    prom_scalar(f, "runwatch_redis_publish_failures_total", "counter",
                "Live events not published (Redis down or slow); the write itself succeeded.",
                counters_total(COUNTERS_PUB_DROPPED));
    PROM_LABELLED(f, "runwatch_db_errors_total",
                  "PostgreSQL failures the API answered with 5xx, by kind.", "kind", db_kinds);
    PROM_LABELLED(f, "runwatch_auth_cache_lookups_total",
                  "Identities of requests answered from a worker's cache (hit) or looked up in "
                  "PostgreSQL (miss), while the cache is on (RUNWATCH_AUTH_CACHE_S).",
                  "result", auth_cache);
    PROM_LABELLED(f, "runwatch_run_list_pages_total",
                  "Run list pages by how they were read: whole, from a probe of ids and "
                  "versions with the runs a worker holds rendered (probed), or whole after a "
                  "probe found a run changed meanwhile (reread).",
                  "read", list_pages);
    PROM_LABELLED(f, "runwatch_run_list_probed_runs_total",
                  "Runs of probed run list pages, written from a worker's rendered runs "
                  "(cached) or read by id (read) (RUNWATCH_RUN_CACHE_MB).",
                  "source", probed_runs);
    prom_scalar(f, "runwatch_report_queries_running", "gauge",
                "Ad-hoc SQL queries running now (RUNWATCH_REPORT_CONCURRENCY at most).",
                (uint64_t)counters_report_running());
    prom_scalar(f, "runwatch_report_queries_refused_total", "counter",
                "Ad-hoc SQL queries refused with 429 by the concurrency caps.",
                counters_total(COUNTERS_REPORT_REFUSED));
    prom_scalar(f, "runwatch_write_batches_total", "counter",
                "Groups of single writes (one event, a claim) committed as one transaction.",
                counters_total(COUNTERS_WRITE_BATCHES));
    prom_scalar(f, "runwatch_write_batched_requests_total", "counter",
                "Requests whose write was committed in such a group.",
                counters_total(COUNTERS_WRITE_BATCHED));
    prom_scalar(f, "runwatch_write_batch_fallbacks_total", "counter",
                "Groups that did not commit (a statement failed, or the connection): each write "
                "ran again alone.",
                counters_total(COUNTERS_WRITE_BATCH_FALLBACKS));
    prom_scalar(f, "runwatch_write_merged_requests_total", "counter",
                "Requests of committed groups whose write shared one statement with another's "
                "(claims of one queue): the statements saved.",
                counters_total(COUNTERS_WRITE_MERGED));
    prom_scalar(f, "runwatch_api_worker_starts_total", "counter",
                "API worker processes started by the master (restarts and reloads included).",
                counters_worker_starts());
    prom_head(f, "runwatch_api_start_time_seconds", "gauge",
              "When the API master started counting (Unix time); counters restart from zero "
              "then.");
    fprintf(f, "runwatch_api_start_time_seconds %lld\n", (long long)counters_created_at());
}

/* The PostgreSQL part, queried before anything is printed so that a failure of this
 * very query is in the counters below. A failed query is reported as
 * runwatch_database_up 0 and the request carries on (its error is cleared, the process
 * counters still go out). */
static PGresult *prom_query(struct req *r)
{
    PGresult *res = db_exec(&r->op, DB_STMT_PROM_RUNS, NULL, 0);

    if (!res) {
        log_warn("metrics: runs query failed: %s", r->op.err.message ? r->op.err.message : "-");
        op_clear(&r->op); /* its Retry-After too: req_render would add it */
    }
    return res;
}

static void prom_database(FILE *f, PGresult *res)
{
    int n;

    prom_head(f, "runwatch_database_up", "gauge",
              "1 when this scrape's query of PostgreSQL succeeded.");
    fprintf(f, "runwatch_database_up %d\n", res ? 1 : 0);
    if (!res)
        return;
    n = PQntuples(res);
    prom_head(f, "runwatch_runs", "gauge", "Runs stored now, by project and status.");
    for (int i = 0; i < n; i++)
        for (int s = 0; s < 6; s++) {
            fputs("runwatch_runs{project=\"", f);
            prom_label(f, PQgetvalue(res, i, PROM_RUNS_SLUG));
            fprintf(f, "\",status=\"%s\"} %s\n", prom_statuses[s],
                    PQgetvalue(res, i, PROM_RUNS_QUEUED + s));
        }
    prom_head(f, "runwatch_runs_started_total", "counter",
              "Runs that started (first start only), by project.");
    for (int i = 0; i < n; i++) {
        fputs("runwatch_runs_started_total{project=\"", f);
        prom_label(f, PQgetvalue(res, i, PROM_RUNS_SLUG));
        fprintf(f, "\"} %s\n", PQgetvalue(res, i, PROM_RUNS_STARTED_TOTAL));
    }
    prom_head(f, "runwatch_runs_finished_total", "counter",
              "Runs that reached a final status, by project and status.");
    for (int i = 0; i < n; i++)
        for (int s = 0; s < 3; s++) {
            fputs("runwatch_runs_finished_total{project=\"", f);
            prom_label(f, PQgetvalue(res, i, PROM_RUNS_SLUG));
            fprintf(f, "\",status=\"%s\"} %s\n", prom_final[s],
                    PQgetvalue(res, i, PROM_RUNS_SUCCEEDED_TOTAL + s));
        }
    prom_head(f, "runwatch_runs_stuck", "gauge",
              "Running runs without a heartbeat past the project's stuck threshold.");
    for (int i = 0; i < n; i++) {
        fputs("runwatch_runs_stuck{project=\"", f);
        prom_label(f, PQgetvalue(res, i, PROM_RUNS_SLUG));
        fprintf(f, "\"} %s\n", PQgetvalue(res, i, PROM_RUNS_STUCK));
    }
}

/* The ad-hoc SQL database: reachable or not, and when it is a streaming replica
 * (RUNWATCH_REPORT_DATABASE_URL), how far its replay is behind (docs/OPERATIONS.md). A
 * failure is this scrape's gauge, never its error; a worker whose own ad-hoc query holds
 * the connection leaves the three out of this scrape. */
static void prom_report(FILE *f, struct req *r)
{
    int standby = 0;
    double lag = -1;
    int rc = db_report_replica(&r->op, &standby, &lag), up = rc == 0;

    if (rc == 1) /* busy with this worker's own query: the next scrape will say */
        return;
    if (!up)
        op_clear(&r->op);
    prom_head(f, "runwatch_report_database_up", "gauge",
              "1 when this scrape reached the database ad-hoc SQL reads from.");
    fprintf(f, "runwatch_report_database_up %d\n", up);
    prom_head(f, "runwatch_report_database_standby", "gauge",
              "1 when ad-hoc SQL reads from a streaming replica.");
    fprintf(f, "runwatch_report_database_standby %d\n", standby);
    if (standby && lag >= 0) {
        prom_head(f, "runwatch_report_replica_lag_seconds", "gauge",
                  "Seconds since the last commit the replica replayed (its lag while the "
                  "primary writes).");
        fprintf(f, "runwatch_report_replica_lag_seconds %.3f\n", lag);
    }
}

/* The metrics token's prefix: an API token (rw_…) is never mistaken for it, and a metrics
 * token never reaches the database's token lookup. */
#define PROM_TOKEN_PREFIX "rwm_"

/* 1 when the request carries the metrics token as its bearer token. The file is read on
 * each scrape (one every 15 s or so), so a new token takes effect without a restart. A
 * missing or empty file matches nothing. Digests are compared, so the time taken does not
 * tell how much of a guess was right. */
static int prom_has_metrics_token(const struct req *r)
{
    const char *authz = req_header(r, "Authorization");
    const char *path = r->op.cfg ? r->op.cfg->metrics_token_file : "";
    char buf[256];
    uint8_t want[SHA256_DIGEST], got[SHA256_DIGEST];
    unsigned diff = 0;
    ssize_t n;
    size_t len;
    int fd;

    if (!authz || strncasecmp(authz, "Bearer ", 7) != 0)
        return 0;
    authz += 7;
    while (*authz == ' ')
        authz++;
    if (strncmp(authz, PROM_TOKEN_PREFIX, sizeof(PROM_TOKEN_PREFIX) - 1) != 0 || !*path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("metrics: cannot read the metrics token file %s: %s", path, strerror(errno));
        return 0;
    }
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return 0;
    len = (size_t)n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    if (len <= sizeof(PROM_TOKEN_PREFIX) - 1)
        return 0;
    sha256_digest(buf, len, want);
    sha256_digest(authz, strlen(authz), got);
    explicit_bzero(buf, sizeof(buf));
    for (size_t i = 0; i < SHA256_DIGEST; i++)
        diff |= (unsigned)(want[i] ^ got[i]);
    return diff == 0;
}

static void prom_free(void *p)
{
    free(p);
}

int prom_metrics(struct req *r)
{
    /* The route is public so that the metrics token needs no database lookup; everyone
     * else is resolved here as on any other route. */
    static const struct route signed_in = {"GET", "/api/v1/metrics", prom_metrics, 0};
    char *buf = NULL;
    size_t len = 0;
    PGresult *res;
    FILE *f;

    if (!prom_has_metrics_token(r) &&
        (access_guard(r, &signed_in) != 0 || access_require_instance_admin(&r->op) != 0))
        return -1;
    res = prom_query(r);
    f = open_memstream(&buf, &len);
    if (!f)
        return req_error(r, 500, "internal", NULL, "out of memory");
    prom_requests(f);
    prom_process(f);
    prom_database(f, res);
    prom_report(f, r);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return req_error(r, 500, "internal", NULL, "out of memory");
    }
    if (arena_defer(r->op.arena, prom_free, buf) != 0)
        return req_error(r, 500, "internal", NULL, "out of memory");
    r->status = 200;
    r->resp_type = "text/plain; version=0.0.4; charset=utf-8";
    r->resp_body = buf;
    r->resp_len = len;
    return 0;
}
