/* queue: claims (a run's attempts are api/attempts.c's).
 * - A claim takes the highest-priority, oldest queued run of a queue with FOR UPDATE
 *   SKIP LOCKED, so concurrent claimers never wait for or double-claim a run, and starts
 *   it as a new attempt holding a lease. Before claiming, the same transaction reclaims
 *   the queue's runs whose lease lapsed: their attempt fails with `lease_expired` and
 *   the run is queued again. A worker keeps its lease by beating (runs heartbeat). */
#include "queue.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "api/runs.h"
#include "config.h"
#include "db.h"
#include "group.h"
#include "pub.h"

/* worker_id (optional) must be a worker of the project that is not stopped. */
int queue_check_worker(struct req *r, const char *worker, const char *project_id)
{
    PGresult *res;
    const char *p[WORKER_IN_PROJECT__NIN] = {
        [WORKER_IN_PROJECT_IN_WORKER_ID] = worker, [WORKER_IN_PROJECT_IN_PROJECT_ID] = project_id};

    if (!worker)
        return 0;
    if (!(res = DB_EXEC(&r->op, DB_STMT_WORKER_IN_PROJECT, p)))
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
int queue_worker_fields(struct req *r, json_object *b, unsigned worker_flags, const char **worker,
                        const char **lease)
{
    struct jsonx_err je;
    int64_t w = 0, l = 0;
    int has_w = 0, has_l = 0;

    if (jsonx_int(b, "worker_id", worker_flags, 1, INT64_MAX, &w, &has_w, &je) ||
        jsonx_int(b, "lease_s", JSONX_NULLABLE, 1, 86400, &l, &has_l, &je))
        return req_error_json(r, 400, &je);
    *worker = has_w ? arena_sprintf(r->op.arena, "%lld", (long long)w) : NULL;
    *lease = has_l ? arena_sprintf(r->op.arena, "%lld", (long long)l) : NULL;
    return 0;
}

static int queue_claimed(struct req *r, PGresult *res);

int queue_claim(struct req *r)
{
    static const char *const keys[] = {"project", "worker_id", "lease_s", "kinds", NULL};
    json_object *b = r->body_json, *kinds = NULL;
    struct jsonx_err je;
    const char *slug = NULL, *worker, *lease, *kind_arr = NULL, *queue = req_path_param(r, "queue");
    struct access_project pr;

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
        char *lit = arena_alloc(r->op.arena, cap), *o = lit;
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
    if (!slug && r->op.ident->kind == ACCESS_TOKEN &&
        r->op.ident->token_role >= ACCESS_ROLE_MEMBER) {
        pr.id = r->op.ident->token_project_id;
    } else if (access_project_for(&r->op, slug, "project", ACCESS_ROLE_MEMBER, &pr)) {
        return -1;
    }
    /* Lapsed leases first (their runs are claimable again), each expiry and the claim an
     * autocommitted statement of its own: an expiry stands whether or not a claim
     * follows. */
    if (queue_expiry_due(pr.id, queue)) {
        const char *pe[LEASE_EXPIRE__NIN] = {
            [LEASE_EXPIRE_IN_PROJECT_ID] = pr.id, [LEASE_EXPIRE_IN_QUEUE] = queue};
        PGresult *expired = DB_EXEC(&r->op, DB_STMT_LEASE_EXPIRE, pe);
        if (!expired)
            return -1;
        for (int i = 0; i < PQntuples(expired); i++)
            pub_event(r->op.pub, pr.id, "run.updated", PQgetvalue(expired, i, LEASE_EXPIRE_ID),
                      "{\"status\":\"queued\",\"reason\":\"lease_expired\"}");
    }
    const char *pc[CLAIM__NIN] = {[CLAIM_IN_PROJECT_ID] = pr.id,
                                  [CLAIM_IN_QUEUE] = queue,
                                  [CLAIM_IN_KINDS] = kind_arr,
                                  [CLAIM_IN_WORKER_ID] = worker,
                                  [CLAIM_IN_LEASE_S] = lease};
    /* The claim may share its commit with other requests' writes (group_write). Two claims
     * in one transaction take two runs: the second statement sees the first's run as
     * running, so it no longer matches. The claims of a group for the same queue and kinds
     * go as one statement (claim_group): one walk of the claim index for all of them. */
    return group_write_merge(r, DB_STMT_CLAIM, pc, CLAIM__NIN, queue_claimed, DB_STMT_CLAIM_GROUP,
                             CLAIM_IN_WORKER_ID);
}

/* claim_group takes claim's parameters, the ones from worker_id on as arrays, and answers
 * claim's columns, a row a claim. */
_Static_assert(CLAIM_GROUP__NIN == CLAIM__NIN && CLAIM_GROUP_IN_PROJECT_ID == CLAIM_IN_PROJECT_ID &&
                   CLAIM_GROUP_IN_QUEUE == CLAIM_IN_QUEUE &&
                   CLAIM_GROUP_IN_KINDS == CLAIM_IN_KINDS &&
                   CLAIM_GROUP_IN_WORKER_ID == CLAIM_IN_WORKER_ID &&
                   CLAIM_GROUP_IN_LEASE_S == CLAIM_IN_LEASE_S &&
                   CLAIM_GROUP_MAY_CLAIM == CLAIM_MAY_CLAIM &&
                   CLAIM_GROUP_RUN_JSON == CLAIM_RUN_JSON && CLAIM_GROUP_ID == CLAIM_ID,
               "claim_group must mirror claim");

/* After the COMMIT: the claimed run (or none) is answered and published. */
static int queue_claimed(struct req *r, PGresult *res)
{
    const char *project = r->write.params[CLAIM_IN_PROJECT_ID],
               *worker = r->write.params[CLAIM_IN_WORKER_ID];
    int row = r->write.row; /* this claim's row (claim_group answers a row a claim) */

    if (row < 0 || row >= PQntuples(res))
        return req_error(r, 500, "internal", NULL, "internal error");
    if (PQgetvalue(res, row, CLAIM_MAY_CLAIM)[0] != 't') {
        /* The worker may not claim: say why (not of this project, or stopped). */
        if (queue_check_worker(r, worker, project) == 0)
            req_error(r, 409, "conflict", "worker_id", "the worker changed meanwhile; retry");
        return -1;
    }
    if (PQgetisnull(res, row, CLAIM_ID)) {
        r->status = 204;
        return 0;
    }
    const char *json = PQgetvalue(res, row, CLAIM_RUN_JSON);
    pub_event(r->op.pub, project, "run.updated", PQgetvalue(res, row, CLAIM_ID), json);
    return req_json_text(r, 200, json);
}
