/* redis_sub: the hub's subscriber connection (hiredis 0.14 async + its libevent adapter).
 * The rules of hiredis 0.14 this file is built around: a context is dead after any
 * disconnect, so every reconnect makes a new one and subscribes again; after an error or a
 * failed connect hiredis frees the context itself and runs our callbacks while it does, so
 * the callbacks only forget the pointer and arm a timer, never free or reconnect inline; a
 * subscribed connection can send nothing but (un)subscribe commands, so PUBLISH lives in
 * runwatch-api on a connection of its own. Connecting resolves host names synchronously:
 * use an address (or a unix socket) in RUNWATCH_REDIS_URL. */
#include "redis_sub.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "config.h"
#include "hub.h"
#include "log.h"
#include "sentinel.h"

#define REDIS_SUB_BACKOFF_MIN_MS 100
#define REDIS_SUB_BACKOFF_MAX_MS 5000
/* From connect() to the SUBSCRIBE confirmation. hiredis 0.14 has no connect timeout, and a
 * blackholed address would otherwise leave the hub "connecting" through minutes of SYN
 * retries. A peer that vanishes later is found by TCP keepalive, which hiredis 0.14 sets to
 * probe after 15 s idle and give up ~15 s later. */
#define REDIS_SUB_HANDSHAKE_MS 5000

struct redis_sub {
    struct event_base *base;       /* borrowed */
    struct hub *hub;               /* borrowed */
    struct config_redis_addr addr; /* with the password, when Redis requires one */
    char url[512];                 /* for log lines */
    char refused[400]; /* why the current context is being left (AUTH refused, not the primary) */
    /* The live context, or NULL. Cleared before we free a context ourselves, so the
     * callbacks hiredis runs during that free see a context that is no longer ours. */
    redisAsyncContext *ac;
    struct event *retry_timer;
    struct event *handshake_timer;
    bool subscribed;   /* the current context's SUBSCRIBE was confirmed */
    int backoff_ms;    /* delay before the next attempt, doubled after each failure */
    unsigned failures; /* failed attempts since the last subscription */
    unsigned seed;     /* jitter, so several hubs do not reconnect in lockstep */
};

static void redis_sub_connect(struct redis_sub *sub);

/* The context's own buffer: ac->errstr is only synced from it when hiredis tears down,
 * which is after the connect callback has run. */
static const char *redis_sub_errstr(const redisAsyncContext *ac)
{
    return ac->c.errstr[0] ? ac->c.errstr : "connection closed";
}

static void redis_sub_schedule_retry(struct redis_sub *sub)
{
    int delay = sub->backoff_ms + rand_r(&sub->seed) % (sub->backoff_ms / 4 + 1);
    struct timeval tv = {.tv_sec = delay / 1000, .tv_usec = (delay % 1000) * 1000};

    evtimer_add(sub->retry_timer, &tv);
    log_debug("next redis attempt in %d ms", delay);
    sub->backoff_ms = sub->backoff_ms * 2 > REDIS_SUB_BACKOFF_MAX_MS ? REDIS_SUB_BACKOFF_MAX_MS
                                                                     : sub->backoff_ms * 2;
}

/* The current context is gone (hiredis freed it, is freeing it, or we did): tell the hub,
 * log the transition once and come back later. */
static void redis_sub_down(struct redis_sub *sub, const char *why)
{
    sub->ac = NULL;
    evtimer_del(sub->handshake_timer);
    if (sub->subscribed) {
        sub->subscribed = false;
        log_warn("redis connection to %s lost: %s; reconnecting", sub->url, why);
    } else if (sub->failures++ == 0) {
        /* One warning per outage; the attempts that follow would only repeat it. */
        log_warn("cannot subscribe via redis at %s: %s; retrying with backoff up to %d ms",
                 sub->url, why, REDIS_SUB_BACKOFF_MAX_MS);
    } else {
        log_debug("redis attempt %u failed: %s", sub->failures, why);
    }
    hub_on_link_lost(sub->hub);
    redis_sub_schedule_retry(sub);
}

