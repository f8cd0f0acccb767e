/* pub: synchronous hiredis with short timeouts, pipelined. A publish is written to Redis
 * at once and its reply read later: before the worker sends the answers (pub_flush from
 * serve.c, so Redis has run it before the producer can send its next write), before a
 * command that needs its own answer (PING, the revocations), or once PUB_INFLIGHT_MAX are
 * out. So the next publish never waits for Redis: a group commit's publishes go out one
 * after another, Redis reads them together, and their replies cost one round trip (a
 * round trip a publish cost Redis and the hub about twice the CPU, and the worker a sleep
 * and a wake-up each: docs/PERFORMANCE.md, "a group's publishes without waiting"). One connection
 * runs its commands in the order sent, so a worker's messages keep their order, and each is counted
 * as published or dropped (and logged) once its reply is read. The script is loaded once a
 * connection (SCRIPT LOAD) and run by its SHA-1 (EVALSHA); if Redis has lost it (SCRIPT FLUSH),
 * every message sent meanwhile is refused alike and each is sent again with the script itself, in
 * the order they were first sent (only another worker's EVAL between two of them could let the
 * later one run by its SHA-1 before the earlier one's second try: each still gets its own id, in
 * the order subscribers receive them). A connection authenticates first (AUTH) when a password is
 * set. A reply waits at most RUNWATCH_REDIS_TIMEOUT_MS (500 ms by default); after a failure the
 * worker does not try again for a second, so a dead Redis adds no latency to the writes that
 * follow. */
#include "pub.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "sentinel.h"

/* The connect and reply wait (RUNWATCH_REDIS_TIMEOUT_MS; 500 ms when the address has none). */
static struct timeval pub_timeout(const struct pub *p)
{
    int ms = p->addr.timeout_ms > 0 ? p->addr.timeout_ms : 500;
    return (struct timeval){ms / 1000, (long)(ms % 1000) * 1000};
}

/* KEYS[1] the counter, KEYS[2] the channel, KEYS[3] the epoch, ARGV[1] the message without
 * id and epoch and without its opening brace, ARGV[2] a fresh epoch, used only if the
 * counter starts over (INCR gave 1) or the epoch key is gone: one atomic step in Redis, so
 * no two workers can publish ids out of order and no (epoch, id) pair is ever published
 * twice. Redis 5+ replicates a script's effects, so the candidate drawn by the worker is
 * what replicas store too. The brace is left out here, not cut in the script: Redis's Lua
 * hashes every byte of every string it makes, and a string.sub of a claimed run's message
 * was a third of the hashing a publish cost Redis (docs/PERFORMANCE.md, "the claim's
 * indexes, its publish and the hub's parse"). */
static const char pub_script[] =
    "local id = redis.call('INCR', KEYS[1]) "
    "local epoch = redis.call('GET', KEYS[3]) "
    "if id == 1 or not epoch then epoch = ARGV[2] redis.call('SET', KEYS[3], epoch) end "
    "redis.call('PUBLISH', KEYS[2], '{\"id\":' .. id .. ',\"epoch\":\"' .. epoch .. '\",' .. "
    "ARGV[1]) "
    "return id";

void pub_init(struct pub *p, const struct config_redis_addr *addr)
{
    memset(p, 0, sizeof(*p));
    p->addr = *addr;
    /* The epoch candidates' random bits: one getrandom a process, not one a message. */
    if (getrandom(&p->rng, sizeof(p->rng), GRND_NONBLOCK) != (ssize_t)sizeof(p->rng)) {
        struct timespec now; /* no entropy yet (early boot): the clock still differs */
        clock_gettime(CLOCK_REALTIME, &now);
        p->rng = (uint64_t)now.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)now.tv_sec;
    }
    p->rng |= 1;
}

/* The oldest message in flight, or NULL. */
static struct pub_msg *pub_oldest(struct pub *p)
{
    return p->n_inflight ? &p->inflight[p->first] : NULL;
}

/* Forgets the oldest message in flight (its reply was read, or it is lost). */
static void pub_forget(struct pub *p)
{
    struct pub_msg *m = pub_oldest(p);
    if (!m)
        return;
    free(m->text);
    m->text = NULL;
    p->first = (p->first + 1) % PUB_INFLIGHT_MAX;
    p->n_inflight--;
}

