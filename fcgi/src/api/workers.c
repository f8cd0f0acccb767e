/* workers: a worker registers under a name (registering again starts a new session on
 * the same row, keeping the fields it leaves out), beats with an optional resource
 * sample (kept a week for the worker's page), logs lines of its own (worker events, kept
 * like a run's events: migration 0031), and stops. Stopping with runs
 * in flight leaves an `interrupted` event on each, so the run's page says why it went
 * quiet. Worker JSON is made by worker_json() in sql/functions/10_json.sql. */
#include "workers.h"

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api/events.h"
#include "db.h"
#include "pub.h"

#define WORKERS_MAX_SAMPLE 4096

static const char *const worker_statuses[] = {"online", "idle", "busy", "draining", NULL};

/* The worker in the path, checked against the caller's role on its project. */
static int workers_access(struct req *r, enum access_role min, struct access_project *pr,
                          const char **status, const char **name)
{
    const char *id = req_path_param(r, "worker");
    PGresult *res;

    if (!id || !req_is_int(id))
        return req_error(r, 404, "not_found", NULL, "no such worker");
    const char *p[WORKER_GET__NIN] = {[WORKER_GET_IN_WORKER_ID] = id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_WORKER_GET, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such worker");
    if (status)
        *status = PQgetvalue(res, 0, WORKER_GET_STATUS);
    if (name)
        *name = PQgetvalue(res, 0, WORKER_GET_NAME);
    return access_project_by_id(&r->op, PQgetvalue(res, 0, WORKER_GET_PROJECT_ID), min, pr,
                                "worker");
}

int workers_register(struct req *r)
{
    static const char *const keys[] = {"project", "name", "host", "pid", "labels", "kinds", NULL};
    json_object *b = r->body_json, *labels = NULL, *kinds = NULL;
    struct jsonx_err je;
    const char *slug = NULL, *name = NULL, *host = NULL;
    int64_t pid = 0;
    int has_pid = 0;
    struct access_project pr;
    PGresult *res;

    /* Labels are free-form: redacted first, before the getters point into the tree. */
    jsonx_redact(b, r->op.cfg->redact_keys);
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_string(b, "project", JSONX_NULLABLE, 1, 63, &slug, NULL, &je) ||
        jsonx_string(b, "name", JSONX_REQUIRED, 1, 200, &name, NULL, &je) ||
        jsonx_string(b, "host", JSONX_NULLABLE, 0, 255, &host, NULL, &je) ||
        jsonx_int(b, "pid", JSONX_NULLABLE, 0, 2147483647, &pid, &has_pid, &je) ||
        jsonx_child(b, "labels", JSONX_NULLABLE, json_type_object, &labels, NULL, &je) ||
        jsonx_child(b, "kinds", JSONX_NULLABLE, json_type_array, &kinds, NULL, &je))
        return req_error_json(r, 400, &je);
    for (size_t i = 0; kinds && i < json_object_array_length(kinds); i++) {
        json_object *k = json_object_array_get_idx(kinds, i);
        if (!k || !json_object_is_type(k, json_type_string) || json_object_get_string_len(k) < 1 ||
            json_object_get_string_len(k) > 200 || i >= 100)
            return req_error(r, 422, "invalid_value", "kinds",
                             "kinds must be at most 100 names of 1 to 200 bytes");
    }
    if (access_project_for(&r->op, slug, "project", ACCESS_ROLE_MEMBER, &pr))
        return -1;
    const char *p[WORKER_REGISTER__NIN] = {
        [WORKER_REGISTER_IN_PROJECT_ID] = pr.id,
        [WORKER_REGISTER_IN_NAME] = name,
        [WORKER_REGISTER_IN_HOST] = host,
        [WORKER_REGISTER_IN_PID] =
            has_pid ? arena_sprintf(r->op.arena, "%lld", (long long)pid) : NULL,
        [WORKER_REGISTER_IN_LABELS] = labels ? jsonx_to_string(labels, NULL) : NULL,
        [WORKER_REGISTER_IN_KINDS] = kinds ? jsonx_to_string(kinds, NULL) : NULL};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_WORKER_REGISTER, p)) ||
        db_commit(&r->op))
        return -1;
    const char *json = PQgetvalue(res, 0, WORKER_REGISTER_WORKER_JSON);
    pub_event(r->op.pub, pr.id, "worker.updated", NULL, json);
    return req_json_text(r, PQgetvalue(res, 0, WORKER_REGISTER_CREATED)[0] == 't' ? 201 : 200,
                         json);
}

int workers_list(struct req *r)
{
    const char *status = req_query(r, "status");
    struct access_project pr;
    PGresult *res;

    if (status && strcmp(status, "stopped") != 0) {
        int ok = 0;
        for (int i = 0; worker_statuses[i]; i++)
            ok |= strcmp(worker_statuses[i], status) == 0;
        if (!ok)
            return req_error(r, 400, "invalid_field", "status",
                             "status must be online, idle, busy, draining or stopped");
    }
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[WORKER_LIST__NIN] = {
        [WORKER_LIST_IN_PROJECT_ID] = pr.id, [WORKER_LIST_IN_STATUS] = status};
    if (!(res = DB_EXEC(&r->op, DB_STMT_WORKER_LIST, p)))
        return -1;
    return req_page_rows(r, res, PQntuples(res), NULL);
}

