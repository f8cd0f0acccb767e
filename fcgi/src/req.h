/* req: the request context every handler receives. It holds the parsed request
 * (method, path, query, headers, body), the response being built, and the unit of
 * database work it embeds (r->op: arena, connections, identity and the one error).
 * Handlers set an error with req_error() (or a db_* / access_* call sets it in r->op)
 * and return -1; req_render() turns whatever was set into the one response shape
 * {"error":{"code","message","field"}}: it is the one place an op's error becomes
 * HTTP. Nothing here touches libfcgi: serve.c fills and drains the context. */
#ifndef RW_REQ_H
#define RW_REQ_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arena.h"
#include "jsonx.h"
#include "op.h"

struct route;
struct pg_result;
struct req;

struct req_param {
    const char *name;
    const char *value;
};

/* A write that may join the worker's group commit (group_write, group.h): the
 * statement, its parameters (they point into the request's arena or its FastCGI
 * parameters, which live until it is answered) and the step that completes the request
 * with the result. */
typedef int (*req_then_fn)(struct req *r, struct pg_result *res);
#define REQ_WRITE_MAX_PARAMS 8
struct req_write {
    int stmt; /* an enum db_stmt_id */
    const char *params[REQ_WRITE_MAX_PARAMS];
    int nparams;
    req_then_fn then;
    /* Optional (group_write_merge): the statement that does the writes of several such
     * requests at once, when they agree on the first merge_shared parameters; 0 for
     * none. row: this request's row of the result then() is given (0 alone). */
    int merge_stmt;
    int merge_shared;
    int row;
};
/* What a handler returns when its write waits for the group (never to an HTTP client). */
#define REQ_DEFERRED 1

#define REQ_MAX_PATH_PARAMS  8
#define REQ_MAX_QUERY_PARAMS 64
#define REQ_MAX_HEADERS      16

struct req {
    /* The database work of the request: r->op.arena is the request's arena, and
     * r->op.ident the identity the router's guard resolved (never NULL in a handler). */
    struct op op;

    /* Parsed request. Strings live in the arena or in libfcgi's environment. */
    const char *method;
    const char *path; /* raw path, without the query string */
    const char *query;
    const char *request_id;
    const char *remote_addr;
    const char *content_type;
    char *const *env; /* FastCGI params, NAME=value */
    const char *body;
    size_t body_len;
    json_object *body_json;    /* parsed by the router for ROUTE_JSON_BODY routes; arena-owned */
    struct jsonx_val body_val; /* read by the router for ROUTE_JSON_READ routes (an object) */
    struct req_param query_params[REQ_MAX_QUERY_PARAMS];
    size_t n_query_params;
    struct req_param path_params[REQ_MAX_PATH_PARAMS];
    size_t n_path_params;
    struct timespec started;
    const struct route *route; /* the matched route (per-route counters), or NULL */
    /* An OTLP path (REQ_OTLP_PREFIX): errors take the google.rpc.Status shape OpenTelemetry
     * exporters read ({"code": 3, "message": "…"}), and the body cap is otlp_max_bytes. */
    int otlp;
    /* The agent-lightning store (REQ_AGL_PREFIX): errors take its server's shapes,
     * {"detail": "…"}, and for a 500 {"detail", "error_type"} (api/agl.c). */
    int agl;
    /* An artifact upload (req_is_upload): the body cap is artifact_max_bytes. */
    int upload;
    /* Other requests were ready with this one: a write may wait to join their commit. */
    int may_defer;
    int write_marked;       /* serve.c counted it as a write in hand (counters_write_begin) */
    struct req_write write; /* the write handed over by group_write */

    /* Response. status is the error's once one is set (req_render). */
    int status;
    const char *resp_body;
    size_t resp_len;
    const char *resp_type;
    struct req_param resp_headers[REQ_MAX_HEADERS];
    size_t n_resp_headers;
    /* A body streamed after the head (a download): Content-Length is resp_total, and
     * serve.c asks resp_more for the bytes from `offset` one slice at a time, each made in
     * `scratch` (reset after the slice is written), so a large body is never held whole.
     * resp_more answers 0 with a slice of at least one byte, -1 when it cannot: then the
     * connection is closed and nginx sees a short body, never a wrong one. Dropped when
     * the request ends in an error. */
    int (*resp_more)(struct req *r, struct arena *scratch, size_t offset, const char **chunk,
                     size_t *len);
    size_t resp_total;
    void *resp_ctx;
};

/* The paths of OTLP/HTTP (nginx maps POST /v1/traces to REQ_OTLP_PREFIX "v1/traces"). */
#define REQ_OTLP_PREFIX "/api/v1/otlp/"
/* The agent-lightning store's paths (nginx maps /agl/<token>/v1/agl/… there). */
#define REQ_AGL_PREFIX "/api/v1/agl/"

/* The path of an artifact upload (POST /api/v1/runs/{run}/artifacts/upload), whose body
 * may be as large as RUNWATCH_ARTIFACT_MAX_BYTES. */
int req_is_upload(const char *path);

/* Resets r to an empty request using arena a. */
void req_init(struct req *r, struct arena *a);

/* Parses a raw query string into r->query_params, percent-decoding names and values.
 * Returns -1 with a 400 error set on malformed escapes or too many parameters. */
