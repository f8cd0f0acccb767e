/* sentinel: where the Redis primary is, asked of Redis Sentinel (RUNWATCH_REDIS_URL
 * redis-sentinel://…/name) before every connection the API's publisher and the hub's
 * subscriber open, as Sentinel's client guidelines say: each Sentinel in turn, the first
 * that answers SENTINEL get-master-addr-by-name wins. After a failover Sentinel closes
 * the clients of the demoted server (CLIENT KILL), so both reconnect, ask again, and
 * reach the new primary; the caller then checks ROLE, since a Sentinel's answer can be
 * a moment stale. Synchronous with short timeouts: it runs only when a connection is
 * (re)made, never per message. */
#include "sentinel.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL_TIMEOUT_US 300000 /* connect, then the reply: per Sentinel */

int redis_sentinel_resolve(struct config_redis_addr *a, char *err, size_t errlen)
{
    const struct timeval tv = {0, SENTINEL_TIMEOUT_US};
    char why[320] = "no Sentinel answered";

    if (!a->master[0])
        return 0;
    for (int i = 0; i < a->nsentinels; i++) {
        redisContext *c = redisConnectWithTimeout(a->sentinels[i].host, a->sentinels[i].port, tv);
        redisReply *r = NULL;
        int ok = 0;

        if (!c || c->err) {
            snprintf(why, sizeof(why), "sentinel %s:%d: %s", a->sentinels[i].host,
                     a->sentinels[i].port, c ? c->errstr : "out of memory");
            goto next;
        }
        redisSetTimeout(c, tv);
        r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", a->master);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->len < sizeof(a->host)) {
            char *end;
            long port = strtol(r->element[1]->str, &end, 10);
            if (*end == '\0' && port > 0 && port < 65536) {
                memcpy(a->host, r->element[0]->str, r->element[0]->len + 1);
                a->port = (int)port;
                ok = 1;
            }
        }
        if (!ok)
            snprintf(why, sizeof(why), "sentinel %s:%d does not know primary %s%s%s",
                     a->sentinels[i].host, a->sentinels[i].port, a->master,
                     r && r->type == REDIS_REPLY_ERROR ? ": " : "",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : "");
    next:
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (ok)
            return 0;
    }
    snprintf(err, errlen, "%s", why);
    return -1;
}
