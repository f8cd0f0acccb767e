/* envelope: kombu envelopes of Celery events into normalized events (envelope.h). The rules
 * are Celery 5 / kombu 5 on a Redis broker: the envelope is JSON with a base64 "body"
 * (properties.body_encoding, always base64 in practice); the body is UTF-8 JSON, one event
 * object or a list of them (task.multi; Debian's 5.2.6 may send an empty list). Everything
 * here reads outside input: a fuzz target drives it (tests/fuzz/fuzz_celery.c). */
#include "celery/envelope.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum envelope_kind {
    EK_TEXT,  /* a string, cut to max bytes */
    EK_NAME,  /* a string of 1..max bytes, dropped when longer */
    EK_UUID,  /* a uuid string (or null) */
    EK_INT,   /* an integer in 32 bits */
    EK_NUM,   /* a finite number */
    EK_BOOL,  /* a boolean */
    EK_LOADS, /* worker loadavg: up to 3 numbers */
};

struct envelope_field {
    const char *name;
    enum envelope_kind kind;
    size_t max;
};

/* The fields of Celery's events the ingest reads (api/celery.c checks the same names). */
static const struct envelope_field envelope_fields[] = {
    {"uuid", EK_UUID, 0},         {"timestamp", EK_NUM, 0},
    {"hostname", EK_NAME, 200},   {"name", EK_NAME, 200},
    {"args", EK_TEXT, 4096},      {"kwargs", EK_TEXT, 4096},
    {"root_id", EK_UUID, 0},      {"parent_id", EK_UUID, 0},
    {"retries", EK_INT, 0},       {"eta", EK_TEXT, 64},
    {"expires", EK_TEXT, 64},     {"queue", EK_NAME, 200},
    {"result", EK_TEXT, 4096},    {"runtime", EK_NUM, 0},
    {"exception", EK_TEXT, 4096}, {"traceback", EK_TEXT, 16384},
    {"terminated", EK_BOOL, 0},   {"expired", EK_BOOL, 0},
    {"signum", EK_TEXT, 32},      {"requeue", EK_BOOL, 0},
    {"utcoffset", EK_INT, 0},     {"pid", EK_INT, 0},
    {"clock", EK_INT, 0},         {"freq", EK_NUM, 0},
    {"active", EK_INT, 0},        {"processed", EK_INT, 0},
    {"loadavg", EK_LOADS, 0},     {"sw_ident", EK_NAME, 200},
    {"sw_ver", EK_NAME, 200},     {"sw_sys", EK_NAME, 200},
};

static signed char b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (signed char)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (signed char)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (signed char)(c - '0' + 52);
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long envelope_base64(const char *in, size_t len, unsigned char *out)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;

    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        signed char v = b64_val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    return (long)o;
}

int envelope_is_uuid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        char c = s[i];
        if (shape[i] == '-'
                ? c != '-'
                : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return s[sizeof(shape) - 1] == '\0';
}

/* The longest prefix of s, at most max bytes, that ends on a UTF-8 character boundary
 * (json-c gave us valid UTF-8; a cut must not make it invalid). */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static int is_num(json_object *v)
{
    return (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) &&
           isfinite(json_object_get_double(v)) && fabs(json_object_get_double(v)) < 1e11;
}

/* Copies one field of a Celery event into the normalized one when its type is right. */
static void envelope_copy(json_object *ev, json_object *norm, const struct envelope_field *f,
                          struct envelope_stats *st)
{
    json_object *v = NULL, *x = NULL;
    const char *s;
    size_t n;

    if (!json_object_object_get_ex(ev, f->name, &v) || !v)
        return;
    switch (f->kind) {
    case EK_TEXT:
    case EK_NAME:
        if (!json_object_is_type(v, json_type_string))
            goto bad;
        s = json_object_get_string(v);
        n = (size_t)json_object_get_string_len(v);
        if (f->kind == EK_NAME && (n < 1 || n > f->max))
            goto bad;
        if (memchr(s, '\0', n))
            goto bad;
        x = json_object_new_string_len(s, (int)utf8_cut(s, n, f->max));
        break;
    case EK_UUID:
        if (!json_object_is_type(v, json_type_string) ||
            !envelope_is_uuid(json_object_get_string(v)))
            goto bad;
        x = json_object_new_string(json_object_get_string(v));
        break;
    case EK_INT:
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -2147483647 ||
            json_object_get_int64(v) > 2147483647)
            goto bad;
        x = json_object_new_int64(json_object_get_int64(v));
        break;
    case EK_NUM:
        if (!is_num(v))
            goto bad;
        x = json_object_new_double(json_object_get_double(v));
        break;
    case EK_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            goto bad;
        x = json_object_new_boolean(json_object_get_boolean(v));
        break;
    case EK_LOADS:
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 3)
            goto bad;
        x = json_object_new_array();
        for (size_t i = 0; x && i < json_object_array_length(v); i++) {
            json_object *l = json_object_array_get_idx(v, i);
            if (!is_num(l)) {
                json_object_put(x);
                goto bad;
            }
            json_object_array_add(x, json_object_new_double(json_object_get_double(l)));
        }
        break;
    }
    if (x)
        json_object_object_add(norm, f->name, x);
    return;
bad:
    st->bad_fields++;
}

