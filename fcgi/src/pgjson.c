/* pgjson: PostgreSQL's binary values written as its JSON output writes them (pgjson.h). The
 * binary forms read here are PostgreSQL's send functions': integers and float4 big-endian,
 * uuid its 16 bytes, bool one byte, timestamptz an int64 of microseconds since 2000-01-01,
 * jsonb a version byte (1) then its text, text[] the array header then each element. The
 * time and number formats follow PostgreSQL 15's output code (EncodeDateTime with XSD dates,
 * float4out, numeric_out of extract's result); the unit tests pin them with cases taken from
 * the server. */
#include "pgjson.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pgjson_check(const PGresult *res, int first, const unsigned *types, int n, const char *what,
                 char *err, size_t errlen)
{
    if (PQnfields(res) < first + n) {
        snprintf(err, errlen, "%s answers %d columns, not %d", what, PQnfields(res), first + n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int c = first + i;
        if (PQfformat(res, c) != 1 || PQftype(res, c) != types[i]) {
            snprintf(err, errlen, "%s: column %s is type %u format %d, not %u binary", what,
                     PQfname(res, c), PQftype(res, c), PQfformat(res, c), types[i]);
            return -1;
        }
    }
    return 0;
}

/* ---- binary values ---- */

int64_t pgjson_time_at(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
        return 0;
    return (int64_t)pgjson_be64((const unsigned char *)PQgetvalue(res, row, col));
}

/* ---- formatters ---- */

#define PGJSON_USECS_PER_DAY INT64_C(86400000000)
#define PGJSON_EPOCH_JDATE   2451545 /* 2000-01-01 as a Julian day */

/* PostgreSQL's j2date (datetime.c): a Julian day to the proleptic Gregorian calendar, with
 * year 0 for 1 BC. */
static void pgjson_j2date(int jd, int *year, int *month, int *day)
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

struct pgjson_tm {
    int year, mon, mday, hour, min, sec, usec;
};

static void pgjson_split(int64_t us, struct pgjson_tm *tm)
{
    int64_t date = us / PGJSON_USECS_PER_DAY, time = us - date * PGJSON_USECS_PER_DAY;
    if (time < 0) {
        time += PGJSON_USECS_PER_DAY;
        date--;
    }
    pgjson_j2date((int)(date + PGJSON_EPOCH_JDATE), &tm->year, &tm->mon, &tm->mday);
    tm->hour = (int)(time / INT64_C(3600000000));
    time -= (int64_t)tm->hour * INT64_C(3600000000);
    tm->min = (int)(time / 60000000);
    time -= (int64_t)tm->min * 60000000;
    tm->sec = (int)(time / 1000000);
    tm->usec = (int)(time - (int64_t)tm->sec * 1000000);
}

/* n as exactly width digits (n < 10^width), the way %0*d would, without printf's cost: a
 * page has over a thousand timestamps. Two digits a step, from a table. */
static const char pgjson_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                      "25262728293031323334353637383940414243444546474849"
                                      "50515253545556575859606162636465666768697071727374"
                                      "75767778798081828384858687888990919293949596979899";

static char *pgjson_digits(char *p, int n, int width)
{
    int i = width;
    while (i >= 2) {
        i -= 2;
        memcpy(p + i, pgjson_pairs + 2 * (n % 100), 2);
        n /= 100;
    }
    if (i)
        p[0] = (char)('0' + n % 10);
    return p + width;
}

/* (A page has a priority and a duration a run: printf was a sixth of the rendering.) */
size_t pgjson_fmt_i64(char *p, int64_t v)
{
    return jsonx_fmt_dec(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

size_t pgjson_fmt_time(char *buf, int64_t us)
{
    struct pgjson_tm tm;

    if (us == INT64_MAX || us == INT64_MIN)
        return (size_t)snprintf(buf, PGJSON_NUM_MAX, "%s",
                                us == INT64_MAX ? "infinity" : "-infinity");
    pgjson_split(us, &tm);
    int year = tm.year > 0 ? tm.year : -(tm.year - 1);
    char *p = buf;
    if (year > 9999)
        p += snprintf(p, PGJSON_NUM_MAX, "%d", year);
    else
        p = pgjson_digits(p, year, 4);
    *p++ = '-';
    p = pgjson_digits(p, tm.mon, 2);
    *p++ = '-';
    p = pgjson_digits(p, tm.mday, 2);
    *p++ = 'T';
    p = pgjson_digits(p, tm.hour, 2);
    *p++ = ':';
    p = pgjson_digits(p, tm.min, 2);
    *p++ = ':';
    p = pgjson_digits(p, tm.sec, 2);
    if (tm.usec) { /* without trailing zeros, as PostgreSQL's AppendSeconds */
        int frac = tm.usec, digits = 6;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        *p++ = '.';
        p = pgjson_digits(p, frac, digits);
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

size_t pgjson_fmt_cursor_time(char *buf, int64_t us)
{
    struct pgjson_tm tm;
    pgjson_split(us, &tm);
    return (size_t)snprintf(buf, PGJSON_NUM_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.year,
                            tm.mon, tm.mday, tm.hour, tm.min, tm.sec, tm.usec);
}

/* The correctly rounded decimal of f > 0 with prec + 1 significant digits when it reads back
 * as f, else (only next to a power of 2, where the floats below are closer together than
 * those above) a neighbour one unit in its last place away that does; -1 when none does.
 * Like PostgreSQL's Ryu, a decimal exactly halfway to the next float does not count, even
 * where strtof would round it to f (long double holds those midpoints exactly). */
static long pgjson_try(float f, int prec, long double mid_lo, long double mid_hi, int *ex, int *nd)
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
static int pgjson_shortest(float f, char *digits, int *exp10)
{
    float below = nextafterf(f, 0), above = nextafterf(f, INFINITY);
    long double mid_lo = ((long double)f + below) / 2,
                mid_hi = isinf(above) ? (long double)f + ((long double)f - below) / 2
                                      : ((long double)f + above) / 2;
    int lo = 0, hi = 8, ex = 0, nd = 1, best_ex = 0, best_nd = 1;
    long best = -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        long cand = pgjson_try(f, mid, mid_lo, mid_hi, &ex, &nd);
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

size_t pgjson_fmt_float4(char *buf, float f)
{
    char digits[16];
    int exp10 = 0, nd, n = 0;

    if (isnan(f))
        return (size_t)snprintf(buf, PGJSON_NUM_MAX, "\"NaN\"");
    if (isinf(f))
        return (size_t)snprintf(buf, PGJSON_NUM_MAX, "\"%sInfinity\"", f < 0 ? "-" : "");
    if (signbit(f))
        buf[n++] = '-';
    if (f == 0) {
        buf[n++] = '0';
        buf[n] = '\0';
        return (size_t)n;
    }
    nd = pgjson_shortest(fabsf(f), digits, &exp10);
    if (exp10 < -4 || exp10 >= 6) {
        /* d[.ddd]e±XX, as float4out switches to scientific notation */
        buf[n++] = digits[0];
        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, digits + 1, (size_t)nd - 1);
            n += nd - 1;
        }
        n += snprintf(buf + n, PGJSON_NUM_MAX - (size_t)n, "e%c%02d", exp10 < 0 ? '-' : '+',
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

size_t pgjson_fmt_seconds(char *buf, int64_t us)
{
    uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    char *p = buf;
    if (us < 0)
        *p++ = '-';
    p += jsonx_fmt_dec(p, a / 1000000, 0);
    *p++ = '.';
    p = pgjson_digits(p, (int)(a % 1000000), 6);
    *p = '\0';
    return (size_t)(p - buf);
}

/* ---- the cells of a row ---- */

int pgjson_null(struct pgjson_row *w, int col)
{
    if (!PQgetisnull(w->res, w->row, col))
        return 0;
    pgjson_raw(w->o, "null", 4);
    return 1;
}

const unsigned char *pgjson_val(struct pgjson_row *w, int col, int len)
{
    if (len >= 0 && PQgetlength(w->res, w->row, col) != len) {
        w->bad = 1;
        return NULL;
    }
    return (const unsigned char *)PQgetvalue(w->res, w->row, col);
}

void pgjson_text(struct pgjson_row *w, int col)
{
    if (!pgjson_null(w, col))
        jsonx_out_str(w->o, PQgetvalue(w->res, w->row, col),
                      (size_t)PQgetlength(w->res, w->row, col));
}

void pgjson_int(struct pgjson_row *w, int col, int size)
{
    const unsigned char *p;
    char buf[PGJSON_NUM_MAX];
    if (pgjson_null(w, col) || !(p = pgjson_val(w, col, size)))
        return;
    int64_t v = size == 8   ? (int64_t)pgjson_be64(p)
                : size == 4 ? (int64_t)(int32_t)pgjson_be32(p)
                            : (int64_t)(int16_t)(uint16_t)(p[0] << 8 | p[1]);
    pgjson_raw(w->o, buf, pgjson_fmt_i64(buf, v));
}

/* 16 bytes as 8-4-4-4-12 lowercase hex, 36 characters, no NUL. */
static void pgjson_hex_uuid(char *d, const unsigned char *p)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *d++ = '-';
        *d++ = hex[p[i] >> 4];
        *d++ = hex[p[i] & 15];
    }
}

int pgjson_uuid_at(const PGresult *res, int row, int col, char *buf)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 16)
        return -1;
    pgjson_hex_uuid(buf, (const unsigned char *)PQgetvalue(res, row, col));
    buf[36] = '\0';
    return 0;
}

void pgjson_uuid(struct pgjson_row *w, int col)
{
    const unsigned char *p;
    char *d;
    if (pgjson_null(w, col) || !(p = pgjson_val(w, col, 16)) || !(d = jsonx_out_room(w->o, 38)))
        return;
    d[0] = '"';
    pgjson_hex_uuid(d + 1, p);
    d[37] = '"';
    w->o->len += 38;
}

char *pgjson_hex_bytes(char *d, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *d++ = hex[p[i] >> 4];
        *d++ = hex[p[i] & 15];
    }
    return d;
}

void pgjson_hex(struct pgjson_row *w, int col)
{
    char *d;
    if (pgjson_null(w, col))
        return;
    size_t n = (size_t)PQgetlength(w->res, w->row, col);
    if (!(d = jsonx_out_room(w->o, 2 * n + 2)))
        return;
    *d = '"';
    d = pgjson_hex_bytes(d + 1, (const unsigned char *)PQgetvalue(w->res, w->row, col), n);
    *d = '"';
    w->o->len += 2 * n + 2;
}

void pgjson_time(struct pgjson_row *w, int col)
{
    char buf[PGJSON_NUM_MAX + 2];
    const unsigned char *p;
    if (pgjson_null(w, col) || !(p = pgjson_val(w, col, 8)))
        return;
    buf[0] = '"';
    size_t n = 1 + pgjson_fmt_time(buf + 1, (int64_t)pgjson_be64(p));
    buf[n++] = '"';
    pgjson_raw(w->o, buf, n);
}

void pgjson_jsonb(struct pgjson_row *w, int col)
{
    if (pgjson_null(w, col))
        return;
    const char *v = PQgetvalue(w->res, w->row, col);
    int len = PQgetlength(w->res, w->row, col);
    if (len < 2 || v[0] != 1) { /* version 1 is the only one there is */
        w->bad = 1;
        return;
    }
    pgjson_raw(w->o, v + 1, (size_t)len - 1);
}

/* A one-dimensional text[] (or an empty one) as a JSON array, as array_to_json writes it:
 * no spaces, NULL elements as null. */
void pgjson_text_array(struct pgjson_row *w, int col)
{
    if (pgjson_null(w, col))
        return;
    const unsigned char *p = (const unsigned char *)PQgetvalue(w->res, w->row, col);
    const unsigned char *end = p + PQgetlength(w->res, w->row, col);
    if (end - p < 12) {
        w->bad = 1;
        return;
    }
    uint32_t ndim = pgjson_be32(p), nelem = 0;
    if (ndim > 1 || pgjson_be32(p + 8) != PGJSON_TEXT || (ndim == 1 && end - p < 20)) {
        w->bad = 1;
        return;
    }
    p += 12;
    if (ndim == 1) {
        nelem = pgjson_be32(p);
        p += 8; /* the dimension's size and lower bound */
    }
    pgjson_raw(w->o, "[", 1);
    for (uint32_t i = 0; i < nelem; i++) {
        if (end - p < 4) {
            w->bad = 1;
            return;
        }
        int32_t len = (int32_t)pgjson_be32(p);
        p += 4;
        if (i)
            pgjson_raw(w->o, ",", 1);
        if (len < 0) {
            pgjson_raw(w->o, "null", 4);
            continue;
        }
        if (end - p < len) {
            w->bad = 1;
            return;
        }
        jsonx_out_str(w->o, (const char *)p, (size_t)len);
        p += len;
    }
    pgjson_raw(w->o, "]", 1);
}

void pgjson_float4(struct pgjson_row *w, int col)
{
    char buf[PGJSON_NUM_MAX];
    const unsigned char *p;
    if (pgjson_null(w, col) || !(p = pgjson_val(w, col, 4)))
        return;
    uint32_t bits = pgjson_be32(p);
    float f;
    memcpy(&f, &bits, sizeof(f));
    pgjson_raw(w->o, buf, pgjson_fmt_float4(buf, f));
}