int workers_get(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (workers_access(r, ACCESS_ROLE_VIEWER, &pr, NULL, NULL))
        return -1;
    const char *p[WORKER_DETAIL__NIN] = {[WORKER_DETAIL_IN_WORKER_ID] =
                                             req_path_param(r, "worker")};
    if (!(res = DB_EXEC(&r->op, DB_STMT_WORKER_DETAIL, p)))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, WORKER_DETAIL_DETAIL));
}

int workers_heartbeat(struct req *r)
{
    static const char *const keys[] = {"status", "resources", NULL};
    json_object *b = req_json_body_opt(r), *resources = NULL;
    struct jsonx_err je;
    const char *status = NULL, *cur;
    struct access_project pr;
    PGresult *res;

    if (!b)
        return -1;
    jsonx_redact(b, r->op.cfg->redact_keys);
    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_enum(b, "status", JSONX_NULLABLE, worker_statuses, &status, NULL, &je) ||
        jsonx_child(b, "resources", JSONX_NULLABLE, json_type_object, &resources, NULL, &je))
        return req_error_json(r, 400, &je);
    if (db_begin(&r->op) || workers_access(r, ACCESS_ROLE_MEMBER, &pr, &cur, NULL))
        return -1;
    if (strcmp(cur, "stopped") == 0)
        return req_error(r, 409, "worker_stopped", NULL,
                         "this worker has stopped; register it again");
    const char *sample = resources ? jsonx_to_string(resources, NULL) : NULL;
    /* A sample is kept for a week at every beat: a few numbers, not a payload. */
    if (sample && strlen(sample) > WORKERS_MAX_SAMPLE)
        return req_error(r, 422, "invalid_value", "resources",
                         "resources must be at most %d bytes of JSON", WORKERS_MAX_SAMPLE);
    const char *p[WORKER_HEARTBEAT__NIN] = {[WORKER_HEARTBEAT_IN_WORKER_ID] =
                                                req_path_param(r, "worker"),
                                            [WORKER_HEARTBEAT_IN_STATUS] = status,
                                            [WORKER_HEARTBEAT_IN_RESOURCES] = sample};
    const char *ps[WORKER_SAMPLE__NIN] = {[WORKER_SAMPLE_IN_WORKER_ID] =
                                              req_path_param(r, "worker"),
                                          [WORKER_SAMPLE_IN_SAMPLE] = sample};
    if (!(res = DB_EXEC(&r->op, DB_STMT_WORKER_HEARTBEAT, p)) ||
        (sample && !DB_EXEC(&r->op, DB_STMT_WORKER_SAMPLE, ps)) || db_commit(&r->op))
        return -1;
    const char *json = PQgetvalue(res, 0, WORKER_HEARTBEAT_WORKER_JSON);
    pub_event(r->op.pub, pr.id, "worker.updated", NULL, json);
    return req_json_text(r, 200, json);
}

int workers_stop(struct req *r)
{
    struct access_project pr;
    const char *cur;
    PGresult *res;

    if (db_begin(&r->op) || workers_access(r, ACCESS_ROLE_MEMBER, &pr, &cur, NULL))
        return -1;
    /* p serves worker_json and worker_stop: one input, the worker. */
    _Static_assert(WORKER_JSON__NIN == WORKER_STOP__NIN &&
                       WORKER_JSON_IN_WORKER_ID == WORKER_STOP_IN_WORKER_ID,
                   "worker_json and worker_stop differ");
    const char *p[WORKER_JSON__NIN] = {[WORKER_JSON_IN_WORKER_ID] = req_path_param(r, "worker")};
    if (strcmp(cur, "stopped") == 0) {
        /* Stopping twice is not news: no second round of interrupted events. */
        if (!(res = DB_EXEC(&r->op, DB_STMT_WORKER_JSON, p)) || db_commit(&r->op))
            return -1;
        return req_json_text(r, 200, PQgetvalue(res, 0, WORKER_JSON_WORKER_JSON));
    }
    if (!(res = DB_EXEC(&r->op, DB_STMT_WORKER_STOP, p)) || db_commit(&r->op))
        return -1;
    const char *json = PQgetvalue(res, 0, WORKER_STOP_WORKER_JSON);
    pub_event(r->op.pub, pr.id, "worker.updated", NULL, json);
    /* Each interrupted run gets its event announced, so open run pages show it. */
    json_object *ids = json_tokener_parse(PQgetvalue(res, 0, WORKER_STOP_INTERRUPTED_RUNS));
    for (size_t i = 0; ids && i < json_object_array_length(ids); i++)
        pub_event(r->op.pub, pr.id, "run.event",
                  json_object_get_string(json_object_array_get_idx(ids, i)),
                  "{\"kind\":\"interrupted\"}");
    json_object_put(ids);
    return req_json_text(r, 200, json);
}

