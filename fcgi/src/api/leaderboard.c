/* leaderboard: GET /api/v1/leaderboard?project=&metric=, a project's runs ranked by one
 * summary metric (best first: highest, or lowest with order=asc, as for a loss), filtered
 * by kind, experiment_id and tag. Access is a viewer's of the project (a token's own
 * project without ?project=). The ranking is one statement (sql/statements/leaderboard.sql);
 * its cost grows with the project's runs (docs/PERFORMANCE.md). */
#include "leaderboard.h"

#include <string.h>

#include "access.h"
#include "api/metrics.h"
#include "db.h"

int leaderboard_list(struct req *r)
{
    static const char *const known[] = {"project",       "metric", "order", "kind",
                                        "experiment_id", "tag",    "limit", NULL};
    const char *metric = req_query(r, "metric"), *order = req_query(r, "order");
    const char *kind = req_query(r, "kind"), *exp = req_query(r, "experiment_id");
    const char *tag = req_query(r, "tag");
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit))
        return -1;
    /* Summary keys ranked here are named like metric keys (the charts' keys). */
    if (!metric || !metrics_key_ok(metric, strlen(metric)))
        return req_error(r, 400, "invalid_field", "metric",
                         "metric must be a summary key of 1 to 200 of A-Z a-z 0-9 _ . / : -");
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return req_error(r, 400, "invalid_field", "order", "order must be asc or desc");
    if (exp && !req_is_int(exp))
        return req_error(r, 400, "invalid_field", "experiment_id",
                         "experiment_id must be an experiment id");
    if (kind && (!kind[0] || strlen(kind) > 200))
        return req_error(r, 400, "invalid_field", "kind", "kind must be 1 to 200 characters");
    if (tag && (!tag[0] || strlen(tag) > 200))
        return req_error(r, 400, "invalid_field", "tag", "tag must be 1 to 200 characters");
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[RUN_LEADERBOARD__NIN] = {
        [RUN_LEADERBOARD_IN_PROJECT_ID] = pr.id,
        [RUN_LEADERBOARD_IN_METRIC] = metric,
        [RUN_LEADERBOARD_IN_ASC] = order && strcmp(order, "asc") == 0 ? "t" : "f",
        [RUN_LEADERBOARD_IN_KIND] = kind,
        [RUN_LEADERBOARD_IN_EXPERIMENT_ID] = exp,
        [RUN_LEADERBOARD_IN_TAG] = tag,
        [RUN_LEADERBOARD_IN_LIMIT] = arena_sprintf(r->op.arena, "%ld", limit)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_RUN_LEADERBOARD, p)))
        return -1;
    return req_json_text(
        r, 200,
        arena_sprintf(r->op.arena, "{\"items\":%s}", PQgetvalue(res, 0, RUN_LEADERBOARD_ITEMS)));
}
