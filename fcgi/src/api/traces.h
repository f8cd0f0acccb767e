/* traces: a project's traces with their aggregates (root span, span and error counts,
 * extent), for the dashboard's Traces page. One trace's spans are GET /traces/{trace_id}
 * (api/spans.c). */
#ifndef RW_API_TRACES_H
#define RW_API_TRACES_H

#include "req.h"

int traces_list(struct req *r);

#endif
