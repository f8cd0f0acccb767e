/* hub: the state of runwatch-sse — whether the Redis subscription is live, the counters
 * /healthz reports and, with the fan-out issue, the client list and the replay ring.
 * Only the event-loop thread touches it; nothing here locks. */
#ifndef RW_SSE_HUB_H
#define RW_SSE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The one channel runwatch-api publishes every committed change on (DESIGN.md §5). The
 * per-project channel scheme replaces this constant later. */
#define HUB_CHANNEL "runwatch:events"

struct event_base;
struct hub;

/* A copy of the counters, so readers never depend on the struct's layout. */
struct hub_stats {
    bool subscribed;   /* the SUBSCRIBE is confirmed and the link is up */
    size_t clients;    /* connected stream clients (0 until the fan-out issue) */
    uint64_t messages; /* messages received from Redis since start */
    uint64_t gaps;     /* times the subscription was lost after being live */
    uint64_t uptime_s; /* seconds since hub_new, monotonic */
};

/* base is kept for what the fan-out adds (the 15 s comment heartbeat, slow-client
 * checks); the hub does not own it. NULL when out of memory. */
struct hub *hub_new(struct event_base *base);
void hub_free(struct hub *hub);

/* The Redis side reports its transitions here. hub_on_link_lost may be called in any
 * state and as often as the link drops; only the loss of a live subscription is a gap. */
void hub_on_subscribed(struct hub *hub);
void hub_on_link_lost(struct hub *hub);

/* One message from the channel. payload is borrowed for the duration of the call and is
 * not NUL-terminated as far as the hub is concerned: copy what must outlive the call. */
void hub_on_message(struct hub *hub, const char *payload, size_t len);

void hub_stats_get(const struct hub *hub, struct hub_stats *out);

#endif
