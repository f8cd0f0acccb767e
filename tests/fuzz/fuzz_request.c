/* fuzz_request: libFuzzer target for what runwatch-api reads of a request line: the
 * routing of a path against the one routing table (router_dispatch, with a guard that
 * stops before any handler, so no database is needed), the percent-decoding of path
 * segments, the query string (req_parse_query) and the helpers that read it
 * (req_only_params, req_enum_list, req_limit, req_is_int), and the error rendering.
 * The input is "METHOD\npath\nquery\nheader-value"; missing parts are empty.
 * `make fuzz` builds and runs it (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "req.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops every matched route before its handler: an error, as a refused identity is. */
static int fuzz_guard(struct req *r, const struct route *rt)
{
    (void)rt;
    return req_error(r, 401, "unauthenticated", NULL, "fuzzing stops here");
}

/* The next '\n'-terminated part of s (NUL-terminated in place), or "" at the end. */
static char *fuzz_part(char **s)
{
    char *p = *s, *nl;
    if (!p)
        return (char *)"";
    nl = strchr(p, '\n');
    if (nl) {
        *nl = '\0';
        *s = nl + 1;
    } else {
        *s = NULL;
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const known[] = {"limit", "status", "cursor", "project", NULL};
    static const char *const statuses[] = {"queued", "running", "succeeded", "failed", NULL};
    char *buf = malloc(size + 1), *rest, *method, *path, *query, *hdr;
    char env_authz[300], env_key[300];
    char *env[3];
    const char *list;
    struct arena a;
    struct req r;
    long limit;
    int rc;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    rest = buf;
    method = fuzz_part(&rest);
    path = fuzz_part(&rest);
    query = fuzz_part(&rest);
    hdr = fuzz_part(&rest);
    snprintf(env_authz, sizeof(env_authz), "HTTP_AUTHORIZATION=%s", hdr);
    snprintf(env_key, sizeof(env_key), "HTTP_IDEMPOTENCY_KEY=%s", hdr);
    env[0] = env_authz;
    env[1] = env_key;
    env[2] = NULL;

    arena_init(&a, 4096);
    req_init(&r, &a);
    r.method = method;
    r.path = path;
    r.env = env;
    (void)req_header(&r, "Authorization");
    (void)req_header(&r, "Idempotency-Key");
    rc = req_parse_query(&r, query);
    if (rc == 0) {
        (void)req_query(&r, "limit");
        if (req_only_params(&r, known) == 0 && req_enum_list(&r, "status", statuses, &list) == 0 &&
            req_limit(&r, &limit) == 0)
            (void)req_is_int(req_query(&r, "cursor") ? req_query(&r, "cursor") : "");
        /* A fresh error slot for the routing below. */
        arena_reset(&a);
        req_init(&r, &a);
        r.method = method;
        r.path = path;
        r.env = env;
        /* Which body cap the path takes (serve.c): the artifact upload's or the usual. */
        r.upload = req_is_upload(path);
        rc = router_dispatch(routes, routes_count, &r, fuzz_guard);
        (void)req_path_param(&r, "run");
    }
    req_render(&r, rc);
    arena_fini(&a);
    free(buf);
    return 0;
}
