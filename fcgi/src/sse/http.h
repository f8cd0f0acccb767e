/* http: runwatch-sse's HTTP side (libevent evhttp): the listener, its limits and the
 * routes — GET /healthz, GET /metrics and GET /api/v1/stream (the event stream, which
 * nginx proxies after auth_request). evhttp may only be used from the event-loop thread. */
#ifndef RW_SSE_HTTP_H
#define RW_SSE_HTTP_H

struct event_base;
struct hub;
struct sse_http;

/* The shortest key the hub accepts (deploy/stack.sh makes 64 hex digits). */
#define SSE_HTTP_KEY_MIN 32

/* Binds host:port and serves on base. key is the per-stack secret nginx sends in
 * X-Runwatch-Hub-Key (copied); a stream request without it is refused. On failure logs
 * why and returns NULL. */
struct sse_http *sse_http_new(struct event_base *base, struct hub *hub, const char *host, int port,
                              const char *key);

/* Closes the listening socket (SIGTERM): connections already open stay. */
void sse_http_stop_accepting(struct sse_http *http);

/* Closes the listener and every connection. Before the event_base is freed. */
void sse_http_free(struct sse_http *http);

#endif