static void pub_drop(struct pub *p)
{
    clock_gettime(CLOCK_MONOTONIC, &p->retry_at);
    p->retry_at.tv_sec += 1;
    if (p->c)
        redisFree(p->c);
    p->c = NULL;
}

/* The oldest unanswered message could not be confirmed: it counts as dropped. */
static void pub_lost(struct pub *p, const char *why)
{
    struct pub_msg *m = pub_oldest(p);
    if (!m)
        return;
    log_warn("%s event not published: %s", m->type, why);
    p->dropped++;
    pub_forget(p);
}

/* The connection is gone: every message in flight counts as dropped. */
static void pub_lost_all(struct pub *p, const char *why)
{
    while (p->n_inflight)
        pub_lost(p, why);
}

static int pub_connect(struct pub *p, char *err, size_t errlen)
{
    redisContext *c;
    redisReply *r;

    /* Behind Sentinel: where the primary is now (a failover moves it). */
    if (redis_sentinel_resolve(&p->addr, err, errlen) != 0) {
        pub_drop(p);
        return -1;
    }
    c = p->addr.is_unix ? redisConnectUnixWithTimeout(p->addr.host, pub_timeout(p))
                        : redisConnectWithTimeout(p->addr.host, p->addr.port, pub_timeout(p));
    if (!c || c->err) {
        snprintf(err, errlen, "redis: %s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        pub_drop(p);
        return -1;
    }
    redisSetTimeout(c, pub_timeout(p));
    /* The stack's Redis requires a password: nothing (not even a PUBLISH) before AUTH. */
    if (p->addr.password[0]) {
        r = redisCommand(c, "AUTH %s", p->addr.password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "redis: AUTH: %s",
                     !r ? (c->errstr[0] ? c->errstr : "no reply") : r->str);
            if (r)
                freeReplyObject(r);
            redisFree(c);
            pub_drop(p);
            return -1;
        }
        freeReplyObject(r);
    }
    /* A Sentinel's answer may be a moment stale: publish only to a primary (a replica
     * would refuse the script's INCR, and its PUBLISH reaches no one). */
    if (p->addr.master[0]) {
        r = redisCommand(c, "ROLE");
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            strcmp(r->element[0]->str, "master") != 0) {
            snprintf(err, errlen, "redis: %s:%d is not the primary of %s", p->addr.host,
                     p->addr.port, p->addr.master);
            if (r)
                freeReplyObject(r);
            redisFree(c);
            pub_drop(p);
            return -1;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "SCRIPT LOAD %b", pub_script, sizeof(pub_script) - 1);
    if (!r || r->type != REDIS_REPLY_STRING || r->len >= sizeof(p->sha)) {
        snprintf(err, errlen, "redis: loading the publish script: %s",
                 !r                             ? (c->errstr[0] ? c->errstr : "no reply")
                 : r->type == REDIS_REPLY_ERROR ? r->str
                                                : "unexpected reply");
        if (r)
            freeReplyObject(r);
        redisFree(c);
        pub_drop(p);
        return -1;
    }
    memcpy(p->sha, r->str, r->len + 1);
    freeReplyObject(r);
    p->c = c;
    return 0;
}

/* Appends one RESP bulk string ($len, the bytes, CRLF) at o; end bounds the buffer, which
 * the caller sized for every part (each header takes under 24 bytes). */
static char *pub_bulk(char *o, const char *end, const char *s, size_t n)
{
    int h = snprintf(o, (size_t)(end - o), "$%zu\r\n", n);
    if (h < 0 || (size_t)h + n + 2 > (size_t)(end - o))
        return o; /* cannot happen with the caller's sizing; a short command fails in Redis */
    o += h;
    memcpy(o, s, n);
    o += n;
    memcpy(o, "\r\n", 2);
    return o + 2;
}

/* Writes message m to Redis, by the script's SHA-1 or (eval) with its text. The command
 * is laid out here in one buffer (hiredis's argv formatting cost more than the rest of the
 * publish). */
