/* agl: the agent-lightning store. agent-lightning's LightningStoreClient talks to it as to its
 * own store server; each endpoint is one statement calling one function of
 * sql/functions/80_agl.sql, which holds the store's semantics (docs/AGENT_LIGHTNING.md). This
 * file checks who asks (a project token: the project is the store), what agent-lightning's
 * request models refuse before its store runs (an explicit null where none may be, a
 * malformed body), and publishes what the functions changed after their COMMIT.
 * - Errors are answered in agent-lightning's shapes (req.c, r->agl): 400 and 422
 *   {"detail"}, 500 {"detail", "error_type"}; its client retries on 5xx and on nothing else.
 * - Lookups that miss answer 200 null, as the original does. */
#include "agl.h"

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "config.h"
#include "db.h"
#include "pub.h"

/* The project of the store: the token's own. Reads need a read token, writes a write one. */
static const char *agl_project(struct req *r, enum access_role min)
{
    const char *p = access_own_project(&r->op, min);

    if (!p) {
        if (r->op.ident->kind == ACCESS_TOKEN)
            req_error(r, 403, "forbidden", NULL, "this token may not %s",
                      min >= ACCESS_ROLE_MEMBER ? "write" : "read");
        else
            req_error(r, 403, "forbidden", NULL,
                      "the agent-lightning store is a project's: send a project token");
    }
    return p;
}

/* Publishes each {project, type, run, data} of the function's list (after COMMIT). */
static void agl_publish(struct req *r, const char *list)
{
    struct jsonx_err je;
    json_object *arr;

    if (!list || !*list || !(arr = req_own_json(r, jsonx_parse(list, strlen(list), &je))))
        return;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(arr, i), *v;
        const char *project = NULL, *type = NULL, *run = NULL, *data = "{}";
        if (json_object_object_get_ex(m, "project", &v))
            project = json_object_get_string(v);
        if (json_object_object_get_ex(m, "type", &v))
            type = json_object_get_string(v);
        if (json_object_object_get_ex(m, "run", &v))
            run = json_object_get_string(v);
        if (json_object_object_get_ex(m, "data", &v))
            data = jsonx_to_string(v, NULL);
        if (project && type)
            pub_event(r->op.pub, project, type, run, data);
    }
}

/* Every statement answers its body first, and writes what to publish second. */
_Static_assert(AGL_ENQUEUE_ANSWER == 0 && AGL_ENQUEUE_PUBLISH == 1 && AGL_ROLLOUT_GET_ANSWER == 0 &&
                   AGL_SPAN_ADD_PUBLISH == 1,
               "agl statements answer (answer, publish)");

/* Runs stmt and answers its body with status; a SQL NULL is JSON null. */
static int agl_answer(struct req *r, enum db_stmt_id stmt, const char *const *p, int np, int status)
{
    PGresult *res = db_exec(&r->op, stmt, p, np);

    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 500, "internal", NULL, "no answer");
    /* Every statement's columns are AGL_ENQUEUE's (the assertion above). */
    if (PQnfields(res) > AGL_ENQUEUE_PUBLISH && !PQgetisnull(res, 0, AGL_ENQUEUE_PUBLISH))
        agl_publish(r, PQgetvalue(res, 0, AGL_ENQUEUE_PUBLISH));
    return req_json_text(
        r, status,
        PQgetisnull(res, 0, AGL_ENQUEUE_ANSWER) ? "null" : PQgetvalue(res, 0, AGL_ENQUEUE_ANSWER));
}

/* The body as text: what the router parsed (routes with a JSON body), else the optional
 * body, {} when there is none. */
static const char *agl_body(struct req *r)
{
    json_object *b = r->body_json ? r->body_json : req_json_body_opt(r);
    return b ? jsonx_to_string(b, NULL) : NULL;
}

