/* redis_sub: the hub's one Redis connection, subscribed to HUB_CHANNEL through hiredis's
 * async API on the hub's event loop. It reconnects on its own, forever, with backoff; the
 * hub learns about every transition and message through the hub_on_* calls. */
#ifndef RW_SSE_REDIS_SUB_H
#define RW_SSE_REDIS_SUB_H

struct config;
struct event_base;
struct hub;
struct redis_sub;

/* Redis at cfg->redis_url ("redis://host:port" or "unix:/path"), authenticated with
 * cfg->redis_password when there is one. Allocates only; nothing connects before
 * redis_sub_start. NULL on a bad url or out of memory. */
struct redis_sub *redis_sub_new(struct event_base *base, struct hub *hub, const struct config *cfg);

/* Starts the first connection attempt. A Redis that is down is not an error: the attempt
 * is retried until it succeeds or redis_sub_free is called. */
void redis_sub_start(struct redis_sub *sub);

/* Disconnects and frees everything, including the hiredis context. Call it from outside
 * any hiredis callback and before the event_base is freed. */
void redis_sub_free(struct redis_sub *sub);

#endif
