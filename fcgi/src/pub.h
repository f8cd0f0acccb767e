/* pub: the worker's Redis connection, used only to PUBLISH after COMMIT and to answer
 * readiness. A Redis outage never fails a write: PostgreSQL holds the event and the
 * hub tells browsers to resync, so pub_event() only logs and counts what it could not
 * send. A message is written at once and its reply read later (pub.c): the worker reads
 * the replies before it sends the answers (serve.c), one round trip a request or a group. */
#ifndef RW_PUB_H
#define RW_PUB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct redisContext;

#define PUB_CHANNEL "runwatch:events"
/* Identities whose streams must end now (a revoked token, an ended session, a disabled
 * user or a changed membership): the message is the space-separated list
 * db_revoked_take gives ("token:7 session:12 user:5"; "*" for every stream). */
#define PUB_REVOKED_CHANNEL "runwatch:revoked"
#define PUB_SEQ_KEY         "runwatch:event_seq"
/* The epoch of the counter: a new one is drawn whenever the counter starts over (a Redis
 * without persistence restarted, the key was deleted), so an id from before can never be
 * mistaken for one after. Ids go to browsers as "<epoch>-<seq>" (docs/CONTRACTS.md). */
#define PUB_EPOCH_KEY "runwatch:event_epoch"
/* The message a master publishes when a worker died between a COMMIT and its publish
 * (master.c): the hub answers it with `event: reset` on every stream (docs/CONTRACTS.md). */
#define PUB_TYPE_RESET "reset"
/* Longest epoch the script makes: 8 hex digits of Unix seconds and 6 random ones. */
#define PUB_EPOCH_MAX 14

/* Messages written to Redis whose replies a worker has not read yet, at most: a group
 * commit's publishes go without waiting for each other's replies (CONNS_BATCH_MAX is 32),
 * and a worker that is never idle reads the oldest reply, long since arrived, before the
 * next send once this many are out. */
#define PUB_INFLIGHT_MAX 64

/* A message sent (malloc'd), with what it needs to be sent again (its epoch candidate) and
 * to be named in the log (its type). */
struct pub_msg {
    char *text;
    size_t len;
    char epoch[PUB_EPOCH_MAX + 1];
    char type[32];
};

struct pub {
    struct redisContext *c;
    struct config_redis_addr addr;
    struct timespec retry_at; /* no reconnect before this, so an outage costs one try a second */
    unsigned long published;
    unsigned long dropped; /* events not published (Redis down or slow); logged each time */
    char sha[48];          /* the script's SHA-1, as Redis loaded it on this connection */
    uint64_t rng;          /* the epoch candidates' random bits */
    /* The messages sent whose replies are not read yet, oldest first: a ring of
     * PUB_INFLIGHT_MAX from inflight[first], n_inflight of them (pub.c). */
    struct pub_msg inflight[PUB_INFLIGHT_MAX];
    int first, n_inflight;
    /* Tests only (RUNWATCH_TEST_FAULT_EXIT_BEFORE_PUBLISH, config.h): a publish whose data
     * holds this text ends the process instead, after the caller's COMMIT. NULL: never. */
    const char *fault_marker;
};

void pub_init(struct pub *p, const struct config_redis_addr *addr);
void pub_fini(struct pub *p);
/* 0 when Redis answers PING now (ignores the backoff), else -1 with a reason. */
int pub_ping(struct pub *p, char *err, size_t errlen);
/* Reads the replies of the messages sent, if any is not read yet, and counts them. A
 * worker calls it when idle; pub_ping and pub_revoked do it first. */
void pub_flush(struct pub *p);
/* 1 while a message's reply is unread. */
int pub_pending(const struct pub *p);
/* Publishes {"id":N,"epoch":"E","project":…,"type":…,"run":…,"data":…} on PUB_CHANNEL.
 * N comes from a counter in Redis and E from the epoch key, both taken and published by
 * one Lua script, so ids are in the order subscribers receive them across every worker;
 * when the script finds the counter new (N == 1) or the epoch missing it makes a new
 * epoch, so (E, N) never repeats. run and data_json may be NULL; data_json is JSON text.
 * Call after COMMIT; never fails the caller's write. Returns 0 when the message was sent
 * (published or dropped is known at its reply: `published`, `dropped`), -1 when it was
 * dropped at once. */
int pub_event(struct pub *p, const char *project_id, const char *type, const char *run_id,
              const char *data_json);

/* Publishes who on PUB_REVOKED_CHANNEL, after the COMMIT that changed those identities.
 * Rare (a revoke, a logout, a role change), so it waits for its reply (at most
 * RUNWATCH_REDIS_TIMEOUT_MS, 500 ms by default; a connection found stale is replaced once); it
 * never fails the caller's write: a message Redis did not take is logged, and those streams
 * then end at the hub's next Redis gap or their maximum age (docs/CONTRACTS.md). 0 when
 * published, else -1. */
int pub_revoked(struct pub *p, const char *who);

#endif
