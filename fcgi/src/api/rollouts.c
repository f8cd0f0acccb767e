/* rollouts: the dashboard's reads of the agent-lightning store (docs/AGENT_LIGHTNING.md,
 * "The dashboard"): a project's rollouts with their latest attempt, a rollout's attempts,
 * its resources and their versions. Statuses are agent-lightning's; everything else is the
 * native read's shape (pages of {items, next_cursor}, RFC 3339 times). Access is the other
 * native reads': a viewer of the project (?project= for a user, a token's own), a run's
 * readers for its attempts. The statements are sql/statements/rollouts.sql.
 * - Resources are stored as sent, secrets included (the store's runners need an LLM's
 *   api_key); these reads redact them, as every run input is: a dashboard never needs them. */
#include "rollouts.h"

#include <string.h>

#include "access.h"
#include "config.h"
#include "db.h"
#include "runs.h"

static const char *const rollout_statuses[] = {"queuing",   "preparing", "running",   "requeuing",
                                               "succeeded", "failed",    "cancelled", NULL};

/* A page of `limit` rows out of the limit + 1 a statement answered: column 0 the item, the
 * cursor column the next page's when there is one. */
static int rollouts_page(struct req *r, PGresult *res, long limit, int cursor_col)
{
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    return req_page_rows(r, res, shown, n > limit ? PQgetvalue(res, shown - 1, cursor_col) : NULL);
}

int rollouts_list(struct req *r)
{
    static const char *const known[] = {"project", "status", "resources_id",
                                        "cursor",  "limit",  NULL};
    struct access_project pr;
    const char *statuses, *cursor = req_query(r, "cursor"), *rid = req_query(r, "resources_id");
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit) ||
        req_enum_list(r, "status", rollout_statuses, &statuses))
        return -1;
    if (cursor && !jsonx_is_uuid(cursor))
        return req_error(r, 400, "invalid_field", "cursor", "cursor must be a run id");
    if (rid && (!*rid || strlen(rid) > 200))
        return req_error(r, 400, "invalid_field", "resources_id",
                         "resources_id must be 1 to 200 bytes");
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[ROLLOUT_LIST__NIN] = {[ROLLOUT_LIST_IN_PROJECT] = pr.id,
                                        [ROLLOUT_LIST_IN_STATUSES] = statuses,
                                        [ROLLOUT_LIST_IN_RESOURCES_ID] = rid,
                                        [ROLLOUT_LIST_IN_CURSOR] = cursor,
                                        [ROLLOUT_LIST_IN_LIMIT] =
                                            arena_sprintf(r->op.arena, "%ld", limit + 1)};
    /* The filtered and unfiltered lists are two statements with the same inputs and
     * columns, each with the plan of its shape (sql/statements/rollouts.sql). */
    _Static_assert(ROLLOUT_LIST__NIN == ROLLOUT_LIST_FILTERED__NIN &&
                       ROLLOUT_LIST_IN_STATUSES == ROLLOUT_LIST_FILTERED_IN_STATUSES &&
                       ROLLOUT_LIST_IN_RESOURCES_ID == ROLLOUT_LIST_FILTERED_IN_RESOURCES_ID &&
                       ROLLOUT_LIST_IN_CURSOR == ROLLOUT_LIST_FILTERED_IN_CURSOR &&
                       ROLLOUT_LIST_IN_LIMIT == ROLLOUT_LIST_FILTERED_IN_LIMIT,
                   "rollout_list and rollout_list_filtered take the same inputs");
    res =
        DB_EXEC(&r->op, statuses || rid ? DB_STMT_ROLLOUT_LIST_FILTERED : DB_STMT_ROLLOUT_LIST, p);
    if (!res)
        return -1;
    _Static_assert(ROLLOUT_LIST_ROLLOUT_JSON == ROLLOUT_LIST_FILTERED_ROLLOUT_JSON &&
                       ROLLOUT_LIST_CURSOR == ROLLOUT_LIST_FILTERED_CURSOR,
                   "rollout_list and rollout_list_filtered answer alike");
    _Static_assert(ROLLOUT_LIST_ROLLOUT_JSON == 0, "req_page_rows splices column 0");
    return rollouts_page(r, res, limit, ROLLOUT_LIST_CURSOR);
}

int rollouts_attempts(struct req *r)
{
    struct access_project pr;
    PGresult *res;

    if (runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[ROLLOUT_ATTEMPTS__NIN] = {[ROLLOUT_ATTEMPTS_IN_RUN] = req_path_param(r, "run")};
    if (!(res = DB_EXEC(&r->op, DB_STMT_ROLLOUT_ATTEMPTS, p)))
        return -1;
    _Static_assert(ROLLOUT_ATTEMPTS_ATTEMPT_JSON == 0, "req_page_rows splices column 0");
    return req_page_rows(r, res, PQntuples(res), NULL);
}

int resources_list(struct req *r)
{
    static const char *const known[] = {"project", "cursor", "limit", NULL};
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit))
        return -1;
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[RESOURCES_LIST__NIN] = {[RESOURCES_LIST_IN_PROJECT] = pr.id,
                                          [RESOURCES_LIST_IN_CURSOR] = req_query(r, "cursor"),
                                          [RESOURCES_LIST_IN_LIMIT] =
                                              arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RESOURCES_LIST, p)))
        return -1;
    _Static_assert(RESOURCES_LIST_RESOURCES_JSON == 0, "req_page_rows splices column 0");
    return rollouts_page(r, res, limit, RESOURCES_LIST_CURSOR);
}

int resources_get(struct req *r)
{
    static const char *const known[] = {"project", NULL};
    struct access_project pr;
    struct jsonx_err je;
    json_object *o, *versions, *v;
    PGresult *res;

    if (req_only_params(r, known) ||
        access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[RESOURCES_VERSIONS__NIN] = {[RESOURCES_VERSIONS_IN_PROJECT] = pr.id,
                                              [RESOURCES_VERSIONS_IN_ID] =
                                                  req_path_param(r, "resources")};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RESOURCES_VERSIONS, p)))
        return -1;
    if (PQntuples(res) != 1)
        return req_error(r, 404, "not_found", NULL, "no such resources");
    const char *text = PQgetvalue(res, 0, RESOURCES_VERSIONS_RESOURCES_JSON);
    if (!(o = req_own_json(r, jsonx_parse(text, strlen(text), &je))))
        return -1;
    if (json_object_object_get_ex(o, "versions", &versions))
        for (size_t i = 0; i < json_object_array_length(versions); i++)
            if (json_object_object_get_ex(json_object_array_get_idx(versions, i), "resources", &v))
                jsonx_redact(v, r->op.cfg->redact_keys);
    return req_json_text(r, 200, jsonx_to_string(o, NULL));
}
