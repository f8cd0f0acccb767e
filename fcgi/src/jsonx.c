/* jsonx: the one JSON layer, json-c behind a narrow interface, and beside it jsonx_read,
 * a read-only tree of the body in the request's arena for bulk input (an event batch), where
 * json-c's tree of allocations was most of a request's time. Parsing is strict (json-c's
 * strict mode plus UTF-8 validation and a depth cap) because a producer's malformed payload
 * must be rejected whole, not half-understood; jsonx_read accepts exactly what jsonx_parse
 * accepts (tests/fuzz/fuzz_jsonread.c), and the getters of both trees share their rules. */
#include "jsonx.h"

#include <ctype.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "hex.h"

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

int jsonx_utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n;
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        if ((n = jsonx_utf8_len(s + i, len - i)) == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* The value of four hex digits, or 0x10000 when they are not. */
static unsigned jsonx_hex4(const char *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int d = hex_digit(p[k]);
        if (d < 0)
            return 0x10000;
        v = v << 4 | (unsigned)d;
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
    static unsigned char ok[256], num[256], plain[256];
    struct jsonx_where w;
    int in_str = 0, esc = 0, in_num = 0, high = 0;
    size_t str_start = 0;

    if (!ok['{']) {
        for (const char *c = " \t\r\n{}[],:0123456789+-eEtrufalsn"; *c; c++)
            ok[(unsigned char)*c] = 1;
        for (const char *c = "0123456789+-.eE"; *c; c++)
            num[(unsigned char)*c] = 1;
        for (int c = 0x20; c < 0x80; c++)
            plain[c] = c != '"' && c != '\\';
    }
    w.depth = 0;
    w.expect_key = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (in_str) {
            /* Most of a string is printable ASCII with nothing to check: skipped at one
             * table load a byte (the prescan was a fifth of a batch's parse). */
            if (!esc && !high) {
                while (i < len && plain[(unsigned char)buf[i]])
                    i++;
                if (i == len)
                    break;
                c = (unsigned char)buf[i];
            }
            if (high && !(esc == 0 && c == '\\') && !(esc && c == 'u'))
                return jsonx_bad_text(&w, buf, i, "a lone UTF-16 surrogate (\\ud800-\\udbff)", err);
            if (esc) {
                esc = 0;
                if (c == 'u') {
                    /* A \u without four hex digits is refused here, though json-c refuses
                     * it too: after a high surrogate ("\ud834\u\udc00") json-c stopped with
                     * the surrogate held, and the next body the process parsed had a
                     * U+FFFD before its first \u escape (tests/fuzz/fuzz_jsonread.c). */
                    unsigned u = i + 4 < len ? jsonx_hex4(buf + i + 1) : 0x10000;
                    if (u > 0xffff) {
                        jsonx_err_set(err, "",
                                      "malformed JSON: \\u without four hex digits at offset %zu",
                                      i);
                        return -1;
                    }
                    {
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
    /* A document that ends inside a string is refused here, not by json-c: a body cut after
     * "\ud834 left json-c 0.16's tokener holding the high surrogate through json_tokener_reset
     * (which clears neither it nor the escape's state), and the next request's first \u escape
     * in the worker came out with a U+FFFD before it (found by tests/fuzz/fuzz_jsonread.c).
     * With this and the \u check above, json-c never stops inside a \u escape. */
    if (in_str) {
        jsonx_err_set(err, "", "malformed JSON: unexpected end of input");
        return -1;
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

/* Keeps a parsed tree's memory in the process between requests. json-c allocates every
 * value, key and hash table apart (a 1000-event batch of 120 KB is about 30,000 small
 * allocations, 1 MB), and the request frees them all at once. With glibc's defaults the heap
 * above 128 KB of free space is handed back to the kernel at each free (brk), so every batch
 * faulted its megabyte in again, page by page: 260 minor faults a batch, a fifth to more
 * than half of the parse's wall time on this shared box, which no instruction count shows
 * (docs/PERFORMANCE.md, "the JSON layer's page faults"). Free space up to JSONX_TRIM_BYTES stays; a
 * one-off larger peak is still given back. Bodies up to JSONX_MMAP_BYTES (RUNWATCH_MAX_BODY is 1
 * MiB) come from the heap too, not from a fresh mmap each time. Setting either turns off glibc's
 * own sliding thresholds, which only rise after a large mmap'd block is freed. No fastbins: freeing
 * a tree of small blocks made glibc merge them again and again (malloc_consolidate, 8% of a
 * worker's CPU under the batch load, a third of a 512-span OTLP request's); without them the
 * same batch costs 2-7% less CPU and that OTLP request 28% less. Called by the first parse,
 * and by the API worker at start, whose OTLP protobuf path builds json-c trees without
 * parsing JSON. */
#define JSONX_TRIM_BYTES (16u << 20)
#define JSONX_MMAP_BYTES (4u << 20)

void jsonx_malloc_tune(void)
{
    mallopt(M_MMAP_THRESHOLD, JSONX_MMAP_BYTES);
    mallopt(M_TRIM_THRESHOLD, JSONX_TRIM_BYTES);
    mallopt(M_MXFAST, 0);
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
    if (!tok) {
        jsonx_malloc_tune();
        if ((tok = json_tokener_new_ex(JSONX_MAX_DEPTH)) == NULL) {
            jsonx_err_set(err, "", "out of memory");
            goto fail;
        }
    }
    json_tokener_reset(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
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

/* ---- jsonx_read: the read-only tree for bulk input. One pass over the bytes that checks
 * what jsonx_parse's prescan and json-c's strict grammar check together (the differences
 * from RFC 8259 found by tests/fuzz/fuzz_jsonread.c are none inside a container), and what
 * jsonx_parse checks after (repeated keys). The nodes of a container wait on a stack the
 * process keeps (one reader at a time, like jsonx_parse's tokener: the daemons read bodies on
 * one thread) until it closes, then go to the arena in one piece. A json-c tree of the
 * bench's 1000-event batch was about 30,000 allocations; this is one per container. */

struct jsonx_rd {
    const char *end;
    struct arena *a;
    int nul;
};

static struct {
    struct jsonx_val *v;
    size_t len, cap;
} jsonx_rd_items;
static struct {
    struct jsonx_member *v;
    size_t len, cap;
} jsonx_rd_members;

/* A stack larger than this after a read (a body of tens of thousands of values) is given back
 * rather than kept for the next. */
#define JSONX_RD_KEEP 4096

/* Bytes of a string with nothing to check: printable ASCII but '"' and '\\'. */
static unsigned char jsonx_rd_plain[256];

static const char *jsonx_rd_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static char *jsonx_rd_utf8(char *o, unsigned u)
{
    if (u < 0x80) {
        *o++ = (char)u;
    } else if (u < 0x800) {
        *o++ = (char)(0xc0 | (u >> 6));
        *o++ = (char)(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
        *o++ = (char)(0xe0 | (u >> 12));
        *o++ = (char)(0x80 | ((u >> 6) & 0x3f));
        *o++ = (char)(0x80 | (u & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (u >> 18));
        *o++ = (char)(0x80 | ((u >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((u >> 6) & 0x3f));
        *o++ = (char)(0x80 | (u & 0x3f));
    }
    return o;
}

/* The string whose text starts at p (past its opening quote): its text in *s, *n, and past
 * its closing quote, or NULL when jsonx_parse would refuse it (a control character, UTF-8
 * that is not well-formed, an escape JSON has not, a UTF-16 surrogate not in a pair). *nul is
 * set when the text holds a NUL (only \u0000 can make one). */
static const char *jsonx_rd_string(struct jsonx_rd *rd, const char *p, const char **s, size_t *n,
                                   int *nul)
{
    const char *start = p, *end = rd->end;
    int esc = 0;

    for (;;) {
        while (p < end && jsonx_rd_plain[(unsigned char)*p])
            p++;
        if (p >= end)
            return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\\') {
            esc = 1;
            if (end - p < 2)
                return NULL;
            if (p[1] != 'u') {
                if (!strchr("\"\\/bfnrt", p[1]) || !p[1])
                    return NULL;
                p += 2;
                continue;
            }
            unsigned u = end - p >= 6 ? jsonx_hex4(p + 2) : 0x10000;
            if (u > 0xffff || (u >= 0xdc00 && u <= 0xdfff))
                return NULL;
            p += 6;
            if (u >= 0xd800 && u <= 0xdbff) {
                unsigned lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? jsonx_hex4(p + 2) : 0;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return NULL;
                p += 6;
            }
            continue;
        }
        if (c < 0x20)
            return NULL;
        size_t k = jsonx_utf8_len(p, (size_t)(end - p));
        if (!k)
            return NULL;
        p += k;
    }
    *nul = 0;
    if (!esc) {
        *s = start;
        *n = (size_t)(p - start);
        return p + 1;
    }
    /* Escapes: the text unescaped into the arena (never longer than as sent). */
    char *out = arena_alloc(rd->a, (size_t)(p - start)), *o = out;
    if (!out)
        return NULL;
    for (const char *q = start; q < p;) {
        if (*q != '\\') {
            *o++ = *q++;
            continue;
        }
        char e = q[1];
        q += 2;
        switch (e) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned u = jsonx_hex4(q);
            q += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                u = 0x10000 + ((u - 0xd800) << 10) + (jsonx_hex4(q + 2) - 0xdc00);
                q += 6;
                /* As json-c 0.16 decodes it: it tests a pair's code point for a surrogate by
                 * its low 16 bits only, so U+1D800-U+1DFFF, U+2D800-U+2DFFF ... come out as
                 * one U+FFFD. The tree must hold what json-c's holds (a key's repeats, a
                 * string's length); the text as sent, which is what is stored, keeps them. */
                if ((u & 0xf800) == 0xd800)
                    u = 0xfffd;
            }
            *nul |= u == 0;
            o = jsonx_rd_utf8(o, u);
            break;
        }
        default: /* " \ / */
            *o++ = e;
        }
    }
    *s = out;
    *n = (size_t)(o - out);
    return p + 1;
}

/* A number as json-c 0.16's strict mode reads it, then jsonx_parse's range rules
 * (jsonx_number_problem) where they can refuse anything. That is RFC 8259's grammar but for
 * leading zeros: json-c refuses one only on a non-negative integer that is not zero, so "01"
 * is refused and "00", "-01", "01.5" and "01e2" pass (a float keeps its text as sent, an
 * integer is printed again: PostgreSQL reads both). */
static const char *jsonx_rd_number(const char *p, const char *end, struct jsonx_val *v)
{
    const char *s = p, *ds;
    size_t intdig = 0, fracdig = 0;
    int exp = 0, neg = *p == '-', nonzero = 0;

    if (neg && ++p >= end)
        return NULL;
    for (ds = p; p < end && *p >= '0' && *p <= '9'; p++) {
        intdig++;
        nonzero |= *p != '0';
    }
    if (!intdig)
        return NULL;
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++)
            fracdig++;
        if (!fracdig)
            return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        exp = 1;
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (!neg && !fracdig && !exp && *ds == '0' && nonzero)
        return NULL;
    v->kind = JSONX_NUMBER;
    v->integer = !fracdig && !exp;
    v->len = (size_t)(p - s);
    /* Below these, jsonx_number_problem finds nothing: spare the common number its walk. */
    if ((exp || intdig >= 19 || intdig + fracdig > 100) && jsonx_number_problem(s, v->len))
        return NULL;
    return p;
}

static const char *jsonx_rd_value(struct jsonx_rd *rd, const char *p, int level,
                                  struct jsonx_val *v);

/* A container's nodes, off the stack from base and into the arena. */
static void *jsonx_rd_keep(struct jsonx_rd *rd, const void *from, size_t n, size_t size)
{
    void *to = n ? arena_alloc(rd->a, n * size) : NULL;
    if (to)
        memcpy(to, from, n * size);
    return to;
}

static int jsonx_rd_key_cmp(const void *a, const void *b)
{
    const struct jsonx_member *x = *(const struct jsonx_member *const *)a,
                              *y = *(const struct jsonx_member *const *)b;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return memcmp(x->key, y->key, x->key_len);
}

/* 1 when two of the n members have the same key (jsonx_parse refuses them). A short object is
 * compared pair by pair; a long one sorted, so a body of 50,000 keys costs no 10^9 compares. */
static int jsonx_rd_dup(const struct jsonx_member *m, size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (m[i].key_len == m[j].key_len && memcmp(m[i].key, m[j].key, m[i].key_len) == 0)
                    return 1;
        return 0;
    }
    const struct jsonx_member **by = malloc(n * sizeof(*by));
    int dup = 0;
    if (!by)
        return 1;
    for (size_t i = 0; i < n; i++)
        by[i] = &m[i];
    qsort(by, n, sizeof(*by), jsonx_rd_key_cmp);
    for (size_t i = 1; i < n && !dup; i++)
        dup = jsonx_rd_key_cmp(&by[i - 1], &by[i]) == 0;
    free(by);
    return dup;
}

static const char *jsonx_rd_array(struct jsonx_rd *rd, const char *p, int level,
                                  struct jsonx_val *v)
{
    size_t base = jsonx_rd_items.len;

    v->kind = JSONX_ARRAY;
    p = jsonx_rd_ws(p + 1, rd->end);
    if (p < rd->end && *p == ']') {
        v->len = (size_t)(p + 1 - v->s);
        return p + 1;
    }
    for (;;) {
        struct jsonx_val item;
        if (!(p = jsonx_rd_value(rd, p, level + 1, &item)))
            return NULL;
        if (jsonx_rd_items.len == jsonx_rd_items.cap) {
            size_t cap = jsonx_rd_items.cap ? 2 * jsonx_rd_items.cap : 256;
            struct jsonx_val *g = realloc(jsonx_rd_items.v, cap * sizeof(*g));
            if (!g)
                return NULL;
            jsonx_rd_items.v = g;
            jsonx_rd_items.cap = cap;
        }
        jsonx_rd_items.v[jsonx_rd_items.len++] = item;
        p = jsonx_rd_ws(p, rd->end);
        if (p >= rd->end)
            return NULL;
        if (*p == ']')
            break;
        if (*p++ != ',')
            return NULL;
    }
    v->n = (uint32_t)(jsonx_rd_items.len - base);
    if (!(v->items = jsonx_rd_keep(rd, jsonx_rd_items.v + base, v->n, sizeof(*v->items))))
        return NULL;
    jsonx_rd_items.len = base;
    v->len = (size_t)(p + 1 - v->s);
    return p + 1;
}

static const char *jsonx_rd_object(struct jsonx_rd *rd, const char *p, int level,
                                   struct jsonx_val *v)
{
    size_t base = jsonx_rd_members.len;

    v->kind = JSONX_OBJECT;
    p = jsonx_rd_ws(p + 1, rd->end);
    if (p < rd->end && *p == '}') {
        v->len = (size_t)(p + 1 - v->s);
        return p + 1;
    }
    for (;;) {
        struct jsonx_member m;
        int nul;
        if (p >= rd->end || *p != '"' ||
            !(p = jsonx_rd_string(rd, p + 1, &m.key, &m.key_len, &nul)))
            return NULL;
        /* json-c keeps a key as a C string: one with a NUL is cut there. */
        if (nul)
            m.key_len = strnlen(m.key, m.key_len);
        p = jsonx_rd_ws(p, rd->end);
        if (p >= rd->end || *p != ':')
            return NULL;
        if (!(p = jsonx_rd_value(rd, p + 1, level + 1, &m.val)))
            return NULL;
        if (jsonx_rd_members.len == jsonx_rd_members.cap) {
            size_t cap = jsonx_rd_members.cap ? 2 * jsonx_rd_members.cap : 256;
            struct jsonx_member *g = realloc(jsonx_rd_members.v, cap * sizeof(*g));
            if (!g)
                return NULL;
            jsonx_rd_members.v = g;
            jsonx_rd_members.cap = cap;
        }
        jsonx_rd_members.v[jsonx_rd_members.len++] = m;
        p = jsonx_rd_ws(p, rd->end);
        if (p >= rd->end)
            return NULL;
        if (*p == '}')
            break;
        if (*p++ != ',')
            return NULL;
        p = jsonx_rd_ws(p, rd->end);
    }
    v->n = (uint32_t)(jsonx_rd_members.len - base);
    if (!(v->members = jsonx_rd_keep(rd, jsonx_rd_members.v + base, v->n, sizeof(*v->members))))
        return NULL;
    jsonx_rd_members.len = base;
    if (jsonx_rd_dup(v->members, v->n))
        return NULL;
    v->len = (size_t)(p + 1 - v->s);
    return p + 1;
}

/* A value at nesting level `level` (the document's is 0): json-c refuses any value at
 * JSONX_MAX_DEPTH or deeper, an empty array or object too. */
static const char *jsonx_rd_value(struct jsonx_rd *rd, const char *p, int level,
                                  struct jsonx_val *v)
{
    const char *end = rd->end;
    int nul;

    memset(v, 0, sizeof(*v));
    p = jsonx_rd_ws(p, end);
    if (p >= end || level >= JSONX_MAX_DEPTH)
        return NULL;
    v->s = p;
    switch (*p) {
    case '{':
        return jsonx_rd_object(rd, p, level, v);
    case '[':
        return jsonx_rd_array(rd, p, level, v);
    case '"':
        v->kind = JSONX_STRING;
        if (!(p = jsonx_rd_string(rd, p + 1, &v->s, &v->len, &nul)))
            return NULL;
        rd->nul |= nul;
        return p;
    case 't':
    case 'f':
    case 'n': {
        static const char *const lit[] = {"true", "false", "null"};
        const char *w = lit[*p == 't' ? 0 : *p == 'f' ? 1 : 2];
        size_t n = strlen(w);
        if ((size_t)(end - p) < n || memcmp(p, w, n) != 0)
            return NULL;
        v->kind = *p == 'n' ? JSONX_NULL : JSONX_BOOL;
        v->truth = *p == 't';
        v->len = n;
        return p + n;
    }
    default:
        return jsonx_rd_number(p, end, v);
    }
}

int jsonx_read(struct arena *a, const char *buf, size_t len, struct jsonx_val *root, int *nul)
{
    struct jsonx_rd rd = {buf + len, a, 0};
    const char *p;

    if (!jsonx_rd_plain['a'])
        for (int c = 0x20; c < 0x80; c++)
            jsonx_rd_plain[c] = c != '"' && c != '\\';
    jsonx_rd_items.len = jsonx_rd_members.len = 0;
    p = len && len <= INT32_MAX ? jsonx_rd_ws(buf, buf + len) : buf + len;
    /* A bare scalar at the top is not bulk input (and json-c's reading of one at the very end
     * of its input differs from inside a container: "null" alone is refused). */
    if (p < buf + len && (*p == '{' || *p == '['))
        p = jsonx_rd_value(&rd, p, 0, root);
    else
        p = NULL;
    if (p)
        p = jsonx_rd_ws(p, buf + len);
    if (jsonx_rd_items.cap > JSONX_RD_KEEP) {
        free(jsonx_rd_items.v);
        jsonx_rd_items.v = NULL;
        jsonx_rd_items.cap = 0;
    }
    if (jsonx_rd_members.cap > JSONX_RD_KEEP) {
        free(jsonx_rd_members.v);
        jsonx_rd_members.v = NULL;
        jsonx_rd_members.cap = 0;
    }
    if (p != buf + len)
        return -1;
    *nul = rd.nul;
    return 0;
}

/* ---- The getters' rules, one home for both trees: each takes what the tree found and says
 * whether it will do, in the words of the 4xx. */

/* 1 when a usable value is there, 0 when absent (or null and nullable), -1 on a missing
 * required field or a null that is not allowed. */
static int jsonx_lookup_rule(int found, int is_null, const char *key, unsigned flags, int *present,
                             struct jsonx_err *err)
{
    if (present)
        *present = 0;
    if (found && is_null && (flags & JSONX_NULLABLE))
        found = 0;
    if (!found) {
        if (flags & JSONX_REQUIRED) {
            jsonx_err_set(err, key, "%s is required", key);
            return -1;
        }
        return 0;
    }
    if (is_null) {
        jsonx_err_set(err, key, "%s must not be null", key);
        return -1;
    }
    if (present)
        *present = 1;
    return 1;
}

static int jsonx_string_rule(const char *key, int is_string, const char *s, size_t len,
                             size_t min_len, size_t max_len, struct jsonx_err *err)
{
    if (!is_string) {
        jsonx_err_set(err, key, "%s must be a string", key);
        return -1;
    }
    if (memchr(s, '\0', len)) {
        jsonx_err_set(err, key, "%s must not contain NUL characters", key);
        return -1;
    }
    if (len < min_len || len > max_len) {
        jsonx_err_set(err, key, "%s must be %zu to %zu bytes long", key, min_len, max_len);
        return -1;
    }
    return 0;
}

/* jsonx_enum's strings are at most this long. */
#define JSONX_ENUM_MAX 256

static int jsonx_enum_rule(const char *key, const char *s, size_t len, const char *const *allowed,
                           const char **out, struct jsonx_err *err)
{
    char list[200];
    size_t pos = 0;

    for (size_t i = 0; allowed[i]; i++) {
        if (strlen(allowed[i]) == len && memcmp(s, allowed[i], len) == 0) {
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

static int jsonx_child_rule(const char *key, int ok, int want_array, struct jsonx_err *err)
{
    if (ok)
        return 0;
    jsonx_err_set(err, key, "%s must be %s", key, want_array ? "an array" : "an object");
    return -1;
}

/* 0 when key k (n bytes, no NUL) is one of allowed. */
static int jsonx_key_rule(const char *k, size_t n, const char *const *allowed,
                          struct jsonx_err *err)
{
    char name[256];

    for (size_t i = 0; allowed[i]; i++)
        if (strlen(allowed[i]) == n && memcmp(k, allowed[i], n) == 0)
            return 0;
    /* The error's field and message hold less than this: a longer key reads the same. */
    snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), k);
    jsonx_err_set(err, name, "unknown field %s", name);
    return -1;
}

static int jsonx_lookup(json_object *obj, const char *key, unsigned flags, json_object **val,
                        int *present, struct jsonx_err *err)
{
    json_object *v = NULL;
    int found = obj && json_object_object_get_ex(obj, key, &v);
    int rc = jsonx_lookup_rule(found, v == NULL, key, flags, present, err);

    if (rc > 0)
        *val = v;
    return rc;
}

int jsonx_string(json_object *obj, const char *key, unsigned flags, size_t min_len, size_t max_len,
                 const char **out, int *present, struct jsonx_err *err)
{
    json_object *v;
    int rc = jsonx_lookup(obj, key, flags, &v, present, err);
    int is_string;

    if (rc <= 0)
        return rc;
    is_string = json_object_is_type(v, json_type_string);
    if (jsonx_string_rule(key, is_string, is_string ? json_object_get_string(v) : NULL,
                          is_string ? (size_t)json_object_get_string_len(v) : 0, min_len, max_len,
                          err))
        return -1;
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

    if (jsonx_string(obj, key, flags, 0, JSONX_ENUM_MAX, &s, present, err) != 0)
        return -1;
    if (!s)
        return 0;
    return jsonx_enum_rule(key, s, strlen(s), allowed, out, err);
}

int jsonx_child(json_object *obj, const char *key, unsigned flags, json_type type,
                json_object **out, int *present, struct jsonx_err *err)
{
    json_object *v;
    int rc = jsonx_lookup(obj, key, flags, &v, present, err);

    if (rc <= 0)
        return rc;
    if (jsonx_child_rule(key, json_object_is_type(v, type), type == json_type_array, err))
        return -1;
    *out = v;
    return 0;
}

int jsonx_only_keys(json_object *obj, const char *const *allowed, struct jsonx_err *err)
{
    json_object_object_foreach(obj, k, v)
    {
        (void)v;
        if (jsonx_key_rule(k, strlen(k), allowed, err))
            return -1;
    }
    return 0;
}

/* A number literal's value against json-c's (which parsed the same text). */
static int jsonx_number_matches(const char *s, size_t n, int integer, json_object *o)
{
    char buf[64], *copy = n < sizeof(buf) ? buf : malloc(n + 1);
    int ok;

    if (!copy)
        return 0;
    memcpy(copy, s, n);
    copy[n] = '\0';
    if (integer && copy[0] == '-')
        ok = json_object_is_type(o, json_type_int) &&
             json_object_get_int64(o) == strtoll(copy, NULL, 10);
    else if (integer)
        ok = json_object_is_type(o, json_type_int) &&
             json_object_get_uint64(o) == strtoull(copy, NULL, 10);
    else
        ok = json_object_is_type(o, json_type_double) &&
             json_object_get_double(o) == strtod(copy, NULL);
    if (copy != buf)
        free(copy);
    return ok;
}

int jsonx_val_matches(const struct jsonx_val *v, json_object *o)
{
    switch (v->kind) {
    case JSONX_NULL:
        return o == NULL;
    case JSONX_BOOL:
        return json_object_is_type(o, json_type_boolean) &&
               !json_object_get_boolean(o) == !v->truth;
    case JSONX_NUMBER:
        return jsonx_number_matches(v->s, v->len, v->integer, o);
    case JSONX_STRING:
        return json_object_is_type(o, json_type_string) &&
               (size_t)json_object_get_string_len(o) == v->len &&
               memcmp(json_object_get_string(o), v->s, v->len) == 0;
    case JSONX_ARRAY:
        if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) != v->n ||
            v->len < 2 || v->s[0] != '[' || v->s[v->len - 1] != ']')
            return 0;
        for (uint32_t i = 0; i < v->n; i++)
            if (!jsonx_val_matches(&v->items[i], json_object_array_get_idx(o, i)))
                return 0;
        return 1;
    case JSONX_OBJECT: {
        uint32_t i = 0;
        if (!json_object_is_type(o, json_type_object) ||
            (size_t)json_object_object_length(o) != v->n || v->len < 2 || v->s[0] != '{' ||
            v->s[v->len - 1] != '}')
            return 0;
        json_object_object_foreach(o, k, x)
        {
            const struct jsonx_member *m = &v->members[i++];
            if (strlen(k) != m->key_len || memcmp(k, m->key, m->key_len) != 0 ||
                !jsonx_val_matches(&m->val, x))
                return 0;
        }
        return 1;
    }
    }
    return 0;
}

/* The read-only tree's getters: the same rules over its values. */
const struct jsonx_val *jsonx_get(const struct jsonx_val *obj, const char *key)
{
    size_t n = strlen(key);

    if (!obj || obj->kind != JSONX_OBJECT)
        return NULL;
    for (uint32_t i = 0; i < obj->n; i++)
        if (obj->members[i].key_len == n && memcmp(obj->members[i].key, key, n) == 0)
            return &obj->members[i].val;
    return NULL;
}

static int jsonx_vlookup(const struct jsonx_val *obj, const char *key, unsigned flags,
                         const struct jsonx_val **val, int *present, struct jsonx_err *err)
{
    const struct jsonx_val *v = jsonx_get(obj, key);
    int rc = jsonx_lookup_rule(v != NULL, v && v->kind == JSONX_NULL, key, flags, present, err);

    if (rc > 0)
        *val = v;
    return rc;
}

int jsonx_vstring(const struct jsonx_val *obj, const char *key, unsigned flags, size_t min_len,
                  size_t max_len, const char **out, size_t *len, int *present,
                  struct jsonx_err *err)
{
    const struct jsonx_val *v;
    int rc = jsonx_vlookup(obj, key, flags, &v, present, err);
    int is_string;

    if (rc <= 0)
        return rc;
    is_string = v->kind == JSONX_STRING;
    if (jsonx_string_rule(key, is_string, v->s, is_string ? v->len : 0, min_len, max_len, err))
        return -1;
    *out = v->s;
    if (len)
        *len = v->len;
    return 0;
}

int jsonx_venum(const struct jsonx_val *obj, const char *key, unsigned flags,
                const char *const *allowed, const char **out, int *present, struct jsonx_err *err)
{
    const char *s = NULL;
    size_t n = 0;

    if (jsonx_vstring(obj, key, flags, 0, JSONX_ENUM_MAX, &s, &n, present, err) != 0)
        return -1;
    if (!s)
        return 0;
    return jsonx_enum_rule(key, s, n, allowed, out, err);
}

int jsonx_vchild(const struct jsonx_val *obj, const char *key, unsigned flags, int kind,
                 const struct jsonx_val **out, int *present, struct jsonx_err *err)
{
    const struct jsonx_val *v;
    int rc = jsonx_vlookup(obj, key, flags, &v, present, err);

    if (rc <= 0)
        return rc;
    if (jsonx_child_rule(key, v->kind == kind, kind == JSONX_ARRAY, err))
        return -1;
    *out = v;
    return 0;
}

int jsonx_vonly_keys(const struct jsonx_val *obj, const char *const *allowed, struct jsonx_err *err)
{
    for (uint32_t i = 0; obj && obj->kind == JSONX_OBJECT && i < obj->n; i++)
        if (jsonx_key_rule(obj->members[i].key, obj->members[i].key_len, allowed, err))
            return -1;
    return 0;
}

const char *jsonx_to_string(json_object *obj, size_t *len)
{
    return json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

/* ---- Redaction (docs/ARCHITECTURE.md, "Redaction"). Keys are judged by their words, values
 * by their shape. Both run on every string of every event batch, so neither allocates unless
 * it finds something, and a key or a string is read once, left to right. */

/* A word of a key: a run of letters or of digits, cut at separators (anything not a letter
 * or digit), at a lower-to-upper step (camelCase), before the last capital of a run followed
 * by a lower-case letter (AWSSecret: AWS, Secret) and between letters and digits. */
struct jsonx_word {
    const char *p;
    size_t n;
};

/* Literal words with their lengths, compared first by length and one letter: this runs for
 * every key of every event. */
struct jsonx_lit {
    const char *s;
    size_t n;
};
#define JSONX_LIT(s)                                                                               \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static int jsonx_weq(struct jsonx_word w, const char *lit)
{
    size_t n = strlen(lit);
    return w.n == n && strncasecmp(w.p, lit, n) == 0;
}

static int jsonx_wany(struct jsonx_word w, const struct jsonx_lit *lits)
{
    for (; lits->s; lits++)
        if (w.n == lits->n && (w.p[0] | 0x20) == lits->s[0] && strncasecmp(w.p, lits->s, w.n) == 0)
            return 1;
    return 0;
}

static int jsonx_wends(struct jsonx_word w, const struct jsonx_lit *lits)
{
    for (; lits->s; lits++)
        if (w.n >= lits->n && (w.p[w.n - 1] | 0x20) == lits->s[lits->n - 1] &&
            strncasecmp(w.p + w.n - lits->n, lits->s, lits->n) == 0)
            return 1;
    return 0;
}

/* A word that makes its key secret wherever it stands, alone or as the end of a word run
 * together (dbpassword, clientsecret, xapikey). */
static const struct jsonx_lit jsonx_secret_ends[] = {JSONX_LIT("password"),
                                                     JSONX_LIT("passwd"),
                                                     JSONX_LIT("passphrase"),
                                                     JSONX_LIT("secret"),
                                                     JSONX_LIT("secrets"),
                                                     JSONX_LIT("apikey"),
                                                     JSONX_LIT("apikeys"),
                                                     JSONX_LIT("privatekey"),
                                                     JSONX_LIT("accesskey"),
                                                     JSONX_LIT("secretkey"),
                                                     JSONX_LIT("accesstoken"),
                                                     JSONX_LIT("authtoken"),
                                                     JSONX_LIT("refreshtoken"),
                                                     JSONX_LIT("sessionid"),
                                                     JSONX_LIT("credential"),
                                                     JSONX_LIT("credentials"),
                                                     {NULL, 0}};
/* Words that must be the whole word: short, or common inside ordinary words. */
static const struct jsonx_lit jsonx_secret_words[] = {
    JSONX_LIT("pwd"),           JSONX_LIT("creds"),
    JSONX_LIT("authorization"), JSONX_LIT("cookie"),
    JSONX_LIT("cookies"),       JSONX_LIT("sessid"),
    JSONX_LIT("jwt"),           JSONX_LIT("bearer"),
    JSONX_LIT("signature"),     {NULL, 0}};
/* "<one of these> key": api key, private key, session key... */
static const struct jsonx_lit jsonx_key_owners[] = {JSONX_LIT("api"),
                                                    JSONX_LIT("private"),
                                                    JSONX_LIT("access"),
                                                    JSONX_LIT("secret"),
                                                    JSONX_LIT("signing"),
                                                    JSONX_LIT("encryption"),
                                                    JSONX_LIT("master"),
                                                    JSONX_LIT("ssh"),
                                                    JSONX_LIT("client"),
                                                    JSONX_LIT("session"),
                                                    {NULL, 0}};
/* token and auth are secret unless the next word says the key is about one, not one:
 * token_count, auth_type, token_url (max_tokens is another word). A tokenizer's special
 * tokens (pad_token, eos_token) are strings like "</s>". */
static const struct jsonx_lit jsonx_about[] = {
    JSONX_LIT("id"),       JSONX_LIT("ids"),      JSONX_LIT("type"),     JSONX_LIT("types"),
    JSONX_LIT("count"),    JSONX_LIT("counts"),   JSONX_LIT("len"),      JSONX_LIT("length"),
    JSONX_LIT("limit"),    JSONX_LIT("limits"),   JSONX_LIT("usage"),    JSONX_LIT("budget"),
    JSONX_LIT("index"),    JSONX_LIT("size"),     JSONX_LIT("dim"),      JSONX_LIT("url"),
    JSONX_LIT("uri"),      JSONX_LIT("endpoint"), JSONX_LIT("method"),   JSONX_LIT("mode"),
    JSONX_LIT("provider"), JSONX_LIT("enabled"),  JSONX_LIT("required"), JSONX_LIT("scheme"),
    JSONX_LIT("ttl"),      JSONX_LIT("expiry"),   JSONX_LIT("expires"),  {NULL, 0}};
static const struct jsonx_lit jsonx_special_tokens[] = {
    JSONX_LIT("pad"), JSONX_LIT("eos"),     JSONX_LIT("bos"),  JSONX_LIT("unk"),
    JSONX_LIT("sep"), JSONX_LIT("cls"),     JSONX_LIT("mask"), JSONX_LIT("start"),
    JSONX_LIT("end"), JSONX_LIT("special"), JSONX_LIT("stop"), {NULL, 0}};

/* The extra words of RUNWATCH_REDACT_KEYS, split once per jsonx_redact call. */
#define JSONX_EXTRA_MAX   32
#define JSONX_EXTRA_WORDS 4
struct jsonx_redactor {
    size_t nextra;
    struct {
        int nw;
        struct jsonx_word w[JSONX_EXTRA_WORDS];
        char joined[64];
        size_t joined_n;
    } extra[JSONX_EXTRA_MAX];
};

enum jsonx_cc { JSONX_SEP, JSONX_LOW, JSONX_UP, JSONX_DIGIT };

static enum jsonx_cc jsonx_cc(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return JSONX_LOW;
    if (c >= 'A' && c <= 'Z')
        return JSONX_UP;
    if (c >= '0' && c <= '9')
        return JSONX_DIGIT;
    /* Bytes of UTF-8 sequences belong to the word they are in. */
    return c >= 0x80 ? JSONX_LOW : JSONX_SEP;
}

/* The next word of s (len bytes) at or after *pos: 1 and the word, or 0 at the end. */
static int jsonx_next_word(const char *s, size_t len, size_t *pos, struct jsonx_word *w)
{
    size_t i = *pos, start;

    while (i < len && jsonx_cc((unsigned char)s[i]) == JSONX_SEP)
        i++;
    if (i == len)
        return 0;
    for (start = i++; i < len; i++) {
        enum jsonx_cc c = jsonx_cc((unsigned char)s[i]), pc = jsonx_cc((unsigned char)s[i - 1]);
        if (c == JSONX_SEP || (pc == JSONX_LOW && c == JSONX_UP) ||
            (pc == JSONX_DIGIT) != (c == JSONX_DIGIT) ||
            (pc == JSONX_UP && c == JSONX_UP && i + 1 < len &&
             jsonx_cc((unsigned char)s[i + 1]) == JSONX_LOW))
            break;
    }
    *w = (struct jsonx_word){s + start, i - start};
    *pos = i;
    return 1;
}

/* Whether the key's words make it secret. The words are looked at as they come, the last
 * few kept for the pairs and the extra word sequences, so a key of any length is read whole
 * without a buffer. */
static int jsonx_key_secret(const struct jsonx_redactor *rd, const char *key, size_t len)
{
    struct jsonx_word ring[JSONX_EXTRA_WORDS] = {{0}}, w, prev = {0};
    size_t nw = 0, pos = 0;
    int pending = 0;

    for (; jsonx_next_word(key, len, &pos, &w); prev = w) {
        ring[nw++ % JSONX_EXTRA_WORDS] = w;
        if (pending && !jsonx_wany(w, jsonx_about))
            return 1;
        pending = 0;
        if (jsonx_wends(w, jsonx_secret_ends) || jsonx_wany(w, jsonx_secret_words))
            return 1;
        if (prev.n && (jsonx_weq(w, "key") || jsonx_weq(w, "keys")) &&
            jsonx_wany(prev, jsonx_key_owners))
            return 1;
        if (prev.n &&
            ((jsonx_weq(prev, "session") && jsonx_weq(w, "id")) ||
             (jsonx_weq(prev, "pass") && (jsonx_weq(w, "word") || jsonx_weq(w, "phrase")))))
            return 1;
        if (jsonx_weq(w, "auth") ||
            (jsonx_weq(w, "token") && !(prev.n && jsonx_wany(prev, jsonx_special_tokens))))
            pending = 1;
        for (size_t e = 0; e < rd->nextra; e++) {
            size_t k = (size_t)rd->extra[e].nw;
            int all = k <= nw;
            for (size_t j = 0; j < k && all; j++) {
                struct jsonx_word x = ring[(nw - k + j) % JSONX_EXTRA_WORDS], y = rd->extra[e].w[j];
                all = x.n == y.n && strncasecmp(x.p, y.p, x.n) == 0;
            }
            /* An extra of several words also matches them run together (api_key: apikey). */
            if (all ||
                (w.n == rd->extra[e].joined_n && strncasecmp(w.p, rd->extra[e].joined, w.n) == 0))
                return 1;
        }
    }
    return pending;
}

/* ---- Values by shape: credentials in URLs, bearer strings, PEM private keys and the
 * well-known key formats. Each finder is tried where its secret can start and answers the
 * span to replace ([*a, return value)), or 0. */

static int jsonx_is_b64url(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_';
}

/* How many bytes from s[i] are in the class. */
static size_t jsonx_run(const char *s, size_t len, size_t i, int (*in)(unsigned char))
{
    size_t j = i;
    while (j < len && in((unsigned char)s[j]))
        j++;
    return j - i;
}

static int jsonx_is_alnum(unsigned char c)
{
    return isalnum(c) != 0;
}

static int jsonx_is_upnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int jsonx_is_tokenc(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' ||
           c == '=';
}

static int jsonx_is_slackc(unsigned char c)
{
    return isalnum(c) || c == '-';
}

static int jsonx_is_pemlabel(unsigned char c)
{
    return jsonx_is_upnum(c) || c == ' ';
}

static int jsonx_has(const char *s, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return len - i >= n && memcmp(s + i, lit, n) == 0;
}

/* scheme://user:password@host: only the password goes. */
static size_t jsonx_find_url(const char *s, size_t len, size_t i, size_t *a)
{
    size_t j = i + 3, at = 0, colon = 0;

    if (i == 0 || !isalpha((unsigned char)s[i - 1]) || !jsonx_has(s, len, i, "://"))
        return 0;
    for (; j < len && !strchr("/?#\"'<> \t\r\n", s[j]); j++) {
        if (s[j] == '@')
            at = j;
        else if (s[j] == ':' && !colon && !at)
            colon = j;
    }
    if (!at || !colon || colon > at || colon + 1 == at)
        return 0;
    *a = colon + 1;
    return at;
}

/* -----BEGIN ... PRIVATE KEY----- through its END line (or the end of the text). */
static size_t jsonx_find_pem(const char *s, size_t len, size_t i, size_t *a)
{
    size_t j = i + 11, n;
    const char *end;

    if (!jsonx_has(s, len, i, "-----BEGIN "))
        return 0;
    n = jsonx_run(s, len, j, jsonx_is_pemlabel);
    if (!memmem(s + j, n, "PRIVATE KEY", 11) || !jsonx_has(s, len, j + n, "-----"))
        return 0;
    *a = i;
    end = memmem(s + j + n + 5, len - (j + n + 5), "-----END ", 9);
    if (!end)
        return len;
    j = (size_t)(end - s) + 9;
    j += jsonx_run(s, len, j, jsonx_is_pemlabel);
    return jsonx_has(s, len, j, "-----") ? j + 5 : j;
}

/* A run of at least min bytes of the class after a prefix of plen bytes, ending at a word's
 * end: the whole token. */
static size_t jsonx_tok(const char *s, size_t len, size_t i, size_t plen, size_t min,
                        int (*in)(unsigned char), size_t *a)
{
    size_t n = jsonx_run(s, len, i + plen, in);
    if (n < min || (i + plen + n < len && isalnum((unsigned char)s[i + plen + n])))
        return 0;
    *a = i;
    return i + plen + n;
}

/* The formats, tried at the start of a word. */
static size_t jsonx_find_key(const char *s, size_t len, size_t i, size_t *a)
{
    size_t r = len - i, n;

    switch (s[i]) {
    case 'A': /* AWS access key ids; Google API keys */
        if (r >= 20 && (jsonx_has(s, len, i, "AKIA") || jsonx_has(s, len, i, "ASIA")) &&
            jsonx_run(s, len, i + 4, jsonx_is_upnum) == 16)
            return jsonx_tok(s, len, i, 4, 16, jsonx_is_upnum, a);
        if (jsonx_has(s, len, i, "AIza"))
            return jsonx_tok(s, len, i, 4, 35, jsonx_is_b64url, a);
        return 0;
    case 'B':
    case 'b': /* Bearer <token>: the token goes */
        if (r > 7 && strncasecmp(s + i, "bearer ", 7) == 0 &&
            jsonx_run(s, len, i + 7, jsonx_is_tokenc) >= 16) {
            size_t e = jsonx_tok(s, len, i, 7, 16, jsonx_is_tokenc, a);
            *a = i + 7;
            return e;
        }
        return 0;
    case 'e': /* a JWT: base64url of {"... twice, dot-separated, then the signature */
        if (!jsonx_has(s, len, i, "eyJ"))
            return 0;
        n = i + 3 + jsonx_run(s, len, i + 3, jsonx_is_b64url);
        if (n - i < 10 || !jsonx_has(s, len, n, ".eyJ"))
            return 0;
        n += 4 + jsonx_run(s, len, n + 4, jsonx_is_b64url);
        if (n >= len || s[n] != '.')
            return 0;
        *a = i;
        return n + 1 + jsonx_run(s, len, n + 1, jsonx_is_b64url);
    case 'g': /* GitHub and GitLab tokens */
        if (r > 4 && s[i + 1] == 'h' && strchr("pousr", s[i + 2]) && s[i + 3] == '_')
            return jsonx_tok(s, len, i, 4, 36, jsonx_is_alnum, a);
        if (jsonx_has(s, len, i, "github_pat_"))
            return jsonx_tok(s, len, i, 11, 22, jsonx_is_b64url, a);
        if (jsonx_has(s, len, i, "glpat-"))
            return jsonx_tok(s, len, i, 6, 20, jsonx_is_b64url, a);
        return 0;
    case 'r': /* Runwatch's own tokens (rw_<prefix>_<secret>); Stripe restricted keys */
        if (jsonx_has(s, len, i, "rw_"))
            return jsonx_tok(s, len, i, 3, 40, jsonx_is_b64url, a);
        if (jsonx_has(s, len, i, "rk_live_") || jsonx_has(s, len, i, "rk_test_"))
            return jsonx_tok(s, len, i, 8, 16, jsonx_is_alnum, a);
        return 0;
    case 's': /* Stripe secret keys; OpenAI-style sk-… keys (long, mixed case and digits) */
        if (jsonx_has(s, len, i, "sk_live_") || jsonx_has(s, len, i, "sk_test_"))
            return jsonx_tok(s, len, i, 8, 16, jsonx_is_alnum, a);
        if (jsonx_has(s, len, i, "sk-")) {
            int up = 0, low = 0, dig = 0;
            n = jsonx_run(s, len, i + 3, jsonx_is_b64url);
            for (size_t k = i + 3; k < i + 3 + n; k++) {
                up |= isupper((unsigned char)s[k]) != 0;
                low |= islower((unsigned char)s[k]) != 0;
                dig |= isdigit((unsigned char)s[k]) != 0;
            }
            return up && low && dig ? jsonx_tok(s, len, i, 3, 32, jsonx_is_b64url, a) : 0;
        }
        return 0;
    case 'x': /* Slack tokens */
        if (r > 5 && s[i + 1] == 'o' && s[i + 2] == 'x' && strchr("baprs", s[i + 3]) &&
            s[i + 4] == '-')
            return jsonx_tok(s, len, i, 5, 10, jsonx_is_slackc, a);
        return 0;
    default:
        return 0;
    }
}

static const char jsonx_redacted[] = "[redacted]";

/* What a byte may start: 1 a key format (at a word's start), 2 a URL's "://", 3 a PEM block. */
static const unsigned char jsonx_trigger[256] = {
    ['A'] = 1, ['B'] = 1, ['b'] = 1, ['e'] = 1, ['g'] = 1,
    ['r'] = 1, ['s'] = 1, ['x'] = 1, [':'] = 2, ['-'] = 3};

/* The end of a secret whose span to replace starts at *a, for a byte that may start one
 * (jsonx_trigger), or 0. */
static size_t jsonx_secret_at(const char *s, size_t len, size_t i, size_t *a)
{
    switch (jsonx_trigger[(unsigned char)s[i]]) {
    case 0:
        return 0;
    case 1:
        return i == 0 || !isalnum((unsigned char)s[i - 1]) ? jsonx_find_key(s, len, i, a) : 0;
    case 2:
        return jsonx_find_url(s, len, i, a);
    default:
        return jsonx_find_pem(s, len, i, a);
    }
}

/* 1 when jsonx_scrub would replace something in s (nothing allocated). */
static int jsonx_has_secret(const char *s, size_t len)
{
    size_t a;
    for (size_t i = 0; i < len; i++)
        if (jsonx_trigger[(unsigned char)s[i]] && jsonx_secret_at(s, len, i, &a))
            return 1;
    return 0;
}

/* The text with every secret found in it replaced by "[redacted]": NULL when there was none
 * (nothing allocated), else a malloc'd copy of *outlen bytes. */
static char *jsonx_scrub(const char *s, size_t len, size_t *outlen)
{
    char *out = NULL;
    size_t cap = 0, n = 0, copied = 0;

    for (size_t i = 0; i < len; i++) {
        size_t a = 0, b;
        if (!jsonx_trigger[(unsigned char)s[i]] || !(b = jsonx_secret_at(s, len, i, &a)))
            continue;
        size_t need = n + (a - copied) + sizeof(jsonx_redacted) + (len - b) + 1;
        if (need > cap) {
            char *grown = realloc(out, cap = need + len);
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + n, s + copied, a - copied);
        n += a - copied;
        memcpy(out + n, jsonx_redacted, sizeof(jsonx_redacted) - 1);
        n += sizeof(jsonx_redacted) - 1;
        copied = b;
        i = b - 1;
    }
    if (!out)
        return NULL;
    memcpy(out + n, s + copied, len - copied);
    n += len - copied;
    out[n] = '\0';
    *outlen = n;
    return out;
}

/* A string value's replacement, or NULL to keep it. */
static json_object *jsonx_scrubbed(json_object *v)
{
    size_t n;
    char *t = jsonx_scrub(json_object_get_string(v), (size_t)json_object_get_string_len(v), &n);
    json_object *o;

    if (!t)
        return NULL;
    o = json_object_new_string_len(t, (int)n);
    free(t);
    return o;
}

static int jsonx_redact_in(const struct jsonx_redactor *rd, json_object *obj)
{
    int n = 0;
    json_object *repl;

    if (json_object_is_type(obj, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(obj); i++) {
            json_object *v = json_object_array_get_idx(obj, i);
            if (json_object_is_type(v, json_type_string)) {
                if ((repl = jsonx_scrubbed(v)) && json_object_array_put_idx(obj, i, repl) == 0)
                    n++;
            } else {
                n += jsonx_redact_in(rd, v);
            }
        }
    } else if (json_object_is_type(obj, json_type_object)) {
        /* Replacing the value of an existing key during iteration keeps the entry (json-c
         * frees the old value), so the walk stays valid. */
        json_object_object_foreach(obj, k, v)
        {
            if (jsonx_key_secret(rd, k, strlen(k))) {
                json_object_object_add(obj, k, json_object_new_string(jsonx_redacted));
                n++;
            } else if (json_object_is_type(v, json_type_string)) {
                if ((repl = jsonx_scrubbed(v))) {
                    json_object_object_add(obj, k, repl);
                    n++;
                }
            } else {
                n += jsonx_redact_in(rd, v);
            }
        }
    }
    return n;
}

/* The extra words of RUNWATCH_REDACT_KEYS, split. */
static void jsonx_redactor_init(struct jsonx_redactor *rd, const char *const *extra)
{
    memset(rd, 0, sizeof(*rd));
    for (size_t e = 0; extra && extra[e] && rd->nextra < JSONX_EXTRA_MAX; e++) {
        size_t pos = 0, len = strlen(extra[e]);
        struct jsonx_word w;
        int nw = 0;
        while (nw < JSONX_EXTRA_WORDS && jsonx_next_word(extra[e], len, &pos, &w))
            rd->extra[rd->nextra].w[nw++] = w;
        if (!nw)
            continue;
        /* The words run together, for a key written as one word. */
        size_t j = 0;
        for (size_t k = 0; k < len && j < sizeof(rd->extra[0].joined) - 1; k++)
            if (jsonx_cc((unsigned char)extra[e][k]) != JSONX_SEP)
                rd->extra[rd->nextra].joined[j++] = extra[e][k];
        rd->extra[rd->nextra].joined_n = j;
        rd->extra[rd->nextra++].nw = nw;
    }
}

int jsonx_redact(json_object *obj, const char *const *extra)
{
    struct jsonx_redactor rd;

    jsonx_redactor_init(&rd, extra);
    if (json_object_is_type(obj, json_type_string))
        return 0;
    return jsonx_redact_in(&rd, obj);
}

/* The keys a walk has found not secret: a batch's events repeat the same few, and comparing
 * a key's bytes costs a tenth of reading its words again (jsonx_key_secret was a third of the
 * walk over the bench's batch). */
struct jsonx_safe_keys {
    size_t n;
    struct jsonx_word k[16];
};

static int jsonx_key_secret_memo(const struct jsonx_redactor *rd, struct jsonx_safe_keys *safe,
                                 const char *key, size_t len)
{
    for (size_t i = 0; i < safe->n; i++)
        if (safe->k[i].n == len && memcmp(safe->k[i].p, key, len) == 0)
            return 0;
    if (jsonx_key_secret(rd, key, len))
        return 1;
    if (safe->n < sizeof(safe->k) / sizeof(safe->k[0]))
        safe->k[safe->n++] = (struct jsonx_word){key, len};
    return 0;
}

/* jsonx_redact_in's walk over the read-only tree, stopping at the first thing it would
 * replace. */
static int jsonx_vredacts_in(const struct jsonx_redactor *rd, struct jsonx_safe_keys *safe,
                             const struct jsonx_val *v)
{
    if (v->kind == JSONX_ARRAY) {
        for (uint32_t i = 0; i < v->n; i++) {
            const struct jsonx_val *x = &v->items[i];
            if (x->kind == JSONX_STRING ? jsonx_has_secret(x->s, x->len)
                                        : jsonx_vredacts_in(rd, safe, x))
                return 1;
        }
    } else if (v->kind == JSONX_OBJECT) {
        for (uint32_t i = 0; i < v->n; i++) {
            const struct jsonx_member *m = &v->members[i];
            if (jsonx_key_secret_memo(rd, safe, m->key, m->key_len) ||
                (m->val.kind == JSONX_STRING ? jsonx_has_secret(m->val.s, m->val.len)
                                             : jsonx_vredacts_in(rd, safe, &m->val)))
                return 1;
        }
    }
    return 0;
}

int jsonx_vredacts(const struct jsonx_val *v, const char *const *extra)
{
    struct jsonx_redactor rd;
    struct jsonx_safe_keys safe;

    jsonx_redactor_init(&rd, extra);
    safe.n = 0;
    return jsonx_vredacts_in(&rd, &safe, v);
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
    return jsonx_is_rfc3339_len(s, strlen(s));
}

int jsonx_is_rfc3339_len(const char *s, size_t len)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    int y, mo, d;

    if (len < sizeof(shape) - 1)
        return 0;
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
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return 0;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < len && s[i] == 'Z')
        return i + 1 == len;
    return i < len && (s[i] == '+' || s[i] == '-') && len - i == 6 &&
           isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) &&
           s[i + 3] == ':' && isdigit((unsigned char)s[i + 4]) &&
           isdigit((unsigned char)s[i + 5]) && jsonx_num(s + i + 1, 2) <= 23 &&
           jsonx_num(s + i + 4, 2) <= 59;
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

size_t jsonx_fmt_dec(char *buf, uint64_t mag, int minus)
{
    char tmp[20];
    size_t n = 0, m = minus ? 1 : 0;
    do {
        tmp[sizeof(tmp) - ++n] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    buf[0] = '-';
    memcpy(buf + m, tmp + sizeof(tmp) - n, n);
    buf[m + n] = '\0';
    return m + n;
}

void jsonx_out_val(struct jsonx_out *o, const struct jsonx_val *v)
{
    switch (v->kind) {
    case JSONX_NULL:
        jsonx_out_raw(o, "null", 4);
        break;
    case JSONX_BOOL:
        jsonx_out_raw(o, v->truth ? "true" : "false", v->truth ? 4 : 5);
        break;
    case JSONX_NUMBER:
        jsonx_out_raw(o, v->s, v->len);
        break;
    case JSONX_STRING:
        jsonx_out_str(o, v->s, v->len);
        break;
    case JSONX_ARRAY:
        jsonx_out_raw(o, "[", 1);
        for (uint32_t i = 0; i < v->n; i++) {
            if (i)
                jsonx_out_raw(o, ",", 1);
            jsonx_out_val(o, &v->items[i]);
        }
        jsonx_out_raw(o, "]", 1);
        break;
    default:
        jsonx_out_raw(o, "{", 1);
        for (uint32_t i = 0; i < v->n; i++) {
            if (i)
                jsonx_out_raw(o, ",", 1);
            jsonx_out_str(o, v->members[i].key, v->members[i].key_len);
            jsonx_out_raw(o, ":", 1);
            jsonx_out_val(o, &v->members[i].val);
        }
        jsonx_out_raw(o, "}", 1);
        break;
    }
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
