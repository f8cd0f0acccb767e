/* pub: synchronous hiredis with short timeouts. A publish waits at most 500 ms; after
 * a failure the worker does not try again for a second, so a dead Redis adds no
 * latency to the writes that follow. */
#include "pub.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Returns 1 while a recent failure says not to try connecting yet. */
static int pub_backing_off(const struct pub *p)
{
    struct timespec now;
    if (p->c)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec < p->retry_at.tv_sec ||
           (now.tv_sec == p->retry_at.tv_sec && now.tv_nsec < p->retry_at.tv_nsec);
}

/* KEYS[1] the counter, KEYS[2] the channel, ARGV[1] the message without its id: one
 * atomic step in Redis, so no two workers can publish ids out of order. */
static const char pub_script[] =
    "local id = redis.call('INCR', KEYS[1]) "
    "redis.call('PUBLISH', KEYS[2], '{\"id\":' .. id .. ',' .. string.sub(ARGV[1], 2)) "
    "return id";

int pub_event(struct pub *p, const char *project_id, const char *type, const char *run_id,
              const char *data_json)
{
    char err[256];
    char *msg;
    size_t cap;
    int n;
    redisReply *reply;

    cap = 96 + strlen(type) + (run_id ? strlen(run_id) : 4) + (data_json ? strlen(data_json) : 4) +
          strlen(project_id);
    msg = malloc(cap);
    if (!msg) {
        p->dropped++;
        return -1;
    }
    /* type and run are ours (a constant, a uuid from PostgreSQL): no escaping needed. */
    n = snprintf(msg, cap, "{\"project\":%s,\"type\":\"%s\",\"run\":%s%s%s,\"data\":%s}",
                 project_id, type, run_id ? "\"" : "", run_id ? run_id : "null", run_id ? "\"" : "",
                 data_json ? data_json : "null");
    if (n < 0 || (size_t)n >= cap) {
        free(msg);
        p->dropped++;
        return -1;
    }
    if (pub_backing_off(p)) {
        log_warn("redis down, %s event not published", type);
        free(msg);
        p->dropped++;
        return -1;
    }
    const char *argv[] = {"EVAL", pub_script, "2", PUB_SEQ_KEY, PUB_CHANNEL, msg};
    const size_t lens[] = {
        4, sizeof(pub_script) - 1, 1, strlen(PUB_SEQ_KEY), strlen(PUB_CHANNEL), (size_t)n};
    reply = pub_command(p, err, sizeof(err), 6, argv, lens);
    free(msg);
    if (!reply) {
        log_warn("%s event not published: %s", type, err);
        p->dropped++;
        return -1;
    }
    freeReplyObject(reply);
    p->published++;
    return 0;
}
