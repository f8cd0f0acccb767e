/* graph: the run graph the dashboard draws, in one statement each (sql/statements/graph.sql).
 * - A run's graph is its root's whole tree: the root and every run whose root_id is the
 *   root, plus groups (a node per group id, containing its members) and run_deps edges.
 *   Nodes come a page at a time, oldest first (parents before children), 5,000 by
 *   default and at most 10,000 a page; `total` says how many there are, so a client asks
 *   for the next page with offset. The whole tree is walked for every page (child counts
 *   and group sizes are the tree's), which costs O(tree) per page: a bounded few pages.
 * - Access is the run's project's: a viewer reads; another project's runs never appear. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api/runs.h"
#include "db.h"

/* limit (1..max, default dflt) and offset (0.., default 0) from the query. */
static int graph_paging(struct req *r, long dflt, long max, long *limit, long *offset)
{
    const char *l = req_query(r, "limit"), *o = req_query(r, "offset");

    *limit = dflt;
    *offset = 0;
    if (l && (!req_is_int(l) || strlen(l) > 6 || atol(l) < 1 || atol(l) > max))
        return req_error(r, 400, "invalid_field", "limit", "limit must be from 1 to %ld", max);
    if (l)
        *limit = atol(l);
    if (o && (!req_is_int(o) || strlen(o) > 9))
        return req_error(r, 400, "invalid_field", "offset",
                         "offset must be a whole number below 10^9");
    if (o)
        *offset = atol(o);
    return 0;
}

int graph_get(struct req *r)
{
    static const char *const known[] = {"limit", "offset", NULL};
    struct access_project pr;
    long limit, offset;
    PGresult *res;

    if (req_only_params(r, known) ||
        graph_paging(r, GRAPH_PAGE_DEFAULT, GRAPH_PAGE_MAX, &limit, &offset) ||
        runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[GRAPH_TREE__NIN] = {[GRAPH_TREE_IN_RUN] = req_path_param(r, "run"),
                                      [GRAPH_TREE_IN_PROJECT_ID] = pr.id,
                                      [GRAPH_TREE_IN_OFFSET] =
                                          arena_sprintf(r->op.arena, "%ld", offset),
                                      [GRAPH_TREE_IN_N] = arena_sprintf(r->op.arena, "%ld", limit)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_GRAPH_TREE, p)))
        return -1;
    if (PQntuples(res) != 1) /* deleted since the access check */
        return req_error(r, 404, "not_found", NULL, "no such run");
    return req_json_text(r, 200, PQgetvalue(res, 0, GRAPH_TREE_GRAPH_JSON));
}

int graph_lineage(struct req *r)
{
    static const char *const known[] = {"limit", NULL};
    struct access_project pr;
    long limit, offset;
    PGresult *res;

    if (req_only_params(r, known) ||
        graph_paging(r, GRAPH_LINEAGE_DEFAULT, GRAPH_PAGE_MAX, &limit, &offset) ||
        runs_access(r, ACCESS_ROLE_VIEWER, RUNS_READ_STATUS, &pr, NULL))
        return -1;
    const char *p[GRAPH_LINEAGE__NIN] = {[GRAPH_LINEAGE_IN_RUN] = req_path_param(r, "run"),
                                         [GRAPH_LINEAGE_IN_PROJECT_ID] = pr.id,
                                         [GRAPH_LINEAGE_IN_N] =
                                             arena_sprintf(r->op.arena, "%ld", limit)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_GRAPH_LINEAGE, p)))
        return -1;
    return req_json_text(r, 200, PQgetvalue(res, 0, GRAPH_LINEAGE_LINEAGE_JSON));
}
