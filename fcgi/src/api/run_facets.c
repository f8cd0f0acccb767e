/* run_facets: GET /runs/count (the runs a view of the list holds, counted up to
 * RUN_FACETS_COUNT_CAP, with the list's own filters, so the list's statements stay as they
 * are and the page answers as fast as before) and GET /runs/values (a project's kinds or
 * queues, for the filters' menus). Viewers may ask both; a project the caller cannot see is
 * a 404, as for the list. */
#include "run_facets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "db.h"

static const char *const statuses_all[] = {"queued", "running",   "retrying", "succeeded",
                                           "failed", "cancelled", NULL};

static int run_facets_time(struct req *r, const char *name, const char **out)
{
    *out = req_query(r, name);
    if (*out && !jsonx_is_rfc3339(*out))
        return req_error(r, 400, "invalid_field", name, "%s must be an RFC 3339 time with a zone",
                         name);
    return 0;
}

/* For LIKE: % _ and \ from the user are literal (as the list escapes its q). */
static const char *run_facets_like(struct arena *a, const char *s)
{
    char *out = arena_alloc(a, 2 * strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *o++ = '\\';
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

/* The project named (or a token's own), for a viewer. */
static int run_facets_project(struct req *r, const char **project)
{
    const char *slug = req_query(r, "project");
    struct access_project pr;

    *project = slug ? NULL : access_own_project(&r->op, ACCESS_ROLE_VIEWER);
    if (*project)
        return 0;
    if (access_project_for(&r->op, slug, "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    *project = arena_strndup(r->op.arena, pr.id, strlen(pr.id));
    return 0;
}

int run_facets_count(struct req *r)
{
    static const char *const filters[] = {
        "project",       "status",         "kind",        "queue",        "worker", "tag", "parent",
        "created_after", "created_before", "ended_after", "ended_before", "q",      NULL};
    const char *statuses, *ca, *cb, *ea, *eb, *project;
    const char *worker = req_query(r, "worker"), *parent = req_query(r, "parent");
    const char *q = req_query(r, "q");
    PGresult *res;

    if (req_only_params(r, filters) || req_enum_list(r, "status", statuses_all, &statuses) ||
        run_facets_time(r, "created_after", &ca) || run_facets_time(r, "created_before", &cb) ||
        run_facets_time(r, "ended_after", &ea) || run_facets_time(r, "ended_before", &eb))
        return -1;
    if (worker && !req_is_int(worker))
        return req_error(r, 400, "invalid_field", "worker", "worker must be a worker id");
    if (parent && !jsonx_is_uuid(parent))
        return req_error(r, 400, "invalid_field", "parent", "parent must be a run id");
    if (run_facets_project(r, &project))
        return -1;
    const char *p[RUN_COUNT__NIN] = {
        [RUN_COUNT_IN_PROJECT_ID] = project,
        [RUN_COUNT_IN_STATUSES] = statuses,
        [RUN_COUNT_IN_KIND] = req_query(r, "kind"),
        [RUN_COUNT_IN_QUEUE] = req_query(r, "queue"),
        [RUN_COUNT_IN_WORKER_ID] = worker,
        [RUN_COUNT_IN_TAG] = req_query(r, "tag"),
        [RUN_COUNT_IN_PARENT] = parent,
        [RUN_COUNT_IN_CREATED_AFTER] = ca,
        [RUN_COUNT_IN_CREATED_BEFORE] = cb,
        [RUN_COUNT_IN_TEXT] = q ? run_facets_like(r->op.arena, q) : NULL,
        [RUN_COUNT_IN_CAP] = arena_sprintf(r->op.arena, "%d", RUN_FACETS_COUNT_CAP + 1),
        [RUN_COUNT_IN_ENDED_AFTER] = ea,
        [RUN_COUNT_IN_ENDED_BEFORE] = eb};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_COUNT, p)))
        return -1;
    long long n = strtoll(PQgetvalue(res, 0, RUN_COUNT_N), NULL, 10);
    json_object *o = json_object_new_object();
    json_object_object_add(
        o, "count", json_object_new_int64(n > RUN_FACETS_COUNT_CAP ? RUN_FACETS_COUNT_CAP : n));
    json_object_object_add(o, "more", json_object_new_boolean(n > RUN_FACETS_COUNT_CAP));
    json_object_object_add(o, "cap", json_object_new_int(RUN_FACETS_COUNT_CAP));
    return req_json(r, 200, o);
}

int run_facets_values(struct req *r)
{
    static const char *const params[] = {"project", "field", NULL};
    const char *field = req_query(r, "field"), *project;
    PGresult *res;

    if (req_only_params(r, params))
        return -1;
    if (!field || (strcmp(field, "kind") != 0 && strcmp(field, "queue") != 0))
        return req_error(r, 400, "invalid_field", "field", "field must be kind or queue");
    if (run_facets_project(r, &project))
        return -1;
    _Static_assert(RUN_KINDS__NIN == RUN_QUEUES__NIN &&
                       RUN_KINDS_IN_PROJECT_ID == RUN_QUEUES_IN_PROJECT_ID &&
                       RUN_KINDS_VALUE == RUN_QUEUES_VALUE,
                   "run_kinds and run_queues differ");
    const char *p[RUN_KINDS__NIN] = {[RUN_KINDS_IN_PROJECT_ID] = project};
    if (!(res = DB_EXEC(&r->op, field[0] == 'k' ? DB_STMT_RUN_KINDS : DB_STMT_RUN_QUEUES, p)))
        return -1;
    json_object *o = json_object_new_object(), *items = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_object_array_add(items, json_object_new_string(PQgetvalue(res, i, RUN_KINDS_VALUE)));
    json_object_object_add(o, "field", json_object_new_string(field));
    json_object_object_add(o, "items", items);
    return req_json(r, 200, o);
}