static void redis_sub_on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_sub *sub = ac->data;

    if (sub->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees ac as soon as this returns. */
        redis_sub_down(sub, redis_sub_errstr(ac));
        return;
    }
    /* Info for the normal case; during an outage (a server that accepts and never answers)
     * this would repeat at every attempt. */
    if (sub->failures == 0)
        log_info("connected to redis at %s", sub->url);
    else
        log_debug("connected to redis at %s", sub->url);
}

/* Runs while hiredis frees the context: after an error (EOF, reset, an error reply), or
 * inside our own redisAsyncFree, which sub->ac != ac filters out. */
static void redis_sub_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_sub *sub = ac->data;

    if (sub->ac != ac)
        return;
    redis_sub_down(sub, sub->refused[0]      ? sub->refused
                        : status == REDIS_OK ? "connection closed"
                                             : redis_sub_errstr(ac));
}

/* AUTH's reply, before SUBSCRIBE's. A refused password ends the connection, with that as
 * the outage's reason in the log; the retries go on with backoff as for any outage. */
static void redis_sub_on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_sub *sub = privdata;
    redisReply *reply = r;

    if (!reply || sub->ac != ac || reply->type != REDIS_REPLY_ERROR)
        return;
    snprintf(sub->refused, sizeof(sub->refused), "AUTH refused: %s", reply->str);
    redisAsyncDisconnect(ac);
}

/* ROLE's reply, behind Sentinel: a server that is no longer the primary (the Sentinel's
 * answer was a moment stale) is left at once, and the next attempt asks again. */
static void redis_sub_on_role(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_sub *sub = privdata;
    redisReply *reply = r;

    if (!reply || sub->ac != ac)
        return;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(reply->element[0]->str, "master") == 0)
        return;
    snprintf(sub->refused, sizeof(sub->refused), "%s:%d is not the primary of %s", sub->addr.host,
             sub->addr.port, sub->addr.master);
    redisAsyncDisconnect(ac);
}

/* Every reply on a subscribed connection comes here: the SUBSCRIBE confirmation first,
 * then one ["message", channel, payload] per PUBLISH. NULL means the context is being
 * freed; the connect/disconnect callbacks report that. */
static void redis_sub_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_sub *sub = privdata;
    redisReply *reply = r;
    const char *kind;

    if (!reply || sub->ac != ac)
        return;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        log_warn("unexpected reply from redis (type %d)", reply->type);
        return;
    }
    kind = reply->element[0]->str;
    if (strcasecmp(kind, "message") == 0) {
        if (reply->element[2]->type != REDIS_REPLY_STRING)
            return;
        if (reply->element[1]->type == REDIS_REPLY_STRING &&
            strcmp(reply->element[1]->str, HUB_REVOKED_CHANNEL) == 0)
            hub_on_revoked(sub->hub, reply->element[2]->str, reply->element[2]->len);
        else
            hub_on_message(sub->hub, reply->element[2]->str, reply->element[2]->len);
    } else if (strcasecmp(kind, "subscribe") == 0) {
        /* One confirmation per channel; the link is up once both are. */
        if (reply->element[2]->type == REDIS_REPLY_INTEGER && reply->element[2]->integer < 2)
            return;
        evtimer_del(sub->handshake_timer);
        sub->subscribed = true;
        sub->backoff_ms = REDIS_SUB_BACKOFF_MIN_MS;
        if (sub->failures > 0)
            log_info("redis at %s is back after %u failed attempts", sub->url, sub->failures);
        sub->failures = 0;
        hub_on_subscribed(sub->hub);
    } else {
        log_warn("unexpected %s reply from redis", kind);
    }
}

static void redis_sub_on_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct redis_sub *sub = arg;
    redisAsyncContext *ac = sub->ac;

    (void)fd;
    (void)what;
    if (!ac)
        return;
    /* Not inside a hiredis callback, so the free is immediate; clearing sub->ac first makes
     * the callbacks it runs ignore it. */
    sub->ac = NULL;
    redisAsyncFree(ac);
    redis_sub_down(sub, "no subscription within the handshake timeout");
}

static void redis_sub_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redis_sub_connect(arg);
}

