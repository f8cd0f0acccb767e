/* celery: the ingest of the Celery bridge (runwatch-celery, docs/ARCHITECTURE.md "The
 * Celery bridge"). A burst of Celery events, already decoded from kombu's envelopes and
 * normalized by the bridge, is validated whole (every field's type and shape, so the SQL
 * can trust them), then applied in one transaction by celery_ingest()
 * (sql/functions/85_celery.sql), which implements Celery's state precedence. Any producer
 * with write access to the project may post; the bridge is just one. */
#include "celery.h"

#include <math.h>
#include <string.h>

#include "access.h"
#include "db.h"

#define CELERY_MAX_EVENTS 5000
#define CELERY_MAX_TEXT   65536

enum celery_kind {
    CK_STR,   /* a string up to CELERY_MAX_TEXT bytes */
    CK_SHORT, /* a string of 1 to 200 bytes */
    CK_UUID,  /* a uuid string */
    CK_UUIDN, /* a uuid string, or null */
    CK_INT,
    CK_NUM,
    CK_BOOL,
    CK_UUIDS, /* an array of uuid strings */
    CK_NUMS,  /* an array of numbers */
};

struct celery_field {
    const char *name;
    enum celery_kind kind;
};

/* Every field the ingest reads. A field outside this list is an error (a typo in a
 * producer is not silently dropped data). */
static const struct celery_field celery_fields[] = {
    {"type", CK_SHORT},     {"uuid", CK_UUID},       {"timestamp", CK_NUM},   {"received", CK_NUM},
    {"hostname", CK_SHORT}, {"name", CK_SHORT},      {"args", CK_STR},        {"kwargs", CK_STR},
    {"root_id", CK_UUIDN},  {"parent_id", CK_UUIDN}, {"retries", CK_INT},     {"eta", CK_STR},
    {"expires", CK_STR},    {"queue", CK_SHORT},     {"result", CK_STR},      {"runtime", CK_NUM},
    {"exception", CK_STR},  {"traceback", CK_STR},   {"terminated", CK_BOOL}, {"expired", CK_BOOL},
    {"signum", CK_STR},     {"requeue", CK_BOOL},    {"utcoffset", CK_INT},   {"pid", CK_INT},
    {"clock", CK_INT},      {"freq", CK_NUM},        {"active", CK_INT},      {"processed", CK_INT},
    {"loadavg", CK_NUMS},   {"sw_ident", CK_SHORT},  {"sw_ver", CK_SHORT},    {"sw_sys", CK_SHORT},
    {"status", CK_SHORT},   {"group_id", CK_SHORT},  {"children", CK_UUIDS},  {"date_done", CK_NUM},
    {"exc_type", CK_SHORT}, {"exc_message", CK_STR}, {"reconcile", CK_BOOL},  {"discover", CK_BOOL},
};

static int celery_bad(struct req *r, long idx, const char *field, const char *what)
{
    return req_error(r, 400, "invalid_field",
                     arena_sprintf(r->op.arena, "events[%ld].%s", idx, field),
                     "events[%ld].%s must be %s", idx, field, what);
}

static int celery_is_uuid(json_object *v)
{
    return json_object_is_type(v, json_type_string) && jsonx_is_uuid(json_object_get_string(v));
}

/* A finite number whose magnitude fits the columns (timestamps, runtimes, loads). */
static int celery_is_num(json_object *v)
{
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return 0;
    double d = json_object_get_double(v);
    return isfinite(d) && fabs(d) < 1e12;
}

static int celery_check_field(struct req *r, long idx, const struct celery_field *f, json_object *v)
{
    size_t n;

    switch (f->kind) {
    case CK_STR:
        if (!json_object_is_type(v, json_type_string) ||
            (size_t)json_object_get_string_len(v) > CELERY_MAX_TEXT)
            return celery_bad(r, idx, f->name, "a string of at most 65536 bytes");
        return 0;
    case CK_SHORT:
        n = json_object_is_type(v, json_type_string) ? (size_t)json_object_get_string_len(v) : 0;
        if (n < 1 || n > 200)
            return celery_bad(r, idx, f->name, "a string of 1 to 200 bytes");
        return 0;
    case CK_UUID:
        return celery_is_uuid(v) ? 0 : celery_bad(r, idx, f->name, "a uuid");
    case CK_UUIDN:
        return celery_is_uuid(v) ? 0 : celery_bad(r, idx, f->name, "a uuid or null");
    case CK_INT:
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -2147483647 ||
            json_object_get_int64(v) > 2147483647)
            return celery_bad(r, idx, f->name, "a 32-bit integer");
        return 0;
    case CK_NUM:
        return celery_is_num(v) ? 0 : celery_bad(r, idx, f->name, "a finite number");
    case CK_BOOL:
        return json_object_is_type(v, json_type_boolean) ? 0
                                                         : celery_bad(r, idx, f->name, "a boolean");
    case CK_UUIDS:
    case CK_NUMS:
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 1000)
            return celery_bad(r, idx, f->name, "an array of at most 1000 items");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *x = json_object_array_get_idx(v, i);
            if (f->kind == CK_UUIDS ? !celery_is_uuid(x) : !celery_is_num(x))
                return celery_bad(r, idx, f->name,
                                  f->kind == CK_UUIDS ? "an array of uuids"
                                                      : "an array of numbers");
        }
        return 0;
    }
    return 0;
}

