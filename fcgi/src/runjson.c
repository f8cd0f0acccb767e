/* runjson: the run list's JSON, made from binary columns (runjson.h says what it must equal).
 * The binary forms read here are PostgreSQL's send functions': integers and float4 big-endian,
 * uuid its 16 bytes, bool one byte, timestamptz an int64 of microseconds since 2000-01-01,
 * jsonb a version byte (1) then its text, text[] the array header then each element. The
 * time and number formats follow PostgreSQL 15's output code (EncodeDateTime with XSD dates,
 * float4out, numeric_out of extract's result); the unit tests pin them with cases taken from
 * the server. */
#include "runjson.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_stmt.h"

/* Every list statement answers run_list_columns; the handler asserts that their indexes
 * agree, so these name the columns of all twenty. */
#define C(name) RUN_LIST_CREATED_DESC_##name

/* Type OIDs (pg_type.h; fixed for built-in types). */
enum {
    RUNJSON_BOOL = 16,
    RUNJSON_INT8 = 20,
    RUNJSON_INT4 = 23,
    RUNJSON_TEXT = 25,
    RUNJSON_FLOAT4 = 700,
    RUNJSON_TEXT_ARRAY = 1009,
    RUNJSON_TIMESTAMPTZ = 1184,
    RUNJSON_UUID = 2950,
    RUNJSON_JSONB = 3802,
};

