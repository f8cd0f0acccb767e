/* http: the evhttp server of runwatch-sse. One generic callback routes through a table, so
 * every answer — including 404 and 405 — is JSON in the API's error shape
 * (docs/ARCHITECTURE.md, "API conventions").
 * The stream route checks what nginx and the client sent (the allowed projects nginx got
 * from auth_request, the filters) and hands the request to the hub. It believes the
 * allowed projects only from a request that carries the per-stack key nginx adds: any
 * local process can reach the hub's port, but only nginx (and the stack's owner) can read
 * the key. /healthz and /metrics need no key: they say nothing of any project. No bodies are read;
 * the timeout bounds how long a client may take to send its request (the hub lifts it
 * once a stream starts). */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "hub.h"
#include "log.h"

/* libevent 2.1 has one timeout for reads and writes: a client has this long to send its
 * request; a stream replaces it with the hub's own stall check. */
#define SSE_HTTP_TIMEOUT_S 10
/* nginx strips cookies and credentials before the hub; the allowed-projects header of an
 * instance admin on a large instance is the big one (about 8 bytes a project). */
#define SSE_HTTP_MAX_HEADERS (256 * 1024)
/* The header nginx sets from auth_request, "[1,5,9]" (never sent by a client: nginx
 * replaces any such header). Its absence means the request did not come through nginx. */
#define SSE_HTTP_PROJECTS_HEADER "X-Runwatch-Projects"
/* The per-stack key, from nginx's proxy_set_header (deploy/stack.sh makes it). */
#define SSE_HTTP_KEY_HEADER "X-Runwatch-Hub-Key"
/* At most this many ids in ?project=. */
#define SSE_HTTP_MAX_PROJECT_FILTER 100
/* evhttp listens with a backlog of 128; after a hub restart thousands of browsers reconnect
 * at once. The kernel caps this at net.core.somaxconn. */
#define SSE_HTTP_BACKLOG 4096

struct sse_http {
    struct evhttp *evhttp;
    struct evhttp_bound_socket *bound;
    struct hub *hub; /* borrowed */
    char key[256];   /* what X-Runwatch-Hub-Key must be */
    size_t key_len;
};

struct sse_http_route {
    const char *path;
    enum evhttp_cmd_type method;
    const char *allow; /* the Allow header of a 405 */
    void (*handler)(struct sse_http *http, struct evhttp_request *req);
};

/* Adds val under key and gives up our reference whatever happens: -1 when val is NULL (an
 * allocation failed) or the add failed. */
static int sse_http_json_add(json_object *obj, const char *key, json_object *val)
{
    if (!val)
        return -1;
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        return -1;
    }
    return 0;
}

/* Sends body (or a fixed 500 when it is NULL, i.e. building it ran out of memory) with the
 * headers every answer carries, and drops our reference to body. */
static void sse_http_send_json(struct evhttp_request *req, int code, json_object *body)
{
    static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    const char *text = NULL;
    size_t len = 0;

    if (body)
        text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);
    if (!text) {
        code = HTTP_INTERNAL;
        text = oom;
        len = sizeof(oom) - 1;
    }
    evhttp_add_header(headers, "Content-Type", "application/json");
    evhttp_add_header(headers, "Cache-Control", "no-store");
    evbuffer_add(evhttp_request_get_output_buffer(req), text, len);
    evhttp_send_reply(req, code, NULL, NULL);
    json_object_put(body);
}

static void sse_http_send_field_error(struct evhttp_request *req, int code, const char *err_code,
                                      const char *field, const char *message)
{
    json_object *body = json_object_new_object();
    json_object *err = json_object_new_object();

    if (!body || !err)
        goto fail;
    if (sse_http_json_add(err, "code", json_object_new_string(err_code)) ||
        sse_http_json_add(err, "message", json_object_new_string(message)) ||
        (field && sse_http_json_add(err, "field", json_object_new_string(field))))
        goto fail;
    if (sse_http_json_add(body, "error", err)) {
        err = NULL; /* given up by sse_http_json_add */
        goto fail;
    }
    sse_http_send_json(req, code, body);
    return;

fail:
    json_object_put(err);
    json_object_put(body);
    sse_http_send_json(req, code, NULL);
}