/* A body key that must not be an explicit null (agent-lightning's update models): 400. */
static int agl_not_null(struct req *r, json_object *b, const char *const *keys)
{
    json_object *v;
    for (int i = 0; keys[i]; i++)
        if (json_object_object_get_ex(b, keys[i], &v) && !v)
            return req_error(r, 400, "invalid_value", keys[i], "%s cannot be null", keys[i]);
    return 0;
}

/* The query string as the JSON of the matching POST …/search body: *_in keys as lists
 * (repeated keys, as FastAPI reads them), limit and offset as numbers when they are
 * integers (else strings, which the functions refuse as 422), the rest as strings. */
static const char *agl_query_json(struct req *r)
{
    json_object *o = req_own_json(r, json_object_new_object());

    if (!o)
        return NULL;
    for (size_t i = 0; i < r->n_query_params; i++) {
        const char *k = r->query_params[i].name, *v = r->query_params[i].value;
        size_t kl = strlen(k);
        json_object *cur;
        if (kl > 3 && strcmp(k + kl - 3, "_in") == 0) {
            if (!json_object_object_get_ex(o, k, &cur)) {
                cur = json_object_new_array();
                json_object_object_add(o, k, cur);
            }
            json_object_array_add(cur, json_object_new_string(v));
        } else if ((strcmp(k, "limit") == 0 || strcmp(k, "offset") == 0) &&
                   (req_is_int(v) || (v[0] == '-' && req_is_int(v + 1))) && strlen(v) < 18) {
            json_object_object_add(o, k, json_object_new_int64(strtoll(v, NULL, 10)));
        } else {
            json_object_object_add(o, k, json_object_new_string(v));
        }
    }
    return jsonx_to_string(o, NULL);
}

/* Secrets in what a producer sends are redacted before they are stored, as for runs
 * (docs/ARCHITECTURE.md, "Redaction"): a rollout's input and metadata. */
static void agl_redact_rollout(struct req *r, json_object *item)
{
    json_object *v;
    if (!json_object_is_type(item, json_type_object))
        return;
    if (json_object_object_get_ex(item, "input", &v) && v)
        jsonx_redact(v, r->op.cfg->redact_keys);
    if (json_object_object_get_ex(item, "metadata", &v) && v)
        jsonx_redact(v, r->op.cfg->redact_keys);
}

int agl_health(struct req *r)
{
    return req_json_text(r, 200, "{\"status\":\"ok\"}");
}

int agl_enqueue(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);
    json_object *list;

    if (!proj)
        return -1;
    if (json_object_object_get_ex(r->body_json, "rollouts", &list) &&
        json_object_is_type(list, json_type_array))
        for (size_t i = 0; i < json_object_array_length(list); i++)
            agl_redact_rollout(r, json_object_array_get_idx(list, i));
    const char *p[AGL_ENQUEUE__NIN] = {[AGL_ENQUEUE_IN_PROJECT] = proj,
                                       [AGL_ENQUEUE_IN_QUEUE] = AGL_QUEUE,
                                       [AGL_ENQUEUE_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_ENQUEUE, p, AGL_ENQUEUE__NIN, 201);
}

int agl_dequeue(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER), *worker = NULL;
    json_object *b = proj ? req_json_body_opt(r) : NULL;
    struct jsonx_err je;
    int64_t limit = 1;

    if (!b)
        return -1;
    if (jsonx_int(b, "limit", JSONX_NULLABLE, INT32_MIN, INT32_MAX, &limit, NULL, &je) ||
        jsonx_string(b, "worker_id", JSONX_NULLABLE, 0, 200, &worker, NULL, &je))
        return req_error_json(r, 422, &je);
    const char *p[AGL_DEQUEUE__NIN] = {[AGL_DEQUEUE_IN_PROJECT] = proj,
                                       [AGL_DEQUEUE_IN_QUEUE] = AGL_QUEUE,
                                       [AGL_DEQUEUE_IN_LIM] =
                                           arena_sprintf(r->op.arena, "%lld", (long long)limit),
                                       [AGL_DEQUEUE_IN_WORKER] = worker};
    return agl_answer(r, DB_STMT_AGL_DEQUEUE, p, AGL_DEQUEUE__NIN, 200);
}

