/* req: request parsing helpers and the single error renderer. Every response body
 * produced by runwatch-api for an error goes through req_render(), so the shape
 * {"error":{"code","message","field"}} cannot drift between handlers (nor the OTLP paths'
 * google.rpc.Status, in JSON or protobuf). */
#include "req.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "hex.h"
#include "log.h"
#include "otlp_pb.h"

void req_init(struct req *r, struct arena *a)
{
    memset(r, 0, sizeof(*r));
    r->op.arena = a;
    r->status = 200;
    r->resp_type = "application/json";
}

char *req_decode(struct arena *a, const char *src, size_t len, int plus_is_space)
{
    char *out = arena_alloc(a, len + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return NULL;
            hi = hex_digit(src[i + 1]);
            lo = hex_digit(src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return out;
}

int req_parse_query(struct req *r, const char *query)
{
    const char *p = query;

    r->n_query_params = 0;
    if (!query)
        return 0;
    while (*p) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        char *name, *value;

        if (end == p) { /* empty segment: "a=1&&b=2" */
            p = amp ? amp + 1 : end;
            continue;
        }
        if (r->n_query_params == REQ_MAX_QUERY_PARAMS)
            return req_error(r, 400, "invalid_query", NULL, "too many query parameters (max %d)",
                             REQ_MAX_QUERY_PARAMS);
        name = req_decode(r->op.arena, p, (size_t)((eq ? eq : end) - p), 1);
        value = eq ? req_decode(r->op.arena, eq + 1, (size_t)(end - eq - 1), 1)
                   : arena_strdup(r->op.arena, "");
        if (!name || !value)
            return req_error(r, 400, "invalid_query", name ? name : NULL,
                             "malformed percent-encoding in the query string");
        if (!*name)
            return req_error(r, 400, "invalid_query", NULL, "query parameter without a name");
        r->query_params[r->n_query_params].name = name;
        r->query_params[r->n_query_params].value = value;
        r->n_query_params++;
        p = amp ? amp + 1 : end;
    }
    return 0;
}

const char *req_query(const struct req *r, const char *name)
{
    for (size_t i = 0; i < r->n_query_params; i++)
        if (strcmp(r->query_params[i].name, name) == 0)
            return r->query_params[i].value;
    return NULL;
}

const char *req_path_param(const struct req *r, const char *name)
{
    for (size_t i = 0; i < r->n_path_params; i++)
        if (strcmp(r->path_params[i].name, name) == 0)
            return r->path_params[i].value;
    return NULL;
}

const char *req_header(const struct req *r, const char *name)
{
    char key[128];
    size_t o = 0;
    size_t plen;

    if (!r->env)
        return NULL;
    /* CGI names: Content-Type and Content-Length have no HTTP_ prefix. */
    if (strcasecmp(name, "Content-Type") != 0 && strcasecmp(name, "Content-Length") != 0) {
        memcpy(key, "HTTP_", 5);
        o = 5;
    }
    for (const char *s = name; *s && o < sizeof(key) - 2; s++)
        key[o++] = *s == '-' ? '_' : (char)toupper((unsigned char)*s);
    key[o++] = '=';
    key[o] = '\0';
    plen = o;
    for (char *const *e = r->env; *e; e++)
        if (strncmp(*e, key, plen) == 0)
            return *e + plen;
    return NULL;
}

/* The one map between an op's error kinds and HTTP statuses. */
static const struct {
    enum op_kind kind;
    int status;
} req_kinds[] = {
    {OP_BAD_INPUT, 400},   {OP_UNAUTHENTICATED, 401}, {OP_FORBIDDEN, 403}, {OP_NOT_FOUND, 404},
    {OP_NOT_ALLOWED, 405}, {OP_CONFLICT, 409},        {OP_TOO_LARGE, 413}, {OP_UNSUPPORTED, 415},
    {OP_INVALID, 422},     {OP_RATE_LIMITED, 429},    {OP_INTERNAL, 500},  {OP_UNAVAILABLE, 503},
};

enum op_kind req_op_kind(int status)
{
    for (size_t i = 0; i < sizeof(req_kinds) / sizeof(req_kinds[0]); i++)
        if (req_kinds[i].status == status)
            return req_kinds[i].kind;
    return OP_INTERNAL;
}

int req_op_status(enum op_kind kind)
{
    for (size_t i = 0; i < sizeof(req_kinds) / sizeof(req_kinds[0]); i++)
        if (req_kinds[i].kind == kind)
            return req_kinds[i].status;
    return 500;
}

int req_error(struct req *r, int status, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (r->op.err.kind != OP_OK) /* the first, most specific error wins */
        return -1;
    va_start(ap, fmt);
    op_failv(&r->op, req_op_kind(status), code, field, fmt, ap);
    va_end(ap);
    r->status = req_op_status(r->op.err.kind);
    return -1;
}

void req_refine_error(struct req *r, int status, const char *field, const char *message)
{
    op_refine(&r->op, req_op_kind(status), field, message);
}

int req_error_json(struct req *r, int status, const struct jsonx_err *err)
{
    return req_error(r, status, status == 422 ? "invalid_value" : "invalid_field",
                     err->field[0] ? err->field : NULL, "%s", err->message);
}

static void req_put_json(void *p)
{
    json_object_put(p);
}

json_object *req_own_json(struct req *r, json_object *obj)
{
    if (!obj || arena_defer(r->op.arena, req_put_json, obj) != 0) {
        req_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    return obj;
}

void req_error_details(struct req *r, json_object *details)
{
    op_details(&r->op, details);
}

int req_is_int(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return 0;
    /* 18 digits always fit in int64; rejecting longer ones keeps it simple. */
    return n > 0 && n <= 18;
}

int req_limit(struct req *r, long *out)
{
    const char *s = req_query(r, "limit");
    if (!s) {
        *out = 100;
        return 0;
    }
    if (!req_is_int(s) || strlen(s) > 4 || atol(s) < 1 || atol(s) > 1000)
        return req_error(r, 400, "invalid_field", "limit", "limit must be from 1 to 1000");
    *out = atol(s);
    return 0;
}

json_object *req_page(json_object *items, const char *next_cursor)
{
    json_object *page = json_object_new_object();
    json_object_object_add(page, "items", items);
    json_object_object_add(page, "next_cursor",
                           next_cursor ? json_object_new_string(next_cursor) : NULL);
    return page;
}

int req_add_header(struct req *r, const char *name, const char *value)
{
    if (r->n_resp_headers == REQ_MAX_HEADERS)
        return -1;
    r->resp_headers[r->n_resp_headers].name = name;
    r->resp_headers[r->n_resp_headers].value = value;
    r->n_resp_headers++;
    return 0;
}

int req_json(struct req *r, int status, json_object *obj)
{
    size_t len = 0;

    if (!obj)
        return req_error(r, 500, "internal", NULL, "out of memory");
    if (arena_defer(r->op.arena, req_put_json, obj) != 0)
        return req_error(r, 500, "internal", NULL, "out of memory");
    r->status = status;
    r->resp_body = jsonx_to_string(obj, &len);
    r->resp_len = len;
    r->resp_type = "application/json";
    return 0;
}

/* Only JSON is accepted; the media type may carry parameters ("; charset=utf-8"). */
static int req_json_media(const char *ct)
{
    return ct && strncasecmp(ct, "application/json", 16) == 0 &&
           (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

json_object *req_json_body(struct req *r)
{
    struct jsonx_err err;
    json_object *obj;

    if (!req_json_media(r->content_type)) {
        req_error(r, 415, "unsupported_media_type", NULL, "request body must be application/json");
        return NULL;
    }
    obj = jsonx_parse(r->body, r->body_len, &err);
    if (!obj) {
        /* A well-formed body with a value refused (a number out of range) names its field. */
        if (err.field[0])
            req_error(r, 400, "invalid_value", err.field, "%s", err.message);
        else
            req_error(r, 400, "invalid_json", NULL, "%s", err.message);
        return NULL;
    }
    if (arena_defer(r->op.arena, req_put_json, obj) != 0) {
        req_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        req_error(r, 400, "invalid_json", NULL, "request body must be a JSON object");
        return NULL;
    }
    char path[256] = "";
    /* A string holds NUL only if the text escapes one: most bodies need no walk. */
    if (memmem(r->body, r->body_len, "\\u0000", 6) && jsonx_find_nul(obj, path, sizeof(path))) {
        req_error(r, 400, "invalid_value", path, "%s must not contain NUL characters (\\u0000)",
                  path);
        return NULL;
    }
    return obj;
}

json_object *req_json_body_opt(struct req *r)
{
    if (r->body_len == 0)
        return req_own_json(r, json_object_new_object());
    return req_json_body(r);
}

int req_read_body(struct req *r)
{
    int nul = 0;

    if (req_json_media(r->content_type) &&
        jsonx_read(r->op.arena, r->body, r->body_len, &r->body_val, &nul) == 0 &&
        r->body_val.kind == JSONX_OBJECT && !nul)
        return 0;
    /* Refused: json-c's reading says why, as for every other route. It refuses the same
     * documents (tests/fuzz/fuzz_jsonread.c); were it ever to accept one, the request is
     * still refused, and the log says so. */
    if (!req_json_body(r))
        return -1;
    log_warn("jsonx_read refused a body that jsonx_parse accepts (%zu bytes)", r->body_len);
    return req_error(r, 400, "invalid_json", NULL, "malformed JSON");
}

int req_only_params(struct req *r, const char *const *known)
{
    for (size_t i = 0; i < r->n_query_params; i++) {
        int ok = 0;
        for (int k = 0; known[k]; k++)
            ok |= strcmp(known[k], r->query_params[i].name) == 0;
        if (!ok)
            return req_error(r, 400, "invalid_field", r->query_params[i].name,
                             "unknown query parameter %s", r->query_params[i].name);
    }
    return 0;
}

int req_enum_list(struct req *r, const char *name, const char *const *allowed, const char **out)
{
    char buf[256];
    size_t o = 0;

    *out = NULL;
    for (size_t i = 0; i < r->n_query_params; i++) {
        if (strcmp(r->query_params[i].name, name) != 0)
            continue;
        for (const char *s = r->query_params[i].value;;) {
            size_t n = strcspn(s, ",");
            int ok = 0;
            for (int k = 0; allowed[k]; k++)
                ok |= strlen(allowed[k]) == n && strncmp(allowed[k], s, n) == 0;
            /* A trailing or doubled comma leaves an empty name: refused here too. */
            if (!ok || o + n + 2 >= sizeof(buf)) {
                char list[200];
                size_t l = 0;
                for (int k = 0; allowed[k] && l < sizeof(list); k++)
                    l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s", k ? ", " : "",
                                          allowed[k]);
                return req_error(r, 400, "invalid_field", name, "%s must be a comma list of %s",
                                 name, list);
            }
            buf[o] = o ? ',' : '{';
            o++;
            memcpy(buf + o, s, n);
            o += n;
            if (s[n] != ',')
                break;
            s += n + 1;
        }
    }
    if (o) {
        buf[o++] = '}';
        if (!(*out = arena_strndup(r->op.arena, buf, o)))
            return req_error(r, 500, "internal", NULL, "out of memory");
    }
    return 0;
}

int req_page_rows(struct req *r, struct pg_result *res, int shown, const char *next_cursor)
{
    size_t cap = 32 + (next_cursor ? strlen(next_cursor) : 4);
    char *out, *o;

    for (int i = 0; i < shown; i++)
        cap += (size_t)PQgetlength(res, i, 0) + 1;
    out = o = arena_alloc(r->op.arena, cap);
    if (!out)
        return req_error(r, 500, "internal", NULL, "out of memory");
    memcpy(o, "{\"items\":[", 10);
    o += 10;
    for (int i = 0; i < shown; i++) {
        if (i)
            *o++ = ',';
        memcpy(o, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
        o += PQgetlength(res, i, 0);
    }
    /* Cursors are ours (timestamps, uuids, ids): nothing to escape. */
    o += snprintf(o, cap - (size_t)(o - out), "],\"next_cursor\":%s%s%s}", next_cursor ? "\"" : "",
                  next_cursor ? next_cursor : "null", next_cursor ? "\"" : "");
    r->status = 200;
    r->resp_type = "application/json";
    r->resp_body = out;
    r->resp_len = (size_t)(o - out);
    return 0;
}

int req_media_is(const char *value, const char *type)
{
    size_t n = strlen(type);
    if (!value)
        return 0;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, type, n) != 0)
        return 0;
    value += n;
    while (*value == ' ' || *value == '\t')
        value++;
    return *value == '\0' || *value == ';';
}

int req_json_text(struct req *r, int status, const char *json)
{
    if (!json)
        return req_error(r, 500, "internal", NULL, "out of memory");
    r->status = status;
    r->resp_type = "application/json";
    r->resp_body = json;
    r->resp_len = strlen(json);
    return 0;
}

/* A batch's shape, the same for both trees: the body's number of members, whether the batch
 * is an array, and its length. */
static int req_batch_shape(struct req *r, const char *name, size_t max, size_t members,
                           int is_array, size_t n)
{
    if (members != 1)
        return req_error(r, 400, "invalid_field", name,
                         "a batch is {\"%s\": [...]} and nothing else", name);
    if (!is_array)
        return req_error(r, 400, "invalid_field", name, "%s must be an array", name);
    if (n == 0 || n > max)
        return req_error(r, 422, "invalid_value", name, "a batch holds 1 to %zu %s", max, name);
    return 0;
}

const struct jsonx_val *req_vbatch(struct req *r, const char *name, size_t max,
                                   int (*check)(struct req *r, const struct jsonx_val *item,
                                                long idx))
{
    const struct jsonx_val *b = &r->body_val, *batch = jsonx_get(b, name);

    if (batch) {
        if (req_batch_shape(r, name, max, b->n, batch->kind == JSONX_ARRAY, batch->n))
            return NULL;
        for (uint32_t i = 0; i < batch->n; i++)
            if (check(r, &batch->items[i], (long)i))
                return NULL;
        return batch;
    }
    return check(r, b, -1) ? NULL : b;
}

json_object *req_batch(struct req *r, const char *name, size_t max,
                       int (*check)(struct req *r, json_object *item, long idx))
{
    json_object *b = r->body_json, *batch, *arr;

    if (json_object_object_get_ex(b, name, &batch)) {
        int is_array = batch && json_object_is_type(batch, json_type_array);
        size_t n = is_array ? json_object_array_length(batch) : 0;
        if (req_batch_shape(r, name, max, (size_t)json_object_object_length(b), is_array, n))
            return NULL;
        for (size_t i = 0; i < n; i++)
            if (check(r, json_object_array_get_idx(batch, i), (long)i))
                return NULL;
        return batch;
    }
    if (check(r, b, -1))
        return NULL;
    if (!(arr = req_own_json(r, json_object_new_array())))
        return NULL;
    json_object_array_add(arr, json_object_get(b));
    return arr;
}

void req_error_of_item(struct req *r, const char *name, long idx)
{
    struct op_err *e = &r->op.err;
    const char *field, *message;

    if (e->kind == OP_OK || idx < 0)
        return;
    field = e->field ? arena_sprintf(r->op.arena, "%s[%ld].%s", name, idx, e->field)
                     : arena_sprintf(r->op.arena, "%s[%ld]", name, idx);
    message = arena_sprintf(r->op.arena, "%s[%ld]: %s", name, idx, e->message ? e->message : "");
    if (field && message) {
        e->field = field;
        e->message = message;
    }
}

int req_item_error(struct req *r, const char *name, long idx, const struct jsonx_err *je)
{
    req_error_json(r, 400, je);
    req_error_of_item(r, name, idx);
    return -1;
}

/* An error's tree as the response body; when the tree cannot be kept, the fixed
 * out-of-memory body of the error's shape instead (a 500). */
static void req_error_body(struct req *r, json_object *root, const char *oom_body)
{
    size_t len = 0;

    if (arena_defer(r->op.arena, req_put_json, root) != 0) {
        r->resp_body = oom_body;
        r->resp_len = strlen(oom_body);
        r->status = 500;
        return;
    }
    r->resp_body = jsonx_to_string(root, &len);
    r->resp_len = len;
    r->resp_type = "application/json";
}

/* The google.rpc.Code of an HTTP status, for OTLP's error body: the mapping gRPC's HTTP
 * gateways use (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND,
 * RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL, UNIMPLEMENTED for the rest). */
static int req_rpc_code(int status)
{
    switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
        return 3;
    case 401:
        return 16;
    case 403:
        return 7;
    case 404:
        return 5;
    case 409:
        return 10;
    case 429:
        return 8;
    case 503:
        return 14;
    case 405:
        return 12;
    default:
        return 13;
    }
}

/* google.rpc.Status, what an OTLP/HTTP client expects of a failure, in the request's
 * content type: protobuf for a protobuf request, else its JSON form {"code": n,
 * "message": "field: message"} (an unknown content type gets JSON). */
static void req_render_otlp_error(struct req *r)
{
    const struct op_err *err = &r->op.err;
    json_object *root;
    const char *msg = err->message ? err->message : "internal error";

    if (err->field)
        msg = arena_sprintf(r->op.arena, "%s: %s", err->field, msg);
    if (req_media_is(r->content_type, "application/x-protobuf")) {
        /* code 13, "out of memory" */
        static const char oom[] = "\x08\x0d\x12\x0dout of memory";
        int code = req_rpc_code(r->status);
        size_t n = otlp_pb_status(NULL, code, msg);
        unsigned char *out = msg ? arena_alloc(r->op.arena, n + 1) : NULL;
        r->resp_type = "application/x-protobuf";
        if (!out) {
            r->resp_body = oom;
            r->resp_len = sizeof(oom) - 1;
            r->status = 500;
            return;
        }
        r->resp_len = otlp_pb_status(out, code, msg);
        r->resp_body = (const char *)out;
        return;
    }
    root = json_object_new_object();
    json_object_object_add(root, "code", json_object_new_int(req_rpc_code(r->status)));
    json_object_object_add(root, "message", json_object_new_string(msg ? msg : "out of memory"));
    req_error_body(r, root, "{\"code\":13,\"message\":\"out of memory\"}");
}

/* agent-lightning's server's shapes (its client retries on 5xx and 408, on no other
 * 4xx): FastAPI's {"detail": "…"}, and for a store error its handler's 500
 * {"detail": "Internal server error", "error_type": "ValueError"} (the exception's class,
 * which the store's function names in the error's details), plus the message and
 * Runwatch's error code. */
static void req_render_agl_error(struct req *r)
{
    const struct op_err *err = &r->op.err;
    json_object *root = json_object_new_object(), *t;
    const char *msg = err->message ? err->message : "internal error";

    if (r->status == 500) {
        const char *etype = "InternalError";
        if (err->details && json_object_object_get_ex(err->details, "error_type", &t))
            etype = json_object_get_string(t);
        json_object_object_add(root, "detail", json_object_new_string("Internal server error"));
        json_object_object_add(root, "error_type", json_object_new_string(etype));
        json_object_object_add(root, "message", json_object_new_string(msg));
    } else {
        json_object_object_add(root, "detail", json_object_new_string(msg));
    }
    /* Runwatch's own code beside them, as every other error carries it. */
    json_object_object_add(root, "code",
                           json_object_new_string(err->code ? err->code : "internal"));
    req_error_body(r, root, "{\"detail\":\"out of memory\"}");
}

static void req_render_error(struct req *r)
{
    if (r->otlp) {
        req_render_otlp_error(r);
        return;
    }
    if (r->agl) {
        req_render_agl_error(r);
        return;
    }

    const struct op_err *err = &r->op.err;
    json_object *root = json_object_new_object();
    json_object *e = json_object_new_object();

    json_object_object_add(e, "code", json_object_new_string(err->code ? err->code : "internal"));
    json_object_object_add(e, "message", json_object_new_string(err->message ? err->message : ""));
    if (err->field)
        json_object_object_add(e, "field", json_object_new_string(err->field));
    if (err->details)
        json_object_object_add(e, "details", json_object_get(err->details));
    json_object_object_add(root, "error", e);
    req_error_body(r, root, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
}

void req_render(struct req *r, int handler_rc)
{
    if (handler_rc != 0 && r->op.err.kind == OP_OK)
        req_error(r, 500, "internal", NULL, "internal error");
    if (r->op.err.kind != OP_OK) {
        r->resp_more = NULL; /* an error has its own body, never a stream's */
        r->status = req_op_status(r->op.err.kind);
        if (r->op.err.retry_after > 0)
            req_add_header(r, "Retry-After",
                           arena_sprintf(r->op.arena, "%d", r->op.err.retry_after));
        req_render_error(r);
        return;
    }
    if (!r->resp_body && r->status != 204) {
        r->resp_body = "{}";
        r->resp_len = 2;
    }
}

int req_is_upload(const char *path)
{
    static const char prefix[] = "/api/v1/runs/", suffix[] = "/artifacts/upload";
    size_t n = strlen(path), pl = sizeof(prefix) - 1, sl = sizeof(suffix) - 1;

    /* One segment (the run) between the two: a slash in it is another path. */
    return n > pl + sl && strncmp(path, prefix, pl) == 0 && strcmp(path + n - sl, suffix) == 0 &&
           memchr(path + pl, '/', n - pl - sl) == NULL;
}

const char *req_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}