static void sse_http_send_error(struct evhttp_request *req, int code, const char *err_code,
                                const char *message)
{
    sse_http_send_field_error(req, code, err_code, NULL, message);
}

/* 200 while the subscription is live; 503 otherwise, so a load balancer stops sending
 * browsers to a hub that would show them nothing. */
static void sse_http_healthz(struct sse_http *http, struct evhttp_request *req)
{
    json_object *body = json_object_new_object();
    struct hub_stats st;
    int code = HTTP_INTERNAL;

    hub_stats_get(http->hub, &st);
    if (!body)
        goto out;
    if (sse_http_json_add(body, "status",
                          json_object_new_string(st.subscribed ? "ok" : "degraded")) ||
        sse_http_json_add(body, "redis",
                          json_object_new_string(st.subscribed ? "subscribed" : "disconnected")) ||
        sse_http_json_add(body, "clients", json_object_new_int64((int64_t)st.clients)) ||
        sse_http_json_add(body, "messages", json_object_new_int64((int64_t)st.messages)) ||
        sse_http_json_add(body, "gaps", json_object_new_int64((int64_t)st.gaps)) ||
        sse_http_json_add(body, "uptime_s", json_object_new_int64((int64_t)st.uptime_s))) {
        json_object_put(body);
        body = NULL;
        goto out;
    }
    if (!st.subscribed)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    code = st.subscribed ? HTTP_OK : HTTP_SERVUNAVAIL;
out:
    sse_http_send_json(req, code, body);
}

/* Prometheus text exposition: what an operator graphs and alerts on. */
static void sse_http_metrics(struct sse_http *http, struct evhttp_request *req)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct hub_stats st;
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"runwatch_sse_clients", "gauge", "Connected stream clients."},
        {"runwatch_sse_clients_replaying", "gauge", "Clients still catching up from the ring."},
        {"runwatch_sse_streams_total", "counter", "Streams opened."},
        {"runwatch_sse_streams_refused_total", "counter",
         "Streams refused (client limit reached or shutting down)."},
        {"runwatch_sse_events_in_total", "counter", "Messages received from Redis."},
        {"runwatch_sse_events_invalid_total", "counter", "Messages dropped as malformed."},
        {"runwatch_sse_frames_out_total", "counter", "Event frames written to clients."},
        {"runwatch_sse_frames_replayed_total", "counter",
         "Event frames replayed from the ring (Last-Event-ID)."},
        {"runwatch_sse_keepalives_total", "counter", "Keepalive comments written."},
        {"runwatch_sse_resets_total", "counter", "Reset frames written."},
        {"runwatch_sse_slow_disconnects_total", "counter",
         "Clients disconnected for falling behind."},
        {"runwatch_sse_redis_subscribed", "gauge", "1 while the Redis subscription is live."},
        {"runwatch_sse_redis_gaps_total", "counter", "Live subscriptions lost."},
        {"runwatch_sse_redis_reconnects_total", "counter", "Subscriptions restored after a loss."},
        {"runwatch_sse_ring_events", "gauge", "Events held for replay."},
        {"runwatch_sse_ring_bytes", "gauge", "Bytes of the frames held for replay."},
        {"runwatch_sse_uptime_seconds", "gauge", "Seconds since the hub started."},
        {"runwatch_sse_events_truncated_total", "counter",
         "Messages past RUNWATCH_SSE_FRAME_MAX, sent as truncated stubs."},
        {"runwatch_sse_streams_capped_total", "counter",
         "Streams refused for their user's or token's cap (RUNWATCH_SSE_STREAMS_PER_USER)."},
        {"runwatch_sse_streams_revoked_total", "counter",
         "Streams ended because their token, session, user or membership changed."},
    };
    uint64_t v[sizeof(m) / sizeof(m[0])];

    hub_stats_get(http->hub, &st);
    v[0] = st.clients;
    v[1] = st.replaying;
    v[2] = st.streams;
    v[3] = st.refused;
    v[4] = st.messages;
    v[5] = st.invalid;
    v[6] = st.frames;
    v[7] = st.replayed;
    v[8] = st.comments;
    v[9] = st.resets;
    v[10] = st.slow;
    v[11] = st.subscribed;
    v[12] = st.gaps;
    v[13] = st.reconnects;
    v[14] = st.ring_events;
    v[15] = st.ring_bytes;
    v[16] = st.uptime_s;
    v[17] = st.truncated;
    v[18] = st.capped;
    v[19] = st.revoked;
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", m[i].name,
                            m[i].help, m[i].name, m[i].type, m[i].name, v[i]);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, HTTP_OK, NULL, NULL);
}

