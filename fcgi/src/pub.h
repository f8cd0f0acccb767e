/* pub: the worker's Redis connection, used only to PUBLISH after COMMIT and to answer
 * readiness. A Redis outage never fails a write: PostgreSQL holds the event and the
 * hub tells browsers to resync, so pub_publish() only logs what it could not send. */
#ifndef RW_PUB_H
#define RW_PUB_H

#include <stddef.h>
#include <time.h>

#include "config.h"

struct redisContext;

struct pub {
    struct redisContext *c;
    struct config_redis_addr addr;
    struct timespec retry_at; /* no reconnect before this, so an outage costs one try a second */
};

void pub_init(struct pub *p, const struct config_redis_addr *addr);
void pub_fini(struct pub *p);
/* 0 when Redis answers PING now (ignores the backoff), else -1 with a reason. */
int pub_ping(struct pub *p, char *err, size_t errlen);
/* 0 when published, -1 when dropped (logged). */
int pub_publish(struct pub *p, const char *channel, const char *msg, size_t len);

#endif
