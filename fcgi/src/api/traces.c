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
    const char *from = req_query(r, "from"), *to = req_query(r, "to");
    const char *cursor = req_query(r, "cursor");
    const char *after_ns = NULL, *after_trace = NULL, *after_span = NULL;
    struct access_project pr;
    long limit;
    PGresult *res;

    if (req_only_params(r, known) || req_limit(r, &limit))
        return -1;
    if (from && !jsonx_is_rfc3339(from))
        return req_error(r, 400, "invalid_field", "from", "from must be an RFC 3339 time");
    if (to && !jsonx_is_rfc3339(to))
        return req_error(r, 400, "invalid_field", "to", "to must be an RFC 3339 time");
    /* "start_ns:trace_id:span_id" of the last root shown. */
    if (cursor && spans_cursor_parse(r->op.arena, cursor, &after_ns, &after_trace, &after_span))
        return req_error(r, 400, "invalid_field", "cursor",
                         "cursor must be a next_cursor of this list");
    if (access_project_for(&r->op, req_query(r, "project"), "project", ACCESS_ROLE_VIEWER, &pr))
        return -1;
    const char *p[TRACE_LIST__NIN] = {[TRACE_LIST_IN_PROJECT] = pr.id,
                                      [TRACE_LIST_IN_NAME] = req_query(r, "name"),
                                      [TRACE_LIST_IN_FROM] = from,
                                      [TRACE_LIST_IN_TO] = to,
                                      [TRACE_LIST_IN_AFTER_NS] = after_ns,
                                      [TRACE_LIST_IN_AFTER_TRACE] = after_trace,
                                      [TRACE_LIST_IN_AFTER_SPAN] = after_span,
                                      [TRACE_LIST_IN_LIMIT] =
                                          arena_sprintf(r->op.arena, "%ld", limit + 1)};
    if (!(res = DB_EXEC(&r->op, DB_STMT_TRACE_LIST, p)))
        return -1;
    _Static_assert(TRACE_LIST_TRACE_JSON == 0, "req_page_rows splices column 0");
    int n = PQntuples(res), shown = n > limit ? (int)limit : n;
    return req_page_rows(r, res, shown,
                         n > limit ? PQgetvalue(res, shown - 1, TRACE_LIST_CURSOR) : NULL);
}
