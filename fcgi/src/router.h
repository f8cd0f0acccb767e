/* router: matches a method and path against the one routing table (routes.c).
 * Patterns are literal segments and {name} placeholders, each matching exactly one
 * non-empty segment that is percent-decoded into the request's path parameters. A
 * path that matches with another method gives 405 with Allow; none gives 404. */
#ifndef RW_ROUTER_H
#define RW_ROUTER_H

#include <stddef.h>

#include "req.h"

typedef int (*route_handler)(struct req *r);

enum {
    ROUTE_JSON_BODY = 1 << 0, /* the dispatcher parses the body before the handler runs */
    ROUTE_PUBLIC = 1 << 1,    /* no identity needed (health, login) */
    /* Bulk input: the dispatcher reads the body into r->body_val (req_read_body: jsonx_read's
     * read-only tree in the arena, no json-c tree) before the handler runs; r->body_json stays
     * NULL. The same bodies are refused with the same errors as ROUTE_JSON_BODY's. */
    ROUTE_JSON_READ = 1 << 2,
};

struct route {
    const char *method;
    const char *pattern;
    route_handler handler;
    unsigned flags;
};

extern const struct route routes[];
extern const size_t routes_count;

/* Matches path against pattern; on success binds {name} segments into r and
 * returns 1; 0 when it does not match; -1 with a 400 set on a malformed segment. */
int router_match(struct req *r, const char *pattern, const char *path);
/* Runs before the handler of a matched route (authentication); non-zero stops it. */
typedef int (*route_guard)(struct req *r, const struct route *rt);

/* Finds the handler for r->method and r->path in table, runs guard (when given), then
 * parses a JSON body if the route takes one, then runs the handler. */
int router_dispatch(const struct route *table, size_t n, struct req *r, route_guard guard);

#endif
