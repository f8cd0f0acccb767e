/* pgjson: PostgreSQL's binary column values (libpq's binary format, a "-- format: binary"
 * statement) written as PostgreSQL's JSON output writes them, for answers made in C instead
 * of by json_build_object: runjson.c (the run list, as run_json()) and spanjson.c (the span
 * reads, as span_json()). The time and number formats follow PostgreSQL 15's output code;
 * the unit suite runjson pins them with cases taken from the server, and the runs and
 * spans integration suites compare whole answers with the SQL functions. */
#ifndef RW_PGJSON_H
#define RW_PGJSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonx.h"

struct pg_result;

/* Type OIDs (pg_type.h; fixed for built-in types). */
enum {
    PGJSON_BOOL = 16,
    PGJSON_BYTEA = 17,
    PGJSON_INT8 = 20,
    PGJSON_INT2 = 21,
    PGJSON_INT4 = 23,
    PGJSON_XID = 28,
    PGJSON_TEXT = 25,
    PGJSON_FLOAT4 = 700,
    PGJSON_TEXT_ARRAY = 1009,
    PGJSON_TIMESTAMPTZ = 1184,
    PGJSON_UUID = 2950,
    PGJSON_JSONB = 3802,
};

/* Longest output of the formatters below, with room for the NUL. */
#define PGJSON_NUM_MAX 48

/* 0 when res has n columns from first on, in binary, of the OIDs types[0..n); else -1 with
 * what (e.g. "the run list") and the first column that differs in err. Call once per
 * result, before reading its rows. */
int pgjson_check(const struct pg_result *res, int first, const unsigned *types, int n,
                 const char *what, char *err, size_t errlen);

/* Binary integers are big-endian. */
static inline uint32_t pgjson_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t pgjson_be64(const unsigned char *p)
{
    return (uint64_t)pgjson_be32(p) << 32 | pgjson_be32(p + 4);
}

/* The binary timestamptz (microseconds since 2000-01-01 UTC) or int8 of column col; 0 when
 * NULL or malformed. */
int64_t pgjson_time_at(const struct pg_result *res, int row, int col);

/* The uuid of column col as text (37 bytes with the NUL); -1 when NULL or malformed. */
int pgjson_uuid_at(const struct pg_result *res, int row, int col, char *buf);

/* The formatters; each writes a NUL-terminated string into buf (PGJSON_NUM_MAX bytes) and
 * returns its length. */
/* A timestamptz as PostgreSQL's JSON shows it in UTC, without quotes:
 * 2026-09-28T07:43:11.4953+00:00 (microseconds without trailing zeros, none when zero),
 * infinity, -infinity, and " BC" after years before 1. */
size_t pgjson_fmt_time(char *buf, int64_t us);
/* The run list's cursor key of a time, as to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'). */
size_t pgjson_fmt_cursor_time(char *buf, int64_t us);
/* A float4 as PostgreSQL's float4out prints it (the shortest text that reads back as the
 * same float; fixed-point for decimal exponents -4 to 5, else d.ddde+XX), with NaN,
 * Infinity and -Infinity quoted as json_build_object quotes them. */
size_t pgjson_fmt_float4(char *buf, float f);
/* A duration of microseconds as extract(epoch FROM interval) prints it: a numeric with six
 * decimals ("86399.500000", "-0.500000"). */
size_t pgjson_fmt_seconds(char *buf, int64_t us);
/* v as int8out prints it (%lld, without printf's cost). */
size_t pgjson_fmt_i64(char *buf, int64_t v);
/* p[0..n) as 2n lower-case hex digits at d (encode(…, 'hex'), no NUL); returns the end. */
char *pgjson_hex_bytes(char *d, const unsigned char *p, size_t n);

/* jsonx_out_raw, with the common case (room left) inlined: a row is over a hundred pieces,
 * and the two calls each cost about a fifth of the rendering. */
static inline void pgjson_raw(struct jsonx_out *o, const char *s, size_t n)
{
    if (o->cap - o->len > n && !o->failed) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
    } else {
        jsonx_out_raw(o, s, n);
    }
}

/* A literal: punctuation and keys. */
#define PGJSON_RAW(o, lit) pgjson_raw((o), lit, sizeof(lit) - 1)

/* One row being written: the cell writers below append column col's value of it to o, as
 * json_build_object writes a value of that type (NULL as null); a value of the wrong
 * length sets bad (the row's writer then takes the row back and fails). */
struct pgjson_row {
    struct jsonx_out *o;
    const struct pg_result *res;
    int row;
    int bad;
};

/* 1 (and null written) when the value is NULL. */
int pgjson_null(struct pgjson_row *w, int col);
/* The value's bytes; NULL (bad set) when len >= 0 and it has another length. */
const unsigned char *pgjson_val(struct pgjson_row *w, int col, int len);
void pgjson_text(struct pgjson_row *w, int col);
/* An int2, int4 or int8 (size 2, 4, 8) in decimal. */
void pgjson_int(struct pgjson_row *w, int col, int size);
void pgjson_uuid(struct pgjson_row *w, int col);
/* A bytea as encode(v, 'hex') gives it, a JSON string of lower-case hex digits. */
void pgjson_hex(struct pgjson_row *w, int col);
void pgjson_time(struct pgjson_row *w, int col);
/* jsonb as its text (jsonb_out's spacing: ", " and ": "). */
void pgjson_jsonb(struct pgjson_row *w, int col);
/* A one-dimensional text[] as array_to_json writes it. */
void pgjson_text_array(struct pgjson_row *w, int col);
void pgjson_float4(struct pgjson_row *w, int col);

#endif
