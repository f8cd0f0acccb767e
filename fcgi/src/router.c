/* router: a linear scan of the routing table. With tens of routes this costs well
 * under a microsecond and keeps the whole API readable in one table; revisit only if
 * a profile says so. */
#include "router.h"

#include <stdio.h>
#include <string.h>

int router_match(struct req *r, const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    size_t nbound = 0;

    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        const char *pend = strchr(p, '/');
        const char *send = strchr(s, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        size_t slen = send ? (size_t)(send - s) : strlen(s);

        if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
            char *value;
            if (slen == 0 || nbound == REQ_MAX_PATH_PARAMS)
                return 0;
            value = req_decode(r->op.arena, s, slen, 0);
            if (!value)
                return req_error(r, 400, "invalid_path", NULL,
                                 "malformed percent-encoding in path");
            r->path_params[nbound].name = arena_strndup(r->op.arena, p + 1, plen - 2);
            r->path_params[nbound].value = value;
            nbound++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    if (*p || *s)
        return 0;
    r->n_path_params = nbound;
    return 1;
}

int router_dispatch(const struct route *table, size_t n, struct req *r, route_guard guard)
{
    char allow[128];
    size_t apos = 0;
    const char *method = r->method;

    /* HEAD is GET without a body; nginx drops the body for us. */
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int m = router_match(r, table[i].pattern, r->path);
        if (m < 0)
            return -1;
        if (m == 0)
            continue;
        if (strcmp(table[i].method, method) == 0) {
            r->route = &table[i];
            if (guard && guard(r, &table[i]) != 0)
                return -1;
            if (table[i].flags & ROUTE_JSON_BODY) {
                r->body_json = req_json_body(r);
                if (!r->body_json)
                    return -1;
            }
            return table[i].handler(r);
        }
        int w =
            snprintf(allow + apos, sizeof(allow) - apos, "%s%s", apos ? ", " : "", table[i].method);
        if (w > 0 && (size_t)w < sizeof(allow) - apos)
            apos += (size_t)w;
    }
    if (apos) {
        req_add_header(r, "Allow", arena_strdup(r->op.arena, allow));
        return req_error(r, 405, "method_not_allowed", NULL, "%s is not allowed on %s", r->method,
                         r->path);
    }
    return req_error(r, 404, "not_found", NULL, "no such route: %s", r->path);
}
