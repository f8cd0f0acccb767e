/* metrics: one point or a batch of up to METRICS_MAX_BATCH, validated whole and then
 * written by one statement (jsonb_to_recordset) in one transaction. Reading without a
 * key lists the run's keys with a summary; with ?key=a,b it answers each series,
 * downsampled in PostgreSQL to ?points= buckets (mean, min and max of each) when it is
 * longer, so a chart of a million-step run costs the browser a thousand points. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api/runs.h"
#include "counters.h"
#include "db.h"
#include "pub.h"

/* Keys are names, not text: [A-Za-z0-9_./:-], so "a,b" in a query lists two keys and a
 * key never needs escaping in a URL or a chart legend. */
int metrics_key_ok(const char *k, size_t len)
{
    if (len < 1 || len > 200)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '/' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

static int metrics_check(struct req *r, json_object *m, long idx)
{
    static const char *const keys[] = {"key", "value", "step", "ts", NULL};
    struct jsonx_err je;
    const char *key = NULL, *ts = NULL;
    double value;
    int64_t step;

    if (!json_object_is_type(m, json_type_object))
        return req_error(r, 400, "invalid_field", idx < 0 ? NULL : "metrics",
                         "metrics[%ld] must be an object", idx);
    /* jsonx_number refuses NaN and infinities (JSON has neither). */
    if (jsonx_only_keys(m, keys, &je) ||
        jsonx_string(m, "key", JSONX_REQUIRED, 1, 200, &key, NULL, &je) ||
        jsonx_number(m, "value", JSONX_REQUIRED, -1.7976931348623157e308, 1.7976931348623157e308,
                     &value, NULL, &je) ||
        jsonx_int(m, "step", JSONX_NULLABLE, 0, INT64_MAX, &step, NULL, &je) ||
        jsonx_string(m, "ts", JSONX_NULLABLE, 20, 40, &ts, NULL, &je))
        return req_item_error(r, "metrics", idx, &je);
    if (!metrics_key_ok(key, strlen(key)))
        return req_error(r, 400, "invalid_field",
                         idx < 0 ? "key" : arena_sprintf(r->op.arena, "metrics[%ld].key", idx),
                         "key must be 1 to 200 of A-Z a-z 0-9 _ . / : -");
    if (ts && !jsonx_is_rfc3339(ts))
        return req_error(r, 400, "invalid_field",
                         idx < 0 ? "ts" : arena_sprintf(r->op.arena, "metrics[%ld].ts", idx),
                         "ts must be an RFC 3339 time with a zone");
    return 0;
}

/* The keyed insert answers metric_insert's columns first. */
_Static_assert(METRIC_INSERT_KEYED_PROJECT_ID == METRIC_INSERT_PROJECT_ID &&
                   METRIC_INSERT_KEYED_COUNT == METRIC_INSERT_COUNT &&
                   METRIC_INSERT_KEYED_LATEST == METRIC_INSERT_LATEST &&
                   METRIC_INSERT_KEYED_IN_POINTS == METRIC_INSERT_IN_POINTS,
               "metric_insert_keyed answers metric_insert's columns first");

static int metrics_answer(struct req *r, int status, const char *count)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "count", json_object_new_int64(strtoll(count, NULL, 10)));
    return req_json(r, status, o);
}

