/* http: runwatch-sse's HTTP side (libevent evhttp): the listener, its limits and the
 * routes. Today GET /healthz; the fan-out issue adds the event stream to the same table.
 * evhttp may only be used from the event-loop thread. */
#ifndef RW_SSE_HTTP_H
#define RW_SSE_HTTP_H

struct event_base;
struct hub;
struct sse_http;

/* Binds host:port and serves on base. On failure logs why and returns NULL. */
struct sse_http *sse_http_new(struct event_base *base, struct hub *hub, const char *host, int port);

/* Closes the listener and every connection. Before the event_base is freed. */
void sse_http_free(struct sse_http *http);

#endif
