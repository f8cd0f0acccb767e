/* runjson: a run's public JSON made in C from the run list's columns (the fragment
 * run_list_columns, sql/statements/runs.sql) in libpq's binary format. It gives what
 * run_json() (sql/functions/10_json.sql) gives for the same row, value for value: the same
 * keys in the same order, timestamps in PostgreSQL's JSON form in UTC, float4 and the
 * numeric duration_s as PostgreSQL prints them, text escaped as its json output escapes it,
 * jsonb as its text; only the separators are compact. Both shapes must change together:
 * the runs integration suite compares them row for row. */
#ifndef RW_RUNJSON_H
#define RW_RUNJSON_H

#include <stddef.h>
#include <stdint.h>

#include "jsonx.h"

struct pg_result;

/* Longest output of the formatters below, with room for the NUL. */
#define RUNJSON_NUM_MAX 48

/* 0 when res has the run list's columns with the types this module reads; else -1 with
 * the first column that differs named in err. Call once per result, before runjson_row. */
int runjson_check(const struct pg_result *res, char *err, size_t errlen);
/* Appends row's run as JSON to o; -1 (o unchanged past o->len) when a value is malformed. */
int runjson_row(struct jsonx_out *o, const struct pg_result *res, int row);

/* The binary timestamptz of column col (microseconds since 2000-01-01 UTC); 0 when NULL. */
int64_t runjson_time_at(const struct pg_result *res, int row, int col);

/* The uuid of column col as text (37 bytes with the NUL); -1 when NULL or malformed. */
int runjson_uuid_at(const struct pg_result *res, int row, int col, char *buf);

/* The formatters, exported for the unit tests; each writes a NUL-terminated string into buf
 * (RUNJSON_NUM_MAX bytes) and returns its length. */
/* A timestamptz as PostgreSQL's JSON shows it in UTC, without quotes:
 * 2026-09-28T07:43:11.4953+00:00 (microseconds without trailing zeros, none when zero),
 * infinity, -infinity, and " BC" after years before 1. */
size_t runjson_fmt_time(char *buf, int64_t us);
/* The list's cursor key of a time, as to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') makes it. */
size_t runjson_fmt_cursor_time(char *buf, int64_t us);
/* A float4 as PostgreSQL's float4out prints it (the shortest text that reads back as the
 * same float; fixed-point for decimal exponents -4 to 5, else d.ddde+XX), with NaN,
 * Infinity and -Infinity quoted as json_build_object quotes them. */
size_t runjson_fmt_float4(char *buf, float f);
/* A duration of microseconds as extract(epoch FROM interval) prints it: a numeric with six
 * decimals ("86399.500000", "-0.500000"). */
size_t runjson_fmt_seconds(char *buf, int64_t us);

#endif
