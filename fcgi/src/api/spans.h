/* spans: OpenTelemetry traces. OTLP/HTTP ingest (POST /v1/traces through nginx, or
 * /api/v1/otlp/v1/traces) with a project token, and the read API (a run's spans, a trace,
 * a project's search). */
#ifndef RW_API_SPANS_H
#define RW_API_SPANS_H

#include <json-c/json.h>

#include "arena.h"
#include "req.h"

int spans_otlp_traces(struct req *r);
int spans_list(struct req *r);
int spans_trace(struct req *r);
int spans_search(struct req *r);

/* Stores an ExportTraceServiceRequest in its OTLP JSON form (whatever encoding it came
 * in: every decoder makes this one tree) for the token's project, in one statement, and
 * answers ExportTraceServiceResponse. */
int spans_otlp_ingest(struct req *r, const char *project_id, json_object *request);

/* A page cursor "start_ns:trace_id:span_id" (the last span of a page of the span search,
 * or the last root span of GET /traces): its parts, the first two copied into arena a;
 * 0, or -1 when cursor is not one. */
int spans_cursor_parse(struct arena *a, const char *cursor, const char **ns, const char **trace,
                       const char **span);

/* Most spans one GET /traces/{trace_id} answers. */
#define SPANS_TRACE_MAX 10000

#endif
