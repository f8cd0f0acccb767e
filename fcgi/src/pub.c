/* pub: synchronous hiredis with short timeouts. A publish waits at most 500 ms; after
 * a failure the worker does not try again for a second, so a dead Redis adds no
 * latency to the writes that follow. */
#include "pub.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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

/* KEYS[1] the counter, KEYS[2] the channel, KEYS[3] the epoch, ARGV[1] the message without
 * id and epoch, ARGV[2] a fresh epoch, used only if the counter starts over (INCR gave 1)
 * or the epoch key is gone: one atomic step in Redis, so no two workers can publish ids out
 * of order and no (epoch, id) pair is ever published twice. Redis 5+ replicates a script's
 * effects, so the candidate drawn by the worker is what replicas store too. */
static const char pub_script[] =
    "local id = redis.call('INCR', KEYS[1]) "
    "local epoch = redis.call('GET', KEYS[3]) "
    "if id == 1 or not epoch then epoch = ARGV[2] redis.call('SET', KEYS[3], epoch) end "
    "redis.call('PUBLISH', KEYS[2], '{\"id\":' .. id .. ',\"epoch\":\"' .. epoch .. '\",' .. "
    "string.sub(ARGV[1], 2)) "
    "return id";

/* A candidate epoch: Unix seconds and 24 random bits in hex. Two lives of the counter get
 * different epochs unless they start in the same second and draw the same bits. */
static void pub_epoch_candidate(char out[PUB_EPOCH_MAX + 1])
{
    unsigned char r[3] = {0, 0, 0};
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        /* No entropy yet (early boot): the clock's nanoseconds still differ between lives. */
        r[0] = (unsigned char)now.tv_nsec;
        r[1] = (unsigned char)(now.tv_nsec >> 8);
        r[2] = (unsigned char)(now.tv_nsec >> 16);
    }
    snprintf(out, PUB_EPOCH_MAX + 1, "%08lx%02x%02x%02x", (unsigned long)now.tv_sec & 0xffffffffUL,
             r[0], r[1], r[2]);
}

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
    char epoch[PUB_EPOCH_MAX + 1];
    pub_epoch_candidate(epoch);
    const char *argv[] = {"EVAL",      pub_script,    "3", PUB_SEQ_KEY,
                          PUB_CHANNEL, PUB_EPOCH_KEY, msg, epoch};
    const size_t lens[] = {4,
                           sizeof(pub_script) - 1,
                           1,
                           strlen(PUB_SEQ_KEY),
                           strlen(PUB_CHANNEL),
                           strlen(PUB_EPOCH_KEY),
                           (size_t)n,
                           strlen(epoch)};
    reply = pub_command(p, err, sizeof(err), 8, argv, lens);
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
