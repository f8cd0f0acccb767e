/* runjson: a run's public JSON made in C from the run list's columns (the fragment
 * run_list_columns, sql/statements/runs.sql) in libpq's binary format. It gives what
 * run_json() (sql/functions/10_json.sql) gives for the same row, value for value: the same
 * keys in the same order, timestamps in PostgreSQL's JSON form in UTC, float4 and the
 * numeric duration_s as PostgreSQL prints them, text escaped as its json output escapes it,
 * jsonb as its text; only the separators are compact. Both shapes must change together:
 * the runs integration suite compares them row for row. The values are written by pgjson.c,
 * which spanjson.c shares. */
#ifndef RW_RUNJSON_H
#define RW_RUNJSON_H

#include <stddef.h>
#include <stdint.h>

#include "jsonx.h"

struct pg_result;

/* 0 when res has the run list's columns with the types this module reads; else -1 with
 * the first column that differs named in err. Call once per result, before runjson_row. */
int runjson_check(const struct pg_result *res, char *err, size_t errlen);
/* Where a written run is in o->buf, [start, stop), and its duration_s value, [at, end)
 * (runcache.c keeps the run without it). */
struct runjson_hole {
    size_t start, at, end, stop;
};

/* Appends row's run as JSON to o, and when hole is not NULL where its duration_s value went;
 * -1 (o unchanged past o->len) when a value is malformed. */
int runjson_row(struct jsonx_out *o, const struct pg_result *res, int row,
                struct runjson_hole *hole);
/* Appends row's duration_s value as runjson_row does, from its columns started, ended and
 * now (the statement's now()): for a run rendered earlier, from a probe's columns. -1 when
 * a value is malformed. */
int runjson_duration(struct jsonx_out *o, const struct pg_result *res, int row, int started,
                     int ended, int now);

#endif
