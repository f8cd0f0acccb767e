/* traces: GET /traces, a project's traces newest first, a page of root spans with each
 * trace's aggregates (sql/statements/traces.sql says which traces are listed). Access is
 * the span search's: a viewer of the project (?project= for a user, a token's own). */
#include "traces.h"

#include "access.h"
#include "db.h"
#include "spans.h"

int traces_list(struct req *r)
{
    static const char *const known[] = {"project", "name", "from", "to", "cursor", "limit", NULL};
    struct spans_range g;
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit))
        return -1;
    /* The cursor names the last root shown. */
    if (spans_range_params(r, "this list", &g))
        return -1;
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[TRACE_LIST__NIN] = {[TRACE_LIST_IN_PROJECT] = pr.id,
                                      [TRACE_LIST_IN_NAME] = req_query(r, "name"),
                                      [TRACE_LIST_IN_FROM] = g.from,
                                      [TRACE_LIST_IN_TO] = g.to,
                                      [TRACE_LIST_IN_AFTER_NS] = g.after_ns,
                                      [TRACE_LIST_IN_AFTER_TRACE] = g.after_trace,
                                      [TRACE_LIST_IN_AFTER_SPAN] = g.after_span,
                                      [TRACE_LIST_IN_LIMIT] =
                                          arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_TRACE_LIST, p)))
        return -1;
    _Static_assert(TRACE_LIST_TRACE_JSON == 0, "req_page_rows splices column 0");
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    return req_page_rows(r, res, shown,
                         n > limit ? PQgetvalue(res, shown - 1, TRACE_LIST_CURSOR) : NULL);
}
