/* sentinel: the Redis primary's address from Redis Sentinel (sentinel.c). */
#ifndef RW_SENTINEL_H
#define RW_SENTINEL_H

#include <stddef.h>

#include "config.h"

/* With a Sentinel address (a->master set), asks the Sentinels in turn for the primary's
 * host and port and writes them into a; a fixed address is left alone. 0, or -1 with
 * why in err (no Sentinel answered, none knows the name). */
int redis_sentinel_resolve(struct config_redis_addr *a, char *err, size_t errlen);

#endif
