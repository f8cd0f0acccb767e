/* options: RUNWATCH_SSE_* with their defaults and ranges. A malformed value stops the hub
 * at start (like config.c), never later. */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int sse_options_long(const char *name, long dflt, long min, long max, long *out, char *err,
                            size_t errlen)
{
    const char *s = getenv(name);
    char *end;
    long v;

    if (!s || !*s) {
        *out = dflt;
        return 0;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        snprintf(err, errlen, "%s must be an integer from %ld to %ld, got \"%s\"", name, min, max,
                 s);
        return -1;
    }
    *out = v;
    return 0;
}

int sse_options_load(struct sse_options *opts, char *err, size_t errlen)
{
    long ring, keepalive, buffer, stall, clients, age, retry;

    if (sse_options_long("RUNWATCH_SSE_RING", 4096, 1, 1000000, &ring, err, errlen) ||
        sse_options_long("RUNWATCH_SSE_KEEPALIVE_MS", 15000, 100, 3600000, &keepalive, err,
                         errlen) ||
        sse_options_long("RUNWATCH_SSE_CLIENT_BUFFER", 262144, 4096, 64L << 20, &buffer, err,
                         errlen) ||
        sse_options_long("RUNWATCH_SSE_STALL_MS", 30000, 100, 3600000, &stall, err, errlen) ||
        sse_options_long("RUNWATCH_SSE_MAX_CLIENTS", 50000, 1, 1000000, &clients, err, errlen) ||
        sse_options_long("RUNWATCH_SSE_MAX_AGE_S", 900, 0, 86400 * 7, &age, err, errlen) ||
        sse_options_long("RUNWATCH_SSE_RETRY_MS", 3000, 0, 600000, &retry, err, errlen))
        return -1;
    opts->ring = (size_t)ring;
    opts->keepalive_ms = (int)keepalive;
    opts->client_buffer = (size_t)buffer;
    opts->stall_ms = (int)stall;
    opts->max_clients = (size_t)clients;
    opts->max_age_s = (int)age;
    opts->retry_ms = (int)retry;
    return 0;
}