int metrics_create(struct req *r)
{
    PGresult *res;
    const char *key;

    json_object *arr = req_batch(r, "metrics", METRICS_MAX_BATCH, metrics_check);
    if (!arr || runs_idempotency_key(r, &key))
        return -1;
    /* Like events: one statement checks access and writes, no lock on the run; with an
     * Idempotency-Key, the statement that also records the key (a retry stores nothing). */
    const char *text = jsonx_to_string(arr, NULL);
    const char *extra[METRIC_INSERT_KEYED__NIN - RUNS_WRITE_NFIXED] = {
        [METRIC_INSERT_KEYED_IN_POINTS - RUNS_WRITE_NFIXED] = text,
        [METRIC_INSERT_KEYED_IN_KEY - RUNS_WRITE_NFIXED] = key};
    if (!(res = key ? runs_write(r, DB_STMT_METRIC_INSERT_KEYED, extra,
                                 METRIC_INSERT_KEYED__NIN - RUNS_WRITE_NFIXED)
                    : runs_write(r, DB_STMT_METRIC_INSERT, extra,
                                 METRIC_INSERT__NIN - RUNS_WRITE_NFIXED)))
        return -1;
    if (key && PQgetvalue(res, 0, METRIC_INSERT_KEYED_STORED)[0] != 't') {
        struct runs_prior prior = {NULL, NULL, NULL};
        int known = !PQgetisnull(res, 0, METRIC_INSERT_KEYED_PRIOR_COUNT);
        if (known)
            prior.count = PQgetvalue(res, 0, METRIC_INSERT_KEYED_PRIOR_COUNT);
        if (runs_batch_prior(r, "metrics", key, text, known,
                             PQgetvalue(res, 0, METRIC_INSERT_KEYED_SAME_BODY), &prior))
            return -1;
        return metrics_answer(r, 200, prior.count);
    }
    const char *count = PQgetvalue(res, 0, METRIC_INSERT_COUNT);
    counters_add(COUNTERS_METRIC_POINTS_STORED, strtoull(count, NULL, 10));
    pub_event(r->op.pub, PQgetvalue(res, 0, METRIC_INSERT_PROJECT_ID), "run.metrics",
              req_path_param(r, "run"),
              arena_sprintf(r->op.arena, "{\"count\":%s,\"latest\":%s}", count,
                            PQgetvalue(res, 0, METRIC_INSERT_LATEST)));
    return metrics_answer(r, 201, count);
}

/* ?key=a,b as a text[] literal. Keys are checked against metrics_key_ok, so none holds
 * a quote, comma, brace or backslash and the literal needs no escaping. */
const char *metrics_keys_param(struct req *r, const char *list)
{
    size_t n = 0, len = strlen(list);
    char *out = arena_alloc(r->op.arena, len + 3);

    if (!out) {
        req_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    for (const char *k = list;; n++) {
        size_t kl = strcspn(k, ",");
        if (!metrics_key_ok(k, kl)) {
            req_error(r, 400, "invalid_field", "key",
                      "key must be a comma-separated list of keys of A-Z a-z 0-9 _ . / : -");
            return NULL;
        }
        if (n >= METRICS_MAX_KEYS) {
            req_error(r, 400, "invalid_field", "key", "at most %d keys at once", METRICS_MAX_KEYS);
            return NULL;
        }
        if (!k[kl])
            break;
        k += kl + 1;
    }
    snprintf(out, len + 3, "{%s}", list);
    return out;
}

int metrics_list(struct req *r)
{
    const char *keys = req_query(r, "key"), *points = req_query(r, "points");
    long npoints = METRICS_DEFAULT_POINTS;
    struct access_project pr;
    PGresult *res;

    if (points) {
        char *end;
        npoints = req_is_int(points) ? strtol(points, &end, 10) : 0;
        if (npoints < 2 || npoints > METRICS_MAX_POINTS)
            return req_error(r, 400, "invalid_field", "points", "points must be 2 to %d",
                             METRICS_MAX_POINTS);
    }
    if (keys && !(keys = metrics_keys_param(r, keys)))
        return -1;
    if (runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *run = req_path_param(r, "run");
    if (!keys) {
        const char *p[METRIC_KEYS__NIN] = {[METRIC_KEYS_IN_RUN] = run};
        if (!(res = DB_EXEC(&r->op, DB_STMT_METRIC_KEYS, p)))
            return -1;
        return req_json_text(
            r, 200,
            arena_sprintf(r->op.arena, "{\"keys\":%s}", PQgetvalue(res, 0, METRIC_KEYS_KEYS)));
    }
    const char *p[METRIC_SERIES__NIN] = {[METRIC_SERIES_IN_RUN] = run,
                                         [METRIC_SERIES_IN_KEYS] = keys,
                                         [METRIC_SERIES_IN_POINTS] =
                                             arena_sprintf(r->op.arena, "%ld", npoints)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_METRIC_SERIES, p)))
        return -1;
    return req_json_text(
        r, 200,
        arena_sprintf(r->op.arena, "{\"series\":%s}", PQgetvalue(res, 0, METRIC_SERIES_SERIES)));
}

/* ?runs=id1,id2,… as a uuid[] literal: 2 to COMPARE_MAX_RUNS distinct run ids (a uuid holds
 * no character the literal would need to escape). */
