/* openapi: the routing table and openapi/openapi.json describe the same API. Every
 * route is documented with its method, and every documented /api/v1 operation that
 * runwatch-api serves has a route (nginx-served paths are listed as exceptions). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "suites.h"

/* Served by nginx or the hub, not by runwatch-api's table. */
static const char *const not_in_table[] = {"/api/v1/stream", "/api/v1/stream/healthz",
                                           "/api/v1/openapi.json", NULL};

static json_object *load(void)
{
    const char *dir = getenv("RUNWATCH_REPO_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/openapi/openapi.json", dir ? dir : ".");
    return json_object_from_file(path);
}

static void lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i < cap - 1; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void test_routes_documented(void)
{
    json_object *doc = load(), *paths, *item, *op;
    char m[16];

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(doc, "paths", &paths));
    for (size_t i = 0; i < routes_count; i++) {
        int ok = json_object_object_get_ex(paths, routes[i].pattern, &item);
        lower(routes[i].method, m, sizeof(m));
        ok = ok && json_object_object_get_ex(item, m, &op);
        if (!ok)
            fprintf(stderr, "\n  undocumented route: %s %s\n", routes[i].method, routes[i].pattern);
        CU_ASSERT_TRUE(ok);
    }
    json_object_object_foreach(paths, p, ops)
    {
        int skip = 0;
        for (int k = 0; not_in_table[k]; k++)
            skip |= strcmp(p, not_in_table[k]) == 0;
        if (skip)
            continue;
        json_object_object_foreach(ops, method, v)
        {
            int found = 0;
            (void)v;
            for (size_t i = 0; i < routes_count; i++) {
                lower(routes[i].method, m, sizeof(m));
                found |= strcmp(routes[i].pattern, p) == 0 && strcmp(m, method) == 0;
            }
            if (!found)
                fprintf(stderr, "\n  documented but not routed: %s %s\n", method, p);
            CU_ASSERT_TRUE(found);
        }
    }
    json_object_put(doc);
}

int suite_openapi_register(void)
{
    static const struct test_case cases[] = {
        {"routes and openapi.json agree", test_routes_documented},
        {NULL, NULL},
    };
    return test_add_suite("openapi", cases);
}