static const unsigned runjson_types[C(_NOUT)] = {
    [C(ID)] = RUNJSON_UUID,
    [C(PROJECT)] = RUNJSON_TEXT,
    [C(EXPERIMENT_ID)] = RUNJSON_INT8,
    [C(KIND)] = RUNJSON_TEXT,
    [C(NAME)] = RUNJSON_TEXT,
    [C(QUEUE)] = RUNJSON_TEXT,
    [C(STATUS)] = RUNJSON_TEXT,
    [C(PRIORITY)] = RUNJSON_INT4,
    [C(INPUT)] = RUNJSON_JSONB,
    [C(PARAMS)] = RUNJSON_JSONB,
    [C(TAGS)] = RUNJSON_TEXT_ARRAY,
    [C(PARENT_ID)] = RUNJSON_UUID,
    [C(ROOT_ID)] = RUNJSON_UUID,
    [C(GROUP_ID)] = RUNJSON_TEXT,
    [C(WORKER_ID)] = RUNJSON_INT8,
    [C(PROGRESS)] = RUNJSON_FLOAT4,
    [C(CREATED_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(QUEUED_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(STARTED_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(ENDED_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(LAST_HEARTBEAT_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(UPDATED_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(CANCEL_REQUESTED)] = RUNJSON_BOOL,
    [C(ERROR_TYPE)] = RUNJSON_TEXT,
    [C(ERROR_MESSAGE)] = RUNJSON_TEXT,
    [C(ERROR_TRACEBACK)] = RUNJSON_TEXT,
    [C(ERROR_FINGERPRINT)] = RUNJSON_TEXT,
    [C(RESULT)] = RUNJSON_JSONB,
    [C(SUMMARY)] = RUNJSON_JSONB,
    [C(NOW)] = RUNJSON_TIMESTAMPTZ,
    [C(A_SEQ)] = RUNJSON_INT4,
    [C(A_STATUS)] = RUNJSON_TEXT,
    [C(A_WORKER_ID)] = RUNJSON_INT8,
    [C(A_CREATED_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(A_STARTED_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(A_ENDED_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(A_LAST_HEARTBEAT_AT)] = RUNJSON_TIMESTAMPTZ,
    [C(A_ERROR_TYPE)] = RUNJSON_TEXT,
    [C(A_ERROR_MESSAGE)] = RUNJSON_TEXT,
    [C(A_ERROR_TRACEBACK)] = RUNJSON_TEXT,
};

int runjson_check(const PGresult *res, char *err, size_t errlen)
{
    if (PQnfields(res) != C(_NOUT)) {
        snprintf(err, errlen, "the run list answers %d columns, not %d", PQnfields(res), C(_NOUT));
        return -1;
    }
    for (int i = 0; i < C(_NOUT); i++) {
        if (PQfformat(res, i) != 1 || PQftype(res, i) != runjson_types[i]) {
            snprintf(err, errlen, "run list column %s is type %u format %d, not %u binary",
                     PQfname(res, i), PQftype(res, i), PQfformat(res, i), runjson_types[i]);
            return -1;
        }
    }
    return 0;
}

/* ---- binary values ---- */

static uint32_t runjson_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t runjson_be64(const unsigned char *p)
{
    return (uint64_t)runjson_be32(p) << 32 | runjson_be32(p + 4);
}

int64_t runjson_time_at(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
        return 0;
    return (int64_t)runjson_be64((const unsigned char *)PQgetvalue(res, row, col));
}

/* ---- formatters ---- */

#define RUNJSON_USECS_PER_DAY INT64_C(86400000000)
#define RUNJSON_EPOCH_JDATE   2451545 /* 2000-01-01 as a Julian day */

/* PostgreSQL's j2date (datetime.c): a Julian day to the proleptic Gregorian calendar, with
 * year 0 for 1 BC. */
static void runjson_j2date(int jd, int *year, int *month, int *day)
{
    unsigned int julian = (unsigned int)jd + 32044, quad, extra;
    int y;

    quad = julian / 146097;
    extra = (julian - quad * 146097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146097;
    quad = julian / 1461;
    julian -= quad * 1461;
    y = (int)(julian * 4 / 1461);
    julian = ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366)) + 123;
    y += (int)quad * 4;
    *year = y - 4800;
    quad = julian * 2141 / 65536;
    *day = (int)(julian - 7834 * quad / 256);
    *month = (int)((quad + 10) % 12 + 1);
}

struct runjson_tm {
    int year, mon, mday, hour, min, sec, usec;
};

static void runjson_split(int64_t us, struct runjson_tm *tm)
{
    int64_t date = us / RUNJSON_USECS_PER_DAY, time = us - date * RUNJSON_USECS_PER_DAY;
    if (time < 0) {
        time += RUNJSON_USECS_PER_DAY;
        date--;
    }
    runjson_j2date((int)(date + RUNJSON_EPOCH_JDATE), &tm->year, &tm->mon, &tm->mday);
    tm->hour = (int)(time / INT64_C(3600000000));
    time -= (int64_t)tm->hour * INT64_C(3600000000);
    tm->min = (int)(time / 60000000);
    time -= (int64_t)tm->min * 60000000;
    tm->sec = (int)(time / 1000000);
    tm->usec = (int)(time - (int64_t)tm->sec * 1000000);
}

/* n as exactly width digits (n < 10^width), the way %0*d would, without printf's cost: a
 * page has over a thousand timestamps. Two digits a step, from a table. */
static const char runjson_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                       "25262728293031323334353637383940414243444546474849"
                                       "50515253545556575859606162636465666768697071727374"
                                       "75767778798081828384858687888990919293949596979899";

static char *runjson_digits(char *p, int n, int width)
{
    int i = width;
    while (i >= 2) {
        i -= 2;
        memcpy(p + i, runjson_pairs + 2 * (n % 100), 2);
        n /= 100;
    }
    if (i)
        p[0] = (char)('0' + n % 10);
    return p + width;
}

/* v's decimal digits, as %llu prints them; returns the end. (A page has a priority and a
 * duration a run: printf was a sixth of the rendering.) */
static char *runjson_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(p, tmp + sizeof(tmp) - n, (size_t)n);
    return p + n;
}

/* v as %lld prints it; returns the length. */
static size_t runjson_i64(char *p, int64_t v)
{
    char *e = p;
    if (v < 0)
        *e++ = '-';
    e = runjson_u64(e, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    return (size_t)(e - p);
}

size_t runjson_fmt_time(char *buf, int64_t us)
{
    struct runjson_tm tm;

    if (us == INT64_MAX || us == INT64_MIN)
        return (size_t)snprintf(buf, RUNJSON_NUM_MAX, "%s",
                                us == INT64_MAX ? "infinity" : "-infinity");
    runjson_split(us, &tm);
    int year = tm.year > 0 ? tm.year : -(tm.year - 1);
    char *p = buf;
    if (year > 9999)
        p += snprintf(p, RUNJSON_NUM_MAX, "%d", year);
    else
        p = runjson_digits(p, year, 4);
    *p++ = '-';
    p = runjson_digits(p, tm.mon, 2);
    *p++ = '-';
    p = runjson_digits(p, tm.mday, 2);
    *p++ = 'T';
    p = runjson_digits(p, tm.hour, 2);
    *p++ = ':';
    p = runjson_digits(p, tm.min, 2);
    *p++ = ':';
    p = runjson_digits(p, tm.sec, 2);
    if (tm.usec) { /* without trailing zeros, as PostgreSQL's AppendSeconds */
        int frac = tm.usec, digits = 6;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        *p++ = '.';
        p = runjson_digits(p, frac, digits);
    }
    memcpy(p, "+00:00", 6);
    p += 6;
    if (tm.year <= 0) {
        memcpy(p, " BC", 3);
        p += 3;
    }
    *p = '\0';
    return (size_t)(p - buf);
}

size_t runjson_fmt_cursor_time(char *buf, int64_t us)
{
    struct runjson_tm tm;
    runjson_split(us, &tm);
    return (size_t)snprintf(buf, RUNJSON_NUM_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.year,
                            tm.mon, tm.mday, tm.hour, tm.min, tm.sec, tm.usec);
}

/* The correctly rounded decimal of f > 0 with prec + 1 significant digits when it reads back
 * as f, else (only next to a power of 2, where the floats below are closer together than
 * those above) a neighbour one unit in its last place away that does; -1 when none does.
 * Like PostgreSQL's Ryu, a decimal exactly halfway to the next float does not count, even
 * where strtof would round it to f (long double holds those midpoints exactly). */
static long runjson_try(float f, int prec, long double mid_lo, long double mid_hi, int *ex, int *nd)
{
    char tmp[32], c[32];
    snprintf(tmp, sizeof(tmp), "%.*e", prec, (double)f); /* d[.ddd]e±XX, ties to even */
    char *e = strchr(tmp, 'e');
    long mant = 0;
    *nd = 0;
    for (char *p = tmp; p < e; p++)
        if (*p != '.') {
            mant = mant * 10 + (*p - '0');
            (*nd)++;
        }
    *ex = atoi(e + 1);
    int pow2 = frexpf(f, &(int){0}) == 0.5f;
    for (int k = 0; k < (pow2 ? 3 : 1); k++) {
        long cand = mant + (k == 0 ? 0 : k == 1 ? -1 : 1);
        const char *s = tmp;
        if (k) {
            if (cand <= 0)
                continue;
            snprintf(c, sizeof(c), "%lde%d", cand, *ex - (*nd - 1));
            s = c;
        }
        if (strtof(s, NULL) != f)
            continue;
        double d = strtod(s, NULL); /* exact at a midpoint; strtold settles a near miss */
        if ((d == (double)mid_lo || d == (double)mid_hi) &&
            (strtold(s, NULL) == mid_lo || strtold(s, NULL) == mid_hi))
            continue;
        return cand;
    }
    return -1;
}

/* The shortest significant digits (at most 9, no trailing zeros) that read back as f > 0,
 * and the decimal exponent of the first one. A precision that reads back stays good with
 * more digits, so a binary search over 1 to 9 digits finds it in four tries at most. */
static int runjson_shortest(float f, char *digits, int *exp10)
{
    float below = nextafterf(f, 0), above = nextafterf(f, INFINITY);
    long double mid_lo = ((long double)f + below) / 2,
                mid_hi = isinf(above) ? (long double)f + ((long double)f - below) / 2
                                      : ((long double)f + above) / 2;
    int lo = 0, hi = 8, ex = 0, nd = 1, best_ex = 0, best_nd = 1;
    long best = -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        long cand = runjson_try(f, mid, mid_lo, mid_hi, &ex, &nd);
        if (cand >= 0) {
            best = cand;
            best_ex = ex;
            best_nd = nd;
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    if (best < 0) { /* not reached: nine significant digits always read back */
        *exp10 = 0;
        return snprintf(digits, 16, "0");
    }
    int len = snprintf(digits, 16, "%ld", best);
    /* a neighbour may have gained a digit (999 + 1) or lost one (100 - 1) */
    *exp10 = best_ex + (len - best_nd);
    while (len > 1 && digits[len - 1] == '0')
        digits[--len] = '\0';
    return len;
}

size_t runjson_fmt_float4(char *buf, float f)
{
    char digits[16];
    int exp10 = 0, nd, n = 0;

    if (isnan(f))
        return (size_t)snprintf(buf, RUNJSON_NUM_MAX, "\"NaN\"");
    if (isinf(f))
        return (size_t)snprintf(buf, RUNJSON_NUM_MAX, "\"%sInfinity\"", f < 0 ? "-" : "");
    if (signbit(f))
        buf[n++] = '-';
    if (f == 0) {
        buf[n++] = '0';
        buf[n] = '\0';
        return (size_t)n;
    }
    nd = runjson_shortest(fabsf(f), digits, &exp10);
    if (exp10 < -4 || exp10 >= 6) {
        /* d[.ddd]e±XX, as float4out switches to scientific notation */
        buf[n++] = digits[0];
        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, digits + 1, (size_t)nd - 1);
            n += nd - 1;
        }
        n += snprintf(buf + n, RUNJSON_NUM_MAX - (size_t)n, "e%c%02d", exp10 < 0 ? '-' : '+',
                      abs(exp10));
        return (size_t)n;
    }
    if (exp10 < 0) {
        memcpy(buf + n, "0.000", 2 + (size_t)(-exp10 - 1));
        n += 2 + (-exp10 - 1);
        memcpy(buf + n, digits, (size_t)nd);
        n += nd;
    } else if (nd <= exp10 + 1) {
        memcpy(buf + n, digits, (size_t)nd);
        n += nd;
        memset(buf + n, '0', (size_t)(exp10 + 1 - nd));
        n += exp10 + 1 - nd;
    } else {
        memcpy(buf + n, digits, (size_t)exp10 + 1);
        n += exp10 + 1;
        buf[n++] = '.';
        memcpy(buf + n, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
        n += nd - exp10 - 1;
    }
    buf[n] = '\0';
    return (size_t)n;
}

size_t runjson_fmt_seconds(char *buf, int64_t us)
{
    uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    char *p = buf;
    if (us < 0)
        *p++ = '-';
    p = runjson_u64(p, a / 1000000);
    *p++ = '.';
    p = runjson_digits(p, (int)(a % 1000000), 6);
    *p = '\0';
    return (size_t)(p - buf);
}

/* ---- the row ---- */

/* jsonx_out_raw, with the common case (room left) inlined: a row is over a hundred pieces,
 * and the two calls each cost about a fifth of the rendering. */
static inline void runjson_raw(struct jsonx_out *o, const char *s, size_t n)
{
    if (o->cap - o->len > n && !o->failed) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
    } else {
        jsonx_out_raw(o, s, n);
    }
}

/* A literal: punctuation and keys. */
#define RAW(o, lit) runjson_raw((o), lit, sizeof(lit) - 1)

struct runjson_row {
    struct jsonx_out *o;
    const PGresult *res;
    int row;
    int bad; /* a value had the wrong length */
};

static int runjson_null(struct runjson_row *w, int col)
{
    if (!PQgetisnull(w->res, w->row, col))
        return 0;
    runjson_raw(w->o, "null", 4);
    return 1;
}

static const unsigned char *runjson_val(struct runjson_row *w, int col, int len)
{
    if (len >= 0 && PQgetlength(w->res, w->row, col) != len) {
        w->bad = 1;
        return NULL;
    }
    return (const unsigned char *)PQgetvalue(w->res, w->row, col);
}

static void runjson_text(struct runjson_row *w, int col)
{
    if (!runjson_null(w, col))
        jsonx_out_str(w->o, PQgetvalue(w->res, w->row, col),
                      (size_t)PQgetlength(w->res, w->row, col));
}

static void runjson_int(struct runjson_row *w, int col, int size)
{
    const unsigned char *p;
    char buf[RUNJSON_NUM_MAX];
    if (runjson_null(w, col) || !(p = runjson_val(w, col, size)))
        return;
    int64_t v = size == 8 ? (int64_t)runjson_be64(p) : (int64_t)(int32_t)runjson_be32(p);
    runjson_raw(w->o, buf, runjson_i64(buf, v));
}

/* 16 bytes as 8-4-4-4-12 lowercase hex, 36 characters, no NUL. */
static void runjson_hex_uuid(char *d, const unsigned char *p)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *d++ = '-';
        *d++ = hex[p[i] >> 4];
        *d++ = hex[p[i] & 15];
    }
}

int runjson_uuid_at(const PGresult *res, int row, int col, char *buf)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 16)
        return -1;
    runjson_hex_uuid(buf, (const unsigned char *)PQgetvalue(res, row, col));
    buf[36] = '\0';
    return 0;
}

static void runjson_uuid(struct runjson_row *w, int col)
{
    const unsigned char *p;
    char *d;
    if (runjson_null(w, col) || !(p = runjson_val(w, col, 16)) || !(d = jsonx_out_room(w->o, 38)))
        return;
    d[0] = '"';
    runjson_hex_uuid(d + 1, p);
    d[37] = '"';
    w->o->len += 38;
}

static void runjson_time(struct runjson_row *w, int col)
{
    char buf[RUNJSON_NUM_MAX + 2];
    const unsigned char *p;
    if (runjson_null(w, col) || !(p = runjson_val(w, col, 8)))
        return;
    buf[0] = '"';
    size_t n = 1 + runjson_fmt_time(buf + 1, (int64_t)runjson_be64(p));
    buf[n++] = '"';
    runjson_raw(w->o, buf, n);
}

static void runjson_jsonb(struct runjson_row *w, int col)
{
    if (runjson_null(w, col))
        return;
    const char *v = PQgetvalue(w->res, w->row, col);
    int len = PQgetlength(w->res, w->row, col);
    if (len < 2 || v[0] != 1) { /* version 1 is the only one there is */
        w->bad = 1;
        return;
    }
    runjson_raw(w->o, v + 1, (size_t)len - 1);
}

/* A one-dimensional text[] (or an empty one) as a JSON array, as array_to_json writes it:
 * no spaces, NULL elements as null. */
static void runjson_tags(struct runjson_row *w, int col)
{
    if (runjson_null(w, col))
        return;
    const unsigned char *p = (const unsigned char *)PQgetvalue(w->res, w->row, col);
    const unsigned char *end = p + PQgetlength(w->res, w->row, col);
    if (end - p < 12) {
        w->bad = 1;
        return;
    }
    uint32_t ndim = runjson_be32(p), nelem = 0;
    if (ndim > 1 || runjson_be32(p + 8) != RUNJSON_TEXT || (ndim == 1 && end - p < 20)) {
        w->bad = 1;
        return;
    }
    p += 12;
    if (ndim == 1) {
        nelem = runjson_be32(p);
        p += 8; /* the dimension's size and lower bound */
    }
    runjson_raw(w->o, "[", 1);
    for (uint32_t i = 0; i < nelem; i++) {
        if (end - p < 4) {
            w->bad = 1;
            return;
        }
        int32_t len = (int32_t)runjson_be32(p);
        p += 4;
        if (i)
            runjson_raw(w->o, ",", 1);
        if (len < 0) {
            runjson_raw(w->o, "null", 4);
            continue;
        }
        if (end - p < len) {
            w->bad = 1;
            return;
        }
        jsonx_out_str(w->o, (const char *)p, (size_t)len);
        p += len;
    }
    runjson_raw(w->o, "]", 1);
}

static void runjson_progress(struct runjson_row *w, int col)
{
    char buf[RUNJSON_NUM_MAX];
    const unsigned char *p;
    if (runjson_null(w, col) || !(p = runjson_val(w, col, 4)))
        return;
    uint32_t bits = runjson_be32(p);
    float f;
    memcpy(&f, &bits, sizeof(f));
    runjson_raw(w->o, buf, runjson_fmt_float4(buf, f));
}

/* duration_s: extract(epoch FROM (coalesce(ended_at, now()) - started_at)). */
static void runjson_duration(struct runjson_row *w)
{
    char buf[RUNJSON_NUM_MAX];
    if (runjson_null(w, C(STARTED_AT)))
        return;
    int end = PQgetisnull(w->res, w->row, C(ENDED_AT)) ? C(NOW) : C(ENDED_AT);
    if (!runjson_val(w, C(STARTED_AT), 8) || !runjson_val(w, end, 8))
        return;
    int64_t d =
        runjson_time_at(w->res, w->row, end) - runjson_time_at(w->res, w->row, C(STARTED_AT));
    runjson_raw(w->o, buf, runjson_fmt_seconds(buf, d));
}

int runjson_row(struct jsonx_out *o, const PGresult *res, int row)
{
    struct runjson_row w = {.o = o, .res = res, .row = row, .bad = 0};
    size_t start = o->len;

    RAW(o, "{\"id\":");
    runjson_uuid(&w, C(ID));
    RAW(o, ",\"project\":");
    runjson_text(&w, C(PROJECT));
    RAW(o, ",\"experiment_id\":");
    runjson_int(&w, C(EXPERIMENT_ID), 8);
    RAW(o, ",\"kind\":");
    runjson_text(&w, C(KIND));
    RAW(o, ",\"name\":");
    runjson_text(&w, C(NAME));
    RAW(o, ",\"queue\":");
    runjson_text(&w, C(QUEUE));
    RAW(o, ",\"status\":");
    runjson_text(&w, C(STATUS));
    RAW(o, ",\"priority\":");
    runjson_int(&w, C(PRIORITY), 4);
    RAW(o, ",\"input\":");
    runjson_jsonb(&w, C(INPUT));
    RAW(o, ",\"params\":");
    runjson_jsonb(&w, C(PARAMS));
    RAW(o, ",\"tags\":");
    runjson_tags(&w, C(TAGS));
    RAW(o, ",\"parent_id\":");
    runjson_uuid(&w, C(PARENT_ID));
    RAW(o, ",\"root_id\":");
    runjson_uuid(&w, C(ROOT_ID));
    RAW(o, ",\"group_id\":");
    runjson_text(&w, C(GROUP_ID));
    RAW(o, ",\"worker_id\":");
    runjson_int(&w, C(WORKER_ID), 8);
    RAW(o, ",\"progress\":");
    runjson_progress(&w, C(PROGRESS));
    RAW(o, ",\"created_at\":");
    runjson_time(&w, C(CREATED_AT));
    RAW(o, ",\"queued_at\":");
    runjson_time(&w, C(QUEUED_AT));
    RAW(o, ",\"started_at\":");
    runjson_time(&w, C(STARTED_AT));
    RAW(o, ",\"ended_at\":");
    runjson_time(&w, C(ENDED_AT));
    RAW(o, ",\"last_heartbeat_at\":");
    runjson_time(&w, C(LAST_HEARTBEAT_AT));
    RAW(o, ",\"updated_at\":");
    runjson_time(&w, C(UPDATED_AT));
    RAW(o, ",\"cancel_requested\":");
    if (!runjson_null(&w, C(CANCEL_REQUESTED))) {
        const unsigned char *p = runjson_val(&w, C(CANCEL_REQUESTED), 1);
        if (p)
            runjson_raw(o, *p ? "true" : "false", *p ? 4 : 5);
    }
    RAW(o, ",\"duration_s\":");
    runjson_duration(&w);
    RAW(o, ",\"error\":");
    if (PQgetisnull(res, row, C(ERROR_TYPE)) && PQgetisnull(res, row, C(ERROR_MESSAGE))) {
        runjson_raw(o, "null", 4);
    } else {
        RAW(o, "{\"type\":");
        runjson_text(&w, C(ERROR_TYPE));
        RAW(o, ",\"message\":");
        runjson_text(&w, C(ERROR_MESSAGE));
        RAW(o, ",\"traceback\":");
        runjson_text(&w, C(ERROR_TRACEBACK));
        RAW(o, ",\"fingerprint\":");
        runjson_text(&w, C(ERROR_FINGERPRINT));
        runjson_raw(o, "}", 1);
    }
    RAW(o, ",\"result\":");
    runjson_jsonb(&w, C(RESULT));
    RAW(o, ",\"summary\":");
    runjson_jsonb(&w, C(SUMMARY));
    /* attempt_json(): a_seq is NULL only when the run has no attempt (seq is NOT NULL). */
    RAW(o, ",\"latest_attempt\":");
    if (!runjson_null(&w, C(A_SEQ))) {
        RAW(o, "{\"seq\":");
        runjson_int(&w, C(A_SEQ), 4);
        RAW(o, ",\"status\":");
        runjson_text(&w, C(A_STATUS));
        RAW(o, ",\"worker_id\":");
        runjson_int(&w, C(A_WORKER_ID), 8);
        RAW(o, ",\"created_at\":");
        runjson_time(&w, C(A_CREATED_AT));
        RAW(o, ",\"started_at\":");
        runjson_time(&w, C(A_STARTED_AT));
        RAW(o, ",\"ended_at\":");
        runjson_time(&w, C(A_ENDED_AT));
        RAW(o, ",\"last_heartbeat_at\":");
        runjson_time(&w, C(A_LAST_HEARTBEAT_AT));
        RAW(o, ",\"error\":");
        if (PQgetisnull(res, row, C(A_ERROR_TYPE)) && PQgetisnull(res, row, C(A_ERROR_MESSAGE))) {
            runjson_raw(o, "null", 4);
        } else {
            RAW(o, "{\"type\":");
            runjson_text(&w, C(A_ERROR_TYPE));
            RAW(o, ",\"message\":");
            runjson_text(&w, C(A_ERROR_MESSAGE));
            RAW(o, ",\"traceback\":");
            runjson_text(&w, C(A_ERROR_TRACEBACK));
            runjson_raw(o, "}", 1);
        }
        runjson_raw(o, "}", 1);
    }
    runjson_raw(o, "}", 1);
    if (w.bad) {
        o->len = start;
        return -1;
    }
    return 0;
}