static int sse_http_cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Parses a comma list of positive ids (bracketed when brackets is set) into a sorted,
 * duplicate-free malloc'd array; *out is NULL for an empty list. -1 when malformed or
 * longer than max. */
static int sse_http_parse_ids(const char *s, int brackets, size_t max, int64_t **out, size_t *n)
{
    size_t cap = 0, len = 0, w = 0;
    int64_t *ids = NULL;
    const char *p = s;

    *out = NULL;
    *n = 0;
    if (brackets) {
        size_t l = strlen(s);
        if (l < 2 || s[0] != '[' || s[l - 1] != ']')
            return -1;
        p = s + 1;
        if (l == 2)
            return 0;
    }
    for (;;) {
        char *end;
        long long v;

        if (!isdigit((unsigned char)*p))
            goto fail;
        errno = 0;
        v = strtoll(p, &end, 10);
        if (errno != 0 || v <= 0)
            goto fail;
        if (len == cap) {
            int64_t *grown;
            cap = cap ? 2 * cap : 16;
            if (cap > max)
                cap = max;
            if (len == cap)
                goto fail;
            grown = realloc(ids, cap * sizeof(*ids));
            if (!grown)
                goto fail;
            ids = grown;
        }
        ids[len++] = v;
        p = end;
        if (*p == ',') {
            p++;
            continue;
        }
        if ((brackets && *p == ']' && p[1] == '\0') || (!brackets && *p == '\0'))
            break;
        goto fail;
    }
    qsort(ids, len, sizeof(*ids), sse_http_cmp_id);
    for (size_t i = 0; i < len; i++)
        if (w == 0 || ids[w - 1] != ids[i])
            ids[w++] = ids[i];
    *out = ids;
    *n = w;
    return 0;
fail:
    free(ids);
    return -1;
}

/* 1 when the request carries the key. Every byte is compared whatever the others, so the
 * time taken says nothing of how much of a guess was right; only the length (fixed by
 * deploy/stack.sh) can show. */
static int sse_http_key_ok(const struct sse_http *http, const char *sent)
{
    unsigned char diff = 0;
    size_t n;

    if (!sent)
        return 0;
    n = strlen(sent);
    if (n != http->key_len)
        return 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(sent[i] ^ http->key[i]);
    return diff == 0;
}

static int sse_http_has_id(const int64_t *ids, size_t n, int64_t id)
{
    /* A caller of no project has no list at all (ids NULL), which bsearch may not be given. */
    return n > 0 && bsearch(&id, ids, n, sizeof(*ids), sse_http_cmp_id) != NULL;
}

/* GET /api/v1/stream?project=1,2&run=<uuid>&types=run.updated,run.event[&last_event_id=…]
 * The project filter may only name allowed projects (404 otherwise, as the REST API
 * answers for a project the caller cannot see); without it the stream shows every
 * allowed project. */