int req_parse_query(struct req *r, const char *query);
/* First value of a query parameter, or NULL. */
const char *req_query(const struct req *r, const char *name);
/* A path parameter bound by the router ({id} in the route), or NULL. */
const char *req_path_param(const struct req *r, const char *name);
/* A request header by its HTTP name ("Idempotency-Key"), from the FastCGI params. */
const char *req_header(const struct req *r, const char *name);

/* Percent-decodes src[0..len) into the arena. plus_is_space for query strings.
 * Returns NULL on a malformed escape or an encoded NUL byte. */
char *req_decode(struct arena *a, const char *src, size_t len, int plus_is_space);

/* Records the error in r->op (first one wins) and returns -1, so handlers can write
 * `return req_error(r, 400, "invalid_field", "status", "…")`. field may be NULL. The
 * status must be one req_op_kind() knows (the statuses of the API's errors). */
int req_error(struct req *r, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* When the error already set has this status (a conflict classified by db_err, say),
 * names the field and says it in the handler's words. */
void req_refine_error(struct req *r, int status, const char *field, const char *message);
/* A jsonx validation failure as a 400 naming the field. */
int req_error_json(struct req *r, int status, const struct jsonx_err *err);
/* Attaches structured details to the current error (takes ownership of details). */
void req_error_details(struct req *r, json_object *details);

/* 400 naming the first query parameter not in known (NULL-ended). */
int req_only_params(struct req *r, const char *const *known);
/* The query parameter `name`, repeated or a comma list ("a,b"), as a PostgreSQL text[]
 * literal of names from allowed (so the literal needs no escaping); *out NULL when the
 * parameter is absent. Anything else is a 400 naming the parameter and the choices. */
int req_enum_list(struct req *r, const char *name, const char *const *allowed, const char **out);
/* ?limit= of a list: default 100, 1..1000, else 400 naming the field. */
int req_limit(struct req *r, long *out);
/* 1 when s is a non-negative decimal integer that fits in int64. */
int req_is_int(const char *s);
/* {"items": items, "next_cursor": cursor or null}; takes ownership of items. */
json_object *req_page(json_object *items, const char *next_cursor);

/* The op error kind of an HTTP error status, and back: one table (req.c). */
enum op_kind req_op_kind(int status);
int req_op_status(enum op_kind kind);

/* Responds {"items":[…],"next_cursor":…} made of column 0 (JSON text) of the first
 * `shown` rows, spliced as PostgreSQL produced them; next_cursor NULL for the last page. */
int req_page_rows(struct req *r, struct pg_result *res, int shown, const char *next_cursor);

/* Hands obj to the arena (freed at the end of the request) and returns it; NULL with a
 * 500 set when obj is NULL or cannot be registered. */
json_object *req_own_json(struct req *r, json_object *obj);

/* Whether a header value is the media type `type` ("application/json"), whatever the
 * case and parameters ("application/json; charset=utf-8"). */
int req_media_is(const char *value, const char *type);
/* Sets a JSON response; takes ownership of obj (it is freed with the arena). */
int req_json(struct req *r, int status, json_object *obj);
/* Sets JSON text made elsewhere (PostgreSQL's json, an arena string) as the response,
 * sent as it is; json must outlive the request. NULL (a failed arena_sprintf) is a 500. */
int req_json_text(struct req *r, int status, const char *json);
/* Adds a response header; name and value must outlive the request (arena or static). */
int req_add_header(struct req *r, const char *name, const char *value);
/* Parses the body as a JSON object that the arena owns. Sets 415/400 on failure. */
json_object *req_json_body(struct req *r);
/* The same for endpoints whose body is optional: no body is an empty object. */
json_object *req_json_body_opt(struct req *r);
/* The body read into r->body_val (jsonx_read, nodes in the arena) for bulk input: 0, or -1
 * with the error req_json_body would set (the same documents are refused, in the same
 * words: it is asked why). */
int req_read_body(struct req *r);

/* A body that is one item, or a batch {"<name>": [1..max items]} and nothing else.
 * check() validates one item (idx is -1 for a lone item) and sets the error. Returns
 * the items as an array (borrowed from the body, or arena-owned), NULL with the error
 * set. Writers validate the whole batch before writing any of it. */
json_object *req_batch(struct req *r, const char *name, size_t max,
                       int (*check)(struct req *r, json_object *item, long idx));
/* req_batch over r->body_val (req_read_body), by the same rules: the batch's array, or the lone
 * item (the body itself: kind JSONX_OBJECT), NULL with the error set. */
const struct jsonx_val *req_vbatch(struct req *r, const char *name, size_t max,
                                   int (*check)(struct req *r, const struct jsonx_val *item,
                                                long idx));
/* A batch item's validation failure: the lone item's field as is, a batch item's as
 * name[idx].field. Returns -1. */
int req_item_error(struct req *r, const char *name, long idx, const struct jsonx_err *je);
/* The error already recorded while checking member idx of a batch's array name, said of
 * that member: its field becomes "name[idx].field" (or "name[idx]") and its message starts
 * "name[idx]: ", so a check written for one item names the member in a batch. */
void req_error_of_item(struct req *r, const char *name, long idx);

/* Produces the final status and body: the error when one is set, else the response;
 * a handler that failed without saying why becomes a 500. Call exactly once. */
void req_render(struct req *r, int handler_rc);

const char *req_status_text(int status);

#endif
