/* jsonx: json-c behind a narrow interface. Parsing is strict (json-c's strict mode
 * plus UTF-8 validation and a depth cap) because a producer's malformed payload must
 * be rejected whole, not half-understood. */
#include "jsonx.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

void jsonx_err_set(struct jsonx_err *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* Where the prescan is in the document, to name the field of a number it refuses: one
 * level per open object or array, with the current key (raw, as sent) or index. */
struct jsonx_where {
    int depth, expect_key;
    struct {
        char kind; /* '{' or '[' */
        size_t index, key_off, key_len;
        size_t inst; /* an object's number, in the order its '{' comes */
    } lv[JSONX_MAX_DEPTH + 1];
};

/* How many keys each object of the document has as sent, by its number: json-c keeps the
 * last of a repeated key without a word, and fewer keys in its tree than here means one
 * was repeated. */
struct jsonx_keys {
    uint32_t *n;
    size_t len, cap;
};

static void jsonx_where_path(const struct jsonx_where *w, const char *buf, char *out, size_t cap)
{
    size_t pos = 0;
    int n;

    out[0] = '\0';
    for (int d = 1; d <= w->depth && d <= JSONX_MAX_DEPTH && pos < cap; d++) {
        if (w->lv[d].kind == '[')
            n = snprintf(out + pos, cap - pos, "[%zu]", w->lv[d].index);
        else
            n = snprintf(out + pos, cap - pos, "%s%.*s", pos ? "." : "", (int)w->lv[d].key_len,
                         buf + w->lv[d].key_off);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

/* NULL when the number literal s (n bytes) is stored as sent, else why not. json-c keeps
 * a literal's text and PostgreSQL keeps every digit of it, so 1e131000 (8 bytes) would
 * print 131,001 digits on every read: a number must be one a double holds (finite, and
 * not a non-zero that rounds to zero), its exponent at most four digits, and an integer
 * without fraction or exponent must fit in 64 bits (json-c silently clamps beyond). */
static const char *jsonx_number_problem(const char *s, size_t n)
{
    const char *p = s, *end = s + n, *ds;
    int neg = 0, nonzero = 0, frac = 0, exp = 0;
    size_t intdig = 0, fracdig = 0, expdig = 0, expval = 0;

    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    for (ds = p; p < end && isdigit((unsigned char)*p); p++, intdig++)
        nonzero |= *p != '0';
    if (p < end && *p == '.')
        for (frac = 1, p++; p < end && isdigit((unsigned char)*p); p++, fracdig++)
            nonzero |= *p != '0';
    if (p < end && (*p == 'e' || *p == 'E')) {
        exp = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        while (p < end && *p == '0')
            p++;
        for (; p < end && isdigit((unsigned char)*p); p++, expdig++)
            expval = expdig < 5 ? expval * 10 + (size_t)(*p - '0') : expval;
    }
    if (!frac && !exp) {
        static const char int_min[] = "9223372036854775808", uint_max[] = "18446744073709551615";
        const char *lim = neg ? int_min : uint_max;
        size_t ll = strlen(lim);
        if (intdig > ll || (intdig == ll && memcmp(ds, lim, ll) > 0))
            return "is an integer beyond 64 bits (send a float or a string)";
        return NULL;
    }
    if (expdig > 4)
        return "has an exponent beyond what a double holds";
    /* Zero, or a magnitude between 1e-300 and 1e300 by its digits alone (the common
     * case, 0.001 or 2.5e-7): nothing to ask strtod. */
    if (!nonzero || (intdig + fracdig <= 100 && expval <= 200))
        return NULL;
    /* The literal is not NUL-terminated in the body: strtod reads a copy. */
    char small[64], *copy = n < sizeof(small) ? small : malloc(n + 1);
    if (!copy)
        return "could not be checked (out of memory)";
    memcpy(copy, s, n);
    copy[n] = '\0';
    double d = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    if (isinf(d))
        return "is too large for a double";
    if (d == 0)
        return "is too small for a double (it would be stored as 0)";
    return NULL;
}

/* The length of the well-formed UTF-8 sequence at s (Unicode's table 3-7: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0. json-c's own check lets all three
 * through, and PostgreSQL refuses them later with a less helpful error. */
static size_t jsonx_utf8_len(const char *p, size_t avail)
{
    const unsigned char *s = (const unsigned char *)p;
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xbf)
            return 0;
    return n;
}

/* The value of four hex digits, or 0x10000 when they are not. */
static unsigned jsonx_hex4(const char *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0x10000;
    }
    return v;
}

/* A string's text that cannot be stored: the field it is in, and where. */
static int jsonx_bad_text(const struct jsonx_where *w, const char *buf, size_t at, const char *what,
                          struct jsonx_err *err)
{
    char path[sizeof(err->field)];
    jsonx_where_path(w, buf, path, sizeof(path));
    jsonx_err_set(err, path, "%s holds %s at offset %zu", path[0] ? path : "the document", what,
                  at);
    return -1;
}

/* json-c 0.16's strict mode still accepts NaN, Infinity, single-quoted strings, raw
 * control characters in strings and "1."; none of them is JSON, and a producer that
 * sends them should hear so. One pass over the bytes catches all of them, and checks
 * each number's range (jsonx_number_problem) with the path of its field in err->field. */
static int jsonx_prescan(const char *buf, size_t len, struct jsonx_keys *keys,
                         struct jsonx_err *err)
{
    /* The bytes JSON allows outside strings, as a table: one load a byte. */
    static unsigned char ok[256], num[256];
    struct jsonx_where w;
    int in_str = 0, esc = 0, in_num = 0, high = 0;
    size_t str_start = 0;

    if (!ok['{']) {
        for (const char *c = " \t\r\n{}[],:0123456789+-eEtrufalsn"; *c; c++)
            ok[(unsigned char)*c] = 1;
        for (const char *c = "0123456789+-.eE"; *c; c++)
            num[(unsigned char)*c] = 1;
    }
    w.depth = 0;
    w.expect_key = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (in_str) {
            if (high && !(esc == 0 && c == '\\') && !(esc && c == 'u'))
                return jsonx_bad_text(&w, buf, i, "a lone UTF-16 surrogate (\\ud800-\\udbff)", err);
            if (esc) {
                esc = 0;
                if (c == 'u' && i + 4 < len) {
                    unsigned u = jsonx_hex4(buf + i + 1);
                    if (u <= 0xffff) {
                        i += 4;
                        if (u >= 0xdc00 && u <= 0xdfff && !high)
                            return jsonx_bad_text(&w, buf, i,
                                                  "a lone UTF-16 surrogate (\\udc00-\\udfff)", err);
                        if (high && !(u >= 0xdc00 && u <= 0xdfff))
                            return jsonx_bad_text(&w, buf, i,
                                                  "a lone UTF-16 surrogate (\\ud800-\\udbff)", err);
                        high = u >= 0xd800 && u <= 0xdbff;
                    }
                }
            } else if (c == '\\')
                esc = 1;
            else if (c >= 0x80) {
                size_t n = jsonx_utf8_len(buf + i, len - i);
                if (!n)
                    return jsonx_bad_text(
                        &w, buf, i, "invalid UTF-8 (overlong, a surrogate or past U+10FFFF)", err);
                i += n - 1;
            } else if (c == '"') {
                in_str = 0;
                if (w.expect_key && w.depth >= 1 && w.depth <= JSONX_MAX_DEPTH) {
                    w.lv[w.depth].key_off = str_start;
                    w.lv[w.depth].key_len = i - str_start;
                    keys->n[w.lv[w.depth].inst]++;
                    w.expect_key = 0;
                }
            } else if (c < 0x20) {
                jsonx_err_set(err, "", "malformed JSON: control character in string at offset %zu",
                              i);
                return -1;
            }
            continue;
        }
        if (in_num && !num[c])
            in_num = 0;
        if (c == '"') {
            in_str = 1;
            str_start = i + 1;
        } else if (c == '.') {
            if (i == 0 || i + 1 >= len || !isdigit((unsigned char)buf[i - 1]) ||
                !isdigit((unsigned char)buf[i + 1])) {
                jsonx_err_set(err, "", "malformed JSON: bad number at offset %zu", i);
                return -1;
            }
        } else if (!ok[c]) {
            jsonx_err_set(err, "", "malformed JSON: unexpected character at offset %zu", i);
            return -1;
        } else if (!in_num && (c == '-' || isdigit(c))) {
            size_t e = i;
            while (e < len && num[(unsigned char)buf[e]])
                e++;
            in_num = 1;
            const char *why = jsonx_number_problem(buf + i, e - i);
            if (why) {
                char path[sizeof(err->field)];
                jsonx_where_path(&w, buf, path, sizeof(path));
                jsonx_err_set(err, path, "%s: the number %.*s%s %s", path[0] ? path : "value",
                              (int)(e - i > 40 ? 40 : e - i), buf + i, e - i > 40 ? "..." : "",
                              why);
                return -1;
            }
        } else if (c == '{' || c == '[') {
            if (++w.depth <= JSONX_MAX_DEPTH) {
                w.lv[w.depth].kind = (char)c;
                w.lv[w.depth].index = 0;
                /* No key yet: a refusal here names the object itself, and the path
                 * must not point at a stale or unset offset (fuzz_json.c, under UBSan). */
                w.lv[w.depth].key_off = 0;
                w.lv[w.depth].key_len = 0;
                if (c == '{') {
                    if (keys->len == keys->cap) {
                        size_t cap = keys->cap ? 2 * keys->cap : 64;
                        uint32_t *n = realloc(keys->n, cap * sizeof(*n));
                        if (!n) {
                            jsonx_err_set(err, "", "out of memory");
                            return -1;
                        }
                        keys->n = n;
                        keys->cap = cap;
                    }
                    w.lv[w.depth].inst = keys->len;
                    keys->n[keys->len++] = 0;
                }
            }
            w.expect_key = c == '{';
        } else if (c == '}' || c == ']') {
            /* A closing bracket with nothing open: json-c refuses the document too, but
             * later; the depth must never go below 0, or the next '{' or '[' would write
             * below w.lv (found by tests/fuzz/fuzz_json.c). */
            if (w.depth == 0) {
                jsonx_err_set(err, "", "malformed JSON: unexpected '%c' at offset %zu", c, i);
                return -1;
            }
            w.depth--;
            w.expect_key = 0;
        } else if (c == ',' && w.depth >= 1 && w.depth <= JSONX_MAX_DEPTH) {
            if (w.lv[w.depth].kind == '[')
                w.lv[w.depth].index++;
            else
                w.expect_key = 1;
        }
    }
    return 0;
}

