/* routes: the whole HTTP API of runwatch-api in one table. To find an endpoint's
 * code, find its line here. Keep it in step with openapi/openapi.json. */
#include "router.h"

#include "api/health.h"

const struct route routes[] = {
    {"GET", "/api/v1/healthz", health_live, 0},
    {"GET", "/api/v1/readyz", health_ready, 0},
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