static void sse_http_stream(struct sse_http *http, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *allowed_hdr = evhttp_find_header(in, SSE_HTTP_PROJECTS_HEADER);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    const char *v;
    struct evkeyvalq params;
    struct hub_stream_req sr;
    int64_t *allowed = NULL, *wanted = NULL;
    size_t n_allowed = 0, n_wanted = 0;
    char bad[80], msg[256];
    int status;

    memset(&sr, 0, sizeof(sr));
    TAILQ_INIT(&params);
    if (!sse_http_key_ok(http, evhttp_find_header(in, SSE_HTTP_KEY_HEADER))) {
        /* Someone on this host beside nginx, perhaps with a forged X-Runwatch-Projects. */
        log_warn("stream request without the hub key refused (not through nginx)");
        sse_http_send_error(req, 403, "forbidden", "only the proxy may open streams here");
        goto out;
    }
    if (!allowed_hdr) {
        /* Only nginx reaches the hub, and it always sets the header after auth_request:
         * a request without it bypassed authorisation. */
        log_warn("stream request without %s (not through nginx?)", SSE_HTTP_PROJECTS_HEADER);
        sse_http_send_error(req, 401, "unauthenticated", "sign in first");
        goto out;
    }
    if (sse_http_parse_ids(allowed_hdr, 1, SIZE_MAX / sizeof(int64_t), &allowed, &n_allowed)) {
        log_error("malformed %s header from nginx", SSE_HTTP_PROJECTS_HEADER);
        sse_http_send_error(req, HTTP_INTERNAL, "internal", "internal error");
        goto out;
    }
    if (query && evhttp_parse_query_str(query, &params) != 0) {
        sse_http_send_error(req, HTTP_BADREQUEST, "bad_request", "malformed query string");
        goto out;
    }
    if ((v = evhttp_find_header(&params, "project")) != NULL) {
        if (sse_http_parse_ids(v, 0, SSE_HTTP_MAX_PROJECT_FILTER, &wanted, &n_wanted) ||
            n_wanted == 0) {
            sse_http_send_field_error(req, HTTP_BADREQUEST, "invalid_field", "project",
                                      "project must be a comma list of up to 100 project ids");
            goto out;
        }
        for (size_t i = 0; i < n_wanted; i++)
            if (!sse_http_has_id(allowed, n_allowed, wanted[i])) {
                snprintf(msg, sizeof(msg), "no such project: %lld", (long long)wanted[i]);
                sse_http_send_field_error(req, HTTP_NOTFOUND, "not_found", "project", msg);
                goto out;
            }
        sr.projects = wanted;
        sr.n_projects = n_wanted;
        wanted = NULL;
    } else {
        sr.projects = allowed;
        sr.n_projects = n_allowed;
        allowed = NULL;
    }
    if ((v = evhttp_find_header(&params, "run")) != NULL) {
        size_t l = strlen(v);
        for (size_t i = 0; i < l && i < SSE_RUN_LEN; i++)
            sr.run[i] = (char)tolower((unsigned char)v[i]);
        if (l != SSE_RUN_LEN || !sse_run_valid(sr.run)) {
            sse_http_send_field_error(req, HTTP_BADREQUEST, "invalid_field", "run",
                                      "run must be a run id (a UUID)");
            goto out;
        }
    }
    if ((v = evhttp_find_header(&params, "types")) != NULL &&
        sse_types_parse(v, &sr.types, bad, sizeof(bad)) != 0) {
        snprintf(msg, sizeof(msg), "unknown event type \"%s\"; known: %s", bad, sse_type_names());
        sse_http_send_field_error(req, HTTP_BADREQUEST, "invalid_field", "types", msg);
        goto out;
    }
    /* EventSource sends the header on its own reconnects; a page that opens a new stream
     * (other filters) passes the id it had in the query. */
    sr.last_event_id = evhttp_find_header(in, "Last-Event-ID");
    if (!sr.last_event_id)
        sr.last_event_id = evhttp_find_header(&params, "last_event_id");
    sr.identity = evhttp_find_header(in, "X-Runwatch-Identity");
    status = hub_stream_open(http->hub, req, &sr);
    sr.projects = NULL; /* the hub took it */
    if (status != 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
        if (status == 429)
            sse_http_send_error(req, status, "too_many_streams",
                                "too many open streams for this user or token; close one first");
        else
            sse_http_send_error(req, status, "unavailable", "the live hub is full or stopping");
    }
out:
    free(sr.projects);
    free(allowed);
    free(wanted);
    evhttp_clear_headers(&params);
}

