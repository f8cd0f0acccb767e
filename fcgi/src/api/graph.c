/* graph: the run graph the dashboard draws, in one statement each (sql/statements/graph.sql).
 * - A run's graph is its root's whole tree: the root and every run whose root_id is the
 *   root, plus groups (a node per group id, containing its members) and run_deps edges.
 *   Nodes come a page at a time, oldest first (parents before children), 5,000 by
 *   default and at most 10,000 a page; `total` says how many there are, so a client asks
 *   for the next page with offset. The whole tree is walked for every page (child counts
 *   and group sizes are the tree's), which costs O(tree) per page: a bounded few pages.
 * - Access is the run's project's: a viewer reads; another project's runs never appear.
 * - The runs list's "roots only" view pages a project's roots with their child counts. */
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

int graph_roots(struct req *r)
{
    static const char *const known[] = {"limit", "cursor", NULL};
    const char *cursor = req_query(r, "cursor");
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit))
        return -1;
    if (cursor && !jsonx_is_uuid(cursor))
        return req_error(r, 400, "invalid_field", "cursor", "cursor must be a run id");
    if (access_project(&r->op, req_path_param(r, "project"), ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[GRAPH_ROOTS__NIN] = {[GRAPH_ROOTS_IN_PROJECT_ID] = pr.id,
                                       [GRAPH_ROOTS_IN_CURSOR] = cursor,
                                       [GRAPH_ROOTS_IN_N] =
                                           arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_GRAPH_ROOTS, p)))
        return -1;
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    return req_page_rows(r, res, shown,
                         n > limit ? PQgetvalue(res, shown - 1, GRAPH_ROOTS_ID) : NULL);
}
