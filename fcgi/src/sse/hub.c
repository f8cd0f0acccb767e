/* hub: subscription state and counters for runwatch-sse. Redis pub/sub keeps nothing for
 * a subscriber that is away, so every loss of a live subscription is a gap: counted, and
 * flagged so the fan-out can answer clients with `event: reset` instead of a silent hole. */
#include "hub.h"

#include <stdlib.h>
#include <time.h>

#include "log.h"

/* Longest payload prefix a debug line shows; events are small, a runaway one is not. */
#define HUB_LOG_PAYLOAD_MAX 256

struct hub {
    struct event_base *base; /* borrowed from main */
    struct timespec started; /* CLOCK_MONOTONIC, immune to wall-clock steps */
    bool subscribed;
    /* Set when a live subscription is lost; cleared by the first message after the hub
     * is subscribed again. That message's id is where the replay ring must restart:
     * a Last-Event-ID older than it cannot be bridged and gets `reset`. */
    bool gap_pending;
    size_t clients;
    uint64_t messages;
    uint64_t gaps;
};

struct hub *hub_new(struct event_base *base)
{
    struct hub *hub = calloc(1, sizeof(*hub));

    if (!hub)
        return NULL;
    hub->base = base;
    clock_gettime(CLOCK_MONOTONIC, &hub->started);
    return hub;
}

void hub_free(struct hub *hub)
{
    free(hub);
}

void hub_on_subscribed(struct hub *hub)
{
    hub->subscribed = true;
    if (hub->gap_pending)
        log_info("subscribed to %s again after a gap (gaps=%llu)", HUB_CHANNEL,
                 (unsigned long long)hub->gaps);
    else
        log_info("subscribed to %s", HUB_CHANNEL);
}

void hub_on_link_lost(struct hub *hub)
{
    if (!hub->subscribed)
        return;
    hub->subscribed = false;
    hub->gaps++;
    hub->gap_pending = true;
    log_warn("lost the subscription to %s; messages published until it is back are lost",
             HUB_CHANNEL);
}

void hub_on_message(struct hub *hub, const char *payload, size_t len)
{
    hub->messages++;
    if (hub->gap_pending) {
        /* The fan-out issue restarts the replay ring here and tells clients to reset. */
        hub->gap_pending = false;
        log_info("first message after a gap");
    }
    log_debug("message %llu (%zu bytes): %.*s", (unsigned long long)hub->messages, len,
              (int)(len < HUB_LOG_PAYLOAD_MAX ? len : HUB_LOG_PAYLOAD_MAX), payload);
}

void hub_stats_get(const struct hub *hub, struct hub_stats *out)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    out->subscribed = hub->subscribed;
    out->clients = hub->clients;
    out->messages = hub->messages;
    out->gaps = hub->gaps;
    out->uptime_s =
        now.tv_sec > hub->started.tv_sec ? (uint64_t)(now.tv_sec - hub->started.tv_sec) : 0;
}
