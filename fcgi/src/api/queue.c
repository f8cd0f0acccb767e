/* queue: attempts and claims.
 * - A run's status follows its latest attempt: starting an attempt runs the run; ending
 *   the latest attempt ends the run the same way, or sends it to `retrying` when the
 *   producer says it will retry.
 * - A claim takes the highest-priority, oldest queued run of a queue with FOR UPDATE
 *   SKIP LOCKED, so concurrent claimers never wait for or double-claim a run, and starts
 *   it as a new attempt holding a lease. Before claiming, the same transaction reclaims
 *   the queue's runs whose lease lapsed: their attempt fails with `lease_expired` and
 *   the run is queued again. A worker keeps its lease by beating (runs heartbeat). */
#include "queue.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/auth.h"
#include "api/runs.h"
#include "config.h"
#include "db.h"
#include "pub.h"

static const char *const attempt_end_statuses[] = {"running", "succeeded", "failed", "cancelled",
                                                   NULL};

int attempts_list(struct req *r)
{
    struct auth_project pr;
    PGresult *res;

    if (runs_access(r, AUTH_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[ATTEMPT_LIST__NIN] = {[ATTEMPT_LIST_IN_RUN] = req_path_param(r, "run")};
    if (!(res = DB_EXEC(r, DB_STMT_ATTEMPT_LIST, p)))
        return -1;
    return db_page_response(r, res, PQntuples(res), NULL);
}

/* worker_id (optional) must be a worker of the project that is not stopped. */
static int queue_check_worker(struct req *r, const char *worker, const char *project_id)
{
    PGresult *res;
    const char *p[WORKER_IN_PROJECT__NIN] = {
        [WORKER_IN_PROJECT_IN_WORKER_ID] = worker, [WORKER_IN_PROJECT_IN_PROJECT_ID] = project_id};

    if (!worker)
        return 0;
    if (!(res = DB_EXEC(r, DB_STMT_WORKER_IN_PROJECT, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 422, "invalid_reference", "worker_id",
                         "worker_id is not a worker of this project");
    if (strcmp(PQgetvalue(res, 0, WORKER_IN_PROJECT_STATUS), "stopped") == 0)
        return req_error(r, 409, "worker_stopped", "worker_id",
                         "this worker has stopped; register it again");
    return 0;
}

/* Lapsed leases of a queue are looked for at most once a second per worker process, not
 * before every claim: leases are whole seconds, so a lapsed run waits at most about a
 * second longer, and claims on a busy queue skip a statement each. A collision in this
 * small table only means an extra look. */
static int queue_expiry_due(const char *project, const char *queue)
{
    static struct {
        unsigned long hash;
        time_t at;
    } seen[64];
    unsigned long h = 5381;
    struct timespec now;

    for (const char *c = project; *c; c++)
        h = h * 33 + (unsigned char)*c;
    h = h * 33 + '/';
    for (const char *c = queue; *c; c++)
        h = h * 33 + (unsigned char)*c;
    clock_gettime(CLOCK_MONOTONIC, &now);
    size_t slot = h % (sizeof(seen) / sizeof(seen[0]));
    if (seen[slot].hash == h && seen[slot].at == now.tv_sec)
        return 0;
    seen[slot].hash = h;
    seen[slot].at = now.tv_sec;
    return 1;
}

/* Reads {worker_id?, lease_s?} style fields shared by attempts and claims. */
static int queue_worker_fields(struct req *r, json_object *b, unsigned worker_flags,
                               const char **worker, const char **lease)
{
    struct jsonx_err je;
    int64_t w = 0, l = 0;
    int has_w = 0, has_l = 0;

    if (jsonx_int(b, "worker_id", worker_flags, 1, INT64_MAX, &w, &has_w, &je) ||
        jsonx_int(b, "lease_s", JSONX_NULLABLE, 1, 86400, &l, &has_l, &je))
        return req_error_json(r, 400, &je);
    *worker = has_w ? arena_sprintf(r->arena, "%lld", (long long)w) : NULL;
    *lease = has_l ? arena_sprintf(r->arena, "%lld", (long long)l) : NULL;
    return 0;
}

int attempts_start(struct req *r)
{
    static const char *const keys[] = {"worker_id", "lease_s", NULL};
    struct jsonx_err je;
    struct auth_project pr;
    const char *worker, *lease;
    json_object *b = req_json_body_opt(r);
    PGresult *res;

    if (!b)
        return -1;
    if (jsonx_only_keys(b, keys, &je))
        return req_error_json(r, 400, &je);
    if (queue_worker_fields(r, b, JSONX_NULLABLE, &worker, &lease))
        return -1;
    if (db_begin(r) || runs_access(r, AUTH_ROLE_MEMBER, RUNS_LOCK_STATUS, &pr, NULL))
        return -1;
    /* One running attempt at a time. A run created as running has none yet and may
     * adopt its first one here. */
    const char *pl[ATTEMPT_LATEST__NIN] = {[ATTEMPT_LATEST_IN_RUN] = req_path_param(r, "run")};
    if (!(res = DB_EXEC(r, DB_STMT_ATTEMPT_LATEST, pl)))
        return -1;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, ATTEMPT_LATEST_STATUS), "running") == 0)
        return req_error(r, 409, "attempt_running", "status",
                         "attempt %s is still running: end it before starting another",
                         PQgetvalue(res, 0, ATTEMPT_LATEST_SEQ));
    if (queue_check_worker(r, worker, pr.id))
        return -1;
    const char *p[ATTEMPT_START__NIN] = {[ATTEMPT_START_IN_RUN] = req_path_param(r, "run"),
                                         [ATTEMPT_START_IN_WORKER_ID] = worker,
                                         [ATTEMPT_START_IN_LEASE_S] = lease};
    if (!(res = DB_EXEC(r, DB_STMT_ATTEMPT_START, p)) || db_commit(r))
        return -1;
    const char *json = PQgetvalue(res, 0, ATTEMPT_START_RUN_JSON);
    pub_event(r->pub, pr.id, "run.updated", req_path_param(r, "run"), json);
    return req_json_text(r, 201, json);
}

int attempts_update(struct req *r)
{
    static const char *const keys[] = {"status", "error", "retry", NULL};
    static const char *const ekeys[] = {"type", "message", "traceback", NULL};
    json_object *b = r->body_json, *err = NULL;
    struct jsonx_err je;
    const char *to = NULL, *etype = NULL, *emsg = NULL, *etb = NULL,
               *seq = req_path_param(r, "seq");
    int retry = 0;
    struct auth_project pr;
    PGresult *res;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_enum(b, "status", JSONX_REQUIRED, attempt_end_statuses, &to, NULL, &je) ||
        jsonx_child(b, "error", JSONX_NULLABLE, json_type_object, &err, NULL, &je) ||
        jsonx_bool(b, "retry", JSONX_NULLABLE, &retry, NULL, &je))
        return req_error_json(r, 400, &je);
    if (err && (jsonx_only_keys(err, ekeys, &je) ||
                jsonx_string(err, "type", JSONX_NULLABLE, 1, 200, &etype, NULL, &je) ||
                jsonx_string(err, "message", JSONX_NULLABLE, 0, 10000, &emsg, NULL, &je) ||
                jsonx_string(err, "traceback", JSONX_NULLABLE, 0, 100000, &etb, NULL, &je)))
        return req_error(r, 400, "invalid_field", arena_sprintf(r->arena, "error.%s", je.field),
                         "error.%s", je.message);
    if (retry && strcmp(to, "failed") != 0)
        return req_error(r, 422, "invalid_value", "retry", "retry goes with status failed");
    if (!seq || !req_is_int(seq) || strlen(seq) > 9)
        return req_error(r, 404, "not_found", NULL, "no such attempt");
    if (db_begin(r) || runs_access(r, AUTH_ROLE_MEMBER, RUNS_LOCK_STATUS, &pr, NULL))
        return -1;
    const char *pl[ATTEMPT_LOCK__NIN] = {
        [ATTEMPT_LOCK_IN_RUN] = req_path_param(r, "run"), [ATTEMPT_LOCK_IN_SEQ] = seq};
    if (!(res = DB_EXEC(r, DB_STMT_ATTEMPT_LOCK, pl)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such attempt");
    int latest = PQgetvalue(res, 0, ATTEMPT_LOCK_IS_LATEST)[0] == 't';
    /* Illegal moves of the attempt or of the run are the lifecycle trigger's 409. */
    const char *pf[ATTEMPT_FINISH__NIN] = {[ATTEMPT_FINISH_IN_RUN] = req_path_param(r, "run"),
                                           [ATTEMPT_FINISH_IN_SEQ] = seq,
                                           [ATTEMPT_FINISH_IN_STATUS] = to,
                                           [ATTEMPT_FINISH_IN_ERROR_TYPE] = etype,
                                           [ATTEMPT_FINISH_IN_ERROR_MESSAGE] = emsg,
                                           [ATTEMPT_FINISH_IN_TRACEBACK] = etb};
    if (!DB_EXEC(r, DB_STMT_ATTEMPT_FINISH, pf))
        return -1;
    /* The run follows its latest attempt. */
    const char *run_to = latest && strcmp(to, "running") != 0 ? (retry ? "retrying" : to) : NULL;
    if (run_to) {
        const char *pu[RUN_UPDATE__NIN] = {[RUN_UPDATE_IN_RUN] = req_path_param(r, "run"),
                                           [RUN_UPDATE_IN_STATUS] = run_to,
                                           [RUN_UPDATE_IN_PROGRESS] = NULL,
                                           [RUN_UPDATE_IN_RESULT] = NULL,
                                           [RUN_UPDATE_IN_ERROR_TYPE] = etype,
                                           [RUN_UPDATE_IN_ERROR_MESSAGE] = emsg,
                                           [RUN_UPDATE_IN_TRACEBACK] = etb,
                                           [RUN_UPDATE_IN_SUMMARY] = NULL,
                                           [RUN_UPDATE_IN_TAGS] = NULL};
        res = DB_EXEC(r, DB_STMT_RUN_UPDATE, pu);
    } else {
        /* An older attempt, or one still running: the run itself does not change. */
        const char *pg[RUN_GET__NIN] = {[RUN_GET_IN_RUN] = req_path_param(r, "run")};
        res = DB_EXEC(r, DB_STMT_RUN_GET, pg);
    }
    if (!res || db_commit(r))
        return -1;
    /* res is run_update's or run_get's: the run's JSON first in both. */
    _Static_assert(RUN_UPDATE_RUN_JSON == RUN_GET_RUN_JSON, "run_update and run_get differ");
    const char *json = PQgetvalue(res, 0, RUN_GET_RUN_JSON);
    pub_event(r->pub, pr.id, "run.updated", req_path_param(r, "run"), json);
    return req_json_text(r, 200, json);
}

int queue_claim(struct req *r)
{
    static const char *const keys[] = {"project", "worker_id", "lease_s", "kinds", NULL};
    json_object *b = r->body_json, *kinds = NULL;
    struct jsonx_err je;
    const char *slug = NULL, *worker, *lease, *kind_arr = NULL, *queue = req_path_param(r, "queue");
    struct auth_project pr;
    PGresult *res;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "project", JSONX_NULLABLE, 1, 63, &slug, NULL, &je) ||
        jsonx_child(b, "kinds", JSONX_NULLABLE, json_type_array, &kinds, NULL, &je))
        return req_error_json(r, 400, &je);
    if (queue_worker_fields(r, b, JSONX_REQUIRED, &worker, &lease))
        return -1;
    if (!lease)
        lease = "300";
    if (!queue || strlen(queue) > 200)
        return req_error(r, 404, "not_found", NULL, "no such queue");
    if (kinds) {
        /* A text[] literal from validated names: quoted, with " and \ escaped. */
        size_t n = json_object_array_length(kinds), cap = 3;
        if (n == 0 || n > 100)
            return req_error(r, 422, "invalid_value", "kinds", "kinds holds 1 to 100 names");
        for (size_t i = 0; i < n; i++) {
            json_object *k = json_object_array_get_idx(kinds, i);
            if (!k || !json_object_is_type(k, json_type_string) ||
                json_object_get_string_len(k) < 1 || json_object_get_string_len(k) > 200)
                return req_error(r, 422, "invalid_value", "kinds",
                                 "kinds must be names of 1 to 200 bytes");
            cap += 2 * (size_t)json_object_get_string_len(k) + 3;
        }
        char *lit = arena_alloc(r->arena, cap), *o = lit;
        if (!lit)
            return req_error(r, 500, "internal", NULL, "out of memory");
        *o++ = '{';
        for (size_t i = 0; i < n; i++) {
            if (i)
                *o++ = ',';
            *o++ = '"';
            for (const char *c = json_object_get_string(json_object_array_get_idx(kinds, i)); *c;
                 c++) {
                if (*c == '"' || *c == '\\')
                    *o++ = '\\';
                *o++ = *c;
            }
            *o++ = '"';
        }
        *o++ = '}';
        *o = '\0';
        kind_arr = lit;
    }
    /* A token that may write claims in its own project: nothing to look up. */
    if (!slug && r->auth->kind == AUTH_TOKEN && r->auth->token_role >= AUTH_ROLE_MEMBER) {
        pr.id = r->auth->token_project_id;
    } else if (!slug && r->auth->kind == AUTH_TOKEN) {
        if (auth_project_by_id(r, r->auth->token_project_id, AUTH_ROLE_MEMBER, &pr, "project"))
            return -1;
    } else if (!slug) {
        return req_error(r, 400, "invalid_field", "project", "project is required");
    } else if (auth_project(r, slug, AUTH_ROLE_MEMBER, &pr)) {
        return -1;
    }
    /* Lapsed leases first (their runs are claimable again), each expiry and the claim an
     * autocommitted statement of its own: an expiry stands whether or not a claim
     * follows. */
    if (queue_expiry_due(pr.id, queue)) {
        const char *pe[LEASE_EXPIRE__NIN] = {
            [LEASE_EXPIRE_IN_PROJECT_ID] = pr.id, [LEASE_EXPIRE_IN_QUEUE] = queue};
        PGresult *expired = DB_EXEC(r, DB_STMT_LEASE_EXPIRE, pe);
        if (!expired)
            return -1;
        for (int i = 0; i < PQntuples(expired); i++)
            pub_event(r->pub, pr.id, "run.updated", PQgetvalue(expired, i, LEASE_EXPIRE_ID),
                      "{\"status\":\"queued\",\"reason\":\"lease_expired\"}");
    }
    const char *pc[CLAIM__NIN] = {[CLAIM_IN_PROJECT_ID] = pr.id,
                                  [CLAIM_IN_QUEUE] = queue,
                                  [CLAIM_IN_KINDS] = kind_arr,
                                  [CLAIM_IN_WORKER_ID] = worker,
                                  [CLAIM_IN_LEASE_S] = lease};
    if (!(res = DB_EXEC(r, DB_STMT_CLAIM, pc)))
        return -1;
    if (PQgetvalue(res, 0, CLAIM_MAY_CLAIM)[0] != 't') {
        /* The worker may not claim: say why (not of this project, or stopped). */
        if (queue_check_worker(r, worker, pr.id) == 0)
            req_error(r, 409, "conflict", "worker_id", "the worker changed meanwhile; retry");
        return -1;
    }
    if (PQgetisnull(res, 0, CLAIM_ID)) {
        r->status = 204;
        return 0;
    }
    const char *json = PQgetvalue(res, 0, CLAIM_RUN_JSON);
    pub_event(r->pub, pr.id, "run.updated", PQgetvalue(res, 0, CLAIM_ID), json);
    return req_json_text(r, 200, json);
}