int agl_rollouts_start(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);

    if (!proj)
        return -1;
    agl_redact_rollout(r, r->body_json);
    const char *p[AGL_START_ROLLOUT__NIN] = {[AGL_START_ROLLOUT_IN_PROJECT] = proj,
                                             [AGL_START_ROLLOUT_IN_QUEUE] = AGL_QUEUE,
                                             [AGL_START_ROLLOUT_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_START_ROLLOUT, p, AGL_START_ROLLOUT__NIN, 201);
}

static int agl_rollouts_query(struct req *r, const char *query)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj || !query)
        return -1;
    const char *p[AGL_ROLLOUTS_QUERY__NIN] = {
        [AGL_ROLLOUTS_QUERY_IN_PROJECT] = proj, [AGL_ROLLOUTS_QUERY_IN_QUERY] = query};
    return agl_answer(r, DB_STMT_AGL_ROLLOUTS_QUERY, p, AGL_ROLLOUTS_QUERY__NIN, 200);
}

int agl_rollouts_list(struct req *r)
{
    return agl_rollouts_query(r, agl_query_json(r));
}

int agl_rollouts_search(struct req *r)
{
    return agl_rollouts_query(r, agl_body(r));
}

int agl_rollouts_get(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj)
        return -1;
    const char *p[AGL_ROLLOUT_GET__NIN] = {[AGL_ROLLOUT_GET_IN_PROJECT] = proj,
                                           [AGL_ROLLOUT_GET_IN_ID] = req_path_param(r, "rollout")};
    return agl_answer(r, DB_STMT_AGL_ROLLOUT_GET, p, AGL_ROLLOUT_GET__NIN, 200);
}

int agl_rollouts_update(struct req *r)
{
    static const char *const never_null[] = {"status", "config", NULL};
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);

    if (!proj || agl_not_null(r, r->body_json, never_null))
        return -1;
    agl_redact_rollout(r, r->body_json);
    const char *p[AGL_ROLLOUT_UPDATE__NIN] = {[AGL_ROLLOUT_UPDATE_IN_PROJECT] = proj,
                                              [AGL_ROLLOUT_UPDATE_IN_ID] =
                                                  req_path_param(r, "rollout"),
                                              [AGL_ROLLOUT_UPDATE_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_ROLLOUT_UPDATE, p, AGL_ROLLOUT_UPDATE__NIN, 200);
}

int agl_waits(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj)
        return -1;
    const char *p[AGL_WAIT__NIN] = {[AGL_WAIT_IN_PROJECT] = proj, [AGL_WAIT_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_WAIT, p, AGL_WAIT__NIN, 200);
}

int agl_attempts_start(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER), *body = proj ? agl_body(r) : NULL;
    if (!body)
        return -1;
    const char *p[AGL_ATTEMPT_START__NIN] = {[AGL_ATTEMPT_START_IN_PROJECT] = proj,
                                             [AGL_ATTEMPT_START_IN_ID] =
                                                 req_path_param(r, "rollout"),
                                             [AGL_ATTEMPT_START_IN_BODY] = body};
    return agl_answer(r, DB_STMT_AGL_ATTEMPT_START, p, AGL_ATTEMPT_START__NIN, 201);
}

static int agl_attempts_query(struct req *r, const char *query)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj || !query)
        return -1;
    const char *p[AGL_ATTEMPTS_QUERY__NIN] = {[AGL_ATTEMPTS_QUERY_IN_PROJECT] = proj,
                                              [AGL_ATTEMPTS_QUERY_IN_ID] =
                                                  req_path_param(r, "rollout"),
                                              [AGL_ATTEMPTS_QUERY_IN_QUERY] = query};
    return agl_answer(r, DB_STMT_AGL_ATTEMPTS_QUERY, p, AGL_ATTEMPTS_QUERY__NIN, 200);
}

