/* http: runwatch-sse's HTTP side (libevent evhttp): the listener, its limits and the
 * routes — GET /healthz, GET /metrics and GET /api/v1/stream (the event stream, which
 * nginx proxies after auth_request). evhttp may only be used from the event-loop thread. */
#ifndef RW_SSE_HTTP_H
#define RW_SSE_HTTP_H

struct event_base;
struct hub;
struct sse_http;

/* Binds host:port and serves on base. On failure logs why and returns NULL. */
struct sse_http *sse_http_new(struct event_base *base, struct hub *hub, const char *host, int port);

/* Closes the listening socket (SIGTERM): connections already open stay. */
void sse_http_stop_accepting(struct sse_http *http);

/* Closes the listener and every connection. Before the event_base is freed. */
void sse_http_free(struct sse_http *http);

#endif
