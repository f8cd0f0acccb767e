/* hub: the state of runwatch-sse — the Redis subscription, the replay ring, the connected
 * stream clients and the counters /healthz and /metrics report. It fans each published
 * event out to the clients whose filters and allowed projects match, replays from the
 * ring on reconnect, answers what it cannot bridge with `event: reset`, keeps idle
 * streams alive with comments and drops clients that fall behind.
 * Only the event-loop thread touches it; nothing here locks. */
#ifndef RW_SSE_HUB_H
#define RW_SSE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "options.h"

/* The one channel runwatch-api publishes every committed change on (docs/CONTRACTS.md). */
#define HUB_CHANNEL "runwatch:events"
/* Where runwatch-api names the identities whose streams must end now: a revoked token, an
 * ended session, a disabled user, a changed membership ("token:7 session:12 user:5", or
 * "*" for every stream; fcgi/src/pub.h). */
#define HUB_REVOKED_CHANNEL "runwatch:revoked"

struct event_base;
struct evhttp_request;
struct hub;

/* A copy of the counters, so readers never depend on the struct's layout. */
struct hub_stats {
    bool subscribed;               /* the SUBSCRIBE is confirmed and the link is up */
    size_t clients;                /* connected stream clients */
    size_t replaying;              /* of which still catching up from the ring */
    uint64_t messages;             /* messages received from Redis since start */
    uint64_t invalid;              /* of which dropped as malformed */
    uint64_t truncated;            /* of which past RUNWATCH_SSE_FRAME_MAX: sent as stubs */
    uint64_t frames;               /* event frames written to clients (live and replayed) */
    uint64_t replayed;             /* of which replayed from the ring */
    uint64_t comments;             /* keepalive comments written */
    uint64_t resets;               /* `event: reset` frames written */
    uint64_t slow;                 /* clients disconnected for falling behind */
    uint64_t refused;              /* streams refused (client limit, shutting down) */
    uint64_t capped;               /* streams refused for their identity's cap (429) */
    uint64_t revoked;              /* streams ended because their identity changed */
    uint64_t streams;              /* streams opened since start */
    uint64_t gaps;                 /* times the subscription was lost after being live */
    uint64_t reconnects;           /* times it came back after such a loss */
    size_t ring_events;            /* events held for replay */
    size_t ring_bytes;             /* their frames' bytes */
    uint64_t last_seq;             /* newest seq seen in the current epoch, 0 when unknown */
    char epoch[SSE_EPOCH_MAX + 1]; /* the current epoch, "" when unknown */
    uint64_t uptime_s;             /* seconds since hub_new, monotonic */
};

/* What a stream asks for, checked by the HTTP side. projects is sorted and free of
 * duplicates: the projects this client may see and asked for (malloc'd; the hub takes it
 * over whatever hub_stream_open returns). */
struct hub_stream_req {
    int64_t *projects;
    size_t n_projects;
    uint32_t types;            /* 0 = every type */
    char run[SSE_RUN_LEN + 1]; /* "" = every run */
    const char *last_event_id; /* Last-Event-ID, or NULL */
    /* Who, as nginx got it from auth_request: "user:<id> session:<id>" or "token:<id>";
     * NULL for nobody known. It decides the stream's cap and which revocations end it. */
    const char *identity;
};

/* The clock behind keepalives, slow clients and stream ages, in milliseconds
 * (CLOCK_MONOTONIC_COARSE). A seam for the unit tests, which replace it with a fake. */
extern int64_t (*hub_clock_ms)(void);

/* base carries the hub's timers; the hub does not own it. NULL when out of memory. */
struct hub *hub_new(struct event_base *base, const struct sse_options *opts);
void hub_free(struct hub *hub);

/* The Redis side reports its transitions here. hub_on_link_lost may be called in any
 * state and as often as the link drops; only the loss of a live subscription is a gap,
 * and the next hub_on_subscribed sends every client `event: reset` and ends its stream:
 * a revocation published meanwhile is lost to the hub, so every browser reconnects and
 * passes auth_request again. */
void hub_on_subscribed(struct hub *hub);
void hub_on_link_lost(struct hub *hub);

/* One message from the channel. payload is borrowed for the duration of the call. */
void hub_on_message(struct hub *hub, const char *payload, size_t len);

/* One message of HUB_REVOKED_CHANNEL: every stream of a named identity gets
 * `event: revoked` and ends (the browser reconnects through auth_request, which refuses
 * or recomputes its projects). payload is borrowed for the duration of the call. */
void hub_on_revoked(struct hub *hub, const char *payload, size_t len);

/* Starts streaming req (a GET the HTTP side accepted): 0 when the hub took it, else the
 * HTTP status the caller must answer with (503: at the client limit or shutting down;
 * 429: its user or token holds RUNWATCH_SSE_STREAMS_PER_USER streams already). */
int hub_stream_open(struct hub *hub, struct evhttp_request *req, struct hub_stream_req *sr);

/* SIGTERM: refuses new streams and ends every stream cleanly (browsers reconnect, to
 * this hub once restarted or to another). Returns the number of streams ended. */
size_t hub_shutdown(struct hub *hub);

void hub_stats_get(const struct hub *hub, struct hub_stats *out);

#endif