struct jsonx_span {
    size_t off, len;
};

static const char *jsonx_span_buf;

static int jsonx_span_cmp(const void *a, const void *b)
{
    const struct jsonx_span *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(jsonx_span_buf + x->off, jsonx_span_buf + y->off, x->len);
}

/* The key object number inst holds twice, as sent (escapes and all), into out; -1 when
 * no two are written alike (the same key escaped two ways: the object's path must do). */
static int jsonx_dup_key(const char *buf, size_t len, size_t inst, char *out, size_t cap)
{
    struct jsonx_span *ks = NULL;
    size_t nk = 0, kcap = 0, seen = 0, start = 0;
    int depth = 0, in_str = 0, esc = 0, expect = 0, rc = -1;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"') {
                in_str = 0;
                if (depth == 1 && expect) {
                    if (nk == kcap) {
                        struct jsonx_span *g =
                            realloc(ks, (kcap = kcap ? 2 * kcap : 16) * sizeof(*g));
                        if (!g)
                            goto out;
                        ks = g;
                    }
                    ks[nk++] = (struct jsonx_span){start, i - start};
                    expect = 0;
                }
            }
        } else if (c == '"') {
            in_str = 1;
            start = i + 1;
        } else if (c == '{' || c == '[') {
            if (depth > 0)
                depth++;
            else if (c == '{' && seen++ == inst)
                depth = 1, expect = 1;
        } else if (c == '}' || c == ']') {
            if (depth > 0 && --depth == 0)
                break;
        } else if (c == ',' && depth == 1) {
            expect = 1;
        }
    }
    jsonx_span_buf = buf;
    qsort(ks, nk, sizeof(*ks), jsonx_span_cmp);
    for (size_t i = 1; i < nk; i++)
        if (jsonx_span_cmp(&ks[i - 1], &ks[i]) == 0) {
            snprintf(out, cap, "%.*s", (int)ks[i].len, buf + ks[i].off);
            rc = 0;
            break;
        }