/* A batch of the worker's own log lines, validated whole (events_check: the same items as a
 * run's events, errors naming events[3].level), redacted, then one statement. A stopped
 * worker may still log (its last words). The live frame carries the batch, like run.event,
 * with the worker's id and name, unless it is past EVENTS_LIVE_MAX_BYTES. */
int workers_events_create(struct req *r)
{
    const struct jsonx_val *batch = req_vbatch(r, "events", EVENTS_MAX_BATCH, events_check);
    struct access_project pr;
    const char *name, *worker = req_path_param(r, "worker");
    PGresult *res;

    if (!batch)
        return -1;
    const char *text = events_text(r, batch);
    if (!text)
        return req_error(r, 500, "internal", NULL, "out of memory");
    if (workers_access(r, ACCESS_ROLE_MEMBER, &pr, NULL, &name))
        return -1;
    const char *p[WORKER_EVENT_INSERT__NIN] = {[WORKER_EVENT_INSERT_IN_WORKER_ID] = worker,
                                               [WORKER_EVENT_INSERT_IN_PROJECT_ID] = pr.id,
                                               [WORKER_EVENT_INSERT_IN_EVENTS] = text};
    if (!(res = DB_EXEC(&r->op, DB_STMT_WORKER_EVENT_INSERT, p)))
        return -1;
    const char *count = PQgetvalue(res, 0, WORKER_EVENT_INSERT_COUNT),
               *first = PQgetvalue(res, 0, WORKER_EVENT_INSERT_FIRST_ID),
               *last = PQgetvalue(res, 0, WORKER_EVENT_INSERT_LAST_ID);
    const char *qname;
    json_object *jn = req_own_json(r, json_object_new_string(name));
    if (!jn || !(qname = jsonx_to_string(jn, NULL)))
        return -1;
    const char *data;
    if (!PQgetisnull(res, 0, WORKER_EVENT_INSERT_EVENTS_JSON) &&
        (size_t)PQgetlength(res, 0, WORKER_EVENT_INSERT_EVENTS_JSON) + 2 <= EVENTS_LIVE_MAX_BYTES)
        data = arena_sprintf(
            r->op.arena,
            "{\"worker_id\":%s,\"worker_name\":%s,\"count\":%s,\"first_id\":\"%s\","
            "\"last_id\":\"%s\",\"truncated\":false,\"events\":[%s]}",
            worker, qname, count, first, last, PQgetvalue(res, 0, WORKER_EVENT_INSERT_EVENTS_JSON));
    else
        data =
            arena_sprintf(r->op.arena,
                          "{\"worker_id\":%s,\"worker_name\":%s,\"count\":%s,\"first_id\":\"%s\","
                          "\"last_id\":\"%s\",\"truncated\":true}",
                          worker, qname, count, first, last);
    pub_event(r->op.pub, pr.id, "worker.event", NULL, data);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "count", json_object_new_int64(strtoll(count, NULL, 10)));
    json_object_object_add(o, "first_id", json_object_new_string(first));
    json_object_object_add(o, "last_id", json_object_new_string(last));
    return req_json(r, 201, o);
}

/* The worker's log: oldest first after an id (?after=), or newest first before one
 * (?order=desc&before=), the worker page's tail; pages by id like a run's events. */
int workers_events_list(struct req *r)
{
    const char *from;
    struct access_project pr;
    long limit;
    int desc;
    PGresult *res;

    if (events_page_params(r, &limit, &desc, &from))
        return -1;
    if (workers_access(r, ACCESS_ROLE_VIEWER, &pr, NULL, NULL))
        return -1;
    _Static_assert(WORKER_EVENT_LIST_IN_WORKER_ID == WORKER_EVENT_LIST_DESC_IN_WORKER_ID &&
                       WORKER_EVENT_LIST_IN_AFTER == WORKER_EVENT_LIST_DESC_IN_BEFORE &&
                       WORKER_EVENT_LIST_IN_LIMIT == WORKER_EVENT_LIST_DESC_IN_LIMIT &&
                       WORKER_EVENT_LIST__NIN == WORKER_EVENT_LIST_DESC__NIN &&
                       WORKER_EVENT_LIST_ID == WORKER_EVENT_LIST_DESC_ID,
                   "worker_event_list and worker_event_list_desc differ");
    const char *p[WORKER_EVENT_LIST__NIN] = {
        [WORKER_EVENT_LIST_IN_WORKER_ID] = req_path_param(r, "worker"),
        [WORKER_EVENT_LIST_IN_AFTER] = from,
        [WORKER_EVENT_LIST_IN_LIMIT] = arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, desc ? DB_STMT_WORKER_EVENT_LIST_DESC : DB_STMT_WORKER_EVENT_LIST,
                        p)))
        return -1;
    _Static_assert(WORKER_EVENT_LIST_EVENT_JSON == 0, "req_page_rows splices column 0");
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    return req_page_rows(r, res, shown,
                         n > limit ? PQgetvalue(res, shown - 1, WORKER_EVENT_LIST_ID) : NULL);
}
