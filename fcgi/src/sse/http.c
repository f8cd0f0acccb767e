/* http: the evhttp server of runwatch-sse. One generic callback routes through a table, so
 * every answer — including 404 and 405 — is JSON in the API's error shape (DESIGN.md §4).
 * The limits are set for the stream to come: small headers, no bodies, and a timeout that
 * both stops slow-header clients and, once streaming, drops a reader that stalls. */
#include "http.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "hub.h"
#include "log.h"

/* libevent 2.1 has one timeout for reads and writes. Reads: a client has this long to
 * send its request. Writes: a stream the client has not drained for this long is closed
 * (it reconnects and replays); the fan-out may tune it per connection. */
#define SSE_HTTP_TIMEOUT_S 10
/* GET requests with cookies and a forwarded-projects header from nginx fit easily. */
#define SSE_HTTP_MAX_HEADERS 8192
/* evhttp listens with a backlog of 128; after a hub restart thousands of browsers reconnect
 * at once. The kernel caps this at net.core.somaxconn. */
#define SSE_HTTP_BACKLOG 4096

struct sse_http {
    struct evhttp *evhttp;
    struct hub *hub; /* borrowed */
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

static void sse_http_send_error(struct evhttp_request *req, int code, const char *err_code,
                                const char *message)
{
    json_object *body = json_object_new_object();
    json_object *err = json_object_new_object();

    if (!body || !err)
        goto fail;
    if (sse_http_json_add(err, "code", json_object_new_string(err_code)) ||
        sse_http_json_add(err, "message", json_object_new_string(message)))
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

static const struct sse_http_route sse_http_routes[] = {
    {"/healthz", EVHTTP_REQ_GET, "GET", sse_http_healthz},
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

struct sse_http *sse_http_new(struct event_base *base, struct hub *hub, const char *host, int port)
{
    struct sse_http *http = calloc(1, sizeof(*http));
    struct evhttp_bound_socket *bound;

    if (!http) {
        log_error("out of memory");
        return NULL;
    }
    http->hub = hub;
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

void sse_http_free(struct sse_http *http)
{
    if (!http)
        return;
    if (http->evhttp)
        evhttp_free(http->evhttp);
    free(http);
}