out:
    free(ks);
    return rc;
}

/* The number of the first object (in document order) with fewer keys in json-c's tree
 * than were sent, or -1. *next counts the objects walked. */
static long jsonx_dup_object(json_object *o, const struct jsonx_keys *k, size_t *next)
{
    if (json_object_is_type(o, json_type_object)) {
        size_t me = (*next)++;
        if (me >= k->len || (size_t)json_object_object_length(o) != k->n[me])
            return (long)me;
        json_object_object_foreach(o, key, v)
        {
            (void)key;
            long d = jsonx_dup_object(v, k, next);
            if (d >= 0)
                return d;
        }
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            long d = jsonx_dup_object(json_object_array_get_idx(o, i), k, next);
            if (d >= 0)
                return d;
        }
    }
    return -1;
}

/* The path of object number want (as jsonx_dup_object counts them) into path; 1 when
 * found. Only walked once a duplicate is known, so the common case builds no paths. */
static int jsonx_object_path(json_object *o, size_t want, size_t *next, char *path, size_t cap)
{
    size_t base = strlen(path);

    if (json_object_is_type(o, json_type_object)) {
        if ((*next)++ == want)
            return 1;
        json_object_object_foreach(o, key, v)
        {
            snprintf(path + base, cap - base, "%s%s", base ? "." : "", key);
            if (jsonx_object_path(v, want, next, path, cap))
                return 1;
        }
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            snprintf(path + base, cap - base, "[%zu]", i);
            if (jsonx_object_path(json_object_array_get_idx(o, i), want, next, path, cap))
                return 1;
        }
    }
    path[base] = '\0';
    return 0;
}

