/* spans: OpenTelemetry traces. OTLP/HTTP ingest (POST /v1/traces through nginx, or
 * /api/v1/otlp/v1/traces) with a project token, and the read API (a run's spans, a trace,
 * a project's search). */
#ifndef RW_API_SPANS_H
#define RW_API_SPANS_H

#include <json-c/json.h>

#include "arena.h"
#include "jsonx.h"
#include "req.h"

int spans_otlp_traces(struct req *r);
int spans_list(struct req *r);
int spans_trace(struct req *r);
int spans_search(struct req *r);

/* Stores an ExportTraceServiceRequest in its OTLP JSON form, as jsonx_read's read-only tree
 * (whatever encoding it came in: otlp_pb_decode makes the same tree) for the token's
 * project, in one statement, and answers ExportTraceServiceResponse. */
int spans_otlp_ingest(struct req *r, const char *project_id, const struct jsonx_val *request);

/* The time range and page cursor of a project-wide span read (the span search, GET
 * /traces): from and to in RFC 3339, and the cursor "start_ns:trace_id:span_id" of the last
 * span of a page, its parts in the arena. 0, or the 400 naming the field (cursor_of ends
 * its message: "this search"). */
struct spans_range {
    const char *from, *to, *after_ns, *after_trace, *after_span;
};
int spans_range_params(struct req *r, const char *cursor_of, struct spans_range *g);

/* Most spans one GET /traces/{trace_id} answers. */
#define SPANS_TRACE_MAX 10000

#endif
