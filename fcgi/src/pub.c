/* pub: synchronous hiredis with short timeouts. A publish waits at most 500 ms; after
 * a failure the worker does not try again for a second, so a dead Redis adds no
 * latency to the writes that follow. */
#include "pub.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static const struct timeval pub_timeout = {0, 500000};

void pub_init(struct pub *p, const struct config_redis_addr *addr)
{
    memset(p, 0, sizeof(*p));
    p->addr = *addr;
}

void pub_fini(struct pub *p)
{
    if (p->c)
        redisFree(p->c);
    p->c = NULL;
}

static void pub_drop(struct pub *p)
{
    clock_gettime(CLOCK_MONOTONIC, &p->retry_at);
    p->retry_at.tv_sec += 1;
    pub_fini(p);
}

static int pub_connect(struct pub *p, char *err, size_t errlen)
{
    redisContext *c = p->addr.is_unix
                          ? redisConnectUnixWithTimeout(p->addr.host, pub_timeout)
                          : redisConnectWithTimeout(p->addr.host, p->addr.port, pub_timeout);
    if (!c || c->err) {
        snprintf(err, errlen, "redis: %s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        pub_drop(p);
        return -1;
    }
    redisSetTimeout(c, pub_timeout);
    p->c = c;
    return 0;
}

/* Runs one command; on any transport error drops the connection. */
static redisReply *pub_command(struct pub *p, char *err, size_t errlen, int argc, const char **argv,
                               const size_t *argvlen)
{
    redisReply *reply;

    if (!p->c && pub_connect(p, err, errlen) != 0)
        return NULL;
    reply = redisCommandArgv(p->c, argc, argv, argvlen);
    if (!reply) {
        snprintf(err, errlen, "redis: %s", p->c->errstr[0] ? p->c->errstr : "no reply");
        pub_drop(p);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis: %.*s", (int)reply->len, reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

int pub_ping(struct pub *p, char *err, size_t errlen)
{
    const char *argv[] = {"PING"};
    const size_t lens[] = {4};
    redisReply *reply = pub_command(p, err, errlen, 1, argv, lens);
    if (!reply)
        return -1;
    freeReplyObject(reply);
    return 0;
}

int pub_publish(struct pub *p, const char *channel, const char *msg, size_t len)
{
    char err[256];
    struct timespec now;
    const char *argv[] = {"PUBLISH", channel, msg};
    const size_t lens[] = {7, strlen(channel), len};
    redisReply *reply;

    if (!p->c) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec < p->retry_at.tv_sec ||
            (now.tv_sec == p->retry_at.tv_sec && now.tv_nsec < p->retry_at.tv_nsec)) {
            log_warn("redis down, event not published on %s", channel);
            return -1;
        }
    }
    reply = pub_command(p, err, sizeof(err), 3, argv, lens);
    if (!reply) {
        log_warn("event not published on %s: %s", channel, err);
        return -1;
    }
    freeReplyObject(reply);
    return 0;
}