json_object *jsonx_parse(const char *buf, size_t len, struct jsonx_err *err)
{
    /* One tokener a process, reset for each parse: making one allocates its whole depth
     * stack. Both daemons parse on one thread. */
    static json_tokener *tok;
    json_object *obj = NULL;
    enum json_tokener_error jerr;
    struct jsonx_keys keys = {0};
    size_t end;

    if (len == 0) {
        jsonx_err_set(err, "", "request body is empty");
        goto fail;
    }
    if (memchr(buf, '\0', len)) {
        jsonx_err_set(err, "", "malformed JSON: NUL byte at offset %zu",
                      (size_t)((const char *)memchr(buf, '\0', len) - buf));
        goto fail;
    }
    if (len > INT32_MAX) {
        jsonx_err_set(err, "", "body too large to parse");
        goto fail;
    }
    if (jsonx_prescan(buf, len, &keys, err) != 0)
        goto fail;
    if (!tok && (tok = json_tokener_new_ex(JSONX_MAX_DEPTH)) == NULL) {
        jsonx_err_set(err, "", "out of memory");
        goto fail;
    }
    json_tokener_reset(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, buf, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        jsonx_err_set(err, "", "malformed JSON: unexpected end of input");
        goto fail;
    }
    if (jerr != json_tokener_success) {
        jsonx_err_set(err, "", "malformed JSON at offset %zu: %s", end,
                      json_tokener_error_desc(jerr));
        goto fail;
    }
    for (; end < len; end++) {
        char c = buf[end];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            jsonx_err_set(err, "", "malformed JSON: unexpected data at offset %zu", end);
            goto fail;
        }
    }
    {
        char path[sizeof(err->field)] = "", key[64];
        size_t next = 0;
        long dup = jsonx_dup_object(obj, &keys, &next);
        if (dup >= 0) {
            size_t plen;
            next = 0;
            jsonx_object_path(obj, (size_t)dup, &next, path, sizeof(path));
            plen = strlen(path);
            if (jsonx_dup_key(buf, len, (size_t)dup, key, sizeof(key)) == 0)
                snprintf(path + plen, sizeof(path) - plen, "%s%s", plen ? "." : "", key);
            jsonx_err_set(err, path[0] ? path : "", "%s: a key is sent twice in one object",
                          path[0] ? path : "the document");
            goto fail;
        }
    }
    free(keys.n);
    return obj;
