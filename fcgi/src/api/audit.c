/* audit: GET /api/v1/audit. Instance admins read everything; a project admin reads the
 * entries of a project with ?project=slug. The Audit page's filters (actor, action,
 * since, until) narrow either. (Writing entries is audit_log.c's.) */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "db.h"
#include "jsonx.h"

/* A text column as a JSON string, SQL NULL as JSON null. */
static json_object *jstr_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : json_object_new_string(PQgetvalue(res, row, col));
}

/* An optional RFC 3339 bound on ts. */
static int audit_time_param(struct req *r, const char *name, const char **out)
{
    *out = req_query(r, name);
    if (*out && !jsonx_is_rfc3339(*out))
        return req_error(r, 400, "invalid_field", name, "%s must be an RFC 3339 time with a zone",
                         name);
    return 0;
}

int audit_list(struct req *r)
{
    static const char *const known[] = {"project", "cursor", "limit", "actor",
                                        "action",  "since",  "until", NULL};
    const char *slug = req_query(r, "project");
    const char *cursor = req_query(r, "cursor");
    const char *actor = req_query(r, "actor"), *action = req_query(r, "action");
    const char *since, *until;
    const char *project_id = NULL;
    struct access_project proj;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit) || audit_time_param(r, "since", &since) ||
        audit_time_param(r, "until", &until))
        return -1;
    if (actor && (!actor[0] || strlen(actor) > 254))
        return req_error(r, 400, "invalid_field", "actor", "actor must be 1 to 254 characters");
    if (action && (!action[0] || strlen(action) > 100))
        return req_error(r, 400, "invalid_field", "action", "action must be 1 to 100 characters");
    if (cursor && !req_is_int(cursor))
        return req_error(r, 400, "invalid_field", "cursor", "cursor is not one this API issued");
    if (slug) {
        if (access_project(&r->op, slug, ACCESS_ROLE_ADMIN, &proj))
            return -1;
        project_id = proj.id;
    } else if (access_require_instance_admin(&r->op)) {
        return -1;
    }
    const char *lim = arena_sprintf(r->op.arena, "%ld", limit + 1);
    const char *p[AUDIT_LIST__NIN] = {[AUDIT_LIST_IN_PROJECT_ID] = project_id,
                                      [AUDIT_LIST_IN_CURSOR] = cursor,
                                      [AUDIT_LIST_IN_LIMIT] = lim,
                                      [AUDIT_LIST_IN_ACTOR] = actor,
                                      [AUDIT_LIST_IN_ACTION] = action,
                                      [AUDIT_LIST_IN_SINCE] = since,
                                      [AUDIT_LIST_IN_UNTIL] = until};
    if (!(res = DB_EXEC(&r->op, DB_STMT_AUDIT_LIST, p)))
        return -1;

    json_object *items = json_object_new_array();
    int n = PQntuples(res);
    int shown = n > limit ? (int)limit : n;
    for (int i = 0; i < shown; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(
            e, "id", json_object_new_int64(strtoll(PQgetvalue(res, i, AUDIT_LIST_ID), NULL, 10)));
        json_object_object_add(e, "ts", json_object_new_string(PQgetvalue(res, i, AUDIT_LIST_TS)));
        json_object_object_add(e, "action",
                               json_object_new_string(PQgetvalue(res, i, AUDIT_LIST_ACTION)));
        json_object_object_add(e, "target", jstr_or_null(res, i, AUDIT_LIST_TARGET));
        json_object_object_add(e, "details",
                               json_tokener_parse(PQgetvalue(res, i, AUDIT_LIST_DETAILS)));
        json_object_object_add(e, "ip", jstr_or_null(res, i, AUDIT_LIST_IP));
        json_object_object_add(e, "actor_email", jstr_or_null(res, i, AUDIT_LIST_EMAIL));
        json_object_object_add(e, "actor_token", jstr_or_null(res, i, AUDIT_LIST_PREFIX));
        json_object_object_add(e, "project", jstr_or_null(res, i, AUDIT_LIST_SLUG));
        json_object_array_add(items, e);
    }
    return req_json(r, 200,
                    req_page(items, n > limit ? PQgetvalue(res, shown - 1, AUDIT_LIST_ID) : NULL));
}
