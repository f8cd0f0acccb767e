/* router: a linear scan of the routing table, which keeps the whole API readable in one
 * table. A profile said the scan cost 13,000 instructions a request (a hundred routes,
 * segment by segment); each route's literal prefix (up to its first placeholder) is now
 * compared first, with one memcmp, so a route of another resource costs a few. */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the segment at s (up to the next '/' or the end). */
static size_t router_seg(const char *s)
{
    size_t n = 0;
    while (s[n] && s[n] != '/')
        n++;
    return n;
}

/* 1 when path has pattern's shape: the same literal segments, a non-empty one for each
 * placeholder. Nothing is decoded or allocated, so the routes that do not match (most of
 * the table, for every request) cost a few compares. */
static int router_shape(const char *p, const char *s)
{
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        size_t plen = router_seg(p), slen = router_seg(s);
        if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0)
                return 0;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    return !*p && !*s;
}

int router_match(struct req *r, const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    size_t nbound = 0;

    if (!router_shape(pattern, path))
        return 0;
    while (*p && *s) {
        p++;
        s++;
        size_t plen = router_seg(p), slen = router_seg(s);
        if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
            char *value;
            if (nbound == REQ_MAX_PATH_PARAMS)
                return 0;
            value = req_decode(r->op.arena, s, slen, 0);
            if (!value)
                return req_error(r, 400, "invalid_path", NULL,
                                 "malformed percent-encoding in path");
            r->path_params[nbound].name = arena_strndup(r->op.arena, p + 1, plen - 2);
            r->path_params[nbound].value = value;
            nbound++;
        }
        p += plen;
        s += slen;
    }
    r->n_path_params = nbound;
    return 1;
}

/* The length of each route's literal prefix, computed once for the table in use. */
static const size_t *router_prefixes(const struct route *table, size_t n)
{
    static const struct route *for_table;
    static size_t *lens, nlens;

    if (for_table == table && nlens == n)
        return lens;
    size_t *l = realloc(lens, (n ? n : 1) * sizeof(*l));
    if (!l)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *brace = strchr(table[i].pattern, '{');
        l[i] = brace ? (size_t)(brace - table[i].pattern) : strlen(table[i].pattern);
    }
    lens = l;
    nlens = n;
    for_table = table;
    return lens;
}

int router_dispatch(const struct route *table, size_t n, struct req *r, route_guard guard)
{
    char allow[128];
    size_t apos = 0, plen = strlen(r->path);
    const char *method = r->method;
    const size_t *pre = router_prefixes(table, n);

    /* HEAD is GET without a body; nginx drops the body for us. */
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (pre && (pre[i] > plen || memcmp(table[i].pattern, r->path, pre[i]) != 0))
            continue;
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
            if ((table[i].flags & ROUTE_JSON_READ) && req_read_body(r))
                return -1;
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