fail:
    free(keys.n);
    json_object_put(obj);
    return NULL;
}

/* Looks key up; returns 1 when a usable value is there, 0 when absent (or null and
 * nullable), -1 on a missing required field or a null that is not allowed. */
static int jsonx_lookup(json_object *obj, const char *key, unsigned flags, json_object **val,
                        int *present, struct jsonx_err *err)
{
    json_object *v = NULL;
    int found = obj && json_object_object_get_ex(obj, key, &v);

    if (present)
        *present = 0;
    if (found && v == NULL && (flags & JSONX_NULLABLE))
        found = 0;
    if (!found) {
        if (flags & JSONX_REQUIRED) {
            jsonx_err_set(err, key, "%s is required", key);
            return -1;
        }
        return 0;
    }
    if (v == NULL) {
        jsonx_err_set(err, key, "%s must not be null", key);
        return -1;
    }
    *val = v;
    if (present)
        *present = 1;
    return 1;
}

int jsonx_string(json_object *obj, const char *key, unsigned flags, size_t min_len, size_t max_len,
                 const char **out, int *present, struct jsonx_err *err)
{
    json_object *v;
    int rc = jsonx_lookup(obj, key, flags, &v, present, err);
    size_t len;

    if (rc <= 0)
        return rc;
    if (!json_object_is_type(v, json_type_string)) {
        jsonx_err_set(err, key, "%s must be a string", key);
        return -1;
    }
    len = (size_t)json_object_get_string_len(v);
    if (memchr(json_object_get_string(v), '\0', len)) {
        jsonx_err_set(err, key, "%s must not contain NUL characters", key);
        return -1;
    }
    if (len < min_len || len > max_len) {
        jsonx_err_set(err, key, "%s must be %zu to %zu bytes long", key, min_len, max_len);
        return -1;
    }
    *out = json_object_get_string(v);
    return 0;
}

int jsonx_int(json_object *obj, const char *key, unsigned flags, int64_t min, int64_t max,
              int64_t *out, int *present, struct jsonx_err *err)
{
    json_object *v;
    int rc = jsonx_lookup(obj, key, flags, &v, present, err);
    int64_t n;

    if (rc <= 0)
        return rc;
    if (!json_object_is_type(v, json_type_int)) {
        jsonx_err_set(err, key, "%s must be an integer", key);
        return -1;
    }
    n = json_object_get_int64(v);
    /* json-c keeps values above INT64_MAX as uint64 and saturates get_int64. */
    if ((n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX) || n < min || n > max) {
        jsonx_err_set(err, key, "%s must be from %lld to %lld", key, (long long)min,
                      (long long)max);
        return -1;
    }
    *out = n;
    return 0;
}

int jsonx_number(json_object *obj, const char *key, unsigned flags, double min, double max,
                 double *out, int *present, struct jsonx_err *err)
{
    json_object *v;
    int rc = jsonx_lookup(obj, key, flags, &v, present, err);
    double d;

    if (rc <= 0)
        return rc;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
        jsonx_err_set(err, key, "%s must be a number", key);
        return -1;
    }
    d = json_object_get_double(v);
    if (!isfinite(d) || d < min || d > max) {
        jsonx_err_set(err, key, "%s must be from %g to %g", key, min, max);
        return -1;
    }
    *out = d;
    return 0;
}

