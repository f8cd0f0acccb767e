/* otlp_pb: decodes an OTLP ExportTraceServiceRequest in protobuf (application/x-protobuf)
 * into the read-only tree jsonx_read makes of the OTLP JSON mapping of the same request, so
 * that one ingest walk reads both encodings. Hand-written, without generated code; the field
 * table, the limits and what is refused are in docs/ARCHITECTURE.md ("OTLP protobuf"). */
#ifndef RW_OTLP_PB_H
#define RW_OTLP_PB_H

#include <stddef.h>
#include <stdint.h>

#include "jsonx.h"

/* The deepest tree the decoder builds, counted as jsonx_parse counts a JSON document's
 * nesting (the request object is level 1), so that a request is refused for its depth
 * in both encodings alike. */
#define OTLP_PB_MAX_DEPTH JSONX_MAX_DEPTH

/* Decodes buf[0..len) (not NUL-terminated; an empty buffer is an empty request and gives
 * {}) into *root, a read-only tree (jsonx.h's struct jsonx_val) whose nodes and texts are in
 * arena a and whose strings may point into buf (keep buf as long as the tree). Returns 0,
 * or -1 with err filled: err->field names the field to blame in the JSON mapping's words
 * ("resourceSpans[0].scopeSpans[1].spans[3].traceId"), err->message says what is wrong (a
 * 400). An allocation failure answers -1 with an empty err->field and the message "out of
 * memory" (not the client's fault), as jsonx_parse does.
 *
 * The tree is the one jsonx_read makes of the same request's OTLP JSON (one walk reads
 * both): lowerCamelCase keys; trace and span ids as lowercase hex; bytesValue as standard
 * base64; fixed64 times and intValue as decimal strings; enums, flags and counts as
 * integers; doubleValue as a number, or "NaN", "Infinity", "-Infinity". Only the fields
 * present in the bytes are in the tree (proto3 leaves zero values out, so absent means
 * zero, as in the JSON mapping). A container's s and len say nothing (there is no text). */
struct arena;
int otlp_pb_decode(struct arena *a, const unsigned char *buf, size_t len, struct jsonx_val *root,
                   struct jsonx_err *err);

/* The replies, for a request that came as protobuf (OTLP/HTTP answers in the request's
 * content type). Each writes its message to out and returns its length; with out NULL
 * it only returns the length, so a caller sizes the buffer first. */

/* ExportTraceServiceResponse: an empty message (0 bytes) when rejected is 0, else
 * partial_success (1) = ExportTracePartialSuccess {rejected_spans (1) int64,
 * error_message (2) string}. */
size_t otlp_pb_export_response(unsigned char *out, int64_t rejected, const char *message);

/* google.rpc.Status {code (1) int32, message (2) string}: an OTLP/HTTP failure's body. */
size_t otlp_pb_status(unsigned char *out, int32_t code, const char *message);

#endif