static void redis_sub_connect(struct redis_sub *sub)
{
    struct timeval handshake = {.tv_sec = REDIS_SUB_HANDSHAKE_MS / 1000,
                                .tv_usec = (REDIS_SUB_HANDSHAKE_MS % 1000) * 1000};
    redisAsyncContext *ac;

    char why[160];

    /* Behind Sentinel: where the primary is now (blocks the loop for at most a few
     * hundred ms a Sentinel, and only while the link is down). */
    if (redis_sentinel_resolve(&sub->addr, why, sizeof(why)) != 0) {
        redis_sub_down(sub, why);
        return;
    }
    if (sub->addr.is_unix)
        ac = redisAsyncConnectUnix(sub->addr.host);
    else
        ac = redisAsyncConnect(sub->addr.host, sub->addr.port);
    if (!ac) {
        redis_sub_down(sub, "out of memory");
        return;
    }
    if (ac->err) {
        /* Refused or unreachable at once: the message lives in ac, log before freeing. */
        redis_sub_down(sub, redis_sub_errstr(ac));
        redisAsyncFree(ac);
        return;
    }
    ac->data = sub;
    if (!sub->addr.is_unix && redisEnableKeepAlive(&ac->c) != REDIS_OK)
        goto fail;
    /* Attach before setting the connect callback: setting it arms the write event. */
    if (redisLibeventAttach(ac, sub->base) != REDIS_OK)
        goto fail;
    if (redisAsyncSetConnectCallback(ac, redis_sub_on_connect) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, redis_sub_on_disconnect) != REDIS_OK)
        goto fail;
    /* Queued now, written as soon as the connection is up: AUTH first when Redis wants a
     * password, so the subscription is never attempted unauthenticated. */
    sub->refused[0] = '\0';
    if (sub->addr.password[0] &&
        redisAsyncCommand(ac, redis_sub_on_auth, sub, "AUTH %s", sub->addr.password) != REDIS_OK)
        goto fail;
    if (sub->addr.master[0] && redisAsyncCommand(ac, redis_sub_on_role, sub, "ROLE") != REDIS_OK)
        goto fail;
    if (redisAsyncCommand(ac, redis_sub_on_reply, sub, "SUBSCRIBE %s %s", HUB_CHANNEL,
                          HUB_REVOKED_CHANNEL) != REDIS_OK)
        goto fail;
    sub->ac = ac;
    evtimer_add(sub->handshake_timer, &handshake);
    log_debug("connecting to redis at %s", sub->url);
    return;

fail:
    /* Not connected yet, so freeing runs no disconnect callback; sub->ac is still NULL. */
    redis_sub_down(sub, ac->c.errstr[0] ? ac->c.errstr : "cannot set up the context");
    redisAsyncFree(ac);
}

struct redis_sub *redis_sub_new(struct event_base *base, struct hub *hub, const struct config *cfg)
{
    struct redis_sub *sub = calloc(1, sizeof(*sub));
    size_t len = strlen(cfg->redis_url);

    if (!sub)
        return NULL;
    if (len >= sizeof(sub->url) || config_parse_redis_url(cfg->redis_url, &sub->addr) != 0)
        goto fail;
    config_redis_addr(cfg, &sub->addr);
    memcpy(sub->url, cfg->redis_url, len + 1);
    sub->base = base;
    sub->hub = hub;
    sub->backoff_ms = REDIS_SUB_BACKOFF_MIN_MS;
    sub->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    sub->retry_timer = evtimer_new(base, redis_sub_on_retry, sub);
    sub->handshake_timer = evtimer_new(base, redis_sub_on_handshake_timeout, sub);
    if (!sub->retry_timer || !sub->handshake_timer)
        goto fail;
    return sub;

fail:
    redis_sub_free(sub);
    return NULL;
}

void redis_sub_start(struct redis_sub *sub)
{
    redis_sub_connect(sub);
}

void redis_sub_free(struct redis_sub *sub)
{
    redisAsyncContext *ac;

    if (!sub)
        return;
    ac = sub->ac;
    sub->ac = NULL;
    /* Runs the callbacks with this context no longer ours (they return at once) and frees
     * the adapter's events, so the event_base must still exist. */
    if (ac)
        redisAsyncFree(ac);
    if (sub->retry_timer)
        event_free(sub->retry_timer);
    if (sub->handshake_timer)
        event_free(sub->handshake_timer);
    free(sub);
}
