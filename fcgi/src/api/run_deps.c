/* run_deps: the dependencies a new run declares in its create body (`depends_on`: runs of
 * its project it waits for; `after_group`: a group it waits for as a whole, a Celery
 * chord's callback), checked and written in the create's transaction. The graph
 * (api/graph.c) draws them; producers that learn of edges late (the Celery bridge) write
 * run_deps themselves. */
#include "run_deps.h"

#include "db.h"

int run_deps_parse(struct req *r, json_object *body, const char **ids, const char **group)
{
    struct jsonx_err je;
    json_object *arr = NULL;

    *ids = *group = NULL;
    if (jsonx_child(body, "depends_on", JSONX_NULLABLE, json_type_array, &arr, NULL, &je) ||
        jsonx_string(body, "after_group", JSONX_NULLABLE, 1, 200, group, NULL, &je))
        return req_error_json(r, 400, &je);
    if (!arr || json_object_array_length(arr) == 0)
        return 0;
    if (json_object_array_length(arr) > RUN_DEPS_MAX)
        return req_error(r, 400, "invalid_field", "depends_on", "at most %d run ids in depends_on",
                         RUN_DEPS_MAX);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!v || !json_object_is_type(v, json_type_string) ||
            !jsonx_is_uuid(json_object_get_string(v)))
            return req_error(r, 400, "invalid_field", "depends_on",
                             "depends_on must be an array of run ids (UUIDs)");
    }
    *ids = jsonx_to_string(arr, NULL);
    return 0;
}

int run_deps_check(struct req *r, const char *project_id, const char *ids)
{
    PGresult *res;

    if (!ids)
        return 0;
    const char *p[RUN_DEPS_MISSING__NIN] = {
        [RUN_DEPS_MISSING_IN_PROJECT_ID] = project_id, [RUN_DEPS_MISSING_IN_IDS] = ids};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_DEPS_MISSING, p)))
        return -1;
    if (PQntuples(res) == 1)
        return req_error(r, 400, "invalid_reference", "depends_on",
                         "depends_on names %s, which is not a run of this project",
                         PQgetvalue(res, 0, RUN_DEPS_MISSING_ID));
    return 0;
}

int run_deps_write(struct req *r, const char *run, const char *project_id, const char *ids,
                   const char *group)
{
    if (!ids && !group)
        return 0;
    const char *p[RUN_DEPS_INSERT__NIN] = {[RUN_DEPS_INSERT_IN_RUN] = run,
                                           [RUN_DEPS_INSERT_IN_PROJECT_ID] = project_id,
                                           [RUN_DEPS_INSERT_IN_IDS] = ids,
                                           [RUN_DEPS_INSERT_IN_GROUP_ID] = group};
    return DB_EXEC(&r->op, DB_STMT_RUN_DEPS_INSERT, p) ? 0 : -1;
}
