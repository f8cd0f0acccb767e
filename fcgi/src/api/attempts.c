/* attempts: the attempts of a run.
 * - A run's status follows its latest attempt: starting an attempt runs the run; ending
 *   the latest attempt ends the run the same way, or sends it to `retrying` when the
 *   producer says it will retry.
 * - A claim (api/queue.c) starts an attempt too, holding a lease. */
#include "attempts.h"

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api/queue.h"
#include "api/runs.h"
#include "config.h"
#include "db.h"
#include "pub.h"

static const char *const attempt_end_statuses[] = {"running", "succeeded", "failed", "cancelled",
                                                   NULL};

int attempts_list(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[ATTEMPT_LIST__NIN] = {[ATTEMPT_LIST_IN_RUN] = req_path_param(r, "run")};
    if (!(res = DB_EXEC(&r->op, DB_STMT_ATTEMPT_LIST, p)))
        return -1;
    return req_page_rows(r, res, PQntuples(res), NULL);
}

int attempts_start(struct req *r)
{
    static const char *const keys[] = {"worker_id", "lease_s", NULL};
    struct jsonx_err je;
    struct access_project pr;
    const char *worker, *lease;
    json_object *b = req_json_body_opt(r);
    PGresult *res;

    if (!b)
        return -1;
    if (jsonx_only_keys(b, keys, &je))
        return req_error_json(r, 400, &je);
    if (queue_worker_fields(r, b, JSONX_NULLABLE, &worker, &lease))
        return -1;
    if (db_begin(&r->op) || runs_access(r, ACCESS_ROLE_MEMBER, RUNS_LOCK_STATUS, &pr, NULL))
        return -1;
    /* One running attempt at a time. A run created as running has none yet and may
     * adopt its first one here. */
    const char *pl[ATTEMPT_LATEST__NIN] = {[ATTEMPT_LATEST_IN_RUN] = req_path_param(r, "run")};
    if (!(res = DB_EXEC(&r->op, DB_STMT_ATTEMPT_LATEST, pl)))
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
    if (!(res = DB_EXEC(&r->op, DB_STMT_ATTEMPT_START, p)) || db_commit(&r->op))
        return -1;
    const char *json = PQgetvalue(res, 0, ATTEMPT_START_RUN_JSON);
    pub_event(r->op.pub, pr.id, "run.updated", req_path_param(r, "run"), json);
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
    struct access_project pr;
    PGresult *res;

    /* A traceback may quote a connection string: redacted before the getters point into it. */
    jsonx_redact(b, r->op.cfg->redact_keys);
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_enum(b, "status", JSONX_REQUIRED, attempt_end_statuses, &to, NULL, &je) ||
        jsonx_child(b, "error", JSONX_NULLABLE, json_type_object, &err, NULL, &je) ||
        jsonx_bool(b, "retry", JSONX_NULLABLE, &retry, NULL, &je))
        return req_error_json(r, 400, &je);
    if (err && (jsonx_only_keys(err, ekeys, &je) ||
                jsonx_string(err, "type", JSONX_NULLABLE, 1, 200, &etype, NULL, &je) ||
                jsonx_string(err, "message", JSONX_NULLABLE, 0, 10000, &emsg, NULL, &je) ||
                jsonx_string(err, "traceback", JSONX_NULLABLE, 0, 100000, &etb, NULL, &je)))
        return req_error(r, 400, "invalid_field", arena_sprintf(r->op.arena, "error.%s", je.field),
                         "error.%s", je.message);
    if (retry && strcmp(to, "failed") != 0)
        return req_error(r, 422, "invalid_value", "retry", "retry goes with status failed");
    if (!seq || !req_is_int(seq) || strlen(seq) > 9)
        return req_error(r, 404, "not_found", NULL, "no such attempt");
    if (db_begin(&r->op) || runs_access(r, ACCESS_ROLE_MEMBER, RUNS_LOCK_STATUS, &pr, NULL))
        return -1;
    const char *pl[ATTEMPT_LOCK__NIN] = {
        [ATTEMPT_LOCK_IN_RUN] = req_path_param(r, "run"), [ATTEMPT_LOCK_IN_SEQ] = seq};
    if (!(res = DB_EXEC(&r->op, DB_STMT_ATTEMPT_LOCK, pl)))
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
    if (!DB_EXEC(&r->op, DB_STMT_ATTEMPT_FINISH, pf))
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
        res = DB_EXEC(&r->op, DB_STMT_RUN_UPDATE, pu);
    } else {
        /* An older attempt, or one still running: the run itself does not change. */
        const char *pg[RUN_GET__NIN] = {[RUN_GET_IN_RUN] = req_path_param(r, "run")};
        res = DB_EXEC(&r->op, DB_STMT_RUN_GET, pg);
    }
    if (!res || db_commit(&r->op))
        return -1;
    /* res is run_update's or run_get's: the run's JSON first in both. */
    _Static_assert(RUN_UPDATE_RUN_JSON == RUN_GET_RUN_JSON, "run_update and run_get differ");
    const char *json = PQgetvalue(res, 0, RUN_GET_RUN_JSON);
    pub_event(r->op.pub, pr.id, "run.updated", req_path_param(r, "run"), json);
    return req_json_text(r, 200, json);
}