static const struct sse_http_route sse_http_routes[] = {
    {"/healthz", EVHTTP_REQ_GET, "GET", sse_http_healthz},
    {"/metrics", EVHTTP_REQ_GET, "GET", sse_http_metrics},
    {"/api/v1/stream", EVHTTP_REQ_GET, "GET", sse_http_stream},
};

static void sse_http_dispatch(struct evhttp_request *req, void *arg)
{
    struct sse_http *http = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

    for (size_t i = 0; path && i < sizeof(sse_http_routes) / sizeof(sse_http_routes[0]); i++) {
        const struct sse_http_route *route = &sse_http_routes[i];

        if (strcmp(path, route->path) != 0)
            continue;
        if (evhttp_request_get_command(req) != route->method) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", route->allow);
            sse_http_send_error(req, HTTP_BADMETHOD, "method_not_allowed", "method not allowed");
            return;
        }
        route->handler(http, req);
        return;
    }
    sse_http_send_error(req, HTTP_NOTFOUND, "not_found", "no such route");
}

struct sse_http *sse_http_new(struct event_base *base, struct hub *hub, const char *host, int port,
                              const char *key)
{
    struct sse_http *http = calloc(1, sizeof(*http));
    struct evhttp_bound_socket *bound;

    if (!http) {
        log_error("out of memory");
        return NULL;
    }
    http->hub = hub;
    http->key_len = strlen(key);
    if (http->key_len < SSE_HTTP_KEY_MIN || http->key_len >= sizeof(http->key)) {
        log_error("the hub key must be %d to %zu bytes", SSE_HTTP_KEY_MIN, sizeof(http->key) - 1);
        goto fail;
    }
    memcpy(http->key, key, http->key_len + 1);
    http->evhttp = evhttp_new(base);
    if (!http->evhttp) {
        log_error("cannot create the http server");
        goto fail;
    }
    evhttp_set_timeout(http->evhttp, SSE_HTTP_TIMEOUT_S);
    evhttp_set_max_headers_size(http->evhttp, SSE_HTTP_MAX_HEADERS);
    /* The hub reads no bodies; evhttp answers 413 to one rather than buffer it. */
    evhttp_set_max_body_size(http->evhttp, 0);
    /* evhttp itself rejects methods outside this set with an HTML 405; let the common ones
     * through so the router answers them in JSON. */
    evhttp_set_allowed_methods(http->evhttp, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                                 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                                 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(http->evhttp, sse_http_dispatch, http);

    bound = evhttp_bind_socket_with_handle(http->evhttp, host, (ev_uint16_t)port);
    http->bound = bound;
    if (!bound) {
        log_error("cannot listen on %s:%d: %s", host, port, strerror(errno));
        goto fail;
    }
    /* Linux lets listen() on a listening socket change its backlog. */
    if (listen(evhttp_bound_socket_get_fd(bound), SSE_HTTP_BACKLOG) != 0)
        log_warn("cannot raise the listen backlog: %s", strerror(errno));
    log_info("listening on %s:%d", host, port);
    return http;

fail:
    sse_http_free(http);
    return NULL;
}

void sse_http_stop_accepting(struct sse_http *http)
{
    if (http->bound) {
        evhttp_del_accept_socket(http->evhttp, http->bound);
        http->bound = NULL;
    }
}

void sse_http_free(struct sse_http *http)
{
    if (!http)
        return;
    if (http->evhttp)
        evhttp_free(http->evhttp);
    free(http);
}