/* One event: known fields of the right types; a task event names its task and when. */
static int celery_check(struct req *r, json_object *e, long idx)
{
    const char *type;

    if (!json_object_is_type(e, json_type_object))
        return req_error(r, 400, "invalid_field", "events", "events[%ld] must be an object", idx);
    json_object_object_foreach(e, key, val)
    {
        const struct celery_field *f = NULL;
        for (size_t i = 0; i < sizeof(celery_fields) / sizeof(celery_fields[0]); i++)
            if (strcmp(celery_fields[i].name, key) == 0)
                f = &celery_fields[i];
        if (!f)
            return req_error(r, 400, "unknown_field",
                             arena_sprintf(r->op.arena, "events[%ld].%s", idx, key),
                             "events[%ld]: unknown field", idx);
        /* null is absent, except where a value is required (below) */
        if (val && celery_check_field(r, idx, f, val))
            return -1;
    }
    json_object *t = NULL, *u = NULL, *ts = NULL;
    json_object_object_get_ex(e, "type", &t);
    json_object_object_get_ex(e, "uuid", &u);
    json_object_object_get_ex(e, "timestamp", &ts);
    if (!t)
        return celery_bad(r, idx, "type", "a string of 1 to 200 bytes");
    type = json_object_get_string(t);
    int task = strncmp(type, "task-", 5) == 0, meta = strcmp(type, "backend-meta") == 0;
    if (!task && !meta && strncmp(type, "worker-", 7) != 0)
        return celery_bad(r, idx, "type", "a task-*, worker-* or backend-meta event");
    if ((task || meta) && !u)
        return celery_bad(r, idx, "uuid", "a uuid");
    if (!meta && !ts)
        return celery_bad(r, idx, "timestamp", "a finite number");
    if (!task && !meta) {
        json_object *h = NULL;
        if (!json_object_object_get_ex(e, "hostname", &h) || !h)
            return celery_bad(r, idx, "hostname", "a string of 1 to 200 bytes");
    }
    return 0;
}

int celery_events(struct req *r)
{
    static const char *const keys[] = {"events", "now", "open", NULL};
    json_object *b = r->body_json, *events = NULL;
    struct jsonx_err je;
    double now = 0;
    int open = 0;
    struct access_project pr;
    PGresult *res;

    if (jsonx_only_keys(b, keys, &je) ||
        jsonx_child(b, "events", JSONX_REQUIRED, json_type_array, &events, NULL, &je) ||
        jsonx_number(b, "now", JSONX_NULLABLE, 0, 1e11, &now, NULL, &je) ||
        jsonx_bool(b, "open", JSONX_NULLABLE, &open, NULL, &je))
        return req_error_json(r, 400, &je);
    size_t n = json_object_array_length(events);
    if (n > CELERY_MAX_EVENTS)
        return req_error(r, 400, "invalid_field", "events", "events must hold at most %d items",
                         CELERY_MAX_EVENTS);
    for (size_t i = 0; i < n; i++)
        if (celery_check(r, json_object_array_get_idx(events, i), (long)i))
            return -1;
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_MEMBER, &pr))
        return -1;
    const char *p[CELERY_INGEST__NIN] = {
        [CELERY_INGEST_IN_PROJECT_ID] = pr.id, [CELERY_INGEST_IN_BATCH] = jsonx_to_string(b, NULL)};
    if (db_begin(&r->op) || !(res = DB_EXEC(&r->op, DB_STMT_CELERY_INGEST, p)) || db_commit(&r->op))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, CELERY_INGEST_RESULT));
}

/* The task registry: every task name with its last 24 hours (viewers). */
int celery_registry(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[CELERY_REGISTRY__NIN] = {[CELERY_REGISTRY_IN_PROJECT_ID] = pr.id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_CELERY_REGISTRY, p)))
        return -1;
    return req_json_text(
        r, 200,
        arena_sprintf(r->op.arena, "{\"items\":%s}", PQgetvalue(res, 0, CELERY_REGISTRY_REGISTRY)));
}

/* The project's Celery workers with their heartbeat fields (viewers). */
int celery_workers(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[CELERY_WORKERS__NIN] = {[CELERY_WORKERS_IN_PROJECT_ID] = pr.id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_CELERY_WORKERS, p)))
        return -1;
    return req_json_text(
        r, 200,
        arena_sprintf(r->op.arena, "{\"items\":%s}", PQgetvalue(res, 0, CELERY_WORKERS_WORKERS)));
}

/* A run's Celery fields; a run that is no Celery task (or not visible) is a 404. */
int celery_run(struct req *r)
{
    const char *id = req_path_param(r, "run");
    struct access_project pr;
    PGresult *res;

    if (!id || !jsonx_is_uuid(id))
        return req_error(r, 404, "not_found", NULL, "no such celery task");
    const char *p[CELERY_RUN__NIN] = {[CELERY_RUN_IN_RUN_ID] = id};
    if (!(res = DB_EXEC(&r->op, DB_STMT_CELERY_RUN, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such celery task");
    if (access_project_by_id(&r->op, PQgetvalue(res, 0, CELERY_RUN_PROJECT_ID), ACCESS_ROLE_VIEWER,
                             &pr, "celery task"))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, CELERY_RUN_CELERY));
}