int agl_attempts_list(struct req *r)
{
    return agl_attempts_query(r, agl_query_json(r));
}

int agl_attempts_search(struct req *r)
{
    return agl_attempts_query(r, agl_body(r));
}

int agl_attempts_latest(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj)
        return -1;
    const char *p[AGL_ATTEMPT_LATEST__NIN] = {[AGL_ATTEMPT_LATEST_IN_PROJECT] = proj,
                                              [AGL_ATTEMPT_LATEST_IN_ID] =
                                                  req_path_param(r, "rollout")};
    return agl_answer(r, DB_STMT_AGL_ATTEMPT_LATEST, p, AGL_ATTEMPT_LATEST__NIN, 200);
}

int agl_attempts_update(struct req *r)
{
    static const char *const never_null[] = {"status", "worker_id", "last_heartbeat_time",
                                             "metadata", NULL};
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);
    json_object *v;

    if (!proj || agl_not_null(r, r->body_json, never_null))
        return -1;
    if (json_object_object_get_ex(r->body_json, "metadata", &v))
        jsonx_redact(v, r->op.cfg->redact_keys);
    const char *p[AGL_ATTEMPT_UPDATE__NIN] = {
        [AGL_ATTEMPT_UPDATE_IN_PROJECT] = proj,
        [AGL_ATTEMPT_UPDATE_IN_ID] = req_path_param(r, "rollout"),
        [AGL_ATTEMPT_UPDATE_IN_ATTEMPT] = req_path_param(r, "attempt"),
        [AGL_ATTEMPT_UPDATE_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_ATTEMPT_UPDATE, p, AGL_ATTEMPT_UPDATE__NIN, 200);
}

static int agl_workers_query(struct req *r, const char *query)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj || !query)
        return -1;
    const char *p[AGL_WORKERS_QUERY__NIN] = {
        [AGL_WORKERS_QUERY_IN_PROJECT] = proj, [AGL_WORKERS_QUERY_IN_QUERY] = query};
    return agl_answer(r, DB_STMT_AGL_WORKERS_QUERY, p, AGL_WORKERS_QUERY__NIN, 200);
}

int agl_workers_list(struct req *r)
{
    return agl_workers_query(r, agl_query_json(r));
}

int agl_workers_search(struct req *r)
{
    return agl_workers_query(r, agl_body(r));
}

int agl_workers_get(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj)
        return -1;
    const char *p[AGL_WORKER_GET__NIN] = {
        [AGL_WORKER_GET_IN_PROJECT] = proj, [AGL_WORKER_GET_IN_NAME] = req_path_param(r, "worker")};
    return agl_answer(r, DB_STMT_AGL_WORKER_GET, p, AGL_WORKER_GET__NIN, 200);
}

int agl_workers_beat(struct req *r)
{
    static const char *const never_null[] = {"heartbeat_stats", NULL};
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);
    json_object *b = proj ? req_json_body_opt(r) : NULL;

    if (!b || agl_not_null(r, b, never_null))
        return -1;
    r->body_json = b;
    const char *p[AGL_WORKER_BEAT__NIN] = {[AGL_WORKER_BEAT_IN_PROJECT] = proj,
                                           [AGL_WORKER_BEAT_IN_NAME] = req_path_param(r, "worker"),
                                           [AGL_WORKER_BEAT_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_WORKER_BEAT, p, AGL_WORKER_BEAT__NIN, 200);
}

int agl_resources_list(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER), *query = proj ? agl_query_json(r) : NULL;
    if (!query)
        return -1;
    const char *p[AGL_RESOURCES_QUERY__NIN] = {
        [AGL_RESOURCES_QUERY_IN_PROJECT] = proj, [AGL_RESOURCES_QUERY_IN_QUERY] = query};
    return agl_answer(r, DB_STMT_AGL_RESOURCES_QUERY, p, AGL_RESOURCES_QUERY__NIN, 200);
}