static const char *compare_runs_param(struct req *r, const char *list)
{
    const char *ids[COMPARE_MAX_RUNS];
    size_t n = 0;

    if (!list || !list[0])
        return req_error(r, 400, "invalid_field", "runs",
                         "runs must list 2 to %d run ids, comma-separated", COMPARE_MAX_RUNS),
               NULL;
    for (const char *k = list;; k++) {
        size_t kl = strcspn(k, ",");
        char id[37];
        if (n >= COMPARE_MAX_RUNS)
            return req_error(r, 400, "invalid_field", "runs", "at most %d runs at once",
                             COMPARE_MAX_RUNS),
                   NULL;
        if (kl != 36 || (memcpy(id, k, 36), id[36] = 0, !jsonx_is_uuid(id)))
            return req_error(r, 400, "invalid_field", "runs", "runs[%zu] must be a run id", n),
                   NULL;
        for (size_t j = 0; j < n; j++)
            if (strncmp(ids[j], k, 36) == 0)
                return req_error(r, 400, "invalid_field", "runs", "runs[%zu] repeats runs[%zu]", n,
                                 j),
                       NULL;
        ids[n++] = k;
        k += kl;
        if (!*k)
            break;
    }
    if (n < 2)
        return req_error(r, 400, "invalid_field", "runs", "runs must list 2 to %d run ids",
                         COMPARE_MAX_RUNS),
               NULL;
    char *out = arena_sprintf(r->op.arena, "{%s}", list);
    if (!out)
        req_error(r, 500, "internal", NULL, "out of memory");
    return out;
}

int metrics_compare(struct req *r)
{
    static const char *const known[] = {"project", "runs", "key", "points", NULL};
    const char *keys = req_query(r, "key"), *points = req_query(r, "points"), *runs;
    struct access_project pr;
    PGresult *res;

    if (req_only_params(r, known))
        return -1;
    if (!(runs = compare_runs_param(r, req_query(r, "runs"))))
        return -1;
    if (points) {
        long np = req_is_int(points) ? strtol(points, NULL, 10) : 0;
        if (np < 2 || np > METRICS_MAX_POINTS)
            return req_error(r, 400, "invalid_field", "points", "points must be 2 to %d",
                             METRICS_MAX_POINTS);
    }
    if (keys && !(keys = metrics_keys_param(r, keys)))
        return -1;
    /* A viewer's of the project, as GET /runs/{run}/metrics asks of each run's; a run of
     * another project is not one of this project's (404 below), whoever asks. */
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[METRIC_COMPARE__NIN] = {[METRIC_COMPARE_IN_PROJECT_ID] = pr.id,
                                          [METRIC_COMPARE_IN_RUNS] = runs,
                                          [METRIC_COMPARE_IN_KEYS] = keys,
                                          [METRIC_COMPARE_IN_POINTS] = points,
                                          [METRIC_COMPARE_IN_MAX_TOTAL] =
                                              arena_sprintf(r->op.arena, "%d", COMPARE_MAX_POINTS)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_METRIC_COMPARE, p)))
        return -1;
    if (!PQgetisnull(res, 0, METRIC_COMPARE_MISSING))
        return req_error(r, 404, "not_found", "runs", "no such run in this project: %s",
                         PQgetvalue(res, 0, METRIC_COMPARE_MISSING));
    if (PQgetisnull(res, 0, METRIC_COMPARE_ITEMS)) {
        json_object *d = json_object_new_object();
        const char *total = PQgetvalue(res, 0, METRIC_COMPARE_TOTAL);
        req_error(r, 413, "answer_too_large", points ? "points" : "runs",
                  "the answer would hold %s points, past the most of %d: ask for fewer "
                  "points, keys or runs",
                  total, COMPARE_MAX_POINTS);
        json_object_object_add(d, "total", json_object_new_int64(strtoll(total, NULL, 10)));
        json_object_object_add(d, "max_total", json_object_new_int(COMPARE_MAX_POINTS));
        req_error_details(r, d);
        return -1;
    }
    return req_json_text(r, 200,
                         arena_sprintf(r->op.arena, "{\"points\":%s,\"total\":%s,\"items\":%s}",
                                       PQgetvalue(res, 0, METRIC_COMPARE_POINTS),
                                       PQgetvalue(res, 0, METRIC_COMPARE_TOTAL),
                                       PQgetvalue(res, 0, METRIC_COMPARE_ITEMS)));
}