/* One Celery event dict: appended to out when it has what its type needs. */
static int envelope_event(json_object *ev, double received, json_object *out,
                          struct envelope_stats *st)
{
    json_object *t = NULL, *ts = NULL, *norm;
    const char *type;
    size_t tlen;

    if (!json_object_is_type(ev, json_type_object) || !json_object_object_get_ex(ev, "type", &t) ||
        !json_object_is_type(t, json_type_string)) {
        st->bad_event++;
        return 0;
    }
    type = json_object_get_string(t);
    tlen = (size_t)json_object_get_string_len(t);
    int task = tlen > 5 && strncmp(type, "task-", 5) == 0;
    int worker = tlen > 7 && strncmp(type, "worker-", 7) == 0;
    if (!task && !worker) {
        st->ignored++;
        return 0;
    }
    for (size_t i = 0; i < tlen; i++)
        if (!((type[i] >= 'a' && type[i] <= 'z') || type[i] == '-') || tlen > 64) {
            st->bad_event++;
            return 0;
        }
    if (!json_object_object_get_ex(ev, "timestamp", &ts) || !is_num(ts)) {
        st->bad_event++;
        return 0;
    }
    if (!(norm = json_object_new_object()))
        return 0;
    json_object_object_add(norm, "type", json_object_new_string_len(type, (int)tlen));
    for (size_t i = 0; i < sizeof(envelope_fields) / sizeof(envelope_fields[0]); i++)
        envelope_copy(ev, norm, &envelope_fields[i], st);
    json_object *h = NULL;
    if ((task && !envelope_task_id(norm)) ||
        (worker && !json_object_object_get_ex(norm, "hostname", &h))) {
        json_object_put(norm);
        st->bad_event++;
        return 0;
    }
    if (worker)
        json_object_object_add(norm, "received", json_object_new_double(received));
    json_object_array_add(out, norm);
    st->events++;
    return 1;
}

const char *envelope_task_id(json_object *ev)
{
    json_object *u = NULL;
    if (!json_object_object_get_ex(ev, "uuid", &u) || !json_object_is_type(u, json_type_string))
        return NULL;
    return json_object_get_string(u);
}

/* A complete JSON document of len bytes (no trailing bytes, nesting bounded). */
static json_object *envelope_parse(struct json_tokener *tok, const char *buf, size_t len)
{
    json_tokener_reset(tok);
    json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
    if (!o)
        return NULL;
    if (json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int)len) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

int envelope_decode(const char *data, size_t len, double received, json_object *out,
                    struct envelope_stats *st)
{
    static struct json_tokener *tok;
    json_object *env = NULL, *body = NULL, *b = NULL, *ct = NULL, *props = NULL, *enc = NULL;
    unsigned char *raw = NULL;
    int n = 0;

    st->messages++;
    if (len > ENVELOPE_MAX_BYTES) {
        st->too_big++;
        return 0;
    }
    if (!tok) {
        if (!(tok = json_tokener_new_ex(16)))
            return 0;
        /* Invalid UTF-8 is refused here rather than by PostgreSQL, which would fail the
         * whole burst. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    }
    if (memchr(data, '\0', len) || !(env = envelope_parse(tok, data, len))) {
        st->bad_json++;
        return 0;
    }
    if (!json_object_is_type(env, json_type_object) ||
        !json_object_object_get_ex(env, "body", &b) || !json_object_is_type(b, json_type_string)) {
        st->bad_shape++;
        goto out;
    }
    /* Only JSON bodies in base64 (kombu's defaults, which Celery's events use). */
    if (json_object_object_get_ex(env, "content-type", &ct) &&
        (!json_object_is_type(ct, json_type_string) ||
         strcmp(json_object_get_string(ct), "application/json") != 0)) {
        st->bad_shape++;
        goto out;
    }
    if (json_object_object_get_ex(env, "properties", &props) &&
        json_object_is_type(props, json_type_object) &&
        json_object_object_get_ex(props, "body_encoding", &enc) &&
        (!json_object_is_type(enc, json_type_string) ||
         strcmp(json_object_get_string(enc), "base64") != 0)) {
        st->bad_shape++;
        goto out;
    }
    size_t blen = (size_t)json_object_get_string_len(b);
    if (!(raw = malloc(blen / 4 * 3 + 4)))
        goto out;
    long rlen = envelope_base64(json_object_get_string(b), blen, raw);
    if (rlen < 0) {
        st->bad_base64++;
        goto out;
    }
    if (memchr(raw, '\0', (size_t)rlen) ||
        !(body = envelope_parse(tok, (char *)raw, (size_t)rlen))) {
        st->bad_json++;
        goto out;
    }
    if (json_object_is_type(body, json_type_array)) {
        size_t k = json_object_array_length(body);
        if (k > ENVELOPE_MAX_LIST) {
            st->bad_shape++;
            goto out;
        }
        for (size_t i = 0; i < k; i++)
            n += envelope_event(json_object_array_get_idx(body, i), received, out, st);
    } else if (json_object_is_type(body, json_type_object)) {
        n += envelope_event(body, received, out, st);
    } else {
        st->bad_shape++;
    }
out:
    json_object_put(body);
    json_object_put(env);
    free(raw);
    return n;
}