static int pub_send(struct pub *p, const struct pub_msg *m, int eval)
{
    const char *cmd = eval ? "EVAL" : "EVALSHA", *body = eval ? pub_script : p->sha;
    size_t blen = eval ? sizeof(pub_script) - 1 : strlen(p->sha);
    size_t need = 160 + blen + m->len + sizeof(PUB_SEQ_KEY PUB_CHANNEL PUB_EPOCH_KEY);
    char *buf = malloc(need), *o, *end;
    int done = 0, rc = -1;

    if (!buf)
        return -1;
    end = buf + need;
    memcpy(buf, "*8\r\n", 4);
    o = buf + 4;
    o = pub_bulk(o, end, cmd, strlen(cmd));
    o = pub_bulk(o, end, body, blen);
    o = pub_bulk(o, end, "3", 1);
    o = pub_bulk(o, end, PUB_SEQ_KEY, sizeof(PUB_SEQ_KEY) - 1);
    o = pub_bulk(o, end, PUB_CHANNEL, sizeof(PUB_CHANNEL) - 1);
    o = pub_bulk(o, end, PUB_EPOCH_KEY, sizeof(PUB_EPOCH_KEY) - 1);
    o = pub_bulk(o, end, m->text + 1, m->len - 1); /* without its '{' (pub_script) */
    o = pub_bulk(o, end, m->epoch, strlen(m->epoch));
    if (redisAppendFormattedCommand(p->c, buf, (size_t)(o - buf)) != REDIS_OK)
        goto out;
    while (!done)
        if (redisBufferWrite(p->c, &done) != REDIS_OK)
            goto out;
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Reads the reply of the oldest message in flight and counts it; 0, or -1 when the
 * connection was lost (and dropped, with every message in flight). A message Redis
 * refused with NOSCRIPT took no id: it goes again with the script, behind the ones in
 * flight, which were sent by SHA-1 after it and are refused alike (the file's head). */
static int pub_settle_one(struct pub *p)
{
    char why[192];
    redisReply *r = NULL;
    struct pub_msg *m = pub_oldest(p), again;

    if (!m)
        return 0;
    if (!p->c || redisGetReply(p->c, (void **)&r) != REDIS_OK || !r) {
        snprintf(why, sizeof(why), "redis: %s",
                 p->c && p->c->errstr[0] ? p->c->errstr : "no reply");
        pub_lost_all(p, why);
        pub_drop(p);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        again = *m; /* moved from the ring's head to its end */
        m->text = NULL;
        p->first = (p->first + 1) % PUB_INFLIGHT_MAX;
        p->inflight[(p->first + p->n_inflight - 1) % PUB_INFLIGHT_MAX] = again;
        if (pub_send(p, &again, 1) != 0) {
            pub_lost_all(p, "redis: sending the publish script failed");
            pub_drop(p);
            return -1;
        }
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "redis: %.*s", (int)r->len, r->str);
        pub_lost(p, why);
    } else {
        p->published++;
        pub_forget(p);
    }
    freeReplyObject(r);
    return 0;
}

/* Reads the replies of every message in flight. */
static void pub_settle(struct pub *p)
{
    while (p->n_inflight && pub_settle_one(p) == 0)
        ;
}

void pub_flush(struct pub *p)
{
    pub_settle(p);
}

int pub_pending(const struct pub *p)
{
    return p->n_inflight > 0;
}

void pub_fini(struct pub *p)
{
    pub_settle(p);
    if (p->c)
        redisFree(p->c);
    p->c = NULL;
}

int pub_ping(struct pub *p, char *err, size_t errlen)
{
    redisReply *reply;

    pub_settle(p);
    if (!p->c && pub_connect(p, err, errlen) != 0)
        return -1;
    reply = redisCommand(p->c, "PING");
    if (!reply) {
        snprintf(err, errlen, "redis: %s", p->c->errstr[0] ? p->c->errstr : "no reply");
        pub_drop(p);
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis: %.*s", (int)reply->len, reply->str);
        freeReplyObject(reply);
        return -1;
    }
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

/* A candidate epoch: Unix seconds and 24 random bits in hex. Two lives of the counter get
 * different epochs unless they start in the same second and draw the same bits. */
static void pub_epoch_candidate(struct pub *p, char out[PUB_EPOCH_MAX + 1])
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    /* xorshift64*, seeded from getrandom at pub_init */
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    uint64_t r = (p->rng * 0x2545f4914f6cdd1dULL) >> 40;
    snprintf(out, PUB_EPOCH_MAX + 1, "%08lx%06lx", (unsigned long)now.tv_sec & 0xffffffffUL,
             (unsigned long)(r & 0xffffff));
}

int pub_event(struct pub *p, const char *project_id, const char *type, const char *run_id,
              const char *data_json)
{
    char err[256];
    struct pub_msg *m;
    size_t cap;
    int n;

    if (p->fault_marker && data_json && strstr(data_json, p->fault_marker)) {
        log_warn("test fault: exiting after the commit, before publishing %s", type);
        _exit(70);
    }
    /* Out of room: the oldest reply first (under load, it came long ago); one refused
     * with NOSCRIPT goes to the end again, so read on until one leaves. A lost connection
     * empties the ring. */
    while (p->n_inflight == PUB_INFLIGHT_MAX && pub_settle_one(p) == 0)
        ;
    m = &p->inflight[(p->first + p->n_inflight) % PUB_INFLIGHT_MAX];
    cap = 96 + strlen(type) + (run_id ? strlen(run_id) : 4) + (data_json ? strlen(data_json) : 4) +
          strlen(project_id);
    m->text = malloc(cap);
    if (!m->text) {
        p->dropped++;
        return -1;
    }
    snprintf(m->type, sizeof(m->type), "%s", type);
    /* type and run are ours (a constant, a uuid from PostgreSQL): no escaping needed. */
    n = snprintf(m->text, cap, "{\"project\":%s,\"type\":\"%s\",\"run\":%s%s%s,\"data\":%s}",
                 project_id, type, run_id ? "\"" : "", run_id ? run_id : "null", run_id ? "\"" : "",
                 data_json ? data_json : "null");
    if (n < 0 || (size_t)n >= cap) {
        free(m->text);
        m->text = NULL;
        p->dropped++;
        return -1;
    }
    m->len = (size_t)n;
    p->n_inflight++;
    /* Without a connection nothing else is in flight: pub_lost drops this message. */
    if (pub_backing_off(p)) {
        pub_lost(p, "redis down");
        return -1;
    }
    if (!p->c && pub_connect(p, err, sizeof(err)) != 0) {
        pub_lost(p, err);
        return -1;
    }
    pub_epoch_candidate(p, m->epoch);
    if (pub_send(p, m, 0) != 0) {
        snprintf(err, sizeof(err), "redis: %s", p->c->errstr[0] ? p->c->errstr : "write failed");
        pub_lost_all(p, err);
        pub_drop(p);
        return -1;
    }
    return 0;
}

int pub_revoked(struct pub *p, const char *who)
{
    char err[256] = "redis down";
    redisReply *r = NULL;

    pub_settle(p); /* the messages in flight first: events keep their order */
    /* A connection idle since Redis restarted fails on first use: one more try on a new
     * one, since nothing else would tell the hub later. */
    for (int attempt = 0; attempt < 2 && !r; attempt++) {
        if (!p->c && (attempt > 0 || !pub_backing_off(p)) && pub_connect(p, err, sizeof(err)) != 0)
            break;
        if (!p->c)
            break;
        r = redisCommand(p->c, "PUBLISH %s %s", PUB_REVOKED_CHANNEL, who);
        if (!r) {
            snprintf(err, sizeof(err), "redis: %s", p->c->errstr[0] ? p->c->errstr : "no reply");
            redisFree(p->c);
            p->c = NULL;
        }
    }
    if (!r) {
        if (!p->c)
            pub_drop(p); /* the usual second of backoff before anything tries again */
        goto lost;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, sizeof(err), "redis: %.*s", (int)r->len, r->str);
        freeReplyObject(r);
        goto lost;
    }
    freeReplyObject(r);
    log_debug("streams of %s ended", who);
    return 0;
lost:
    log_warn("the end of the streams of %s not published: %s", who, err);
    return -1;
}
