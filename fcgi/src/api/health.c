/* health: /healthz says the worker process answers and touches nothing else, so it
 * never fails because of a dependency. /readyz checks PostgreSQL and Redis now and
 * answers 503 naming which is down; the reason's detail goes to the log only, since
 * it can carry socket paths and host names. */
#include "health.h"

#include "db.h"
#include "log.h"
#include "pub.h"

int health_live(struct req *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("ok"));
    return req_json(r, 200, o);
}

int health_ready(struct req *r)
{
    char err[256];
    int pg_ok = db_ping(r->op.db, err, sizeof(err)) == 0;
    if (!pg_ok)
        log_warn("readyz: postgresql: %s", err);
    int redis_ok = pub_ping(r->op.pub, err, sizeof(err)) == 0;
    if (!redis_ok)
        log_warn("readyz: redis: %s", err);

    json_object *checks = json_object_new_object();
    json_object_object_add(checks, "postgres",
                           json_object_new_string(pg_ok ? "ok" : "unreachable"));
    json_object_object_add(checks, "redis",
                           json_object_new_string(redis_ok ? "ok" : "unreachable"));
    if (pg_ok && redis_ok) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_string("ready"));
        json_object_object_add(o, "checks", checks);
        return req_json(r, 200, o);
    }
    req_add_header(r, "Retry-After", "1");
    req_error(r, 503, "not_ready", NULL, "%s",
              !pg_ok && !redis_ok ? "postgres and redis unreachable"
              : !pg_ok            ? "postgres unreachable"
                                  : "redis unreachable");
    req_error_details(r, checks);
    return -1;
}
