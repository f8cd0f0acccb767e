/* spanjson: a span's public JSON made in C from the span statements' columns (the reads of
 * a trace and of a run's spans, and the search: fragment span_columns,
 * sql/statements/spans.sql) in libpq's binary format. It gives what span_json() (the full
 * form) or span_json_lean() (sql/functions/35_spans.sql) gives for the same row, value for
 * value: the same keys in the same order, ids in lower-case hex, timestamps in
 * PostgreSQL's JSON form in UTC (end_at computed as the SQL computes it), numbers and text
 * as its json output writes them, jsonb as its text; only the separators are compact. Both
 * shapes must change together: the traces integration suite compares them for spans of
 * every shape. The values are written by pgjson.c, which runjson.c shares. */
#ifndef RW_SPANJSON_H
#define RW_SPANJSON_H

#include <stddef.h>

#include "jsonx.h"

struct pg_result;

/* 0 when res has span_columns with the types this module reads; else -1 with the first
 * column that differs named in err. Call once per result, before spanjson_row. */
int spanjson_check(const struct pg_result *res, char *err, size_t errlen);
/* Appends row's span to o: span_json()'s form when resource_index < 0; else
 * span_json_lean()'s followed by "resource_index" and "scope_index" (the lean answer's
 * tables). -1 (o unchanged past o->len) when a value is malformed. */
int spanjson_row(struct jsonx_out *o, const struct pg_result *res, int row, int resource_index,
                 int scope_index);

#endif