/* Resources are kept as sent: an LLM resource's api_key is what its runners need to call it
 * (docs/AGENT_LIGHTNING.md says so). */
int agl_resources_add(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);
    if (!proj)
        return -1;
    const char *p[AGL_RESOURCES_ADD__NIN] = {
        [AGL_RESOURCES_ADD_IN_PROJECT] = proj, [AGL_RESOURCES_ADD_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_RESOURCES_ADD, p, AGL_RESOURCES_ADD__NIN, 201);
}

int agl_resources_latest(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj)
        return -1;
    const char *p[AGL_RESOURCES_LATEST__NIN] = {[AGL_RESOURCES_LATEST_IN_PROJECT] = proj};
    return agl_answer(r, DB_STMT_AGL_RESOURCES_LATEST, p, AGL_RESOURCES_LATEST__NIN, 200);
}

int agl_resources_get(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj)
        return -1;
    const char *p[AGL_RESOURCES_GET__NIN] = {[AGL_RESOURCES_GET_IN_PROJECT] = proj,
                                             [AGL_RESOURCES_GET_IN_ID] =
                                                 req_path_param(r, "resources")};
    return agl_answer(r, DB_STMT_AGL_RESOURCES_GET, p, AGL_RESOURCES_GET__NIN, 200);
}

int agl_resources_update(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);
    const char *id = req_path_param(r, "resources");
    if (!proj)
        return -1;
    if (strlen(id) > 200)
        return req_error(r, 422, "invalid_value", "resources_id", "resources_id is too long");
    const char *p[AGL_RESOURCES_UPDATE__NIN] = {[AGL_RESOURCES_UPDATE_IN_PROJECT] = proj,
                                                [AGL_RESOURCES_UPDATE_IN_ID] = id,
                                                [AGL_RESOURCES_UPDATE_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_RESOURCES_UPDATE, p, AGL_RESOURCES_UPDATE__NIN, 200);
}

int agl_spans_add(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);
    if (!proj)
        return -1;
    const char *p[AGL_SPAN_ADD__NIN] = {
        [AGL_SPAN_ADD_IN_PROJECT] = proj, [AGL_SPAN_ADD_IN_SPAN] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_SPAN_ADD, p, AGL_SPAN_ADD__NIN, 201);
}

static int agl_spans_query(struct req *r, const char *query)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj || !query)
        return -1;
    const char *p[AGL_SPANS_QUERY__NIN] = {
        [AGL_SPANS_QUERY_IN_PROJECT] = proj, [AGL_SPANS_QUERY_IN_QUERY] = query};
    return agl_answer(r, DB_STMT_AGL_SPANS_QUERY, p, AGL_SPANS_QUERY__NIN, 200);
}

int agl_spans_list(struct req *r)
{
    return agl_spans_query(r, agl_query_json(r));
}

int agl_spans_search(struct req *r)
{
    return agl_spans_query(r, agl_body(r));
}

int agl_spans_next(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_MEMBER);
    if (!proj)
        return -1;
    const char *p[AGL_SPAN_NEXT__NIN] = {
        [AGL_SPAN_NEXT_IN_PROJECT] = proj, [AGL_SPAN_NEXT_IN_BODY] = agl_body(r)};
    return agl_answer(r, DB_STMT_AGL_SPAN_NEXT, p, AGL_SPAN_NEXT__NIN, 200);
}

int agl_statistics(struct req *r)
{
    const char *proj = agl_project(r, ACCESS_ROLE_VIEWER);
    if (!proj)
        return -1;
    const char *p[AGL_STATISTICS__NIN] = {[AGL_STATISTICS_IN_PROJECT] = proj};
    return agl_answer(r, DB_STMT_AGL_STATISTICS, p, AGL_STATISTICS__NIN, 200);
}