int jsonx_bool(json_object *obj, const char *key, unsigned flags, int *out, int *present,
               struct jsonx_err *err)
{
    json_object *v;
    int rc = jsonx_lookup(obj, key, flags, &v, present, err);

    if (rc <= 0)
        return rc;
    if (!json_object_is_type(v, json_type_boolean)) {
        jsonx_err_set(err, key, "%s must be true or false", key);
        return -1;
    }
    *out = json_object_get_boolean(v) ? 1 : 0;
    return 0;
}

int jsonx_enum(json_object *obj, const char *key, unsigned flags, const char *const *allowed,
               const char **out, int *present, struct jsonx_err *err)
{
    const char *s = NULL;
    char list[200];
    size_t pos = 0;

    if (jsonx_string(obj, key, flags, 0, 256, &s, present, err) != 0)
        return -1;
    if (!s)
        return 0;
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(s, allowed[i]) == 0) {
            *out = allowed[i];
            return 0;
        }
    }
    list[0] = '\0';
    for (size_t i = 0; allowed[i] && pos < sizeof(list); i++) {
        int n = snprintf(list + pos, sizeof(list) - pos, "%s%s", i ? ", " : "", allowed[i]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
    jsonx_err_set(err, key, "%s must be one of: %s", key, list);
    return -1;
}

int jsonx_child(json_object *obj, const char *key, unsigned flags, json_type type,
                json_object **out, int *present, struct jsonx_err *err)
{
    json_object *v;
    int rc = jsonx_lookup(obj, key, flags, &v, present, err);

    if (rc <= 0)
        return rc;
    if (!json_object_is_type(v, type)) {
        jsonx_err_set(err, key, "%s must be %s", key,
                      type == json_type_array ? "an array" : "an object");
        return -1;
    }
    *out = v;
    return 0;
}

int jsonx_only_keys(json_object *obj, const char *const *allowed, struct jsonx_err *err)
{
    json_object_object_foreach(obj, k, v)
    {
        size_t i;
        (void)v;
        for (i = 0; allowed[i]; i++)
            if (strcmp(k, allowed[i]) == 0)
                break;
        if (!allowed[i]) {
            jsonx_err_set(err, k, "unknown field %s", k);
            return -1;
        }
    }
    return 0;
}

const char *jsonx_to_string(json_object *obj, size_t *len)
{
    return json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

/* Patterns are lowercase; the key is compared whole, however long it is. A short key is
 * lowered once and searched with strstr: strcasestr per pattern cost a walk per pattern. */
static int jsonx_key_matches(const char *key, const char *const *patterns)
{
    char low[128];
    size_t n = 0;

    for (; n < sizeof(low) - 1 && key[n]; n++)
        low[n] = (char)tolower((unsigned char)key[n]);
    low[n] = '\0';
    for (size_t k = 0; patterns[k]; k++)
        if (key[n] ? strcasestr(key, patterns[k]) != NULL : strstr(low, patterns[k]) != NULL)
            return 1;
    return 0;
}

int jsonx_redact(json_object *obj, const char *const *patterns)
{
    int n = 0;

    if (json_object_is_type(obj, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(obj); i++)
            n += jsonx_redact(json_object_array_get_idx(obj, i), patterns);
    } else if (json_object_is_type(obj, json_type_object)) {
        json_object_object_foreach(obj, k, v)
        {
            if (jsonx_key_matches(k, patterns)) {
                /* Replacing the value of an existing key during iteration keeps the
                 * entry (json-c frees the old value), so the walk stays valid. */
                json_object_object_add(obj, k, json_object_new_string("[redacted]"));
                n++;
            } else {
                n += jsonx_redact(v, patterns);
            }
        }
    }
    return n;
}

static int jsonx_num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int jsonx_is_rfc3339(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    int y, mo, d;

    for (; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    /* The calendar too: PostgreSQL would refuse 2026-02-30, after our checks said yes. */
    y = jsonx_num(s, 4);
    mo = jsonx_num(s + 5, 2);
    d = jsonx_num(s + 8, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ||
        jsonx_num(s + 11, 2) > 23 || jsonx_num(s + 14, 2) > 59 || jsonx_num(s + 17, 2) > 60)
        return 0;
    if (s[i] == '.') {
        i++;
        if (s[i] < '0' || s[i] > '9')
            return 0;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (s[i] == 'Z')
        return s[i + 1] == '\0';
    return (s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 && isdigit((unsigned char)s[i + 1]) &&
           isdigit((unsigned char)s[i + 2]) && s[i + 3] == ':' &&
           isdigit((unsigned char)s[i + 4]) && isdigit((unsigned char)s[i + 5]) &&
           jsonx_num(s + i + 1, 2) <= 23 && jsonx_num(s + i + 4, 2) <= 59;
}

int jsonx_is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[36] == '\0';
}

int jsonx_find_nul(json_object *obj, char *path, size_t cap)
{
    size_t base = strlen(path);

    if (json_object_is_type(obj, json_type_string)) {
        return memchr(json_object_get_string(obj), '\0', (size_t)json_object_get_string_len(obj)) !=
               NULL;
    }
    if (json_object_is_type(obj, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(obj); i++) {
            snprintf(path + base, cap - base, "[%zu]", i);
            if (jsonx_find_nul(json_object_array_get_idx(obj, i), path, cap))
                return 1;
        }
    } else if (json_object_is_type(obj, json_type_object)) {
        json_object_object_foreach(obj, k, v)
        {
            snprintf(path + base, cap - base, "%s%s", base ? "." : "", k);
            if (jsonx_find_nul(v, path, cap))
                return 1;
        }
    }
    path[base] = '\0';
    return 0;
}

void jsonx_out_init(struct jsonx_out *o, struct arena *a, size_t cap)
{
    o->arena = a;
    o->len = 0;
    o->cap = cap < 64 ? 64 : cap;
    o->buf = arena_alloc(a, o->cap);
    o->failed = !o->buf;
}

char *jsonx_out_room(struct jsonx_out *o, size_t n)
{
    if (o->failed)
        return NULL;
    if (o->cap - o->len <= n) { /* keep a byte for the final NUL */
        size_t cap = o->cap;
        while (cap - o->len <= n)
            cap *= 2;
        char *buf = arena_alloc(o->arena, cap);
        if (!buf) {
            o->failed = 1;
            return NULL;
        }
        memcpy(buf, o->buf, o->len);
        o->buf = buf;
        o->cap = cap;
    }
    return o->buf + o->len;
}

void jsonx_out_raw(struct jsonx_out *o, const char *s, size_t n)
{
    char *p = jsonx_out_room(o, n);
    if (!p)
        return;
    memcpy(p, s, n);
    o->len += n;
}

void jsonx_out_str(struct jsonx_out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *p = jsonx_out_room(o, 6 * n + 2), *start = p; /* \u00xx is the longest form */
    if (!p)
        return;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"':
            *p++ = '"';
            break;
        case '\\':
            *p++ = '\\';
            break;
        case '\b':
            *p++ = 'b';
            break;
        case '\f':
            *p++ = 'f';
            break;
        case '\n':
            *p++ = 'n';
            break;
        case '\r':
            *p++ = 'r';
            break;
        case '\t':
            *p++ = 't';
            break;
        default:
            memcpy(p, "u00", 3);
            p[3] = hex[c >> 4];
            p[4] = hex[c & 15];
            p += 5;
        }
    }
    *p++ = '"';
    o->len += (size_t)(p - start);
}

const char *jsonx_out_end(struct jsonx_out *o, size_t *len)
{
    if (!jsonx_out_room(o, 0))
        return NULL;
    o->buf[o->len] = '\0';
    if (len)
        *len = o->len;
    return o->buf;
}
